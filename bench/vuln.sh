#!/bin/sh
# bench: stele sbom + stele scan of the Debian base (scripts/mkdebian.sh)
# against a generated OSV database of BENCH_VULN_RECORDS (default 50,000)
# records, spread over the base's real source packages and made-up ones:
# the first sbom (which reads the layers and fills the inventory cache), a
# warm sbom, the first scan (which compiles the index) and a warm scan, wall
# time and peak RSS (GNU time).  Not a test: nothing here passes or fails.
# Usage: vuln.sh PATH/TO/stele
set -eu
stele=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/stele-bench-vuln-XXXXXX")}
trap 'rm -rf "$work"' EXIT
export STELE_STORE="$work/store" STELE_CACHE="$work/cache" SOURCE_DATE_EPOCH=0 STELE_QUIET=1
n=${BENCH_VULN_RECORDS:-50000}
root=$(sh "$top/scripts/mkdebian.sh")
"$stele" import -q -t deb:1 "$root" >/dev/null
dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${source:Package} ${source:Version}\n' | sort -u >"$work/sources"
echo "bench: generating $n OSV records"
python3 - "$work/db" "$n" "$work/sources" <<'PY'
import json, os, random, sys
out, n, srcs = sys.argv[1], int(sys.argv[2]), [l.split() for l in open(sys.argv[3])]
rnd = random.Random(7)
os.makedirs(os.path.join(out, "Debian"), exist_ok=True)
for i in range(n):
    if rnd.random() < 0.3:
        name, ver = rnd.choice(srcs)
        fixed = ver + ("+bench1" if rnd.random() < 0.5 else "~bench1")
    else:
        name, fixed = "pkg%05d" % rnd.randrange(20000), "1.%d-1" % rnd.randrange(50)
    rec = {"id": "BENCH-%06d" % i, "modified": "2026-11-01T00:00:00Z",
           "summary": "generated record %d" % i,
           "affected": [{"package": {"ecosystem": "Debian:12", "name": name},
                         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}],
           "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}
    with open(os.path.join(out, "Debian", rec["id"] + ".json"), "w") as f:
        json.dump(rec, f)
PY
run() { # LABEL COMMAND...
	label=$1
	shift
	/usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>/dev/null || true
	read -r secs kb <"$work/time"
	echo "bench: $label: ${secs} s, peak RSS $((kb / 1024)) MiB"
}
run "sbom (Debian base), first (reads the layers)" "$stele" sbom deb:1
run "sbom, warm (inventory cache)" "$stele" sbom deb:1
run "scan, first (builds the index)" "$stele" scan --db "$work/db" deb:1
run "scan, warm" "$stele" scan --db "$work/db" deb:1
echo "bench: $(head -n1 "$work/out")"
