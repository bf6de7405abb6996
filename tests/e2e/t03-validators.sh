#!/bin/sh
# Real third-party tools accept what stele writes.
. "$(dirname "$0")/lib.sh"

make_busybox_base "oci:$TMP/base:bb"
mkdir app && git -C app init -q -b main &&
printf '#!/bin/sh\necho "hello from $NAME"\n' >app/hello.sh && chmod +x app/hello.sh &&
printf 'FROM oci:%s/base:bb\nENV NAME=stele\nCOPY hello.sh /usr/bin/hello\nUSER 65532\nENTRYPOINT ["/usr/bin/hello"]\n' "$TMP" >app/Dockerfile &&
git_commit app app >/dev/null

test_expect_success 'build the example image from a git commit' '
	stele build -q -o oci:$TMP/img:v1 "git+file://$TMP/app#main" >digest &&
	grep -q "^sha256:" digest
'
test_expect_success 'oci-image-tool validates the image' '
	oci-image-tool validate --type image --ref name=v1 img
'
test_expect_success 'oci-image-tool validates the imported base' '
	oci-image-tool validate --type image --ref name=bb base
'
test_expect_success 'the base layer is several gzip members (libdeflate, 1 MiB blocks) and gzip(1) reads it' '
	python3 - base >members <<-PY &&
	import json, sys, zlib
	d = sys.argv[1]
	i = json.load(open(d + "/index.json"))
	m = json.load(open(d + "/blobs/sha256/" + i["manifests"][0]["digest"][7:]))
	p = d + "/blobs/sha256/" + m["layers"][0]["digest"][7:]
	data, n = open(p, "rb").read(), 0
	while data:
	    o = zlib.decompressobj(31); o.decompress(data); data = o.unused_data; n += 1
	print(n, p)
	PY
	cat members && [ "$(cut -d" " -f1 members)" -ge 2 ] &&
	gzip -t "$(cut -d" " -f2 members)"
'
test_expect_success 'umoci unpacks it and the file tree is as built' '
	umoci unpack --image img:v1 bundle >/dev/null &&
	[ -x bundle/rootfs/usr/bin/hello ] && [ -x bundle/rootfs/bin/busybox ] &&
	[ "$(stat -c %u bundle/rootfs/usr/bin/hello)" = 0 ] &&
	grep -q "\"uid\": 65532" bundle/config.json
'
test_expect_success 'runc runs it and it prints what it should' '
	run_image img v1 >out && cat out && grep -qx "hello from stele" out
'
if start_registry; then
	test_expect_success 'skopeo copies it into a registry and back: same digest' '
		skopeo copy -q --dest-tls-verify=false oci:img:v1 docker://$REG/app:v1 &&
		d=$(skopeo inspect --tls-verify=false --format "{{.Digest}}" docker://$REG/app:v1) &&
		[ "$d" = "$(cat digest)" ] &&
		skopeo copy -q --src-tls-verify=false docker://$REG/app:v1 oci:back:v1 &&
		stele inspect --json oci:back:v1 >back.json &&
		[ "$(json_get back.json .digest)" = "$(cat digest)" ]
	'
else
	test_expect_success 'a registry on 127.0.0.1 starts' 'false'
fi
