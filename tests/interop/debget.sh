# Sourced by get-cosign.sh and get-skopeo.sh.  deb_download NAME DIR PKG...
# downloads Debian trixie's packages PKG... into DIR/deb without installing
# anything: a private apt configuration (its own sources list, lists and
# cache under DIR/apt), then `apt-get download`.  The system's apt
# configuration is not touched.  Talks only to the Debian mirror the system
# already uses; its name is never written here.  NAME prefixes errors.
deb_download() {
	name=$1 dir=$2
	shift 2
	mirror=""
	if [ -r /etc/apt/sources.list.d/debian.sources ]; then
		mirror=$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources | head -n1)
	fi
	if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
		mirror=$(sed -n 's/^deb  *\(\[[^]]*\] *\)\{0,1\}\([^ ]*debian\) .*/\2/p' /etc/apt/sources.list | head -n1)
	fi
	if [ -z "$mirror" ]; then
		echo "$name: cannot find the Debian mirror in /etc/apt" >&2
		return 1
	fi
	mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/deb"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$dir/apt/sources.list"
	pkgs=$*
	set -- -o Dir::Etc::sourcelist="$dir/apt/sources.list" \
		-o Dir::Etc::sourceparts=/nonexistent \
		-o Dir::State::Lists="$dir/apt/lists" \
		-o Dir::Cache="$dir/apt/cache" -o APT::Get::List-Cleanup=0 \
		-o APT::Sandbox::User=root
	apt-get "$@" -qq update >&2
	# shellcheck disable=SC2086 # a list of package names
	(cd "$dir/deb" && apt-get "$@" -qq download $pkgs >&2)
}
