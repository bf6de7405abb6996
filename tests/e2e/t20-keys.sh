#!/bin/sh
# Key generation and key files: stele's own keys checked by an independent
# reader (Python: hashlib scrypt, PyNaCl secretbox, cryptography Ed25519),
# passphrase sources, and every refusal: a clear error, non-zero exit and
# nothing written.
. "$(dirname "$0")/lib.sh"

PY=""
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import nacl, cryptography' 2>/dev/null; then PY=$p; break; fi
done
KC="$TOP/tests/interop/keycheck.py"
unset STELE_PASSWORD
# Key files made here are private, as keygen and cosign write them (t31
# tests the refusal of key files others may read).
umask 077

test_expect_success 'keygen writes P.key (0600) and P.pub and prints the key id' '
	STELE_PASSWORD=pw stele keygen --output-prefix rm >id 2>err &&
	test -f rm.key && test -f rm.pub &&
	test "$(stat -c %a rm.key)" = 600 &&
	head -n1 rm.key | grep -qx -- "-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----" &&
	head -n1 rm.pub | grep -qx -- "-----BEGIN PUBLIC KEY-----" &&
	grep -Eqx "[0-9a-f]{64}" id && grep -q "wrote rm.key and rm.pub" err
'
test_expect_success 'the key id is the SHA-256 of the public key DER' '
	openssl pkey -pubin -in rm.pub -outform DER | sha256sum | cut -d" " -f1 >want &&
	test "$(cat id)" = "$(cat want)"
'
if [ -n "$PY" ]; then
	test_expect_success 'an independent reader decrypts the key file and matches the public key' '
		"$PY" "$KC" key rm.key rm.pub pw "$(cat id)"
	'
else
	test_skip 'independent key check' 'no python3 with nacl and cryptography (Debian python3-nacl python3-cryptography)'
fi
test_expect_success 'openssl reads the public key as ED25519' '
	openssl pkey -pubin -in rm.pub -text -noout | grep -q "ED25519 Public-Key"
'
test_expect_success 'keygen never overwrites; the files stay as they were' '
	cp rm.key rm.key.orig && cp rm.pub rm.pub.orig &&
	STELE_PASSWORD=pw expect_code 3 stele keygen --output-prefix rm 2>err &&
	grep -q "already exists; not overwriting" err &&
	cmp rm.key rm.key.orig && cmp rm.pub rm.pub.orig &&
	touch only.pub &&
	STELE_PASSWORD=pw expect_code 3 stele keygen --output-prefix only 2>err &&
	! test -e only.key
'
test_expect_success '--passphrase-file: the key is written' '
	printf "file pass\nignored\n" >pf &&
	STELE_PASSWORD=other stele keygen --output-prefix f --passphrase-file pf >fid &&
	test -s f.key && test -s f.pub
'
if [ -n "$PY" ]; then
	test_expect_success '--passphrase-file: the first line is the passphrase (independent reader)' '
		"$PY" "$KC" key f.key f.pub "file pass" "$(cat fid)"
	'
else
	test_skip '--passphrase-file: the first line is the passphrase' 'no python3 with nacl and cryptography (Debian python3-nacl python3-cryptography)'
fi
test_expect_success 'no passphrase and no terminal: a clear failure, nothing written' '
	expect_code 3 setsid -w "$STELE" keygen --output-prefix none </dev/null 2>err &&
	grep -q "no passphrase: set STELE_PASSWORD" err &&
	! test -e none.key && ! test -e none.pub
'
if [ -n "$PY" ]; then
	test_expect_success 'on a terminal the passphrase is asked twice, not echoed' '
		"$PY" "$TOP/tests/interop/ttyrun.py" "tty pass" "tty pass" -- \
			"$STELE" keygen --output-prefix tty >out &&
		grep -c assphrase out | grep -qx 2 && ! grep -q "tty pass" out &&
		"$PY" "$KC" key tty.key tty.pub "tty pass" "$(tail -n2 out | grep -Eo "^[0-9a-f]{64}")"
	'
	test_expect_success 'on a terminal, two different answers: refused, nothing written' '
		expect_code 3 "$PY" "$TOP/tests/interop/ttyrun.py" one two -- \
			"$STELE" keygen --output-prefix mism >out &&
		grep -q "do not match" out && ! test -e mism.key && ! test -e mism.pub
	'
else
	test_skip 'on a terminal the passphrase is asked twice, not echoed' 'no python3 with nacl and cryptography (Debian python3-nacl python3-cryptography)'
	test_skip 'on a terminal, two different answers: refused, nothing written' 'no python3 with nacl and cryptography (Debian python3-nacl python3-cryptography)'
fi

# Reading keys: build a small image to sign.
mkdir ctx && echo hi >ctx/f && printf 'FROM scratch\nCOPY f /f\n' >ctx/Dockerfile
stele build -q -t app:1 ctx >digest 2>/dev/null

# refuse KEYFILE TEXT: sign fails with exit 3 naming TEXT, store unchanged.
refuse() {
	tree_state store >before &&
	STELE_PASSWORD=${PASS:-pw} expect_code 3 stele sign --key "$1" app:1 2>err &&
	cat err && grep -q -- "$2" err &&
	tree_state store >after && cmp before after
}
test_expect_success 'wrong passphrase: "wrong passphrase", nothing written' '
	PASS=nope refuse rm.key "wrong passphrase"
'
test_expect_success 'truncated key file: refused, nothing written' '
	head -c 200 rm.key >trunc.key && refuse trunc.key "not a complete PEM key file"
'
test_expect_success 'a public key given as the key: refused with the PEM type' '
	refuse rm.pub "holds a PEM .PUBLIC KEY. block"
'
test_expect_success 'an unencrypted PKCS#8 key: refused, pointing at cosign import-key-pair' '
	openssl genpkey -algorithm ed25519 -out plain.key 2>/dev/null &&
	refuse plain.key "not encrypted"
'
test_expect_success 'an empty file and a missing file: refused' '
	: >empty.key && refuse empty.key "not a complete PEM" &&
	refuse missing.key "no such file"
'
if [ -n "$PY" ]; then
	test_expect_success 'unknown scrypt parameters: refused, naming them' '
		"$PY" "$KC" mkkey n16k.key pw 16384 &&
		refuse n16k.key "unsupported scrypt parameters N=16384 r=8 p=1"
	'
	test_expect_success 'cosign parameter sets N=65536 and 131072 are read' '
		"$PY" "$KC" mkkey n64k.key pw 65536 && "$PY" "$KC" mkkey n128k.key pw 131072 &&
		STELE_PASSWORD=pw stele sign --key n64k.key app:1 &&
		STELE_PASSWORD=pw stele sign --key n128k.key app:1
	'
else
	test_skip 'unknown scrypt parameters: refused, naming them' 'no python3 with nacl and cryptography (Debian python3-nacl python3-cryptography)'
	test_skip 'cosign parameter sets N=65536 and 131072 are read' 'no python3 with nacl and cryptography (Debian python3-nacl python3-cryptography)'
fi
test_expect_success 'an ECDSA P-256 key in a cosign key file (cosign test vector) signs' '
	cat >ec.key <<-PEM &&
	-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----
	eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjozMjc2OCwiciI6
	OCwicCI6MX0sInNhbHQiOiJ4WWdoc09JTUxUWGNOT0RsclNIOUNKc1FlOVFnZmN1
	cmUrMXlLdHh1TlkwPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
	Iiwibm9uY2UiOiI0cS9PSlVmaXJkSUkrUjZ0ajZBMmcyQ0JqL25xdFNicCJ9LCJj
	aXBoZXJ0ZXh0IjoiKzB4Q3NzcFN0WStBczdKanJpOWtsbHBWd2JhcUI4ZWJNdWto
	eS9aVE1MSXRsL3B1YS9jWVJvbytLRGxMWWdmOW1kSjk4K1FnQW9oTktoYnJPMTcw
	MHdBY1JTMjFDOE4zQUNJRUVZaWpOMllBNnMraGJSbkhjUnd4eGhDMDFtb2FvL0dO
	Y1pmbEJheXZMV3pXblo4d2NDZ2ZpT1o1VXlRTEFJMHh0dnR6dEh3cTdDV1Vhd3V4
	RlhlNDZzck9TUE9SNHN6bytabWErUGovSFE9PSJ9
	-----END ENCRYPTED COSIGN PRIVATE KEY-----
	PEM
	STELE_PASSWORD=hello stele sign --key ec.key app:1 >out && cat out &&
	grep -q "signed as app:1 by key a6659c08b9909880c6e4bc51cab6fd7265673f67d614c20ba59a18957feb700d" out
'
test_expect_success 'that ECDSA key file with a wrong passphrase: "wrong passphrase", exit 3, nothing written' '
	PASS=hellO refuse ec.key "cannot decrypt key file .ec.key.: wrong passphrase"
'
test_expect_success 'keygen --type ecdsa-p256: a P-256 key openssl reads, in the same file format' '
	STELE_PASSWORD=pw stele keygen --type ecdsa-p256 --output-prefix p256 >p256.id 2>/dev/null &&
	head -n1 p256.key | grep -qx -- "-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----" &&
	openssl pkey -pubin -in p256.pub -text -noout | grep -q "NIST CURVE: P-256" &&
	openssl pkey -pubin -in p256.pub -outform DER | sha256sum | cut -d" " -f1 >want &&
	test "$(cat p256.id)" = "$(cat want)" &&
	if [ -n "$PY" ]; then "$PY" "$KC" key p256.key p256.pub pw "$(cat p256.id)"; fi &&
	STELE_PASSWORD=pw stele sign --key p256.key app:1 >out && grep -q "signed as app:1" out &&
	STELE_PASSWORD=pw stele sign --key p256.key app:1 >out && grep -q "nothing added" out
'
test_expect_success 'keygen --type with an unknown type: a usage error, nothing written' '
	STELE_PASSWORD=pw expect_code 2 stele keygen --type rsa --output-prefix rsa 2>err &&
	grep -q "want ed25519 or ecdsa-p256" err && ! test -e rsa.key
'
if [ -n "$PY" ]; then
	test_expect_success 'a key file holding P-384 or RSA: refused, naming what it holds' '
		"$PY" "$KC" mkkey p384.key pw 32768 p384 && refuse p384.key "holds an ECDSA key on curve secp384r1" &&
		"$PY" "$KC" mkkey rsa.key pw 32768 rsa && refuse rsa.key "holds an RSA key; stele signs with Ed25519 and ECDSA P-256 keys"
	'
	test_expect_success 'a P-256 key file Python wrote (cosign format) signs; Python verifies the signature' '
		"$PY" "$KC" mkkey py256.key pw 32768 p256 &&
		stele build -q -o oci:lay:1 ctx >lay.digest 2>/dev/null && cmp lay.digest digest &&
		STELE_PASSWORD=pw stele sign --key py256.key --identity py:1 oci:lay:1 >/dev/null &&
		"$PY" "$KC" sig lay "$(cat digest)" py:1 py256.key.pub
	'
fi
test_expect_success 'a SIGSTORE-type key file is read' '
	sed "s/COSIGN PRIVATE/SIGSTORE PRIVATE/" rm.key >sigstore.key &&
	STELE_PASSWORD=pw stele sign --key sigstore.key app:1 >out &&
	grep -q "already signed\|signed as" out
'
