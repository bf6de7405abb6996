#!/bin/sh
# The registry build cache (docs/cache.md): the from-source example
# (recipes/fromsource) built on a fresh machine (an empty build cache and a
# store holding only the Debian base), cold (nothing to reuse) against warm
# (--cache-from a cache another build exported to a docker-registry on
# 127.0.0.1).  Prints the median of 3 trials of each and the ratio
# warm/cold.  Not a test: nothing here passes or fails.
# Usage: regcache.sh PATH/TO/stele   (BENCH_TRIALS: trials, default 3)
set -eu
stele=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/stele-bench-regcache-XXXXXX")}
pid=""
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
export STELE_QUIET=1 STELE_PASSWORD=bench HOME="$work/home"
unset SOURCE_DATE_EPOCH  # the epoch is the commit time, as in the example
trials=${BENCH_TRIALS:-3}
if ! command -v docker-registry >/dev/null; then
	echo "bench: docker-registry is needed"
	exit 0
fi
if ! root=$(sh "$top/scripts/mkdebian.sh" 2>/dev/null); then
	echo "bench: no Debian base (scripts/mkdebian.sh needs root and the mirror): skipped"
	exit 0
fi
mkdir -p "$HOME"
port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 ))
printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s/reg}}\nhttp: {addr: 127.0.0.1:%s}\n' \
	"$work" "$port" >"$work/reg.yml"
docker-registry serve "$work/reg.yml" >/dev/null 2>&1 &
pid=$!
until curl -sf "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; do sleep 0.1; done
cache=docker://127.0.0.1:$port/bench/fromsource:cache

# The base once, in a store every trial starts from (not timed).
SOURCE_DATE_EPOCH=0 STELE_STORE="$work/base" "$stele" import -q -t bookworm-gcc:1 "$root" >/dev/null
(cd "$work" && "$stele" keygen --output-prefix ci >/dev/null 2>&1)
rev=$(git -C "$top" rev-parse HEAD)

# fresh: a machine with the base and nothing else.
fresh() {
	rm -rf "$work/m" && mkdir -p "$work/m" && cp -a "$work/base" "$work/m/store"
}
build() {
	STELE_STORE="$work/m/store" STELE_CACHE="$work/m/cache" "$stele" build -q \
		-f recipes/fromsource/Dockerfile -t fs:1 "$@" "$top#$rev"
}
secs() {
	s=$(date +%s.%N)
	"$@" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
	e=$(date +%s.%N)
	echo "$e - $s" | bc -l
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# The warm cache: one build exports it.
fresh
build --tls-verify=false --cache-to "$cache" --cache-sign-key "$work/ci.key" >"$work/d0" 2>"$work/err" ||
	{ cat "$work/err"; exit 1; }
cold="" warm=""
i=0
while [ $i -lt "$trials" ]; do
	fresh
	cold="$cold $(secs build)"
	cp "$work/out" "$work/d1"
	fresh
	warm="$warm $(secs build --tls-verify=false --cache-from "$cache" --cache-key "$work/ci.pub")"
	cp "$work/out" "$work/d2"
	if ! cmp -s "$work/d0" "$work/d1" || ! cmp -s "$work/d0" "$work/d2"; then
		echo "bench: the digests differ: $(cat "$work/d0" "$work/d1" "$work/d2")"
		exit 1
	fi
	i=$((i + 1))
done
# shellcheck disable=SC2086 # the lists are split on purpose
c=$(median $cold)
# shellcheck disable=SC2086
w=$(median $warm)
echo "bench: from-source example on a fresh store and build cache, medians of $trials (cold:$cold; warm:$warm)"
printf '%-44s %9.3f s\n' "cold (no registry cache)" "$c"
printf '%-44s %9.3f s\n' "warm (--cache-from a local registry)" "$w"
printf '%-44s %9.3f (warm / cold)\n' "ratio" "$(echo "$w / $c" | bc -l)"
