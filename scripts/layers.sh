#!/bin/sh
# Which module may include which (docs/architecture.md): every
# '#include "MODULE/..."' in MODULE2/*.c or *.h must name MODULE2 itself or
# a module listed for it below.  Prints each include that runs the wrong way
# and exits 1.  Usage: layers.sh [TREE] (default: the current directory).
tree=${1:-.}

allowed() {
	case $1 in
	util) echo "" ;;
	oci) echo "util" ;;
	keys) echo "oci util" ;;
	registry) echo "oci util" ;;
	signer) echo "keys oci util" ;;
	builder) echo "registry oci util" ;;
	sbom) echo "builder oci util" ;;
	vuln) echo "sbom signer keys oci util" ;;
	verify) echo "vuln sbom builder signer keys registry oci util" ;;
	deploy) echo "verify vuln sbom builder signer keys registry oci util" ;;
	cli) echo "deploy verify vuln sbom builder signer keys registry oci util" ;;
	*) return 1 ;;
	esac
}

wrong=$(for dir in "$tree"/*/; do
	m=$(basename "$dir")
	ok=$(allowed "$m") || continue
	for f in "$dir"*.c "$dir"*.h; do
		[ -f "$f" ] || continue
		sed -n 's|^#include "\([a-z]*\)/.*|\1|p' "$f" | sort -u |
		while read -r inc; do
			[ "$inc" = "$m" ] && continue
			allowed "$inc" >/dev/null || continue
			case " $ok " in
			*" $inc "*) ;;
			*) echo "${f#"$tree"/}: $m must not include $inc/" ;;
			esac
		done
	done
done)
[ -z "$wrong" ] && exit 0
echo "$wrong"
exit 1
