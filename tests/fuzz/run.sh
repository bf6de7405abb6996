#!/bin/sh
# The libFuzzer targets (docs/fuzzing.md).
#   run.sh FUZZ_BUILD SECONDS [NAME...]  run each target (all by default) for
#                                        SECONDS, seed corpus first; one line
#                                        each: runs, seconds, verdict
#   run.sh --can-build CC                exit 0 when CC links a libFuzzer
#                                        target with ASan and UBSan, else say why
# A failing target leaves its input in FUZZ_BUILD/artifacts/ and prints the
# end of its log.  STELE_FUZZ_SUMMARY, when set, names a file that gets the
# one-line results appended.
top=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${1:-}" = --can-build ]; then
	cc=${2:-clang}
	if ! command -v "$cc" >/dev/null 2>&1; then
		echo "'$cc' not found (scripts/deps.sh test installs clang and libclang-rt-14-dev)"
		exit 1
	fi
	t=$(mktemp -d)
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; return (int)(n & 0); }' >"$t/t.c"
	if ! "$cc" -fsanitize=fuzzer,address,undefined -o "$t/t" "$t/t.c" >"$t/log" 2>&1; then
		echo "'$cc' cannot link a libFuzzer target (no libFuzzer runtime? install libclang-rt-14-dev): $(head -n 3 "$t/log" | tr '\n' ' ')"
		rm -rf "$t"
		exit 1
	fi
	rm -rf "$t"
	exit 0
fi

fz=${1:?usage: run.sh FUZZ_BUILD SECONDS [NAME...]}
secs=${2:?usage: run.sh FUZZ_BUILD SECONDS [NAME...]}
shift 2
case "$fz" in /*) ;; *) fz="$top/$fz" ;; esac
if [ $# -eq 0 ]; then
	for src in "$top"/tests/fuzz/fuzz_*.c; do
		n=$(basename "$src" .c)
		set -- "$@" "${n#fuzz_}"
	done
fi
# Third-party leaks are suppressed, never ours (as tests/run.sh).
LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"
UBSAN_OPTIONS="print_stacktrace=1"
export LSAN_OPTIONS UBSAN_OPTIONS
mkdir -p "$fz/artifacts"
status=0
for name in "$@"; do
	bin="$fz/fuzz/fuzz_$name"
	if [ ! -x "$bin" ]; then
		line="fuzz $name: no binary $bin (make fuzz-bins BUILD=build-fuzz, or make check, builds it)"
		status=1
	else
		work=$(mktemp -d "${TMPDIR:-/tmp}/stele-fuzz-$name-XXXXXX")
		mkdir "$work/new"
		# The targets' scratch files: in memory when possible (the oci
		# and extract targets write files on every run).
		scratch=$work
		if [ -d /dev/shm ] && [ -w /dev/shm ]; then
			scratch=$(mktemp -d /dev/shm/stele-fuzz-XXXXXX) || scratch=$work
		fi
		start=$(date +%s)
		# New inputs go to a scratch corpus; the seeds stay as they are.
		(cd "$work" && TMPDIR="$scratch" "$bin" -max_total_time="$secs" \
			-timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix="$fz/artifacts/$name-" \
			"$work/new" "$top/tests/fuzz/corpus/$name" \
			</dev/null >"$work/log" 2>&1)
		rc=$?
		end=$(date +%s)
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n1)
		rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$work/log" | tail -n1)
		t=$((end - start))
		rate=$(( ${runs:-0} / (t > 0 ? t : 1) ))
		if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
			line="fuzz $name: ${runs} runs in ${t} s (${rate}/s, peak ${rss:-?} MB), clean"
		else
			line="fuzz $name: FAILED (exit $rc) after ${runs:-?} runs in ${t} s"
			grep -n 'ERROR\|SUMMARY\|Test unit written\|runtime error\|#[0-9]* 0x' \
				"$work/log" | grep -v 'fuzzer::\|libc_start\| in _start\| in main ' | head -n 40
			status=1
		fi
		rm -rf "$work" "$scratch"
	fi
	echo "$line"
	[ -n "${STELE_FUZZ_SUMMARY:-}" ] && echo "$line" >>"$STELE_FUZZ_SUMMARY"
done
exit $status
