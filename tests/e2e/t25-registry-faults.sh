#!/bin/sh
# Faults between stele and the registry, injected by a proxy on 127.0.0.1
# (tests/e2e/faultproxy.py): connection resets, bodies cut off, stalls,
# 500s and 429s are retried with backoff (bounded); a flipped byte is a
# digest error naming the digest, and nothing of it is stored; interrupted
# pulls and pushes leave the local layout as it was and are simply rerun;
# a re-push uploads no blob (counted at the proxy).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reglib.sh"

if ! reg_serve main; then
	test_skip 'registry fault tests' 'docker-registry could not be started on 127.0.0.1'
	exit 0
fi
if ! proxy_serve "$REG"; then
	test_skip 'registry fault tests' "the fault proxy could not start: $(tail -n1 "$TMP/proxy.err")"
	exit 0
fi
export STELE_QUIET=1 STELE_REGISTRY_BACKOFF_MS=50
I="--tls-verify=false"
make_signed_image app:1
D=$(cat digest)
H=${D#sha256:}
stele push --key k.pub $I app:1 "docker://$REG/app:1" >/dev/null 2>&1
L=$(json_get "$STELE_STORE/blobs/sha256/$H" .layers[1].digest)
C=$(json_get "$STELE_STORE/blobs/sha256/$H" .config.digest)
P=$PROXY

# state DIR: index.json and the blob names, to show nothing changed.
state() { { cat "$1/index.json"; ls -a "$1/blobs/sha256"; ls -a "$1"; } 2>/dev/null; }

test_expect_success 'resets on blob downloads are retried: same digest' '
	faults "[{\"method\": \"GET\", \"match\": \"/blobs/sha256:\", \"action\": \"reset\", \"times\": 3}]" &&
	stele pull $I --json docker://$P/app:1 oci:r1:1 >r.json &&
	[ "$(json_get r.json .digest)" = "$D" ] && [ "$(grep -c RESET "$PROXY_LOG")" = 3 ] &&
	[ "$(json_get r.json .requests.retries)" -ge 2 ]
'
test_expect_success '500s and a 429 (Retry-After) on the manifest are retried' '
	faults "[{\"method\": \"GET\", \"match\": \"/manifests/1\", \"action\": \"500\", \"times\": 2},
		 {\"method\": \"GET\", \"match\": \"/manifests/1\", \"action\": \"429\", \"times\": 1}]" &&
	stele pull $I --json docker://$P/app:1 oci:r2:1 >r.json &&
	[ "$(json_get r.json .digest)" = "$D" ] && [ "$(json_get r.json .requests.retries)" -ge 3 ]
'
test_expect_success 'a body cut off halfway is resumed where it broke (Range, 206)' '
	faults "[{\"method\": \"GET\", \"match\": \"/blobs/$L\", \"action\": \"cut\", \"times\": 1}]" &&
	stele pull $I docker://$P/app:1 oci:r3:1 >out && [ "$(cat out)" = "$D" ] &&
	cat "$PROXY_LOG" | cut -c1-90 &&
	[ "$(grep -c "GET /v2/app/blobs/$L" "$PROXY_LOG")" = 2 ] &&
	grep -q "GET /v2/app/blobs/$L 206" "$PROXY_LOG" &&
	stele verify --key k.pub --identity app:1 oci:r3:1 >/dev/null
'
test_expect_success 'a cut body from a server that ignores Range is fetched again whole' '
	faults "[{\"method\": \"GET\", \"match\": \"/blobs/$L\", \"action\": \"cut\", \"times\": 1},
		 {\"method\": \"GET\", \"match\": \"/blobs/$L\", \"action\": \"strip-range\", \"times\": -1}]" &&
	stele pull $I docker://$P/app:1 oci:r3b:1 >out && [ "$(cat out)" = "$D" ] &&
	[ "$(grep -c "GET /v2/app/blobs/$L 200" "$PROXY_LOG")" = 2 ] &&
	stele verify --key k.pub --identity app:1 oci:r3b:1 >/dev/null
'
test_expect_success 'a stalled transfer times out and is retried' '
	faults "[{\"method\": \"GET\", \"match\": \"/blobs/$L\", \"action\": \"stall\", \"seconds\": 20, \"times\": 1}]" &&
	start=$(date +%s) &&
	STELE_REGISTRY_TIMEOUT=1 stele pull $I docker://$P/app:1 oci:r4:1 >out &&
	end=$(date +%s) && echo "took $((end - start)) s" &&
	[ "$(cat out)" = "$D" ] && [ $((end - start)) -lt 10 ]
'
mkdir ctx2 && echo other >ctx2/o && printf 'FROM scratch\nCOPY o /o\n' >ctx2/Dockerfile
export S2="$TMP/store2"
test_expect_success 'a flipped byte in a layer is a digest error naming it; the store is untouched' '
	STELE_STORE=$S2 stele build -q -t other:1 ctx2 >/dev/null && state "$S2" >before &&
	faults "[{\"method\": \"GET\", \"match\": \"/blobs/$L\", \"action\": \"flip\", \"times\": -1}]" &&
	expect_code 1 env STELE_STORE=$S2 "$STELE" pull $I docker://$P/app:1 2>err && cat err &&
	grep -q "$L" err && grep -q "does not match its digest" err &&
	state "$S2" >after && cmp before after && [ ! -e "$S2/.stele-tmp" ] &&
	expect_code 1 stele pull $I docker://$P/app:1 oci:flip:1 2>/dev/null && [ ! -e flip ]
'
test_expect_success 'after the fault, the same pull simply runs again' '
	faults "[]" &&
	STELE_STORE=$S2 stele pull $I docker://$P/app:1 >out && [ "$(cat out)" = "$D" ] &&
	STELE_STORE=$S2 stele inspect --json $P/app:1 >i.json && [ "$(json_get i.json .digest)" = "$D" ] &&
	STELE_STORE=$S2 stele verify --key k.pub --identity app:1 $P/app:1
'
test_expect_success 'a flipped byte in a manifest: by tag, by digest, in the config' '
	faults "[{\"method\": \"GET\", \"match\": \"/manifests/1\", \"action\": \"flip\", \"times\": 1}]" &&
	expect_code 1 stele pull $I docker://$P/app:1 oci:m1:1 2>err && cat err && grep -q "digest" err &&
	faults "[{\"method\": \"GET\", \"match\": \"/manifests/$D\", \"action\": \"flip\", \"times\": 1}]" &&
	expect_code 1 stele pull $I docker://$P/app@$D oci:m2:1 2>err && cat err && grep -q "$D" err &&
	faults "[{\"method\": \"GET\", \"match\": \"/blobs/$C\", \"action\": \"flip\", \"times\": 1}]" &&
	expect_code 1 stele pull $I docker://$P/app:1 oci:m3:1 2>err && cat err && grep -q "$C" err &&
	[ ! -e m1 ] && [ ! -e m2 ] && [ ! -e m3 ]
'
test_expect_success 'persistent 500s: a bounded number of retries, then a clear failure' '
	faults "[{\"method\": \"GET\", \"match\": \"/blobs/$L\", \"action\": \"500\", \"times\": -1}]" &&
	expect_code 3 stele pull $I docker://$P/app:1 oci:p5:1 2>err && cat err &&
	grep -q "HTTP 500" err && [ "$(grep -c "GET /v2/app/blobs/$L 500" "$PROXY_LOG")" = 5 ] &&
	expect_code 3 stele pull $I --retry-times 1 docker://$P/app:1 oci:p5:1 2>/dev/null &&
	[ ! -e p5 ]
'
test_expect_success 'an interrupted pull (SIGINT) leaves the layout as it was and is rerun' '
	stele build -q -o oci:int:base ctx2 >/dev/null && state int >before &&
	faults "[{\"method\": \"GET\", \"match\": \"/blobs/$L\", \"action\": \"stall\", \"seconds\": 30, \"times\": 1}]" &&
	{ "$STELE" pull $I docker://$P/app:1 oci:int:1 >/dev/null 2>int.err & pid=$!; } &&
	sleep 1 && kill -INT $pid && { wait $pid; rc=$?; } ; echo "exit $rc" && cat int.err &&
	[ "$rc" = 3 ] && grep -q interrupted int.err &&
	state int >after && cmp before after &&
	stele pull $I docker://$P/app:1 oci:int:1 >out && [ "$(cat out)" = "$D" ] &&
	stele verify --key k.pub --identity app:1 oci:int:1 >/dev/null
'
test_expect_success 'a pull killed outright (SIGKILL) never touched blobs/ or index.json; rerun works' '
	stele build -q -o oci:kl:base ctx2 >/dev/null &&
	{ cat kl/index.json; ls kl/blobs/sha256; } >before &&
	faults "[{\"method\": \"GET\", \"match\": \"/blobs/$L\", \"action\": \"stall\", \"seconds\": 30, \"times\": 1}]" &&
	{ "$STELE" pull $I docker://$P/app:1 oci:kl:1 >/dev/null 2>&1 & pid=$!; } &&
	sleep 1 && kill -KILL $pid; wait $pid;
	{ cat kl/index.json; ls kl/blobs/sha256; } >after && cmp before after &&
	faults "[]" && stele pull $I docker://$P/app:1 oci:kl:1 >out && [ "$(cat out)" = "$D" ] &&
	stele verify --key k.pub --identity app:1 oci:kl:1 >/dev/null
'
test_expect_success 'uploads through resets and 500s start over and succeed (chunked too)' '
	faults "[{\"method\": \"PUT\", \"match\": \"/blobs/uploads/\", \"action\": \"reset\", \"times\": 1},
		 {\"method\": \"PATCH\", \"match\": \"/blobs/uploads/\", \"action\": \"500\", \"times\": 1},
		 {\"method\": \"HEAD\", \"match\": \"/blobs/\", \"action\": \"reset\", \"times\": 1},
		 {\"method\": \"PUT\", \"match\": \"/manifests/\", \"action\": \"500\", \"times\": 1}]" &&
	STELE_REGISTRY_CHUNK_SIZE=100000 stele push --key k.pub $I --json app:1 docker://$P/faulty:1 >f.json &&
	cat f.json && [ "$(json_get f.json .requests.retries)" -ge 2 ] &&
	[ "$(grep -c RESET "$PROXY_LOG")" = 2 ] && grep -q "^PATCH .* 500" "$PROXY_LOG" &&
	grep -q "^PUT /v2/faulty/manifests/.* 500" "$PROXY_LOG" &&
	[ "$(skopeo inspect --tls-verify=false --format "{{.Digest}}" docker://$REG/faulty:1)" = "$D" ]
'
test_expect_success 'an interrupted push is rerun and uploads only what was missing' '
	faults "[{\"method\": \"PUT\", \"match\": \"/manifests/1\", \"action\": \"500\", \"times\": -1}]" &&
	expect_code 3 stele push --key k.pub $I app:1 docker://$P/half:1 2>err && cat err &&
	! curl -sf http://$REG/v2/half/manifests/1 >/dev/null &&
	faults "[]" &&
	stele push --key k.pub $I --json app:1 docker://$P/half:1 >h.json &&
	[ "$(json_get h.json .blobs.present)" = 3 ] &&
	! grep -q "digest=$L" "$PROXY_LOG" && ! grep -q "digest=$C" "$PROXY_LOG" &&
	[ "$(skopeo inspect --tls-verify=false --format "{{.Digest}}" docker://$REG/half:1)" = "$D" ]
'
test_expect_success 'a re-push uploads no blob (requests counted at the proxy)' '
	faults "[]" &&
	stele push --key k.pub $I app:1 docker://$P/app:1 >/dev/null &&
	cat "$PROXY_LOG" | cut -c1-60 &&
	! grep -q "blobs/uploads" "$PROXY_LOG" && ! grep -q "^\(PUT\|POST\|PATCH\)" "$PROXY_LOG" &&
	grep -q "^HEAD /v2/app/manifests/1 200" "$PROXY_LOG"
'
