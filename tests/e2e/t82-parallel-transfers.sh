#!/bin/sh
# Blobs move in parallel (--jobs N, default 4) through the one copy engine:
# the order a fault proxy on 127.0.0.1 (tests/e2e/faultproxy.py) sees shows
# it (a layer finishes while the config is held back; with --jobs 1 never);
# a blob that fails among several fails the push or pull, naming its
# digest, with no manifest put and no layout written, and a rerun finishes
# the job; a re-push of a present image checks blobs and manifests with
# HEAD requests only (the attachments' tag and referrers lists are read),
# all asked at once after the probe (held at the proxy until four are
# there together) and each once, and still sends what the destination lacks: a signature added since the
# last push (merged into the .sig tag), and the signature and referrer of
# an image pushed before without them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reglib.sh"

if ! reg_serve main; then
	test_skip 'parallel transfers' 'docker-registry could not be started on 127.0.0.1'
	exit 0
fi
if ! proxy_serve "$REG"; then
	test_skip 'parallel transfers' "the fault proxy could not start: $(tail -n1 "$TMP/proxy.err")"
	exit 0
fi
export STELE_QUIET=1 STELE_REGISTRY_BACKOFF_MS=50
I="--tls-verify=false"
make_signed_image app:1
D=$(cat digest)
H=${D#sha256:}
L0=$(json_get "$STELE_STORE/blobs/sha256/$H" .layers[0].digest)
L=$(json_get "$STELE_STORE/blobs/sha256/$H" .layers[1].digest)
C=$(json_get "$STELE_STORE/blobs/sha256/$H" .config.digest)
P=$PROXY
stele push --key k.pub $I app:1 "docker://$REG/app:1" >/dev/null 2>&1

# line N PATTERN: the line number of the first log line matching PATTERN.
line() { grep -n "$1" "$PROXY_LOG" | head -n1 | cut -d: -f1; }

test_expect_success 'pull: layers arrive while the config is held back (default jobs)' '
	faults "[{\"method\": \"GET\", \"match\": \"/blobs/$C\", \"action\": \"delay\", \"seconds\": 2, \"times\": 1}]" &&
	stele pull $I --json docker://$P/app:1 oci:p1:1 >p.json && cat "$PROXY_LOG" | cut -c1-90 &&
	[ "$(json_get p.json .digest)" = "$D" ] && [ "$(json_get p.json .blobs.transferred)" -ge 3 ] &&
	[ "$(line "GET /v2/app/blobs/$L 200")" -lt "$(line "GET /v2/app/blobs/$C 200")" ] &&
	stele verify --key k.pub --identity app:1 oci:p1:1 >/dev/null
'
test_expect_success 'pull --jobs 1: one blob at a time, the config first' '
	faults "[{\"method\": \"GET\", \"match\": \"/blobs/$C\", \"action\": \"delay\", \"seconds\": 1, \"times\": 1}]" &&
	stele pull $I --jobs 1 docker://$P/app:1 oci:p2:1 >out && [ "$(cat out)" = "$D" ] &&
	[ "$(line "GET /v2/app/blobs/$C 200")" -lt "$(line "GET /v2/app/blobs/$L 200")" ]
'
test_expect_success 'push: layers go up while the config is held back' '
	faults "[{\"method\": \"HEAD\", \"match\": \"/blobs/$C\", \"action\": \"delay\", \"seconds\": 2, \"times\": 1}]" &&
	stele push --key k.pub $I --json app:1 docker://$P/par:1 >u.json && cat "$PROXY_LOG" | cut -c1-90 &&
	[ "$(json_get u.json .blobs.transferred)" -ge 3 ] &&
	[ "$(line "PUT /v2/par/blobs/uploads/.*digest=$L")" -lt "$(line "HEAD /v2/par/blobs/$C")" ] &&
	[ "$(skopeo inspect --tls-verify=false --format "{{.Digest}}" docker://$REG/par:1)" = "$D" ]
'
test_expect_success 'push: one blob failing among several fails the push naming it, no manifest' '
	faults "[{\"method\": \"PUT\", \"match\": \"digest=$L\", \"action\": \"500\", \"times\": -1}]" &&
	expect_code 3 stele push --key k.pub $I --jobs 3 app:1 docker://$P/bad:1 2>err && cat err &&
	grep -q "$L" err && grep -q "HTTP 500" err &&
	! grep -q "^PUT /v2/bad/manifests" "$PROXY_LOG" &&
	! curl -sf http://$REG/v2/bad/manifests/1 >/dev/null &&
	curl -sfI http://$REG/v2/bad/blobs/$C >/dev/null
'
test_expect_success 'the same push, rerun, uploads only the blob that failed' '
	faults "[]" &&
	stele push --key k.pub $I --json app:1 docker://$P/bad:1 >b.json &&
	[ "$(json_get b.json .blobs.present)" -ge 2 ] &&
	grep -q "^PUT /v2/bad/blobs/uploads/.*digest=$L" "$PROXY_LOG" &&
	! grep -q "digest=$C" "$PROXY_LOG" && ! grep -q "digest=$L0" "$PROXY_LOG" &&
	[ "$(skopeo inspect --tls-verify=false --format "{{.Digest}}" docker://$REG/bad:1)" = "$D" ]
'
test_expect_success 'pull: one blob failing among several: an error naming it, nothing written' '
	stele build -q -o oci:keep:base ctx >/dev/null && tree_state keep >before &&
	faults "[{\"method\": \"GET\", \"match\": \"/blobs/$L\", \"action\": \"flip\", \"times\": -1}]" &&
	expect_code 1 stele pull $I --jobs 4 docker://$P/app:1 oci:keep:1 2>err && cat err &&
	grep -q "$L" err && tree_state keep >after && cmp before after &&
	[ ! -e keep/.stele-tmp ] || [ -z "$(ls keep/.stele-tmp)" ]
'
test_expect_success 'a re-push of a present image: HEAD checks, no blob read or written' '
	faults "[]" &&
	stele push --key k.pub $I --jobs 4 app:1 docker://$P/par:1 >/dev/null &&
	cat "$PROXY_LOG" | cut -c1-60 &&
	! grep -v "^\(HEAD\|GET /v2/ \|GET /v2/par/manifests/sha256-\|GET /v2/par/referrers/\)" "$PROXY_LOG" &&
	grep -q "^HEAD /v2/par/manifests/1 200" "$PROXY_LOG"
'
test_expect_success 'a re-push asks its questions at once after the probe, each once' '
	faults "[{\"match\": \"/v2/par/\", \"action\": \"together\", \"count\": 4, \"times\": -1}]" &&
	stele push --key k.pub $I app:1 docker://$P/par:1 >/dev/null &&
	cat "$PROXY_LOG" | cut -c1-90 &&
	! grep -q " ALONE$" "$PROXY_LOG" && [ -z "$(sort "$PROXY_LOG" | uniq -d)" ] &&
	grep -q "^HEAD /v2/par/manifests/1 200" "$PROXY_LOG" &&
	grep -q "^GET /v2/par/manifests/sha256-$H.sig 200" "$PROXY_LOG" &&
	grep -q "^GET /v2/par/manifests/sha256-$H 200" "$PROXY_LOG" &&
	[ "$(grep -c "^\(HEAD\|GET\) /v2/par/" "$PROXY_LOG")" -ge 5 ]
'
if ! command -v strace >/dev/null 2>&1; then
	test_skip 'push: libcurl is loaded on a thread of its own' 'strace is not installed'
elif ldd "$STELE" | grep -q libasan; then
	test_skip 'push: libcurl is loaded on a thread of its own' 'LeakSanitizer does not run under strace'
else
	test_expect_success 'push: libcurl is loaded on a thread of its own while the image is read' '
		strace -f -o st.txt -e trace=openat "$STELE" push --key k.pub $I app:1 docker://$P/par:1 >/dev/null 2>&1 &&
		main=$(head -n1 st.txt | cut -d" " -f1) && grep "libcurl\.so" st.txt &&
		! grep "libcurl\.so" st.txt | grep -q "^$main "
	'
fi
test_expect_success 'a re-push after a new signature: the .sig tag gets it, no layer sent' '
	"$STELE" keygen --output-prefix k2 >/dev/null 2>&1 &&
	stele sign --key k2.key app:1 >/dev/null &&
	faults "[]" &&
	stele push --key k2.pub $I --json app:1 docker://$P/par:1 >s.json &&
	cat "$PROXY_LOG" | cut -c1-60 &&
	[ "$(json_get s.json .manifests_present)" -ge 1 ] &&
	[ "$(json_get s.json .blobs.transferred)" -le 2 ] &&
	grep -q "^PUT /v2/par/manifests/sha256-$H.sig " "$PROXY_LOG" &&
	! grep -q "digest=\($L\|$L0\|$C\)" "$PROXY_LOG" &&
	curl -sf -H "Accept: application/vnd.oci.image.manifest.v1+json" \
		"http://$REG/v2/par/manifests/sha256-$H.sig" >sig.json &&
	json_get sig.json .layers.1.digest >/dev/null &&
	! json_get sig.json .layers.2.digest >/dev/null 2>&1 &&
	stele verify --key k.pub --identity app:1 $I docker://$REG/par:1 >/dev/null &&
	stele verify --key k2.pub --identity app:1 $I docker://$REG/par:1 >/dev/null
'
test_expect_success 'a re-push to where the image is without its attachments sends them' '
	stele copy --insecure-skip-verify --no-attachments $I app:1 docker://$REG/bare:1 >/dev/null 2>&1 &&
	! curl -sf "http://$REG/v2/bare/manifests/sha256-$H.sig" >/dev/null &&
	faults "[]" &&
	stele push --key k.pub $I --json app:1 docker://$P/bare:1 >r.json &&
	cat "$PROXY_LOG" | cut -c1-60 &&
	[ "$(json_get r.json .manifests_present)" -ge 1 ] &&
	[ "$(json_get r.json .signatures)" = 1 ] && [ "$(json_get r.json .referrers)" -ge 1 ] &&
	grep -q "^PUT /v2/bare/manifests/sha256-$H.sig " "$PROXY_LOG" &&
	grep -q "^PUT /v2/bare/manifests/sha256-$H " "$PROXY_LOG" &&
	grep -q "^PUT /v2/bare/manifests/sha256:" "$PROXY_LOG" &&
	! grep -q "digest=\($L\|$L0\|$C\)" "$PROXY_LOG" &&
	stele verify --key k.pub --identity app:1 $I docker://$REG/bare:1 >/dev/null
'
test_expect_success '--jobs takes 1 to 32' '
	for n in 0 33 x ""; do
		expect_code 2 stele push --key k.pub $I --jobs "$n" app:1 docker://$P/j:1 2>err &&
		grep -q "jobs wants 1 to 32" err || return 1
	done &&
	stele push --help | grep -q -- "--jobs N" && stele pull --help | grep -q -- "--jobs N" &&
	stele copy --help | grep -q -- "--jobs N"
'
