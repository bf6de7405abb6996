#!/bin/sh
# RUN: isolated, offline steps through a real OCI runtime; their changes
# (deletions included) become layers; every step is cached.
. "$(dirname "$0")/lib.sh"

export STELE_CACHE="$TMP/cache"
make_busybox_base busybox:test
mkdir ctx && echo hi >ctx/a.txt

# A listener on the host's 127.0.0.1, outside any sandbox.
python3 - "$TMP/port" <<'PY' &
import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"reached\n")
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1])); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
PY
lst_pid=$!
test_at_exit "test_kill $lst_pid"
i=0; while [ ! -s port ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(cat port)

test_expect_success 'the listener is reachable from the host' '
	curl -sf "http://127.0.0.1:$PORT/" | grep -q reached
'
# The probe: an HTTP request with busybox nc; its reply and errors kept.
mkdir net
printf '%s\n' 'FROM busybox:test' \
	"RUN (printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc 127.0.0.1 $PORT >/reply 2>/err); true" >net/Dockerfile
sed 's/^RUN (printf/RUN --network=host (printf/' net/Dockerfile >net/Dockerfile.host

test_expect_success 'a RUN step cannot reach it: no network at all' '
	stele build -q -o oci:$TMP/n1:x net >/dev/null && umoci unpack --image n1:x n1u >/dev/null &&
	cat n1u/rootfs/err && grep -q "refused\|unreachable" n1u/rootfs/err &&
	! grep -q reached n1u/rootfs/reply
'
test_expect_success 'RUN --network=host is the explicit way out, and the provenance says so' '
	stele build -q -f net/Dockerfile.host -o oci:$TMP/n2:x net >/dev/null &&
	umoci unpack --image n2:x n2u >/dev/null && grep -q reached n2u/rootfs/reply &&
	python3 - <<-PY
	import json
	i = json.load(open("n2/index.json"))
	r = [m for m in i["manifests"] if m.get("artifactType")][0]
	m = json.load(open("n2/blobs/sha256/" + r["digest"][7:]))
	st = json.load(open("n2/blobs/sha256/" + m["layers"][0]["digest"][7:]))
	p = st["predicate"]
	# Hermeticity is read from the step records (docs/provenance.md).
	assert "hermetic" not in p["buildDefinition"]["internalParameters"], p
	run = p["runDetails"]["byproducts"][-1]["annotations"]["inputs"][0]
	assert run["kind"] == "run" and run["network"] == "host", run
	PY
'
test_expect_success 'the step sees only the recipe environment, its own PID and host namespaces' '
	printf "FROM busybox:test\nENV A=1\nARG B=2\nUSER 65532:65532\nWORKDIR /w\nRUN (echo pid=\$\$; hostname; id -u; id -g; pwd; env | sort) >/tmp/seen\n" >ctx/Dockerfile &&
	STELE_HOST_SECRET=leak stele build -q -o oci:$TMP/e1:x ctx >/dev/null &&
	umoci unpack --image e1:x e1u >/dev/null && cat e1u/rootfs/tmp/seen &&
	grep -qx "pid=1" e1u/rootfs/tmp/seen && grep -qx stele e1u/rootfs/tmp/seen &&
	[ "$(sed -n 3p e1u/rootfs/tmp/seen)" = 65532 ] && [ "$(sed -n 4p e1u/rootfs/tmp/seen)" = 65532 ] &&
	grep -qx /w e1u/rootfs/tmp/seen && grep -qx A=1 e1u/rootfs/tmp/seen &&
	grep -qx B=2 e1u/rootfs/tmp/seen && grep -qx SOURCE_DATE_EPOCH=1700000000 e1u/rootfs/tmp/seen &&
	! grep -q STELE_HOST_SECRET e1u/rootfs/tmp/seen &&
	[ "$(stat -c %u e1u/rootfs/tmp/seen)" = 65532 ]
'
test_expect_success 'a RUN that deletes a base file yields a whiteout umoci applies' '
	printf "FROM busybox:test\nRUN rm /etc/group && rm -r /root\n" >ctx/Dockerfile &&
	stele build -q -o oci:$TMP/w1:x ctx >/dev/null &&
	python3 - <<-PY &&
	import json, tarfile
	i = json.load(open("w1/index.json"))
	m = [x for x in i["manifests"] if "artifactType" not in x][0]
	man = json.load(open("w1/blobs/sha256/" + m["digest"][7:]))
	names = tarfile.open("w1/blobs/sha256/" + man["layers"][-1]["digest"][7:]).getnames()
	assert "etc/.wh.group" in names and ".wh.root" in names, names
	PY
	umoci unpack --image w1:x w1u >/dev/null &&
	[ ! -e w1u/rootfs/etc/group ] && [ ! -e w1u/rootfs/root ] && [ -e w1u/rootfs/etc/passwd ]
'
test_expect_success 'a failing RUN names file:line and the status, and writes nothing' '
	stele build -q -t keep:1 ctx >/dev/null && before=$(tree_state "$STELE_STORE") &&
	printf "FROM busybox:test\nCOPY a.txt /\nRUN echo going to fail; exit 7\n" >ctx/Dockerfile &&
	expect_code 3 stele build -t bad:1 ctx 2>err; rc=$?; cat err;
	[ $rc = 0 ] && grep -q "ctx/Dockerfile:3: RUN: the command failed with exit status 7" err &&
	grep -q "| going to fail" err &&
	[ "$(tree_state "$STELE_STORE")" = "$before" ]
'
test_expect_success 'shell form honours SHELL; exec form runs without a shell' '
	printf "FROM busybox:test\nSHELL [\"/bin/sh\", \"-c\", \"-e\"]\nRUN echo \$0 >/shell\nRUN [\"/bin/echo\", \"\$HOME\"]\n" >ctx/Dockerfile &&
	stele build -o oci:$TMP/s1:x ctx 2>err >/dev/null && grep -q "| \\\$HOME" err
'
test_expect_success 'a rebuild hits the cache for every step, with the same digest' '
	printf "FROM busybox:test\nWORKDIR /app\nCOPY a.txt .\nRUN cp a.txt b.txt\nRUN echo done >c.txt\n" >ctx/Dockerfile &&
	d1=$(stele build -t c:1 ctx 2>err1) && grep -q "0 steps from the cache, 4 built" err1 &&
	d2=$(stele build -t c:1 ctx 2>err2) && grep -q "4 steps from the cache, 0 built" err2 &&
	[ "$(grep -c "cache hit" err2)" = 4 ] && [ "$d1" = "$d2" ]
'
test_expect_success '--no-cache runs everything again and gives the same digest' '
	d1=$(stele build -q -t c:1 ctx) &&
	d2=$(stele build --no-cache -t c:1 ctx 2>err) && grep -q "0 steps from the cache, 4 built" err &&
	[ "$d1" = "$d2" ]
'
test_expect_success 'a changed input misses from that step on' '
	echo changed >ctx/a.txt &&
	stele build -t c:1 ctx 2>err >/dev/null && grep -q "1 step from the cache, 3 built" err
'
test_expect_success 'the cache is safe to delete' '
	rm -rf "$STELE_CACHE" && d=$(stele build -q -t c:1 ctx) && [ -n "$d" ]
'
test_expect_success 'the provenance of a RUN layer records command, runtime, network and base' '
	stele inspect --json c:1 >c.json &&
	python3 - <<-PY
	import json
	j = json.load(open("c.json"))
	run = [l for l in j["layers"] if l.get("provenance", {}).get("instruction", "").startswith("RUN cp")][0]
	i = run["provenance"]["inputs"][0]
	assert i["kind"] == "run" and i["argv"] == ["/bin/sh", "-c", "cp a.txt b.txt"], i
	assert i["runtime"] == "runc" and i["network"] == "none", i
	assert i["baseDiffIDs"] == j["config"]["rootfs"]["diff_ids"][:3], i
	PY
'
test_expect_success 'an unknown --runtime fails clearly' '
	printf "FROM busybox:test\nRUN true\n" >ctx/Dockerfile &&
	expect_code 3 stele build -q --no-cache --runtime /nonexistent/crun -t r:1 ctx 2>err &&
	grep -q "cannot run the OCI runtime" err
'
test_expect_success 'RUN --network with a bad value is refused' '
	printf "FROM busybox:test\nRUN --network=bridge true\n" >ctx/Dockerfile &&
	expect_code 3 stele build -q -t r:1 ctx 2>err && grep -q "Dockerfile:2: RUN: --network" err
'
test_expect_success 'without overlayfs (a copy) the same step gives the same layer' '
	printf "FROM busybox:test\nRUN rm /etc/group && mkdir -p /tmp/d && echo x >/tmp/d/f && echo y >>/etc/passwd\n" >ctx/Dockerfile &&
	d1=$(stele build -q --no-cache -o oci:$TMP/ov:x ctx) &&
	d2=$(stele build -q --no-cache --sandbox=copy -o oci:$TMP/cp:x ctx) &&
	stele inspect --json oci:cp:x | grep -q "\"overlay\": false" &&
	[ "$d1" = "$d2" ]
'
test_expect_success 'USER by name and by uid resolve through the image'"'"'s /etc/passwd' '
	printf "FROM busybox:test\nUSER nobody\nRUN (id -u; id -g) >/tmp/u\nUSER 65532\nRUN id -g >>/tmp/u\n" >ctx/Dockerfile &&
	stele build -q -o oci:$TMP/un:x ctx >/dev/null && umoci unpack --image un:x unu >/dev/null &&
	[ "$(cat unu/rootfs/tmp/u | tr "\n" " ")" = "65532 65532 65532 " ]
'
test_expect_success 'HOME comes from the image'"'"'s /etc/passwd for the user, else /, as runc sets it' '
	mkdir -p home && printf "FROM busybox:test\nRUN echo \$HOME >/h0\nUSER nobody\nRUN echo \$HOME >/tmp/h1\nUSER 4242\nRUN echo \$HOME >/tmp/h2\nUSER root\nRUN cat /tmp/h1 /tmp/h2 >>/h0\n" >home/Dockerfile &&
	stele build -q -o oci:$TMP/home.oci:x home >/dev/null &&
	rm -rf homeu && umoci unpack --image home.oci:x homeu >/dev/null &&
	printf "/root\n/nonexistent\n/\n" >want && cmp want homeu/rootfs/h0
'
