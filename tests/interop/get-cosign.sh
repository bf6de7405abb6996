#!/bin/sh
# Unpack Debian trixie's cosign package into DIR (default build/tools/cosign)
# without installing it (debget.sh), with `dpkg-deb -x`.  Prints the path of
# the cosign binary.
set -eu
. "$(dirname "$0")/debget.sh"
dir=${1:-build/tools/cosign}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [ -x "$dir/root/usr/bin/cosign" ]; then
	echo "$dir/root/usr/bin/cosign"
	exit 0
fi
deb_download get-cosign "$dir" cosign
dpkg-deb -x "$dir"/deb/cosign_*.deb "$dir/root"
"$dir/root/usr/bin/cosign" version >/dev/null 2>&1
echo "$dir/root/usr/bin/cosign"
