# shellcheck shell=sh
# Registries for the t2x-registry tests (sourced after lib.sh): Debian's
# docker-registry on 127.0.0.1 with a config per case (plain HTTP, TLS with
# a self-signed CA, htpasswd Basic auth, bearer tokens), the token server
# and the fault-injecting proxy.  Nothing listens beyond 127.0.0.1.
PY=$(command -v python3)
# Everything stays on 127.0.0.1: no proxy from the environment.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

free_port() { echo $(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 )); }

# reg_serve NAME [tls [clientca CA.pem]] [htpasswd FILE] [token REALM BUNDLE]
# Starts a registry storing under $TMP/NAME; sets REG (127.0.0.1:PORT) and
# REG_LOG (its access log: one line per request).
reg_serve() {
	rs_name=$1
	shift
	rs_tls="" rs_auth="" rs_cas=""
	while [ $# -gt 0 ]; do
		case $1 in
		tls) rs_tls=1; shift ;;
		clientca) rs_cas=", clientcas: [$2]"; shift 2 ;;
		htpasswd) rs_auth="auth: {htpasswd: {realm: stele-test, path: $2}}"; shift 2 ;;
		token) rs_auth="auth: {token: {realm: \"$2\", service: stele-registry, issuer: stele-test, rootcertbundle: $3}}"; shift 3 ;;
		*) return 1 ;;
		esac
	done
	[ -n "$rs_tls" ] && rs_tls=", tls: {certificate: $TMP/tls/cert.pem, key: $TMP/tls/key.pem$rs_cas}"
	command -v docker-registry >/dev/null 2>&1 || return 1
	for rs_try in 1 2 3 4 5; do
		rs_port=$(free_port)
		mkdir -p "$TMP/$rs_name"
		cat >"$TMP/$rs_name.yml" <<-REG
		version: 0.1
		log: {level: error}
		storage: {filesystem: {rootdirectory: $TMP/$rs_name}, delete: {enabled: true}}
		http: {addr: 127.0.0.1:$rs_port$rs_tls}
		$rs_auth
		REG
		REG_LOG=$TMP/$rs_name.log
		docker-registry serve "$TMP/$rs_name.yml" >"$REG_LOG" 2>&1 &
		rs_pid=$!
		test_at_exit "test_kill $rs_pid"
		rs_i=0
		while [ $rs_i -lt 50 ]; do
			if [ -n "$rs_cas" ]; then
				set -- --cert "$TMP/mtls.d/client.cert" --key "$TMP/mtls.d/client.key"
			else
				set --
			fi
			rs_code=$(curl -sk "$@" -o /dev/null -w '%{http_code}' \
				"http${rs_tls:+s}://127.0.0.1:$rs_port/v2/" 2>/dev/null)
			if [ "$rs_code" = 200 ] || [ "$rs_code" = 401 ]; then
				REG=127.0.0.1:$rs_port
				return 0
			fi
			kill -0 $rs_pid 2>/dev/null || break
			sleep 0.1
			rs_i=$((rs_i + 1))
		done
		test_kill $rs_pid
	done
	return 1
}

# A self-signed certificate for 127.0.0.1 and localhost in $TMP/tls, and
# a containers-certs.d directory $TMP/certs.d holding it as ca.crt.
make_tls() {
	mkdir -p "$TMP/tls" "$TMP/certs.d" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/tls/key.pem" \
		-out "$TMP/tls/cert.pem" -days 30 -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null &&
	cp "$TMP/tls/cert.pem" "$TMP/certs.d/ca.crt"
}

# A CA in $TMP/ca and a client certificate it signed, laid out as
# containers-certs.d wants it in $TMP/mtls.d (ca.crt, client.cert, client.key).
make_client_cert() {
	mkdir -p "$TMP/ca" "$TMP/mtls.d" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/ca/ca.key" -out "$TMP/ca/ca.pem" \
		-days 30 -subj /CN=stele-test-ca 2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -keyout "$TMP/mtls.d/client.key" \
		-out "$TMP/ca/client.csr" -subj /CN=stele-client 2>/dev/null &&
	openssl x509 -req -in "$TMP/ca/client.csr" -CA "$TMP/ca/ca.pem" -CAkey "$TMP/ca/ca.key" \
		-CAcreateserial -out "$TMP/mtls.d/client.cert" -days 30 2>/dev/null &&
	cp "$TMP/tls/cert.pem" "$TMP/mtls.d/ca.crt"
}

# token_serve USER:PASS TTL: the token server in $TMP/tok; sets TOKEN_URL.
token_serve() {
	mkdir -p "$TMP/tok"
	"$PY" "$TOP/tests/e2e/tokenserver.py" "$TMP/tok" "$1" "$2" 2>"$TMP/tok/err" &
	ts_pid=$!
	test_at_exit "test_kill $ts_pid"
	ts_i=0
	while [ ! -s "$TMP/tok/token.port" ] && [ $ts_i -lt 100 ]; do
		kill -0 $ts_pid 2>/dev/null || return 1
		sleep 0.1
		ts_i=$((ts_i + 1))
	done
	[ -s "$TMP/tok/token.port" ] || return 1
	TOKEN_URL=http://127.0.0.1:$(cat "$TMP/tok/token.port")/token
}

# proxy_serve UPSTREAM(HOST:PORT): the fault proxy; sets PROXY, PROXY_LOG,
# PROXY_RULES (write JSON rules there; `faults` does).
proxy_serve() {
	PROXY_RULES=$TMP/proxy.rules PROXY_LOG=$TMP/proxy.log
	: >"$PROXY_LOG"
	rm -f "$PROXY_RULES" "$TMP/proxy.port"
	"$PY" "$TOP/tests/e2e/faultproxy.py" "${1#*:}" "$PROXY_RULES" "$PROXY_LOG" \
		"$TMP/proxy.port" 2>"$TMP/proxy.err" &
	ps_pid=$!
	test_at_exit "test_kill $ps_pid"
	ps_i=0
	while [ ! -s "$TMP/proxy.port" ] && [ $ps_i -lt 100 ]; do
		kill -0 $ps_pid 2>/dev/null || return 1
		sleep 0.1
		ps_i=$((ps_i + 1))
	done
	[ -s "$TMP/proxy.port" ] || return 1
	PROXY=127.0.0.1:$(cat "$TMP/proxy.port")
}

# faults 'JSON list': replace the proxy's rules (and clear its log).
faults() {
	printf '%s\n' "$1" >"$PROXY_RULES.new" && mv "$PROXY_RULES.new" "$PROXY_RULES" &&
	: >"$PROXY_LOG"
}

# Blob uploads a registry's access log shows for REPO (POST, PATCH, PUT).
uploads_in_log() {
	grep -c "\"\\(POST\\|PATCH\\|PUT\\) /v2/$2/blobs/uploads" "$1"
}

# The tags of REPO (a sorted list, one a line) over plain HTTP.
tags_of() {
	curl -sf "http://$1/v2/$2/tags/list" | "$PY" -c 'import json,sys
print("\n".join(sorted(json.load(sys.stdin).get("tags") or [])))'
}

# A small signed image in the store: app:1, with provenance; key k.key/k.pub.
# make_signed_image [NAME:TAG [IDENTITY]]: IDENTITY is what it is signed
# for (default NAME:TAG; HOST/REPO:TAG where it will be pushed).
make_signed_image() {
	export STELE_PASSWORD=pw
	mkdir -p ctx && echo hello >ctx/hello.txt &&
	head -c 1600000 /dev/urandom >ctx/big.bin &&
	printf 'FROM scratch\nCOPY hello.txt /hello.txt\nCOPY big.bin /big.bin\n' >ctx/Dockerfile &&
	"$STELE" build -q -t "${1:-app:1}" ctx >digest &&
	{ [ -f k.key ] || "$STELE" keygen --output-prefix k >/dev/null 2>&1; } &&
	"$STELE" sign --key k.key ${2:+--identity "$2"} "${1:-app:1}" >/dev/null
}
