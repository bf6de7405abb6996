#!/bin/sh
# make bench: stele against the tools a user would pick instead, in one run,
# on the same input.  Prints ratios (stele time / anchor time) and stele's
# peak RSS.  Not a test: nothing here passes or fails.
# Usage: run.sh PATH/TO/stele
set -eu
stele=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/stele-bench-XXXXXX")}
trap 'rm -rf "$work"' EXIT
# A cache of its own: layer timings are builds, never cache hits.
export STELE_STORE="$work/store" STELE_CACHE="$work/cache" SOURCE_DATE_EPOCH=1700000000 STELE_QUIET=1
files=${BENCH_FILES:-20000}
mb=${BENCH_MB:-300}

echo "bench: generating $files files, about $mb MB (mixed text and random data)"
python3 - "$work/tree" "$files" "$mb" <<'PY'
import os, random, sys
root, n, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(42)
words = [("w%d" % i).encode() for i in range(5000)]
total = mb * 1024 * 1024
per = total // n
for i in range(n):
    d = os.path.join(root, "d%02d" % (i % 97), "e%02d" % (i % 13))
    os.makedirs(d, exist_ok=True)
    size = max(1, int(rnd.expovariate(1.0 / per)))
    if i % 3 == 0:
        data = rnd.randbytes(size)
    else:
        out = bytearray()
        while len(out) < size:
            out += b" ".join(rnd.choice(words) for _ in range(64)) + b"\n"
        data = bytes(out[:size])
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        f.write(data)
PY
printf 'FROM scratch\nCOPY tree/ /data/\n' >"$work/Dockerfile"
du -sh "$work/tree" | sed 's/^/bench: tree /'

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

# Warm the page cache so neither side pays for the first read.
tar -cf - -C "$work" tree >/dev/null

# The peers, each over the same tree in the same canon (sorted names, zero
# times, root owner):
#  - tar | gzip -n -6, the plain anchor;
#  - umoci insert (Go's parallel gzip), the fastest peer for gzip layers;
#  - tar | zstd -3 -T2 for zstd layers.
# Each is run BENCH_RUNS times, in turn with stele (A B C A B C ...), so a
# drift of the (shared, noisy) machine's speed hits every side alike; the
# figures are medians.
runs=${BENCH_RUNS:-3}
have_umoci=0
command -v umoci >/dev/null 2>&1 && have_umoci=1
tgz="tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C '$work' -c tree | gzip -n -6 >'$work/anchor.tgz'"
tzs="tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C '$work' -c tree | zstd -q -3 -T2 >'$work/anchor.zst'"
umo="rm -rf '$work/umoci' && umoci init --layout '$work/umoci' && umoci new --image '$work/umoci:b' && umoci insert --image '$work/umoci:b' '$work/tree' /data"
t_gz="" t_anchor="" t_umoci="" t_z="" t_zanchor="" gzrss=0 zrss=0
i=0
while [ $i -lt "$runs" ]; do
	set -- $(secs "$stele" build -q --no-cache -o "oci:$work/out:gz" "$work")
	t_gz="$t_gz $1"; [ "$2" -gt "$gzrss" ] && gzrss=$2
	set -- $(secs sh -c "$tgz"); t_anchor="$t_anchor $1"
	if [ $have_umoci = 1 ]; then
		set -- $(secs sh -c "$umo"); t_umoci="$t_umoci $1"
	fi
	set -- $(secs "$stele" build -q --no-cache --compression zstd -o "oci:$work/outz:z" "$work")
	t_z="$t_z $1"; [ "$2" -gt "$zrss" ] && zrss=$2
	set -- $(secs sh -c "$tzs"); t_zanchor="$t_zanchor $1"
	i=$((i + 1))
done
gz=$(median $t_gz) anchor=$(median $t_anchor) z=$(median $t_z) zanchor=$(median $t_zanchor)

size() { python3 -c "import json,sys;d=sys.argv[1];i=json.load(open(d+'/index.json'));m=[x for x in i['manifests'] if 'artifactType' not in x][0];print(json.load(open(d+'/blobs/sha256/'+m['digest'][7:]))['layers'][-1]['size'])" "$1"; }
echo "bench: machine $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load $(cut -d' ' -f1-3 /proc/loadavg); medians of $runs runs, interleaved"
printf '\n%-44s %9s %9s %7s\n' "layer build ($files files)" "stele s" "peer s" "ratio"
printf '%-44s %9.2f %9.2f %7s\n' "gzip vs tar --sort=name | gzip -n -6" "$gz" "$anchor" "$(ratio "$gz" "$anchor")"
if [ $have_umoci = 1 ]; then
	um=$(median $t_umoci)
	printf '%-44s %9.2f %9.2f %7s  (goal <= 0.9)\n' "gzip vs umoci insert" "$gz" "$um" "$(ratio "$gz" "$um")"
fi
printf '%-44s %9.2f %9.2f %7s  (goal <= 1.3)\n' "zstd vs tar --sort=name | zstd -3 -T2" "$z" "$zanchor" "$(ratio "$z" "$zanchor")"
printf '%-44s %9d %9d %7.3f\n' "gzip layer bytes vs tar | gzip -6" "$(size "$work/out")" "$(stat -c %s "$work/anchor.tgz")" "$(echo "$(size "$work/out") / $(stat -c %s "$work/anchor.tgz")" | bc -l)"
if [ $have_umoci = 1 ]; then
	printf '%-44s %9d %9d %7.3f  (goal <= 1)\n' "gzip layer bytes vs umoci insert" "$(size "$work/out")" "$(size "$work/umoci")" "$(echo "$(size "$work/out") / $(size "$work/umoci")" | bc -l)"
else
	echo "bench: umoci is not installed: no umoci column (scripts/deps.sh bench)"
fi
printf '%-44s %9d %9d %7.3f\n' "zstd layer bytes vs tar | zstd -3" "$(size "$work/outz")" "$(stat -c %s "$work/anchor.zst")" "$(echo "$(size "$work/outz") / $(stat -c %s "$work/anchor.zst")" | bc -l)"
echo "peak RSS of stele build: gzip $((gzrss / 1024)) MiB, zstd $((zrss / 1024)) MiB (goal <= 64 MiB)"
echo "runs (s): stele gzip$t_gz; tar|gzip$t_anchor; umoci${t_umoci:- -}; stele zstd$t_z; tar|zstd$t_zanchor"

# verify (every blob streamed for digest and diff_id, signatures) against
# sha256sum over the same blobs.
STELE_PASSWORD=bench "$stele" keygen --output-prefix "$work/k" >/dev/null 2>&1
STELE_PASSWORD=bench "$stele" sign --identity bench:1 --key "$work/k.key" "oci:$work/out:gz" >/dev/null 2>&1
set -- $(secs "$stele" verify --key "$work/k.pub" --identity bench:1 "oci:$work/out:gz")
ver=$1
set -- $(secs sh -c "sha256sum '$work/out/blobs/sha256/'* >/dev/null")
sum=$1
printf '%-44s %9.2f %9.2f %7.2f\n' "verify vs sha256sum over the blobs" "$ver" "$sum" "$(echo "$ver / $sum" | bc -l)"
# Admission: signatures and the manifest and config only, no layer read;
# the whole process, start-up included (median of 5).
t_so=""
for i in 1 2 3 4 5; do
	set -- $(secs "$stele" verify --signatures-only --key "$work/k.pub" --identity bench:1 "oci:$work/out:gz")
	t_so="$t_so $1"
done
printf '%-44s %9.1f ms (goal <= 10 ms)\n' "verify --signatures-only (whole process)" "$(echo "$(median $t_so) * 1000" | bc -l)"

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
sh "$top/bench/admission.sh" "$stele" || echo "bench: the admission load test failed"
