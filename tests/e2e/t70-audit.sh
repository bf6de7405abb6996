#!/bin/sh
# stele audit over a fixture list of deployed images in a registry on
# 127.0.0.1: it finds exactly the image signed by a key revoked since, the
# one without provenance and the one older than the policy's age limit,
# and passes the rest; ages come from the provenance, not `created`.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/e2e/audit-lib.sh"

if ! audit_setup; then
	test_skip 'audit' 'Debian docker-registry did not start on 127.0.0.1'
	exit 0
fi
# Each image by tag, app1 also by digest (one digest, two references).
printf '# deployed\n%s/app1:1\n\n%s/app2:1\n%s/app3:1\n  %s/app4:1\n%s/app1@%s\n' \
	"$REG" "$REG" "$REG" "$REG" "$REG" "$V1" >list

# The digests whose result has PART.ok false, one a line.
failing() {
	python3 -c 'import json,sys
for r in json.load(open(sys.argv[1]))["results"]:
    p = r.get(sys.argv[2], {})
    if p.get("ok") is False: print(r["digest"])' "$1" "$2" | sort
}

test_expect_success 'audit --json exits 1 and names exactly the failing images' '
	expect_code 1 audit --policy audit.json --images list --json >a.json 2>err; cat err &&
	[ "$(failing a.json signature)" = "$V2" ] &&
	[ "$(failing a.json provenance)" = "$V3" ] &&
	[ "$(json_get a.json .stale)" = "[\"$V4\"]" ] &&
	python3 -c "import json,sys
r = {x[\"digest\"]: x for x in json.load(open(\"a.json\"))[\"results\"]}
assert sorted(d for d in r if r[d][\"allowed\"]) == [sys.argv[1]], r
assert r[sys.argv[2]][\"provenance\"][\"present\"] is False
assert r[sys.argv[3]][\"age\"][\"built\"] == \"2025-01-01T00:00:00Z\"
assert r[sys.argv[3]][\"age\"][\"days\"] > 30
assert r[sys.argv[1]][\"age\"][\"days\"] == 0 and r[sys.argv[1]][\"age\"][\"ok\"]
assert any(\"revoked\" in s for s in r[sys.argv[4]][\"reasons\"])
assert r[sys.argv[1]][\"bases\"][0][\"digest\"] == sys.argv[5]
assert r[sys.argv[1]][\"bases\"][0][\"days\"] == 0
" "$V1" "$V3" "$V4" "$V2" "$BD"
'

test_expect_success 'counts: 5 references, 4 images, 4 digests, 1 base image; app1 once with both names' '
	[ "$(json_get a.json .summary.references)" = 5 ] &&
	[ "$(json_get a.json .summary.images)" = 4 ] &&
	[ "$(json_get a.json .summary.digests)" = 4 ] &&
	[ "$(json_get a.json .summary.baseImages)" = 1 ] &&
	[ "$(json_get a.json .summary.passed)" = 1 ] &&
	[ "$(json_get a.json .summary.failed)" = 3 ] &&
	python3 -c "import json,sys
r = [x for x in json.load(open(\"a.json\"))[\"results\"] if x[\"digest\"] == sys.argv[1]][0]
assert r[\"references\"] == [sys.argv[2] + \"/app1:1\", sys.argv[2] + \"/app1@\" + sys.argv[1]], r
" "$V1" "$REG"
'

test_expect_success 'the age is the provenance build time, not created (the epoch): no image fails on created' '
	! grep -q "maximum age" a.json
'

test_expect_success 'the table: one row per digest, reasons under it, the stale list' '
	expect_code 1 audit --policy audit.json --images list >t 2>err; cat t &&
	grep -q "^DIGEST  *SIGNATURE  *PROVENANCE  *AGE  *BASE AGE  *RESULT  *IMAGE" t &&
	[ "$(grep -c "^sha256:" t)" = 4 ] &&
	grep -q "key .old. (.*) is revoked" t &&
	grep -q "provenance: none is stored with the image" t &&
	grep -q "not rebuilt within 30 days" t &&
	grep -q "5 references, 4 images, 4 digests, 1 base images: 1 passed, 3 failed" t &&
	grep -q "^  $V4\$" t
'

test_expect_success 'only the passing image: exit 0' '
	printf "%s/app1:1\n" "$REG" >good &&
	audit --policy audit.json --images good >t 2>err && cat t &&
	grep -q "1 passed, 0 failed" t
'

test_expect_success 'the policy as it reads now: unrevoke old and app2 passes' '
	sed "/revoked/d" audit.json >now.json &&
	printf "%s/app2:1\n" "$REG" >l2 &&
	audit --policy now.json --images l2 >t 2>err && cat t && grep -q "1 passed" t &&
	expect_code 1 audit --policy audit.json --images l2 >/dev/null 2>&1
'

test_expect_success 'a reference that is not in the registry is a failing result, the rest are audited' '
	printf "%s/nothere:1\n%s/app1:1\n" "$REG" "$REG" >l3 &&
	expect_code 1 audit --policy audit.json --images l3 --json >m.json 2>err &&
	[ "$(json_get m.json .summary.passed)" = 1 ] &&
	[ "$(json_get m.json .summary.failed)" = 1 ] &&
	[ "$(json_get m.json .results[1].digest)" = None ] &&
	grep -q "nothere" m.json
'

test_expect_success 'audit reads the registry only: every tag is where it was' '
	for v in 1 2 3 4; do
		skopeo inspect --tls-verify=false --format "{{.Digest}}" \
			"docker://$REG/app$v:1" || return 1
	done >after && [ "$(cat after)" = "$(printf "%s\n" "$V1" "$V2" "$V3" "$V4")" ]
'

test_done
