# shellcheck shell=sh
# Helpers for e2e tests, in the manner of git's test-lib: each script runs in
# its own temporary directory with a pinned environment.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
: "${STELE:=$TOP/build/stele}"
: "${STELE_COUNTS:=/dev/null}"
TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/stele-$TEST_NAME-XXXXXX")
cd "$TMP" || exit 1
export SOURCE_DATE_EPOCH=1700000000 TZ=UTC LC_ALL=C
export STELE_STORE="$TMP/store"
export GIT_AUTHOR_NAME=Test GIT_AUTHOR_EMAIL=test@example.invalid
export GIT_COMMITTER_NAME=Test GIT_COMMITTER_EMAIL=test@example.invalid
export GIT_AUTHOR_DATE='1600000000 +0000' GIT_COMMITTER_DATE='1600000000 +0000'
export GIT_CONFIG_NOSYSTEM=1 HOME="$TMP/home"
mkdir -p "$HOME"
test_count=0
test_cleanup_cmds=""

stele() { "$STELE" "$@"; }

# test_expect_success DESC 'commands'
test_expect_success() {
	test_count=$((test_count + 1))
	if (eval "$2") >"$TMP/.out" 2>&1; then
		echo "ok $test_count - $1" | tee -a "$STELE_COUNTS"
	else
		echo "not ok $test_count - $1" | tee -a "$STELE_COUNTS"
		sed 's/^/    /' "$TMP/.out" | tail -n 40
	fi
}

# test_skip DESC REASON: reported, not counted as passed or failed.
test_skip() {
	echo "skip - $1: $2"
}

# Runs at exit.
test_at_exit() { test_cleanup_cmds="$1; $test_cleanup_cmds"; }
test_done() {
	eval "$test_cleanup_cmds"
	cd / && rm -rf "$TMP"
}
trap test_done EXIT

# Fail unless the command exits with the given code.
expect_code() {
	want=$1
	shift
	"$@"
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "expected exit $want, got $got: $*" >&2
		return 1
	fi
}

# Snapshot of a layout directory (names and sizes) to prove nothing changed.
tree_state() { (cd "$1" 2>/dev/null && find . -print0 | sort -z | xargs -0 ls -ld --time-style=+ 2>/dev/null | awk '{print $1, $5, $NF}'); }
