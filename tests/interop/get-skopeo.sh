#!/bin/sh
# Unpack Debian trixie's skopeo (1.18, with sigstore signature verification,
# which Debian 12's 1.9.3 has patched out) and the trixie libraries it needs
# into DIR (default build/tools/skopeo), without installing anything: a
# private apt configuration (debget.sh), `dpkg-deb -x`.  skopeo runs
# through trixie's own dynamic loader; DIR/skopeo is a wrapper that does
# so.  Prints the path of the wrapper.
set -eu
. "$(dirname "$0")/debget.sh"
dir=${1:-build/tools/skopeo}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
lib=$dir/root/usr/lib/x86_64-linux-gnu
if [ -x "$dir/skopeo" ] && "$dir/skopeo" --version >/dev/null 2>&1; then
	echo "$dir/skopeo"
	exit 0
fi
# skopeo's Depends (apt-cache depends skopeo), and theirs.
deb_download get-skopeo "$dir" skopeo libc6 libgcc-s1 libgpgme11t64 \
	libassuan9 libgpg-error0 libsqlite3-0
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
