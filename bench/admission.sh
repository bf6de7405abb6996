#!/bin/sh
# Admission webhook load test: `ab` (apache2-utils) against
# `stele serve --admission` over TLS on 127.0.0.1, with one signed image
# (signed provenance, every runtime rule met) in a docker-registry on
# 127.0.0.1.  Two runs: cached (every review after the first uses the
# verdict kept for the digest) and uncached (--cache-ttl 0: each review
# pulls the image's manifests, config, layers and attachments and runs the
# whole verify pipeline).  Prints requests per second and the p99 latency
# of each, from ab's own report.  Not a test: nothing here passes or fails.
# Usage: admission.sh PATH/TO/stele   (BENCH_N: cached requests, default
# 5000; BENCH_C: concurrency, default 8; BENCH_UNCACHED_N: default 200)
set -eu
stele=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/stele-bench-adm-XXXXXX")}
reg=""
wh=""
trap '[ -n "$wh" ] && kill $wh 2>/dev/null; [ -n "$reg" ] && kill $reg 2>/dev/null; rm -rf "$work"' EXIT
export STELE_STORE="$work/store" STELE_CACHE="$work/cache" SOURCE_DATE_EPOCH=1700000000 \
	STELE_QUIET=1 STELE_PASSWORD=pw
n=${BENCH_N:-5000}
c=${BENCH_C:-8}
un=${BENCH_UNCACHED_N:-200}
for t in docker-registry ab openssl curl; do
	if ! command -v $t >/dev/null; then
		echo "bench: $t is needed"
		exit 0
	fi
done
cd "$work"
port() { echo $(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 )); }

rp=$(port)
mkdir -p reg
printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s/reg}}\nhttp: {addr: 127.0.0.1:%s}\n' \
	"$work" "$rp" >reg.yml
docker-registry serve reg.yml >reg.log 2>&1 &
reg=$!
until curl -sf "http://127.0.0.1:$rp/v2/" >/dev/null 2>&1; do sleep 0.1; done
R=127.0.0.1:$rp

sh "$top/recipes/mkbusybox.sh" "$work/bbroot" >/dev/null 2>&1
"$stele" import -q -t bb:1 bbroot >/dev/null
"$stele" keygen --output-prefix rm >/dev/null 2>&1
"$stele" keygen --output-prefix builder >/dev/null 2>&1
mkdir ctx && echo v >ctx/v && printf 'FROM bb:1\nCOPY v /v\nUSER 1000\n' >ctx/Dockerfile
d=$("$stele" build -q --sign-key builder.key -t app:1 ctx 2>/dev/null)
"$stele" sign --key rm.key --identity "$R/app:1" app:1 >/dev/null 2>&1
"$stele" push --key rm.pub --tls-verify=false app:1 "docker://$R/app:1" >/dev/null 2>&1
cat >policy.json <<POL
{"keys": {"rm": {"path": "rm.pub"}, "builder": {"path": "builder.pub"}},
 "signatures": {"keys": ["rm"], "threshold": 1},
 "provenance": {"keys": ["builder"]},
 "runtime": {"nonRoot": true, "readOnlyRootFilesystem": true, "noPrivileged": true,
             "noHostNamespaces": true, "requireLimits": ["cpu", "memory"]}}
POL
cat >review.json <<REV
{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
 "request": {"uid": "bench", "operation": "CREATE",
  "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
  "object": {"apiVersion": "apps/v1", "kind": "Deployment",
   "metadata": {"name": "app", "namespace": "prod"},
   "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "$R/app:1@$d",
     "securityContext": {"runAsNonRoot": true, "readOnlyRootFilesystem": true},
     "resources": {"limits": {"cpu": "1", "memory": "128Mi"}}}]}}}}}}
REV
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem \
	-out cert.pem -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1

run() { # TTL REQUESTS CONCURRENCY LABEL
	wp=$(port)
	"$stele" serve --admission --policy policy.json --tls-cert cert.pem --tls-key key.pem \
		--listen "127.0.0.1:$wp" --tls-verify=false --cache-ttl "$1" >/dev/null 2>wh.log &
	wh=$!
	until curl -sf --cacert cert.pem "https://127.0.0.1:$wp/healthz" >/dev/null 2>&1; do
		sleep 0.1
	done
	ok=$(curl -s --cacert cert.pem -H 'Content-Type: application/json' --data-binary @review.json \
		"https://127.0.0.1:$wp/validate")
	case $ok in
	*'"allowed":true'*) ;;
	*) echo "bench: the review was not allowed: $ok"; exit 1 ;;
	esac
	ab -q -k -n "$2" -c "$3" -p review.json -T application/json \
		"https://127.0.0.1:$wp/validate" >ab.out 2>&1
	kill -TERM "$wh"
	wait "$wh" || true
	wh=""
	rps=$(sed -n 's/^Requests per second: *\([0-9.]*\).*/\1/p' ab.out)
	p99=$(sed -n 's/^ *99% *\([0-9]*\).*/\1/p' ab.out)
	failed=$(sed -n 's/^Failed requests: *\([0-9]*\).*/\1/p' ab.out)
	non2xx=$(sed -n 's/^Non-2xx responses: *\([0-9]*\).*/\1/p' ab.out)
	printf '%-9s %6s requests, concurrency %s: %8s requests/s, p99 %4s ms, %s failed, %s non-2xx; %s\n' \
		"$4" "$2" "$3" "$rps" "$p99" "$failed" "${non2xx:-0}" "$(tail -1 wh.log | sed 's/^stele: //')"
}
echo "bench: admission reviews of one Deployment (one image) on $(nproc) cores, ab -k over TLS"
run 600 "$n" "$c" cached
run 0 "$un" 2 uncached
