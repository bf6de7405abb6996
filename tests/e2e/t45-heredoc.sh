#!/bin/sh
# Heredocs in RUN, COPY, ADD and ONBUILD, with BuildKit's meaning.  buildah
# 1.28 predates heredoc support, so every result is BuildKit's, asserted.
. "$(dirname "$0")/lib.sh"

export STELE_CACHE="$TMP/cache"
make_busybox_base busybox:test
mkdir ctx && echo ctx-file >ctx/f

# unpack NAME: build ctx/NAME.df into oci:$TMP/NAME:x and unpack it.
unpack() {
	stele build -q -f "ctx/$1.df" -o "oci:$TMP/$1:x" ctx >/dev/null &&
	umoci unpack --image "$1:x" "u-$1" >/dev/null
}

cat >ctx/copy.df <<'DF'
FROM scratch
ARG NAME=world
COPY <<EOF /greeting
hello $NAME "quoted" 'single' \$NOT ${NAME:-x}
EOF
COPY --chmod=600 <<-"RAW" <<TWO f /dir/
	raw $NAME
		twice tabbed
	RAW
	two $NAME
TWO
COPY <<EOF /dir/
named after the terminator
EOF
ADD <<A /added
not an archive
A
DF
test_expect_success 'COPY/ADD <<EOF: files named after the terminator, expanded unless quoted, <<- strips tabs' '
	unpack copy &&
	[ "$(cat u-copy/rootfs/greeting)" = "hello world \"quoted\" '"'"'single'"'"' \$NOT world" ] &&
	printf "raw \$NAME\ntwice tabbed\n" >want-raw && cmp want-raw u-copy/rootfs/dir/RAW &&
	printf "\ttwo world\n" >want-two && cmp want-two u-copy/rootfs/dir/TWO &&
	[ "$(cat u-copy/rootfs/dir/f)" = ctx-file ] &&
	[ "$(cat u-copy/rootfs/dir/EOF)" = "named after the terminator" ] &&
	[ "$(cat u-copy/rootfs/added)" = "not an archive" ] &&
	[ "$(stat -c %a u-copy/rootfs/greeting)" = 644 ] &&
	[ "$(stat -c %a u-copy/rootfs/dir/RAW)" = 600 ] && [ "$(stat -c %a u-copy/rootfs/dir/TWO)" = 600 ] &&
	stele inspect oci:$TMP/copy:x >insp && cat insp && grep -q "heredoc: <<EOF -> greeting sha256:" insp &&
	grep -q "heredoc: <<TWO -> dir/TWO sha256:" insp && grep -q "file: f sha256:" insp
'

cat >ctx/run.df <<'DF'
FROM busybox:test
ENV WHO=env
RUN <<EOF
echo plain > /plain
echo "$WHO" >> /plain
EOF
RUN <<EOF
#!/bin/sh
echo "script $0" > /script
EOF
RUN <<-EOF
	echo chomped > /chomped
	EOF
RUN cat <<A >/a && cat <<'B' >/b
first $WHO
A
second $WHO
B
RUN 3<<EOF cat <&3 >/fd3
on fd 3
EOF
RUN <<'EOF' sh -s arg1
echo "stdin script $1" > /stdin
EOF
DF
test_expect_success 'RUN <<EOF: a script run by the shell, a #! script run as a file, heredocs given back to the shell' '
	unpack run &&
	printf "plain\nenv\n" >want && cmp want u-run/rootfs/plain &&
	[ "$(cat u-run/rootfs/script)" = "script /dev/pipes/EOF" ] &&
	[ "$(cat u-run/rootfs/chomped)" = chomped ] &&
	[ "$(cat u-run/rootfs/a)" = "first env" ] && [ "$(cat u-run/rootfs/b)" = "second \$WHO" ] &&
	[ "$(cat u-run/rootfs/fd3)" = "on fd 3" ] &&
	[ "$(cat u-run/rootfs/stdin)" = "stdin script arg1" ] &&
	[ ! -e u-run/rootfs/dev/pipes ]
'
test_expect_success 'a changed heredoc is a changed step: the cache never serves the old content' '
	printf "FROM busybox:test\nRUN <<EOF\necho one >/v\nEOF\nCOPY <<EOF /c\none\nEOF\n" >ctx/cache.df &&
	unpack cache && [ "$(cat u-cache/rootfs/v)" = one ] && [ "$(cat u-cache/rootfs/c)" = one ] &&
	rm -rf u-cache && sed -i "s/one/two/" ctx/cache.df &&
	unpack cache && [ "$(cat u-cache/rootfs/v)" = two ] && [ "$(cat u-cache/rootfs/c)" = two ]
'
test_expect_success 'heredocs build twice to the same digest, with and without the cache' '
	d1=$(stele build -q -f ctx/run.df -o oci:$TMP/r1:x ctx) &&
	d2=$(stele build -q --no-cache -f ctx/run.df -o oci:$TMP/r2:x ctx) && [ "$d1" = "$d2" ] &&
	d3=$(stele build -q --no-cache -f ctx/copy.df -o oci:$TMP/r3:x ctx) &&
	d4=$(stele build -q -f ctx/copy.df -o oci:$TMP/r4:x ctx) && [ "$d3" = "$d4" ]
'
cat >ctx/onbase.df <<'DF'
FROM busybox:test
ONBUILD COPY <<EOF /from-trigger
copied by the trigger
EOF
ONBUILD RUN <<EOF
echo ran by the trigger > /ran
EOF
DF
test_expect_success 'ONBUILD with heredocs: recorded whole, run in the child' '
	unpack onbase && stele inspect --json oci:onbase:x >onbase.json &&
	python3 -c "import json;c=json.load(open(\"onbase.json\"))[\"config\"][\"config\"];assert c[\"OnBuild\"]==[\"COPY <<EOF /from-trigger\ncopied by the trigger\nEOF\",\"RUN <<EOF\necho ran by the trigger > /ran\nEOF\"],c" &&
	printf "FROM oci:$TMP/onbase:x\n" >ctx/onchild.df && unpack onchild &&
	[ "$(cat u-onchild/rootfs/from-trigger)" = "copied by the trigger" ] &&
	[ "$(cat u-onchild/rootfs/ran)" = "ran by the trigger" ]
'
test_expect_success 'a heredoc never ended is an error naming its line' '
	printf "FROM scratch\nLABEL a=b\nRUN <<EOF\necho x\n" >ctx/bad.df &&
	expect_code 3 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err && cat err &&
	grep -q "ctx/bad.df:3: RUN: unterminated heredoc .EOF." err && [ ! -e bad ]
'
test_expect_success 'a heredoc is no destination' '
	printf "FROM scratch\nCOPY f <<EOF\nx\nEOF\n" >ctx/bad.df &&
	expect_code 3 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err && cat err &&
	grep -q "ctx/bad.df:2: COPY: COPY cannot accept a heredoc as a destination" err
'
test_expect_success 'a heredoc copied as a file needs a file name' '
	printf "FROM scratch\nCOPY <<\"a/b\" /x/\nx\na/b\n" >ctx/bad.df &&
	expect_code 3 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err && cat err &&
	grep -q "ctx/bad.df:2: COPY: a heredoc copied as a file needs a file name, not .a/b." err
'
test_expect_success 'a #! heredoc script needs a file name' '
	printf "FROM busybox:test\nRUN <<\"..\"\n#!/bin/sh\ntrue\n..\n" >ctx/bad.df &&
	expect_code 3 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err && cat err &&
	grep -q "ctx/bad.df:2: RUN: a heredoc script needs a file name, not .\.\.." err
'
test_expect_success 'several heredocs on one COPY need a directory destination' '
	printf "FROM scratch\nCOPY <<A <<B /x\na\nA\nb\nB\n" >ctx/bad.df &&
	expect_code 3 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err && cat err &&
	grep -q "ctx/bad.df:2: COPY: with more than one source the destination ./x. must be a directory" err
'
test_expect_success 'a heredoc with a bad substitution names it' '
	printf "FROM scratch\nCOPY <<EOF /x\n\${A:?must be set}\nEOF\n" >ctx/bad.df &&
	expect_code 3 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err && cat err &&
	grep -q "ctx/bad.df:2: COPY: cannot expand .*must be set" err
'
test_expect_success 'RUN --security=sandbox is what every step gets; --network=default is none' '
	printf "FROM busybox:test\nRUN --security=sandbox --network=default <<EOF\nid -u >/sec\nEOF\n" >ctx/sec.df &&
	unpack sec && [ "$(cat u-sec/rootfs/sec)" = 0 ]
'

# RUN --mount: tmpfs, cache and secret (BuildKit's meaning).
printf 'not-in-the-recipe-%s' 7f3a9c >secret.txt
cat >ctx/mnt.df <<'DF'
FROM busybox:test
RUN --mount=type=tmpfs,target=/scratch/tmp echo x >/scratch/tmp/f && ls /scratch/tmp >/tmpfs-ls
RUN --mount=type=cache,target=/var/cache/app,id=c1 <<EOF
n=$(cat /var/cache/app/n 2>/dev/null || echo 0)
echo $((n + 1)) >/var/cache/app/n
EOF
RUN --mount=type=secret,id=tok wc -c </run/secrets/tok >/secret-len && stat -c %a /run/secrets/tok >/secret-mode
RUN --mount=type=secret,id=tok,env=TOK,target=/x/tok,mode=0440 sh -c 'printf %s "$TOK" | wc -c >/secret-env && stat -c %a /x/tok >/secret-mode2'
RUN --mount=type=secret,id=absent touch /absent-skipped
DF
test_expect_success 'RUN --mount=type=tmpfs|cache|secret: mounted for the step, never in the layer' '
	stele build -q --secret id=tok,src=$TMP/secret.txt -f ctx/mnt.df -o oci:$TMP/mnt:x ctx >/dev/null &&
	umoci unpack --image mnt:x u-mnt >/dev/null &&
	[ "$(cat u-mnt/rootfs/tmpfs-ls)" = f ] && [ ! -e u-mnt/rootfs/scratch ] &&
	[ ! -e u-mnt/rootfs/var/cache/app ] && [ ! -e u-mnt/rootfs/run/secrets ] && [ ! -e u-mnt/rootfs/x ] &&
	[ "$(cat u-mnt/rootfs/secret-len)" = 24 ] && [ "$(cat u-mnt/rootfs/secret-mode)" = 400 ] &&
	[ "$(cat u-mnt/rootfs/secret-env)" = 24 ] && [ "$(cat u-mnt/rootfs/secret-mode2)" = 440 ] &&
	[ -e u-mnt/rootfs/absent-skipped ]
'
test_expect_success 'a secret is in no layer, cache entry, provenance or store; only its id is recorded' '
	! grep -rl "not-in-the-recipe" mnt "$STELE_CACHE" "$STELE_STORE" &&
	stele inspect --json oci:$TMP/mnt:x >mnt.json && grep -q "\"id\":\"tok\"" mnt/blobs/sha256/* &&
	grep -l "\"type\":\"secret\"" mnt/blobs/sha256/* >/dev/null && grep -l "\"type\":\"cache\"" mnt/blobs/sha256/* >/dev/null
'
test_expect_success 'a cache mount keeps its content across builds, outside the image' '
	stele build -q --no-cache --secret id=tok,src=$TMP/secret.txt -f ctx/mnt.df -o oci:$TMP/mnt2:x ctx >/dev/null &&
	n=$(cat "$STELE_CACHE"/mounts/*/n) && [ "$n" = 2 ]
'
test_expect_success 'RUN --mount builds twice to the same digest' '
	d1=$(stele build -q --no-cache --secret id=tok,src=$TMP/secret.txt -f ctx/mnt.df -o oci:$TMP/mnt3:x ctx) &&
	d2=$(stele build -q --no-cache --secret id=tok,src=$TMP/secret.txt -f ctx/mnt.df -o oci:$TMP/mnt4:x ctx) &&
	[ "$d1" = "$d2" ]
'
test_expect_success 'a required secret that is not given names how to give it' '
	printf "FROM busybox:test\nRUN --mount=type=secret,id=need,required true\n" >ctx/bad.df &&
	expect_code 3 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err && cat err &&
	grep -q "ctx/bad.df:2: RUN: secret .need. is required: give it with --secret id=need,src=FILE" err
'
# badmount NAME MESSAGE MOUNT
badmount() {
	printf "FROM busybox:test\nRUN --mount=%s true\n" "$3" >ctx/bad.df
	printf '%s\n' "$2" >want
	test_expect_success "RUN --mount rejects: $1" "
		expect_code 3 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err; rc=\$?; cat err
		[ \$rc = 0 ] && grep -q 'ctx/bad.df:2: RUN: --mount=' err && grep -qF -f want err
	"
}
badmount 'ssh' 'type=ssh is not supported: no SSH agent is forwarded' 'type=ssh'
badmount 'an unknown type' "unsupported mount type 'nfs'" 'type=nfs,target=/x'
badmount 'an unknown key' "unexpected key 'colour'" 'type=cache,target=/x,colour=red'
badmount 'from= on a cache' "'from' is not supported on a cache mount" 'type=cache,target=/x,from=build'
badmount 'mode on a tmpfs' 'mode, uid and gid are not allowed for tmpfs mounts' 'type=tmpfs,target=/x,mode=0700'
badmount 'a secret without id or target' 'invalid secret mount: one of id, target required' 'type=secret'
badmount 'a cache without a target, at / (the working directory)' 'type=cache,id=x: a mount without a target is at the working directory, which cannot be /' 'type=cache,id=x'
badmount 'a bad sharing' "unsupported sharing value 'all'" 'type=cache,target=/x,sharing=all'
badmount 'a bad size' 'invalid value for size: lots' 'type=tmpfs,target=/x,size=lots'
test_expect_success '--secret wants id=ID,src=FILE' '
	expect_code 2 stele build -q --secret tok -f ctx/mnt.df -o oci:$TMP/bad:x ctx 2>err && cat err &&
	grep -q -- "--secret .tok.: want id=ID,src=FILE" err
'
