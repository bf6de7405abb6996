#!/bin/sh
# Runs every unit test binary, then every e2e script; ends with one line
# "N passed, N failed".  Usage: run.sh BUILD_DIR [NAME_FILTER]
build=$1
filter=${2:-}
top=$(cd "$(dirname "$0")/.." && pwd)
passed=0
failed=0
failures=""
STELE="$top/$build/stele"
export STELE
# Sanitizer builds: third-party leaks are suppressed, never ours.
LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"
export LSAN_OPTIONS
counts=$(mktemp)
for t in "$top/$build"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	case "$name" in *"$filter"*) ;; *) continue ;; esac
	out=$("$t" 2>&1)
	rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		printf '%s\n' "$out" | grep -v '^\[ *\(RUN\|OK\) *\]'
		failures="$failures $name"
	fi
	echo "unit $name: $p passed, $f failed"
done
for t in "$top"/tests/e2e/t[0-9]*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	case "$name" in *"$filter"*) ;; *) continue ;; esac
	: >"$counts"
	STELE_COUNTS=$counts sh "$t"
	rc=$?
	p=$(grep -c '^ok' "$counts")
	f=$(grep -c '^not ok' "$counts")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "e2e $name: script exited $rc outside a test"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -ne 0 ] && failures="$failures $name"
	echo "e2e $name: $p passed, $f failed"
done
rm -f "$counts"
[ -n "$failures" ] && echo "failing:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
