#!/bin/sh
# stele rollout: stage v1, promote, stage v2, promote, roll back, each move
# checked with skopeo, and the journal's status (who, when, what).
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/e2e/rollout-lib.sh"

if ! rollout_setup; then
	test_skip 'rollout' 'Debian docker-registry did not start on 127.0.0.1'
	exit 0
fi
R="docker://$REG/app"
P="--policy policy.json --key deploy.key"

test_expect_success 'stage v1: pushed and tagged blue; live does not exist yet' '
	rollout stage $P app:1 "$R" >out 2>err; cat err; cat out &&
	[ "$(cat out)" = "$V1" ] &&
	[ "$(tag_digest blue)" = "$V1" ] && [ -z "$(tag_digest live)" ] &&
	[ -z "$(tag_digest green)" ]
'

test_expect_success 'promote: live is v1 (skopeo)' '
	rollout promote $P "$R" >out 2>err; cat err &&
	[ "$(tag_digest live)" = "$V1" ] && [ "$(tag_digest blue)" = "$V1" ]
'

test_expect_success 'promote again with nothing staged moves nothing' '
	expect_code 3 rollout promote $P "$R" 2>err; cat err &&
	grep -q "nothing is staged" err && [ "$(tag_digest live)" = "$V1" ]
'

test_expect_success 'stage v2 goes to the idle slot (green), live stays v1' '
	rollout stage $P app:2 "$R" >out 2>err; cat err &&
	[ "$(tag_digest green)" = "$V2" ] && [ "$(tag_digest blue)" = "$V1" ] &&
	[ "$(tag_digest live)" = "$V1" ]
'

test_expect_success 'promote with a passing health check: live is v2; the check saw the digest, slot, repo' '
	rollout promote $P --health-cmd "env | grep ^STELE_ | sort >seen" "$R" >/dev/null 2>err; cat err &&
	[ "$(tag_digest live)" = "$V2" ] &&
	grep -qx "STELE_DIGEST=$V2" seen && grep -qx "STELE_SLOT=green" seen &&
	grep -qx "STELE_REPO=$REG/app" seen
'

test_expect_success 'rollback: live is v1 again, after verifying it again' '
	rollout rollback $P --json "$R" >r.json 2>err; cat err; cat r.json &&
	[ "$(tag_digest live)" = "$V1" ] &&
	[ "$(json_get r.json .action)" = rollback ] && [ "$(json_get r.json .from)" = "$V2" ] &&
	[ "$(json_get r.json .slot)" = blue ] && [ "$(json_get r.json .verify.allowed)" = True ]
'

test_expect_success 'a second rollback has nothing earlier to go to' '
	expect_code 3 rollout rollback $P "$R" 2>err; cat err &&
	grep -q "no earlier live digest" err && [ "$(tag_digest live)" = "$V1" ]
'

test_expect_success 'status: live, blue, green with when and by whom; JSON has every entry' '
	rollout status "$R" >st 2>err; cat err; cat st &&
	grep -q "^live  *$V1  rollback by deployer at 20..-..-..T..:..:..Z (entry 4), slot blue" st &&
	grep -q "^blue  *$V1  stage by deployer" st &&
	grep -q "^green  *$V2  stage by deployer" st &&
	grep -q "journal  stele-journal: 5 entries" st &&
	rollout status --policy policy.json --json "$R" >st.json &&
	[ "$(json_get st.json .journal.entries)" = 5 ] &&
	[ "$(json_get st.json .journal.checked)" = policy ] &&
	[ "$(json_get st.json .tags.live.digest)" = "$V1" ] &&
	[ "$(json_get st.json .entries[3].action)" = promote ] &&
	[ "$(json_get st.json .entries[3].from)" = "$V1" ] &&
	[ "$(json_get st.json .entries[3].to)" = "$V2" ] &&
	[ "$(json_get st.json .entries[3].by)" = deployer ] &&
	[ "$(json_get st.json .entries[3].verify.allowed)" = True ]
'

test_expect_success 'stage after a rollback goes to the slot live is not (green), --by names who' '
	rollout stage $P --by alice app:2 "$R" >/dev/null 2>err; cat err &&
	[ "$(tag_digest green)" = "$V2" ] && [ "$(tag_digest live)" = "$V1" ] &&
	rollout status --json "$R" >st.json &&
	[ "$(json_get st.json .tags.green.by)" = alice ] &&
	[ "$(json_get st.json .staged.slot)" = green ]
'

test_expect_success 'the journal is an OCI artifact any client reads: one DSSE layer per entry' '
	skopeo inspect --raw --tls-verify=false "docker://$REG/app:stele-journal" >j.json &&
	[ "$(json_get j.json .artifactType)" = application/vnd.stele.rollout.journal.v1+json ] &&
	python3 -c "import json;m=json.load(open(\"j.json\"));assert len(m[\"layers\"])==6 and all(l[\"mediaType\"]==\"application/vnd.dsse.envelope.v1+json\" for l in m[\"layers\"])"
'

test_expect_success 'custom slot and live tag names' '
	rollout stage $P --slots a,b --live-tag prod --journal-tag j2 app:2 "$R" >/dev/null 2>err; cat err &&
	[ "$(tag_digest a)" = "$V2" ] &&
	rollout promote $P --slots a,b --live-tag prod --journal-tag j2 "$R" >/dev/null 2>err; cat err &&
	[ "$(tag_digest prod)" = "$V2" ] && [ "$(tag_digest live)" = "$V1" ]
'

test_expect_success 'usage errors' '
	expect_code 2 rollout promote "$R" 2>err && grep -q "needs --policy and --key" err &&
	expect_code 2 rollout frob "$R" 2>/dev/null &&
	expect_code 2 rollout promote $P "$R:v1" 2>/dev/null &&
	expect_code 2 rollout stage $P --health-cmd true app:1 "$R" 2>/dev/null &&
	expect_code 2 rollout promote $P --slots blue "$R" 2>/dev/null &&
	expect_code 2 rollout promote $P --timeout x "$R" 2>/dev/null
'

test_done
