#!/bin/sh
. "$(dirname "$0")/lib.sh"

test_expect_success 'stele --help lists the commands' '
	stele --help >out && grep -q "build" out && grep -q "import" out && grep -q "inspect" out
'
test_expect_success 'stele --version prints a version' '
	stele --version | grep -q "^stele "
'
test_expect_success 'every command has --help on stdout, exit 0' '
	for c in build import inspect; do
		stele $c --help >out || exit 1
		grep -q "usage: stele $c" out || exit 1
	done
'
test_expect_success 'an unknown command is a usage error (exit 2)' '
	expect_code 2 stele frobnicate 2>err && grep -q "not a stele command" err
'
test_expect_success 'a bad option is a usage error (exit 2)' '
	expect_code 2 stele build --bogus . 2>err
'
test_expect_success 'build without -t or -o is a usage error' '
	mkdir ctx && expect_code 2 stele build ctx 2>err && grep -q -- "-t NAME" err
'
test_expect_success 'an unknown compression is a usage error' '
	expect_code 2 stele build --compression lzma -t x ctx 2>err
'
test_expect_success 'build refuses a bad option after others that allocate, and frees them once' '
	STELE_PASSWORD=pw stele keygen --output-prefix ck >/dev/null &&
	expect_code 3 stele build -t x --build-arg A=1 --secret id=s,src=ctx \
		--cache-key ck.pub --cache-key nothere.pub ctx 2>err &&
	grep -q "nothere.pub" err && ! grep -qi "double free\|abort" err &&
	expect_code 2 stele build -t x --build-arg A=1 --registry-mirror docker.io=127.0.0.1:1 \
		--sbom=bogus ctx 2>err && grep -q "unknown --sbom format" err &&
	expect_code 2 stele build --build-arg A=1 --sandbox=bogus ctx 2>err &&
	grep -q -- "--sandbox wants copy or auto" err
'
test_expect_success 'inspect of a missing image fails clearly' '
	expect_code 3 stele inspect nothere:1 2>err && grep -q "stele:" err
'
test_expect_success 'every command has --help, the store commands included' '
	for c in images tag rmi gc; do
		stele $c --help >out && grep -q "usage: stele $c" out || exit 1
	done
'
test_expect_success '--json on keygen, import, build, sign and attest: one object on stdout' '
	export STELE_PASSWORD=pw STELE_CACHE="$TMP/cache" &&
	stele keygen --json --output-prefix jk >j 2>e && cat j && [ ! -s e ] &&
	[ "$(json_get j .type)" = ed25519 ] && [ "$(json_get j .privateKey)" = jk.key ] &&
	[ "$(json_get j .keyId | wc -c)" = 65 ] &&
	mkdir -p root/etc && echo x >root/etc/x &&
	stele import --json -t base:1 root >j 2>e && cat j e &&
	[ "$(json_get j .image)" = base:1 ] && D=$(json_get j .digest) && [ "${D#sha256:}" != "$D" ] &&
	grep -q "importing: 100% (0.0 of 0.0 MiB)" e &&
	stele import -q -t base:2 root 2>e >/dev/null && [ ! -s e ] &&
	mkdir -p c && echo f >c/f && printf "FROM base:1\nCOPY f /f\n" >c/Dockerfile &&
	stele build -q --json -t app:1 c >j && cat j && [ "$(json_get j .image)" = app:1 ] &&
	B=$(json_get j .digest) && [ "$(json_get j .provenance | cut -c1-7)" = sha256: ] &&
	stele build -q --json --sign-key jk.key --sbom -t app:2 c >j 2>e && cat j &&
	[ "$(json_get j .digest)" = "$B" ] && [ "$(json_get j .attestedBy.sbom)" = "$(json_get j .attestedBy.provenance)" ] &&
	python3 -c "import json; json.load(open(\"j\"))" &&
	stele sign --json --key jk.key app:1 >j && cat j && [ "$(json_get j .digest)" = "$B" ] &&
	[ "$(json_get j .identity)" = app:1 ] && [ "$(json_get j .added)" = True ] && [ "$(json_get j .signatures)" = 1 ] &&
	stele sign --json --key jk.key app:1 >j && [ "$(json_get j .added)" = False ] &&
	stele attest --json --key jk.key app:1 >j && cat j && [ "$(json_get j .predicateType)" = https://slsa.dev/provenance/v1 ] &&
	[ "$(json_get j .added)" = False ] && [ "$(json_get j .attestations)" = 2 ] &&
	stele attest --json --sbom --key jk.key app:1 >j && cat j && [ "$(json_get j .predicateType)" = https://spdx.dev/Document ] &&
	[ "$(wc -l <j)" = 1 ]
'
