# shellcheck shell=sh
# Shared by t70-t71 (stele audit): a registry on 127.0.0.1 holding a
# base image (imported, with its provenance) and four images built on it,
# each in its own repository, with the builder's provenance:
#   app1  signed by rm (the release manager): passes
#   app2  signed by old, a key the audit policy has revoked since
#   app3  signed by rm, copied without its provenance
#   app4  signed by rm, built (its provenance says) on 2025-01-01: older
#         than the policy's 30 days
# push.json (what let them in) trusts rm and old and asks for no
# provenance; audit.json (what holds now) revokes old, wants provenance
# signed by the builder key and images at most 30 days old.  Sourced after
# lib.sh.
export STELE_PASSWORD=pw STELE_CACHE="$TMP/cache" STELE_QUIET=1

# The key id (hex SHA-256 of the SPKI DER) of a public key file.
audit_key_id() {
	python3 -c 'import hashlib,base64,sys
l=open(sys.argv[1]).read().strip().split("\n")
print(hashlib.sha256(base64.b64decode("".join(l[1:-1]))).hexdigest())' "$1"
}

# backdate STORE DIGEST TIME OUT: rewrite the provenance referrer of
# DIGEST in the store as if the build had run at TIME, and write the new
# statement to OUT; stele attest then signs it with the builder's key.
backdate() {
	python3 - "$@" <<'PY'
import hashlib, json, os, sys
layout, digest, when, out = sys.argv[1:]
def blob(d):
    return os.path.join(layout, "blobs", "sha256", d[7:])
def put(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    open(blob(d), "wb").write(data)
    return d, len(data)
idx = json.load(open(os.path.join(layout, "index.json")))
for m in idx["manifests"]:
    if m.get("artifactType") != "application/vnd.in-toto+json":
        continue
    man = json.load(open(blob(m["digest"])))
    if man.get("subject", {}).get("digest") != digest:
        continue
    st = json.load(open(blob(man["layers"][0]["digest"])))
    st["predicate"]["runDetails"]["metadata"] = {"startedOn": when, "finishedOn": when}
    body = json.dumps(st, sort_keys=True, separators=(",", ":")).encode()
    open(out, "wb").write(body)
    man["layers"][0]["digest"], man["layers"][0]["size"] = put(body)
    m["digest"], m["size"] = put(json.dumps(man, sort_keys=True, separators=(",", ":")).encode())
    break
else:
    sys.exit("no provenance referrer of " + digest)
with open(os.path.join(layout, "index.json"), "w") as f:
    json.dump(idx, f, sort_keys=True, separators=(",", ":"))
PY
}

audit_setup() {
	start_registry || return 1
	make_busybox_base bb:1 &&
	for k in rm old builder; do
		stele keygen --output-prefix $k >/dev/null 2>&1 || return 1
	done &&
	cat >push.json <<POL &&
{"keys": {"rm": {"path": "rm.pub"}, "old": {"path": "old.pub"}},
 "signatures": {"threshold": 1}}
POL
	stele push --insecure-skip-verify --tls-verify=false bb:1 "docker://$REG/base/bb:1" \
		>/dev/null 2>&1 &&
	BD=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/base/bb:1") &&
	for v in 1 2 3 4; do
		mkdir -p "c$v" && echo "version $v" >"c$v/version" &&
		printf 'FROM %s/base/bb:1@%s\nCOPY version /version\nUSER 1000\n' "$REG" "$BD" \
			>"c$v/Dockerfile" || return 1
	done &&
	for v in 1 2 3; do
		stele build -q --tls-verify=false --sign-key builder.key -t "app$v:1" "c$v" \
			>"v$v.digest" 2>/dev/null || return 1
	done &&
	stele build -q --tls-verify=false -t app4:1 c4 >v4.digest 2>/dev/null &&
	V1=$(cat v1.digest) && V2=$(cat v2.digest) && V3=$(cat v3.digest) &&
	V4=$(cat v4.digest) &&
	backdate "$STELE_STORE" "$V4" 2025-01-01T00:00:00Z old.json &&
	stele attest --key builder.key app4:1 >/dev/null 2>&1 &&
	stele copy -q --no-attachments app3:1 oci:bare:1 >/dev/null 2>&1 &&
	stele sign --key rm.key --identity "$REG/app1:1" app1:1 >/dev/null 2>&1 &&
	stele sign --key old.key --identity "$REG/app2:1" app2:1 >/dev/null 2>&1 &&
	stele sign --key rm.key --identity "$REG/app3:1" oci:bare:1 >/dev/null 2>&1 &&
	stele sign --key rm.key --identity "$REG/app4:1" app4:1 >/dev/null 2>&1 &&
	for v in 1 2 4; do
		stele push --policy push.json --tls-verify=false "app$v:1" \
			"docker://$REG/app$v:1" >/dev/null 2>&1 || return 1
	done &&
	stele push --policy push.json --tls-verify=false oci:bare:1 \
		"docker://$REG/app3:1" >/dev/null 2>&1 &&
	cat >audit.json <<POL &&
{"keys": {"rm": {"path": "rm.pub"}, "old": {"path": "old.pub"},
          "builder": {"path": "builder.pub"}},
 "revoked": ["$(audit_key_id old.pub)"],
 "signatures": {"keys": ["rm", "old"], "threshold": 1},
 "provenance": {"keys": ["builder"]},
 "image": {"maxAgeDays": 30}}
POL
	export V1 V2 V3 V4 BD
}

# stele audit with the test's registry options.
audit() {
	stele audit --tls-verify=false "$@"
}
