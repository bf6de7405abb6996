#!/bin/sh
# stele serve --admission: images verified against the policy (signatures,
# provenance), verdicts cached by digest and never past a change to the
# policy file (a key revoked takes effect on the next review), an invalid
# policy denies everything, an image the registry lacks is denied.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/e2e/audit-lib.sh"
. "$TOP/tests/e2e/admission-lib.sh"

if ! command -v openssl >/dev/null 2>&1 || ! audit_setup; then
	test_skip 'admission' 'Debian docker-registry did not start on 127.0.0.1, or no openssl'
	exit 0
fi
admission_policy
cp webhook.json good.json
if ! start_webhook --cache-ttl 300; then
	cat webhook.log
	test_expect_success 'the webhook starts' 'false'
	test_done
fi

test_expect_success 'signed by an allowed key with signed provenance: allowed' '
	fixture a.json Pod "$REG/app1:1@$V1" &&
	[ "$(review a.json out.json)" = 200 ] && [ "$(allowed out.json)" = True ]
'

test_expect_success 'no provenance: denied, the reason names it' '
	fixture b.json Pod "$REG/app3:1@$V3" &&
	[ "$(review b.json out.json)" = 200 ] && [ "$(allowed out.json)" = False ] &&
	message out.json | grep -q "image $REG/app3:1@$V3: provenance: no SLSA provenance signed by an allowed key"
'

test_expect_success 'signed by old: allowed while the policy trusts old' '
	fixture c.json Deployment "$REG/app2:1@$V2" &&
	[ "$(review c.json out.json)" = 200 ] && [ "$(allowed out.json)" = True ] &&
	[ "$(review c.json out.json)" = 200 ] && [ "$(allowed out.json)" = True ]
'

test_expect_success 'old revoked in the policy file: the cached verdict is dropped, denied at once' '
	python3 -c "import json,sys; p=json.load(open(\"webhook.json\")); p[\"revoked\"]=[sys.argv[1]]; json.dump(p, open(\"webhook.json\",\"w\"))" "$(audit_key_id old.pub)" &&
	[ "$(review c.json out.json)" = 200 ] && [ "$(allowed out.json)" = False ] &&
	message out.json | grep -q "key .old. (.*) is revoked"
'

test_expect_success 'a denial carries every reason: two images, one unsigned-by-policy and a runtime rule' '
	fixture d.json Pod "$REG/app2:1@$V2" "image2=$REG/app3:1@$V3" privileged &&
	[ "$(review d.json out.json)" = 200 ] && message out.json >msg && cat msg &&
	grep -q "is privileged" msg && grep -q "app2:1@$V2: signature threshold" msg &&
	grep -q "app3:1@$V3: provenance" msg
'

test_expect_success 'an image the registry does not hold is denied' '
	fixture e.json Pod "$REG/app1@sha256:0000000000000000000000000000000000000000000000000000000000000000" &&
	[ "$(review e.json out.json)" = 200 ] && [ "$(allowed out.json)" = False ] &&
	message out.json | grep -q "app1@sha256:0000"
'

test_expect_success 'a registry that cannot be reached: denied with the error (200, not 500), every reason kept' '
	fixture u.json Pod "127.0.0.1:1/x@sha256:0000000000000000000000000000000000000000000000000000000000000000" "image2=$REG/app1:1" &&
	[ "$(review u.json out.json)" = 200 ] && [ "$(allowed out.json)" = False ] &&
	message out.json >msg && cat msg &&
	grep -q "image 127.0.0.1:1/x@sha256:0000.*: 127.0.0.1:1" msg &&
	grep -q "image .$REG/app1:1. is not pinned by digest" msg
'

test_expect_success 'an invalid policy denies everything, saying why; fixed, it allows again' '
	sed "s/\"nonRoot\"/\"nonRooot\"/" good.json >webhook.json &&
	[ "$(review a.json out.json)" = 200 ] && [ "$(allowed out.json)" = False ] &&
	message out.json | grep -q "the policy cannot be used: .*unknown key .nonRooot. in runtime" &&
	cp good.json webhook.json &&
	[ "$(review a.json out.json)" = 200 ] && [ "$(allowed out.json)" = True ]
'

test_expect_success 'the cache: repeated reviews reuse the verdict (counters on SIGTERM)' '
	for i in 1 2 3 4 5; do review a.json out.json >/dev/null || return 1; done &&
	stop_webhook && cat webhook.log &&
	python3 -c "import re,sys
m = re.search(r\"(\\d+) reviews, (\\d+) cached verdicts used, (\\d+) verified, (\\d+) policy reads\", open(\"webhook.log\").read())
rev, hits, miss, reads = map(int, m.groups())
assert hits >= 5 and reads >= 3, m.groups()
"
'

test_expect_success 'with --cache-ttl 0 every review verifies' '
	start_webhook --cache-ttl 0 &&
	review a.json out.json >/dev/null && review a.json out.json >/dev/null &&
	[ "$(allowed out.json)" = True ] && stop_webhook &&
	grep -q "2 reviews, 0 cached verdicts used, 2 verified" webhook.log
'

test_expect_success 'usage errors' '
	expect_code 2 stele serve --policy good.json --tls-cert cert.pem --tls-key key.pem 2>/dev/null &&
	expect_code 2 stele serve --admission --tls-cert cert.pem --tls-key key.pem 2>/dev/null &&
	expect_code 2 stele serve --admission --policy good.json --tls-cert cert.pem --tls-key key.pem --listen nope 2>/dev/null &&
	expect_code 2 stele serve --admission --policy good.json --tls-cert cert.pem --tls-key key.pem --cache-ttl -1 2>/dev/null &&
	expect_code 3 stele serve --admission --policy good.json --tls-cert nothere --tls-key key.pem 2>/dev/null &&
	expect_code 3 stele serve --admission --policy good.json --tls-cert cert.pem --tls-key cert.pem --listen 127.0.0.1:1 2>err &&
	expect_code 3 stele serve --admission --policy good.json --tls-cert cert.pem --tls-key key.pem --listen 300.1.1.1:8443 2>/dev/null
'

test_done
