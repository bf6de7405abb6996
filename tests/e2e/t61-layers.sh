#!/bin/sh
# Includes follow the module order of docs/architecture.md: scripts/layers.sh
# (run by make lint) passes on the tree and names every include that runs
# the wrong way.
. "$(dirname "$0")/lib.sh"

test_expect_success 'every include in the tree runs the way docs/architecture.md allows' '
	sh "$TOP/scripts/layers.sh" "$TOP"
'

test_expect_success 'an include that runs backwards is named, file and module, and fails' '
	mkdir -p t/util t/oci t/cli t/verify &&
	printf "#include \"util/buf.h\"\n" >t/oci/ok.c &&
	printf "#include \"verify/verify.h\"\n" >t/cli/ok.c &&
	printf "#include \"oci/ref.h\"\n#include \"util/buf.h\"\n" >t/util/up.c &&
	printf "#include \"cli/cli.h\"\n" >t/verify/up.h &&
	! sh "$TOP/scripts/layers.sh" t >out &&
	cat out &&
	grep -qx "util/up.c: util must not include oci/" out &&
	grep -qx "verify/up.h: verify must not include cli/" out &&
	test "$(wc -l <out)" -eq 2
'

test_done
