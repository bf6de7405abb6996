#!/bin/sh
# A private key file that group or others may access is refused, naming the
# file and the `chmod 600` that fixes it, before any passphrase is asked and
# before anything is built or written; --allow-insecure-key-perms says
# otherwise, explicitly (issue 9, finding 7).  As ssh does for its keys.
. "$(dirname "$0")/lib.sh"

export STELE_PASSWORD=pw
mkdir ctx && echo hi >ctx/f && printf 'FROM scratch\nCOPY f /f\n' >ctx/Dockerfile
stele build -q -t app:1 ctx >digest 2>/dev/null
stele keygen --output-prefix k >/dev/null 2>&1

# refused MODE CMD...: with k.key at MODE, CMD exits 3 naming chmod 600 and
# the store is unchanged.
refused() {
	chmod "$1" k.key && shift &&
	tree_state store >before &&
	expect_code 3 "$@" 2>err && cat err &&
	grep -q "key file 'k.key' is accessible by group or others" err &&
	grep -qF "chmod 600 k.key" err &&
	tree_state store >after && cmp before after
}

test_expect_success 'keygen writes the key file 0600, and sign uses it' '
	test "$(stat -c %a k.key)" = 600 &&
	stele sign --key k.key app:1 >out && grep -q "signed as app:1" out
'
test_expect_success 'sign refuses a key file group or others may read (0640, 0604, 0644)' '
	for m in 640 604 644; do
		refused $m stele sign --key k.key -a try=$m app:1 || exit 1
	done
'
test_expect_success 'and one they may write or run (0620, 0602, 0610, 0601)' '
	for m in 620 602 610 601; do
		refused $m stele sign --key k.key -a try=$m app:1 || exit 1
	done
'
test_expect_success 'the mode is reported' '
	refused 644 stele sign --key k.key app:1 && grep -q "(mode 0644)" err
'
test_expect_success 'refused before the passphrase is asked (no passphrase anywhere)' '
	chmod 644 k.key &&
	expect_code 3 env -u STELE_PASSWORD setsid -w "$STELE" sign --key k.key app:1 </dev/null 2>err &&
	cat err && grep -qF "chmod 600 k.key" err && ! grep -q "no passphrase" err
'
test_expect_success 'a symlink to a key others may read: refused by the mode of the file read' '
	chmod 644 k.key && ln -sf k.key link.key &&
	expect_code 3 stele sign --key link.key app:1 2>err && cat err &&
	grep -qF "chmod 600 link.key" err
'
test_expect_success 'attest refuses it too' '
	refused 640 stele attest --key k.key app:1
'
test_expect_success 'build --sign-key refuses it before building anything' '
	refused 604 stele build -q --sign-key k.key -t other:1 ctx &&
	expect_code 3 stele inspect other:1 2>/dev/null
'
test_expect_success '--allow-insecure-key-perms uses it anyway (sign, attest, build --sign-key)' '
	chmod 644 k.key &&
	stele sign --allow-insecure-key-perms --key k.key -a anyway=1 app:1 >out &&
	grep -q "signed as app:1" out &&
	stele attest --allow-insecure-key-perms --key k.key app:1 >out &&
	grep -q "attested by key" out &&
	stele build -q --allow-insecure-key-perms --sign-key k.key -t other:1 ctx >/dev/null 2>err &&
	grep -q "attested by key" err
'
test_expect_success 'chmod 600 is all it takes' '
	chmod 644 k.key && expect_code 3 stele sign --key k.key -a after=1 app:1 2>/dev/null &&
	chmod 600 k.key && stele sign --key k.key -a after=1 app:1 >out && grep -q "signed as app:1" out
'
test_expect_success 'owner-only modes are fine (0400, 0700)' '
	chmod 400 k.key && stele sign --key k.key -a m=400 app:1 >/dev/null &&
	chmod 700 k.key && stele sign --key k.key -a m=700 app:1 >/dev/null
'
test_expect_success 'a public key given as --key is refused by what it holds, not its mode' '
	test "$(stat -c %a k.pub)" = 644 &&
	expect_code 3 stele sign --key k.pub app:1 2>err && cat err &&
	grep -q "PUBLIC KEY" err && ! grep -q "chmod" err
'
test_expect_success 'no environment variable relaxes it (only the option does)' '
	chmod 644 k.key &&
	for v in STELE_ALLOW_INSECURE_KEY_PERMS STELE_INSECURE_KEY_PERMS; do
		env "$v=1" "$STELE" sign --key k.key app:1 >/dev/null 2>err && exit 1
		grep -qF "chmod 600 k.key" err || exit 1
	done
'
# push --sign-key signs for the destination: the same check, before any
# byte goes to the registry.
. "$TOP/tests/e2e/reglib.sh"
if reg_serve reg; then
	test_expect_success 'push --sign-key refuses it before pushing anything; the option allows it' '
		chmod 644 k.key &&
		expect_code 3 stele push --tls-verify=false --insecure-skip-verify --sign-key k.key \
			app:1 "docker://$REG/app:1" 2>err && cat err && grep -qF "chmod 600 k.key" err &&
		[ -z "$(tags_of "$REG" app)" ] &&
		stele push --tls-verify=false --insecure-skip-verify --sign-key k.key \
			--allow-insecure-key-perms app:1 "docker://$REG/app:1" >/dev/null 2>err &&
		[ "$(tags_of "$REG" app | head -n1)" = 1 ]
	'
else
	test_skip 'push --sign-key refuses it' 'docker-registry could not be started on 127.0.0.1'
fi
test_expect_success 'each command documents the option' '
	for c in sign attest build push copy; do
		stele $c --help | grep -q -- "--allow-insecure-key-perms" || exit 1
	done
'
