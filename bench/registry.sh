#!/bin/sh
# Registry transfer benchmark: `stele push` against `skopeo copy` into an
# empty docker-registry on 127.0.0.1 (a fresh one per trial, so neither
# tool finds blobs there or mounts them), and `stele pull` against
# `skopeo copy` back into a layout.  Prints the median of 3 trials, the
# ratio stele/skopeo (the goal: push <= 0.6x skopeo copy) and
# peak RSS.  Not a test: nothing here passes or fails.
# Usage: registry.sh PATH/TO/stele   (BENCH_MB: layer size, default 256)
set -eu
stele=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/stele-bench-reg-XXXXXX")}
pid=""
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
export STELE_STORE="$work/store" SOURCE_DATE_EPOCH=1700000000 STELE_QUIET=1
mb=${BENCH_MB:-256}
if ! command -v docker-registry >/dev/null || ! command -v skopeo >/dev/null; then
	echo "bench: docker-registry and skopeo are needed"
	exit 0
fi

mkdir -p "$work/ctx"
head -c $((mb * 1024 * 1024)) /dev/urandom >"$work/ctx/big.bin"
printf 'FROM scratch\nCOPY big.bin /big.bin\n' >"$work/ctx/Dockerfile"
"$stele" build -q -o "oci:$work/img:1" "$work/ctx" >/dev/null
echo "bench: one layer of $mb MiB (random, gzip)"

serve() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work/reg"
	port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 ))
	printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s/reg}}\nhttp: {addr: 127.0.0.1:%s}\n' \
		"$work" "$port" >"$work/reg.yml"
	docker-registry serve "$work/reg.yml" >/dev/null 2>&1 &
	pid=$!
	until curl -sf "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; do sleep 0.1; done
	REG=127.0.0.1:$port
}
# timed NAME CMD...: "seconds rss_kib" appended to $work/NAME
timed() {
	n=$1
	shift
	/usr/bin/time -f '%e %M' -o "$work/t" "$@" >/dev/null 2>&1
	cat "$work/t" >>"$work/$n"
}
median() { sort -n "$work/$1" | awk '{a[NR]=$1; r[NR]=$2} END {m=int((NR+1)/2); print a[m], r[m]}'; }

for i in 1 2 3; do
	serve
	timed stele_push "$stele" push --insecure-skip-verify --tls-verify=false \
		"oci:$work/img:1" "docker://$REG/s:1"
	serve
	timed skopeo_push skopeo copy -q --dest-tls-verify=false "oci:$work/img:1" "docker://$REG/k:1"
	rm -rf "$work/p1" "$work/p2"
	timed stele_pull "$stele" pull --tls-verify=false "docker://$REG/k:1" "oci:$work/p1:1"
	timed skopeo_pull skopeo copy -q --src-tls-verify=false "docker://$REG/k:1" "oci:$work/p2:1"
done
set -- $(median stele_push) $(median skopeo_push) $(median stele_pull) $(median skopeo_pull)
echo "push: stele $1 s ($2 KiB RSS), skopeo $3 s ($4 KiB): ratio $(echo "$1 $3" | awk '{printf "%.2f", $1 / $2}')"
echo "pull: stele $5 s ($6 KiB RSS), skopeo $7 s ($8 KiB): ratio $(echo "$5 $7" | awk '{printf "%.2f", $1 / $2}')"
