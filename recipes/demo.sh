#!/bin/sh
# make demo: import a busybox base, build recipes/hello from this repository
# at its current commit, show that a rebuild gives the same digest, show the
# provenance, sign and attest it, verify it against a policy (rebuild
# included), and run the image under runc.
# Usage: demo.sh PATH/TO/stele
set -eu
stele=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/stele-demo-XXXXXX")
trap 'rm -rf "$work"' EXIT
export STELE_STORE="$work/store"

step() { printf '\n== %s\n' "$*"; }

step "1. a base image from a busybox-static root filesystem (stele import)"
sh "$top/recipes/mkbusybox.sh" "$work/rootfs"
SOURCE_DATE_EPOCH=0 "$stele" import -t busybox:1.35 "$work/rootfs"

rev=$(git -C "$top" rev-parse HEAD)
step "2. build recipes/hello from git commit $rev"
d1=$("$stele" build -f recipes/hello/Dockerfile -t hello:demo "$top#$rev")
echo "image: $d1"

step "3. build again in another store: same digest?"
d2=$(STELE_STORE="$work/store2" sh -c '
	SOURCE_DATE_EPOCH=0 "$1" import -q -t busybox:1.35 "$2" >/dev/null &&
	"$1" build -q -f recipes/hello/Dockerfile -t hello:demo "$3"' - \
	"$stele" "$work/rootfs" "$top#$rev")
if [ "$d1" = "$d2" ]; then echo "identical: $d2"; else echo "DIFFERENT: $d1 vs $d2"; exit 1; fi

step "4. what the image is made of, and where each layer came from"
"$stele" inspect hello:demo

step "5. sign it (release manager) and attest its provenance (CI), then verify"
export STELE_PASSWORD=demo
"$stele" keygen --output-prefix "$work/release" >/dev/null
"$stele" keygen --output-prefix "$work/ci" >/dev/null
"$stele" attest --key "$work/ci.key" hello:demo
"$stele" sign --key "$work/release.key" hello:demo
cat >"$work/policy.json" <<EOF
{"keys": {"release": {"path": "release.pub"}, "ci": {"path": "ci.pub"}},
 "signatures": {"keys": ["release"], "threshold": 1},
 "provenance": {"keys": ["ci"], "refs": ["refs/heads/*", "$rev"], "hermetic": true,
                "rebuild": true},
 "image": {"nonRoot": true}}
EOF
"$stele" verify --policy "$work/policy.json" hello:demo 2>/dev/null

step "6. run it under runc"
if command -v runc >/dev/null 2>&1 && command -v umoci >/dev/null 2>&1; then
	rootless=""
	[ "$(id -u)" -eq 0 ] || rootless="--rootless"
	# shellcheck disable=SC2086
	umoci unpack $rootless --image "$STELE_STORE:hello:demo" "$work/bundle" >/dev/null
	cd "$work/bundle"
	sed -i 's/"terminal": true/"terminal": false/' config.json
	runc --root "$work/runc" run "stele-demo-$$"
else
	echo "runc or umoci missing: skipped running the image"
fi
