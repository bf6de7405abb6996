#!/bin/sh
. "$(dirname "$0")/lib.sh"

test_expect_success 'stele --help lists the commands' '
	stele --help >out && grep -q "build" out && grep -q "import" out && grep -q "inspect" out
'
test_expect_success 'stele --version prints a version' '
	stele --version | grep -q "^stele "
'
test_expect_success 'every command has --help on stdout, exit 0' '
	for c in build import inspect; do
		stele $c --help >out || exit 1
		grep -q "usage: stele $c" out || exit 1
	done
'
test_expect_success 'an unknown command is a usage error (exit 2)' '
	expect_code 2 stele frobnicate 2>err && grep -q "not a stele command" err
'
test_expect_success 'a bad option is a usage error (exit 2)' '
	expect_code 2 stele build --bogus . 2>err
'
test_expect_success 'build without -t or -o is a usage error' '
	mkdir ctx && expect_code 2 stele build ctx 2>err && grep -q -- "-t NAME" err
'
test_expect_success 'an unknown compression is a usage error' '
	expect_code 2 stele build --compression lzma -t x ctx 2>err
'
test_expect_success 'inspect of a missing image fails clearly' '
	expect_code 3 stele inspect nothere:1 2>err && grep -q "stele:" err
'
