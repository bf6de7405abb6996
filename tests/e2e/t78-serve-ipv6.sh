#!/bin/sh
# stele serve --listen on IPv6: [::1]:PORT serves /healthz, /validate and
# /flagger over TLS (a certificate for IP ::1 made with openssl, checked by
# curl); nothing answers on 127.0.0.1 at that port.  --listen refuses an
# IPv6 address without brackets, unbalanced brackets, a missing or zero
# port (usage, exit 2) and an address that does not parse (exit 3).
. "$(dirname "$0")/lib.sh"

if ! command -v openssl >/dev/null 2>&1 || ! grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null; then
	test_skip 'serve on IPv6' 'no openssl, or no IPv6 loopback (::1) on this machine'
	exit 0
fi
printf '{"signatures": {"threshold": 0}}\n' >p.json
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem \
	-out cert.pem -days 2 -subj /CN=localhost -addext subjectAltName=IP:::1 >/dev/null 2>&1
start6() {
	for try in 1 2 3 4 5; do
		port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 ))
		"$STELE" serve --admission --policy p.json --tls-cert cert.pem --tls-key key.pem \
			--listen "[::1]:$port" >/dev/null 2>serve.log &
		pid=$!
		test_at_exit "test_kill $pid"
		i=0
		while [ $i -lt 50 ]; do
			if curl -sfg --cacert cert.pem "https://[::1]:$port/healthz" >/dev/null 2>&1; then
				PORT=$port
				return 0
			fi
			kill -0 $pid 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		test_kill $pid
	done
	return 1
}

test_expect_success 'serve --listen [::1]:PORT answers over TLS on ::1, and says where' '
	start6 && [ "$(curl -sg --cacert cert.pem "https://[::1]:$PORT/healthz")" = ok ] &&
	grep -q "serving admission reviews on https://\[::1\]:$PORT/validate" serve.log &&
	echo "[1]" >bad.json &&
	[ "$(curl -sg --cacert cert.pem -H "Content-Type: application/json" --data-binary @bad.json -o out -w "%{http_code}" "https://[::1]:$PORT/validate")" = 400 ] &&
	[ "$(curl -sg --cacert cert.pem -H "Content-Type: application/json" --data-binary @bad.json -o out -w "%{http_code}" "https://[::1]:$PORT/flagger")" = 400 ] &&
	! curl -s --max-time 5 -k "https://127.0.0.1:$PORT/healthz" >/dev/null 2>&1
'
test_expect_success '--listen forms refused' '
	for l in "::1:8443" "[::1:8443" "::1]:8443" "[::1]" "[::1]:0" "[::1]:" "127.0.0.1" "[127.0.0.1]:8443x"; do
		expect_code 2 stele serve --admission --policy p.json --tls-cert cert.pem --tls-key key.pem --listen "$l" 2>err ||
		{ echo "accepted: $l"; return 1; }
		grep -q "listen takes ADDR:PORT" err || return 1
	done &&
	expect_code 3 stele serve --admission --policy p.json --tls-cert cert.pem --tls-key key.pem --listen "[fe80::zz]:8443" 2>err &&
	grep -q "give an IPv4 or IPv6 address" err
'
test_done
