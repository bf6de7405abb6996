#!/bin/sh
# make test's short fuzz pass: every libFuzzer target in tests/fuzz/ runs
# for STELE_FUZZ_SECONDS (15) seconds under ASan and UBSan, its seed corpus
# first, so a parser that regresses fails here.  make check builds the
# targets into build-fuzz/; `make fuzz FUZZ_SECONDS=N` is the long run.
. "$(dirname "$0")/lib.sh"

fz=${STELE_FUZZ_BUILD:-$TOP/build-fuzz}
secs=${STELE_FUZZ_SECONDS:-15}
summary="$TMP/summary"
: >"$summary"

if ! why=$(sh "$TOP/tests/fuzz/run.sh" --can-build "${FUZZ_CC:-clang}"); then
	test_skip "fuzz targets" "$why"
	exit 0
fi
for src in "$TOP"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	name=${name#fuzz_}
	test_expect_success "fuzz $name: ${secs} s without a finding" '
		STELE_FUZZ_SUMMARY=$summary sh "$TOP/tests/fuzz/run.sh" "$fz" "$secs" "$name"
	'
done
sed 's/^/    /' "$summary"
