#!/bin/sh
# stele scan --vex: OpenVEX documents in DSSE envelopes, signed by a key
# given with --vex-key, suppress findings (not_affected, fixed) that stay in
# the report marked as suppressed and never fail --fail-on; affected does
# not suppress; the latest statement wins; a purl with other qualifiers
# still matches, another package or version does not.  Refused: an
# unsigned or wrongly signed document, another payload type, a malformed
# document, --vex without --vex-key.  Signed here with PyNaCl, not stele.
. "$(dirname "$0")/lib.sh"

# Debian's python3-nacl, for the system interpreter.
PY=/usr/bin/python3
if ! "$PY" -c 'import nacl.signing, cryptography' 2>/dev/null; then
	test_skip 'scan --vex' 'python3-nacl or python3-cryptography is not installed'
	exit 0
fi
make_dpkg_app
mkdir -p db
printf '{"id":"CVE-2026-1001","modified":"2026-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"demo"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0-2"}]}]}],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}\n' >db/a.json
printf '{"tool":{"CVE-2026-2002":{"releases":{"bookworm":{"status":"open","urgency":"high"}}}}}\n' >db/tracker.json

# sign.py KEYSEED OUT TYPE < payload: a DSSE envelope; KEYSEED.pub the key
cat >sign.py <<'PY'
import base64, json, sys, hashlib
from nacl.signing import SigningKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives import serialization
seed, out, ptype = sys.argv[1], sys.argv[2], sys.argv[3]
k = SigningKey(hashlib.sha256(seed.encode()).digest())
pub = Ed25519PublicKey.from_public_bytes(bytes(k.verify_key))
open(seed + ".pub", "wb").write(pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
body = sys.stdin.buffer.read()
pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype.encode(), len(body), body)
sig = k.sign(pae).signature
env = {"payload": base64.b64encode(body).decode(), "payloadType": ptype,
       "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}]}
open(out, "w").write(json.dumps(env, sort_keys=True, separators=(",", ":")))
PY
T=application/vnd.openvex+json
vexdoc() { # ID STATUS PRODUCT-PURL [TIMESTAMP]
	printf '{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/%s","author":"sec","timestamp":"2026-11-01T00:00:00Z","version":1,"statements":[{"vulnerability":{"name":"%s"},"products":[{"@id":"pkg:oci/app@sha256:00","subcomponents":[{"@id":"%s"}]}],"status":"%s","justification":"vulnerable_code_not_in_execute_path","timestamp":"%s"}]}' \
		"$1" "$1" "$3" "$2" "${4:-2026-11-02T00:00:00Z}"
}
vexdoc CVE-2026-1001 not_affected 'pkg:deb/debian/libdemo1@1.0-1%2Bb1?arch=arm64' | "$PY" sign.py trusted na.dsse $T
vexdoc CVE-2026-1001 affected 'pkg:deb/debian/libdemo1' 2026-11-03T00:00:00Z | "$PY" sign.py trusted later.dsse $T
vexdoc CVE-2026-1001 not_affected 'pkg:deb/debian/libdemo1@9.9' | "$PY" sign.py trusted otherver.dsse $T
vexdoc CVE-2026-2002 fixed 'pkg:deb/debian/tool@2.0-3' | "$PY" sign.py trusted fixed.dsse $T
vexdoc CVE-2026-1001 not_affected 'pkg:deb/debian/libdemo1' | "$PY" sign.py other untrusted.dsse $T
vexdoc CVE-2026-1001 not_affected 'pkg:deb/debian/libdemo1' | "$PY" sign.py trusted intoto.dsse application/vnd.in-toto+json
printf '{"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","statements":[{"vulnerability":{"name":"CVE-2026-1001"},"products":[],"status":"not_affected"}]}' | "$PY" sign.py trusted nojust.dsse $T
printf '{"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","statements":[{"vulnerability":{"name":"CVE-2026-1001"},"products":[],"status":"maybe"}]}' | "$PY" sign.py trusted badstatus.dsse $T

test_expect_success 'build the image; both findings fail --fail-on high without VEX' '
	stele build -q -t app:1 "git+file://$TMP/app#main" >/dev/null &&
	expect_code 1 stele scan --db db --fail-on high app:1 >out &&
	[ $(grep -c "^DENY" out) -eq 2 ]
'
test_expect_success 'not_affected suppresses (purl qualifiers aside): kept in the report, marked, not failing' '
	expect_code 1 stele scan --db db --fail-on high --vex na.dsse --vex-key trusted.pub app:1 >out &&
	grep -q "^SUPPRESSED CVE-2026-1001 .*\[VEX https://example.com/vex/CVE-2026-1001: not_affected, vulnerable_code_not_in_execute_path\]" out &&
	grep -q "^DENY CVE-2026-2002 " out &&
	expect_code 0 stele scan --db db --fail-on high --vex na.dsse --vex fixed.dsse --vex-key trusted.pub app:1 >out &&
	[ $(grep -c "^SUPPRESSED" out) -eq 2 ] &&
	stele scan --db db --json --vex na.dsse --vex fixed.dsse --vex-key trusted.pub app:1 >out.json &&
	python3 -c "
import json; d = json.load(open(\"out.json\"))
assert len(d[\"findings\"]) == 2
s = {f[\"id\"]: f[\"suppressed\"][\"status\"] for f in d[\"findings\"]}
assert s == {\"CVE-2026-1001\": \"not_affected\", \"CVE-2026-2002\": \"fixed\"}, s
" &&
	stele scan --db db --sarif --vex na.dsse --vex-key trusted.pub app:1 >out.sarif &&
	python3 -c "
import json; r = json.load(open(\"out.sarif\"))[\"runs\"][0][\"results\"]
s = {x[\"ruleId\"]: x.get(\"suppressions\") for x in r}
assert s[\"CVE-2026-1001\"] == [{\"kind\": \"external\", \"justification\": \"vulnerable_code_not_in_execute_path\"}], s
assert s[\"CVE-2026-2002\"] is None, s
"
'
test_expect_success 'the latest statement wins: a later affected undoes not_affected' '
	expect_code 1 stele scan --db db --fail-on high --vex na.dsse --vex later.dsse --vex-key trusted.pub app:1 >out &&
	grep -q "^DENY CVE-2026-1001 " out &&
	expect_code 1 stele scan --db db --fail-on high --vex later.dsse --vex na.dsse --vex-key trusted.pub app:1 >out &&
	grep -q "^DENY CVE-2026-1001 " out
'
test_expect_success 'a statement for another version suppresses nothing' '
	expect_code 1 stele scan --db db --fail-on high --vex otherver.dsse --vex-key trusted.pub app:1 >out &&
	! grep -q SUPPRESSED out
'
test_expect_success 'a document no trusted key signed is rejected (exit 1, as verify), another payload type refused (exit 3)' '
	expect_code 1 stele scan --db db --vex untrusted.dsse --vex-key trusted.pub app:1 2>err &&
	grep -q "untrusted.dsse: not signed by a trusted key" err &&
	expect_code 3 stele scan --db db --vex intoto.dsse --vex-key trusted.pub app:1 2>err &&
	grep -q "is not .application/vnd.openvex+json" err
'
test_expect_success 'malformed documents and envelopes are refused, naming them' '
	expect_code 3 stele scan --db db --vex nojust.dsse --vex-key trusted.pub app:1 2>err &&
	grep -q "not_affected needs a justification" err &&
	expect_code 3 stele scan --db db --vex badstatus.dsse --vex-key trusted.pub app:1 2>err &&
	grep -q "unknown status" err &&
	echo "{}" >junk.dsse &&
	expect_code 3 stele scan --db db --vex junk.dsse --vex-key trusted.pub app:1 2>err &&
	grep -q "junk.dsse" err
'
test_expect_success 'usage: --vex without --vex-key and the reverse' '
	expect_code 2 stele scan --db db --vex na.dsse app:1 &&
	expect_code 2 stele scan --db db --vex-key trusted.pub app:1
'
test_done
