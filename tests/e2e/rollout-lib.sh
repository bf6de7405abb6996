# shellcheck shell=sh
# Shared by t55-t58 (stele rollout): a registry on 127.0.0.1, two images
# of one app signed by the release manager's key (rm) for $REG/app, one
# unsigned, the deployer's journal key, and a policy trusting both (only
# rm may sign images).  Sourced after lib.sh.
export STELE_PASSWORD=pw STELE_CACHE="$TMP/cache" STELE_QUIET=1 USER=deployer

# The digest a tag of $REG/app names, as skopeo reads it ("" when none).
tag_digest() {
	skopeo inspect --tls-verify=false --format '{{.Digest}}' \
		"docker://$REG/app:$1" 2>/dev/null || true
}

# The key id (hex SHA-256 of the SPKI DER) of a public key file.
key_id() {
	python3 -c 'import hashlib,base64,sys
l=open(sys.argv[1]).read().strip().split("\n")
print(hashlib.sha256(base64.b64decode("".join(l[1:-1]))).hexdigest())' "$1"
}

rollout_setup() {
	start_registry || return 1
	make_busybox_base bb:1 &&
	stele keygen --output-prefix rm >/dev/null 2>&1 &&
	stele keygen --output-prefix deploy >/dev/null 2>&1 &&
	stele keygen --output-prefix other >/dev/null 2>&1 &&
	for v in 1 2 3; do
		mkdir -p "c$v" && echo "version $v" >"c$v/version" &&
		printf 'FROM bb:1\nCOPY version /version\nUSER 1000\n' >"c$v/Dockerfile" &&
		stele build -q -t "app:$v" "c$v" >"v$v.digest" 2>/dev/null || return 1
	done &&
	stele sign --key rm.key --identity "$REG/app:v1" app:1 >/dev/null 2>&1 &&
	stele sign --key rm.key --identity "$REG/app:v2" app:2 >/dev/null 2>&1 &&
	V1=$(cat v1.digest) && V2=$(cat v2.digest) && V3=$(cat v3.digest) &&
	cat >policy.json <<POL &&
{"keys": {"rm": {"path": "rm.pub"}, "deploy": {"path": "deploy.pub"}},
 "signatures": {"keys": ["rm"], "threshold": 1}}
POL
	RM_ID=$(key_id rm.pub) && export V1 V2 V3 RM_ID
}

# stele rollout with the test's registry options.
rollout() {
	ro_sub=$1
	shift
	stele rollout "$ro_sub" --tls-verify=false "$@"
}
