#!/bin/sh
# stele build --check: the recipe is parsed and checked; nothing is
# resolved, fetched, read from the context or written.
. "$(dirname "$0")/lib.sh"

export STELE_CACHE="$TMP/cache"
mkdir ctx
cat >ctx/Dockerfile <<'DF'
# syntax=docker/dockerfile:1
# check=error=true
ARG BASE=debian:12
FROM $BASE AS build
ARG PORT=8080
COPY --chmod=0755 --chown=app:app missing-file /app/
ADD git+https://git.example.invalid/repo.git#main /src/
RUN --network=none <<EOF
make
EOF
EXPOSE $PORT 9000-9002/udp
VOLUME /data
HEALTHCHECK --interval=30s CMD true
ONBUILD COPY . /app
STOPSIGNAL $SIG
FROM docker.io/library/alpine:3.20
COPY --from=build /app /app
MAINTAINER me
DF
before_store=$(tree_state "$TMP/store")
before_cache=$(tree_state "$TMP/cache")

test_expect_success 'a valid recipe: exit 0, the file named; bases, context and cache untouched' '
	stele build --check ctx >out 2>err && cat out err &&
	grep -qx "ctx/Dockerfile: ok (2 stages)" out &&
	grep -q "warning: ctx/Dockerfile:1: the syntax directive" err &&
	[ ! -e "$TMP/store" ] && [ ! -e "$TMP/cache" ] &&
	[ "$(tree_state "$TMP/store")" = "$before_store" ] && [ "$(tree_state "$TMP/cache")" = "$before_cache" ] &&
	stele build --check -q -f ctx/Dockerfile --target build >out 2>err && [ ! -s out ] && [ ! -s err ] &&
	stele build --check -f ctx/Dockerfile | grep -qx "ctx/Dockerfile: ok (2 stages)"
'

# bad NAME LINE-PATTERN MESSAGE RECIPE-TEXT: --check exits 3 naming it.
bad() {
	# shellcheck disable=SC2059
	printf "$4" >ctx/Bad
	printf '%s\n' "$3" >want
	test_expect_success "--check rejects: $1" "
		expect_code 3 stele build --check -f ctx/Bad 2>err; rc=\$?; cat err
		[ \$rc = 0 ] && grep -q 'ctx/Bad:$2' err && grep -qF -f want err
	"
}
bad 'an unknown instruction' '2: ' "unknown instruction 'FORM'" 'FROM scratch\nFORM x\n'
bad 'a missing argument' '2: COPY: ' 'requires at least two arguments' 'FROM scratch\nCOPY a\n'
bad 'an unknown flag' '2: COPY: ' "unknown flag '--frm'" 'FROM scratch\nCOPY --frm=x a /b\n'
bad 'RUN --network' '2: RUN: ' "want none or host, not 'bridge'" 'FROM scratch\nRUN --network=bridge true\n'
bad 'COPY --chmod' '2: COPY: ' "invalid mode '99'" 'FROM scratch\nCOPY --chmod=99 a /b\n'
bad 'ADD of an unpinned download' '3: ADD: ' 'a download must be pinned' 'FROM scratch\nLABEL a=b\nADD https://example.invalid/x.tgz /x\n'
bad 'EXPOSE' '2: EXPOSE: ' "invalid port '80-70'" 'FROM scratch\nEXPOSE 80 80-70\n'
bad 'STOPSIGNAL' '2: STOPSIGNAL: ' "invalid signal 'SIGNOPE'" 'FROM scratch\nSTOPSIGNAL SIGNOPE\n'
bad 'an ONBUILD trigger' '2: RUN: ' "want none or host, not 'x'" 'FROM scratch\nONBUILD RUN --network=x true\n'
bad 'HEALTHCHECK' '2: HEALTHCHECK: ' "invalid --retries 'x'" 'FROM scratch\nHEALTHCHECK --retries=x CMD true\n'
bad 'an unterminated heredoc' '2: RUN: ' "unterminated heredoc 'EOF'" 'FROM scratch\nRUN <<EOF\ntrue\n'
bad 'only ARG before FROM' '1: ENV: ' 'only ARG may come before the first FROM' 'ENV a=b\nFROM scratch\n'

test_expect_success '--check: an unknown --target' '
	expect_code 3 stele build --check -f ctx/Dockerfile --target nope 2>err && cat err &&
	grep -q "ctx/Dockerfile: target stage .nope. not found" err
'
test_expect_success '--check: a missing recipe' '
	expect_code 3 stele build --check -f ctx/NoSuch 2>err && cat err && grep -q "cannot read recipe .ctx/NoSuch." err
'
test_expect_success '--check does not resolve a git source' '
	expect_code 3 stele build --check "git+file://$TMP/ctx#main" 2>err && cat err &&
	grep -q -- "--check reads a recipe file: give -f FILE" err
'
test_expect_success '--check needs a recipe or a context' '
	expect_code 2 stele build --check 2>err && grep -q -- "--check wants -f RECIPE or a CONTEXT" err &&
	expect_code 2 stele build --check a b 2>err && grep -q -- "--check wants -f RECIPE or a CONTEXT" err
'
