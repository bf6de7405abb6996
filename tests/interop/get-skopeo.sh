#!/bin/sh
# Unpack Debian trixie's skopeo (1.18, with sigstore signature verification,
# which Debian 12's 1.9.3 has patched out) and the trixie libraries it needs
# into DIR (default build/tools/skopeo), without installing anything: a
# private apt configuration as in get-cosign.sh, `apt-get download`,
# `dpkg-deb -x`.  skopeo runs through trixie's own dynamic loader; DIR/skopeo
# is a wrapper that does so.  Talks only to the Debian mirror the system
# already uses.  Prints the path of the wrapper.
set -eu
dir=${1:-build/tools/skopeo}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
lib=$dir/root/usr/lib/x86_64-linux-gnu
if [ -x "$dir/skopeo" ] && "$dir/skopeo" --version >/dev/null 2>&1; then
	echo "$dir/skopeo"
	exit 0
fi
mirror=""
if [ -r /etc/apt/sources.list.d/debian.sources ]; then
	mirror=$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources | head -n1)
fi
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
	mirror=$(sed -n 's/^deb  *\(\[[^]]*\] *\)\{0,1\}\([^ ]*debian\) .*/\2/p' /etc/apt/sources.list | head -n1)
fi
if [ -z "$mirror" ]; then
	echo "get-skopeo: cannot find the Debian mirror in /etc/apt" >&2
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
# skopeo's Depends (apt-cache depends skopeo), and theirs.
(cd "$dir/deb" && apt-get "$@" -qq download skopeo libc6 libgcc-s1 \
	libgpgme11t64 libassuan9 libgpg-error0 libsqlite3-0 >&2)
for deb in "$dir"/deb/*.deb; do
	dpkg-deb -x "$deb" "$dir/root"
done
cat >"$dir/skopeo" <<WRAP
#!/bin/sh
exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$dir/root/usr/bin/skopeo" "\$@"
WRAP
chmod +x "$dir/skopeo"
"$dir/skopeo" --version >/dev/null
echo "$dir/skopeo"
