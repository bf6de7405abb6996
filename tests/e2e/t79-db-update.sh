#!/bin/sh
# stele db update DB --from URL: sources fetched over HTTPS from a server
# on 127.0.0.1 (Python's, with a certificate made here by openssl and
# trusted with --cacert): an OSV zip (its *.json entries unpacked with
# libarchive, other entries skipped) and a Debian tracker JSON; a scan then
# finds what they list; an update replaces a source.  Refused, with the
# database left exactly as it was: an untrusted certificate, a 404, a zip
# with a malformed record, a zip entry that climbs out (../), an http://
# URL (usage).
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
if ! command -v openssl >/dev/null 2>&1 || ! "$PY" -c 'import ssl, zipfile' 2>/dev/null; then
	test_skip 'db update' 'no openssl, or no Python ssl module'
	exit 0
fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem \
	-out cert.pem -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
mkdir -p www/Debian www/bad www/evil www/v2
cat >server.py <<'PY'
import functools, http.server, ssl, sys
port = int(sys.argv[1])
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory="www")
s = http.server.ThreadingHTTPServer(("127.0.0.1", port), h)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("cert.pem", "key.pem")
s.socket = ctx.wrap_socket(s.socket, server_side=True)
s.serve_forever()
PY
"$PY" - <<'PY'
import json, zipfile
def osv(i, pkg, fixed):
    return json.dumps({"id": i, "modified": "2026-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "Debian:12", "name": pkg},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}],
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]})
with zipfile.ZipFile("www/Debian/all.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("CVE-2026-1001.json", osv("CVE-2026-1001", "demo", "1.0-2"))
    z.writestr("sub/CVE-2026-1002.json", osv("CVE-2026-1002", "other", "1.0"))
    z.writestr("README.txt", "not a record")
with zipfile.ZipFile("www/v2/all.zip", "w") as z:
    z.writestr("CVE-2026-1002.json", osv("CVE-2026-1002", "other", "1.0"))
with zipfile.ZipFile("www/bad/all.zip", "w") as z:
    z.writestr("CVE-2026-9.json", json.dumps({"id": "CVE-2026-9"}))
with zipfile.ZipFile("www/evil/all.zip", "w") as z:
    z.writestr("../../escape.json", osv("CVE-2026-7", "demo", "9"))
open("www/tracker.json", "w").write(json.dumps({"tool": {"CVE-2026-2002": {"releases": {"bookworm": {"status": "open", "urgency": "low"}}}}}))
PY
for try in 1 2 3 4 5; do
	port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 ))
	"$PY" server.py "$port" >server.log 2>&1 &
	pid=$!
	test_at_exit "test_kill $pid"
	i=0
	while [ $i -lt 50 ] && ! curl -sf --cacert cert.pem "https://127.0.0.1:$port/tracker.json" >/dev/null 2>&1; do
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	if curl -sf --cacert cert.pem "https://127.0.0.1:$port/tracker.json" >/dev/null 2>&1; then
		U=https://127.0.0.1:$port
		break
	fi
	test_kill $pid
done
if [ -z "${U:-}" ]; then
	test_skip 'db update' 'the HTTPS server did not start on 127.0.0.1'
	exit 0
fi
make_dpkg_app
state() { (cd db && find . -type f ! -name .stele-index.db | sort | xargs sha256sum); }
ids() { stele scan --db db --json app:1 | json_get /dev/stdin .findings | "$PY" -c 'import json,sys; print(" ".join(sorted(f["id"] for f in json.load(sys.stdin))))'; }

test_expect_success 'db update fetches the OSV zip and the tracker JSON; scan finds what they list' '
	stele build -q -t app:1 "git+file://$TMP/app#main" >/dev/null &&
	before=$(date -u +%s) &&
	stele db update db --from "$U/Debian/all.zip" --from "$U/tracker.json" --cacert cert.pem >out &&
	grep -qx "db: 2 sources, 3 files" out &&
	[ -f "db/127.0.0.1_${U##*:}_Debian_all.zip/CVE-2026-1001.json" ] &&
	[ -f "db/127.0.0.1_${U##*:}_Debian_all.zip/sub_CVE-2026-1002.json" ] &&
	[ -f "db/127.0.0.1_${U##*:}_tracker.json/source.json" ] &&
	! find db -name "README.txt" | grep -q . &&
	"$PY" -c "
import calendar, json, sys, time
t = calendar.timegm(time.strptime(json.load(open(\"db/stele-db.json\"))[\"updated\"], \"%Y-%m-%dT%H:%M:%SZ\"))
assert int(sys.argv[1]) <= t <= int(sys.argv[1]) + 60, t
" "$before" &&
	[ "$(ids)" = "CVE-2026-1001 CVE-2026-2002" ]
'
test_expect_success 'an untrusted certificate, a 404, a malformed record, an escaping entry: exit 3, the database as it was' '
	state >s0 &&
	expect_code 3 stele db update db --from "$U/Debian/all.zip" 2>err && grep -q "cannot fetch $U/Debian/all.zip" err &&
	grep -q "certificate" err &&
	expect_code 3 stele db update db --from "$U/Debian/all.zip" --from "$U/nothing.zip" --cacert cert.pem 2>err &&
	grep -q "cannot fetch $U/nothing.zip.*404" err &&
	expect_code 3 stele db update db --from "$U/bad/all.zip" --from "$U/Debian/all.zip" --cacert cert.pem 2>err &&
	grep -q "CVE-2026-9.json" err &&
	expect_code 3 stele db update db --from "$U/evil/all.zip" --cacert cert.pem 2>err &&
	grep -q "entry .../../escape.json. is not a plain relative name" err &&
	[ ! -e escape.json ] && [ ! -e db/escape.json ] &&
	state | diff s0 - && ! ls -a db | grep -q "^.stele-update" &&
	[ "$(ids)" = "CVE-2026-1001 CVE-2026-2002" ]
'
test_expect_success 'an update replaces a source: a record dropped upstream is gone' '
	"$PY" -c "import shutil; shutil.copy(\"www/v2/all.zip\", \"www/Debian/all.zip\")" &&
	stele db update --json db --from "$U/Debian/all.zip" --from "$U/tracker.json" --cacert cert.pem >out.json &&
	[ "$(json_get out.json .files)" = 2 ] && [ "$(json_get out.json .sources)" = 2 ] &&
	[ "$(ids)" = "CVE-2026-2002" ]
'
test_expect_success 'a zip put in a database directory is read as it is; a malformed or damaged one is refused, naming it' '
	mkdir -p zdb && cp www/v2/all.zip zdb/osv.zip &&
	printf "{\"tool\":{\"CVE-2026-2002\":{\"releases\":{\"bookworm\":{\"status\":\"open\",\"urgency\":\"low\"}}}}}\n" >zdb/tracker.json &&
	"$PY" -c "
import json, zipfile
with zipfile.ZipFile(\"zdb/more.zip\", \"w\") as z:
    z.writestr(\"x/CVE-2026-1001.json\", json.dumps({\"id\": \"CVE-2026-1001\", \"modified\": \"2026-01-01T00:00:00Z\", \"affected\": [{\"package\": {\"ecosystem\": \"Debian:12\", \"name\": \"demo\"}, \"ranges\": [{\"type\": \"ECOSYSTEM\", \"events\": [{\"introduced\": \"0\"}, {\"fixed\": \"1.0-2\"}]}]}]}))
    z.writestr(\"notes.txt\", \"skipped\")
" &&
	[ "$(stele scan --db zdb --json app:1 | json_get /dev/stdin .findings | "$PY" -c "import json,sys; print(\" \".join(sorted(f[\"id\"] for f in json.load(sys.stdin))))")" = "CVE-2026-1001 CVE-2026-2002" ] &&
	cp www/bad/all.zip zdb/bad.zip &&
	expect_code 3 stele scan --db zdb app:1 2>err && grep -q "bad.zip:CVE-2026-9.json" err &&
	rm zdb/bad.zip && head -c 100 zdb/more.zip >zdb/cut.zip &&
	expect_code 3 stele scan --db zdb app:1 2>err && grep -q "cut.zip" err
'
test_expect_success 'usage: http://, no --from, no DB, another subcommand' '
	expect_code 2 stele db update db --from "http://127.0.0.1:1/x.zip" 2>err && grep -q "not an https:// URL" err &&
	expect_code 2 stele db update db 2>err && grep -q "need --from" err &&
	expect_code 2 stele db update --from "$U/tracker.json" 2>err && grep -q "need exactly one DB" err &&
	expect_code 2 stele db fetch db 2>err && grep -q "unknown subcommand" err &&
	stele db --help | grep -q "usage: stele db update"
'
test_done
