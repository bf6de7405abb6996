#!/bin/sh
# Unpack Debian trixie's cosign package into DIR (default build/tools/cosign)
# without installing it: a private apt configuration (its own sources list,
# lists and cache under DIR), `apt-get download`, `dpkg-deb -x`.  The
# system's apt configuration is not touched.  Talks only to the Debian
# mirror the system already uses.  Prints the path of the cosign binary.
set -eu
dir=${1:-build/tools/cosign}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [ -x "$dir/root/usr/bin/cosign" ]; then
	echo "$dir/root/usr/bin/cosign"
	exit 0
fi
# The mirror this machine's apt already uses; its name is never written here.
mirror=""
if [ -r /etc/apt/sources.list.d/debian.sources ]; then
	mirror=$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources | head -n1)
fi
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
	mirror=$(sed -n 's/^deb  *\(\[[^]]*\] *\)\{0,1\}\([^ ]*debian\) .*/\2/p' /etc/apt/sources.list | head -n1)
fi
if [ -z "$mirror" ]; then
	echo "get-cosign: cannot find the Debian mirror in /etc/apt" >&2
	exit 1
fi
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/deb"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$dir/apt/sources.list"
set -- -o Dir::Etc::sourcelist="$dir/apt/sources.list" \
	-o Dir::Etc::sourceparts=/nonexistent \
	-o Dir::State::Lists="$dir/apt/lists" \
	-o Dir::Cache="$dir/apt/cache" -o APT::Get::List-Cleanup=0 \
	-o APT::Sandbox::User=root
apt-get "$@" -qq update >&2
(cd "$dir/deb" && apt-get "$@" -qq download cosign >&2)
dpkg-deb -x "$dir"/deb/cosign_*.deb "$dir/root"
"$dir/root/usr/bin/cosign" version >/dev/null 2>&1
echo "$dir/root/usr/bin/cosign"
