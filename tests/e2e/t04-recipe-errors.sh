#!/bin/sh
# Every recipe error names file:line, exits non-zero and leaves the store as
# it was.
. "$(dirname "$0")/lib.sh"
export STELE_REGISTRY_BACKOFF_MS=1

mkdir ctx && echo hi >ctx/a.txt && mkdir -p ctx/d && echo x >ctx/d/x
git -C ctx init -q -b main && git_commit ctx init >/dev/null
make_busybox_base busybox:test
before=$(tree_state "$STELE_STORE")

# check NAME LINE PATTERN RECIPE-TEXT
check() {
	# The recipe text holds \n escapes for printf to expand.
	# shellcheck disable=SC2059
	printf "$4" >ctx/Recipe
	printf '%s\n' "$3" >want
	test_expect_success "$1" "
		expect_code 3 stele build -q -f ctx/Recipe -t out:1 ctx 2>err; rc=\$?
		cat err
		[ \$rc = 0 ] && grep -q 'ctx/Recipe:$2' err && grep -qF -f want err &&
		[ \"\$(tree_state \"\$STELE_STORE\")\" = \"\$before\" ] &&
		! ls \"\$STELE_STORE\"/.stele-tmp 2>/dev/null | grep -q .
	"
}

check 'unknown instruction' 1 "unknown instruction 'FORM'" 'FORM scratch\n'
check 'missing argument' 2 'COPY' 'FROM scratch\nCOPY a.txt\n'
check 'bad flag' 2 "unknown flag '--frm'" 'FROM scratch\nCOPY --frm=x a.txt /b\n'
check 'unknown stage in COPY --from' 2 "unknown stage 'nope'" 'FROM scratch\nCOPY --from=nope a.txt /b\n'
check 'missing file' 3 "source 'missing' not found" 'FROM busybox:test\nCOPY a.txt /a\nCOPY missing /b\n'
check 'COPY source outside the context' 2 'outside the build context' 'FROM scratch\nCOPY ../../etc/passwd /b\n'
check 'unresolvable git ref' 2 "cannot be resolved" "FROM scratch\nADD git+file://$TMP/ctx#nosuchref /src\n"
check 'not a git repository' 2 'not a git repository' "FROM scratch\nADD git+file://$TMP/nothere#main /src\n"
check 'unpinned download' 2 'a download must be pinned: ADD --checksum=sha256:' 'FROM scratch\nADD https://host.invalid/x.tar /x\n'
check 'a failing RUN names its line and status' 3 'failed with exit status 3' 'FROM busybox:test\nCOPY a.txt /a\nRUN echo before; exit 3\n'
check 'HEALTHCHECK of an unknown type' 2 "unknown type 'RUN' in HEALTHCHECK (try CMD)" 'FROM scratch\nHEALTHCHECK RUN true\n'
check 'HEALTHCHECK with a bad duration' 3 "invalid --interval '5': missing unit" 'FROM scratch\nLABEL a=b\nHEALTHCHECK --interval=5 CMD true\n'
check 'HEALTHCHECK with too short a timeout' 2 '--timeout cannot be less than 1ms' 'FROM scratch\nHEALTHCHECK --timeout=10us CMD true\n'
check 'HEALTHCHECK with negative retries' 2 '--retries cannot be negative (-2)' 'FROM scratch\nHEALTHCHECK --retries=-2 CMD true\n'
check 'VOLUME with an empty path' 2 'VOLUME specified can not be an empty string' 'FROM scratch\nVOLUME ["/a", ""]\n'
check 'VOLUME expanding to nothing' 3 'VOLUME specified can not be an empty string' 'FROM scratch\nARG E\nVOLUME $E\n'
check 'ONBUILD ONBUILD' 2 'chaining ONBUILD via `ONBUILD ONBUILD`' 'FROM scratch\nONBUILD ONBUILD RUN true\n'
check 'ONBUILD FROM' 2 "FROM isn't allowed as an ONBUILD trigger" 'FROM scratch\nONBUILD FROM scratch\n'
check 'a bad ONBUILD trigger' 2 'COPY: requires at least two arguments' 'FROM scratch\nONBUILD COPY a.txt\n'
check 'MAINTAINER without a name' 2 'MAINTAINER: requires exactly one argument' 'FROM scratch\nMAINTAINER\n'
check 'RUN --security=insecure' 2 '--security=insecure is not supported' 'FROM busybox:test\nRUN --security=insecure true\n'
check 'EXPOSE of a reversed range' 2 "invalid port '10-9'" 'FROM scratch\nEXPOSE 10-9\n'
check 'EXPOSE of an unknown protocol' 2 "invalid port '80/icmp': invalid protocol" 'FROM scratch\nEXPOSE 80/icmp\n'
check 'missing base image' 1 "base image 'nothere:1'" 'FROM nothere:1\n'
check 'an unreachable registry base' 1 "base image 'docker://127.0.0.1:1/x:1'" 'FROM docker://127.0.0.1:1/x:1\n'
check 'many sources need a directory destination' 2 'must be a directory' 'FROM scratch\nCOPY a.txt d/x /dest\n'
check 'glob that matches nothing' 2 "no source files match" 'FROM scratch\nCOPY *.nomatch /dest/\n'
check 'bad --chmod' 2 'invalid mode' 'FROM scratch\nCOPY --chmod=99 a.txt /a\n'
check 'bad --chown' 2 "unknown user 'nobodyhere'" 'FROM scratch\nCOPY --chown=nobodyhere a.txt /a\n'
check 'invalid EXPOSE' 2 "invalid port" 'FROM scratch\nEXPOSE 99999\n'
check 'invalid STOPSIGNAL' 2 "invalid signal" 'FROM scratch\nSTOPSIGNAL SIGNOPE\n'
check 'unknown stage in FROM' 1 "nostage" 'FROM nostage\n'

# Bases whose ONBUILD triggers fail when a child runs them: the error names
# the child's FROM line.
mkdir obase && printf 'FROM scratch\nONBUILD COPY missing-in-child /x\n' >obase/Dockerfile &&
	stele build -q -o "oci:$TMP/obase:1" obase >/dev/null
# A base whose config holds an OnBuild entry that is not a string, or not
# one instruction (as no recipe could write it).
forge_onbuild() { # LAYOUT TAG JSON-VALUE
	python3 - "$@" <<-'PY'
	import hashlib, json, os, sys
	o, tag, value = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
	def put(obj):
	    b = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
	    d = hashlib.sha256(b).hexdigest()
	    open(os.path.join(o, "blobs/sha256", d), "wb").write(b)
	    return "sha256:" + d, len(b)
	idx = json.load(open(o + "/index.json"))
	m = json.load(open(o + "/blobs/sha256/" + idx["manifests"][0]["digest"][7:]))
	c = json.load(open(o + "/blobs/sha256/" + m["config"]["digest"][7:]))
	c["config"]["OnBuild"] = value
	m["config"]["digest"], m["config"]["size"] = put(c)
	d, n = put(m)
	idx["manifests"] = [{"mediaType": m["mediaType"], "digest": d, "size": n,
	                     "annotations": {"org.opencontainers.image.ref.name": tag}}]
	open(o + "/index.json", "w").write(json.dumps(idx))
	PY
}
mkdir fbase && printf 'FROM scratch\nLABEL a=b\n' >fbase/Dockerfile &&
	stele build -q -o "oci:$TMP/fb1:1" fbase >/dev/null &&
	stele build -q -o "oci:$TMP/fb2:1" fbase >/dev/null &&
	forge_onbuild "$TMP/fb1" 1 '[1]' && forge_onbuild "$TMP/fb2" 1 '["RUN a\nRUN b"]'
check 'a failing ONBUILD trigger of the base names the FROM' 2 "ONBUILD COPY: source 'missing-in-child' not found" "FROM scratch\nFROM oci:$TMP/obase:1\n"
check 'an ONBUILD trigger that is not a string' 1 'ONBUILD trigger 0 of the base is not a string' "FROM oci:$TMP/fb1:1\n"
check 'an ONBUILD trigger of two instructions' 1 'an ONBUILD trigger must be a single instruction' "FROM oci:$TMP/fb2:1\n"

test_expect_success 'an unknown --target' '
	printf "FROM scratch AS one\n" >ctx/Recipe &&
	expect_code 3 stele build -q -f ctx/Recipe --target two -t out:1 ctx 2>err &&
	grep -q "target stage .two. not found" err
'
test_expect_success 'invalid SOURCE_DATE_EPOCH' '
	printf "FROM scratch\nCOPY a.txt /\n" >ctx/Recipe &&
	SOURCE_DATE_EPOCH=12abc expect_code 3 stele build -q -f ctx/Recipe -t out:1 ctx 2>err &&
	grep -q "invalid SOURCE_DATE_EPOCH" err &&
	[ "$(tree_state "$STELE_STORE")" = "$before" ]
'
test_expect_success 'a missing recipe file' '
	expect_code 3 stele build -q -f ctx/NoRecipe -t out:1 ctx 2>err && grep -q "NoRecipe" err
'
test_expect_success 'a failed build into a new layout leaves no directory behind' '
	printf "FROM scratch\nCOPY missing /\n" >ctx/Recipe &&
	expect_code 3 stele build -q -f ctx/Recipe -o oci:$TMP/newlayout:x ctx 2>err &&
	[ ! -e newlayout ]
'
