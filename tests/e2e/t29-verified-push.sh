#!/bin/sh
# The gate lives in the library: the verified push (verify/push.h) is the
# only route from stele to a registry write.  No other code calls the raw
# push or the registry's write primitives, and the CLI's push, copy and
# sign docker:// go through it.
. "$(dirname "$0")/lib.sh"

export STELE_PASSWORD=pw STELE_CACHE="$TMP/cache"

test_expect_success 'only verify/push.c calls the raw push and the tag and artifact puts; only registry/ the write primitives' '
	(cd "$TOP" && grep -rl "stele_registry__push" --include=*.c . | sort) >callers &&
	printf "./registry/push.c\n./verify/push.c\n" >want && cmp want callers &&
	(cd "$TOP" && grep -rlE "stele_registry__(tag|artifact_put)\\(" --include=*.c . | sort) >callers &&
	printf "./registry/tag.c\n./verify/push.c\n" >want && cmp want callers &&
	(cd "$TOP" && grep -rlE "stele_registry_(manifest_put|blob_upload|blob_upload_bytes|blob_mount)\\(" \
		--include=*.c --include=*.h . | grep -v "^./registry/" | grep -v "^./tests/fuzz/" || true) >others &&
	cat others && test ! -s others &&
	! grep -q "stele_registry__push\|manifest_put\|blob_upload" "$TOP/registry/transfer.h" "$TOP/registry/client.h"
'

test_expect_success 'the build cache entry of the gate is called by the registry cache alone (it refuses images: test_regcache)' '
	(cd "$TOP" && grep -rl "stele_push_cache(" --include=*.c . | sort) >callers &&
	printf "./tests/unit/test_regcache.c\n./verify/push.c\n./verify/regcache.c\n" >want && cmp want callers
'

if ! start_registry; then
	test_skip 'pushes through the gate' 'Debian docker-registry did not start on 127.0.0.1'
	test_done
	exit 0
fi
make_busybox_base bb:1
stele keygen --output-prefix k >/dev/null 2>&1
stele keygen --output-prefix other >/dev/null 2>&1
mkdir c && echo x >c/x && printf 'FROM bb:1\nCOPY x /x\n' >c/Dockerfile
stele build -q -t app:1 c >digest 2>/dev/null

test_expect_success 'push of an unsigned image is denied and nothing reaches the registry' '
	expect_code 1 stele push --key k.pub --tls-verify=false app:1 "docker://$REG/app:1" 2>err &&
	cat err && grep -q "is not pushed: verification denied it" err &&
	expect_code 1 skopeo inspect --tls-verify=false "docker://$REG/app:1" >/dev/null 2>&1 &&
	! test -d "$TMP/reg/docker/registry/v2/repositories/app"
'

test_expect_success 'push without a policy, a key or the explicit skip is a usage error' '
	expect_code 2 stele push --tls-verify=false app:1 "docker://$REG/app:1" 2>err && cat err
'

test_expect_success 'signed, pushed through the gate; sign docker:// adds a signature where it lives' '
	stele sign --key k.key --identity "$REG/app:1" app:1 >/dev/null 2>&1 &&
	stele push --key k.pub --tls-verify=false app:1 "docker://$REG/app:1" >/dev/null 2>&1 &&
	stele sign --key other.key --tls-verify=false "docker://$REG/app:1" >/dev/null 2>&1 &&
	stele verify --key other.pub --tls-verify=false "docker://$REG/app@$(cat digest)" >out 2>&1; cat out;
	tail -n1 out | grep -q "^allowed"
'

test_expect_success 'sign docker:// of an image the repository does not hold writes nothing' '
	stele copy -q --insecure-skip-verify --tls-verify=false app:1 "docker://$REG/app:1" >/dev/null 2>&1;
	expect_code 3 stele sign --key k.key --tls-verify=false "docker://$REG/nothere:1" 2>err; cat err;
	! test -d "$TMP/reg/docker/registry/v2/repositories/nothere"
'

test_done
