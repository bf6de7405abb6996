#!/bin/sh
# A build cache a CI fleet shares through a registry (docs/cache.md):
# machine A builds the from-source example with --cache-to; machine B, with
# a fresh store, build cache and HOME, builds it with --cache-from and gets
# every step from the registry cache: no RUN is executed (its runtime only
# leaves a mark and fails), and the image digest is A's.
. "$(dirname "$0")/lib.sh"

unset SOURCE_DATE_EPOCH      # the epoch is the commit time, as in t10
export STELE_PASSWORD=pw
if ! start_registry; then
	test_skip 'a registry cache shared by two machines' 'Debian docker-registry did not start on 127.0.0.1'
	exit 0
fi
git clone -q "$TOP" a && git clone -q "$TOP" b
rev=$(git -C a rev-parse HEAD)
stele keygen --output-prefix ci >/dev/null 2>&1
# Machine B's RUN runtime: any RUN executed leaves $TMP/ran and fails.
printf '#!/bin/sh\ntouch %s/ran\nexit 1\n' "$TMP" >noruntime && chmod +x noruntime

test_expect_success 'machine A: the Debian base, then the build with --cache-to' '
	root=$(sh "$TOP/scripts/mkdebian.sh") && [ -x "$root/usr/bin/gcc" ] &&
	SOURCE_DATE_EPOCH=0 STELE_STORE=$TMP/storeA stele import -q -t bookworm-gcc:1 "$root" >/dev/null &&
	(cd a && STELE_STORE=$TMP/storeA STELE_CACHE=$TMP/cacheA HOME=$TMP/homeA \
		stele build --json --tls-verify=false -f recipes/fromsource/Dockerfile \
		--cache-to "docker://$REG/ci/fromsource:cache" --cache-sign-key ../ci.key \
		-o "oci:$TMP/imgA:v1" ".#$rev" >../a.json 2>../a.log) || { cat a.log; false; }
	cat a.json && [ "$(json_get a.json .cache.built)" = 4 ] &&
	[ "$(json_get a.json .cacheTo.entries)" = 4 ] &&
	grep -q "cache: 4 entries, 4 layers to docker://$REG/ci/fromsource:cache" a.log
'

test_expect_success 'the cache is an OCI artifact (skopeo reads it): config of the cache type, 4 layers' '
	skopeo inspect --raw --tls-verify=false "docker://$REG/ci/fromsource:cache" >m.json &&
	[ "$(json_get m.json .config.mediaType)" = application/vnd.stele.build-cache.v1+json ] &&
	[ "$(python3 -c "import json;print(len(json.load(open(\"m.json\"))[\"layers\"]))")" = 4 ]
'
if find_cosign; then
	test_expect_success 'cosign verify accepts the cache signature' '
		"$COSIGN" verify --key ci.pub --insecure-ignore-tlog=true --allow-http-registry=true \
			"$REG/ci/fromsource:cache" >/dev/null 2>cosign.err || { cat cosign.err; false; }
	'
else
	test_skip 'cosign verify accepts the cache signature' "$COSIGN_WHY"
fi

test_expect_success 'machine B (fresh store, cache, HOME): every step from the registry, no RUN, same digest' '
	root=$(sh "$TOP/scripts/mkdebian.sh") &&
	SOURCE_DATE_EPOCH=0 STELE_STORE=$TMP/storeB stele import -q -t bookworm-gcc:1 "$root" >/dev/null &&
	(cd b && STELE_STORE=$TMP/storeB STELE_CACHE=$TMP/cacheB HOME=$TMP/homeB \
		stele build --json --tls-verify=false --runtime "$TMP/noruntime" \
		-f recipes/fromsource/Dockerfile \
		--cache-from "docker://$REG/ci/fromsource:cache" --cache-key ../ci.pub \
		-o "oci:$TMP/imgB:v1" "git+file://$TMP/b#$rev" >../b.json 2>../b.log) || { cat b.log; false; }
	cat b.json && ! test -e ran &&
	[ "$(json_get b.json .digest)" = "$(json_get a.json .digest)" ] &&
	[ "$(json_get b.json .cache.built)" = 0 ] &&
	[ "$(json_get b.json .cache.hits)" = 4 ] &&
	[ "$(json_get b.json .cacheFrom[0].hits)" = 4 ] &&
	[ "$(json_get b.json .cacheFrom[0].used)" = True ] &&
	[ "$(json_get b.json .cacheFrom[0].blobsFetched)" = 4 ] &&
	grep -q "4 steps from the cache (4 from registry cache $REG/ci/fromsource:cache), 0 built" b.log
'

test_expect_success 'the image B got runs' '
	run_image imgB v1 >out && cat out &&
	grep -qx "hello from a static binary built by stele (uid 65532)" out
'

test_expect_success 'machine B again, the registry gone: the entries were kept in its own build cache' '
	kill "$reg_pid" && wait "$reg_pid" 2>/dev/null;
	(cd b && STELE_STORE=$TMP/storeB STELE_CACHE=$TMP/cacheB HOME=$TMP/homeB \
		stele build --json --runtime "$TMP/noruntime" -f recipes/fromsource/Dockerfile \
		-o "oci:$TMP/imgB2:v1" "git+file://$TMP/b#$rev" >../b2.json 2>../b2.log) || { cat b2.log; false; }
	! test -e ran && [ "$(json_get b2.json .cache.hits)" = 4 ] &&
	[ "$(json_get b2.json .digest)" = "$(json_get a.json .digest)" ]
'

test_done
