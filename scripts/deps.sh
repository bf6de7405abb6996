#!/bin/sh
# Install, with apt-get, what stele needs and is missing, and say what.
# Usage: deps.sh test|demo|bench
set -eu
want="build-essential pkg-config git libarchive-dev libgit2-dev libsodium-dev
libjansson-dev libssl-dev libcurl4-openssl-dev zlib1g-dev libzstd-dev libsqlite3-dev libdeflate-dev libmicrohttpd-dev libdpkg-dev libisal-dev librpm-dev"
# For make test's short fuzz pass (tests/e2e/t90-fuzz.sh): clang and its
# libFuzzer runtime.  Optional: when they cannot be installed the pass is
# skipped, and says why.
optional=""
# python3-jsonschema and python3-rfc3987: the independent SPDX/CycloneDX
# validator of t50-t53 (tests/e2e/sbomvalid.py, schemas in tests/data/schemas).
case "${1:-test}" in
test) optional="clang libclang-rt-14-dev"
	want="$want libcmocka-dev docker-registry skopeo umoci oci-image-tool runc
busybox-static buildah podman debootstrap python3 python3-nacl python3-cryptography apache2-utils zstd
openssl curl rpm python3-jsonschema python3-rfc3987" ;;
demo) want="$want runc umoci busybox-static" ;;
bench) want="$want zstd umoci" ;;
esac
installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}
missing=""
for p in $want; do
	installed "$p" || missing="$missing $p"
done
missing_opt=""
for p in $optional; do
	installed "$p" || missing_opt="$missing_opt $p"
done
[ -z "$missing$missing_opt" ] && exit 0
echo "stele: installing missing packages:$missing$missing_opt"
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
elif [ -z "$missing" ]; then
	echo "stele: need root or sudo to install$missing_opt; make test skips the fuzz pass"
	exit 0
else
	echo "stele: need root or sudo to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
[ -z "$missing" ] || $sudo apt-get install -y -qq --no-install-recommends $missing
# shellcheck disable=SC2086
[ -z "$missing_opt" ] || $sudo apt-get install -y -qq --no-install-recommends $missing_opt ||
	echo "stele: could not install$missing_opt; make test skips the fuzz pass"
