#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/heredoc.h"
#include "builder/recipe.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "tests/unit/unit.h"

static struct stele_recipe *
parse(const char *text)
{
	struct stele_recipe *r = NULL;

	assert_ok(stele_recipe_parse(&r, "recipe", text, strlen(text)));
	assert_non_null(r);
	return r;
}

static void
expect_error(const char *text, const char *msg)
{
	struct stele_recipe *r = (struct stele_recipe *)1;
	int error;

	stele_error_clear();
	error = stele_recipe_parse(&r, "recipe", text, strlen(text));
	if (error != STELE_EINVALID)
		print_error("recipe parsed: %s\n", text);
	assert_int_equal(error, STELE_EINVALID);
	assert_null(r);
	assert_string_equal(stele_error_last(), msg);
}

/*
 * One line per instruction: KEYWORD, then --flag=value, "json" for the exec
 * form, [arg] for each argument, or, for ENV, LABEL and ARG, {key=value}
 * ({key} without a value) for each pair.
 */
static char *
dump(const struct stele_instr *in)
{
	struct stele_buf b = STELE_BUF_INIT(1 << 20);
	size_t i;

	assert_ok(stele_buf_puts(&b, in->keyword));
	for (i = 0; i < in->nflags; i++)
		assert_ok(stele_buf_printf(&b, " --%s=%s", in->flags[i].name,
					   in->flags[i].value));
	if (in->json_form)
		assert_ok(stele_buf_puts(&b, " json"));
	for (i = 0; i < in->nargs && !in->npairs; i++)
		assert_ok(stele_buf_printf(&b, " [%s]", in->args[i]));
	for (i = 0; i < in->npairs; i++)
		assert_ok(in->pairs[i].value ?
			  stele_buf_printf(&b, " {%s=%s}", in->pairs[i].key,
					   in->pairs[i].value) :
			  stele_buf_printf(&b, " {%s}", in->pairs[i].key));
	return stele_buf_detach(&b);
}

/* Parse `text` and compare each instruction's dump; NULL ends `want`. */
static void
expect_dump(const char *text, const char *const *want)
{
	struct stele_recipe *r = parse(text);
	size_t i;
	char *d;

	for (i = 0; want[i]; i++) {
		assert_true(i < r->ninstrs);
		d = dump(&r->instrs[i]);
		if (strcmp(d, want[i]))
			print_error("instruction %zu: got <%s> want <%s>\n", i,
				    d, want[i]);
		assert_string_equal(d, want[i]);
		free(d);
	}
	assert_int_equal(i, r->ninstrs);
	stele_recipe_free(r);
}

/* Lookup over a NULL-terminated "NAME=value" list. */
static const char *
env_lookup(void *payload, const char *name)
{
	const char *const *env = payload;
	size_t n = strlen(name);

	for (; *env; env++)
		if (!strncmp(*env, name, n) && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static const char *const docker_env[] = {
	"PWD=/home", "SHELL=bash", "KOREAN=한국어", "NULL=", NULL
};

static void
expect_expand_esc(const char *word, char esc, const char *want)
{
	char *got = NULL;
	int error;

	error = stele_recipe_expand(&got, word, esc, env_lookup,
				    (void *)docker_env);
	if (!want) {
		if (error != STELE_EINVALID)
			print_error("'%s' expanded to '%s'\n", word,
				    got ? got : "(null)");
		assert_int_equal(error, STELE_EINVALID);
		assert_null(got);
		return;
	}
	if (error < 0)
		print_error("'%s': %s\n", word, stele_error_last());
	assert_int_equal(error, 0);
	assert_non_null(got);
	if (strcmp(got, want))
		print_error("'%s': got '%s' want '%s'\n", word, got, want);
	assert_string_equal(got, want);
	free(got);
}

static void
expect_expand(const char *word, const char *want)
{
	expect_expand_esc(word, '\\', want);
}

static void
expect_expand_error(const char *word, const char *msg)
{
	char *got = NULL;

	assert_int_equal(stele_recipe_expand(&got, word, '\\', env_lookup,
					     (void *)docker_env),
			 STELE_EINVALID);
	assert_null(got);
	assert_string_equal(stele_error_last(), msg);
}

static void
test_recipe_parse_all_instructions(void **state)
{
	static const char text[] =
		"FROM alpine:3.19 AS build\n"
		"ARG V=1\n"
		"ENV A=b\n"
		"LABEL x=y\n"
		"WORKDIR /src\n"
		"USER app\n"
		"COPY a b /dst/\n"
		"ADD t.tar /\n"
		"RUN make\n"
		"ENTRYPOINT [\"/app\"]\n"
		"CMD [\"--help\"]\n"
		"EXPOSE 80/tcp 53/udp\n"
		"STOPSIGNAL SIGTERM\n"
		"SHELL [\"/bin/sh\", \"-c\"]\n";
	static const char *const want[] = {
		"FROM [alpine:3.19] [AS] [build]",
		"ARG {V=1}",
		"ENV {A=b}",
		"LABEL {x=y}",
		"WORKDIR [/src]",
		"USER [app]",
		"COPY [a] [b] [/dst/]",
		"ADD [t.tar] [/]",
		"RUN [make]",
		"ENTRYPOINT json [/app]",
		"CMD json [--help]",
		"EXPOSE [80/tcp] [53/udp]",
		"STOPSIGNAL [SIGTERM]",
		"SHELL json [/bin/sh] [-c]",
		NULL
	};
	static const enum stele_instr_kind kinds[] = {
		STELE_I_FROM, STELE_I_ARG, STELE_I_ENV, STELE_I_LABEL,
		STELE_I_WORKDIR, STELE_I_USER, STELE_I_COPY, STELE_I_ADD,
		STELE_I_RUN, STELE_I_ENTRYPOINT, STELE_I_CMD, STELE_I_EXPOSE,
		STELE_I_STOPSIGNAL, STELE_I_SHELL
	};
	struct stele_recipe *r;
	size_t i;

	(void)state;
	expect_dump(text, want);
	r = parse(text);
	assert_string_equal(r->path, "recipe");
	assert_int_equal(r->escape, '\\');
	assert_int_equal(r->ninstrs, 14);
	for (i = 0; i < r->ninstrs; i++) {
		assert_int_equal(r->instrs[i].kind, kinds[i]);
		assert_int_equal(r->instrs[i].line, (int)i + 1);
	}
	assert_string_equal(r->instrs[0].text, "FROM alpine:3.19 AS build");
	assert_string_equal(r->instrs[0].raw, "alpine:3.19 AS build");
	/* ENV and LABEL keep their words as args too */
	assert_int_equal(r->instrs[2].nargs, 1);
	assert_string_equal(r->instrs[2].args[0], "A=b");
	stele_recipe_free(r);
}

static void
test_recipe_keywords_case_insensitive(void **state)
{
	static const char *const want[] = {
		"FROM [alpine]", "RUN [echo hi]", "COPY [a] [b]",
		"WORKDIR [/x]", NULL
	};
	struct stele_recipe *r;

	(void)state;
	expect_dump("from alpine\nRun echo hi\ncoPY a b\nworkDir /x\n", want);
	r = parse("from alpine\n");
	assert_int_equal(r->instrs[0].kind, STELE_I_FROM);
	assert_string_equal(r->instrs[0].keyword, "FROM");
	assert_string_equal(r->instrs[0].text, "from alpine");
	stele_recipe_free(r);
}

static void
test_recipe_comments_and_lines(void **state)
{
	struct stele_recipe *r;

	(void)state;
	r = parse("# a comment\n\nFROM a\n   # indented comment\n"
		  "\t RUN x # not a comment\n\n\n  USER u\n");
	assert_int_equal(r->ninstrs, 3);
	assert_int_equal(r->instrs[0].line, 3);
	assert_int_equal(r->instrs[1].line, 5);
	assert_string_equal(r->instrs[1].raw, "x # not a comment");
	assert_string_equal(r->instrs[1].text, "RUN x # not a comment");
	assert_int_equal(r->instrs[2].line, 8);
	stele_recipe_free(r);
}

/* BuildKit's parser/testfiles/continueIndent */
static void
test_recipe_continuation_indent(void **state)
{
	static const char text[] =
		"FROM ubuntu:14.04\n"
		"\n"
		"RUN echo hello\\\n"
		"  world\\\n"
		"  goodnight  \\\n"
		"  moon\\\n"
		"  light\\\n"
		"ning\n"
		"RUN echo hello  \\\n"
		"  world\n"
		"RUN echo hello  \\\n"
		"world\n"
		"RUN echo hello \\\n"
		"goodbye\\\n"
		"frog\n"
		"RUN echo hello  \\  \n"
		"world\n"
		"RUN echo hi \\\n"
		" \\\n"
		" world \\\n"
		"\\\n"
		" good\\\n"
		"\\\n"
		"night\n"
		"RUN echo goodbye\\\n"
		"frog\n"
		"RUN echo good\\\n"
		"bye\\\n"
		"frog\n"
		"\n"
		"RUN echo hello \\\n"
		"# this is a comment\n"
		"\n"
		"# this is a comment with a blank line surrounding it\n"
		"\n"
		"this is some more useful stuff\n";
	static const char *const want[] = {
		"FROM [ubuntu:14.04]",
		"RUN [echo hello  world  goodnight    moon  lightning]",
		"RUN [echo hello    world]",
		"RUN [echo hello  world]",
		"RUN [echo hello goodbyefrog]",
		"RUN [echo hello  world]",
		"RUN [echo hi   world  goodnight]",
		"RUN [echo goodbyefrog]",
		"RUN [echo goodbyefrog]",
		"RUN [echo hello this is some more useful stuff]",
		NULL
	};
	struct stele_recipe *r;

	(void)state;
	expect_dump(text, want);
	r = parse(text);
	assert_int_equal(r->instrs[1].line, 3);
	assert_int_equal(r->instrs[9].line, 31);
	stele_recipe_free(r);
}

static void
test_recipe_continuation_comment_and_blank(void **state)
{
	static const char *const want[] = {
		"FROM [a]",
		"RUN [apt-get update &&     apt-get install -y x]",
		"EXPOSE [80]",
		"USER [u]",
		NULL
	};
	struct stele_recipe *r;

	(void)state;
	expect_dump("FROM a\n"
		    "RUN apt-get update && \\\n"
		    "  # install it\n"
		    "    # and more commentary\n"
		    "    apt-get install -y x\n"
		    "EXPOSE \\\n"
		    "\n"
		    "   \t\n"
		    "80\n"
		    "USER u\n", want);
	r = parse("FROM a\nRUN a \\\n# c\n\n b\nUSER u\n");
	assert_int_equal(r->instrs[1].line, 2);
	assert_string_equal(r->instrs[1].text, "RUN a  b");
	assert_int_equal(r->instrs[2].line, 6);
	stele_recipe_free(r);
}

static void
test_recipe_continuation_at_eof(void **state)
{
	static const char *const want[] = {
		"FROM [alpine:3.5]", "RUN [something]", NULL
	};
	static const char *const want2[] = {
		"FROM [a]", "RUN [x]", NULL
	};

	(void)state;
	expect_dump("FROM alpine:3.5\n\nRUN something \\", want);
	expect_dump("FROM a\nRUN x \\\n\n# trailing comment\n", want2);
}

/* BuildKit's parser/testfiles/trailing-backslash */
static void
test_recipe_trailing_backslash(void **state)
{
	static const char *const want[] = {
		"FROM [hello-world]",
		"ENV {A=path}",
		"ENV {B=another\\\\path}",
		"ENV {C=trailing\\\\backslash\\\\}",
		"ENV {D=This should not be appended to C}",
		"ENV {E=helloworld}",
		"ENV {F=hello world}",
		"ENV {G=hello world}",
		NULL
	};

	(void)state;
	expect_dump("FROM hello-world\n"
		    "\n"
		    "ENV A path\n"
		    "ENV B another\\\\path\n"
		    "ENV C trailing\\\\backslash\\\\\n"
		    "ENV D This should not be appended to C\n"
		    "ENV E hello\\\n"
		    "\\\n"
		    "world\n"
		    "ENV F hello\\\n"
		    " \\\n"
		    "world\n"
		    "ENV G hello \\\n"
		    "\\\n"
		    "world\n", want);
}

static void
test_recipe_escape_directive_backtick(void **state)
{
	static const char text[] =
		"# escape=`\n"
		"\n"
		"FROM image\n"
		"LABEL maintainer foo@bar.com\n"
		"ENV GOPATH `\n"
		"\\go\n"
		"RUN dir c:\\\n"
		"COPY . C:\\app\\\n"
		"RUN echo a `\n"
		"  b\n"
		"ENV X=a` b Y=c\\\n";
	static const char *const want[] = {
		"FROM [image]",
		"LABEL {maintainer=foo@bar.com}",
		"ENV {GOPATH=\\go}",
		"RUN [dir c:\\]",
		"COPY [.] [C:\\app\\]",
		"RUN [echo a   b]",
		"ENV {X=a` b} {Y=c\\}",
		NULL
	};
	struct stele_recipe *r;

	(void)state;
	expect_dump(text, want);
	r = parse(text);
	assert_int_equal(r->escape, '`');
	stele_recipe_free(r);
}
static char
escape_of(const char *text)
{
	struct stele_recipe *r = parse(text);
	char esc = r->escape;

	stele_recipe_free(r);
	return esc;
}

static void
test_recipe_escape_directive_variants(void **state)
{
	struct stele_recipe *r;

	(void)state;
	assert_int_equal(escape_of("#escape = `\n\nFROM a\n"), '`');
	assert_int_equal(escape_of("# ESCAPE=`\nFROM a\n"), '`');
	assert_int_equal(escape_of("# escape=\\\nFROM a\n"), '\\');
	assert_int_equal(escape_of("  # escape = `   \nFROM a\n"), '`');
	assert_int_equal(escape_of("# syntax=docker/dockerfile:1\n"
				   "# escape=`\nFROM a\n"), '`');
	assert_int_equal(escape_of("# escape=`\n# syntax=x\n"
				   "# check=skip=all\nFROM a\n"), '`');
	assert_int_equal(escape_of("\xef\xbb\xbf# escape=`\nFROM a\n"), '`');
	/* only before anything else: a comment, blank line or instruction */
	assert_int_equal(escape_of("# hello\n# escape=`\nFROM a\n"), '\\');
	assert_int_equal(escape_of("\n# escape=`\nFROM a\n"), '\\');
	assert_int_equal(escape_of("# foo=bar\n# escape=`\nFROM a\n"), '\\');
	assert_int_equal(escape_of("#\n# escape=`\nFROM a\n"), '\\');
	assert_int_equal(escape_of("# escape=\nFROM a\n"), '\\');
	r = parse("FROM a\n# escape=`\nRUN x `\n");
	assert_int_equal(r->escape, '\\');
	assert_int_equal(r->ninstrs, 2);
	assert_string_equal(r->instrs[1].raw, "x `");
	stele_recipe_free(r);
	/* BuildKit's escape-after-comment */
	r = parse("# Comment here.\n# escape = `\n\nFROM image\n"
		  "ENV GOPATH \\\n\\go");
	assert_string_equal(r->instrs[1].pairs[0].value, "\\go");
	stele_recipe_free(r);
	/* BuildKit's escape-with-syntax */
	r = parse("# syntax = docker/dockerfile\n# escape = `\n\nFROM `\n"
		  "    image\n");
	assert_string_equal(r->instrs[0].args[0], "image");
	assert_int_equal(r->instrs[0].line, 4);
	stele_recipe_free(r);
}

static void
test_recipe_escape_directive_errors(void **state)
{
	(void)state;
	expect_error("# escape=`\n# escape=\\\nFROM a\n",
		     "recipe:2: only one escape parser directive can be used");
	expect_error("# syntax=a\n# Syntax=b\nFROM a\n",
		     "recipe:2: only one syntax parser directive can be used");
	expect_error("# escape=x\nFROM a\n",
		     "recipe:1: invalid escape token 'x' does not match ` or \\");
	expect_error("# escape=``\nFROM a\n",
		     "recipe:1: invalid escape token '``' does not match ` or \\");
	/* BuildKit's `(.+?)\s*$` leaves one space as the value */
	expect_error("# escape=  \nFROM a\n",
		     "recipe:1: invalid escape token ' ' does not match ` or \\");
}

static void
test_recipe_crlf_and_bom(void **state)
{
	static const char *const want[] = {
		"FROM [a]", "RUN [echo hi   there]", "USER [u]", NULL
	};

	(void)state;
	expect_dump("\xef\xbb\xbf" "FROM a\r\nRUN echo hi \\\r\n  there\r\n"
		    "USER u\r\n", want);
}

/* BuildKit's parser/testfiles/json */
static void
test_recipe_json_forms(void **state)
{
	static const char *const want[] = {
		"FROM [a]",
		"CMD json",
		"CMD json []",
		"CMD json [a]",
		"CMD json [a] [b]",
		"CMD json [a] [b]",
		"CMD json [a] [b]",
		"CMD json [a] [b]",
		"CMD json [abc 123] [♥] [☃] [\" \\ / \b \f \n \r \t]",
		"ENTRYPOINT json",
		"RUN json [sh] [-c] [echo $HOME]",
		"COPY json [test file] [/tmp]",
		"ADD json [test file] [/tmp/test file]",
		NULL
	};

	(void)state;
	expect_dump("FROM a\n"
		    "CMD []\n"
		    "CMD [\"\"]\n"
		    "CMD [\"a\"]\n"
		    "CMD [\"a\",\"b\"]\n"
		    "CMD [ \"a\", \"b\" ]\n"
		    "CMD [\t\"a\",\t\"b\"\t]\n"
		    "CMD\t[\t\"a\",\t\"b\"\t]\t\n"
		    "CMD [\"abc 123\", \"♥\", \"\\u2603\", "
		    "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"]\n"
		    "ENTRYPOINT []\n"
		    "RUN [\"sh\", \"-c\", \"echo $HOME\"]\n"
		    "COPY\t[ \"test file\", \"/tmp\" ]\n"
		    "ADD [ \"test file\", \"/tmp/test file\" ]\n", want);
}

/* Text that is not a JSON array of strings is the shell form. */
static void
test_recipe_json_fallback(void **state)
{
	static const char *const want[] = {
		"FROM [a]",
		"CMD ['[\"echo\", \"Well, JSON in a string is JSON too?\"]']",
		"CMD [['echo','single quotes are invalid JSON']]",
		"CMD [[\"echo\", \"Please, close the brackets\"]",
		"RUN [[\"a\"] && b]",
		"RUN [[\"a\",]]",
		"COPY [\"a] [b\"] [/x]",
		"EXPOSE [[\"80\"]]",
		"ENTRYPOINT [{\"a\": \"b\"}]",
		NULL
	};

	(void)state;
	expect_dump("FROM a\n"
		    "CMD '[\"echo\", \"Well, JSON in a string is JSON too?\"]'\n"
		    "CMD ['echo','single quotes are invalid JSON']\n"
		    "CMD [\"echo\", \"Please, close the brackets\"\n"
		    "RUN [\"a\"] && b\n"
		    "RUN [\"a\",]\n"
		    "COPY \"a b\" /x\n"
		    "EXPOSE [\"80\"]\n"
		    "ENTRYPOINT {\"a\": \"b\"}\n", want);
}

static void
test_recipe_json_errors(void **state)
{
	(void)state;
	expect_error("FROM a\nRUN [\"a\", 1]\n",
		     "recipe:2: RUN: when using JSON array syntax, arrays must "
		     "be comprised of strings only");
	expect_error("FROM a\nCOPY [\"a\", [\"b\"]]\n",
		     "recipe:2: COPY: when using JSON array syntax, arrays must "
		     "be comprised of strings only");
	expect_error("FROM a\nCMD [null]\n",
		     "recipe:2: CMD: when using JSON array syntax, arrays must "
		     "be comprised of strings only");
	expect_error("FROM a\nSHELL [\"a\", {}]\n",
		     "recipe:2: SHELL: when using JSON array syntax, arrays "
		     "must be comprised of strings only");
	expect_error("FROM a\nCMD [\"a\\u0000b\"]\n",
		     "recipe:2: CMD: NUL character in JSON string");
}

/* BuildKit's parser/testfiles/env */
static void
test_recipe_env_forms(void **state)
{
	static const char *const want[] = {
		"FROM [ubuntu]",
		"ENV {name=value}",
		"ENV {name=value}",
		"ENV {name=value} {name2=value2}",
		"ENV {name=\"value value1\"}",
		"ENV {name=value\\ value2}",
		"ENV {name=\"value'quote space'value2\"}",
		"ENV {name='value\"double quote\"value2'}",
		"ENV {name=value\\ value2} {name2=value2\\ value3}",
		"ENV {name=\"a\\\"b\"}",
		"ENV {name=\"a\\'b\"}",
		"ENV {name='a\\'b'}",
		"ENV {name='a\\'b''}",
		"ENV {name='a\\\"b'}",
		"ENV {name=\"''\"}",
		"ENV {SCUBA=1 DUBA 3}",
		"ENV {SCUBA=\"1 DUBA 3\"}",
		"ENV {k=} {v=x=y}",
		"ENV {name=value} {name1=value1} "
		"{name2=\"value2a            value2b\"} "
		"{name3=\"value3a\\n\\\"value3b\\\"\"} "
		"{name4=\"value4a\\\\nvalue4b\"}",
		NULL
	};
	struct stele_recipe *r;

	(void)state;
	expect_dump("FROM ubuntu\n"
		    "ENV name value\n"
		    "ENV name=value\n"
		    "ENV name=value name2=value2\n"
		    "ENV name=\"value value1\"\n"
		    "ENV name=value\\ value2\n"
		    "ENV name=\"value'quote space'value2\"\n"
		    "ENV name='value\"double quote\"value2'\n"
		    "ENV name=value\\ value2 name2=value2\\ value3\n"
		    "ENV name=\"a\\\"b\"\n"
		    "ENV name=\"a\\'b\"\n"
		    "ENV name='a\\'b'\n"
		    "ENV name='a\\'b''\n"
		    "ENV name='a\\\"b'\n"
		    "ENV name=\"''\"\n"
		    "ENV SCUBA 1 DUBA 3\n"
		    "ENV SCUBA \"1 DUBA 3\"\n"
		    "ENV k= v=x=y\n"
		    "ENV name=value \\\n"
		    "    name1=value1 \\\n"
		    "    name2=\"value2a \\\n"
		    "           value2b\" \\\n"
		    "    name3=\"value3a\\n\\\"value3b\\\"\" \\\n"
		    "\tname4=\"value4a\\\\nvalue4b\" \\\n", want);
	r = parse("FROM a\nENV a=1 \"b\"=2\n");
	assert_int_equal(r->instrs[1].nargs, 2);
	assert_string_equal(r->instrs[1].args[1], "\"b\"=2");
	assert_string_equal(r->instrs[1].pairs[1].key, "\"b\"");
	stele_recipe_free(r);
}

static void
test_recipe_env_label_arg_errors(void **state)
{
	(void)state;
	expect_error("FROM a\nENV a\n",
		     "recipe:2: ENV: must have two arguments");
	expect_error("FROM a\nENV a=b c\n",
		     "recipe:2: ENV: syntax error - can't find = in 'c'. Must "
		     "be of the form: name=value");
	expect_error("FROM a\nENV =b\n",
		     "recipe:2: ENV: names can not be blank");
	expect_error("FROM a\nENV a=b =c\n",
		     "recipe:2: ENV: names can not be blank");
	expect_error("FROM a\nENV\n",
		     "recipe:2: ENV: requires at least one argument");
	expect_error("FROM a\nLABEL\n",
		     "recipe:2: LABEL: requires at least one argument");
	expect_error("FROM a\nLABEL x\n",
		     "recipe:2: LABEL: must have two arguments");
	expect_error("FROM a\nARG\n",
		     "recipe:2: ARG: requires at least one argument");
	expect_error("FROM a\nARG =x\n",
		     "recipe:2: ARG: names can not be blank");
}

static void
test_recipe_label_pairs(void **state)
{
	static const char *const want[] = {
		"FROM [a]",
		"LABEL {version=\"1.0\"} {\"com.example.vendor\"=\"ACME Inc\"} "
		"{description=\"a multi-line\"}",
		"LABEL {maintainer=James Turnbull \"james@example.com\"}",
		"LABEL {a=}",
		NULL
	};

	(void)state;
	expect_dump("FROM a\n"
		    "LABEL version=\"1.0\" \"com.example.vendor\"=\"ACME Inc\" "
		    "description=\"a \\\nmulti-line\"\n"
		    "LABEL maintainer James Turnbull \"james@example.com\"\n"
		    "LABEL a=\n", want);
}

/* BuildKit's parser/testfiles/args */
static void
test_recipe_arg_forms(void **state)
{
	static const char *const want[] = {
		"ARG {foo} {bar=baz}",
		"FROM [ubuntu]",
		"ARG {abc=\"123 456\"} {def}",
		"ARG {empty=} {x=a=b}",
		NULL
	};
	struct stele_recipe *r;

	(void)state;
	expect_dump("ARG foo bar=baz\nFROM ubuntu\nARG abc=\"123 456\" def\n"
		    "ARG empty= x=a=b\n", want);
	r = parse("ARG foo\nFROM a\n");
	assert_null(r->instrs[0].pairs[0].value);
	assert_int_equal(r->instrs[0].nargs, 1);
	stele_recipe_free(r);
}

static void
test_recipe_from_forms(void **state)
{
	static const char *const want[] = {
		"FROM [alpine]",
		"FROM [alpine] [AS] [build]",
		"FROM [alpine] [as] [build-1.x_y]",
		"FROM --platform=linux/amd64 [alpine]",
		"FROM [${BASE}:${TAG}] [aS] [b]",
		NULL
	};

	(void)state;
	expect_dump("FROM alpine\n"
		    "FROM alpine AS build\n"
		    "from alpine as Build-1.x_y\n"
		    "FROM --platform=linux/amd64 alpine\n"
		    "FROM ${BASE}:${TAG} aS b\n", want);
	expect_error("FROM\n",
		     "recipe:1: FROM: requires either one or three arguments");
	expect_error("FROM a b\n",
		     "recipe:1: FROM: requires either one or three arguments");
	expect_error("FROM a AS\n",
		     "recipe:1: FROM: requires either one or three arguments");
	expect_error("FROM a to b\n",
		     "recipe:1: FROM: requires either one or three arguments");
	expect_error("FROM a AS b c\n",
		     "recipe:1: FROM: requires either one or three arguments");
	expect_error("FROM a AS 1st\n",
		     "recipe:1: FROM: invalid name for build stage: '1st', "
		     "name can't start with a number or contain symbols");
	expect_error("FROM a AS Bad!\n",
		     "recipe:1: FROM: invalid name for build stage: 'Bad!', "
		     "name can't start with a number or contain symbols");
	expect_error("FROM a AS _x\n",
		     "recipe:1: FROM: invalid name for build stage: '_x', "
		     "name can't start with a number or contain symbols");
	expect_error("FROM --platform alpine\n",
		     "recipe:1: FROM: missing a value on flag '--platform'");
}

static void
test_recipe_flags(void **state)
{
	static const char *const want[] = {
		"FROM [a]",
		"COPY --from=build --chown=1000:1000 --chmod=0755 [src] [/dst]",
		"COPY --chown=app user [a] [b]",
		"COPY [--weird] [/dst]",
		"COPY --from=x [a] [b]",
		"COPY --from= [a] [b]",
		"COPY --from=x json [a] [b]",
		"ADD --chown=1:1 --chmod=644 [f] [/]",
		"RUN --network=none [make]",
		"RUN [-x --not-a-flag]",
		NULL
	};
	struct stele_recipe *r;

	(void)state;
	expect_dump("FROM a\n"
		    "COPY --from=build --chown=1000:1000 --chmod=0755 src /dst\n"
		    "COPY --chown=\"app user\" a b\n"
		    "COPY -- --weird /dst\n"
		    "COPY --from=x -- a b\n"
		    "COPY --from= a b\n"
		    "COPY --from=x [\"a\", \"b\"]\n"
		    "ADD --chown=1:1 --chmod=644 f /\n"
		    "RUN --network=none make\n"
		    "RUN -x --not-a-flag\n", want);
	r = parse("FROM a\nCOPY --from=build --chmod=0755 src /dst\n");
	assert_string_equal(stele_instr_flag(&r->instrs[1], "from"), "build");
	assert_string_equal(stele_instr_flag(&r->instrs[1], "chmod"), "0755");
	assert_null(stele_instr_flag(&r->instrs[1], "chown"));
	assert_null(stele_instr_flag(&r->instrs[0], "platform"));
	assert_string_equal(r->instrs[1].raw, "src /dst");
	assert_string_equal(r->instrs[1].text,
			    "COPY --from=build --chmod=0755 src /dst");
	stele_recipe_free(r);
}

static void
test_recipe_flag_errors(void **state)
{
	(void)state;
	expect_error("FROM a\nCOPY --frm=x a b\n",
		     "recipe:2: COPY: unknown flag '--frm'");
	expect_error("FROM a\nCOPY --from=a --from=b a b\n",
		     "recipe:2: COPY: duplicate flag '--from'");
	expect_error("FROM a\nCOPY --from a b\n",
		     "recipe:2: COPY: missing a value on flag '--from'");
	expect_error("FROM a\nADD --from=x a b\n",
		     "recipe:2: ADD: unknown flag '--from'");
	expect_error("FROM a\nCMD --help\n",
		     "recipe:2: CMD: unknown flag '--help'");
	expect_error("FROM a\nRUN --device=x make\n",
		     "recipe:2: RUN: unknown flag '--device'");
	expect_error("FROM a\nENV --x=1 a=b\n",
		     "recipe:2: ENV: unknown flag '--x'");
	expect_error("FROM a\nCOPY --parent a b\n",
		     "recipe:2: COPY: unknown flag '--parent'");
	expect_error("FROM --platform=a --platform=b a\n",
		     "recipe:1: FROM: duplicate flag '--platform'");
	/* booleans */
	expect_error("FROM a\nCOPY --link= a b\n",
		     "recipe:2: COPY: missing a value on flag '--link'");
	expect_error("FROM a\nCOPY --link=yes a b\n",
		     "recipe:2: COPY: expecting boolean value for flag "
		     "'--link', not: yes");
	expect_error("FROM a\nCOPY --link --link=false a b\n",
		     "recipe:2: COPY: duplicate flag '--link'");
	expect_error("FROM a\nADD --unpack=1 a b\n",
		     "recipe:2: ADD: expecting boolean value for flag "
		     "'--unpack', not: 1");
}

static void
test_recipe_run_mount(void **state)
{
	static const char *const want[] = {
		"FROM [a]", "RUN --mount=type=cache,target=/c --mount=type=secret,"
		"id=s [make]", NULL
	};
	/* without a target, at the working directory (BuildKit) */
	static const char *const want_wd[] = {
		"FROM [a]", "RUN --mount=type=tmpfs --mount=from=a,source=/x "
		"[make]", NULL
	};

	(void)state;
	expect_dump("FROM a\nRUN --mount=type=cache,target=/c "
		    "--mount=type=secret,id=s make\n", want);
	expect_dump("FROM a\nRUN --mount=type=tmpfs --mount=from=a,source=/x "
		    "make\n", want_wd);
	expect_error("FROM a\nONBUILD RUN --mount=type=ssh make\n",
		     "recipe:2: RUN: --mount=type=ssh: type=ssh is not supported: "
		     "no SSH agent is forwarded into a build");
}

static void
test_recipe_run_security(void **state)
{
	static const char *const want[] = {
		"FROM [a]", "RUN --security=sandbox [true]", NULL
	};

	(void)state;
	expect_dump("FROM a\nRUN --security=sandbox true\n", want);
	expect_error("FROM a\nRUN --security=insecure true\n",
		     "recipe:2: RUN: --security=insecure is not supported: steps "
		     "run with Docker's default capabilities and no new "
		     "privileges, never privileged");
	expect_error("FROM a\nRUN --security=lax true\n",
		     "recipe:2: RUN: security 'lax' is not valid (sandbox or "
		     "insecure)");
	expect_error("FROM a\nONBUILD RUN --security=insecure true\n",
		     "recipe:2: RUN: --security=insecure is not supported: steps "
		     "run with Docker's default capabilities and no new "
		     "privileges, never privileged");
}

static void
test_recipe_bool_flags(void **state)
{
	static const char *const want[] = {
		"FROM [a]", "COPY --link=true [a] [b]", "COPY --link=true [a] [b]",
		"COPY --link=false [a] [b]", "ADD --unpack=false --link=true "
		"[a] [b]", NULL
	};
	struct stele_recipe *r;

	(void)state;
	expect_dump("FROM a\nCOPY --link a b\nCOPY --link=TRUE a b\n"
		    "COPY --link=False a b\nADD --unpack=false --link a b\n",
		    want);
	r = parse("FROM a\nCOPY --link a b\nCOPY --link=false a b\nCOPY a b\n");
	assert_true(stele_instr_flag_true(&r->instrs[1], "link"));
	assert_false(stele_instr_flag_true(&r->instrs[2], "link"));
	assert_false(stele_instr_flag_true(&r->instrs[3], "link"));
	assert_null(stele_instr_flag_nth(&r->instrs[1], "link", 1));
	assert_string_equal(stele_instr_flag_nth(&r->instrs[1], "link", 0),
			    "true");
	stele_recipe_free(r);
}

static void
test_recipe_argument_counts(void **state)
{
	(void)state;
	expect_error("FROM a\n\nCOPY a\n",
		     "recipe:3: COPY: requires at least two arguments");
	expect_error("FROM a\nCOPY [\"a\"]\n",
		     "recipe:2: COPY: requires at least two arguments");
	expect_error("FROM a\nADD\n",
		     "recipe:2: ADD: requires at least two arguments");
	expect_error("FROM a\nCOPY --from=x\n",
		     "recipe:2: COPY: requires at least two arguments");
	expect_error("FROM a\nWORKDIR\n",
		     "recipe:2: WORKDIR: requires exactly one argument");
	expect_error("FROM a\nUSER\n",
		     "recipe:2: USER: requires exactly one argument");
	expect_error("FROM a\nSTOPSIGNAL\n",
		     "recipe:2: STOPSIGNAL: requires exactly one argument");
	expect_error("FROM a\nEXPOSE\n",
		     "recipe:2: EXPOSE: requires at least one argument");
	expect_error("FROM a\nRUN\n",
		     "recipe:2: RUN: requires at least one argument");
	expect_error("FROM a\nRUN []\n",
		     "recipe:2: RUN: requires at least one argument");
	expect_error("FROM a\nRUN --network=none\n",
		     "recipe:2: RUN: requires at least one argument");
	expect_error("FROM a\nCMD\n",
		     "recipe:2: CMD: requires at least one argument");
	expect_error("FROM a\nENTRYPOINT   \n",
		     "recipe:2: ENTRYPOINT: requires at least one argument");
	expect_error("FROM a\nSHELL\n",
		     "recipe:2: SHELL: requires at least one argument");
	expect_error("FROM a\nSHELL []\n",
		     "recipe:2: SHELL: requires at least one argument");
	expect_error("FROM a\nSHELL /bin/bash -c\n",
		     "recipe:2: SHELL: requires the arguments to be in JSON "
		     "form");
}

/* WORKDIR, USER, STOPSIGNAL and shell forms keep the whole text. */
static void
test_recipe_single_argument(void **state)
{
	static const char *const want[] = {
		"FROM [a]",
		"WORKDIR [/my dir]",
		"USER [app:app]",
		"STOPSIGNAL [SIGKILL]",
		"WORKDIR [\"/quoted path\"]",
		"CMD [echo \"a  b\" | wc -c]",
		NULL
	};

	(void)state;
	expect_dump("FROM a\nWORKDIR /my dir\nUSER app:app\nSTOPSIGNAL SIGKILL\n"
		    "WORKDIR \"/quoted path\"\nCMD echo \"a  b\" | wc -c\n",
		    want);
}

static void
test_recipe_unknown_instruction(void **state)
{
	(void)state;
	expect_error("FORM alpine\n", "recipe:1: unknown instruction 'FORM'");
	expect_error("FROM a\n  frobnicate x y\n",
		     "recipe:2: unknown instruction 'frobnicate'");
	expect_error("FROM a\nRUN x \\\n  y\nCOPYY a b\n",
		     "recipe:4: unknown instruction 'COPYY'");
	expect_error("HEALTHCHECK NONE\n",
		     "recipe:1: HEALTHCHECK: only ARG may come before the "
		     "first FROM");
	expect_error("FROM a\n\\\n\n",
		     "recipe:2: unknown instruction ''");
}

static void
test_recipe_volume(void **state)
{
	static const char *const want[] = {
		"FROM [a]", "VOLUME [/data]", "VOLUME [/a] [$B] [\"c]",
		"VOLUME json [/x] [/y z]", "VOLUME json [/t]", NULL
	};

	(void)state;
	expect_dump("FROM a\nVOLUME /data\nvolume /a $B \"c\n"
		    "VOLUME [\"/x\", \"/y z\"]\nVOLUME [\" /t \"]\n", want);
	expect_error("FROM a\nVOLUME\n",
		     "recipe:2: VOLUME: requires at least one argument");
	expect_error("FROM a\nVOLUME []\n",
		     "recipe:2: VOLUME: requires at least one argument");
	expect_error("FROM a\nVOLUME [\"/a\", \" \"]\n",
		     "recipe:2: VOLUME: VOLUME specified can not be an empty "
		     "string");
	expect_error("FROM a\nVOLUME --x=1 /a\n",
		     "recipe:2: VOLUME: unknown flag '--x'");
}

static void
test_recipe_maintainer(void **state)
{
	static const char *const want[] = {
		"FROM [a]", "MAINTAINER [Jane Doe <jane@example.com>]", NULL
	};

	(void)state;
	expect_dump("FROM a\nMAINTAINER Jane Doe <jane@example.com>\n", want);
	expect_error("FROM a\nMAINTAINER\n",
		     "recipe:2: MAINTAINER: requires exactly one argument");
}

/* Flags keep their words as written; boolean values are normalised. */
static void
test_recipe_flag_words(void **state)
{
	static const char *const text =
		"FROM a\nCOPY --link --from=\"b\" --chmod=0755 x /y\n";
	struct stele_recipe *r = parse(text);
	const struct stele_instr *in = &r->instrs[1];

	(void)state;
	assert_int_equal(in->nflags, 3);
	assert_string_equal(in->flags[0].word, "--link");
	assert_string_equal(in->flags[0].value, "true");
	assert_string_equal(in->flags[1].word, "--from=b");
	assert_string_equal(in->flags[1].value, "b");
	assert_string_equal(in->flags[2].word, "--chmod=0755");
	stele_recipe_free(r);
}

/*
 * stele_recipe_parse_syntax(): BuildKit's parser level.  What only the
 * instruction parser refuses is kept as written; what the line parsers
 * refuse is still refused.
 */
static void
test_recipe_parse_syntax(void **state)
{
	static const char *const text =
		"CMD --doit [\"a\"]\nHEALTHCHECK\nHEALTHCHECK connect tcp\n"
		"ONBUILD\nUSER\nENV\nFROM a b c d\nCOPY --user=me x\n"
		"ONBUILD ONBUILD RUN x\nENV =x\n";
	struct stele_recipe *r = NULL;
	const struct stele_instr *in;

	(void)state;
	assert_ok(stele_recipe_parse_syntax(&r, "recipe", text, strlen(text)));
	assert_int_equal(r->ninstrs, 10);
	in = &r->instrs[0];
	assert_int_equal(in->nflags, 1);
	assert_string_equal(in->flags[0].word, "--doit");
	assert_string_equal(in->flags[0].value, "");
	assert_true(in->json_form);
	assert_int_equal(r->instrs[1].nargs, 0);
	assert_int_equal(r->instrs[2].nargs, 2);
	assert_string_equal(r->instrs[2].args[0], "connect");
	assert_null(r->instrs[3].sub);
	assert_int_equal(r->instrs[4].nargs, 0);
	assert_int_equal(r->instrs[6].nargs, 4);
	assert_string_equal(r->instrs[7].flags[0].value, "me");
	assert_int_equal(r->instrs[8].sub->kind, STELE_I_ONBUILD);
	assert_int_equal(r->instrs[8].sub->sub->kind, STELE_I_RUN);
	assert_string_equal(r->instrs[9].pairs[0].key, "");
	stele_recipe_free(r);
	/* the strict parser refuses the first of them */
	expect_error(text, "recipe:1: CMD: unknown flag '--doit'");

	r = (struct stele_recipe *)1;
	assert_err(stele_recipe_parse_syntax(&r, "recipe", "ENV a\n", 6),
		   STELE_EINVALID, "recipe:1: ENV: must have two arguments");
	assert_null(r);
	assert_err(stele_recipe_parse_syntax(&r, "recipe", "CMD [1]\n", 8),
		   STELE_EINVALID, "arrays must be comprised of strings only");
	assert_err(stele_recipe_parse_syntax(&r, "recipe", "# x\n", 4),
		   STELE_EINVALID, "recipe: file with no instructions");
	assert_err(stele_recipe_parse_syntax(&r, "recipe", "FORM x\n", 7),
		   STELE_EINVALID, "unknown instruction 'FORM'");
	assert_err(stele_recipe_parse_syntax(&r, "recipe", "RUN <<E\nx\n",
					     10),
		   STELE_EINVALID, "unterminated heredoc 'E'");
}

static void
expect_health(const char *text, const char *dump_want, int64_t interval,
	      int64_t timeout, int64_t start_period, int64_t start_interval,
	      int64_t retries)
{
	struct stele_recipe *r = parse(text);
	const struct stele_instr *in = &r->instrs[1];
	char *d = dump(in);

	if (strcmp(d, dump_want))
		print_error("got <%s> want <%s>\n", d, dump_want);
	assert_string_equal(d, dump_want);
	assert_int_equal(in->health[STELE_HEALTH_INTERVAL], interval);
	assert_int_equal(in->health[STELE_HEALTH_TIMEOUT], timeout);
	assert_int_equal(in->health[STELE_HEALTH_START_PERIOD], start_period);
	assert_int_equal(in->health[STELE_HEALTH_START_INTERVAL],
			 start_interval);
	assert_int_equal(in->health[STELE_HEALTH_RETRIES], retries);
	free(d);
	stele_recipe_free(r);
}

static void
test_recipe_healthcheck(void **state)
{
	(void)state;
	expect_health("FROM a\nHEALTHCHECK NONE\n", "HEALTHCHECK [NONE]",
		      0, 0, 0, 0, 0);
	expect_health("FROM a\nhealthcheck none\n", "HEALTHCHECK [NONE]",
		      0, 0, 0, 0, 0);
	expect_health("FROM a\nHEALTHCHECK CMD curl -f http://x/ || exit 1\n",
		      "HEALTHCHECK [CMD] [curl -f http://x/ || exit 1]",
		      0, 0, 0, 0, 0);
	expect_health("FROM a\nHEALTHCHECK cmd [\"/bin/check\", \"-q\"]\n",
		      "HEALTHCHECK json [CMD] [/bin/check] [-q]", 0, 0, 0, 0, 0);
	expect_health("FROM a\nHEALTHCHECK --interval=1m30s --timeout=1.5s "
		      "--start-period=0s --start-interval=250ms --retries=3 "
		      "CMD true\n",
		      "HEALTHCHECK --interval=1m30s --timeout=1.5s "
		      "--start-period=0s --start-interval=250ms --retries=3 "
		      "[CMD] [true]",
		      90000000000LL, 1500000000LL, 0, 250000000LL, 3);
	expect_health("FROM a\nHEALTHCHECK --interval= --retries=+0 CMD x\n",
		      "HEALTHCHECK --interval= --retries=+0 [CMD] [x]",
		      0, 0, 0, 0, 0);
	/* NONE does not read its flags (BuildKit) */
	expect_health("FROM a\nHEALTHCHECK --interval=bad NONE\n",
		      "HEALTHCHECK --interval=bad [NONE]", 0, 0, 0, 0, 0);

	expect_error("FROM a\nHEALTHCHECK\n",
		     "recipe:2: HEALTHCHECK: requires at least one argument");
	expect_error("FROM a\nHEALTHCHECK NONE x\n",
		     "recipe:2: HEALTHCHECK: HEALTHCHECK NONE takes no "
		     "arguments");
	expect_error("FROM a\nHEALTHCHECK RUN x\n",
		     "recipe:2: HEALTHCHECK: unknown type 'RUN' in HEALTHCHECK"
		     " (try CMD)");
	expect_error("FROM a\nHEALTHCHECK CMD\n",
		     "recipe:2: HEALTHCHECK: missing command after "
		     "HEALTHCHECK CMD");
	expect_error("FROM a\nHEALTHCHECK CMD []\n",
		     "recipe:2: HEALTHCHECK: missing command after "
		     "HEALTHCHECK CMD");
	expect_error("FROM a\nHEALTHCHECK CMD [1]\n",
		     "recipe:2: HEALTHCHECK: when using JSON array syntax, "
		     "arrays must be comprised of strings only");
	expect_error("FROM a\nHEALTHCHECK --interval=5 CMD x\n",
		     "recipe:2: HEALTHCHECK: invalid --interval '5': missing "
		     "unit in duration");
	expect_error("FROM a\nHEALTHCHECK --timeout=1d CMD x\n",
		     "recipe:2: HEALTHCHECK: invalid --timeout '1d': unknown "
		     "unit in duration");
	expect_error("FROM a\nHEALTHCHECK --start-period=999us CMD x\n",
		     "recipe:2: HEALTHCHECK: --start-period cannot be less "
		     "than 1ms");
	expect_error("FROM a\nHEALTHCHECK --start-interval=-1s CMD x\n",
		     "recipe:2: HEALTHCHECK: --start-interval cannot be less "
		     "than 1ms");
	expect_error("FROM a\nHEALTHCHECK --retries=-1 CMD x\n",
		     "recipe:2: HEALTHCHECK: --retries cannot be negative (-1)");
	expect_error("FROM a\nHEALTHCHECK --retries=3x CMD x\n",
		     "recipe:2: HEALTHCHECK: invalid --retries '3x': invalid "
		     "syntax");
	expect_error("FROM a\nHEALTHCHECK --retries=2147483648 CMD x\n",
		     "recipe:2: HEALTHCHECK: invalid --retries '2147483648': "
		     "value out of range");
	expect_error("FROM a\nHEALTHCHECK --interval CMD x\n",
		     "recipe:2: HEALTHCHECK: missing a value on flag "
		     "'--interval'");
	expect_error("FROM a\nHEALTHCHECK --every=1s CMD x\n",
		     "recipe:2: HEALTHCHECK: unknown flag '--every'");
}

static void
test_recipe_onbuild(void **state)
{
	static const char *const want[] = {
		"FROM [a]", "ONBUILD [RUN echo hi]",
		"ONBUILD [COPY --from=b x /y]", "ONBUILD [HEALTHCHECK NONE]", NULL
	};
	struct stele_recipe *r;

	(void)state;
	expect_dump("FROM a\nONBUILD RUN echo hi\nonbuild  COPY --from=b x /y\n"
		    "ONBUILD HEALTHCHECK NONE\n", want);
	r = parse("FROM a\nONBUILD   RUN  echo \"a  b\" \\\n  && true\n"
		  "ONBUILD COPY --chown=1:1 [\"x\", \"/y\"]\n");
	assert_non_null(r->instrs[1].sub);
	assert_int_equal(r->instrs[1].sub->kind, STELE_I_RUN);
	assert_int_equal(r->instrs[1].sub->line, 2);
	assert_string_equal(r->instrs[1].sub->text,
			    "RUN  echo \"a  b\"   && true");
	assert_string_equal(r->instrs[2].sub->text,
			    "COPY --chown=1:1 [\"x\", \"/y\"]");
	assert_int_equal(r->instrs[2].sub->json_form, 1);
	assert_string_equal(stele_instr_flag(r->instrs[2].sub, "chown"), "1:1");
	stele_recipe_free(r);

	expect_error("FROM a\nONBUILD\n",
		     "recipe:2: ONBUILD: requires at least one argument");
	expect_error("FROM a\nONBUILD ONBUILD RUN x\n",
		     "recipe:2: ONBUILD: chaining ONBUILD via `ONBUILD ONBUILD`"
		     " isn't allowed");
	expect_error("FROM a\nONBUILD from b\n",
		     "recipe:2: ONBUILD: FROM isn't allowed as an ONBUILD "
		     "trigger");
	expect_error("FROM a\nONBUILD MAINTAINER me\n",
		     "recipe:2: ONBUILD: MAINTAINER isn't allowed as an ONBUILD"
		     " trigger");
	expect_error("FROM a\nONBUILD --x=1 RUN y\n",
		     "recipe:2: ONBUILD: unknown flag '--x'");
	expect_error("FROM a\nONBUILD FROBNICATE x\n",
		     "recipe:2: unknown instruction 'FROBNICATE'");
	expect_error("FROM a\nONBUILD COPY x\n",
		     "recipe:2: COPY: requires at least two arguments");
	expect_error("ONBUILD RUN x\nFROM a\n",
		     "recipe:1: ONBUILD: only ARG may come before the first "
		     "FROM");
}

static void
test_recipe_trigger(void **state)
{
	struct stele_recipe *r = NULL;
	const char *t;

	(void)state;
	t = "RUN echo hi";
	assert_ok(stele_recipe_parse_trigger(&r, "ONBUILD trigger", t,
					     strlen(t)));
	assert_int_equal(r->ninstrs, 1);
	assert_int_equal(r->instrs[0].kind, STELE_I_RUN);
	stele_recipe_free(r);
	t = "COPY . /app";
	assert_ok(stele_recipe_parse_trigger(&r, "T", t, strlen(t)));
	stele_recipe_free(r);

	t = "FROM x";
	assert_int_equal(stele_recipe_parse_trigger(&r, "T", t, strlen(t)),
			 STELE_EINVALID);
	assert_null(r);
	assert_string_equal(stele_error_last(),
			    "T:1: FROM: FROM isn't allowed as an ONBUILD trigger");
	t = "ONBUILD RUN x";
	assert_int_equal(stele_recipe_parse_trigger(&r, "T", t, strlen(t)),
			 STELE_EINVALID);
	assert_string_equal(stele_error_last(), "T:1: ONBUILD: ONBUILD isn't "
			    "allowed as an ONBUILD trigger");
	t = "RUN a\nRUN b";
	assert_int_equal(stele_recipe_parse_trigger(&r, "T", t, strlen(t)),
			 STELE_EINVALID);
	assert_string_equal(stele_error_last(),
			    "T: an ONBUILD trigger must be a single instruction");
	t = "# nothing";
	assert_int_equal(stele_recipe_parse_trigger(&r, "T", t, strlen(t)),
			 STELE_EINVALID);
	assert_string_equal(stele_error_last(), "T: file with no instructions");
	t = "COPY --nope=1 a b";
	assert_int_equal(stele_recipe_parse_trigger(&r, "T", t, strlen(t)),
			 STELE_EINVALID);
	assert_string_equal(stele_error_last(),
			    "T:1: COPY: unknown flag '--nope'");
}

static void
test_recipe_syntax_check_directives(void **state)
{
	struct stele_recipe *r;

	(void)state;
	r = parse("# syntax=docker/dockerfile:1.7\n# check=skip=all;error=true\n"
		  "FROM a\n");
	assert_string_equal(r->syntax, "docker/dockerfile:1.7");
	assert_int_equal(r->syntax_line, 1);
	assert_string_equal(r->check, "skip=all;error=true");
	stele_recipe_free(r);
	r = parse("#check = error=true\n#  SYNTAX =  x/y  \nFROM a\n");
	assert_string_equal(r->syntax, "x/y");
	assert_int_equal(r->syntax_line, 2);
	assert_string_equal(r->check, "error=true");
	stele_recipe_free(r);
	/* after anything else it is a comment */
	r = parse("FROM a\n# syntax=x\n");
	assert_null(r->syntax);
	stele_recipe_free(r);
	expect_error("# syntax=a\n# syntax=b\nFROM a\n",
		     "recipe:2: only one syntax parser directive can be used");
	expect_error("# check=a\n# check=b\nFROM a\n",
		     "recipe:2: only one check parser directive can be used");
}

static void
test_recipe_from_first(void **state)
{
	static const char *const want[] = {
		"ARG {BASE=alpine}", "ARG {TAG}", "FROM [${BASE}:${TAG}]",
		"RUN [x]", NULL
	};

	(void)state;
	expect_dump("ARG BASE=alpine\nARG TAG\nFROM ${BASE}:${TAG}\nRUN x\n",
		    want);
	expect_error("RUN x\nFROM a\n",
		     "recipe:1: RUN: only ARG may come before the first FROM");
	expect_error("ARG A=1\nENV B=2\nFROM a\n",
		     "recipe:2: ENV: only ARG may come before the first FROM");
}

static void
test_recipe_empty(void **state)
{
	(void)state;
	expect_error("", "recipe: file with no instructions");
	expect_error("# just a comment\n\n  \t\n",
		     "recipe: file with no instructions");
	expect_error("# escape=`\n", "recipe: file with no instructions");
	expect_error("ARG A\n", "recipe: no FROM instruction");
}

/* "name|content|chomp|expand|fd;..." for an instruction's heredocs. */
static char *
dump_heredocs(const struct stele_instr *in)
{
	struct stele_buf b = STELE_BUF_INIT(1 << 20);
	size_t i;

	for (i = 0; i < in->nheredocs; i++)
		assert_ok(stele_buf_printf(&b, "%s|%s|%d|%d|%u;",
			in->heredocs[i].name, in->heredocs[i].content,
			in->heredocs[i].chomp, in->heredocs[i].expand,
			in->heredocs[i].fd));
	return stele_buf_detach(&b);
}

/* Parse; instruction `i` has these heredocs and the next is at `line`. */
static void
expect_heredocs(const char *text, size_t i, const char *want, int next_line)
{
	struct stele_recipe *r = parse(text);
	const struct stele_instr *in = &r->instrs[i];
	char *d;

	if (in->sub)
		in = in->sub;
	d = dump_heredocs(in);
	if (strcmp(d, want))
		print_error("got <%s> want <%s>\n", d, want);
	assert_string_equal(d, want);
	free(d);
	if (next_line) {
		assert_true(i + 1 < r->ninstrs);
		assert_int_equal(r->instrs[i + 1].line, next_line);
	}
	stele_recipe_free(r);
}

static void
test_recipe_heredoc(void **state)
{
	static const char *const plain[] = {
		"FROM a\nRUN echo \"<<EOF\"\n", "FROM a\nRUN echo '<<EOF'\n",
		"FROM a\nRUN echo $((1<<2))\n", "FROM a\nRUN echo a<<b\n",
		"FROM a\nRUN echo \\<<EOF\n", "FROM a\nRUN echo <<\n",
		"FROM a\nRUN [\"sh\", \"-c\", \"cat <<EOF\"]\n",
		"FROM a\nCMD cat <<EOF\n", "FROM a\nRUN cat <<EOF<x\n",
		"FROM a\nRUN cat <<-\n", "FROM a\nRUN cat <<- EOF\n",
		"FROM a\nRUN echo 'x <<EOF\n", "FROM a\nRUN echo ${X <<EOF\n",
		"FROM a\nENV A=<<EOF\n", "FROM a\nRUN cat <<\"E O\"F\" x\n",
		NULL
	};
	size_t i;

	(void)state;
	expect_heredocs("FROM a\nRUN <<EOF\necho hi\nEOF\nRUN x\n", 1,
			"EOF|echo hi\n|0|1|0;", 5);
	expect_heredocs("FROM a\nCOPY <<A <<\"B\" /dst/\na1\nA\nb1\n\tb2\nB\n"
			"RUN x\n", 1, "A|a1\n|0|1|0;B|b1\n\tb2\n|0|0|0;", 8);
	expect_heredocs("FROM a\nRUN <<-EOT cat\n\tx\n\t\tEOT\nRUN y\n", 1,
			"EOT|\tx\n|1|1|0;", 5);
	expect_heredocs("FROM a\nRUN cat <<'EOF'\n$X\nEOF\n", 1,
			"EOF|$X\n|0|0|0;", 0);
	expect_heredocs("FROM a\nRUN cat <<E\"O\"F\nEOF\n", 1,
			"EOF||0|0|0;", 0);
	expect_heredocs("FROM a\nRUN 3<<EOF cat <&3\nx\nEOF\n", 1,
			"EOF|x\n|0|1|3;", 0);
	expect_heredocs("FROM a\nRUN cat << EOF\nx\nEOF\n", 1,
			"EOF|x\n|0|1|0;", 0);
	/* content is raw: line endings, comments, instructions, directives */
	expect_heredocs("FROM a\nRUN <<EOF\r\nx\r\n# c\r\nFROM b\r\nEOF\r\nRUN y\n",
			1, "EOF|x\r\n# c\r\nFROM b\r\n|0|1|0;", 7);
	/* the terminator must be the whole line */
	expect_heredocs("FROM a\nRUN <<EOF\n EOF\nEOFX\nEOF\n", 1,
			"EOF| EOF\nEOFX\n|0|1|0;", 0);
	/* after continuation lines; flags may come first */
	expect_heredocs("FROM a\nRUN --network=none cat \\\n  <<EOF\nx\nEOF\n"
			"RUN y\n", 1, "EOF|x\n|0|1|0;", 6);
	/* at the end of the file without a newline */
	expect_heredocs("FROM a\nRUN <<EOF\nx\nEOF", 1, "EOF|x\n|0|1|0;", 0);
	/* an ONBUILD trigger's heredocs belong to the trigger */
	expect_heredocs("FROM a\nONBUILD RUN <<EOF\nx\nEOF\nRUN y\n", 1,
			"EOF|x\n|0|1|0;", 5);
	expect_heredocs("FROM a\nCOPY --chmod=644 <<EOF /x\nhi\nEOF\n", 1,
			"EOF|hi\n|0|1|0;", 0);
	for (i = 0; plain[i]; i++)
		expect_heredocs(plain[i], 1, "", 0);

	expect_error("FROM a\nRUN <<EOF\nx\n",
		     "recipe:2: RUN: unterminated heredoc 'EOF'");
	expect_error("FROM a\nRUN <<A <<B\nx\nA\ny\n",
		     "recipe:2: RUN: unterminated heredoc 'B'");
	expect_error("FROM a\nONBUILD COPY <<EOF /x\nx\n",
		     "recipe:2: ONBUILD: unterminated heredoc 'EOF'");
	expect_error("FROM a\nCOPY a <<EOF\nx\nEOF\n",
		     "recipe:2: COPY: COPY cannot accept a heredoc as a "
		     "destination");
	expect_error("FROM a\nADD [\"a\", \"<<EOF\"]\n",
		     "recipe:2: ADD: ADD cannot accept a heredoc as a "
		     "destination");
}

static void
test_recipe_heredoc_words(void **state)
{
	struct stele_heredoc h;
	char *c;

	(void)state;
	assert_int_equal(stele_heredoc_word(&h, "<<EOF"), 1);
	assert_string_equal(h.name, "EOF");
	stele_heredoc_release(&h);
	assert_int_equal(stele_heredoc_word(&h, "12<<-  'a b'"), 1);
	assert_string_equal(h.name, "a b");
	assert_int_equal(h.fd, 12);
	assert_int_equal(h.chomp, 1);
	assert_int_equal(h.expand, 0);
	stele_heredoc_release(&h);
	assert_int_equal(stele_heredoc_word(&h, "<<E\\\"OF"), 1);
	assert_string_equal(h.name, "E\"OF");
	assert_int_equal(h.expand, 1);
	stele_heredoc_release(&h);
	assert_int_equal(stele_heredoc_word(&h, "<<\"a\\$b\""), 1);
	assert_string_equal(h.name, "a$b");
	stele_heredoc_release(&h);
	assert_int_equal(stele_heredoc_word(&h, "<<"), 0);
	assert_int_equal(stele_heredoc_word(&h, "<<-"), 0);
	assert_int_equal(stele_heredoc_word(&h, "<<''"), 0);
	assert_int_equal(stele_heredoc_word(&h, "<<a b"), 0);
	assert_int_equal(stele_heredoc_word(&h, "<<'a"), 0);
	assert_int_equal(stele_heredoc_word(&h, "x<<a"), 0);
	assert_int_equal(stele_heredoc_word(&h, "<<a<b"), 0);
	assert_int_equal(stele_heredoc_word(&h, "<a"), 0);

	c = stele_heredoc_chomp("\t\ta\n\tb\n c\n\t\n\t");
	assert_string_equal(c, "a\nb\n c\n\n");
	free(c);
	c = stele_heredoc_chomp("");
	assert_string_equal(c, "");
	free(c);
}

static void
test_recipe_heredoc_trigger(void **state)
{
	struct stele_recipe *r = NULL;
	const char *t = "COPY <<EOF /x\nhello\nEOF";

	(void)state;
	assert_ok(stele_recipe_parse_trigger(&r, "T", t, strlen(t)));
	assert_int_equal(r->ninstrs, 1);
	assert_int_equal(r->instrs[0].nheredocs, 1);
	assert_string_equal(r->instrs[0].heredocs[0].content, "hello\n");
	stele_recipe_free(r);
}

static void
test_recipe_size_caps(void **state)
{
	struct stele_recipe *r = NULL;
	size_t max = 1024 * 1024, line = 64 * 1024, n;
	char *text = stele_xmalloc(max + 2);

	(void)state;
	/* exactly 1 MiB: FROM and comment lines */
	memset(text, '#', max + 1);
	memcpy(text, "FROM a\n", 7);
	for (n = 7 + 1000; n < max; n += 1000)
		text[n] = '\n';
	assert_ok(stele_recipe_parse(&r, "recipe", text, max));
	assert_int_equal(r->ninstrs, 1);
	stele_recipe_free(r);
	r = NULL;
	assert_int_equal(stele_recipe_parse(&r, "recipe", text, max + 1),
			 STELE_EINVALID);
	assert_null(r);
	assert_string_equal(stele_error_last(),
			    "recipe: recipe larger than 1048576 bytes");

	/* a line of exactly 64 KiB (newline excluded), then one more */
	memcpy(text, "FROM a\nRUN ", 11);
	memset(text + 11, 'x', line - 4);
	text[7 + line] = '\n';
	assert_ok(stele_recipe_parse(&r, "recipe", text, 7 + line + 1));
	assert_int_equal(strlen(r->instrs[1].raw), line - 4);
	stele_recipe_free(r);
	r = NULL;
	text[7 + line] = 'x';
	text[7 + line + 1] = '\n';
	assert_int_equal(stele_recipe_parse(&r, "recipe", text, 7 + line + 2),
			 STELE_EINVALID);
	assert_string_equal(stele_error_last(),
			    "recipe:2: line longer than 65536 bytes");
	free(text);

	assert_int_equal(stele_recipe_parse(&r, "recipe", "FROM a\nRUN a\0b\n",
					    15), STELE_EINVALID);
	assert_null(r);
	assert_string_equal(stele_error_last(), "recipe:2: NUL byte in recipe");
}

static void
test_recipe_path_in_errors(void **state)
{
	struct stele_recipe *r = NULL;

	(void)state;
	assert_int_equal(stele_recipe_parse(&r, "dir/Recipe", "FROM a\nCOPY a\n",
					    14), STELE_EINVALID);
	assert_string_equal(stele_error_last(),
			    "dir/Recipe:2: COPY: requires at least two arguments");
	stele_recipe_free(NULL);
}
/* BuildKit's frontend/dockerfile/shell/envVarTest (Unix and all-platform) */
static const struct {
	const char *word;
	const char *want; /* NULL: an error */
} docker_vectors[] = {
	{ "hello", "hello" },
	{ "he'll'o", "hello" },
	{ "he'llo", NULL },
	{ "he\\'llo", "he'llo" },
	{ "he\\\\'llo", NULL },
	{ "abc\\tdef", "abctdef" },
	{ "\"abc\\tdef\"", "abc\\tdef" },
	{ "\"abc\\\\tdef\"", "abc\\tdef" },
	{ "'abc\\tdef'", "abc\\tdef" },
	{ "hello\\", "hello" },
	{ "hello\\\\", "hello\\" },
	{ "\"hello", NULL },
	{ "\"hello\\\"", NULL },
	{ "\"hel'lo\"", "hel'lo" },
	{ "'hello", NULL },
	{ "'hello\\'", "hello\\" },
	{ "'hello\\there'", "hello\\there" },
	{ "'hello\\\\there'", "hello\\\\there" },
	{ "\"''\"", "''" },
	{ "$.", "$." },
	{ "he$1x", "hex" },
	{ "he$.x", "he$.x" },
	{ "he$pwd.", "he." },
	{ "he$PWD", "he/home" },
	{ "he\\$PWD", "he$PWD" },
	{ "he\\\\$PWD", "he\\/home" },
	{ "\"he\\$PWD\"", "he$PWD" },
	{ "\"he\\\\$PWD\"", "he\\/home" },
	{ "\\${}", "${}" },
	{ "\\${}aaa", "${}aaa" },
	{ "he\\${}", "he${}" },
	{ "he\\${}xx", "he${}xx" },
	{ "${}", NULL },
	{ "${}aaa", NULL },
	{ "he${}", NULL },
	{ "he${}xx", NULL },
	{ "he${hi}", "he" },
	{ "he${hi}xx", "hexx" },
	{ "he${PWD}", "he/home" },
	{ "he${.}", NULL },
	{ "he${XXX:-000}xx", "he000xx" },
	{ "he${PWD:-000}xx", "he/homexx" },
	{ "he${XXX:-$PWD}xx", "he/homexx" },
	{ "he${XXX:-${PWD:-yyy}}xx", "he/homexx" },
	{ "he${XXX:-${YYY:-yyy}}xx", "heyyyxx" },
	{ "he${XXX:YYY}", NULL },
	{ "he${XXX?}", NULL },
	{ "he${XXX:?}", NULL },
	{ "he${PWD?}", "he/home" },
	{ "he${PWD:?}", "he/home" },
	{ "he${NULL?}", "he" },
	{ "he${NULL:?}", NULL },
	{ "he${XXX:+${PWD}}xx", "hexx" },
	{ "he${PWD:+${XXX}}xx", "hexx" },
	{ "he${PWD:+${SHELL}}xx", "hebashxx" },
	{ "he${XXX:+000}xx", "hexx" },
	{ "he${PWD:+000}xx", "he000xx" },
	{ "'he${XX}'", "he${XX}" },
	{ "\"he${PWD}\"", "he/home" },
	{ "\"he'$PWD'\"", "he'/home'" },
	{ "\"$PWD\"", "/home" },
	{ "'$PWD'", "$PWD" },
	{ "'\\$PWD'", "\\$PWD" },
	{ "'\"hello\"'", "\"hello\"" },
	{ "he\\$PWD", "he$PWD" },
	{ "\"he\\$PWD\"", "he$PWD" },
	{ "'he\\$PWD'", "he\\$PWD" },
	{ "he${PWD", NULL },
	{ "he${PWD:=000}xx", NULL },
	{ "he${PWD:+${PWD}:}xx", "he/home:xx" },
	{ "he${XXX:-\\$PWD:}xx", "he$PWD:xx" },
	{ "he${XXX:-\\${PWD}z}xx", "he${PWDz}xx" },
	{ "안녕하세요", "안녕하세요" },
	{ "안'녕'하세요", "안녕하세요" },
	{ "안'녕하세요", NULL },
	{ "안녕\\'하세요", "안녕'하세요" },
	{ "안\\\\'녕하세요", NULL },
	{ "안녕\\t하세요", "안녕t하세요" },
	{ "\"안녕\\t하세요\"", "안녕\\t하세요" },
	{ "'안녕\\t하세요", NULL },
	{ "안녕하세요\\", "안녕하세요" },
	{ "안녕하세요\\\\", "안녕하세요\\" },
	{ "\"안녕하세요", NULL },
	{ "\"안녕하세요\\\"", NULL },
	{ "\"안녕'하세요\"", "안녕'하세요" },
	{ "'안녕하세요", NULL },
	{ "'안녕하세요\\'", "안녕하세요\\" },
	{ "안녕$1x", "안녕x" },
	{ "안녕$.x", "안녕$.x" },
	{ "안녕$pwd.", "안녕." },
	{ "안녕$PWD", "안녕/home" },
	{ "안녕\\$PWD", "안녕$PWD" },
	{ "안녕\\\\$PWD", "안녕\\/home" },
	{ "안녕\\${}", "안녕${}" },
	{ "안녕\\${}xx", "안녕${}xx" },
	{ "안녕${}", NULL },
	{ "안녕${}xx", NULL },
	{ "안녕${hi}", "안녕" },
	{ "안녕${hi}xx", "안녕xx" },
	{ "안녕${PWD}", "안녕/home" },
	{ "안녕${.}", NULL },
	{ "안녕${XXX:-000}xx", "안녕000xx" },
	{ "안녕${PWD:-000}xx", "안녕/homexx" },
	{ "안녕${XXX:-$PWD}xx", "안녕/homexx" },
	{ "안녕${XXX:-${PWD:-yyy}}xx", "안녕/homexx" },
	{ "안녕${XXX:-${YYY:-yyy}}xx", "안녕yyyxx" },
	{ "안녕${XXX:YYY}", NULL },
	{ "안녕${XXX:+${PWD}}xx", "안녕xx" },
	{ "안녕${PWD:+${XXX}}xx", "안녕xx" },
	{ "안녕${PWD:+${SHELL}}xx", "안녕bashxx" },
	{ "안녕${XXX:+000}xx", "안녕xx" },
	{ "안녕${PWD:+000}xx", "안녕000xx" },
	{ "'안녕${XX}'", "안녕${XX}" },
	{ "\"안녕${PWD}\"", "안녕/home" },
	{ "\"안녕'$PWD'\"", "안녕'/home'" },
	{ "'\"안녕\"'", "\"안녕\"" },
	{ "안녕\\$PWD", "안녕$PWD" },
	{ "\"안녕\\$PWD\"", "안녕$PWD" },
	{ "'안녕\\$PWD'", "안녕\\$PWD" },
	{ "안녕${PWD", NULL },
	{ "안녕${PWD:=000}xx", NULL },
	{ "안녕${PWD:+${PWD}:}xx", "안녕/home:xx" },
	{ "안녕${XXX:-\\$PWD:}xx", "안녕$PWD:xx" },
	{ "안녕${XXX:-\\${PWD}z}xx", "안녕${PWDz}xx" },
	{ "$KOREAN", "한국어" },
	{ "안녕$KOREAN", "안녕한국어" },
	{ "${{aaa}", NULL },
	{ "${aaa}}", "}" },
	{ "${aaa", NULL },
	{ "${{aaa:-bbb}", NULL },
	{ "${aaa:-bbb}}", "bbb}" },
	{ "${aaa:-bbb", NULL },
	{ "${aaa:-bbb}", "bbb" },
	{ "${aaa:-${bbb:-ccc}}", "ccc" },
	{ "${aaa:-bbb ${foo}", NULL },
	{ "${aaa:-bbb {foo}", "bbb {foo" },
	{ "${:}", NULL },
	{ "${:-bbb}", NULL },
	{ "${:+bbb}", NULL },
	{ "$1", "" },
	{ "${1}", "" },
	{ "${1:+bbb}", "" },
	{ "${1:-bbb}", "bbb" },
	{ "$2", "" },
	{ "${2}", "" },
	{ "${2:+bbb}", "" },
	{ "${2:-bbb}", "bbb" },
	{ "$3", "" },
	{ "${3}", "" },
	{ "${3:+bbb}", "" },
	{ "${3:-bbb}", "bbb" },
	{ "$4", "" },
	{ "${4}", "" },
	{ "${4:+bbb}", "" },
	{ "${4:-bbb}", "bbb" },
	{ "$5", "" },
	{ "${5}", "" },
	{ "${5:+bbb}", "" },
	{ "${5:-bbb}", "bbb" },
	{ "$6", "" },
	{ "${6}", "" },
	{ "${6:+bbb}", "" },
	{ "${6:-bbb}", "bbb" },
	{ "$7", "" },
	{ "${7}", "" },
	{ "${7:+bbb}", "" },
	{ "${7:-bbb}", "bbb" },
	{ "$8", "" },
	{ "${8}", "" },
	{ "${8:+bbb}", "" },
	{ "${8:-bbb}", "bbb" },
	{ "$9", "" },
	{ "${9}", "" },
	{ "${9:+bbb}", "" },
	{ "${9:-bbb}", "bbb" },
	{ "$999", "" },
	{ "${999}", "" },
	{ "${999:+bbb}", "" },
	{ "${999:-bbb}", "bbb" },
	{ "$999aaa", "aaa" },
	{ "${999}aaa", "aaa" },
	{ "${999:+bbb}aaa", "aaa" },
	{ "${999:-bbb}aaa", "bbbaaa" },
	{ "$001", "" },
	{ "${001}", "" },
	{ "${001:+bbb}", "" },
	{ "${001:-bbb}", "bbb" },
	{ "$001aaa", "aaa" },
	{ "${001}aaa", "aaa" },
	{ "${001:+bbb}aaa", "aaa" },
	{ "${001:-bbb}aaa", "bbbaaa" },
	{ "$@", "" },
	{ "${@}", "" },
	{ "${@:+bbb}", "" },
	{ "${@:-bbb}", "bbb" },
	{ "$@@@", "@@" },
	{ "$@aaa", "aaa" },
	{ "${@}aaa", "aaa" },
	{ "${@:+bbb}aaa", "aaa" },
	{ "${@:-bbb}aaa", "bbbaaa" },
	{ "$*", "" },
	{ "${*}", "" },
	{ "${*:+bbb}", "" },
	{ "${*:-bbb}", "bbb" },
	{ "$#", "" },
	{ "${#}", "" },
	{ "${#:+bbb}", "" },
	{ "${#:-bbb}", "bbb" },
	{ "$?", "" },
	{ "${?}", "" },
	{ "${?:+bbb}", "" },
	{ "${?:-bbb}", "bbb" },
	{ "$-", "" },
	{ "${-}", "" },
	{ "${-:+bbb}", "" },
	{ "${-:-bbb}", "bbb" },
	{ "$$", "" },
	{ "${$}", "" },
	{ "${$:+bbb}", "" },
	{ "${$:-bbb}", "bbb" },
	{ "$!", "" },
	{ "${!}", "" },
	{ "${!:+bbb}", "" },
	{ "${!:-bbb}", "bbb" },
	{ "$0", "" },
	{ "${0}", "" },
	{ "${0:+bbb}", "" },
	{ "${0:-bbb}", "bbb" },
};

static void
test_recipe_expand_docker_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(docker_vectors) / sizeof(docker_vectors[0]); i++)
		expect_expand(docker_vectors[i].word, docker_vectors[i].want);
}

static void
expand_env(const char *const *env, const char *word, const char *want)
{
	char *got = NULL;

	assert_ok(stele_recipe_expand(&got, word, '\\', env_lookup,
				      (void *)env));
	if (strcmp(got, want))
		print_error("'%s': got '%s' want '%s'\n", word, got, want);
	assert_string_equal(got, want);
	free(got);
}

static void
expand_env_error(const char *const *env, const char *word, const char *msg)
{
	char *got = NULL;

	assert_int_equal(stele_recipe_expand(&got, word, '\\', env_lookup,
					     (void *)env), STELE_EINVALID);
	assert_null(got);
	assert_string_equal(stele_error_last(), msg);
}

/* BuildKit's TestShellParserMandatoryEnvVars */
static void
test_recipe_expand_required(void **state)
{
	static const char *const set[] = { "VAR=plain", "ARG=x", NULL };
	static const char *const empty[] = { "VAR=", "ARG=x", NULL };
	static const char *const unset[] = { "ARG=x", NULL };

	(void)state;
	expand_env(set, "${VAR:?message here$ARG}", "plain");
	expand_env_error(empty, "${VAR:?message here$ARG}",
			 "cannot expand '${VAR:?message here$ARG}': "
			 "VAR: message herex");
	expand_env_error(unset, "${VAR:?message here$ARG}",
			 "cannot expand '${VAR:?message here$ARG}': "
			 "VAR: message herex");
	expand_env(set, "${VAR?message here$ARG}", "plain");
	expand_env(empty, "${VAR?message here$ARG}", "");
	expand_env_error(unset, "${VAR?message here$ARG}",
			 "cannot expand '${VAR?message here$ARG}': "
			 "VAR: message herex");
	expand_env_error(unset, "a${VAR?}",
			 "cannot expand 'a${VAR?}': "
			 "VAR: is not allowed to be unset");
	expand_env_error(empty, "${VAR:?}",
			 "cannot expand '${VAR:?}': "
			 "VAR: is not allowed to be empty");
}

static void
test_recipe_expand_errors(void **state)
{
	(void)state;
	expect_expand_error("${A",
			    "cannot expand '${A': syntax error: missing '}'");
	expect_expand_error("${",
			    "cannot expand '${': syntax error: missing '}'");
	expect_expand_error("${A:-x",
			    "cannot expand '${A:-x': syntax error: missing '}'");
	expect_expand_error("${A:",
			    "cannot expand '${A:': syntax error: missing '}'");
	expect_expand_error("x${}",
			    "cannot expand 'x${}': syntax error: bad substitution");
	expect_expand_error("${:-a}", "cannot expand '${:-a}': syntax error: "
			    "bad substitution");
	expect_expand_error("'abc", "cannot expand ''abc': unexpected end of "
			    "statement while looking for matching single-quote");
	expect_expand_error("\"abc", "cannot expand '\"abc': unexpected end of "
			    "statement while looking for matching double-quote");
	expect_expand_error("${A:=b}", "cannot expand '${A:=b}': unsupported "
			    "modifier (:=) in substitution");
	expect_expand_error("${A=b}", "cannot expand '${A=b}': unsupported "
			    "modifier (=) in substitution");
	expect_expand_error("${A/a/b}", "cannot expand '${A/a/b}': unsupported "
			    "modifier (/) in substitution");
	expect_expand_error("${A:#x}", "cannot expand '${A:#x}': unsupported "
			    "modifier (:#) in substitution");
	expect_expand_error("${A:-\"x}\"", "cannot expand '${A:-\"x}\"': "
			    "syntax error: missing '}'");
}

/* Words in stele recipes with `# escape=`` (Windows-style paths) */
static void
test_recipe_expand_backtick(void **state)
{
	(void)state;
	expect_expand_esc("a`$PWD", '`', "a$PWD");
	expect_expand_esc("C:\\path\\", '`', "C:\\path\\");
	expect_expand_esc("\"a`\"b\"", '`', "a\"b");
	expect_expand_esc("\"C:\\dir\\\"", '`', "C:\\dir\\");
	expect_expand_esc("\"a``b\"", '`', "a`b");
	expect_expand_esc("\"a`xb\"", '`', "a`xb");
	expect_expand_esc("abc`", '`', "abc");
	expect_expand_esc("'a`b'", '`', "a`b");
	expect_expand_esc("$PWD`$PWD", '`', "/home$PWD");
	expect_expand_esc("${X:-a`}b}", '`', "a}b");
	expect_expand_esc("a\\ b", '`', "a\\ b");
}

static void
test_recipe_expand_quotes(void **state)
{
	(void)state;
	expect_expand("\"$PWD dir\"/'$PWD'/$PWD", "/home dir/$PWD//home");
	expect_expand("a\\ b\\\"c", "a b\"c");
	expect_expand("\"a\\b\\\\c\\$d\\\"e\"", "a\\b\\c$d\"e");
	expect_expand("''\"\"", "");
	expect_expand("  spaced  words  ", "  spaced  words  ");
	expect_expand("\"it's\"", "it's");
	expect_expand("'say \"hi\"'", "say \"hi\"");
	expect_expand("$", "$");
	expect_expand("$ x", "$ x");
	expect_expand("a$-b", "ab");
	expect_expand("${SHELL}_x $SHELL_x", "bash_x ");
	expect_expand("${KOREAN}안녕", "한국어안녕");
}

static void
test_recipe_expand_nested(void **state)
{
	struct stele_buf b = STELE_BUF_INIT(1 << 20);
	char *got = NULL;
	int i;

	(void)state;
	expect_expand("${A:-${B:-${C:-deep}}}", "deep");
	expect_expand("${PWD:+\"${SHELL} x\"}", "bash x");
	expect_expand("${UNSET:-'$PWD'}", "$PWD");
	expect_expand("${PWD:+a b}", "a b");
	expect_expand("${UNSET-\"}\"}", "}");
	expect_expand("${NULL-x}${NULL:-y}${NULL+z}${NULL:+w}", "yz");
	expect_expand("\"${UNSET:-a \"b\" c}\"", "a b c");

	for (i = 0; i < 60; i++)
		assert_ok(stele_buf_puts(&b, "${A:-"));
	assert_ok(stele_buf_puts(&b, "x"));
	for (i = 0; i < 60; i++)
		assert_ok(stele_buf_puts(&b, "}"));
	expect_expand(b.ptr, "x");
	stele_buf_clear(&b);
	for (i = 0; i < 100; i++)
		assert_ok(stele_buf_puts(&b, "${A:-"));
	assert_int_equal(stele_recipe_expand(&got, b.ptr, '\\', NULL, NULL),
			 STELE_EINVALID);
	assert_null(got);
	assert_non_null(strstr(stele_error_last(),
			       "...': substitutions nested too deeply"));
	stele_buf_release(&b);
}

static void
test_recipe_expand_no_lookup(void **state)
{
	char *got = NULL;

	(void)state;
	assert_ok(stele_recipe_expand(&got, "a$X${Y:-d}${Z:+e}", '\\', NULL,
				      NULL));
	assert_string_equal(got, "ad");
	free(got);
	assert_ok(stele_recipe_expand(&got, "", '\\', NULL, NULL));
	assert_string_equal(got, "");
	free(got);
}

static void
test_recipe_expand_output_cap(void **state)
{
	size_t big = 700 * 1024;
	char *var = stele_xmalloc(big + 5);
	const char *env[] = { var, NULL };
	char *got = NULL;

	(void)state;
	memcpy(var, "BIG=", 4);
	memset(var + 4, 'v', big);
	var[4 + big] = '\0';
	assert_ok(stele_recipe_expand(&got, "$BIG", '\\', env_lookup, env));
	assert_int_equal(strlen(got), big);
	free(got);
	assert_int_equal(stele_recipe_expand(&got, "$BIG$BIG", '\\', env_lookup,
					     env), STELE_EINVALID);
	assert_null(got);
	assert_non_null(strstr(stele_error_last(),
			       "cannot expand '$BIG$BIG': "));
	free(var);
}

/* Outside stele's subset: an error, never a silent wrong value. */
static void
test_recipe_expand_unsupported_modifiers(void **state)
{
	static const char *const words[] = {
		"${PWD#/}", "${PWD##*/}", "${PWD%e}", "${PWD%%/*}", "${PWD/h/H}",
		"${PWD//h/H}", "${PWD:=x}", "${PWD:#x}", "${PWD^}", "${PWD,}",
		"${#PWD}", "${PWD:1}", "${PWD:}", NULL
	};
	char *got = NULL;
	size_t i;

	(void)state;
	for (i = 0; words[i]; i++) {
		if (stele_recipe_expand(&got, words[i], '\\', env_lookup,
					(void *)docker_env) != STELE_EINVALID)
			print_error("'%s' expanded to '%s'\n", words[i], got);
		assert_null(got);
	}
	expect_expand_error("${PWD#/}", "cannot expand '${PWD#/}': "
			    "unsupported modifier (#) in substitution");
	expect_expand_error("${PWD%/}", "cannot expand '${PWD%/}': "
			    "unsupported modifier (%) in substitution");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recipe_parse_all_instructions),
		cmocka_unit_test(test_recipe_keywords_case_insensitive),
		cmocka_unit_test(test_recipe_comments_and_lines),
		cmocka_unit_test(test_recipe_continuation_indent),
		cmocka_unit_test(test_recipe_continuation_comment_and_blank),
		cmocka_unit_test(test_recipe_continuation_at_eof),
		cmocka_unit_test(test_recipe_trailing_backslash),
		cmocka_unit_test(test_recipe_escape_directive_backtick),
		cmocka_unit_test(test_recipe_escape_directive_variants),
		cmocka_unit_test(test_recipe_escape_directive_errors),
		cmocka_unit_test(test_recipe_crlf_and_bom),
		cmocka_unit_test(test_recipe_json_forms),
		cmocka_unit_test(test_recipe_json_fallback),
		cmocka_unit_test(test_recipe_json_errors),
		cmocka_unit_test(test_recipe_env_forms),
		cmocka_unit_test(test_recipe_env_label_arg_errors),
		cmocka_unit_test(test_recipe_label_pairs),
		cmocka_unit_test(test_recipe_arg_forms),
		cmocka_unit_test(test_recipe_from_forms),
		cmocka_unit_test(test_recipe_flags),
		cmocka_unit_test(test_recipe_flag_errors),
		cmocka_unit_test(test_recipe_bool_flags),
		cmocka_unit_test(test_recipe_run_security),
		cmocka_unit_test(test_recipe_run_mount),
		cmocka_unit_test(test_recipe_argument_counts),
		cmocka_unit_test(test_recipe_single_argument),
		cmocka_unit_test(test_recipe_unknown_instruction),
		cmocka_unit_test(test_recipe_volume),
		cmocka_unit_test(test_recipe_maintainer),
		cmocka_unit_test(test_recipe_flag_words),
		cmocka_unit_test(test_recipe_parse_syntax),
		cmocka_unit_test(test_recipe_healthcheck),
		cmocka_unit_test(test_recipe_onbuild),
		cmocka_unit_test(test_recipe_trigger),
		cmocka_unit_test(test_recipe_syntax_check_directives),
		cmocka_unit_test(test_recipe_from_first),
		cmocka_unit_test(test_recipe_empty),
		cmocka_unit_test(test_recipe_heredoc),
		cmocka_unit_test(test_recipe_heredoc_words),
		cmocka_unit_test(test_recipe_heredoc_trigger),
		cmocka_unit_test(test_recipe_size_caps),
		cmocka_unit_test(test_recipe_path_in_errors),
		cmocka_unit_test(test_recipe_expand_docker_vectors),
		cmocka_unit_test(test_recipe_expand_required),
		cmocka_unit_test(test_recipe_expand_errors),
		cmocka_unit_test(test_recipe_expand_backtick),
		cmocka_unit_test(test_recipe_expand_quotes),
		cmocka_unit_test(test_recipe_expand_nested),
		cmocka_unit_test(test_recipe_expand_no_lookup),
		cmocka_unit_test(test_recipe_expand_output_cap),
		cmocka_unit_test(test_recipe_expand_unsupported_modifiers),
	};

	if (stele_init() < 0) {
		fprintf(stderr, "%s\n", stele_error_last());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
