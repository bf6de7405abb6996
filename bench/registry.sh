#!/bin/sh
# Registry transfer benchmark: `stele push` against `skopeo copy` into an
# empty docker-registry on 127.0.0.1 (a fresh one per trial, so neither
# tool finds blobs there or mounts them), the same push again of the
# image now present (a re-push: the checks that it and its attachments
# are there; BENCH_REPUSH of each tool per trial, default 9, taken in
# turn on the registry that holds both images), and `stele pull`
# against `skopeo copy` back into a layout.  The image has BENCH_LAYERS
# layers (default 4) of BENCH_MB MiB in all (default 256), random data;
# blobs move 4 at a time (stele's default --jobs; skopeo's own default).
# Prints the machine, the median of BENCH_RUNS trials (default 3; of all
# re-pushes for the re-push), the ratios stele/skopeo (goals: push <= 0.6,
# re-push <= 0.2) and peak RSS, and the floor under any re-push made
# through libcurl: bench/curlfloor.c asking the same questions, timed in
# turn with the re-pushes.
# Not a test: nothing here passes or fails.
# Usage: registry.sh PATH/TO/stele
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

# bench/curlfloor.c, built with the libcurl stele uses: the floor under
# any re-push made through libcurl (bench/repush.md).
floor=""
if cc -O2 -o "$work/curlfloor" "$(dirname "$0")/curlfloor.c" \
	$(pkg-config --cflags --libs libcurl) 2>/dev/null; then
	floor=$work/curlfloor
else
	echo "bench: cannot build bench/curlfloor.c: no floor row"
fi

layers=${BENCH_LAYERS:-4}
runs=${BENCH_RUNS:-3}
repush=${BENCH_REPUSH:-9}
mkdir -p "$work/ctx"
echo 'FROM scratch' >"$work/ctx/Dockerfile"
i=1
while [ $i -le "$layers" ]; do
	head -c $((mb * 1024 * 1024 / layers)) /dev/urandom >"$work/ctx/l$i.bin"
	echo "COPY l$i.bin /l$i.bin" >>"$work/ctx/Dockerfile"
	i=$((i + 1))
done
"$stele" build -q -o "oci:$work/img:1" "$work/ctx" >/dev/null
echo "bench: $layers layers, $mb MiB in all (random, gzip); machine $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load $(cut -d' ' -f1-3 /proc/loadavg); medians of $runs runs ($((runs * repush)) re-pushes)"

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
# timed NAME CMD...: "seconds rss_kib" appended to $work/NAME (wall time to
# the millisecond; a re-push takes a few of them)
timed() {
	n=$1
	shift
	python3 - "$@" >>"$work/$n" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("%.4f %d" % (time.monotonic() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
PY
}
median() { sort -n "$work/$1" | awk '{a[NR]=$1; r[NR]=$2} END {m=int((NR+1)/2); print a[m], r[m]}'; }

i=0
while [ $i -lt "$runs" ]; do
	serve
	timed stele_push "$stele" push --insecure-skip-verify --tls-verify=false \
		"oci:$work/img:1" "docker://$REG/s:1"
	serve
	timed skopeo_push skopeo copy -q --dest-tls-verify=false "oci:$work/img:1" "docker://$REG/k:1"
	# The registry holds both images now (stele's with its referrer).
	digest=$("$stele" push --insecure-skip-verify --tls-verify=false \
		"oci:$work/img:1" "docker://$REG/s:1" 2>/dev/null)
	# The questions a re-push must have answered: the tag, the referrer
	# (named by the tag-schema index) and that index.
	index="http://$REG/v2/s/manifests/sha256-${digest#sha256:}"
	set -- "http://$REG/v2/s/manifests/1" "$index" "http://$REG/v2/s/manifests/$(
		curl -sf -H 'Accept: application/vnd.oci.image.index.v1+json' "$index" |
			python3 -c 'import json, sys; print(json.load(sys.stdin)["manifests"][0]["digest"])')"
	j=0
	while [ $j -lt "$repush" ]; do
		timed stele_repush "$stele" push --insecure-skip-verify --tls-verify=false \
			"oci:$work/img:1" "docker://$REG/s:1"
		timed skopeo_repush skopeo copy -q --dest-tls-verify=false "oci:$work/img:1" "docker://$REG/k:1"
		[ -z "$floor" ] || timed floor_repush "$floor" "$@"
		j=$((j + 1))
	done
	rm -rf "$work/p1" "$work/p2"
	timed stele_pull "$stele" pull --tls-verify=false "docker://$REG/k:1" "oci:$work/p1:1"
	timed skopeo_pull skopeo copy -q --src-tls-verify=false "docker://$REG/k:1" "oci:$work/p2:1"
	i=$((i + 1))
done
# row NAME STELE SKOPEO GOAL
row() {
	set -- "$1" $(median "$2") $(median "$3") "$4"
	printf '%-8s stele %7.4f s (%6d KiB RSS)  skopeo %7.4f s (%6d KiB)  ratio %s%s\n' \
		"$1:" "$2" "$3" "$4" "$5" "$(echo "$2 $4" | awk '{printf "%.2f", $1 / $2}')" \
		"${6:+  (goal <= $6)}"
}
row push stele_push skopeo_push 0.6
row re-push stele_repush skopeo_repush 0.2
row pull stele_pull skopeo_pull ""
if [ -n "$floor" ]; then
	set -- $(median floor_repush) $(median skopeo_repush)
	printf 'floor:   the least libcurl program asking a re-push'"'"'s 3 questions at once %.4f s, %s x skopeo\n' \
		"$1" "$(echo "$1 $3" | awk '{printf "%.2f", $1 / $2}')"
fi
for n in stele_push skopeo_push stele_repush skopeo_repush stele_pull skopeo_pull ${floor:+floor_repush}; do
	printf 'runs (s) %s: %s\n' "$n" "$(cut -d' ' -f1 "$work/$n" | tr '\n' ' ')"
done
