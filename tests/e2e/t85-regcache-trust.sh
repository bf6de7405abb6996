#!/bin/sh
# The registry build cache is used only when it can be trusted
# (docs/cache.md): signed by a --cache-key for its repository, every blob
# matching its digest.  Otherwise it is refused with a message naming why,
# and the build falls back to building the steps, never silently using it.
. "$(dirname "$0")/lib.sh"

export STELE_PASSWORD=pw
if ! start_registry; then
	test_skip 'the registry cache is used only when trusted' 'Debian docker-registry did not start on 127.0.0.1'
	exit 0
fi
make_busybox_base bb:1
stele keygen --output-prefix ci >/dev/null 2>&1
stele keygen --output-prefix other >/dev/null 2>&1
mkdir c && echo x >c/x &&
printf 'FROM bb:1\nCOPY x /x\nRUN echo one >/one && touch /ran-one\nENV A=1\nRUN echo two >/two\n' >c/Dockerfile
C=docker://$REG/ci/cache:main

# build NAME ARGS...: a build on a fresh machine (store with the base, build
# cache, HOME), its JSON in NAME.json, its stderr in NAME.log.
build() {
	n=$1
	shift
	mkdir -p "$TMP/m-$n" && cp -a "$STELE_STORE" "$TMP/m-$n/store" &&
	STELE_STORE=$TMP/m-$n/store STELE_CACHE=$TMP/m-$n/cache HOME=$TMP/m-$n \
		stele build --json --tls-verify=false -t app:1 "$@" c >"$n.json" 2>"$n.log"
}
# refused NAME: the cache was not used, every step was built.
refused() {
	cat "$1.log" && [ "$(json_get "$1.json" .cacheFrom[0].used)" = False ] &&
	[ "$(json_get "$1.json" .cache.hits)" = 0 ] && [ "$(json_get "$1.json" .cache.built)" = 3 ] &&
	[ "$(json_get "$1.json" .digest)" = "$(json_get a.json .digest)" ]
}

test_expect_success 'machine A exports its cache, signed' '
	build a --cache-to "$C" --cache-sign-key ci.key || { cat a.log; false; }
	cat a.json && [ "$(json_get a.json .cacheTo.entries)" = 3 ] &&
	[ "$(json_get a.json .cacheTo.layers)" = 3 ]
'

test_expect_success 'the same build exported again is the same cache artifact (deterministic)' '
	build a2 --cache-to "$C" --cache-sign-key ci.key &&
	[ "$(json_get a2.json .cacheTo.digest)" = "$(json_get a.json .cacheTo.digest)" ]
'

test_expect_success 'signed by the trusted key: every step from the registry' '
	build ok --cache-from "$C" --cache-key ci.pub || { cat ok.log; false; }
	[ "$(json_get ok.json .cacheFrom[0].hits)" = 3 ] && [ "$(json_get ok.json .cache.built)" = 0 ] &&
	[ "$(json_get ok.json .digest)" = "$(json_get a.json .digest)" ]
'

test_expect_success 'signed by another key: refused, and built' '
	build wrongkey --cache-from "$C" --cache-key other.pub && refused wrongkey &&
	grep -q "warning: registry cache $REG/ci/cache:main is not signed by a key it was told to trust" wrongkey.log &&
	grep -q "building without it" wrongkey.log
'

test_expect_success 'unsigned (copied without its signature): refused, and built' '
	stele copy -q --insecure-skip-verify --no-attachments --tls-verify=false "$C" "docker://$REG/ci/unsigned:main" 2>/dev/null &&
	build unsigned --cache-from "docker://$REG/ci/unsigned:main" --cache-key ci.pub && refused unsigned &&
	grep -q "registry cache $REG/ci/unsigned:main is not signed: refused" unsigned.log
'

test_expect_success 'signed for another repository (copied with its signature): refused, and built' '
	stele copy -q --insecure-skip-verify --tls-verify=false "$C" "docker://$REG/elsewhere/cache:main" 2>/dev/null &&
	build elsewhere --cache-from "docker://$REG/elsewhere/cache:main" --cache-key ci.pub && refused elsewhere &&
	grep -q "is signed for .$REG/ci/cache:main., another repository: refused" elsewhere.log
'

test_expect_success 'an image is not a cache: refused, and built' '
	STELE_STORE=$TMP/m-a/store stele copy -q --insecure-skip-verify --tls-verify=false app:1 "docker://$REG/ci/image:1" 2>/dev/null &&
	build image --cache-from "docker://$REG/ci/image:1" --cache-key ci.pub && refused image &&
	grep -q "is not a stele build cache (config media type .application/vnd.oci.image.config.v1+json.): refused" image.log
'

test_expect_success 'a cache tag the registry lacks: a warning, and built' '
	build missing --cache-from "docker://$REG/ci/cache:nothere" --cache-key ci.pub && refused missing &&
	grep -q "warning: registry cache $REG/ci/cache:nothere.*building without it" missing.log
'

test_expect_success 'a changed step misses; the steps before it hit' '
	cp -r c c.orig &&
	printf "FROM bb:1\nCOPY x /x\nRUN echo one >/one && touch /ran-one\nENV A=1\nRUN echo changed >/two\n" >c/Dockerfile &&
	build changed --cache-from "$C" --cache-key ci.pub \
		--cache-to "docker://$REG/ci/cache:changed" --cache-sign-key ci.key; rc=$?;
	rm -rf c && mv c.orig c && [ $rc = 0 ] && cat changed.log &&
	[ "$(json_get changed.json .cacheFrom[0].hits)" = 2 ] && [ "$(json_get changed.json .cache.built)" = 1 ] &&
	grep -q "2 steps from the cache (2 from registry cache $REG/ci/cache:main), 1 built" changed.log
'

test_expect_success 'without --cache-sign-key, --sign-key signs the cache; another build reads it' '
	build signkey --sign-key ci.key --cache-to "docker://$REG/ci/cache:signkey" || { cat signkey.log; false; }
	build signkeyread --cache-from "docker://$REG/ci/cache:signkey" --cache-key ci.pub &&
	[ "$(json_get signkeyread.json .cacheFrom[0].hits)" = 3 ]
'

test_expect_success 'a --cache-to the registry refuses is an error (exit 3) after the image is built' '
	port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d " ") % 20000 )) &&
	! curl -s "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 &&
	STELE_REGISTRY_TIMEOUT=2 STELE_REGISTRY_BACKOFF_MS=1 expect_code 3 \
		build down --cache-to "docker://127.0.0.1:$port/ci/cache:main" --cache-sign-key ci.key;
	cat down.log && grep -q "127.0.0.1:$port" down.log &&
	STELE_STORE=$TMP/m-down/store stele inspect app:1 >/dev/null
'

test_expect_success 'several --cache-from are asked in order: each step from the first that has it' '
	build two --cache-from "docker://$REG/ci/cache:nothere" --cache-from "docker://$REG/ci/cache:changed" \
		--cache-from "$C" --cache-key ci.pub || { cat two.log; false; }
	cat two.log two.json &&
	[ "$(json_get two.json .cacheFrom[0].used)" = False ] &&
	[ "$(json_get two.json .cacheFrom[1].hits)" = 2 ] && [ "$(json_get two.json .cacheFrom[2].hits)" = 1 ] &&
	[ "$(json_get two.json .cache.registryHits)" = 3 ] && [ "$(json_get two.json .cache.built)" = 0 ] &&
	grep -q "3 steps from the cache (3 from 2 registry caches), 0 built" two.log &&
	[ "$(json_get two.json .digest)" = "$(json_get a.json .digest)" ]
'

# The registry keeps one copy of a blob for every repository: the tests
# that tamper with one come last.
test_expect_success 'a tampered layer blob in the registry is refused by its digest, and the step built' '
	L=$(python3 -c "import json,sys;m=json.load(open(sys.argv[1]));print(m[\"layers\"][0][\"digest\"][7:])" \
		"$TMP/reg/docker/registry/v2/blobs/sha256/$(json_get a.json .cacheTo.digest | cut -c8-9)/$(json_get a.json .cacheTo.digest | cut -c8-)/data") &&
	data=$TMP/reg/docker/registry/v2/blobs/sha256/$(echo "$L" | cut -c1-2)/$L/data &&
	python3 -c "import sys;p=sys.argv[1];b=bytearray(open(p,\"rb\").read());b[-1]^=1;open(p,\"wb\").write(b)" "$data" &&
	build tampered --cache-from "$C" --cache-key ci.pub || { cat tampered.log; false; }
	cat tampered.log && grep -q "sha256:$L" tampered.log &&
	grep -q "warning: registry cache $REG/ci/cache:main: .*; building the step" tampered.log &&
	[ "$(json_get tampered.json .cache.built)" = 1 ] && [ "$(json_get tampered.json .cacheFrom[0].hits)" = 2 ] &&
	[ "$(json_get tampered.json .digest)" = "$(json_get a.json .digest)" ]
'

test_expect_success 'a tampered cache config is refused by its digest, and every step built' '
	cfg=$(skopeo inspect --raw --tls-verify=false "$C" | python3 -c "import json,sys;print(json.load(sys.stdin)[\"config\"][\"digest\"][7:])") &&
	data=$TMP/reg/docker/registry/v2/blobs/sha256/$(echo "$cfg" | cut -c1-2)/$cfg/data &&
	sed -i "s/\"version\":1/\"version\":2/" "$data" &&
	build badconfig --cache-from "$C" --cache-key ci.pub && refused badconfig &&
	grep -q "sha256:$cfg" badconfig.log
'

test_expect_success 'usage: --cache-from needs --cache-key, --cache-to a signing key, both docker://HOST/REPO:TAG' '
	expect_code 2 stele build -t app:1 --cache-from "$C" c 2>err && grep -q "needs a --cache-key" err &&
	expect_code 2 stele build -t app:1 --cache-key ci.pub c 2>err && grep -q "applies to --cache-from" err &&
	expect_code 2 stele build -t app:1 --cache-to "$C" c 2>err && grep -q "needs --cache-sign-key" err &&
	expect_code 2 stele build -t app:1 --cache-to oci:x:1 --cache-sign-key ci.key c 2>err &&
	grep -q "wants docker://HOST/REPO:TAG" err &&
	expect_code 2 stele build -t app:1 --cache-from "docker://$REG/ci/cache" --cache-key ci.pub c 2>err &&
	grep -q "wants docker://HOST/REPO:TAG" err
'

test_done
