#!/bin/sh
# Install, with apt-get, what stele needs and is missing, and say what.
# Usage: deps.sh test|demo|bench
set -eu
want="build-essential pkg-config git libarchive-dev libgit2-dev libsodium-dev
libjansson-dev libssl-dev libcurl4-openssl-dev zlib1g-dev libzstd-dev"
case "${1:-test}" in
test) want="$want libcmocka-dev docker-registry skopeo umoci oci-image-tool runc
busybox-static buildah podman debootstrap python3 python3-nacl python3-cryptography apache2-utils zstd
openssl curl" ;;
demo) want="$want runc umoci busybox-static" ;;
bench) want="$want zstd" ;;
esac
missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
echo "stele: installing missing packages:$missing"
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	echo "stele: need root or sudo to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
