#!/bin/sh
# Rebuild-verification from provenance, and fsck of a layout.
. "$(dirname "$0")/lib.sh"

export STELE_CACHE="$TMP/cache" STELE_PASSWORD=pw
make_busybox_base "oci:$TMP/base:bb"
mkdir app && git -C app init -q -b main && echo hello >app/f && mkdir app/d && echo deep >app/d/g &&
printf 'FROM oci:%s/base:bb\nCOPY f /f\nCOPY d /d/\nRUN echo built >/built\nUSER 1000\n' "$TMP" >app/Dockerfile &&
git_commit app v1 && git -C app tag v1
stele build -q -t app:1 "git+file://$TMP/app#v1" >digest
cp -a "$STELE_STORE" good-store
fresh() { rm -rf "$STELE_STORE" && cp -a good-store "$STELE_STORE"; }
# What the tests below that rewrite the store share (python3 - STORE ...;
# from store import *).
cat >store.py <<-'PY'
import gzip, hashlib, json, sys
s = sys.argv[1]
def b(x):
    return s + "/blobs/sha256/" + x[7:]
def put(data):
    x = "sha256:" + hashlib.sha256(data).hexdigest()
    open(b(x), "wb").write(data)
    return x
def index():
    return json.load(open(s + "/index.json"))
def save(i):
    json.dump(i, open(s + "/index.json", "w"))
def is_prov(m):
    return m.get("artifactType") == "application/vnd.in-toto+json"
def restate(m, edit, subject=None):
    # The provenance referrer m (an index entry) with its statement passed
    # through edit(st) and, given a subject, about that image.
    r = json.load(open(b(m["digest"])))
    st = json.load(open(b(r["layers"][0]["digest"])))
    if subject:
        r["subject"]["digest"] = subject
        st["subject"][0]["digest"]["sha256"] = subject[7:]
    edit(st)
    sj = json.dumps(st, sort_keys=True, separators=(",", ":")).encode()
    r["layers"][0]["digest"] = put(sj); r["layers"][0]["size"] = len(sj)
    rj = json.dumps(r, separators=(",", ":")).encode()
    m["digest"] = put(rj); m["size"] = len(rj)
def compression(st):
    return st["predicate"]["buildDefinition"]["internalParameters"]["compression"]
def recompress(d, tag, fn, **recorded):
    # Image d (tagged tag) with its layers after the base's compressed again
    # by fn(tar bytes) (same diff_ids, same config) and its provenance
    # recording **recorded as its compression; the number of layers whose
    # bytes changed.
    man = json.load(open(b(d)))
    changed = 0
    for l in man["layers"][1:]:
        old = open(b(l["digest"]), "rb").read()
        gz = fn(gzip.decompress(old))
        changed += gz != old
        l["digest"] = put(gz); l["size"] = len(gz)
    mj = json.dumps(man, sort_keys=True, separators=(",", ":")).encode()
    nd = put(mj)
    i = index()
    for m in i["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            m["digest"] = nd; m["size"] = len(mj)
        elif is_prov(m) and json.load(open(b(m["digest"])))["subject"]["digest"] == d:
            restate(m, lambda st: compression(st).update(recorded), nd)
    save(i)
    return changed
PY
prov() { # the provenance statement blob's path
	python3 - "$STELE_STORE" <<-'PY'
	from store import *
	r = [m for m in index()["manifests"] if is_prov(m)][0]
	print(b(json.load(open(b(r["digest"])))["layers"][0]["digest"]))
	PY
}

test_expect_success 'stele rebuild says identical' '
	stele rebuild app:1 >out 2>err && cat out && grep -q "^identical" out
'
test_expect_success 'rebuild --json' '
	stele rebuild --json app:1 >r.json 2>/dev/null && [ "$(json_get r.json .identical)" = True ] &&
	[ "$(json_get r.json .rebuilt)" = "$(cat digest)" ]
'
test_expect_success 'a tampered record of the source tree is named' '
	fresh && tree=$(git -C app rev-parse v1^{tree}) &&
	python3 - "$STELE_STORE" "$tree" <<-PY &&
	from store import *
	tree = sys.argv[2]
	i = index()
	for m in i["manifests"]:
	    if is_prov(m):
	        r = json.load(open(b(m["digest"])))
	        st = open(b(r["layers"][0]["digest"]), "rb").read().replace(tree.encode(), b"0" * 40)
	        r["layers"][0]["digest"] = put(st); r["layers"][0]["size"] = len(st)
	        rj = json.dumps(r, separators=(",", ":")).encode()
	        m["digest"] = put(rj); m["size"] = len(rj)
	save(i)
	PY
	expect_code 1 stele rebuild app:1 >out 2>/dev/null && cat out &&
	grep -q "source differs: commit .* has tree $tree, the provenance records tree 0000000000000000000000000000000000000000" out
'
test_expect_success 'a tampered layer is named, with the files that differ' '
	fresh && python3 - "$STELE_STORE" "$(cat digest)" <<-PY &&
	import io, tarfile
	from store import *
	d = sys.argv[2]
	man = json.load(open(b(d)))
	cfg = json.load(open(b(man["config"]["digest"])))
	# layer 3 (COPY d): change d/g, keep the tar otherwise
	src = tarfile.open(b(man["layers"][2]["digest"]))
	out = io.BytesIO()
	dst = tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT)
	for m in src.getmembers():
	    data = src.extractfile(m).read() if m.isfile() else None
	    if m.name == "d/g":
	        data = b"evil\n"; m.size = len(data)
	    dst.addfile(m, io.BytesIO(data) if data is not None else None)
	dst.close()
	raw = out.getvalue(); gz = gzip.compress(raw, mtime=0)
	man["layers"][2]["digest"] = put(gz); man["layers"][2]["size"] = len(gz)
	cfg["rootfs"]["diff_ids"][2] = "sha256:" + hashlib.sha256(raw).hexdigest()
	cj = json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()
	man["config"]["digest"] = put(cj); man["config"]["size"] = len(cj)
	mj = json.dumps(man, sort_keys=True, separators=(",", ":")).encode()
	nd = put(mj)
	# the tampered image takes over the tag, keeping the old provenance
	i = index()
	for m in i["manifests"]:
	    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "app:1":
	        m["digest"] = nd; m["size"] = len(mj)
	    elif m.get("artifactType"):
	        r = json.load(open(b(m["digest"])))
	        r["subject"]["digest"] = nd
	        rj = json.dumps(r, separators=(",", ":")).encode()
	        m["digest"] = put(rj); m["size"] = len(rj)
	save(i)
	PY
	expect_code 1 stele rebuild app:1 >out 2>/dev/null && cat out &&
	grep -q "^layer 3 differs" out && grep -q "files that differ: d/g" out &&
	expect_code 1 stele rebuild --json app:1 >r.json 2>/dev/null && [ "$(json_get r.json .verdict)" = differs ]
'
test_expect_success 'the provenance records the compressor: library, level and settings' '
	fresh && python3 - "$(prov)" <<-PY
	import json, sys
	c = json.load(open(sys.argv[1]))["predicate"]["buildDefinition"]["internalParameters"]["compression"]
	print(c)
	assert c["mediaTypeSuffix"] == "+gzip" and c["level"] == 3, c
	assert c["library"].startswith("libdeflate "), c
	assert c["settings"] == "level 3, a gzip member per 1048576-byte block, near-uniform 16384-byte pieces stored", c
	PY
'
test_expect_success 'a zstd image records its settings (no worker count: the frame is the same for any) and rebuilds identical' '
	fresh && stele build -q --compression zstd -t app:z "git+file://$TMP/app#v1" >/dev/null &&
	python3 - "$STELE_STORE" <<-PY &&
	from store import *
	r = [m for m in index()["manifests"] if is_prov(m)]
	cs = [compression(json.load(open(b(json.load(open(b(m["digest"])))["layers"][0]["digest"])))) for m in r]
	z = [c for c in cs if c["mediaTypeSuffix"] == "+zstd"]
	assert len(z) == 1 and z[0]["library"].startswith("zstd ") and z[0]["level"] == 3, cs
	assert z[0]["settings"] == "level 3, multithreaded, 1048576-byte jobs, no checksum", z
	PY
	stele rebuild --json app:z >r.json 2>/dev/null && [ "$(json_get r.json .identical)" = True ]
'
# Another machine's compressor: the layers recompressed by Python's gzip at
# level 9 (the same tar bytes, so the same diff_ids and config), and the
# provenance records that compressor.  The rebuild reproduces the content
# but not the compressed bytes, and says so as its own verdict.
test_expect_success 'another compressor: content identical, compression differs' '
	fresh && python3 - "$STELE_STORE" "$(cat digest)" <<-PY &&
	from store import *
	recompress(sys.argv[2], "app:1", lambda raw: gzip.compress(raw, compresslevel=9, mtime=0),
	           library="zlib 1.2.11", settings="level 9, one stream (python gzip)")
	PY
	expect_code 1 stele rebuild app:1 >out 2>/dev/null && cat out &&
	grep -q "^content identical, compression differs (zlib 1.2.11, level 9, one stream (python gzip) vs .*, level 3, " out &&
	grep -q "; layers 2, 3, 4 have the same diff_id, another digest" out &&
	expect_code 1 stele rebuild --json app:1 >r.json 2>/dev/null &&
	[ "$(json_get r.json .verdict)" = compression-differs ] &&
	[ "$(json_get r.json .identical)" = False ] &&
	[ "$(json_get r.json .diff.recorded)" = "zlib 1.2.11, level 9, one stream (python gzip)" ]
'
test_expect_success 'the rebuild compresses at the level recorded' '
	fresh && python3 - "$STELE_STORE" <<-PY &&
	from store import *
	i = index()
	for m in i["manifests"]:
	    if is_prov(m):
	        restate(m, lambda st: compression(st).update(level=1))
	save(i)
	PY
	expect_code 1 stele rebuild --json app:1 >r.json 2>/dev/null && cat r.json &&
	[ "$(json_get r.json .verdict)" = compression-differs ] &&
	json_get r.json .diff.rebuilt | grep -q ", level 1, "
'
test_expect_success 'an image deflated with zlib (gzip-zlib, older stele) rebuilds to the same bytes' '
	fresh && stele build -q --compression gzip-zlib -t app:z "git+file://$TMP/app#v1" >dz &&
	[ "$(cat dz)" != "$(cat digest)" ] &&
	stele rebuild --json app:z >r.json 2>/dev/null && [ "$(json_get r.json .verdict)" = identical ]
'
# An older stele deflated every 1 MiB block whole (no stored pieces) and
# recorded settings without "stored": such an image, with random bytes that
# stele now stores, still rebuilds to the same digest.  Its layers are made
# here as the older stele made them, with libdeflate at level 3.
test_expect_success 'an image deflated in whole blocks (older stele) rebuilds to the same bytes' '
	fresh && mkdir app2 && git -C app2 init -q -b main && head -c 100000 /dev/urandom >app2/r &&
	printf "FROM oci:%s/base:bb\nCOPY r /r\n" "$TMP" >app2/Dockerfile && git_commit app2 v1 && git -C app2 tag v1 &&
	stele build -q -t app:w "git+file://$TMP/app2#v1" >dw &&
	python3 - "$STELE_STORE" "$(cat dw)" <<-PY &&
	import ctypes, struct, zlib
	from store import *
	ld = ctypes.CDLL("libdeflate.so.0")
	ld.libdeflate_alloc_compressor.restype = ctypes.c_void_p
	ld.libdeflate_alloc_compressor.argtypes = [ctypes.c_int]
	ld.libdeflate_deflate_compress.restype = ctypes.c_size_t
	ld.libdeflate_deflate_compress.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t]
	c = ld.libdeflate_alloc_compressor(3)
	def whole(raw):
	    out = b""
	    for off in range(0, max(len(raw), 1), 1 << 20):
	        blk = raw[off:off + (1 << 20)]
	        buf = ctypes.create_string_buffer(2 * len(blk) + 1024)
	        n = ld.libdeflate_deflate_compress(c, blk, len(blk), buf, len(buf))
	        assert n > 0
	        out += bytes([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]) + buf.raw[:n] + struct.pack("<II", zlib.crc32(blk), len(blk))
	    return out
	assert recompress(sys.argv[2], "app:w", whole, settings="level 3, a gzip member per 1048576-byte block"), "no layer has a stored piece"
	PY
	stele rebuild --json app:w >r.json 2>/dev/null && cat r.json && [ "$(json_get r.json .verdict)" = identical ]
'
test_expect_success 'a directory context cannot be rebuilt, and says why' '
	fresh && mkdir dc && echo x >dc/x && printf "FROM scratch\nCOPY x /x\n" >dc/Dockerfile &&
	stele build -q -t dir:1 dc >/dev/null &&
	expect_code 3 stele rebuild dir:1 2>err && grep -q "directory context cannot be fetched again" err
'
test_expect_success 'fsck: a clean layout' '
	fresh && stele fsck >out && cat out && grep -q ", 0 problems" out
'
test_expect_success 'fsck, images and gc: a layout argument that is not oci:DIR is a usage error' '
	for cmd in fsck images gc; do
		expect_code 2 stele $cmd oci: 2>err && grep -q "want oci:DIR, not .oci:." err &&
		expect_code 2 stele $cmd "$TMP" 2>err && grep -q "want oci:DIR" err &&
		expect_code 2 stele $cmd oci:a oci:b 2>err && grep -q "at most one layout" err || return 1
	done
'
test_expect_success 'fsck finds a corrupted blob' '
	fresh && l=$(stele inspect --json app:1 | python3 -c "import json,sys;print(json.load(sys.stdin)[\"manifest\"][\"layers\"][1][\"digest\"])") &&
	printf x >>"$STELE_STORE/blobs/sha256/${l#sha256:}" &&
	expect_code 1 stele fsck >out && cat out && grep -q "^corrupt $l: the blob" out
'
test_expect_success 'fsck finds a dangling reference' '
	fresh && l=$(stele inspect --json app:1 | python3 -c "import json,sys;print(json.load(sys.stdin)[\"manifest\"][\"layers\"][2][\"digest\"])") &&
	rm "$STELE_STORE/blobs/sha256/${l#sha256:}" &&
	expect_code 1 stele fsck >out && cat out && grep -q "^dangling $l: referenced by sha256:" out
'
test_expect_success 'fsck --prune removes temp files and unreferenced blobs only' '
	fresh && mkdir -p "$STELE_STORE/.stele-tmp/txn-dead" && echo junk >"$STELE_STORE/.stele-tmp/txn-dead/x" &&
	echo orphan >o && h=$(sha256sum o | cut -d" " -f1) && cp o "$STELE_STORE/blobs/sha256/$h" &&
	stele fsck >out && grep -q "^unreferenced sha256:$h" out && grep -q "^temporary" out &&
	stele fsck --prune >out && [ ! -e "$STELE_STORE/blobs/sha256/$h" ] &&
	[ ! -e "$STELE_STORE/.stele-tmp/txn-dead" ] && stele fsck --json >f.json &&
	[ "$(json_get f.json .problems)" = "[]" ] && [ "$(json_get f.json .unreferenced)" = "[]" ] &&
	stele verify --key /dev/null app:1 >/dev/null 2>&1; stele rebuild app:1 >/dev/null 2>&1
'
test_expect_success 'a policy with rebuild: true runs the rebuild inside verify' '
	fresh && stele keygen --output-prefix ci >/dev/null 2>&1 && stele attest --key ci.key app:1 >/dev/null 2>&1 &&
	stele sign --key ci.key app:1 >/dev/null 2>&1 &&
	printf "{\"keys\":{\"ci\":{\"path\":\"ci.pub\"}},\"signatures\":{\"threshold\":1},\"provenance\":{\"keys\":[\"ci\"],\"rebuild\":true}}" >p.json &&
	stele verify --policy p.json app:1 >out 2>/dev/null && cat out && grep -q "^ok   rebuild: identical" out
'
