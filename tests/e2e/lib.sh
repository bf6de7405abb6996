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
# Tests never leave 127.0.0.1: a base Docker would pull from docker.io
# (FROM debian:12 that the store lacks) goes to a closed loopback port
# unless a test names its own mirror.
export STELE_REGISTRY_MIRRORS=docker.io=127.0.0.1:1
export GIT_AUTHOR_NAME=Test GIT_AUTHOR_EMAIL=test@example.invalid
export GIT_COMMITTER_NAME=Test GIT_COMMITTER_EMAIL=test@example.invalid
export GIT_AUTHOR_DATE='1600000000 +0000' GIT_COMMITTER_DATE='1600000000 +0000'
export GIT_CONFIG_NOSYSTEM=1 HOME="$TMP/home"
mkdir -p "$HOME"
test_count=0

stele() { "$STELE" "$@"; }

# test_expect_success DESC 'commands': one test, run in a subshell.  A body
# that succeeds but says it skipped (a line of its output starting with
# "skip") is counted as skipped with that line as the reason, never as
# passed: use test_skip, before the test, when something it needs is missing.
test_expect_success() {
	test_count=$((test_count + 1))
	if (eval "$2") >"$TMP/.out" 2>&1; then
		if tes_why=$(grep -i -m1 '^skip' "$TMP/.out"); then
			echo "skip $test_count - $1: $tes_why" | tee -a "$STELE_COUNTS"
		else
			echo "ok $test_count - $1" | tee -a "$STELE_COUNTS"
		fi
	else
		echo "not ok $test_count - $1" | tee -a "$STELE_COUNTS"
		sed 's/^/    /' "$TMP/.out" | tail -n 40
	fi
}

# test_skip DESC REASON: counted as skipped (neither passed nor failed); a
# skip without a reason is a failure.
test_skip() {
	test_count=$((test_count + 1))
	if [ -n "${2:-}" ]; then
		echo "skip $test_count - $1: $2" | tee -a "$STELE_COUNTS"
	else
		echo "not ok $test_count - $1: skipped without a reason" | tee -a "$STELE_COUNTS"
	fi
}

# test_at_exit 'command': run at exit, last registered first.  Kept in a
# file, so a command registered inside a test body (a subshell) still runs.
test_at_exit() { printf '%s\n' "$1" >>"$TMP/.at-exit"; }

# test_kill PID: stop a process this script started (TERM, then KILL after
# 5 s) and wait until it is gone (or a zombie), so nothing outlives the
# script.  A process started in a test body is not this shell's child:
# `wait` cannot reap it, so its /proc entry is watched instead.
test_kill() {
	kill "$1" 2>/dev/null || return 0
	wait "$1" 2>/dev/null
	tk_i=0
	while kill -0 "$1" 2>/dev/null && [ $tk_i -lt 100 ]; do
		case $(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null) in
		Z | X | "") return 0 ;;
		esac
		[ $tk_i -eq 50 ] && kill -9 "$1" 2>/dev/null
		sleep 0.1
		tk_i=$((tk_i + 1))
	done
}

test_done() {
	if [ -f "$TMP/.at-exit" ]; then
		eval "$(sed -n '1!G;h;$p' "$TMP/.at-exit")"
	fi
	cd / && rm -rf "$TMP"
}
trap test_done EXIT
# An interrupted script cleans up too (dash runs the EXIT trap on exit only).
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

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

# A busybox-static root filesystem imported as NAME (default busybox:test)
# into the store (or into the layout given as oci:DIR:TAG).
make_busybox_base() {
	sh "$TOP/recipes/mkbusybox.sh" "$TMP/bbroot" &&
	SOURCE_DATE_EPOCH=0 "$STELE" import -q -t "${1:-busybox:test}" "$TMP/bbroot" >/dev/null
}

# git_commit DIR MESSAGE: commit everything with pinned dates.
git_commit() {
	git -C "$1" add -A && git -C "$1" commit -q -m "$2"
}

# A fixture repository with a recipe, a file tree and a tag v1.
make_app_repo() {
	mkdir -p "$1/src/sub" "$1/docs" &&
	git -C "$1" init -q -b main &&
	printf 'FROM scratch\nCOPY src/ /app/\nCOPY docs/readme.md /doc/\nENV A=1\nCMD ["/app/run"]\n' >"$1/Dockerfile" &&
	printf '#!/bin/sh\necho run\n' >"$1/src/run" && chmod +x "$1/src/run" &&
	echo one >"$1/src/one.txt" && echo two >"$1/src/sub/two.txt" &&
	ln -s one.txt "$1/src/link" &&
	echo readme >"$1/docs/readme.md" &&
	git_commit "$1" "app" && git -C "$1" tag v1
}

# start_http_server DIR: serve DIR over plain HTTP on 127.0.0.1, on a
# free port written to $TMP/port; the server's pid is srv_pid, killed at
# the script's exit.
start_http_server() {
	python3 - "$1" "$TMP/port" <<'PY' &
import http.server, functools, os, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=sys.argv[1]))
open(sys.argv[2] + ".tmp", "w").write(str(s.server_address[1])); os.rename(sys.argv[2] + ".tmp", sys.argv[2])
s.serve_forever()
PY
	srv_pid=$!
	test_at_exit "test_kill $srv_pid"
	i=0
	while [ ! -s "$TMP/port" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# make_dpkg_app: a git repository app/ whose image holds a Debian 12
# os-release and two dpkg records, libdemo1 1.0-1+b1 (source demo 1.0-1)
# and tool 2.0-3: what the scan and vulnerability tests match.
make_dpkg_app() {
	mkdir app && git -C app init -q -b main &&
	printf 'ID=debian\nVERSION_ID="12"\n' >app/os-release &&
	printf 'Package: libdemo1\nStatus: install ok installed\nArchitecture: amd64\nSource: demo (1.0-1)\nVersion: 1.0-1+b1\nDescription: demo\n' >app/libdemo1 &&
	printf 'Package: tool\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.0-3\nDescription: tool\n' >app/tool &&
	printf 'FROM scratch\nCOPY os-release /etc/os-release\nCOPY libdemo1 /var/lib/dpkg/status.d/libdemo1\nCOPY tool /var/lib/dpkg/status.d/tool\n' >app/Dockerfile &&
	git_commit app app
}

# The JSON value at a path, e.g. json_get FILE .a.b[0]
json_get() {
	python3 -c 'import json,sys
v=json.load(open(sys.argv[1]))
for k in sys.argv[2].strip(".").replace("]","").replace("[",".").split("."):
    if k=="": continue
    v=v[int(k)] if isinstance(v,list) else v[k]
print(v if not isinstance(v,(dict,list)) else json.dumps(v,sort_keys=True))' "$1" "$2"
}

# Blob path of a digest in a layout.
blob() { echo "$1/blobs/sha256/${2#sha256:}"; }

# Start Debian's docker-registry on 127.0.0.1 (a free port); sets REG.
start_registry() {
	command -v docker-registry >/dev/null 2>&1 || return 1
	for try in 1 2 3 4 5; do
		port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 ))
		mkdir -p "$TMP/reg"
		cat >"$TMP/reg.yml" <<REG
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $TMP/reg}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
REG
		docker-registry serve "$TMP/reg.yml" >"$TMP/reg.log" 2>&1 &
		reg_pid=$!
		test_at_exit "test_kill $reg_pid"
		i=0
		while [ $i -lt 50 ]; do
			if curl -sf "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; then
				REG=127.0.0.1:$port
				return 0
			fi
			kill -0 $reg_pid 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		test_kill $reg_pid
	done
	return 1
}

# Unpack an image with umoci and run it with runc; prints its output.
run_image() { # LAYOUT TAG
	rm -rf "$TMP/bundle" &&
	umoci unpack --image "$1:$2" "$TMP/bundle" >/dev/null &&
	sed -i 's/"terminal": true/"terminal": false/' "$TMP/bundle/config.json" &&
	(cd "$TMP/bundle" && runc --root "$TMP/runc" run "stele-test-$$-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')")
}

# make_tar_layout TAR DIR NAME: an OCI layout in DIR whose image NAME has TAR
# as its only (uncompressed) layer; prints the layer's digest.
make_tar_layout() {
	python3 - "$1" "$2" "$3" <<'PY'
import hashlib, json, os, sys
tar, out, name = sys.argv[1:]
os.makedirs(out + "/blobs/sha256", exist_ok=True)
def put(b):
    h = hashlib.sha256(b).hexdigest()
    open(out + "/blobs/sha256/" + h, "wb").write(b)
    return "sha256:" + h, len(b)
layer = open(tar, "rb").read()
ld, ls = put(layer)
cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [ld]}}).encode()
cd, cs = put(cfg)
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": ls}]}).encode()
md, ms = put(man)
open(out + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": name}}]}, open(out + "/index.json", "w"))
print(ld)
PY
}

# find_cosign: COSIGN from $STELE_COSIGN, the PATH, or Debian trixie's
# package unpacked under build/tools by tests/interop/get-cosign.sh (not
# installed).  Fails with COSIGN empty and the reason in COSIGN_WHY when
# none runs.
find_cosign() {
	COSIGN=${STELE_COSIGN:-}
	[ -z "$COSIGN" ] && COSIGN=$(command -v cosign 2>/dev/null || true)
	if [ -z "$COSIGN" ]; then
		COSIGN=$(sh "$TOP/tests/interop/get-cosign.sh" "$TOP/build/tools/cosign" 2>"$TMP/get.err" || true)
	fi
	if [ -z "$COSIGN" ] || ! "$COSIGN" version >/dev/null 2>&1; then
		COSIGN=""
		COSIGN_WHY="no cosign binary (not on PATH, STELE_COSIGN unset, and fetching Debian trixie's package failed: $(tail -n1 "$TMP/get.err" 2>/dev/null))"
		return 1
	fi
}
