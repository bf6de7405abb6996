#!/bin/sh
# stele serve's Flagger endpoint, POST /flagger: Flagger's webhook payload
# ({name, namespace, phase, checksum, metadata}) with the canary's images
# in metadata.images, sent with curl over TLS: 200 when every image
# verifies under the policy (Flagger goes on), 403 with every reason when
# one does not (unsigned-by-policy provenance, a tag-only reference), 400
# for a payload that is not Flagger's (the server keeps serving), 405 for
# another method.  audit-lib.sh's registry and images on 127.0.0.1.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/e2e/audit-lib.sh"
. "$TOP/tests/e2e/admission-lib.sh"

if ! command -v openssl >/dev/null 2>&1 || ! audit_setup; then
	test_skip 'flagger webhook' 'Debian docker-registry did not start on 127.0.0.1, or no openssl'
	exit 0
fi
admission_policy
if ! start_webhook --cache-ttl 60; then
	cat webhook.log
	test_expect_success 'the webhook starts' 'false'
	test_expect_success 'the Argo Rollouts web metric of docs/deploy/argo-analysis.yaml, as written: allowed, and a denial never reads as success' '
	/usr/bin/python3 - "$TOP/docs/deploy/argo-analysis.yaml" "$REG/app1:1@$V1" "$REG/app3:1@$V3" <<-PY &&
	import sys, yaml
	docs = list(yaml.safe_load_all(open(sys.argv[1])))
	web = [d for d in docs if d["metadata"]["name"] == "stele-verify"][0]["spec"]["metrics"][0]
	assert web["provider"]["web"]["url"].endswith("/flagger") and web["provider"]["web"]["jsonPath"] == "{\$.allowed}"
	assert web["successCondition"] == "result == true"
	body = web["provider"]["web"]["body"]
	open("argo-ok.json", "w").write(body.replace("{{args.image}}", sys.argv[2]))
	open("argo-bad.json", "w").write(body.replace("{{args.image}}", sys.argv[3]))
	canary = list(yaml.safe_load_all(open(sys.argv[1].replace("argo-analysis", "flagger-canary"))))[0]
	hooks = canary["spec"]["analysis"]["webhooks"]
	assert {h["type"] for h in hooks} == {"pre-rollout", "confirm-promotion"}
	assert all(h["url"].endswith("/flagger") and "@sha256:" in h["metadata"]["images"] for h in hooks)
	PY
	[ "$(post argo-ok.json out.json)" = 200 ] && [ "$(json_get out.json .allowed)" = True ] &&
	[ "$(post argo-bad.json out.json)" = 403 ] && [ "$(json_get out.json .allowed)" = False ]
'
test_done
fi
# flagger OUT [PHASE] IMAGES: POST a payload; prints the HTTP status.
flagger() {
	python3 -c 'import json,sys
json.dump({"name": "podinfo", "namespace": "test", "phase": sys.argv[1],
           "checksum": "6d6b6c6f", "metadata": {"images": sys.argv[2], "team": "web"}},
          open("payload.json", "w"))' "$2" "$3" &&
	post payload.json "$1"
}
post() { # FILE OUT [METHOD]
	curl -s --cacert cert.pem -H 'Content-Type: application/json' -X "${3:-POST}" \
		--data-binary @"$1" -o "$2" -w '%{http_code}' "https://$WH/flagger"
}

test_expect_success 'confirm-promotion of a signed image with signed provenance: 200' '
	[ "$(flagger out.json Promoting "$REG/app1:1@$V1")" = 200 ] &&
	python3 -c "
import json; d = json.load(open(\"out.json\"))
assert d[\"allowed\"] is True and d[\"reasons\"] == [], d
assert d[\"name\"] == \"podinfo\" and d[\"namespace\"] == \"test\" and d[\"phase\"] == \"Promoting\", d
"
'
test_expect_success 'one image without provenance among two: 403 naming it' '
	[ "$(flagger out.json Progressing "$REG/app1:1@$V1, $REG/app3:1@$V3")" = 403 ] &&
	python3 - "$REG/app3:1@$V3" <<-PY
	import json, sys
	d = json.load(open("out.json"))
	assert d["allowed"] is False and d["images"] == [d["images"][0], sys.argv[1]], d
	assert len(d["reasons"]) == 1 and d["reasons"][0].startswith("image %s: provenance:" % sys.argv[1]), d["reasons"]
	PY
'
test_expect_success 'a tag-only image: 403, saying how to pin it' '
	[ "$(flagger out.json Progressing "$REG/app1:1")" = 403 ] &&
	grep -q "is not pinned by digest" out.json
'
test_expect_success 'payloads that are not Flagger'"'"'s: 400 with the reason, and the server keeps serving' '
	echo "{not json" >p1 && [ "$(post p1 out)" = 400 ] &&
	echo "[1]" >p2 && [ "$(post p2 out)" = 400 ] && grep -q "a JSON object" out &&
	echo "{\"name\":\"a\",\"phase\":\"Progressing\",\"metadata\":{\"images\":\"x@sha256:00\"}}" >p3 &&
	[ "$(post p3 out)" = 400 ] && grep -q "needs name, namespace and phase" out &&
	echo "{\"name\":\"a\",\"namespace\":\"b\",\"phase\":\"Progressing\"}" >p4 &&
	[ "$(post p4 out)" = 400 ] && grep -q "metadata.images names no image" out &&
	echo "{\"name\":\"a\",\"namespace\":\"b\",\"phase\":\"Progressing\",\"metadata\":{\"images\":1}}" >p5 &&
	[ "$(post p5 out)" = 400 ] && grep -q "metadata.images is not a string" out &&
	echo "{\"name\":\"a\",\"namespace\":\"b\",\"phase\":\"Progressing\",\"image\":\"x\"}" >p6 &&
	[ "$(post p6 out)" = 400 ] && grep -q "unknown field .image." out &&
	echo "{\"name\":\"\",\"namespace\":\"b\",\"phase\":\"Progressing\",\"metadata\":{\"images\":\"x\"}}" >p7 &&
	[ "$(post p7 out)" = 400 ] && grep -q "name must be a non-empty string" out &&
	echo "{\"name\":\"a\",\"namespace\":\"b\",\"phase\":\"Progressing\",\"metadata\":{\"images\":\" , \"}}" >p8 &&
	[ "$(post p8 out)" = 400 ] &&
	[ "$(curl -s --cacert cert.pem -o /dev/null -w "%{http_code}" "https://$WH/healthz")" = 200 ] &&
	[ "$(flagger out.json Promoting "$REG/app1:1@$V1")" = 200 ]
'
test_expect_success 'GET /flagger: 405' '
	[ "$(post p1 out GET)" = 405 ]
'
test_expect_success 'the key that signed app2 revoked in the policy file: its next check is 403' '
	[ "$(flagger out.json Promoting "$REG/app2:1@$V2")" = 200 ] &&
	python3 -c "import json,sys; p=json.load(open(\"webhook.json\")); p[\"revoked\"]=[sys.argv[1]]; json.dump(p, open(\"webhook.json\",\"w\"))" "$(audit_key_id old.pub)" &&
	[ "$(flagger out.json Promoting "$REG/app2:1@$V2")" = 403 ] && grep -q "is revoked" out.json
'
test_expect_success 'the Argo Rollouts web metric of docs/deploy/argo-analysis.yaml, as written: allowed, and a denial never reads as success' '
	/usr/bin/python3 - "$TOP/docs/deploy/argo-analysis.yaml" "$REG/app1:1@$V1" "$REG/app3:1@$V3" <<-PY &&
	import sys, yaml
	docs = list(yaml.safe_load_all(open(sys.argv[1])))
	web = [d for d in docs if d["metadata"]["name"] == "stele-verify"][0]["spec"]["metrics"][0]
	assert web["provider"]["web"]["url"].endswith("/flagger") and web["provider"]["web"]["jsonPath"] == "{\$.allowed}"
	assert web["successCondition"] == "result == true"
	body = web["provider"]["web"]["body"]
	open("argo-ok.json", "w").write(body.replace("{{args.image}}", sys.argv[2]))
	open("argo-bad.json", "w").write(body.replace("{{args.image}}", sys.argv[3]))
	canary = list(yaml.safe_load_all(open(sys.argv[1].replace("argo-analysis", "flagger-canary"))))[0]
	hooks = canary["spec"]["analysis"]["webhooks"]
	assert {h["type"] for h in hooks} == {"pre-rollout", "confirm-promotion"}
	assert all(h["url"].endswith("/flagger") and "@sha256:" in h["metadata"]["images"] for h in hooks)
	PY
	[ "$(post argo-ok.json out.json)" = 200 ] && [ "$(json_get out.json .allowed)" = True ] &&
	[ "$(post argo-bad.json out.json)" = 403 ] && [ "$(json_get out.json .allowed)" = False ]
'
test_done
