#!/bin/sh
# The builder pulls FROM HOST/REPO@sha256:… bases (recorded in the lock,
# tags warned about), and verify works against a registry directly.
. "$(dirname "$0")/lib.sh"

export STELE_PASSWORD=pw STELE_CACHE="$TMP/cache"
if ! start_registry; then
	test_expect_success 'a registry on 127.0.0.1 starts' 'false'
	exit 0
fi
make_busybox_base "oci:$TMP/bb:1"
skopeo copy -q --dest-tls-verify=false "oci:$TMP/bb:1" "docker://$REG/base/bb:1"
BD=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/base/bb:1")
mkdir c && echo x >c/x && printf 'FROM %s/base/bb:1@%s\nCOPY x /x\nUSER 1000\n' "$REG" "$BD" >c/Dockerfile

test_expect_success 'FROM HOST/REPO@sha256 pulls the base' '
	stele build --tls-verify=false -t app:1 c >d 2>err && cat err &&
	grep -q "pulling $REG/base/bb@$BD" err && stele inspect app:1 | grep -q "base.digest=$BD"
'
test_expect_success 'a second build finds the base in the store: no pull from the registry' '
	kill "$reg_pid" && wait "$reg_pid" 2>/dev/null;
	stele build --tls-verify=false --no-cache -t app:1 c >d2 2>err && [ "$(cat d)" = "$(cat d2)" ]
'
start_registry
skopeo copy -q --dest-tls-verify=false "oci:$TMP/bb:1" "docker://$REG/base/bb:1"
test_expect_success 'a base by tag only is resolved, warned about and locked' '
	printf "FROM %s/base/bb:1\nCOPY x /x\n" "$REG" >c/Dockerfile &&
	STELE_STORE=$TMP/store2 stele build --tls-verify=false --lock c.lock -t tag:1 c >/dev/null 2>err &&
	grep -q "is named by a tag" err &&
	python3 -c "import json;l=json.load(open(\"c.lock\"));assert l[\"images\"][\"$REG/base/bb:1\"]==\"$BD\", l"
'
test_expect_success 'verify docker://: signed, pushed, verified in place; tampering is caught' '
	printf "FROM %s/base/bb:1@%s\nCOPY x /x\nUSER 1000\n" "$REG" "$BD" >c/Dockerfile &&
	stele build -q --tls-verify=false -t app:1 c >/dev/null &&
	stele keygen --output-prefix k >/dev/null 2>&1 &&
	stele sign --key k.key --identity "$REG/app:1" app:1 >/dev/null 2>&1 &&
	stele push --insecure-skip-verify --tls-verify=false app:1 "docker://$REG/app:1" >/dev/null 2>&1 &&
	stele verify --key k.pub --tls-verify=false "docker://$REG/app:1" >out 2>&1; cat out;
	tail -n1 out | grep -q "^allowed" &&
	expect_code 1 stele verify --key k.pub --tls-verify=false --identity "$REG/other:1" "docker://$REG/app:1" >/dev/null 2>&1
'
test_expect_success 'verify docker:// of a missing image is an error, not an allow' '
	expect_code 3 stele verify --key k.pub --tls-verify=false "docker://$REG/nothere:1" 2>err && grep -q "stele:" err
'
