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

# secs CMD...: wall seconds of a command (its output discarded)
secs() {
	python3 - "$@" <<'PY'
import subprocess, sys, time, resource
t = time.monotonic()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print("%.3f %d" % (time.monotonic() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
PY
}

# Warm the page cache so neither side pays for the first read.
tar -cf - -C "$work" tree >/dev/null

set -- $(secs sh -c "tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C '$work' -c tree | gzip -n -6 >'$work/anchor.tgz'")
anchor=$1
set -- $(secs "$stele" build -q --no-cache -o "oci:$work/out:gz" "$work")
gz=$1; gzrss=$2
set -- $(secs sh -c "tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C '$work' -c tree | zstd -q -3 -T2 >'$work/anchor.zst'")
zanchor=$1
set -- $(secs "$stele" build -q --no-cache --compression zstd -o "oci:$work/outz:z" "$work")
z=$1; zrss=$2

size() { python3 -c "import json,sys;d=sys.argv[1];i=json.load(open(d+'/index.json'));m=[x for x in i['manifests'] if 'artifactType' not in x][0];print(json.load(open(d+'/blobs/sha256/'+m['digest'][7:]))['layers'][0]['size'])" "$1"; }
printf '\n%-44s %9s %9s %7s\n' "layer build ($files files)" "stele s" "anchor s" "ratio"
printf '%-44s %9.2f %9.2f %7.2f\n' "gzip vs tar --sort=name | gzip -n -6" "$gz" "$anchor" "$(echo "$gz / $anchor" | bc -l)"
printf '%-44s %9.2f %9.2f %7.2f\n' "zstd vs tar --sort=name | zstd -3 -T2" "$z" "$zanchor" "$(echo "$z / $zanchor" | bc -l)"
printf '%-44s %9d %9d %7.3f\n' "gzip layer bytes vs anchor" "$(size "$work/out")" "$(stat -c %s "$work/anchor.tgz")" "$(echo "$(size "$work/out") / $(stat -c %s "$work/anchor.tgz")" | bc -l)"
echo "peak RSS of stele build: gzip $((gzrss / 1024)) MiB, zstd $((zrss / 1024)) MiB (goal <= 64 MiB)"
echo "goals: gzip ratio <= 0.6 (2 cores, output independent of threads); zstd ratio <= 1.3"

# verify (every blob streamed for digest and diff_id, signatures) against
# sha256sum over the same blobs.
STELE_PASSWORD=bench "$stele" keygen --output-prefix "$work/k" >/dev/null 2>&1
STELE_PASSWORD=bench "$stele" sign --identity bench:1 --key "$work/k.key" "oci:$work/out:gz" >/dev/null 2>&1
set -- $(secs "$stele" verify --key "$work/k.pub" --identity bench:1 "oci:$work/out:gz")
ver=$1
set -- $(secs sh -c "sha256sum '$work/out/blobs/sha256/'* >/dev/null")
sum=$1
printf '%-44s %9.2f %9.2f %7.2f\n' "verify vs sha256sum over the blobs" "$ver" "$sum" "$(echo "$ver / $sum" | bc -l)"

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
