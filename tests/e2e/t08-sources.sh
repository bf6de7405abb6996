#!/bin/sh
# Contexts from remote git repositories (fetched with libgit2 over smart
# HTTP from a server on 127.0.0.1), and root filesystems made into bases.
. "$(dirname "$0")/lib.sh"

make_app_repo srv/app.git.src >/dev/null
git clone -q --bare srv/app.git.src srv/app.git
python3 "$TOP/tests/e2e/githttp.py" "$TMP/srv" "$TMP/port" &
srv_pid=$!
test_at_exit "test_kill $srv_pid"
i=0; while [ ! -s port ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
URL="http://127.0.0.1:$(cat port)/app.git"
export STELE_GIT_CACHE="$TMP/gitcache"

test_expect_success 'a git+http context is fetched and built at a tag: same layers as local' '
	stele build -q -o oci:$TMP/r1:x "git+$URL#v1" >/dev/null &&
	stele build -q -o oci:$TMP/l1:x "git+file://$TMP/srv/app.git.src#v1" >/dev/null &&
	stele inspect --json oci:r1:x >r.json && stele inspect --json oci:l1:x >l.json &&
	[ "$(json_get r.json .manifest.layers)" = "$(json_get l.json .manifest.layers)" ] &&
	[ "$(json_get r.json .config)" = "$(json_get l.json .config)" ]
'
test_expect_success 'the remote URL is the image source and the commit its revision' '
	python3 -c "
import json
a=json.load(open(\"r.json\"))[\"manifest\"][\"annotations\"]
assert a[\"org.opencontainers.image.source\"]==\"$URL\", a
assert a[\"org.opencontainers.image.revision\"]==\"$(git -C srv/app.git rev-parse v1)\", a"
'
test_expect_success 'a commit id works as the ref, and a second fetch reuses the cache' '
	c=$(git -C srv/app.git rev-parse v1) &&
	stele build -q -o oci:$TMP/r2:x "git+$URL#$c" >/dev/null && [ -d gitcache ]
'
test_expect_success 'an unknown ref on the remote fails clearly' '
	expect_code 3 stele build -q -o oci:$TMP/r3:x "git+$URL#nope" 2>err &&
	grep -q "nope" err && [ ! -e r3 ]
'
test_expect_success 'an unreachable remote fails clearly' '
	expect_code 3 stele build -q -o oci:$TMP/r4:x "git+http://127.0.0.1:1/x.git#main" 2>err &&
	grep -q "cannot fetch" err && [ ! -e r4 ]
'

mkroot() {
	mkdir -p "$1/bin" "$1/etc" "$1/dev" "$1/tmp" && chmod 1777 "$1/tmp" &&
	echo data >"$1/etc/conf" && ln "$1/etc/conf" "$1/etc/conf.hard" &&
	printf '#!/bin/sh\n' >"$1/bin/tool" && chmod 4755 "$1/bin/tool" &&
	chown 12:34 "$1/etc/conf" && ln -s ../etc/conf "$1/bin/link" &&
	mkfifo "$1/tmp/fifo" && mknod "$1/dev/null" c 1 3
}
test_expect_success 'import keeps modes and owners, clamps mtimes, leaves devices out' '
	mkroot root && touch -d "2030-01-01" root/etc/conf &&
	stele import -t oci:$TMP/base:1 root >digest 2>err && grep -q "left out 1 device node" err &&
	umoci unpack --image base:1 u >/dev/null &&
	[ "$(stat -c "%a %u %g" u/rootfs/bin/tool)" = "4755 0 0" ] &&
	[ "$(stat -c "%a" u/rootfs/tmp)" = 1777 ] &&
	[ "$(stat -c "%u %g %Y" u/rootfs/etc/conf)" = "12 34 1700000000" ] &&
	[ "$(stat -c %i u/rootfs/etc/conf)" = "$(stat -c %i u/rootfs/etc/conf.hard)" ] &&
	[ -p u/rootfs/tmp/fifo ] && [ ! -e u/rootfs/dev/null ] && [ -L u/rootfs/bin/link ]
'
test_expect_success 'a tarball of the same tree imports to the same digest' '
	tar -C root --numeric-owner --exclude=./dev/null -cpf root.tar . &&
	stele import -q -t oci:$TMP/tb:1 root.tar >d2 2>/dev/null &&
	gzip -k root.tar && stele import -q -t oci:$TMP/tz:1 root.tar.gz >d3 &&
	[ "$(cat digest)" = "$(cat d2)" ] && [ "$(cat d2)" = "$(cat d3)" ]
'
test_expect_success 'import of a missing path fails and writes nothing' '
	expect_code 3 stele import -q -t oci:$TMP/none:1 nothere 2>err && [ ! -e none ]
'
test_expect_success 'a tarball with a device node is refused, naming it' '
	tar -C root --numeric-owner -cpf dev.tar . &&
	expect_code 3 stele import -q -t oci:$TMP/dv:1 dev.tar 2>err &&
	grep -q "entry ../dev/null.: character devices are not allowed" err && [ ! -e dv ]
'
test_expect_success 'zstd layers import and serve as a base' '
	stele import -q --compression zstd -t oci:$TMP/zs:1 root >/dev/null &&
	mkdir zc && printf "FROM oci:$TMP/zs:1\nCOPY --from=oci:$TMP/zs:1 /etc/conf /copied\n" >zc/Dockerfile &&
	stele build -q -o oci:$TMP/zb:1 zc >/dev/null &&
	python3 - <<-PY
	import json, tarfile
	i = json.load(open("zb/index.json"))
	m = [x for x in i["manifests"] if "artifactType" not in x][0]
	man = json.load(open("zb/blobs/sha256/" + m["digest"][7:]))
	assert man["layers"][0]["mediaType"].endswith("+zstd"), man
	assert man["layers"][1]["mediaType"].endswith("+gzip"), man
	t = tarfile.open("zb/blobs/sha256/" + man["layers"][1]["digest"][7:])
	assert t.extractfile("copied").read() == b"data\\n"
	PY
'
