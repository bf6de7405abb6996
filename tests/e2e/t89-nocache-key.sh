#!/bin/sh
# A --no-cache COPY keys its context sources after the layer is written,
# from the writer's per-file digests (no second read of the files): the key
# must be the digest walk's, byte for byte, so a normal build after a
# --no-cache one hits the cache for every step.
. "$(dirname "$0")/lib.sh"

export STELE_CACHE="$TMP/cache"
mkdir -p ctx/tree/sub/deep ctx/other
printf 'a\n' >ctx/tree/a.txt
: >ctx/tree/empty
head -c 300000 /dev/urandom >ctx/tree/sub/big.bin
printf 'same\n' >ctx/tree/sub/deep/x && printf 'same\n' >ctx/tree/sub/deep/y
ln ctx/tree/a.txt ctx/tree/sub/hard.txt
ln -s ../a.txt ctx/tree/sub/link
ln -s tree/sub ctx/linked
chmod 755 ctx/tree/sub/deep/x
printf 'ignored\n' >ctx/tree/skip.log
printf 'excl\n' >ctx/tree/sub/drop.md
printf 'o1\n' >ctx/other/o1 && printf 'o2\n' >ctx/other/o2.txt
printf '*.log\n' >ctx/.dockerignore
cat >ctx/Dockerfile <<'DF'
FROM scratch
COPY tree/ /t/
COPY tree/a.txt tree/a.txt /one/
COPY --chmod=600 --chown=7:8 tree /c/
COPY --exclude=*.md tree/sub /e/
COPY linked /l/
COPY other/o* tree/sub/big.bin /m/
COPY <<EOT /h/doc
hello
EOT
COPY . /all/
DF

test_expect_success 'a --no-cache build, then a normal one: every step from the cache, the same digest' '
	d1=$(stele build --no-cache -o oci:$TMP/n1:x ctx 2>err1) &&
	grep -q "0 steps from the cache, 8 built" err1 &&
	d2=$(stele build -o oci:$TMP/n2:x ctx 2>err2) &&
	{ grep -q "8 steps from the cache, 0 built" err2 || { cat err1 err2; false; }; } &&
	[ "$d1" = "$d2" ]
'

test_expect_success 'the keys are those of a build that looked the steps up' '
	rm -rf "$TMP/cache" &&
	d3=$(stele build -o oci:$TMP/n3:x ctx 2>err3) &&
	grep -q "0 steps from the cache, 8 built" err3 &&
	(cd "$TMP/cache" && find . -name "*.json" -path "*keys*" | sort) >f3 &&
	[ $(wc -l <f3) -eq 8 ] &&
	rm -rf "$TMP/cache" &&
	d4=$(stele build --no-cache -o oci:$TMP/n4:x ctx 2>err4) &&
	(cd "$TMP/cache" && find . -name "*.json" -path "*keys*" | sort) >f4 &&
	[ "$d3" = "$d4" ] && cmp f3 f4
'

test_expect_success 'a changed file after a --no-cache build misses only its steps' '
	printf "changed\n" >ctx/other/o2.txt &&
	stele build -o oci:$TMP/n5:x ctx 2>err5 &&
	{ grep -q "5 steps from the cache, 3 built" err5 || { cat err5; false; }; }
'
test_done
