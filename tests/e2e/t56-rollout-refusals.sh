#!/bin/sh
# stele rollout refuses, and moves nothing, on: an unsigned image at stage,
# a key revoked after staging (promote verifies again), a failing, hanging
# or unreachable health check, a journal key the policy does not trust.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/e2e/rollout-lib.sh"

if ! rollout_setup; then
	test_skip 'rollout refusals' 'Debian docker-registry did not start on 127.0.0.1'
	exit 0
fi
R="docker://$REG/app"
P="--policy policy.json --key deploy.key"

test_expect_success 'an unsigned image is refused at stage: no tag, no manifest, no journal' '
	expect_code 1 rollout stage $P app:3 "$R" >out 2>err; cat err &&
	grep -q "denied: signature threshold" err && grep -q "is not pushed: verification denied it" err &&
	[ -z "$(tag_digest blue)" ] && [ -z "$(tag_digest green)" ] && [ -z "$(tag_digest live)" ] &&
	[ -z "$(tag_digest stele-journal)" ] &&
	! skopeo inspect --tls-verify=false "docker://$REG/app@$V3" >/dev/null 2>&1
'

test_expect_success 'a journal key the policy does not know is refused before anything' '
	expect_code 3 rollout stage --policy policy.json --key other.key app:1 "$R" 2>err; cat err &&
	grep -q "is not a key of the policy" err && [ -z "$(tag_digest blue)" ]
'

test_expect_success 'v1 staged and promoted, v2 staged' '
	rollout stage $P app:1 "$R" >/dev/null 2>err && rollout promote $P "$R" >/dev/null 2>>err &&
	rollout stage $P app:2 "$R" >/dev/null 2>>err; cat err &&
	[ "$(tag_digest live)" = "$V1" ] && [ "$(tag_digest green)" = "$V2" ]
'

test_expect_success 'a failing health check leaves live untouched' '
	expect_code 1 rollout promote $P --health-cmd "echo sick; exit 7" "$R" >out 2>err; cat err &&
	grep -q "health check .* exited 7: unhealthy" err && grep -q sick err && ! grep -q sick out &&
	[ "$(tag_digest live)" = "$V1" ]
'

test_expect_success 'a health check that does not finish in --timeout is killed and fails' '
	expect_code 1 rollout promote $P --timeout 1 --health-cmd "sleep 30" "$R" 2>err; cat err &&
	grep -q "did not finish within 1 s (killed): unhealthy" err &&
	[ "$(tag_digest live)" = "$V1" ] && ! pgrep -f "^sleep 30$" >/dev/null
'

mkdir www && echo ok >www/healthz
port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 ))
python3 -m http.server --bind 127.0.0.1 --directory www "$port" >http.log 2>&1 &
http_pid=$!
test_at_exit "test_kill $http_pid"
i=0; while [ $i -lt 50 ] && ! curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do sleep 0.1; i=$((i + 1)); done

test_expect_success 'a --health-url that answers 404 leaves live untouched' '
	expect_code 1 rollout promote $P --health-url "http://127.0.0.1:$port/nothere" "$R" 2>err; cat err &&
	grep -q "answered 404, not 2xx" err && [ "$(tag_digest live)" = "$V1" ]
'

test_expect_success 'a --health-url nothing listens on leaves live untouched' '
	expect_code 1 rollout promote $P --health-url "http://127.0.0.1:1/healthz" "$R" 2>err; cat err &&
	grep -q "health check .* failed" err && [ "$(tag_digest live)" = "$V1" ]
'

test_expect_success 'the key that signed v2 is revoked after staging: promote refuses, live stays v1' '
	sed "s/^ \"signatures\"/ \"revoked\": [\"$RM_ID\"],\n \"signatures\"/" policy.json >revoked.json &&
	cat revoked.json &&
	expect_code 1 rollout promote --policy revoked.json --key deploy.key --health-url "http://127.0.0.1:$port/healthz" "$R" 2>err; cat err &&
	grep -q "denied: signature threshold.*revoked" err &&
	grep -q "is not tagged .live.: verification denied it" err &&
	[ "$(tag_digest live)" = "$V1" ]
'

test_expect_success 'rollback before a second promote has nothing to roll back to' '
	expect_code 3 rollout rollback --policy revoked.json --key deploy.key "$R" 2>err; cat err &&
	grep -q "no earlier live digest" err && [ "$(tag_digest live)" = "$V1" ]
'

test_expect_success 'a --health-url answering 200 lets promote go (the unrevoked policy)' '
	rollout promote $P --health-url "http://127.0.0.1:$port/healthz" "$R" >/dev/null 2>err; cat err &&
	[ "$(tag_digest live)" = "$V2" ]
'

test_expect_success 'rollback under the revocation is refused and live stays v2' '
	expect_code 1 rollout rollback --policy revoked.json --key deploy.key "$R" 2>err; cat err &&
	grep -q "verification denied it" err && [ "$(tag_digest live)" = "$V2" ]
'

test_expect_success 'a failing health check stops a rollback too' '
	expect_code 1 rollout rollback $P --health-cmd false "$R" 2>err; cat err &&
	grep -q "unhealthy" err && [ "$(tag_digest live)" = "$V2" ]
'

test_expect_success 'nothing refused above was written to the journal' '
	rollout status --policy policy.json --json "$R" >st.json &&
	[ "$(json_get st.json .journal.entries)" = 4 ]
'

test_done
