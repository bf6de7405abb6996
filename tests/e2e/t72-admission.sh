#!/bin/sh
# stele serve --admission: AdmissionReview v1 fixtures sent with curl over
# TLS (a self-signed certificate for 127.0.0.1): a compliant Pod and every
# workload kind allowed; one denial per runtime rule broken (privileged,
# root user, writable root file system, no memory limit, host network),
# every reason in one denial; tag-only images denied with how to pin them;
# malformed requests answered 400 and the server still serving.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/e2e/audit-lib.sh"
. "$TOP/tests/e2e/admission-lib.sh"

if ! command -v openssl >/dev/null 2>&1 || ! audit_setup; then
	test_skip 'admission' 'Debian docker-registry did not start on 127.0.0.1, or no openssl'
	exit 0
fi
admission_policy
# shellcheck disable=SC2119
if ! start_webhook; then
	cat webhook.log
	test_expect_success 'the webhook starts' 'false'
	test_done
fi
IMG="$REG/app1:1@$V1"

test_expect_success 'a compliant Pod is allowed; the uid is echoed' '
	fixture pod.json Pod "$IMG" &&
	[ "$(review pod.json out.json)" = 200 ] && cat out.json &&
	[ "$(allowed out.json)" = True ] &&
	[ "$(json_get out.json .response.uid)" = uid-pod ] &&
	[ "$(json_get out.json .kind)" = AdmissionReview ] &&
	[ "$(json_get out.json .apiVersion)" = admission.k8s.io/v1 ]
'

for kind in Deployment StatefulSet DaemonSet ReplicaSet Job CronJob; do
	test_expect_success "a compliant $kind is allowed" '
		fixture k.json '"$kind"' "$IMG" &&
		[ "$(review k.json out.json)" = 200 ] && [ "$(allowed out.json)" = True ]
	'
done

deny_one() { # CHANGE PATTERN
	fixture d.json Pod "$IMG" "$1" &&
	[ "$(review d.json out.json)" = 200 ] && [ "$(allowed out.json)" = False ] &&
	message out.json >msg && cat msg && grep -q "$2" msg &&
	[ "$(json_get out.json .response.status.code)" = 403 ] &&
	[ "$(python3 -c "import json; print(len(json.load(open(\"out.json\"))[\"response\"][\"status\"][\"details\"][\"causes\"]))")" = 1 ]
}

test_expect_success 'privileged: denied' '
	deny_one privileged "container .app. is privileged"
'
test_expect_success 'root user: denied' '
	deny_one root "container .app. runs as root (runAsUser: 0)"
'
test_expect_success 'writable root file system: denied' '
	deny_one writable "container .app. has a writable root file system"
'
test_expect_success 'no memory limit: denied' '
	deny_one nomemory "container .app. has no memory limit: set resources.limits.memory"
'
test_expect_success 'no cpu limit: denied' '
	deny_one nocpu "has no cpu limit"
'
test_expect_success 'host network: denied' '
	deny_one hostnet "shares the host.s namespaces (hostNetwork: true)"
'

test_expect_success 'every rule broken at once: one denial with every reason' '
	fixture all.json Deployment "$IMG" privileged root writable nomemory &&
	[ "$(review all.json out.json)" = 200 ] && [ "$(allowed out.json)" = False ] &&
	message out.json >msg && cat msg &&
	grep -q "is privileged" msg && grep -q "runs as root" msg &&
	grep -q "writable root" msg && grep -q "no memory limit" msg &&
	[ "$(python3 -c "import json; print(len(json.load(open(\"out.json\"))[\"response\"][\"status\"][\"details\"][\"causes\"]))")" = 4 ]
'

test_expect_success 'the rules cover init containers too' '
	fixture i.json Pod "$IMG" "init=$IMG" &&
	python3 -c "import json; d=json.load(open(\"i.json\")); d[\"request\"][\"object\"][\"spec\"][\"initContainers\"][0][\"securityContext\"][\"privileged\"]=True; json.dump(d, open(\"i.json\",\"w\"))" &&
	[ "$(review i.json out.json)" = 200 ] && message out.json | grep -q "init container .init. is privileged"
'

test_expect_success 'a tag-only image is denied, saying how to pin it' '
	fixture t.json CronJob "$REG/app1:1" &&
	[ "$(review t.json out.json)" = 200 ] && [ "$(allowed out.json)" = False ] &&
	message out.json >msg && cat msg &&
	grep -q "is not pinned by digest: name it as $REG/app1@sha256:<digest>" msg &&
	grep -q "skopeo inspect" msg
'

test_expect_success 'DELETE (no object) is allowed; a kind it does not check is denied' '
	printf "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u1\",\"operation\":\"DELETE\",\"kind\":{\"kind\":\"Pod\"},\"object\":null}}" >del.json &&
	[ "$(review del.json out.json)" = 200 ] && [ "$(allowed out.json)" = True ] &&
	printf "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u2\",\"kind\":{\"kind\":\"Service\"},\"object\":{\"spec\":{}}}}" >svc.json &&
	[ "$(review svc.json out.json)" = 200 ] && [ "$(allowed out.json)" = False ] &&
	message out.json | grep -q "a Service is not a kind this webhook checks"
'

bad() { # BODY PATTERN
	printf "%s" "$1" >bad.json &&
	[ "$(review bad.json out.txt)" = 400 ] && cat out.txt && grep -q "$2" out.txt
}

test_expect_success 'malformed requests: 400 with the reason' '
	bad "not json" "the request" &&
	bad "{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\"}}" "not an AdmissionReview of admission.k8s.io/v1" &&
	bad "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}" "no request.uid" &&
	bad "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"object\":{}}}" "no kind.kind" &&
	bad "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"kind\":{\"kind\":\"Deployment\"},\"object\":{\"spec\":{}}}}" "has no spec.template.spec" &&
	bad "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"kind\":{\"kind\":\"Pod\"},\"object\":{\"spec\":{\"containers\":[]}}}}" "no containers" &&
	bad "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"kind\":{\"kind\":\"Pod\"},\"object\":{\"spec\":{\"containers\":{}}}}}" "not an array" &&
	bad "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"kind\":{\"kind\":\"Pod\"},\"object\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":7}]}}}}" "image is not a string" &&
	bad "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"kind\":{\"kind\":\"Pod\"},\"object\":{\"spec\":{\"containers\":[3]}}}}" "is not an object" &&
	head -c 4000000 /dev/zero | tr "\\0" a >big.json &&
	[ "$(review big.json out.txt)" = 413 ]
'

test_expect_success 'still serving after them; other paths and methods' '
	curl -sf --cacert cert.pem "https://$WH/healthz" | grep -qx ok &&
	[ "$(curl -s --cacert cert.pem -o /dev/null -w "%{http_code}" "https://$WH/validate")" = 405 ] &&
	[ "$(curl -s --cacert cert.pem -o /dev/null -w "%{http_code}" "https://$WH/other")" = 404 ] &&
	[ "$(review pod.json out.json)" = 200 ] && [ "$(allowed out.json)" = True ]
'

test_expect_success 'only TLS: plain http gets no review' '
	! curl -sf "http://$WH/healthz" >/dev/null 2>&1
'

test_expect_success 'SIGTERM stops it cleanly with its counters' '
	stop_webhook && cat webhook.log && grep -q "reviews, .* cached verdicts used" webhook.log
'

test_done
