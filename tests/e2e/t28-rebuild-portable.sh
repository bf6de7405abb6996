#!/bin/sh
# Rebuild on the deploy side: an image whose base came from a registry is
# rebuilt from its provenance on a machine with an empty store and cache,
# pulling what it needs, and gives the same digest.
. "$(dirname "$0")/lib.sh"

export STELE_PASSWORD=pw STELE_CACHE="$TMP/cache"
if ! start_registry; then
	test_skip 'rebuild across machines' 'Debian docker-registry did not start on 127.0.0.1'
	exit 0
fi
make_busybox_base "oci:$TMP/bb:1"
skopeo copy -q --dest-tls-verify=false "oci:$TMP/bb:1" "docker://$REG/base/bb:1"
BD=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/base/bb:1")
mkdir app && git -C app init -q -b main && echo hello >app/f

test_expect_success 'setup: built from a registry base (by tag), pushed with its provenance' '
	printf "FROM %s/base/bb:1\nCOPY f /f\nRUN cat /f >/g\n" "$REG" >app/Dockerfile &&
	git_commit app v1 &&
	stele build -q --tls-verify=false -t app:1 "git+file://$TMP/app#main" >digest &&
	stele push --insecure-skip-verify --tls-verify=false app:1 "docker://$REG/app:1" >/dev/null 2>&1 &&
	stele inspect --json app:1 >j && grep -q "$REG/base/bb:1" j
'

test_expect_success 'the provenance names the base by registry reference and digest' '
	python3 - "$STELE_STORE" "$(cat digest)" "docker://$REG/base/bb@$BD" "$REG/base/bb:1" <<-PY
	import json, sys
	d, dg, uri, name = sys.argv[1:]
	b = lambda g: open(d + "/blobs/sha256/" + g.split(":")[1], "rb").read()
	for m in json.load(open(d + "/index.json"))["manifests"]:
	    if m.get("annotations", {}).get("dev.stele.subject") == dg:
	        st = json.loads(b(json.loads(b(m["digest"]))["layers"][0]["digest"]))
	deps = st["predicate"]["buildDefinition"]["resolvedDependencies"]
	assert {"uri": uri, "name": name, "digest": {"sha256": sys.argv[3].split(":")[-1]}} in deps, deps
	PY
'

test_expect_success 'rebuild on a fresh store and cache, from the registry: identical' '
	D=$(cat digest) &&
	STELE_STORE="$TMP/fresh-store" STELE_CACHE="$TMP/fresh-cache" \
		stele rebuild --tls-verify=false "docker://$REG/app@$D" >out 2>err; rc=$?;
	cat out err; [ $rc = 0 ] && grep -q "^identical" out &&
	test -d "$TMP/fresh-store" && ! test -e "$TMP/fresh-cache/keys/x"
'

test_expect_success 'a base known only by a local name: the rebuild says which and how to fix it' '
	SOURCE_DATE_EPOCH=0 stele copy -q "oci:$TMP/bb:1" bb:local >/dev/null &&
	mkdir app2 && git -C app2 init -q -b main && echo hi >app2/f &&
	printf "FROM bb:local\nCOPY f /f\n" >app2/Dockerfile && git_commit app2 v1 &&
	stele build -q -t app2:1 "git+file://$TMP/app2#main" >d2 &&
	stele copy -q app2:1 "oci:$TMP/moved:1" >/dev/null &&
	STELE_STORE="$TMP/fresh2" STELE_CACHE="$TMP/fresh2-cache" \
		expect_code 3 stele rebuild "oci:$TMP/moved:1" 2>err; rc=$?; cat err; [ $rc = 0 ] &&
	grep -q "the base .bb:local. (sha256:.*) is recorded by a local name and is not here; copy it first" err &&
	test ! -e "$TMP/fresh2/index.json" &&
	stele rebuild "oci:$TMP/moved:1" >out && grep -q "^identical" out
'

test_expect_success 'rebuild of a registry image without the registry options fails clearly' '
	D=$(cat digest) &&
	STELE_STORE="$TMP/fresh3" STELE_CACHE="$TMP/fresh3-cache" \
		expect_code 3 stele rebuild "docker://$REG/app@$D" 2>err; rc=$?; cat err; [ $rc = 0 ] &&
	grep -q "$REG" err
'

test_done
