#!/bin/sh
# Rootless RUN: a user made here with useradd builds a recipe with RUN
# steps (through runuser) — a small recipe, and the from-source example
# (a C program compiled on the Debian base); stele runs the build in a user
# namespace (the user's /etc/subuid and /etc/subgid ranges, else the user
# alone) and gets the digest a root build gets.
. "$(dirname "$0")/lib.sh"

U=stele-rl-$$
U1=stele-r1-$$
test_at_exit "userdel -r $U >/dev/null 2>&1; userdel -r $U1 >/dev/null 2>&1"
skip=""
if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null || ! command -v runuser >/dev/null; then
	skip="needs root with useradd and runuser (CI runs tests as root)"
elif ! useradd -m "$U" 2>/dev/null || ! useradd -m "$U1" 2>/dev/null; then
	skip="useradd failed"
elif [ "$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null || echo 1)" = 0 ]; then
	skip="kernel.unprivileged_userns_clone is 0: unprivileged user namespaces are forbidden"
elif ! runuser -u "$U" -- unshare -U true 2>/dev/null; then
	skip="unshare -U fails as an unprivileged user: user namespaces are forbidden here"
fi

# The workspace the users can read and write; stele copied where they can
# run it.
chmod 755 "$TMP" && mkdir -p w && cp "$STELE" w/stele && chmod 755 w/stele
sh "$TOP/recipes/mkbusybox.sh" "$TMP/w/bbroot" >/dev/null 2>&1 &&
	SOURCE_DATE_EPOCH=0 stele import -q -t busybox:test w/bbroot >/dev/null
mkdir -p w/ctx && echo hi >w/ctx/a &&
	printf 'FROM busybox:test\nCOPY a /a\nRUN mkdir -p /out && echo made >/out/f && chown 1000:1000 /out/f && rm /bin/true && ln -s /a /out/l && id -u >/out/id\nRUN touch /out/g && chmod 4755 /out/g\n' >w/ctx/Dockerfile
mkdir -p w/one && echo hi >w/one/a &&
	printf 'FROM busybox:test\nRUN mkdir /o && echo x >/o/f && rm /bin/true\n' >w/one/Dockerfile
mkdir -p w/bad && printf 'FROM busybox:test\nRUN chown 1000 /bin\n' >w/bad/Dockerfile
chmod a+rwx w && for d in ctx one bad; do chmod -R a+rwX w/$d; done

# as USER CMD: run CMD in w/ as USER with a store and cache of its own.
as() {
	as_u=$1; shift
	runuser -u "$as_u" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$TMP/w/home-$as_u" \
		LSAN_OPTIONS="${LSAN_OPTIONS:-}" \
		SOURCE_DATE_EPOCH=1700000000 TZ=UTC LC_ALL=C STELE_STORE="$TMP/w/store-$as_u" \
		STELE_CACHE="$TMP/w/cache-$as_u" sh -c "cd '$TMP/w' && $*"
}

if [ -n "$skip" ]; then
	test_skip 'rootless RUN gives the root build digest' "$skip"
	test_skip 'rootless: the from-source example gives the root digest' "$skip"
	test_skip 'rootless RUN with the user alone mapped' "$skip"
	test_skip 'rootless: an id the namespace cannot map fails the step' "$skip"
	exit 0
fi

test_expect_success 'rootless RUN (subordinate ids) gives the root build digest' '
	grep -q "^$U:" /etc/subuid && grep -q "^$U:" /etc/subgid &&
	R=$(cd w && STELE_CACHE="$TMP/rc" ./stele build -q -t app:1 ctx) &&
	as "$U" "SOURCE_DATE_EPOCH=0 ./stele import -q -t busybox:test bbroot >/dev/null && ./stele build -t app:1 ctx" >d 2>e &&
	cat e && grep -q "3 built" e && [ "$(cat d)" = "$R" ] &&
	[ "$(stat -c %U "$TMP/w/store-$U/index.json")" = "$U" ] &&
	as "$U" "./stele build -q -t app:1 ctx" >d2 && [ "$(cat d2)" = "$R" ]
'

test_expect_success 'rootless: the from-source example (recipes/fromsource: RUN make on the Debian base) gives the root digest' '
	root=$(sh "$TOP/scripts/mkdebian.sh") && [ -x "$root/usr/bin/gcc" ] &&
	SOURCE_DATE_EPOCH=0 stele import -q -t "oci:$TMP/w/deb:1" "$root" >/dev/null &&
	chmod -R a+rX w/deb && rev=$(git -C "$TOP" rev-parse HEAD) &&
	git clone -q "$TOP" w/rsrc && git clone -q "$TOP" w/usrc && chown -R "$U" w/usrc &&
	R=$(cd w && STELE_CACHE="$TMP/rc" ./stele build -q -t fs:1 -f recipes/fromsource/Dockerfile \
		--build-arg "BASE=oci:$TMP/w/deb:1" "git+file://$TMP/w/rsrc#$rev") &&
	as "$U" "./stele build -t fs:1 -f recipes/fromsource/Dockerfile --build-arg BASE=oci:$TMP/w/deb:1 git+file://$TMP/w/usrc#$rev" >d 2>e &&
	cat e && grep -q "0 steps from the cache" e && [ "$(cat d)" = "$R" ]
'
test_expect_success 'rootless RUN with the user alone mapped (no subordinate ids) gives the root digest' '
	sed -i "/^$U1:/d" /etc/subuid /etc/subgid &&
	R=$(cd w && STELE_CACHE="$TMP/rc" ./stele build -q -t one:1 one) &&
	as "$U1" "SOURCE_DATE_EPOCH=0 ./stele import -q -t busybox:test bbroot >/dev/null && ./stele build -q -t one:1 one" >d 2>e &&
	cat e && [ "$(cat d)" = "$R" ]
'

test_expect_success 'rootless with the user alone mapped: an id it cannot map fails the step, named' '
	expect_code 3 as "$U1" "./stele build -q -t bad:1 bad" 2>e; cat e &&
	grep -q "bad/Dockerfile:2" e && ! as "$U1" "./stele images" | grep -q "^bad:1"
'
