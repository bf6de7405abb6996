#!/bin/sh
# Make (once) a Debian bookworm root filesystem with gcc and make, for RUN
# tests and the from-source example, and print its path.  Cached in
# $STELE_DEBIAN_CACHE (default /var/cache/stele/bookworm-gcc); a second call
# returns at once.  The mirror is the one this machine's apt already uses.
# Usage: mkdebian.sh   (needs root and debootstrap)
set -eu
dir=${STELE_DEBIAN_CACHE:-/var/cache/stele/bookworm-gcc}
if [ -f "$dir.complete" ]; then
	echo "$dir"
	exit 0
fi
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep -v security | head -n1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb  *\(\[[^]]*\] *\)\{0,1\}\([^ ]*\) *bookworm .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -n1)
if [ -z "$mirror" ]; then
	echo "mkdebian: cannot find the Debian mirror in /etc/apt sources" >&2
	exit 1
fi
rm -rf "$dir.tmp"
mkdir -p "$(dirname "$dir")"
echo "mkdebian: debootstrap --variant=minbase bookworm (with gcc, make) from $mirror" >&2
debootstrap --variant=minbase --include=gcc,make,libc6-dev bookworm "$dir.tmp" "$mirror" >&2
rm -rf "$dir.tmp/var/cache/apt/archives"/*.deb "$dir.tmp/var/lib/apt/lists"/*_Packages
rm -rf "$dir"
mv "$dir.tmp" "$dir"
touch "$dir.complete"
echo "$dir"
