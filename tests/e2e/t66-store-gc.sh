#!/bin/sh
# stele gc: unreferenced blobs and leftover staging go, everything an image,
# a signature or a referrer reaches stays; build-cache entries by age and
# size; refusals.
. "$(dirname "$0")/lib.sh"

export STELE_PASSWORD=pw STELE_CACHE="$TMP/cache"
stele keygen --output-prefix k >/dev/null 2>&1
mkdir a b c
echo a >a/f && printf 'FROM scratch\nCOPY f /f\n' >a/Dockerfile
head -c 200000 /dev/urandom >b/f && printf 'FROM scratch\nCOPY f /g\n' >b/Dockerfile
head -c 300000 /dev/urandom >c/f && printf 'FROM scratch\nCOPY f /h\n' >c/Dockerfile
DA=$(stele build -q -t a:1 a) && DB=$(stele build -q -t b:1 b) &&
	stele sign --key k.key a:1 >/dev/null && stele attest --key k.key a:1 >/dev/null

nblobs() { find "$1/blobs/sha256" -type f | wc -l; }
fsck_clean() {
	stele fsck --json "$@" >f.json && [ "$(json_get f.json .problems)" = "[]" ] &&
		[ "$(json_get f.json .unreferenced)" = "[]" ] && [ "$(json_get f.json .temporary)" = "[]" ]
}

test_expect_success 'gc of a store where everything is referenced removes nothing' '
	tree_state "$STELE_STORE" >before && stele gc --json >j && cat j &&
	[ "$(json_get j .store.blobs)" = 0 ] && [ "$(json_get j .store.kept)" = "$(nblobs "$STELE_STORE")" ] &&
	tree_state "$STELE_STORE" >after && cmp before after &&
	stele verify --key k.pub a:1 >/dev/null
'

test_expect_success 'after rmi, gc removes the image blobs nothing else reaches, and only those' '
	stele rmi b:1 >/dev/null && n=$(nblobs "$STELE_STORE") &&
	stele fsck --json >f.json && want=$(python3 -c "import json; print(len(json.load(open(\"f.json\"))[\"unreferenced\"]))") &&
	[ "$want" -ge 3 ] && stele gc >out && cat out &&
	grep -q "^store: $want blobs removed" out &&
	[ "$(nblobs "$STELE_STORE")" = $((n - want)) ] && [ ! -e "$(blob "$STELE_STORE" "$DB")" ] &&
	fsck_clean && stele verify --key k.pub a:1 >/dev/null
'

test_expect_success 'an untagged image kept by its provenance stays; rmi by digest lets gc take it' '
	mkdir m && echo 1 >m/f && printf "FROM scratch\nCOPY f /m\n" >m/Dockerfile &&
	D1=$(stele build -q -t m:1 m) && echo 2 >m/f && D2=$(stele build -q -t m:1 m) && [ "$D1" != "$D2" ] &&
	stele gc >/dev/null && [ -e "$(blob "$STELE_STORE" "$D1")" ] &&
	stele images --all >out && cat out && grep -q "^<none> *$(echo "$D1" | cut -c1-19)" out &&
	! stele images | grep -q "<none>" &&
	stele rmi "$D1" >out && grep -qx "Deleted: $D1" out && stele gc >/dev/null &&
	[ ! -e "$(blob "$STELE_STORE" "$D1")" ] && fsck_clean && stele rmi m:1 >/dev/null && stele gc >/dev/null
'

test_expect_success 'gc removes leftover staging directories and temp files, not a live one' '
	mkdir -p "$STELE_STORE/.stele-tmp/txn-dead" && echo x >"$STELE_STORE/.stele-tmp/txn-dead/blob-1" &&
	echo junk >"$STELE_STORE/blobs/sha256/tmp-123" &&
	mkdir -p "$STELE_STORE/.stele-tmp/txn-live" && : >"$STELE_STORE/.stele-tmp/txn-live/.lock" &&
	{ flock "$STELE_STORE/.stele-tmp/txn-live/.lock" sleep 5 & } && sleep 0.3 &&
	stele gc --json >j && cat j && [ "$(json_get j .store.staging)" = 1 ] &&
	[ ! -e "$STELE_STORE/.stele-tmp/txn-dead" ] && [ -d "$STELE_STORE/.stele-tmp/txn-live" ] &&
	[ ! -e "$STELE_STORE/blobs/sha256/tmp-123" ] && wait &&
	stele gc --json >j && [ "$(json_get j .store.staging)" = 1 ]
'

test_expect_success 'gc stops, removing nothing, at a manifest it cannot read' '
	stele build -q -t x:1 b >/dev/null && stele rmi x:1 >/dev/null &&
	D=$(stele build -q -t x:2 c) && chmod u+w "$(blob "$STELE_STORE" "$D")" &&
	echo garbage >"$(blob "$STELE_STORE" "$D")" && tree_state "$STELE_STORE" >before &&
	expect_code 3 stele gc 2>e && cat e && grep -q "gc stopped: cannot read manifest $D" e &&
	tree_state "$STELE_STORE" >after && cmp before after &&
	rm "$(blob "$STELE_STORE" "$D")" && stele rmi x:2 >/dev/null && stele gc >/dev/null && fsck_clean
'

# age_entries SECONDS: make every cache entry that old.
age_entries() { for e in "$STELE_CACHE"/keys/*.json; do touch -d "@$(($(date +%s) - $1))" "$e"; done; }
centries() { find "$STELE_CACHE/keys" -name "*.json" | wc -l; }

test_expect_success 'gc --cache-max-age drops entries not used for that long; a hit counts as a use' '
	stele build -q -t a:1 a >/dev/null && stele build -q -t b:1 b >/dev/null && stele build -q -t c:1 c >/dev/null &&
	n=$(centries) && [ "$n" -ge 3 ] && age_entries 7200 &&
	stele build -q -t a:1 a >/dev/null && stele gc --cache-max-age 1h --json >j && cat j &&
	[ "$(json_get j .cache.kept)" = 1 ] && [ "$(json_get j .cache.entries)" = $((n - 1)) ] &&
	[ "$(json_get j .cache.blobs)" -ge 2 ] && [ "$(nblobs "$STELE_CACHE/layers")" = 1 ] &&
	stele build -t a:1 a 2>e >/dev/null && grep -q "^1 step.* from the cache" e &&
	stele build -t b:1 b 2>e >/dev/null && grep -q "^0 steps from the cache" e
'

test_expect_success 'gc --cache-max-size drops the least recently used entries until the rest fit' '
	stele build -q -t b:1 b >/dev/null && stele build -q -t c:1 c >/dev/null && age_entries 300 &&
	stele build -q -t c:1 c >/dev/null && stele build -q -t a:1 a >/dev/null &&
	stele gc --cache-max-size 350K --json >j && cat j &&
	[ "$(json_get j .cache.kept)" = 2 ] && [ "$(json_get j .cache.size)" -gt 300000 ] &&
	[ "$(json_get j .cache.size)" -lt 358400 ] &&
	stele build -t c:1 c 2>e >/dev/null && grep -q "^1 step.* from the cache" e &&
	stele build -t b:1 b 2>e >/dev/null && grep -q "^0 steps from the cache" e &&
	stele gc --cache-max-size 0 --json >j && [ "$(json_get j .cache.kept)" = 0 ] &&
	[ "$(nblobs "$STELE_CACHE/layers")" = 0 ] && [ "$(centries)" = 0 ] &&
	stele build -t c:1 c 2>e >/dev/null && grep -q "^0 steps from the cache" e
'

test_expect_success 'gc drops damaged cache entries and cache blobs no entry names' '
	echo "{" >"$STELE_CACHE/keys/$(printf %064d 1).json" &&
	echo x >"$STELE_CACHE/layers/blobs/sha256/$(printf %064d 2)" &&
	stele gc --json >j && cat j && [ "$(json_get j .cache.entries)" = 1 ] &&
	[ "$(json_get j .cache.blobs)" = 1 ] && [ ! -e "$STELE_CACHE/keys/$(printf %064d 1).json" ]
'

test_expect_success 'gc refusals: bad ages and sizes, registries, extra arguments, no store' '
	for v in "" x 1y -1 1hh 99999999999999999999; do
		expect_code 2 stele gc --cache-max-age "$v" 2>e && grep -q "invalid --cache-max-age" e || return 1
	done &&
	for v in "" x -1 1Q 5KK; do
		expect_code 2 stele gc --cache-max-size "$v" 2>e && grep -q "invalid --cache-max-size" e || return 1
	done &&
	expect_code 2 stele gc docker://127.0.0.1:1/x 2>e && expect_code 2 stele gc oci:a oci:b 2>e &&
	expect_code 2 stele gc --bogus 2>e && expect_code 3 stele gc oci:nowhere 2>e &&
	stele gc --help | grep -q cache-max-age
'

test_expect_success 'gc of an oci:DIR layout' '
	stele build -q -o oci:lay:1 a >/dev/null && stele build -q -o oci:lay:2 b >/dev/null &&
	stele rmi oci:lay:2 >/dev/null && stele gc --json oci:lay >j && [ "$(json_get j .store.blobs)" -ge 3 ] &&
	fsck_clean oci:lay && oci-image-tool validate --type image --ref name=1 lay 2>/dev/null ||
		{ ! command -v oci-image-tool >/dev/null && echo "oci-image-tool absent: fsck only"; }
'
