#!/bin/sh
# make bench: stele against the tools a user would pick instead, in one run,
# on the same input.  Prints ratios (stele time / anchor time) and stele's
# peak RSS.  Not a test: nothing here passes or fails.
# Usage: run.sh PATH/TO/stele   (BENCH_FILES/BENCH_MB: the layer tree,
# default 20,000 files, 300 MB; BENCH_RUNS: runs per side, default 3;
# BENCH_BIG=1: also a 2 GB layer case (BENCH_BIG_FILES, default 100,000;
# BENCH_BIG_MB), bench/layers.sh)
set -eu
stele=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/stele-bench-XXXXXX")}
trap 'rm -rf "$work"' EXIT
# A cache of its own: layer timings are builds, never cache hits.
export STELE_STORE="$work/store" STELE_CACHE="$work/cache" SOURCE_DATE_EPOCH=1700000000 STELE_QUIET=1
files=${BENCH_FILES:-20000}
mb=${BENCH_MB:-300}
runs=${BENCH_RUNS:-3}

# secs CMD...: wall seconds of a command (its output discarded) and the
# peak RSS (KiB) of its largest process.
secs() {
	python3 - "$@" <<'PY'
import subprocess, sys, time, resource
t = time.monotonic()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print("%.3f %d" % (time.monotonic() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
PY
}
# median X...: the median of the numbers
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# ratio A B
ratio() { echo "$1 $2" | awk '{printf "%.2f", $1 / $2}'; }

sh "$top/bench/layers.sh" "$stele" "$work" "$files" "$mb"
if [ "${BENCH_BIG:-0}" = 1 ]; then
	# 2 GB in 100,000 files: peak RSS must not grow with the layer (the
	# file records go to a file list blob, docs/provenance.md).  The
	# plain tar | gzip anchor (a minute a run) is left out.
	echo
	BENCH_GZIP_ANCHOR=0 sh "$top/bench/layers.sh" "$stele" "$work/big" \
		"${BENCH_BIG_FILES:-100000}" "${BENCH_BIG_MB:-2000}" ||
		echo "bench: the 2 GB layer case failed"
	rm -rf "$work/big"
fi

# verify (every blob streamed once for digest and diff_id, signatures)
# against sha256sum over the same blobs, interleaved, medians.
STELE_PASSWORD=bench "$stele" keygen --output-prefix "$work/k" >/dev/null 2>&1
STELE_PASSWORD=bench "$stele" sign --identity bench:1 --key "$work/k.key" "oci:$work/out:gz" >/dev/null 2>&1
t_ver="" t_sum=""
i=0
while [ $i -lt "$runs" ]; do
	set -- $(secs "$stele" verify --key "$work/k.pub" --identity bench:1 "oci:$work/out:gz")
	t_ver="$t_ver $1"
	set -- $(secs sh -c "sha256sum '$work/out/blobs/sha256/'* >/dev/null")
	t_sum="$t_sum $1"
	i=$((i + 1))
done
# shellcheck disable=SC2086 # the lists split into their numbers
ver=$(median $t_ver) sum=$(median $t_sum)
printf '%-44s %9.2f %9.2f %7s  (goal <= 1.2)\n' "verify vs sha256sum over the blobs" "$ver" "$sum" "$(ratio "$ver" "$sum")"
echo "runs (s): stele verify$t_ver; sha256sum$t_sum"
# Admission: signatures and the manifest and config only, no layer read;
# the whole process, start-up included (median of 21).
t_so=""
i=0
while [ $i -lt 21 ]; do
	set -- $(secs "$stele" verify --signatures-only --key "$work/k.pub" --identity bench:1 "oci:$work/out:gz")
	t_so="$t_so $1"
	i=$((i + 1))
done
# shellcheck disable=SC2086
so=$(median $t_so)
printf '%-44s %9.1f ms (goal <= 10 ms)\n' "verify --signatures-only (whole process)" "$(echo "$so * 1000" | bc -l)"

# The from-source example: first build (cold cache) and a no-op rebuild.
if root=$(sh "$top/scripts/mkdebian.sh" 2>/dev/null); then
	SOURCE_DATE_EPOCH=0 "$stele" import -q -t bookworm-gcc:1 "$root" >/dev/null
	export STELE_CACHE="$work/cache-fs"
	rev=$(git -C "$top" rev-parse HEAD)
	set -- $(secs "$stele" build -q -f recipes/fromsource/Dockerfile -t fs:1 "$top#$rev")
	first=$1
	set -- $(secs "$stele" build -q -f recipes/fromsource/Dockerfile -t fs:1 "$top#$rev")
	noop=$1
	printf '\n%-44s %9.3f s\n' "from-source example: first build" "$first"
	printf '%-44s %9.3f s (goal <= 0.1 s)\n' "from-source example: no-op rebuild" "$noop"
else
	echo "bench: no Debian base (scripts/mkdebian.sh needs root and the mirror): skipped the example"
fi

echo
sh "$top/bench/regcache.sh" "$stele" || echo "bench: the registry cache benchmark failed"

echo
sh "$top/bench/registry.sh" "$stele" || echo "bench: the registry transfer benchmark failed"
echo
sh "$top/bench/admission.sh" "$stele" || echo "bench: the admission load test failed"
