#!/bin/sh
# Runs every unit test binary, then every e2e script; ends with one line
# "N passed, N failed, N skipped".  Usage: run.sh BUILD_DIR [NAME_FILTER]
#
# Nothing is hidden: a skipped test is counted and says why (a skip without a
# reason is a failure), a script that runs no test fails, and so does one
# that leaves a process behind.  Every test program runs with a tag of its
# own in its environment (STELE_TEST_TAG), inherited by whatever it starts;
# once it has exited, any process still carrying the tag is reported by
# name, counted as a failure and killed.
build=$1
filter=${2:-}
top=$(cd "$(dirname "$0")/.." && pwd)
passed=0
failed=0
skipped=0
failures=""
STELE="$top/$build/stele"
export STELE
# Sanitizer builds: third-party leaks are suppressed, never ours.
LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"
export LSAN_OPTIONS
counts=$(mktemp)
tag=""

# The pids of live processes whose environment holds STELE_TEST_TAG=$1.
tagged() {
	grep -lsxzF "STELE_TEST_TAG=$1" /proc/[0-9]*/environ 2>/dev/null |
		sed 's,^/proc/\([0-9]*\)/environ$,\1,'
}

# leftovers TAG NAME: after NAME exited, report and kill what it left
# running; returns 1 if there was anything.  A process killed at the
# script's exit may need a moment to go, hence the second look.
leftovers() {
	lo_pids=$(tagged "$1")
	[ -z "$lo_pids" ] && return 0
	sleep 1
	lo_pids=$(tagged "$1")
	[ -z "$lo_pids" ] && return 0
	for lo_p in $lo_pids; do
		echo "$2: left a process running: $lo_p $(tr '\0' ' ' <"/proc/$lo_p/cmdline" 2>/dev/null | cut -c1-200)"
	done
	# shellcheck disable=SC2086 # a list of pids
	kill -9 $lo_pids 2>/dev/null
	return 1
}

# Interrupted: stop what the current test program started, then go.
interrupted() {
	if [ -n "$tag" ]; then
		# shellcheck disable=SC2046 # a list of pids
		kill $(tagged "$tag") 2>/dev/null
	fi
	rm -f "$counts"
	exit 130
}
trap interrupted HUP INT TERM

for t in "$top/$build"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	case "$name" in *"$filter"*) ;; *) continue ;; esac
	tag="$$-$name"
	out=$(STELE_TEST_TAG=$tag "$t" 2>&1)
	rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' | tail -n1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' | tail -n1)
	s=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9][0-9]*\) test.*/\1/p' | tail -n1)
	p=${p:-0}
	f=${f:-0}
	s=${s:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	# A cmocka skip() has no reason: each skipping test prints "skip: WHY".
	why=$(printf '%s\n' "$out" | grep '^skip: ')
	[ -n "$why" ] && printf '%s\n' "$why" | sed "s/^/unit $name: /"
	if [ "$(printf '%s' "$why" | grep -c '')" -lt "$s" ]; then
		echo "unit $name: a test skipped without printing 'skip: REASON'"
		f=$((f + 1))
	fi
	if ! leftovers "$tag" "unit $name"; then f=$((f + 1)); fi
	tag=""
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	if [ "$f" -ne 0 ]; then
		printf '%s\n' "$out" | grep -v '^\[ *\(RUN\|OK\) *\]'
		failures="$failures $name"
	fi
	echo "unit $name: $p passed, $f failed, $s skipped"
done
for t in "$top"/tests/e2e/t[0-9]*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	case "$name" in *"$filter"*) ;; *) continue ;; esac
	: >"$counts"
	tag="$$-$name"
	STELE_TEST_TAG=$tag STELE_COUNTS=$counts sh "$t"
	rc=$?
	p=$(grep -c '^ok' "$counts")
	f=$(grep -c '^not ok' "$counts")
	s=$(grep -c '^skip' "$counts")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "e2e $name: script exited $rc outside a test"
		f=1
	fi
	if [ $((p + f + s)) -eq 0 ]; then
		echo "e2e $name: ran no test"
		f=1
	fi
	if ! leftovers "$tag" "e2e $name"; then f=$((f + 1)); fi
	tag=""
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	[ "$f" -ne 0 ] && failures="$failures $name"
	echo "e2e $name: $p passed, $f failed, $s skipped"
done
rm -f "$counts"
[ -n "$failures" ] && echo "failing:$failures"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
