#!/bin/sh
# stele build --check over a corpus of real-world Dockerfiles
# (tests/data/dockerfiles; SOURCES names each file's repository, path,
# commit and licence): the sources of official images and the projects that
# write theirs for BuildKit.  None may be refused for a BuildKit feature
# stele lacks: a refusal on purpose is listed below with its reason.
# Prints "N accepted, M refused".
. "$(dirname "$0")/lib.sh"

DATA=$TOP/tests/data/dockerfiles
tab=$(printf '\t')

# KIND, FILE, an ERE the error matches, why (tab-separated).  policy: stele
# refuses it on purpose (an accepted one fails the test); pending: refused
# until a feature being written is merged, then accepted (none now).
cat >listed <<'LIST'
policy	moby+moby/Dockerfile	ADD: 'https://[^']*': a download must be pinned	ADD of an https URL without --checksum: a download must be pinned to be hermetic (ADD --checksum=sha256:HEX URL DEST), and the error says so
LIST
sed -n '/^#/!p' "$DATA/SOURCES" >sources

accepted=0 refused=0 policy=0 pending=0
: >unexpected
while IFS="$tab" read -r f _; do
	if stele build --check -q -f "$DATA/$f" >out 2>err; then
		accepted=$((accepted + 1))
		if grep -q "^policy$tab$f$tab" listed; then
			echo "$f: accepted, but listed as refused on purpose" >>unexpected
		elif grep -q "^pending$tab$f$tab" listed; then
			echo "now accepted (take it off the pending list): $f"
		fi
		continue
	fi
	refused=$((refused + 1))
	kind=""
	while IFS="$tab" read -r k lf pat why; do
		if [ "$lf" = "$f" ] && grep -qE -- "$pat" err; then
			kind=$k
			break
		fi
	done <listed
	case $kind in
	policy)
		policy=$((policy + 1))
		echo "refused on purpose: $f: $why" ;;
	pending)
		pending=$((pending + 1))
		echo "refused until its feature is merged: $f: $why" ;;
	*) echo "$f: $(cat err)" >>unexpected ;;
	esac
done <sources
echo "$accepted accepted, $refused refused ($policy on purpose, $pending until a feature is merged) of $(wc -l <sources) Dockerfiles"

test_expect_success 'SOURCES: 150 files or more, each with its repository, path, commit and licence, nothing unlisted' '
	[ "$(wc -l <sources)" -ge 150 ] &&
	while IFS="$tab" read -r f repo path commit lic; do
		[ -f "$DATA/$f" ] && [ "$f" = "$(echo "$repo" | tr / +)/$path" ] &&
		echo "$commit" | grep -qxE "[0-9a-f]{40}" &&
		case $lic in MIT | BSD-2-Clause | BSD-3-Clause | Apache-2.0 | "Apache-2.0 OR MIT") ;; *) false ;; esac &&
		ls "$DATA/${f%%/*}" | grep -qiE "^(licen[cs]e|copying)" ||
		{ echo "bad SOURCES line or missing file: $f $repo $path $commit $lic"; exit 1; }
	done <sources &&
	(cd "$DATA" && find . -type f ! -name SOURCES ! -name "LICENSE*" ! -name NOTICE | sed "s|^\./||" | sort) >have &&
	cut -f1 sources | sort >want && diff want have
'

test_expect_success 'no Dockerfile of the corpus is refused but as listed' '
	cat unexpected && [ ! -s unexpected ]
'

test_expect_success 'every listed file is in the corpus' '
	cut -f2 listed | sort -u >named && cut -f1 sources | sort >all &&
	comm -23 named all >missing && cat missing && [ ! -s missing ]
'
