#!/bin/sh
# Where the recipe language overlaps Dockerfile, the meaning is Docker's:
# checked against buildah (a reference builder) on cases of our own, file
# tree and config, and by direct assertions.  t16 compares the
# instructions and flags of issue 13 (mounts, --chown forms, HOME,
# HEALTHCHECK, ONBUILD) the same way, and states BuildKit's results where
# buildah 1.28 has none.
. "$(dirname "$0")/lib.sh"

# compare CASE: build ctx-CASE with buildah and stele, compare tree+config.
compare() {
	buildah --root "$TMP/bs" --runroot "$TMP/br" --storage-driver vfs bud \
		--isolation chroot -q -f "ctx-$1/Dockerfile" -t "localhost/$1:1" "ctx-$1" >/dev/null &&
	buildah --root "$TMP/bs" --runroot "$TMP/br" --storage-driver vfs push -q \
		"localhost/$1:1" "oci:$TMP/b-$1:x" >/dev/null &&
	stele build -q -o "oci:$TMP/s-$1:x" "ctx-$1" >/dev/null &&
	for o in b s; do
		umoci unpack --image "$o-$1:x" "u-$o-$1" >/dev/null &&
		(cd "u-$o-$1/rootfs" && find . -printf "%p %m %u %g %y %l %s\n" | sort) >"$o-$1.tree" || return 1
	done &&
	diff "b-$1.tree" "s-$1.tree" &&
	python3 - "b-$1" "s-$1" <<-'PY'
	import json, sys
	def cfg(o):
	    idx = json.load(open(o + "/index.json"))
	    d = [m for m in idx["manifests"] if "artifactType" not in m][0]["digest"]
	    m = json.load(open(o + "/blobs/sha256/" + d[7:]))
	    c = json.load(open(o + "/blobs/sha256/" + m["config"]["digest"][7:]))
	    return dict(c["config"], author=c.get("author"))
	a, b = cfg(sys.argv[1]), cfg(sys.argv[2])
	a.get("Labels", {}).pop("io.buildah.version", None)
	if not a.get("Labels"): a.pop("Labels", None)
	bad = [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
	for x in bad: print("config differs:", x)
	sys.exit(1 if bad else 0)
	PY
}

mkctx() { mkdir -p "ctx-$1/src/sub" "ctx-$1/docs" && echo one >"ctx-$1/src/one.txt" &&
	echo two >"ctx-$1/src/sub/two.txt" && printf '#!/bin/sh\necho hi\n' >"ctx-$1/src/run" &&
	chmod 755 "ctx-$1/src/run" && echo a >"ctx-$1/docs/a.md" && echo b >"ctx-$1/docs/b.md" &&
	echo t >"ctx-$1/docs/c.txt" && ln -s one.txt "ctx-$1/src/link" && cat >"ctx-$1/Dockerfile"; }

mkctx copy <<'EOF'
FROM scratch
COPY src/ app/
COPY src /app2
COPY docs/*.md /docs/
COPY src/one.txt /single
COPY src/one.txt docs/a.md /multi/
COPY src/sub /deep/er/
COPY --chmod=0700 --chown=1000:1000 src/run /bin/run2
COPY src/link /linkcopy
EOF
mkctx env <<'EOF'
ARG BASEDIR=/opt
FROM scratch
ARG BASEDIR
ARG V=1.0
ENV APP=${BASEDIR}/app X=${UNSET:-dflt} Y=${V:+set} Z="quoted value" \
    W=$V
ENV LEGACY some words here
WORKDIR ${BASEDIR}
WORKDIR sub
COPY src/one.txt ./
LABEL a=b "c d"=e version=$V
EXPOSE 80 53/udp 8080/tcp
USER 1000:1000
STOPSIGNAL SIGINT
ENTRYPOINT /bin/run --flag "$APP"
CMD ["x", "y"]
EOF
mkctx ignore <<'EOF'
FROM scratch
COPY . /ctx/
EOF
printf 'docs\n!docs/a.md\n**/two.txt\nDockerfile\n' >ctx-ignore/.dockerignore
mkctx stages <<'EOF'
FROM scratch AS one
COPY src/ /one/
FROM one AS two
COPY docs/a.md /two/
FROM scratch
COPY --from=two /one/sub /final/
COPY --from=0 /one/one.txt /final/
CMD ["/final/two.txt"]
EOF

mkctx volume <<'EOF'
FROM scratch
MAINTAINER Jane Doe <jane@example.com>
VOLUME /data ["/var/log"]
ARG P=9000
VOLUME /v$P
VOLUME ["/with space", "/v$P/x"]
COPY src/one.txt /data/
EOF

mkctx bind <<'EOF'
FROM bb:1 AS gen
RUN mkdir -p /gen/d && echo generated >/gen/d/g.txt
FROM bb:1
WORKDIR /w
RUN --mount=type=bind,source=src,target=/w/in cat in/one.txt in/sub/two.txt >/out1 && ls in >/ls1
RUN --mount=type=bind,source=src,target=/again cat /again/one.txt >/out3 && ls /again >/ls3
RUN --mount=type=bind,from=gen,source=/gen/d,target=/g cat /g/g.txt >/out4
RUN --mount=type=bind,source=src/one.txt,target=/file.txt cat /file.txt >/out5
EOF

# compare_run CASE: as compare, over a busybox base in both stores, with
# what buildah 1.28's own RUN leaves behind taken out of its tree (empty
# /etc/hostname, /etc/hosts, /etc/resolv.conf and /run, which BuildKit's
# RUN does not leave either), and the files the steps wrote compared too.
# buildah 1.28 refuses a relative target, which BuildKit joins to the
# WORKDIR, and its rw bind mount of the context writes into the build
# context itself, where BuildKit discards the writes: t14 asserts
# BuildKit's results for both.
compare_run() {
	skopeo copy -q "oci:$STELE_STORE:bb:1" \
		"containers-storage:[vfs@$TMP/bs+$TMP/br]localhost/bb:1" >/dev/null &&
	{ compare "$1"; true; } >/dev/null 2>&1 &&
	for o in b s; do
		grep -vE '^\./(etc/hostname|etc/hosts|etc/resolv\.conf|run) ' "$o-$1.tree" >"$o-$1.kept" || return 1
	done &&
	diff "b-$1.kept" "s-$1.kept" &&
	for f in out1 ls1 out3 ls3 out4 out5; do
		cmp "u-b-$1/rootfs/$f" "u-s-$1/rootfs/$f" || return 1
	done &&
	[ "$(cat "u-s-$1/rootfs/out3")" = one ] &&
	[ ! -e "u-s-$1/rootfs/w/in" ] && [ ! -e "u-s-$1/rootfs/g" ] && [ ! -e "u-s-$1/rootfs/file.txt" ]
}

if command -v buildah >/dev/null 2>&1; then
	for c in copy env ignore stages volume; do
		test_expect_success "same file tree and config as buildah: $c" "compare $c"
	done
	make_busybox_base bb:1
	test_expect_success 'RUN --mount=type=bind (context, stage, a file): the same tree and files as buildah' 'compare_run bind'
else
	test_skip 'comparison with buildah' 'buildah is not installed'
fi

test_expect_success 'COPY of a directory copies its contents' '
	stele build -q -o oci:$TMP/c1:x ctx-copy && umoci unpack --image c1:x c1u >/dev/null &&
	[ -f c1u/rootfs/app/one.txt ] && [ -f c1u/rootfs/app/sub/two.txt ] && [ ! -e c1u/rootfs/app/src ] &&
	[ -f c1u/rootfs/app2/one.txt ] && [ -f c1u/rootfs/docs/a.md ] && [ ! -e c1u/rootfs/docs/c.txt ] &&
	[ "$(stat -c "%a %u %g" c1u/rootfs/bin/run2)" = "700 1000 1000" ] &&
	[ "$(cat c1u/rootfs/linkcopy)" = one ]
'
test_expect_success 'ARG and ENV substitution follow Docker' '
	stele build -q -o oci:$TMP/e1:x ctx-env >/dev/null && stele inspect --json oci:e1:x >e.json &&
	python3 - <<-PY
	import json
	c = json.load(open("e.json"))["config"]["config"]
	env = dict(e.split("=", 1) for e in c["Env"])
	assert env["APP"] == "/opt/app" and env["X"] == "dflt" and env["Y"] == "set", env
	assert env["Z"] == "quoted value" and env["W"] == "1.0" and env["LEGACY"] == "some words here", env
	assert env["PATH"].startswith("/usr/local/sbin"), env
	assert c["WorkingDir"] == "/opt/sub", c
	assert c["Entrypoint"] == ["/bin/sh", "-c", "/bin/run --flag \"\$APP\""], c
	assert c["Cmd"] == ["x", "y"] and c["User"] == "1000:1000" and c["StopSignal"] == "SIGINT"
	assert c["Labels"] == {"a": "b", "c d": "e", "version": "1.0"}, c
	assert sorted(c["ExposedPorts"]) == ["53/udp", "80/tcp", "8080/tcp"], c
	PY
'
test_expect_success '--build-arg overrides a default and reaches FROM' '
	mkdir ba && printf "ARG BASE=scratch\nFROM \$BASE\nARG V=1\nENV V=\$V\n" >ba/Dockerfile &&
	stele build -q --build-arg V=2 -o oci:$TMP/ba:x ba >/dev/null &&
	stele inspect --json oci:ba:x | grep -q "\"V=2\""
'
test_expect_success '--target stops at a stage' '
	stele build -q --target one -o oci:$TMP/t1:x ctx-stages >/dev/null &&
	umoci unpack --image t1:x t1u >/dev/null && [ -d t1u/rootfs/one ] && [ ! -e t1u/rootfs/final ]
'
test_expect_success '.dockerignore excludes, and ! re-includes' '
	stele build -q -o oci:$TMP/i1:x ctx-ignore >/dev/null && umoci unpack --image i1:x i1u >/dev/null &&
	[ -f i1u/rootfs/ctx/docs/a.md ] && [ ! -e i1u/rootfs/ctx/docs/b.md ] &&
	[ ! -e i1u/rootfs/ctx/src/sub/two.txt ] && [ -f i1u/rootfs/ctx/src/one.txt ] &&
	[ ! -e i1u/rootfs/ctx/Dockerfile ]
'
test_expect_success 'ADD of a local tar extracts it; ADD of a git URL adds the tree' '
	mkdir add && mkdir -p t/x && echo in-tar >t/x/f && tar -C t -czf add/files.tgz x &&
	mkdir g && git -C g init -q -b main && echo from-git >g/g.txt && git_commit g g &&
	printf "FROM scratch\nADD files.tgz /t/\nADD git+file://$TMP/g#main /g/\n" >add/Dockerfile &&
	stele build -q -o oci:$TMP/a1:x add >/dev/null && umoci unpack --image a1:x a1u >/dev/null &&
	[ "$(cat a1u/rootfs/t/x/f)" = in-tar ] && [ "$(cat a1u/rootfs/g/g.txt)" = from-git ] &&
	[ ! -e a1u/rootfs/g/.git ]
'
test_expect_success 'COPY --from an image' '
	stele build -q -o oci:$TMP/src:x ctx-copy >/dev/null &&
	mkdir cf && printf "FROM scratch\nCOPY --from=oci:$TMP/src:x /app/one.txt /got\n" >cf/Dockerfile &&
	stele build -q -o oci:$TMP/cf:x cf >/dev/null && umoci unpack --image cf:x cfu >/dev/null &&
	[ "$(cat cfu/rootfs/got)" = one ]
'
test_expect_success 'ENTRYPOINT resets a CMD inherited from the base' '
	mkdir ep && printf "FROM scratch AS b\nCMD [\"c\"]\nFROM b\nENTRYPOINT [\"e\"]\n" >ep/Dockerfile &&
	stele build -q -o oci:$TMP/ep:x ep >/dev/null && stele inspect --json oci:ep:x >ep.json &&
	python3 -c "import json;c=json.load(open(\"ep.json\"))[\"config\"][\"config\"];assert \"Cmd\" not in c and c[\"Entrypoint\"]==[\"e\"],c"
'
test_expect_success 'a COPY into a symlinked directory of the base follows it' '
	mkdir sl && echo x >sl/x && mkdir -p slroot/usr/real && ln -s real slroot/usr/lnk &&
	SOURCE_DATE_EPOCH=0 stele import -q -t oci:$TMP/slb:1 slroot >/dev/null &&
	printf "FROM oci:$TMP/slb:1\nCOPY x /usr/lnk/\n" >sl/Dockerfile &&
	stele build -q -o oci:$TMP/sl:x sl >/dev/null && umoci unpack --image sl:x slu >/dev/null &&
	[ -L slu/rootfs/usr/lnk ] && [ "$(cat slu/rootfs/usr/real/x)" = x ]
'

# buildah 1.28 keeps "8000-8002/TCP" as one key; BuildKit exposes each port.
test_expect_success 'EXPOSE ranges, protocols and host parts, as BuildKit reads them' '
	mkdir ex && printf "FROM scratch\nARG PORTS=\"9000 9001/udp\"\nEXPOSE 8000-8002/TCP 80/ 10:20/udp\nEXPOSE \$PORTS 127.0.0.1:8080:81\n" >ex/Dockerfile &&
	stele build -q -o oci:$TMP/ex:x ex >/dev/null && stele inspect --json oci:ex:x >ex.json &&
	python3 -c "import json;c=json.load(open(\"ex.json\"))[\"config\"][\"config\"];p=sorted(c[\"ExposedPorts\"]);assert p==[\"20/udp\",\"80/tcp\",\"8000/tcp\",\"8001/tcp\",\"8002/tcp\",\"81/tcp\",\"9000/tcp\",\"9001/udp\"],p"
'
# buildah 1.28 drops HEALTHCHECK from OCI images; BuildKit writes Docker's
# HealthConfig, durations in nanoseconds, zero values left out.
test_expect_success 'HEALTHCHECK: the config as BuildKit writes it; NONE; a child inherits' '
	mkdir hc && cat >hc/Dockerfile <<-\EOF &&
	FROM scratch AS shell
	SHELL ["/bin/bash", "-c"]
	HEALTHCHECK --interval=1m30s --timeout=1.5s --start-period=0s --start-interval=250ms --retries=3 \
	  CMD curl -f http://localhost/ || exit 1
	FROM shell AS exec
	HEALTHCHECK CMD ["/bin/check", "-q"]
	FROM exec AS none
	HEALTHCHECK NONE
	FROM shell AS child
	EOF
	for t in shell exec none child; do
		stele build -q --target $t -o oci:$TMP/hc:$t hc >/dev/null && stele inspect --json oci:hc:$t >hc-$t.json || return 1
	done &&
	python3 - <<-\PY
	import json
	h = lambda t: json.load(open("hc-%s.json" % t))["config"]["config"]["Healthcheck"]
	want = {"Test": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], "Interval": 90000000000,
	        "Timeout": 1500000000, "StartInterval": 250000000, "Retries": 3}
	assert h("shell") == want, h("shell")
	assert h("child") == want, h("child")
	assert h("exec") == {"Test": ["CMD", "/bin/check", "-q"]}, h("exec")
	assert h("none") == {"Test": ["NONE"]}, h("none")
	PY
'
# buildah 1.28 drops ONBUILD from OCI images; BuildKit records the trigger
# and runs it first thing in a stage built on the image, then forgets it.
test_expect_success 'ONBUILD: recorded in the config; run when used as a base, by image and by stage' '
	mkdir ob obc && echo base-file >ob/f && echo child-file >obc/f &&
	cat >ob/Dockerfile <<-\EOF &&
	FROM scratch
	ONBUILD COPY f /from-trigger
	onbuild   ENV   TRIGGERED=yes
	LABEL base=1
	EOF
	stele build -q -o oci:$TMP/ob:x ob >/dev/null && stele inspect --json oci:ob:x >ob.json &&
	printf "FROM oci:$TMP/ob:x AS c\nENV AFTER=\$TRIGGERED\nFROM c\n" >obc/Dockerfile &&
	stele build -q -o oci:$TMP/obc:x obc >/dev/null && stele inspect --json oci:obc:x >obc.json &&
	umoci unpack --image obc:x obcu >/dev/null && [ "$(cat obcu/rootfs/from-trigger)" = child-file ] &&
	printf "FROM scratch AS p\nONBUILD COPY f /t\nFROM p\n" >obc/Stages &&
	stele build -q -f obc/Stages -o oci:$TMP/obs:x obc >/dev/null && stele inspect --json oci:obs:x >obs.json &&
	umoci unpack --image obs:x obsu >/dev/null && [ "$(cat obsu/rootfs/t)" = child-file ] &&
	python3 - <<-\PY
	import json
	c = lambda n: json.load(open(n + ".json"))["config"]["config"]
	assert c("ob")["OnBuild"] == ["COPY f /from-trigger", "ENV   TRIGGERED=yes"], c("ob")
	env = dict(e.split("=", 1) for e in c("obc")["Env"])
	assert env["TRIGGERED"] == "yes" and env["AFTER"] == "yes", env
	assert "OnBuild" not in c("obc") and c("obc")["Labels"] == {"base": "1"}, c("obc")
	assert "OnBuild" not in c("obs"), c("obs")
	PY
'
test_expect_success 'the new instructions build twice to the same digest, config canonical' '
	d1=$(stele build -q --no-cache -o oci:$TMP/r1:x ctx-volume) &&
	d2=$(stele build -q --no-cache -o oci:$TMP/r2:x ctx-volume) && [ "$d1" = "$d2" ] &&
	h1=$(stele build -q --no-cache --target shell -o oci:$TMP/r3:x hc) &&
	h2=$(stele build -q --no-cache --target shell -o oci:$TMP/r4:x hc) && [ "$h1" = "$h2" ] &&
	python3 - "$TMP/r3" <<-\PY
	import json, sys
	o = sys.argv[1]
	idx = json.load(open(o + "/index.json"))
	d = [m for m in idx["manifests"] if "artifactType" not in m][0]["digest"]
	m = json.load(open(o + "/blobs/sha256/" + d[7:]))
	b = open(o + "/blobs/sha256/" + m["config"]["digest"][7:]).read()
	assert b == json.dumps(json.loads(b), sort_keys=True, separators=(",", ":"), ensure_ascii=False), b
	assert "Healthcheck" in json.loads(b)["config"]
	PY
'
test_expect_success 'the syntax and check directives are accepted; the syntax image is not run, and that is said once' '
	mkdir sy && printf "# syntax=docker/dockerfile:1.7\n# check=skip=all\nFROM scratch\nCOPY f /\n" >sy/Dockerfile && echo x >sy/f &&
	stele build -o oci:$TMP/sy:x sy >/dev/null 2>sy.err && cat sy.err &&
	[ "$(grep -c "syntax directive" sy.err)" = 1 ] &&
	grep -q "sy/Dockerfile:1: the syntax directive .docker/dockerfile:1.7. is not run" sy.err &&
	stele build -q -o oci:$TMP/sy:x sy >/dev/null 2>sy.err && [ ! -s sy.err ]
'
