#!/bin/sh
# stele gc raced against builds, signs and rmi on one store: nothing in use
# is removed.  Every build succeeds and its tag names a complete image
# (fsck clean), builds that hit the cache while gc empties it succeed with
# the same digest, and gc only ever takes what nothing reaches.
# STELE_GC_ROUNDS sets the rounds (default 10).
. "$(dirname "$0")/lib.sh"

N=${STELE_GC_ROUNDS:-10}
export STELE_PASSWORD=pw STELE_CACHE="$TMP/cache"
stele keygen --output-prefix k >/dev/null 2>&1
mkdir big a
head -c 2000000 /dev/urandom >big/blob &&
	printf 'FROM scratch\nCOPY blob /blob\nCOPY n /n\n' >big/Dockerfile
echo a >a/f && printf 'FROM scratch\nCOPY f /f\nCOPY n /n\n' >a/Dockerfile

fsck_clean() {
	stele fsck --json "$@" >f.json && [ "$(json_get f.json .problems)" = "[]" ]
}

# digest_of NAME: the digest stele images lists for NAME.
digest_of() {
	stele images --json | python3 -c 'import json, sys
print({i["name"]: i["digest"] for i in json.load(sys.stdin)}.get(sys.argv[1], "none"))' "$1"
}

# gc_loop PID ARGS...: run stele gc ARGS until PID is gone; count the runs
# in file gcs; a failed gc is written to gcerr.
gc_loop() {
	gl_pid=$1; shift
	while kill -0 "$gl_pid" 2>/dev/null; do
		stele gc "$@" >/dev/null 2>>gcerr || echo "gc failed" >>gcerr
		echo . >>gcs
	done
}

test_expect_success "$N builds (no cache) raced against gc and rmi: none fails, every tag is whole" '
	: >gcerr && : >gcs && i=0 && fail=0
	while [ $i -lt $N ]; do
		i=$((i + 1)); echo "r$i" >big/n; echo "k$i" >a/n
		stele build -q --no-cache -t race:$i big >dr 2>er & pr=$!
		stele build -q -t old:$i a >/dev/null 2>&1 && stele rmi old:$i >/dev/null 2>&1 &
		po=$!
		gc_loop $pr
		wait $po
		if wait $pr; then
			[ "$(digest_of race:$i)" = "$(cat dr)" ] ||
				{ echo "race:$i lost"; fail=$((fail + 1)); }
		else
			fail=$((fail + 1)); cat er
		fi
	done
	echo "$fail of $N builds failed, $(wc -l <gcs) gc runs"; cat gcerr
	[ $fail = 0 ] && [ ! -s gcerr ] && fsck_clean && [ "$(wc -l <gcs)" -ge $N ] &&
	stele gc >/dev/null && stele fsck --json >f.json && [ "$(json_get f.json .unreferenced)" = "[]" ] &&
	for i in $(seq 1 $N); do stele sign --key k.key race:$i >/dev/null || exit 1; done
'

test_expect_success "$N cached builds raced against gc --cache-max-size 0: same digests, none fails" '
	: >gcerr && : >gcs && echo same >big/n && want=$(stele build -q -t c:0 big) && i=0 && fail=0
	while [ $i -lt $N ]; do
		i=$((i + 1))
		stele build -q -t c:$i big >dc 2>ec & pc=$!
		gc_loop $pc --cache-max-size 0
		if wait $pc; then
			[ "$(cat dc)" = "$want" ] || { echo "c:$i digest $(cat dc), want $want"; fail=$((fail + 1)); }
		else
			fail=$((fail + 1)); cat ec
		fi
	done
	echo "$fail of $N builds failed, $(wc -l <gcs) gc runs"; cat gcerr
	[ $fail = 0 ] && [ ! -s gcerr ] && fsck_clean && [ "$(wc -l <gcs)" -ge $N ]
'

test_expect_success "$N signs and tags raced against gc: every signature verifies, every tag kept" '
	: >gcerr && : >gcs && i=0 && fail=0 && want=$(digest_of c:0)
	while [ $i -lt $N ]; do
		i=$((i + 1))
		{ stele sign --key k.key -a n=$i c:0 >/dev/null 2>es && stele tag c:0 t:$i 2>>es; } & ps=$!
		gc_loop $ps
		wait $ps || { fail=$((fail + 1)); cat es; }
		stele verify --key k.pub c:0 >/dev/null 2>&1 || { echo "c:0 does not verify"; fail=$((fail + 1)); }
		[ "$(digest_of t:$i)" = "$want" ] ||
			{ echo "t:$i lost"; fail=$((fail + 1)); }
	done
	echo "$fail failures, $(wc -l <gcs) gc runs"; cat gcerr
	[ $fail = 0 ] && [ ! -s gcerr ] && fsck_clean
'
