# shellcheck shell=sh
# Shared by t50-t53 (stele sbom): an independent judge of the documents
# stele writes, tests/e2e/sbomvalid.py: the published JSON schemas (SPDX
# 2.3, CycloneDX 1.6; tests/data/schemas) through python3-jsonschema, and
# the SPDX 2.3 and purl rules a schema cannot state.  Sourced after lib.sh.
#
# sv_ready: true when a python3 here can run it (python3-jsonschema, and
# python3-rfc3987 for the uri/iri formats; scripts/deps.sh test installs
# both); otherwise false, with the reason in $SV_WHY.
SV_PY=""
SV_WHY=""
sv_ready() {
	[ -n "$SV_PY" ] && return 0
	for sv_py in python3 /usr/bin/python3; do
		command -v "$sv_py" >/dev/null 2>&1 || continue
		if SV_WHY=$("$sv_py" "$TOP/tests/e2e/sbomvalid.py" probe 2>&1); then
			SV_PY=$sv_py
			return 0
		fi
	done
	SV_WHY=${SV_WHY:-no python3}
	return 1
}

# sbom_valid spdx|cyclonedx FILE...: the schema and the rules accept each.
sbom_valid() {
	"$SV_PY" "$TOP/tests/e2e/sbomvalid.py" "$@"
}

# What each deliberately broken copy must be rejected for: the check that
# is meant to catch that fault, named by the text of its message.
sv_expect() { # KIND MUTATION
	case $1:$2 in
	spdx:no-spdxid) echo "'SPDXID' is a required property" ;;
	spdx:purl-category) echo "a purl reference belongs to category PACKAGE-MANAGER" ;;
	spdx:purl-category-2.2) echo "'PACKAGE_MANAGER' is not one of" ;;
	spdx:purl-syntax) echo "F.3.5 purl pkg:Deb%" ;;
	spdx:dup-spdxid) echo "is used twice" ;;
	spdx:dangling-relationship) echo "'SPDXRef-Nowhere' names no element" ;;
	spdx:no-describes) echo "11.1 DESCRIBES: the document describes nothing" ;;
	spdx:namespace-relative) echo "6.5 documentNamespace: .* is not an absolute URI" ;;
	spdx:namespace-hash) echo "6.5 documentNamespace: .* contains '#'" ;;
	spdx:checksum-algorithm) echo "'SHA-1' is not one of" ;;
	spdx:checksum-length) echo "SHA1 checksum has 41 hex digits, not 40" ;;
	spdx:file-without-sha1) echo "needs exactly one SHA1 checksum (8.4), has 0" ;;
	spdx:created-format) echo "6.9 created: .* is not YYYY-MM-DDThh:mm:ssZ" ;;
	spdx:files-in-unanalyzed) echo "7.8 filesAnalyzed is false, so the package shall not contain files" ;;
	spdx:undeclared-licenseref) echo "LicenseRef-nowhere is not declared" ;;
	spdx:extra-field) echo "'licence' was unexpected" ;;
	spdx:homepage) echo "7.11 homepage 'https://example.org/%zz' is not" ;;
	spdx:wrong-verification-code) echo "7.9 packageVerificationCodeValue 0\{40\} is not" ;;
	cyclonedx:extra-field) echo "'bogus' was unexpected" ;;
	cyclonedx:component-type) echo "'package' is not one of" ;;
	cyclonedx:serial-number) echo "schema: serialNumber: 'uuid:" ;;
	cyclonedx:hash-length) echo "schema: components/[0-9]*/hashes/0/content: " ;;
	cyclonedx:timestamp-format) echo "schema: metadata/timestamp: .* is not a 'date-time'" ;;
	cyclonedx:url-format) echo "schema: components/[0-9]*/externalReferences/0/url: " ;;
	cyclonedx:dup-bom-ref) echo "bom-ref: .* is used twice" ;;
	cyclonedx:dangling-dependency) echo "'pkg:deb/nowhere/x@1', which names no component" ;;
	cyclonedx:purl-qualifier) echo "qualifier key 'Arch' is not lowercase" ;;
	*) return 1 ;;
	esac
}

# sbom_mutants spdx|cyclonedx FILE [MUTATION...]: each broken copy of FILE
# (every mutation the helper knows, or those named) is rejected, exit 1,
# by the check meant to catch it; a copy accepted, a crash, a mutation
# that does not apply or one without an expectation here fails.
sbom_mutants() {
	sm_kind=$1 sm_file=$2
	shift 2
	[ $# -gt 0 ] || set -- $("$SV_PY" "$TOP/tests/e2e/sbomvalid.py" mutations "$sm_kind")
	[ $# -gt 0 ] || { echo "no mutations for $sm_kind"; return 1; }
	# A broken copy of an invalid document proves nothing.
	if ! sbom_valid "$sm_kind" "$sm_file" >"$TMP/.sv.out" 2>&1; then
		echo "FAIL: $sm_file is not valid to begin with:"
		head -n 5 "$TMP/.sv.out"
		return 1
	fi
	sm_bad=0
	for sm_m; do
		if ! sm_want=$(sv_expect "$sm_kind" "$sm_m"); then
			echo "FAIL $sm_m: no expectation in sbomvalid-lib.sh"
			sm_bad=1
			continue
		fi
		"$SV_PY" "$TOP/tests/e2e/sbomvalid.py" --mutate "$sm_m" "$sm_kind" "$sm_file" >"$TMP/.sv.out" 2>&1
		sm_rc=$?
		if [ $sm_rc = 1 ] && grep -q -- "$sm_want" "$TMP/.sv.out"; then
			echo "rejected $sm_m: $(grep -m1 -- "$sm_want" "$TMP/.sv.out" | cut -c1-200)"
		else
			echo "FAIL $sm_m: exit $sm_rc, wanted 1 and /$sm_want/:"
			sed 's/^/    /' "$TMP/.sv.out" | head -n 5
			sm_bad=1
		fi
	done
	return $sm_bad
}
