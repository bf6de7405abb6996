#!/bin/sh
# The library never reads the environment or the terminal: cli/env.c reads
# every variable stele honours and cli/tty.c is the only code that opens
# /dev/tty or changes terminal modes; the library is given paths, the
# epoch and secrets as options.  The variables still work for users.
. "$(dirname "$0")/lib.sh"

test_expect_success 'no library file reads the environment or the terminal; cli/ reads them in one place each' '
	cd "$TOP" &&
	lib=$(find . -path ./tests -prune -o -path ./cli -prune -o -path ./.git -prune -o \
		\( -name "*.c" -o -name "*.h" \) -print | sort) &&
	test -n "$lib" &&
	! grep -nE "\\b(secure_)?getenv *\\(|\\benviron\\b|/dev/tty|\\btc(set|get)attr *\\(|\\bttyname|\\bgetpass *\\(" $lib &&
	grep -lE "\\b(secure_)?getenv *\\(" cli/*.c cli/*.h >callers &&
	echo cli/env.c | cmp - callers &&
	grep -lE "/dev/tty|\\btc(set|get)attr *\\(" cli/*.c >callers &&
	echo cli/tty.c | cmp - callers &&
	rm -f callers
'

test_expect_success 'one library init: only util/init.c starts the dependencies' '
	cd "$TOP" &&
	grep -rlE "\\b(sodium_init|git_libgit2_init|curl_global_init|OPENSSL_init_crypto) *\\(" \
		--include=*.c --include=*.h . | grep -v "^./util/lazy.h$" | sort >"$TMP/callers" &&
	echo ./util/init.c | cmp - "$TMP/callers" &&
	grep -q "stele_init()" cli/main.c &&
	for t in tests/unit/test_*.c; do grep -q "stele_init()" "$t" || { echo "$t"; exit 1; }; done &&
	grep -q "stele_init()" tests/fuzz/fuzz.h
'

mkdir ctx && echo a >ctx/a && printf "FROM scratch\nCOPY a /a\n" >ctx/Dockerfile

test_expect_success 'the store: $STELE_STORE, else $XDG_DATA_HOME/stele/store, else ~/.local/share/stele/store' '
	stele build -q -t s:1 ctx >d1 && test -f "$STELE_STORE/index.json" &&
	(unset STELE_STORE; XDG_DATA_HOME="$TMP/data" stele build -q -t s:1 ctx >d2) &&
	test -f "$TMP/data/stele/store/index.json" &&
	(unset STELE_STORE XDG_DATA_HOME; STELE_STORE= stele build -q -t s:1 ctx >d3) &&
	test -f "$HOME/.local/share/stele/store/index.json" &&
	cmp d1 d2 && cmp d1 d3 &&
	(unset STELE_STORE XDG_DATA_HOME; stele inspect s:1 >out) && grep -q "$(cat d1)" out
'

test_expect_success 'the build cache: $STELE_CACHE, else $XDG_CACHE_HOME/stele/build-cache, else ~/.cache' '
	STELE_CACHE="$TMP/c1" stele build -q -t c:1 ctx >/dev/null && test -d "$TMP/c1/keys" &&
	(unset STELE_CACHE; XDG_CACHE_HOME="$TMP/xc" stele build -q -t c:1 ctx >/dev/null) &&
	test -d "$TMP/xc/stele/build-cache/keys" &&
	(unset STELE_CACHE XDG_CACHE_HOME; stele build -q -t c:1 ctx >/dev/null) &&
	test -d "$HOME/.cache/stele/build-cache/keys"
'

test_expect_success 'temporary directories go under $TMPDIR' '
	TMPDIR="$TMP/no/such/dir" expect_code 3 stele build -q -t t:1 ctx 2>err &&
	cat err && grep -q "cannot create a temporary directory .$TMP/no/such/dir/stele-build-" err &&
	mkdir "$TMP/tmpd" && TMPDIR="$TMP/tmpd" stele build -q -t t:1 ctx >/dev/null &&
	test -z "$(ls "$TMP/tmpd")"
'

test_expect_success 'SOURCE_DATE_EPOCH: used by build and import; an invalid value is an error naming it' '
	SOURCE_DATE_EPOCH=86400 stele build -q -o oci:$TMP/ep:1 ctx >/dev/null &&
	stele inspect --json oci:$TMP/ep:1 | grep -q "1970-01-02T00:00:00Z" &&
	for v in "" 12abc -1 " 1" 253402300800 1e3; do
		SOURCE_DATE_EPOCH="$v" expect_code 3 stele build -q -t e:1 ctx 2>err &&
		grep -q "invalid SOURCE_DATE_EPOCH .$v." err &&
		SOURCE_DATE_EPOCH="$v" expect_code 3 stele import -q -t e:1 ctx 2>err &&
		grep -q "invalid SOURCE_DATE_EPOCH .$v." err || exit 1
	done &&
	! (cd "$STELE_STORE" && grep -q "e:1" index.json) &&
	SOURCE_DATE_EPOCH=12abc stele build --check ctx >/dev/null
'

test_expect_success '--build-arg NAME takes NAME from the environment; unset, it is a usage error' '
	printf "FROM scratch\nARG V=default\nLABEL v=\$V\n" >ctx/Recipe &&
	V=fromenv stele build -q -f ctx/Recipe -o oci:$TMP/ba:1 --build-arg V ctx >/dev/null &&
	stele inspect --json oci:$TMP/ba:1 >out && grep -q "fromenv" out &&
	(unset V; expect_code 2 stele build -q -f ctx/Recipe -t ba:1 --build-arg V ctx 2>err) &&
	grep -q "build-arg .V.: want KEY=VALUE" err
'

test_expect_success 'the sandbox switch is an option, not a variable: --sandbox takes copy or auto' '
	expect_code 2 stele build -q --sandbox=overlayfs -t sb:1 ctx 2>err &&
	grep -q "sandbox wants copy or auto, not .overlayfs." err &&
	stele build -q --sandbox=copy -t sb:1 ctx >/dev/null &&
	stele build -q --sandbox=auto -t sb:1 ctx >/dev/null
'

test_expect_success 'the auth file: --authfile, else $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers, else ~/.config/containers' '
	expect_code 3 stele logout --authfile "$TMP/given.json" --all 2>err &&
	grep -q "no auth file .$TMP/given.json." err &&
	REGISTRY_AUTH_FILE="$TMP/raf.json" XDG_RUNTIME_DIR="$TMP/run" expect_code 3 stele logout --all 2>err &&
	grep -q "no auth file .$TMP/raf.json." err &&
	(unset REGISTRY_AUTH_FILE; XDG_RUNTIME_DIR="$TMP/run" expect_code 3 stele logout --all 2>err) &&
	grep -q "no auth file .$TMP/run/containers/auth.json." err &&
	(unset REGISTRY_AUTH_FILE XDG_RUNTIME_DIR; expect_code 3 stele logout --all 2>err) &&
	grep -q "no auth file .$HOME/.config/containers/auth.json." err
'

test_expect_success 'no passphrase and no terminal: the prompt says how to give one' '
	stele keygen --output-prefix k --passphrase-file /dev/null >/dev/null 2>&1 &&
	(unset STELE_PASSWORD; expect_code 3 setsid -w "$STELE" sign --key k.key s:1 </dev/null 2>err) &&
	grep -q "no passphrase: set STELE_PASSWORD, give --passphrase-file, or run on a terminal" err &&
	STELE_PASSWORD= stele sign --key k.key s:1 >/dev/null
'

test_done
