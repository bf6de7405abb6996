#!/bin/sh
# The rollout journal is tamper-evident: an entry edited, dropped,
# reordered, signed by a key the policy does not trust, copied from another
# repository's journal, a journal cut short, or something else under its
# tag stops the rollout (and status) and moves nothing.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/e2e/rollout-lib.sh"

if ! rollout_setup; then
	test_skip 'rollout journal' 'Debian docker-registry did not start on 127.0.0.1'
	exit 0
fi
R="docker://$REG/app"
P="--policy policy.json --key deploy.key"

# j.py REPO OP [ARG]: rewrite the journal of REPO through the registry API,
# as someone with write access to the registry could.
cat >j.py <<'PY'
import base64, hashlib, http.client, json, sys
reg, repo, op = sys.argv[1], sys.argv[2], sys.argv[3]
arg = sys.argv[4:]
MT = "application/vnd.oci.image.manifest.v1+json"
def req(method, path, body=None, headers={}):
    c = http.client.HTTPConnection(reg)
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    return r, r.read()
def manifest(r_, ref):
    r, b = req("GET", "/v2/%s/manifests/%s" % (r_, ref), headers={"Accept": MT})
    assert r.status == 200, (r.status, b)
    return b
def blob(r_, d):
    r, b = req("GET", "/v2/%s/blobs/%s" % (r_, d))
    assert r.status == 200
    return b
def upload(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    r, _ = req("POST", "/v2/%s/blobs/uploads/" % repo)
    loc = r.getheader("Location")
    loc = loc[loc.index("/v2/"):]
    r, b = req("PUT", loc + ("&" if "?" in loc else "?") + "digest=" + d, body=data,
               headers={"Content-Type": "application/octet-stream"})
    assert r.status == 201, (r.status, b)
    return {"mediaType": "application/vnd.dsse.envelope.v1+json", "digest": d, "size": len(data)}
def put(m, raw=None):
    data = raw if raw is not None else json.dumps(m, separators=(",", ":"), sort_keys=True).encode()
    r, b = req("PUT", "/v2/%s/manifests/stele-journal" % repo, body=data, headers={"Content-Type": MT})
    assert r.status == 201, (r.status, b)
if op == "save":
    open(arg[0], "wb").write(manifest(repo, "stele-journal")); sys.exit(0)
if op == "restore":
    put(None, open(arg[0], "rb").read()); sys.exit(0)
m = json.loads(manifest(repo, "stele-journal"))
L = m["layers"]
if op == "edit":
    k = int(arg[0])
    env = json.loads(blob(repo, L[k]["digest"]))
    st = json.loads(base64.b64decode(env["payload"]))
    st[arg[1]] = arg[2]
    env["payload"] = base64.b64encode(json.dumps(st, separators=(",", ":"), sort_keys=True).encode()).decode()
    L[k] = upload(json.dumps(env, separators=(",", ":"), sort_keys=True).encode())
elif op == "drop":
    del L[int(arg[0])]
elif op == "swap":
    i, j = int(arg[0]), int(arg[1]); L[i], L[j] = L[j], L[i]
elif op == "import":
    o = json.loads(manifest(arg[0], "stele-journal"))
    L[:] = [upload(blob(arg[0], l["digest"])) for l in o["layers"]]
elif op == "image":
    m = json.loads(manifest(repo, arg[0]))
put(m)
PY
jr() { python3 j.py "$REG" "$@"; }

# denied HOW: promote and status stop with that message; nothing moves.
stopped() {
	expect_code 1 rollout promote --policy policy.json --key deploy.key "$R" 2>err; cat err
	grep -q "$1" err && [ "$(tag_digest live)" = "$V1" ] &&
	expect_code 1 rollout status --policy policy.json "$R" 2>err && grep -q "$1" err
}

test_expect_success 'v1 live, v2 staged: three entries' '
	rollout stage $P app:1 "$R" >/dev/null 2>err && rollout promote $P "$R" >/dev/null 2>>err &&
	rollout stage $P app:2 "$R" >/dev/null 2>>err; cat err &&
	rollout status --policy policy.json "$R" >/dev/null && jr app save good.json &&
	[ "$(tag_digest live)" = "$V1" ]
'

test_expect_success 'an edited entry (who moved) is detected: its signature no longer verifies' '
	jr app edit 1 by mallory && stopped "entry 1: the signature by key .* does not verify (the entry was changed after it was signed)" &&
	expect_code 1 rollout status "$R" 2>err && grep -q "does not verify" err
'

test_expect_success 'an edited entry (where a tag went) is detected' '
	jr app restore good.json && jr app edit 2 to "$V3" && stopped "entry 2: the signature"
'

test_expect_success 'a journal cut short (last entry dropped) is detected from the tags' '
	jr app restore good.json && jr app drop 2 &&
	stopped "tag .green. of $REG/app names $V2, but its rollout journal (2 entries) says nothing: the journal was cut short"
'

test_expect_success 'an entry dropped from the middle breaks the chain' '
	jr app restore good.json && jr app drop 1 && stopped "entry 1: it does not follow entry"
'

test_expect_success 'entries reordered are detected' '
	jr app restore good.json && jr app swap 1 2 && stopped "entry 1: it does not follow entry"
'

test_expect_success 'another repository'"'"'s journal put in its place is detected' '
	stele sign --key rm.key --identity "$REG/other:v1" app:1 >/dev/null 2>&1 &&
	rollout stage $P app:1 "docker://$REG/other" >/dev/null 2>err &&
	rollout promote $P "docker://$REG/other" >/dev/null 2>>err; cat err &&
	jr app import other && stopped "it belongs to the journal of $REG/other"
'

test_expect_success 'something that is not a journal under its tag is detected' '
	jr app restore good.json && jr app image live && stopped "tag .stele-journal. of $REG/app is not a rollout journal"
'

test_expect_success 'entries signed by a key the policy does not trust are refused' '
	jr app restore good.json &&
	sed "s/\"deploy\": {\"path\": \"deploy.pub\"}/&, \"other\": {\"path\": \"other.pub\"}/" policy.json >p2.json &&
	rollout promote --policy p2.json --key other.key "$R" >/dev/null 2>err; cat err &&
	[ "$(tag_digest live)" = "$V2" ] &&
	expect_code 1 rollout rollback $P "$R" 2>err; cat err &&
	grep -q "entry 3: signed by key .*, which the policy does not trust" err && [ "$(tag_digest live)" = "$V2" ] &&
	rollout status "$R" >st && grep -q "checked: signatures only" st
'

test_expect_success 'restored, the journal is whole again' '
	jr app restore good.json &&
	skopeo copy -q --src-tls-verify=false --dest-tls-verify=false "docker://$REG/app@$V1" "docker://$REG/app:live" &&
	rollout status --policy policy.json "$R" >st && grep -q "journal  stele-journal: 3 entries" st &&
	rollout promote $P "$R" >/dev/null && [ "$(tag_digest live)" = "$V2" ]
'

test_done
