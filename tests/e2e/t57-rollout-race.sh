#!/bin/sh
# stele rollout and concurrent movers: a tag moved after it was read (here,
# while the health check runs) stops the move; a tag moved between the put
# and the read-back (a proxy on 127.0.0.1 races the put) is reported; a tag
# moved outside stele rollout stops every later rollout until it is put back.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/e2e/rollout-lib.sh"

if ! rollout_setup; then
	test_skip 'rollout races' 'Debian docker-registry did not start on 127.0.0.1'
	exit 0
fi
R="docker://$REG/app"
P="--policy policy.json --key deploy.key"
SK="skopeo copy -q --src-tls-verify=false --dest-tls-verify=false"

test_expect_success 'v1 live, v2 staged' '
	rollout stage $P app:1 "$R" >/dev/null 2>err && rollout promote $P "$R" >/dev/null 2>>err &&
	rollout stage $P app:2 "$R" >/dev/null 2>>err; cat err &&
	[ "$(tag_digest live)" = "$V1" ] && [ "$(tag_digest green)" = "$V2" ]
'

test_expect_success 'live moved by another while the health check runs: promote stops, writes nothing' '
	expect_code 3 rollout promote $P --health-cmd "$SK docker://$REG/app@$V2 docker://$REG/app:live" "$R" 2>err; cat err &&
	grep -q "tag .live. of $REG/app moved under this rollout: it names $V2, not $V1 as read before; nothing was moved" err &&
	[ "$(tag_digest live)" = "$V2" ] &&
	skopeo inspect --raw --tls-verify=false "docker://$REG/app:stele-journal" >j.json &&
	python3 -c "import json;assert len(json.load(open(\"j.json\"))[\"layers\"])==3"
'

test_expect_success 'a tag moved outside stele rollout stops the next rollout and status' '
	expect_code 1 rollout promote $P "$R" 2>err; cat err &&
	grep -q "tag .live. of $REG/app names $V2, but its rollout journal (3 entries) says $V1: the journal was cut short or the tag was moved outside stele rollout" err &&
	expect_code 1 rollout status "$R" 2>err && grep -q "moved outside stele rollout" err &&
	expect_code 1 rollout stage $P app:2 "$R" 2>/dev/null
'

test_expect_success 'put back, the rollout goes on' '
	$SK "docker://$REG/app@$V1" "docker://$REG/app:live" &&
	rollout promote $P "$R" >/dev/null 2>err; cat err && [ "$(tag_digest live)" = "$V2" ]
'

test_expect_success 'a slot tag moved outside stele rollout is caught too' '
	$SK "docker://$REG/app@$V2" "docker://$REG/app:blue" &&
	expect_code 1 rollout status "$R" 2>err; cat err && grep -q "tag .blue. of $REG/app names $V2" err &&
	$SK "docker://$REG/app@$V1" "docker://$REG/app:blue" && rollout status "$R" >/dev/null
'

# A proxy in front of the registry that, once told a digest (in file
# race), puts that digest's manifest under "live" right after forwarding
# a put of "live": the other mover wins between the put and the read-back.
# While the file race.journal exists, it refuses puts of the journal.  It
# records the If-Match of every put of "live" (race.if-match) and, while
# race.412 exists, answers it 412 as a registry that honours If-Match does
# when the tag changed since it was read.
cat >proxy.py <<'PY'
import http.client, http.server, os, sys
reg, port, flag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        if self.command == "PUT" and self.path.endswith("/manifests/live") and self.headers.get("If-Match"):
            with open(flag + ".if-match", "a") as f:
                f.write(self.headers.get("If-Match") + "\n")
            if os.path.exists(flag + ".412"):
                self.send_response(412)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        if self.command == "PUT" and self.path.endswith("/manifests/stele-journal") and os.path.exists(flag + ".journal"):
            msg = b'{"errors":[{"code":"DENIED","message":"journal writes refused by the test"}]}'
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            return
        c = http.client.HTTPConnection(reg)
        c.request(self.command, self.path, body=body,
                  headers={k: v for k, v in self.headers.items() if k.lower() != "connection"})
        r = c.getresponse(); data = r.read()
        if self.command == "PUT" and self.path.endswith("/manifests/live") and os.path.exists(flag):
            other = open(flag).read().strip()
            repo = self.path.split("/")[2]
            c2 = http.client.HTTPConnection(reg)
            c2.request("GET", "/v2/%s/manifests/%s" % (repo, other),
                       headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
            r2 = c2.getresponse(); m = r2.read()
            c3 = http.client.HTTPConnection(reg)
            c3.request("PUT", "/v2/%s/manifests/live" % repo, body=m,
                       headers={"Content-Type": r2.getheader("Content-Type")})
            c3.getresponse().read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() in ("connection", "transfer-encoding") or (k.lower() == "content-length" and self.command != "HEAD"):
                continue
            self.send_header(k, v)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = do
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
pport=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 ))
python3 proxy.py "$REG" "$pport" "$TMP/race" >proxy.log 2>&1 &
proxy_pid=$!
test_at_exit "test_kill $proxy_pid"
i=0; while [ $i -lt 50 ] && ! curl -sf "http://127.0.0.1:$pport/v2/" >/dev/null 2>&1; do sleep 0.1; i=$((i + 1)); done
PX="127.0.0.1:$pport"

test_expect_success 'through the proxy: v1 live, v2 staged in another repository' '
	stele sign --key rm.key --identity "$PX/race:v1" app:1 >/dev/null 2>&1 &&
	stele sign --key rm.key --identity "$PX/race:v2" app:2 >/dev/null 2>&1 &&
	rollout stage $P app:1 "docker://$PX/race" >/dev/null 2>err &&
	rollout promote $P "docker://$PX/race" >/dev/null 2>>err &&
	rollout stage $P app:2 "docker://$PX/race" >/dev/null 2>>err; cat err &&
	[ "$(skopeo inspect --tls-verify=false --format "{{.Digest}}" "docker://$REG/race:live")" = "$V1" ]
'

test_expect_success 'the put of live carries If-Match (the ETag the registry gave); answered 412, nothing moves' '
	touch race.412 &&
	expect_code 3 rollout promote $P "docker://$PX/race" 2>err; cat err; rm -f race.412 &&
	grep -q "tag .live. of $PX/race moved under this rollout: the registry refused the put (If-Match \"$V1\": 412); nothing was moved" err &&
	cat race.if-match && grep -qx "\"$V1\"" race.if-match &&
	rollout status --json "docker://$PX/race" >st.json &&
	[ "$(json_get st.json .journal.entries)" = 3 ] && [ "$(json_get st.json .tags.live.digest)" = "$V1" ]
'

test_expect_success 'another mover between the put and the read-back is reported; no journal entry' '
	echo "$V1" >race &&
	expect_code 3 rollout promote $P "docker://$PX/race" 2>err; cat err; rm -f race &&
	grep -q "tag .live. of $PX/race names $V1 after it was moved to $V2: another process moved it at the same time" err &&
	rollout status --json "docker://$PX/race" >st.json &&
	[ "$(json_get st.json .journal.entries)" = 3 ] && [ "$(json_get st.json .tags.live.digest)" = "$V1" ]
'

test_expect_success 'a journal that cannot be written after the move is reported, and the next rollout stops' '
	rollout stage $P app:2 "docker://$PX/race" >/dev/null 2>err; cat err &&
	touch race.journal &&
	expect_code 3 rollout promote $P "docker://$PX/race" 2>err; cat err; rm -f race.journal &&
	grep -q "^stele: .live. of $PX/race now names $V2, but the journal entry could not be written" err &&
	grep -q "journal writes refused by the test" err &&
	expect_code 1 rollout status "docker://$PX/race" 2>err; cat err &&
	grep -q "tag .live. of $PX/race names $V2, but its rollout journal (4 entries) says $V1" err
'

test_done
