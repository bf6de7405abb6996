#!/bin/sh
# stele audit: the kubectl pods JSON as input (containers, init and
# ephemeral containers), the SARIF 2.1.0 log (checked against the SARIF
# schema from the npm registry where npm reaches it, else by structure),
# and every malformed list and usage refused.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/e2e/audit-lib.sh"

if ! audit_setup; then
	test_skip 'audit' 'Debian docker-registry did not start on 127.0.0.1'
	exit 0
fi
cat >pods.json <<EOF2
{"apiVersion": "v1", "kind": "List", "items": [
 {"kind": "Pod", "metadata": {"name": "a", "namespace": "prod"},
  "spec": {"containers": [{"name": "app", "image": "$REG/app1:1"}],
           "initContainers": [{"name": "init", "image": "$REG/app2:1"}]}},
 {"metadata": {"name": "b", "namespace": "batch"},
  "spec": {"containers": [{"name": "app", "image": "$REG/app1@$V1"},
                          {"name": "side", "image": "$REG/app3:1"}],
           "ephemeralContainers": [{"name": "dbg", "image": "$REG/app4:1"}]}}]}
EOF2

test_expect_success 'kubectl get pods -A -o json: every container kind is audited' '
	expect_code 1 audit --policy audit.json --images pods.json --json >k.json 2>err; cat err &&
	[ "$(json_get k.json .summary.references)" = 5 ] &&
	[ "$(json_get k.json .summary.digests)" = 4 ] &&
	[ "$(json_get k.json .summary.passed)" = 1 ] &&
	[ "$(json_get k.json .stale)" = "[\"$V4\"]" ]
'

test_expect_success 'one Pod object, and a list on standard input' '
	python3 -c "import json; p=json.load(open(\"pods.json\"))[\"items\"][0]; json.dump(p, open(\"pod.json\", \"w\"))" &&
	expect_code 1 audit --policy audit.json --images pod.json --json >p.json 2>/dev/null &&
	[ "$(json_get p.json .summary.references)" = 2 ] &&
	printf "%s/app1:1\n" "$REG" | audit --policy audit.json --images - >/dev/null 2>&1
'

test_expect_success 'SARIF: one error result per failure, rules and levels' '
	expect_code 1 audit --policy audit.json --images pods.json --sarif >s.sarif 2>err &&
	python3 -c "import json,sys
s = json.load(open(\"s.sarif\"))
assert s[\"version\"] == \"2.1.0\" and len(s[\"runs\"]) == 1
run = s[\"runs\"][0]
assert run[\"tool\"][\"driver\"][\"name\"] == \"stele\"
ids = [r[\"id\"] for r in run[\"tool\"][\"driver\"][\"rules\"]]
by = {}
for r in run[\"results\"]:
    assert r[\"message\"][\"text\"] and r[\"level\"] in (\"error\", \"warning\")
    assert ids[r[\"ruleIndex\"]] == r[\"ruleId\"]
    by.setdefault(r[\"ruleId\"], set()).add(r[\"properties\"][\"digest\"])
assert by[\"stele/signature\"] == {sys.argv[1]}, by
assert by[\"stele/provenance\"] == {sys.argv[2]}, by
assert by[\"stele/age\"] == {sys.argv[2], sys.argv[3]}, by
assert sys.argv[4] not in set().union(*by.values())
" "$V2" "$V3" "$V4" "$V1"
'

# The SARIF 2.1.0 schema (OASIS, tests/data/schemas), draft-04, checked with
# Debian's python3-jsonschema: an independent validator, offline.
SCHEMA=$TOP/tests/data/schemas/sarif-schema-2.1.0.json
if python3 -c 'import jsonschema' 2>/dev/null; then
	test_expect_success 'SARIF validates against the SARIF 2.1.0 JSON schema, and a broken log does not' '
		python3 -c "import json,sys,jsonschema
v = jsonschema.Draft4Validator(json.load(open(sys.argv[1])))
log = json.load(open(\"s.sarif\"))
v.validate(log)
log[\"runs\"][0][\"results\"][0][\"level\"] = \"fatal\"
assert not v.is_valid(log)
del log[\"version\"]
assert not v.is_valid(log)" "$SCHEMA"
	'
else
	test_skip 'SARIF schema' 'no python3-jsonschema (scripts/deps.sh test installs it): checked by structure only'
fi

test_expect_success 'malformed lists are refused (exit 3) naming the place' '
	printf "{\"items\": [{\"spec\": {}}, 3]}" >bad1 &&
	expect_code 3 audit --policy audit.json --images bad1 2>err && grep -q "items\[1\]" err &&
	printf "{\"items\": [{\"spec\": {\"containers\": [{\"image\": 5}]}}]}" >bad2 &&
	expect_code 3 audit --policy audit.json --images bad2 2>err &&
	grep -q "items\[0\].spec.containers\[0\].image is not a string" err &&
	printf "{\"items\": [{\"spec\": {\"containers\": {}}}]}" >bad3 &&
	expect_code 3 audit --policy audit.json --images bad3 2>err && grep -q "not an array" err &&
	printf "{\"kind\": \"Deployment\"}" >bad4 &&
	expect_code 3 audit --policy audit.json --images bad4 2>err && grep -q "neither a List" err &&
	printf "{\"items\": [{\"kind\": \"Service\", \"spec\": {}}]}" >bad5 &&
	expect_code 3 audit --policy audit.json --images bad5 2>err && grep -q "a Service, not a Pod" err &&
	printf "{\"items\": [" >bad6 &&
	expect_code 3 audit --policy audit.json --images bad6 2>/dev/null &&
	printf "# nothing\n\n" >bad7 &&
	expect_code 3 audit --policy audit.json --images bad7 2>err && grep -q "no images" err &&
	printf "%s/app1:1 %s/app2:1\n" "$REG" "$REG" >bad8 &&
	expect_code 3 audit --policy audit.json --images bad8 2>err && grep -q "line 1" err &&
	printf "{\"items\": [{\"spec\": {\"containers\": [{\"image\": \"\"}]}}]}" >bad9 &&
	expect_code 3 audit --policy audit.json --images bad9 2>err && grep -q "empty image" err
'

test_expect_success 'a reference that is not a registry image fails its result' '
	printf "oci:somewhere:1\n%s/app1:1\n" "$REG" >l4 &&
	expect_code 1 audit --policy audit.json --images l4 --json >o.json 2>/dev/null &&
	grep -q "oci:somewhere:1" o.json
'

test_expect_success 'usage and policy errors' '
	expect_code 2 audit --policy audit.json 2>/dev/null &&
	expect_code 2 audit --images pods.json 2>/dev/null &&
	expect_code 2 audit --policy audit.json --images pods.json --json --sarif 2>/dev/null &&
	expect_code 2 audit --policy audit.json --images pods.json extra 2>/dev/null &&
	expect_code 3 audit --policy nothere.json --images pods.json 2>/dev/null &&
	echo "{\"signatures\": {\"threshold\": 1}, \"typo\": 1}" >badpol.json &&
	expect_code 3 audit --policy badpol.json --images pods.json 2>/dev/null &&
	expect_code 3 audit --policy audit.json --images nothere 2>/dev/null
'

test_done
