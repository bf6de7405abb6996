#!/bin/sh
# Registries that want more: TLS with a self-signed CA (--cert-dir),
# htpasswd Basic auth, bearer tokens from a token server the test runs
# (RS256 JWT with x5c, as distribution's token auth expects); credentials from
# --creds, auth files and `stele login` (podman's format, 0600, read by
# skopeo); wrong or missing credentials are clear errors.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reglib.sh"

export STELE_QUIET=1
make_signed_image app:1
D=$(cat digest)

# --- TLS --------------------------------------------------------------------
if ! make_tls || ! reg_serve tlsreg tls; then
	test_skip 'TLS registry' 'openssl or docker-registry (TLS) unavailable'
else
	# shellcheck disable=SC2153 # set by reg_serve
	TREG=$REG
	test_expect_success 'TLS: a self-signed certificate is refused without --cert-dir' '
		expect_code 3 stele push --key k.pub app:1 docker://$TREG/app:1 2>err && cat err &&
		grep -qi "certificate" err && grep -q -- "--cert-dir" err
	'
	test_expect_success 'TLS: push and pull with --cert-dir (CA trusted), same digest' '
		stele push --key k.pub --cert-dir "$TMP/certs.d" app:1 docker://$TREG/app:1 >out 2>err &&
		[ "$(cat out)" = "$D" ] && ! grep -q warning err &&
		stele pull --cert-dir "$TMP/certs.d" docker://$TREG/app:1 oci:tback:1 >out &&
		[ "$(cat out)" = "$D" ] &&
		[ "$(skopeo inspect --cert-dir "$TMP/certs.d" --format "{{.Digest}}" docker://$TREG/app:1)" = "$D" ]
	'
	test_expect_success 'TLS: a --cert-dir holding another CA (not the registry'"'"'s) is refused, clearly' '
		mkdir -p other.d &&
		openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.d/other.crt \
			-days 30 -subj /CN=stele-test-other-ca 2>/dev/null &&
		expect_code 3 stele push --key k.pub --cert-dir "$TMP/other.d" app:1 docker://$TREG/app:other 2>err &&
		cat err && grep -qi "certificate" err && grep -q -- "--cert-dir" err
	'
	test_expect_success 'TLS: a *.crt that does not read is a clear error naming it; one holding no certificate adds nothing' '
		mkdir -p bad.d dud.d dudok.d &&
		printf "%s\n" "-----BEGIN CERTIFICATE-----" "!!!!" "-----END CERTIFICATE-----" >bad.d/bad.crt &&
		expect_code 3 stele pull --cert-dir "$TMP/bad.d" docker://$TREG/app:1 oci:bad:1 2>err &&
		cat err && grep -q "cannot read CA certificate .*bad.crt" err && [ ! -e bad ] &&
		stele pull --tls-verify=false --cert-dir "$TMP/bad.d" docker://$TREG/app:1 oci:badins:1 >out 2>err &&
		[ "$(cat out)" = "$D" ] &&
		: >dud.d/empty.crt && echo "no certificate here" >dud.d/notes.crt &&
		expect_code 3 stele pull --cert-dir "$TMP/dud.d" docker://$TREG/app:1 oci:dud:1 2>err &&
		cat err && grep -q -- "--cert-dir" err &&
		cp dud.d/*.crt certs.d/ca.crt dudok.d/ &&
		stele pull --cert-dir "$TMP/dudok.d" docker://$TREG/app:1 oci:dudok:1 >out && [ "$(cat out)" = "$D" ]
	'
	test_expect_success 'TLS: what a client trusts: the system'"'"'s CAs from a hashed directory (or the bundle without one), the cert dir'"'"'s besides (unit test, its own system CAs)' '
		STELE_TEST_TLS_REGISTRY=$TREG STELE_TEST_TLS_CA=$TMP/tls/cert.pem STELE_TEST_TLS_OTHER_CA=$TMP/other.d/other.crt \
			"$(dirname "$STELE")/tests/test_registry" >unit.out 2>&1;
		sed "s/^skip/(unit) skip/" unit.out; # t23 runs its other live tests
		grep -q "PASSED  \] [0-9]* test" unit.out && ! grep -q "FAILED" unit.out &&
		grep -q "^tls trust: all cases" unit.out
	'
	test_expect_success 'TLS: a re-push, its questions asked with the probe, finds all there; a signature deleted from the registry is put back' '
		stele push --key k.pub --cert-dir "$TMP/certs.d" --json app:1 docker://$TREG/app:1 >r1.json &&
		[ "$(json_get r1.json .manifests)" = 0 ] &&
		[ "$(json_get r1.json .blobs.transferred)" = 0 ] &&
		[ "$(json_get r1.json .signatures)" = 1 ] &&
		sig="https://$TREG/v2/app/manifests/sha256-${D#sha256:}.sig" &&
		S=$(curl -skf -o /dev/null -D - -H "Accept: application/vnd.oci.image.manifest.v1+json" "$sig" |
			tr -d "\r" | sed -n "s/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p") &&
		curl -skf -X DELETE "https://$TREG/v2/app/manifests/$S" &&
		! curl -skf -H "Accept: application/vnd.oci.image.manifest.v1+json" "$sig" >/dev/null &&
		stele push --key k.pub --cert-dir "$TMP/certs.d" --json app:1 docker://$TREG/app:1 >r2.json &&
		[ "$(json_get r2.json .manifests)" = 1 ] &&
		curl -skf -H "Accept: application/vnd.oci.image.manifest.v1+json" "$sig" >/dev/null
	'
	test_expect_success 'TLS: --tls-verify=false works, and warns' '
		stele pull --tls-verify=false docker://$TREG/app:1 oci:tins:1 >out 2>err &&
		[ "$(cat out)" = "$D" ] && grep -q "warning: --tls-verify=false" err
	'
	if make_client_cert && reg_serve mtlsreg tls clientca "$TMP/ca/ca.pem"; then
		MREG=$REG
		test_expect_success 'TLS client certificates: refused without one, accepted from --cert-dir (NAME.cert + NAME.key)' '
			expect_code 3 stele pull --cert-dir "$TMP/certs.d" docker://$MREG/app:1 oci:m0:1 2>err &&
			cat err && [ ! -e m0 ] &&
			stele push --key k.pub --cert-dir "$TMP/mtls.d" app:1 docker://$MREG/app:1 >out &&
			[ "$(cat out)" = "$D" ] &&
			stele pull --cert-dir "$TMP/mtls.d" docker://$MREG/app:1 oci:m1:1 >out && [ "$(cat out)" = "$D" ]
		'
	else
		test_skip 'TLS client certificates' 'a registry requiring client certificates could not start'
	fi
	test_expect_success 'TLS: the default certs.d directory is not needed when --cert-dir names one; a missing --cert-dir is an error' '
		expect_code 3 stele pull --cert-dir "$TMP/nonexistent" docker://$TREG/app:1 oci:x:1 2>err &&
		grep -q "nonexistent" err
	'
fi

# --- htpasswd Basic auth ----------------------------------------------------
if ! command -v htpasswd >/dev/null 2>&1; then
	test_skip 'Basic auth registry' 'htpasswd (apache2-utils) is not installed'
elif ! htpasswd -Bbn alice s3cret >"$TMP/htpasswd" || ! reg_serve basicreg htpasswd "$TMP/htpasswd"; then
	test_skip 'Basic auth registry' 'docker-registry with htpasswd could not start'
else
	BREG=$REG
	test_expect_success 'Basic: no credentials is a clear error, nothing pushed' '
		expect_code 3 stele push --key k.pub --tls-verify=false app:1 docker://$BREG/app:1 2>err &&
		cat err && grep -q "requires authentication" err
	'
	test_expect_success 'Basic: wrong credentials are a clear error naming the user' '
		expect_code 3 stele push --key k.pub --tls-verify=false --creds alice:wrong app:1 docker://$BREG/app:1 2>err &&
		cat err && grep -q "authentication failed for user .alice." err
	'
	test_expect_success 'Basic: push and pull with --creds' '
		stele push --key k.pub --tls-verify=false --creds alice:s3cret app:1 docker://$BREG/app:1 >out &&
		[ "$(cat out)" = "$D" ] &&
		stele pull --tls-verify=false --creds alice:s3cret docker://$BREG/app:1 oci:bback:1 >out &&
		[ "$(cat out)" = "$D" ]
	'
	if [ -n "${TREG:-}" ] && reg_serve tlsbasic tls htpasswd "$TMP/htpasswd"; then
		SREG=$REG
		test_expect_success 'Basic over TLS: push and re-push with --creds; without, a re-push (its questions asked with the probe) is a clear error' '
			stele push --key k.pub --cert-dir "$TMP/certs.d" --creds alice:s3cret app:1 docker://$SREG/app:1 >out &&
			[ "$(cat out)" = "$D" ] &&
			stele push --key k.pub --cert-dir "$TMP/certs.d" --creds alice:s3cret --json app:1 docker://$SREG/app:1 >r.json &&
			[ "$(json_get r.json .manifests)" = 0 ] &&
			expect_code 3 stele push --key k.pub --cert-dir "$TMP/certs.d" app:1 docker://$SREG/app:1 2>err &&
			cat err && grep -q "requires authentication" err
		'
	else
		test_skip 'Basic auth over TLS' 'docker-registry with TLS and htpasswd could not start'
	fi
	test_expect_success 'login writes the auth file as podman does (0600); skopeo and stele read it' '
		echo s3cret | stele login --tls-verify=false --authfile "$TMP/auth.json" -u alice --password-stdin $BREG 2>err &&
		cat err && [ "$(stat -c %a auth.json)" = 600 ] &&
		"$PY" -c "import json,base64,sys; a=json.load(open(\"auth.json\"))[\"auths\"][sys.argv[1]][\"auth\"]; assert base64.b64decode(a)==b\"alice:s3cret\"" $BREG &&
		[ "$(skopeo inspect --tls-verify=false --authfile auth.json --format "{{.Digest}}" docker://$BREG/app:1)" = "$D" ] &&
		stele pull --tls-verify=false --authfile auth.json docker://$BREG/app:1 oci:af:1 >out &&
		[ "$(cat out)" = "$D" ]
	'
	test_expect_success 'login refuses wrong credentials and writes nothing' '
		expect_code 3 sh -c "echo nope | \"$STELE\" login --tls-verify=false --authfile \"$TMP/bad.json\" -u alice --password-stdin $BREG" 2>err &&
		cat err && [ ! -e bad.json ]
	'
	test_expect_success 'credentials found through $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR and ~/.docker/config.json' '
		REGISTRY_AUTH_FILE=$TMP/auth.json stele pull --tls-verify=false docker://$BREG/app:1 oci:e1:1 >/dev/null &&
		mkdir -p xdg/containers && cp auth.json xdg/containers/auth.json &&
		XDG_RUNTIME_DIR=$TMP/xdg stele pull --tls-verify=false docker://$BREG/app:1 oci:e2:1 >/dev/null &&
		mkdir -p "$HOME/.docker" && cp auth.json "$HOME/.docker/config.json" &&
		stele pull --tls-verify=false docker://$BREG/app:1 oci:e3:1 >/dev/null &&
		rm "$HOME/.docker/config.json"
	'
	test_expect_success 'logout removes the entry; then the registry asks again' '
		XDG_RUNTIME_DIR=$TMP/xdg stele logout $BREG &&
		! grep -q "$BREG" xdg/containers/auth.json &&
		expect_code 3 env XDG_RUNTIME_DIR=$TMP/xdg "$STELE" pull --tls-verify=false docker://$BREG/app:1 oci:e4:1 2>/dev/null &&
		expect_code 3 env XDG_RUNTIME_DIR=$TMP/xdg "$STELE" logout $BREG 2>err && grep -q "not logged in" err
	'
fi

# --- bearer tokens ----------------------------------------------------------
if ! "$PY" -c 'import cryptography' 2>/dev/null; then
	test_skip 'bearer token registry' "python3's cryptography package is missing (the token server signs RS256 JWTs with it)"
elif ! token_serve bob:tokpass 2 || ! reg_serve tokreg token "$TOKEN_URL" "$TMP/tok/token.crt"; then
	test_skip 'bearer token registry' "the token server or docker-registry could not start: $(tail -n2 "$TMP/tok/err" 2>/dev/null)"
else
	KREG=$REG
	test_expect_success 'Bearer: push with credentials (token for pull,push), pull back: same digest' '
		: >tok/token.log &&
		stele push --key k.pub --tls-verify=false --creds bob:tokpass --json app:1 docker://$KREG/app:1 >tp.json &&
		cat tp.json tok/token.log && [ "$(json_get tp.json .digest)" = "$D" ] &&
		grep -q "^bob repository:app:pull,push" tok/token.log &&
		stele pull --tls-verify=false --creds bob:tokpass docker://$KREG/app:1 oci:kb:1 >out &&
		[ "$(cat out)" = "$D" ]
	'
	test_expect_success 'Bearer: a token is reused for its scope (a few token requests for many registry requests)' '
		: >tok/token.log &&
		stele push --key k.pub --tls-verify=false --creds bob:tokpass --json app:1 docker://$KREG/reuse:1 >r.json &&
		n=$(grep -c "" tok/token.log) && req=$(json_get r.json .requests.total) &&
		echo "token requests $n, registry requests $req" && [ "$n" -le 2 ] && [ "$req" -ge 10 ]
	'
	test_expect_success 'Bearer: an expired token is fetched again (2 s tokens, a slow push)' '
		: >tok/token.log &&
		proxy_serve $KREG && faults "[{\"match\": \"/v2/slow/\", \"action\": \"delay\", \"seconds\": 0.25, \"times\": -1}]" &&
		stele push --key k.pub --tls-verify=false --creds bob:tokpass --json app:1 docker://$PROXY/slow:1 >s.json &&
		cat tok/token.log && [ "$(grep -c "" tok/token.log)" -ge 2 ] &&
		[ "$(json_get s.json .digest)" = "$D" ]
	'
	test_expect_success 'Bearer: anonymous pull works, anonymous push is refused clearly' '
		stele pull --tls-verify=false docker://$KREG/app:1 oci:anon:1 >out && [ "$(cat out)" = "$D" ] &&
		expect_code 3 stele push --key k.pub --tls-verify=false app:1 docker://$KREG/anon:1 2>err &&
		cat err && grep -q "authentication required" err
	'
	test_expect_success 'Bearer: wrong credentials are refused by the token server, clearly' '
		expect_code 3 stele pull --tls-verify=false --creds bob:wrong docker://$KREG/app:1 oci:w:1 2>err &&
		cat err && grep -q "token server rejected the credentials" err && [ ! -e w ]
	'
	test_expect_success 'Bearer: login checks the credentials with the token server' '
		echo tokpass | stele login --tls-verify=false --authfile "$TMP/tauth.json" -u bob --password-stdin $KREG 2>/dev/null &&
		stele pull --tls-verify=false --authfile tauth.json docker://$KREG/app:1 oci:tl:1 >/dev/null &&
		expect_code 3 sh -c "echo bad | \"$STELE\" login --tls-verify=false --authfile \"$TMP/tauth2.json\" -u bob --password-stdin $KREG" 2>/dev/null &&
		[ ! -e tauth2.json ]
	'
fi
