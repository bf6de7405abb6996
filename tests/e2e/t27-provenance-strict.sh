#!/bin/sh
# Provenance read back strictly, and hermeticity proven over every step that
# contributed to the image: through COPY --from of stages, through cached
# steps, and never claimed by a provenance without step records.
. "$(dirname "$0")/lib.sh"

export STELE_PASSWORD=pw STELE_CACHE="$TMP/cache"
FORGE="/usr/bin/python3 $TOP/tests/e2e/forge.py"
for k in rm ci; do stele keygen --output-prefix $k >/dev/null 2>&1; done
make_busybox_base "oci:$TMP/base:bb"
BASE=$(python3 -c "import json;print(json.load(open('base/index.json'))['manifests'][0]['digest'])")

cat >policy.json <<EOF2
{"keys": {"rm": {"path": "rm.pub"}, "ci": {"path": "ci.pub"}},
 "signatures": {"keys": ["rm"], "threshold": 1},
 "provenance": {"required": true, "keys": ["ci"], "hermetic": true}}
EOF2

# build_sign TAG RECIPE: build from a git repo holding RECIPE, attest, sign
build_sign() {
	# shellcheck disable=SC2059 # RECIPE is a printf format: the base's dir and digest go into it
	rm -rf "app-$1" && mkdir "app-$1" && git -C "app-$1" init -q -b main &&
	echo data >"app-$1/f" && printf "$2" "$TMP" "$BASE" >"app-$1/Dockerfile" &&
	git_commit "app-$1" v1 &&
	stele build -t "app:$1" "git+file://$TMP/app-$1#main" >/dev/null 2>"build-$1.err" &&
	stele attest --key ci.key "app:$1" >/dev/null 2>&1 &&
	stele sign --key rm.key "app:$1" >/dev/null 2>&1
}
verdict() { # TAG: prints the report, returns verify's exit code
	stele verify --policy policy.json "app:$1" >out 2>&1; rc=$?; cat out; return $rc
}

STAGED='FROM oci:%s/base@%s AS fetch\nRUN --network=host echo fetched >/got\nFROM scratch\nCOPY --from=fetch /got /got\n'

test_expect_success 'hermetic: a RUN with network in a stage copied from is denied, naming it' '
	build_sign staged "$STAGED" &&
	expect_code 1 verdict staged &&
	grep -q "^FAIL hermetic: stage .fetch. line 2 (RUN --network=host echo fetched >/got), copied by line 4 (COPY --from=fetch /got /got) ran with --network=host" out
'

test_expect_success 'hermetic: the same through a cached build (the records come from this build)' '
	build_sign staged2 "$STAGED" &&
	stele build -t app:staged2 "git+file://$TMP/app-staged2#main" 2>err >/dev/null &&
	grep -q "2 steps from the cache" err &&
	stele attest --key ci.key app:staged2 >/dev/null 2>&1 &&
	stele sign --key rm.key app:staged2 >/dev/null 2>&1 &&
	expect_code 1 verdict staged2 && grep -q "^FAIL hermetic: stage .fetch." out
'

test_expect_success 'hermetic: a cached COPY --from never carries another build'"'"'s network mode' '
	build_sign clean "FROM oci:%s/base@%s AS fetch\nRUN echo fetched >/got\nFROM scratch\nCOPY --from=fetch /got /got\n" &&
	verdict clean && grep -q "^ok   hermetic: every step" out &&
	build_sign dirty "$STAGED" && cat build-dirty.err &&
	grep -A1 "RUN --network=host" build-dirty.err | grep -q "layer sha256" &&
	grep -A1 "COPY --from=fetch" build-dirty.err | grep -q "cache hit" &&
	stele inspect --json app:dirty >j && grep -q "\"network\": \"host\"" j &&
	expect_code 1 verdict dirty
'

test_expect_success 'hermetic: a stage with network that does not contribute is allowed' '
	build_sign unused "FROM oci:%s/base@%s AS fetch\nRUN --network=host true\nFROM scratch\nCOPY f /f\n" &&
	verdict unused && grep -q "^ok   hermetic" out
'

test_expect_success 'cached and uncached provenance record the same steps' '
	build_sign twice "$STAGED" &&
	stele inspect --json app:twice >a.json &&
	stele build -q --no-cache -t app:twice "git+file://$TMP/app-twice#main" >/dev/null &&
	stele inspect --json app:twice >b.json &&
	python3 - a.json b.json <<-PY
	import json, sys
	a, b = (json.load(open(f)) for f in sys.argv[1:])
	pa = [l["provenance"] for l in a["layers"]]
	pb = [l["provenance"] for l in b["layers"]]
	assert pa == pb, (pa, pb)
	assert pa[-1]["inputs"][0]["steps"], pa[-1]
	PY
'

# Statements made by hand, attested with the provenance key.
statement() { # TAG SED-EXPR: the stored statement, edited
	stele inspect --json "app:$1" >/dev/null &&
	python3 - "$STELE_STORE" "$(cat "digest-$1")" <<-PY | sed "$2"
	import json, sys
	d, dg = sys.argv[1], sys.argv[2]
	b = lambda g: open(d + "/blobs/sha256/" + g.split(":")[1], "rb").read()
	for m in json.load(open(d + "/index.json"))["manifests"]:
	    if m.get("artifactType") == "application/vnd.in-toto+json" and \
	       m["annotations"].get("dev.stele.subject") == dg:
	        man = json.loads(b(m["digest"]))
	        sys.stdout.write(b(man["layers"][0]["digest"]).decode())
	        break
	PY
}
forged_store() { # TAG STATEMENT_FILE: a store with only that attestation
	rm -rf "$STELE_STORE" && cp -a "bare-$1" "$STELE_STORE" &&
	$FORGE dsse "$STELE_STORE" "$(cat "digest-$1")" ci.key pw application/vnd.in-toto+json "$2" &&
	stele sign --key rm.key "app:$1" >/dev/null 2>&1
}

test_expect_success 'setup: a hermetic image and its statement' '
	rm -rf app-h && mkdir app-h && git -C app-h init -q -b main && echo data >app-h/f &&
	printf "FROM oci:%s/base@%s\nCOPY f /f\n" "$TMP" "$BASE" >app-h/Dockerfile && git_commit app-h v1 &&
	stele build -q -t app:h "git+file://$TMP/app-h#main" >digest-h &&
	cp -a "$STELE_STORE" bare-h &&
	statement h "" >good.json && python3 -m json.tool good.json >/dev/null
'

test_expect_success 'provenance from another builder cannot claim hermeticity' '
	sed "s|https://stele.dev/buildtypes/recipe/v1|https://example.com/other-builder/v1|" good.json >other.json &&
	forged_store h other.json &&
	expect_code 1 verdict h &&
	grep -q "^ok   attestation .*(from another builder)" out &&
	grep -q "^FAIL hermetic: the provenance is from builder .* which records no steps" out
'

test_expect_success 'provenance without a record for every layer cannot claim hermeticity' '
	python3 -c "import json,sys;s=json.load(open(\"good.json\"));s[\"predicate\"][\"runDetails\"][\"byproducts\"].pop();print(json.dumps(s))" >short.json &&
	forged_store h short.json &&
	expect_code 1 verdict h && grep -q "^FAIL hermetic: layer 2 (sha256:.*) has no step record" out
'

test_expect_success 'strict reader: a renamed field is an error naming it, never "(none)"' '
	sed "s|\"recipe\":{\"digest\"|\"recipee\":{\"digest\"|" good.json >renamed.json &&
	! cmp -s good.json renamed.json &&
	forged_store h renamed.json &&
	expect_code 1 verdict h &&
	grep -q "^FAIL attestation .*unknown field .recipee. in externalParameters" out
'

test_expect_success 'strict reader: a missing field and a wrong type are errors naming them' '
	python3 -c "import json;s=json.load(open(\"good.json\"));del s[\"predicate\"][\"buildDefinition\"][\"internalParameters\"][\"sourceDateEpoch\"];print(json.dumps(s))" >missing.json &&
	forged_store h missing.json &&
	expect_code 1 verdict h && grep -q "^FAIL attestation .*internalParameters has no .sourceDateEpoch." out &&
	python3 -c "import json;s=json.load(open(\"good.json\"));s[\"predicate\"][\"runDetails\"][\"byproducts\"][0][\"annotations\"][\"line\"]=\"1\";print(json.dumps(s))" >type.json &&
	forged_store h type.json &&
	expect_code 1 verdict h && grep -q "^FAIL attestation .*byproducts\[0\].annotations.line is not an integer" out
'

test_expect_success 'strict reader: a run step with an unknown network mode is an error' '
	build_sign netx "FROM oci:%s/base@%s\nRUN true\n" &&
	stele build -q -t app:netx "git+file://$TMP/app-netx#main" >digest-netx &&
	rm -rf bare-netx && cp -a "$STELE_STORE" bare-netx &&
	statement netx "s|\"network\":\"none\"|\"network\":\"bridge\"|" >netx.json &&
	grep -q bridge netx.json && forged_store netx netx.json &&
	stele verify --policy policy.json app:netx >out 2>&1; cat out &&
	grep -q "^FAIL attestation .*network is .bridge. (want none or host)" out
'

test_expect_success 'inspect says when the stored provenance does not read' '
	rm -rf "$STELE_STORE" && cp -a bare-h "$STELE_STORE" &&
	python3 - "$STELE_STORE" <<-PY &&
	import hashlib, json, os, sys
	d = sys.argv[1]
	p = lambda g: d + "/blobs/sha256/" + g.split(":")[1]
	idx = json.load(open(d + "/index.json"))
	for m in idx["manifests"]:
	    if m.get("artifactType") == "application/vnd.in-toto+json":
	        man = json.load(open(p(m["digest"])))
	        st = json.load(open(p(man["layers"][0]["digest"])))
	        st["predicate"]["runDetails"]["extra"] = 1
	        data = json.dumps(st).encode()
	        dg = "sha256:" + hashlib.sha256(data).hexdigest()
	        open(p(dg), "wb").write(data)
	        man["layers"][0]["digest"] = dg; man["layers"][0]["size"] = len(data)
	        mdata = json.dumps(man).encode()
	        mdg = "sha256:" + hashlib.sha256(mdata).hexdigest()
	        open(p(mdg), "wb").write(mdata)
	        m["digest"] = mdg; m["size"] = len(mdata)
	json.dump(idx, open(d + "/index.json", "w"))
	PY
	stele inspect app:h >out 2>err && cat err &&
	grep -q "warning: the provenance of sha256:.*unknown field .extra. in predicate.runDetails" err
'

test_done
