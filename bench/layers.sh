#!/bin/sh
# The layer benchmark (make bench runs it; bench/run.sh BENCH_BIG=1 adds a
# 2 GB / 100,000-file case): a COPY of a generated tree built by stele with
# gzip and zstd, beside the peers on the same tree in the same canon
# (sorted names, zero times, root owner):
#  - tar | gzip -n -6, the plain anchor (BENCH_GZIP_ANCHOR=0 leaves it out);
#  - umoci insert (Go's parallel gzip), the fastest peer for gzip layers;
#  - tar | zstd -3 -T2 for zstd layers.
# Each is run BENCH_RUNS times, in turn with stele (A B C A B C ...), so a
# drift of the (shared, noisy) machine's speed hits every side alike; the
# figures are medians, with each side's peak RSS.  Every stele build writes
# a fresh layout (a cache of its own, --no-cache: builds, never cache hits).
# Not a test: nothing here passes or fails.
# Usage: layers.sh PATH/TO/stele WORKDIR FILES MB
# Leaves WORKDIR/out (gzip) and WORKDIR/outz (zstd) for the verify bench.
set -eu
stele=$1 work=$2 files=$3 mb=$4
mkdir -p "$work"
export STELE_STORE="$work/store" STELE_CACHE="$work/cache" SOURCE_DATE_EPOCH=1700000000 STELE_QUIET=1

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
# max A B
max() { [ "$1" -gt "$2" ] && echo "$1" || echo "$2"; }

# Warm the page cache so neither side pays for the first read.
tar -cf - -C "$work" tree >/dev/null

runs=${BENCH_RUNS:-3}
have_umoci=0 have_gz=${BENCH_GZIP_ANCHOR:-1}
command -v umoci >/dev/null 2>&1 && have_umoci=1
tgz="tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C '$work' -c tree | gzip -n -6 >'$work/anchor.tgz'"
tzs="tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C '$work' -c tree | zstd -q -3 -T2 >'$work/anchor.zst'"
umo="umoci init --layout '$work/umoci' && umoci new --image '$work/umoci:b' && umoci insert --image '$work/umoci:b' '$work/tree' /data"
t_gz="" t_anchor="" t_umoci="" t_z="" t_zanchor=""
# timed CMD...: secs after sync, so that no side starts while the one
# before it still has its output being written back.
timed() { sync; secs "$@"; }
gzrss=0 zrss=0 umrss=0 zarss=0
i=0
while [ $i -lt "$runs" ]; do
	rm -rf "$work/out"
	r=$(timed "$stele" build -q --no-cache -o "oci:$work/out:gz" "$work") ||
		{ echo "bench: stele build failed on $files files (above)"; exit 1; }
	# shellcheck disable=SC2086 # seconds and KiB
	set -- $r
	t_gz="$t_gz $1"; gzrss=$(max "$2" "$gzrss")
	if [ "$have_gz" = 1 ]; then
		set -- $(timed sh -c "$tgz"); t_anchor="$t_anchor $1"
	fi
	if [ $have_umoci = 1 ]; then
		rm -rf "$work/umoci"
		set -- $(timed sh -c "$umo"); t_umoci="$t_umoci $1"; umrss=$(max "$2" "$umrss")
	fi
	rm -rf "$work/outz"
	r=$(timed "$stele" build -q --no-cache --compression zstd -o "oci:$work/outz:z" "$work") ||
		{ echo "bench: stele build failed on $files files (above)"; exit 1; }
	# shellcheck disable=SC2086 # seconds and KiB
	set -- $r
	t_z="$t_z $1"; zrss=$(max "$2" "$zrss")
	set -- $(timed sh -c "$tzs"); t_zanchor="$t_zanchor $1"; zarss=$(max "$2" "$zarss")
	i=$((i + 1))
done
# shellcheck disable=SC2086 # the lists split into their numbers
gz=$(median $t_gz) z=$(median $t_z) zanchor=$(median $t_zanchor)

size() { python3 -c "import json,sys;d=sys.argv[1];i=json.load(open(d+'/index.json'));m=[x for x in i['manifests'] if 'artifactType' not in x][0];print(json.load(open(d+'/blobs/sha256/'+m['digest'][7:]))['layers'][-1]['size'])" "$1"; }
echo "bench: machine $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load $(cut -d' ' -f1-3 /proc/loadavg); medians of $runs runs, interleaved"
printf '\n%-44s %9s %9s %7s\n' "layer build ($files files, $mb MB)" "stele s" "peer s" "ratio"
if [ "$have_gz" = 1 ]; then
	# shellcheck disable=SC2086
	anchor=$(median $t_anchor)
	printf '%-44s %9.2f %9.2f %7s\n' "gzip vs tar --sort=name | gzip -n -6" "$gz" "$anchor" "$(ratio "$gz" "$anchor")"
fi
if [ $have_umoci = 1 ]; then
	# shellcheck disable=SC2086
	um=$(median $t_umoci)
	printf '%-44s %9.2f %9.2f %7s  (goal <= 0.9)\n' "gzip vs umoci insert" "$gz" "$um" "$(ratio "$gz" "$um")"
fi
printf '%-44s %9.2f %9.2f %7s  (goal <= 1.3)\n' "zstd vs tar --sort=name | zstd -3 -T2" "$z" "$zanchor" "$(ratio "$z" "$zanchor")"
if [ "$have_gz" = 1 ]; then
	printf '%-44s %9d %9d %7.3f\n' "gzip layer bytes vs tar | gzip -6" "$(size "$work/out")" "$(stat -c %s "$work/anchor.tgz")" "$(echo "$(size "$work/out") / $(stat -c %s "$work/anchor.tgz")" | bc -l)"
fi
if [ $have_umoci = 1 ]; then
	printf '%-44s %9d %9d %7.3f  (goal <= 1)\n' "gzip layer bytes vs umoci insert" "$(size "$work/out")" "$(size "$work/umoci")" "$(echo "$(size "$work/out") / $(size "$work/umoci")" | bc -l)"
else
	echo "bench: umoci is not installed: no umoci column (scripts/deps.sh bench)"
fi
printf '%-44s %9d %9d %7.3f\n' "zstd layer bytes vs tar | zstd -3" "$(size "$work/outz")" "$(stat -c %s "$work/anchor.zst")" "$(echo "$(size "$work/outz") / $(stat -c %s "$work/anchor.zst")" | bc -l)"
echo "peak RSS of stele build: gzip $((gzrss / 1024)) MiB, zstd $((zrss / 1024)) MiB (goal <= 64 MiB); umoci $((umrss / 1024)) MiB, tar|zstd $((zarss / 1024)) MiB"
echo "runs (s): stele gzip$t_gz; tar|gzip${t_anchor:- -}; umoci${t_umoci:- -}; stele zstd$t_z; tar|zstd$t_zanchor"
