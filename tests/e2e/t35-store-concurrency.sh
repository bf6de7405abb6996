#!/bin/sh
# Any number of stele processes on one store at once: pairs of builds (other
# tags, the same tag), builds beside signs, builds raced against
# `fsck --prune`, a failing build beside a good one in a new store.  Every
# process succeeds that should, nothing written is lost, and fsck is clean
# afterwards.  STELE_STORE_PAIRS sets how many rounds of each (default 20;
# the issue's bar is 100).
. "$(dirname "$0")/lib.sh"

N=${STELE_STORE_PAIRS:-20}
export STELE_PASSWORD=pw
stele keygen --output-prefix k >/dev/null 2>&1
mkdir a b big bad
echo a >a/f && printf 'FROM scratch\nCOPY f /f\nCOPY n /n\n' >a/Dockerfile
echo b >b/f && printf 'FROM scratch\nCOPY f /g\nCOPY n /n\n' >b/Dockerfile
# A layer that takes a while to compress, so that a prune lands inside it.
head -c 1000000 /dev/urandom >big/blob &&
	printf 'FROM scratch\nCOPY blob /blob\nCOPY n /n\n' >big/Dockerfile
# Fails after staging a big layer: a build that began a transaction.
cp big/blob bad/blob && printf 'FROM scratch\nCOPY blob /blob\nCOPY nope /nope\n' >bad/Dockerfile

# check_tags LAYOUT FILE: for every line "TAG DIGEST..." of FILE the layout's
# index.json names one of those digests TAG; each ref.name at most once.
cat >check_tags.py <<'PY'
import json, sys
REF = "org.opencontainers.image.ref.name"
idx = json.load(open(sys.argv[1] + "/index.json"))["manifests"]
names = [m["annotations"][REF] for m in idx if REF in m.get("annotations", {})]
assert len(names) == len(set(names)), "a ref.name twice"
have = {m["annotations"][REF]: m["digest"] for m in idx if REF in m.get("annotations", {})}
bad = 0
for line in open(sys.argv[2]):
    tag, digests = line.split()[0], line.split()[1:]
    if have.get(tag) not in digests:
        print("lost: %s %s (index has %s)" % (tag, digests, have.get(tag)))
        bad += 1
sys.exit(1 if bad else 0)
PY
check_tags() { python3 "$TMP/check_tags.py" "$1" "$2"; }

# check_sigs LAYOUT DIGEST N: N signatures under the image's .sig tag and N
# signature referrers.
cat >check_sigs.py <<'PY'
import json, sys
store, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
idx = json.load(open(store + "/index.json"))["manifests"]
tag = "sha256-%s.sig" % d[7:]
sig = [m for m in idx if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
layers = json.load(open(store + "/blobs/sha256/" + sig[0]["digest"][7:]))["layers"]
refs = [m for m in idx if m.get("annotations", {}).get("dev.stele.subject") == d
        and m.get("artifactType", "").endswith("sig.v1+json")]
print("signatures under the tag: %d, referrers: %d, want %d" % (len(layers), len(refs), n))
sys.exit(0 if len(layers) == n and len(refs) == n else 1)
PY

# fsck_clean [oci:DIR]: no problem, no temporary left behind.
fsck_clean() {
	stele fsck --json "$@" >f.json && [ "$(json_get f.json .problems)" = "[]" ] &&
		[ "$(json_get f.json .temporary)" = "[]" ]
}

# Each round's processes start at once; a failed one is counted and its
# error shown, and the tally is printed whatever the outcome.
test_expect_success "$N pairs of concurrent builds, other tags: all succeed, all tags kept" '
	: >want && i=0 && fail=0
	while [ $i -lt $N ]; do
		i=$((i + 1)); echo $i >a/n; echo $i >b/n
		stele build -q -t a:$i a >da 2>ea & pa=$!
		stele build -q -t b:$i b >db 2>eb & pb=$!
		if wait $pa; then echo "a:$i $(cat da)" >>want; else fail=$((fail + 1)); cat ea; fi
		if wait $pb; then echo "b:$i $(cat db)" >>want; else fail=$((fail + 1)); cat eb; fi
	done
	echo "$fail of $((2 * N)) builds failed"
	[ $fail = 0 ] && check_tags "$STELE_STORE" want && fsck_clean
'

test_expect_success "$N pairs of concurrent builds, the same tag: all succeed, one wins" '
	i=0 && fail=0
	while [ $i -lt $N ]; do
		i=$((i + 1)); echo "s$i" >a/n; echo "s$i" >b/n
		stele build -q -t same:$i a >da 2>ea & pa=$!
		stele build -q -t same:$i b >db 2>eb & pb=$!
		wait $pa || { fail=$((fail + 1)); cat ea; : >da; }
		wait $pb || { fail=$((fail + 1)); cat eb; : >db; }
		[ -s da ] || [ -s db ] && echo "same:$i $(cat da) $(cat db)" >>want
	done
	echo "$fail of $((2 * N)) builds failed"
	[ $fail = 0 ] && check_tags "$STELE_STORE" want && fsck_clean
'

test_expect_success "$N builds beside two signers each: every signature and referrer kept" '
	stele build -q -t s:1 a >sd && D=$(cat sd) && i=0 && fail=0 && signed=0
	while [ $i -lt $N ]; do
		i=$((i + 1)); echo "c$i" >a/n
		stele build -q -t c:$i a >da 2>ea & pa=$!
		stele sign --key k.key -a n=$i s:1 >/dev/null 2>e1 & p1=$!
		stele sign --key k.key -a m=$i s:1 >/dev/null 2>e2 & p2=$!
		if wait $pa; then echo "c:$i $(cat da)" >>want; else fail=$((fail + 1)); cat ea; fi
		if wait $p1; then signed=$((signed + 1)); else fail=$((fail + 1)); cat e1; fi
		if wait $p2; then signed=$((signed + 1)); else fail=$((fail + 1)); cat e2; fi
	done
	echo "$fail of $((3 * N)) builds and signs failed"
	[ $fail = 0 ] && check_tags "$STELE_STORE" want &&
	python3 "$TMP/check_sigs.py" "$STELE_STORE" "$D" $signed && fsck_clean
'

test_expect_success "$N builds of a tag beside a sign of the image it names: the build keeps the tag" '
	echo t0 >b/n && stele build -q -t t:1 b >/dev/null && i=0 && fail=0 && lost=0
	while [ $i -lt $N ]; do
		i=$((i + 1)); echo "t$i" >b/n
		stele sign --key k.key -a r=$i t:1 >/dev/null 2>e1 & p1=$!
		stele build -q -t t:1 b >dt 2>et & pt=$!
		wait $p1 || { fail=$((fail + 1)); cat e1; }
		if wait $pt; then
			echo "t:1 $(cat dt)" >wt
			check_tags "$STELE_STORE" wt || lost=$((lost + 1))
		else
			fail=$((fail + 1)); cat et
		fi
	done
	echo "$fail of $((2 * N)) builds and signs failed, $lost tags lost"
	[ $fail = 0 ] && [ $lost = 0 ] && fsck_clean
'

test_expect_success "$N builds raced against fsck --prune: none fails, none loses its tag" '
	i=0 && fail=0 && lost=0 && prunes=0
	while [ $i -lt $N ]; do
		i=$((i + 1)); echo "r$i" >big/n
		stele build -q --no-cache -t race:1 big >dr 2>er & pr=$!
		stele build -q -t keep:$i a >dk 2>ek & pk=$!
		while kill -0 $pr 2>/dev/null; do
			stele fsck --prune >/dev/null 2>&1; prunes=$((prunes + 1))
		done
		if wait $pr; then
			echo "race:1 $(cat dr)" >wr
			check_tags "$STELE_STORE" wr || lost=$((lost + 1))
		else
			fail=$((fail + 1)); cat er
		fi
		if wait $pk; then echo "keep:$i $(cat dk)" >>want; else fail=$((fail + 1)); cat ek; fi
	done
	echo "$fail of $((2 * N)) builds failed, $lost tags lost, $prunes prunes ran"
	[ $fail = 0 ] && [ $lost = 0 ] && check_tags "$STELE_STORE" want && fsck_clean &&
	stele fsck --prune >/dev/null && fsck_clean &&
	[ "$(json_get f.json .unreferenced)" = "[]" ] && check_tags "$STELE_STORE" want
'

test_expect_success "$N failing builds beside good ones into a new store: the good ones kept" '
	i=0 && fail=0 && lost=0
	while [ $i -lt $N ]; do
		i=$((i + 1)); echo "n$i" >a/n; rm -rf new
		stele build -q -o oci:new:bad bad >/dev/null 2>&1 & px=$!
		stele build -q -o oci:new:good a >dg 2>eg & pg=$!
		wait $px && { fail=$((fail + 1)); echo "the bad build succeeded"; }
		if wait $pg; then
			echo "good $(cat dg)" >wg
			if ! check_tags new wg || ! fsck_clean oci:new; then
				lost=$((lost + 1)); ls -la new
			fi
		else
			fail=$((fail + 1)); cat eg
		fi
	done
	echo "$fail of $N good builds failed, $lost succeeded but were lost"
	[ $fail = 0 ] && [ $lost = 0 ]
'

test_expect_success 'a build killed midway leaves a staging directory that fsck --prune removes' '
	mkdir huge && head -c 8000000 /dev/urandom >huge/blob && cp big/Dockerfile huge/ &&
	tries=0 && left="" &&
	while [ $tries -lt 20 ] && [ -z "$left" ]; do
		tries=$((tries + 1)) && echo "k$tries" >huge/n &&
		{ "$STELE" build -q --no-cache -t killed:1 huge >/dev/null 2>&1 & pk=$!; } &&
		sleep "0.0$((tries % 10))" && kill -9 $pk
		wait $pk 2>/dev/null
		left=$(ls "$STELE_STORE/.stele-tmp" 2>/dev/null)
	done &&
	echo "left after $tries tries: $left" && [ -n "$left" ] &&
	stele fsck >out && grep -q "^temporary .*/txn-" out &&
	stele fsck --prune >/dev/null && fsck_clean &&
	[ -z "$(ls "$STELE_STORE/.stele-tmp" 2>/dev/null)" ] && check_tags "$STELE_STORE" want
'
