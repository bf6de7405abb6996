#ifndef STELE_CLI_H
#define STELE_CLI_H

/* Exit codes, the same for every command (README, docs/policy.md). */
#define EXIT_OK 0
#define EXIT_DENIED 1
#define EXIT_USAGE 2
#define EXIT_ERROR 3

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

int cmd_build(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_attest(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_rebuild(int argc, char **argv);
int cmd_fsck(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_copy(int argc, char **argv);
int cmd_rollout(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);
int cmd_sbom(int argc, char **argv);
int cmd_images(int argc, char **argv);
int cmd_tag(int argc, char **argv);
int cmd_rmi(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_db(int argc, char **argv);

/* Keys (cmd_sign.c, cmd_attest.c): load a key file, asking for its
 * passphrase (file, $STELE_PASSWORD or terminal), after its permissions are
 * checked (`flags`: enum stele_keyfile_flags, set by the option below);
 * attest a built image's provenance and, when `sbom` >= 0 (enum
 * stele_sbom_format), its SBOM. */
struct stele_seckey;
struct stele_ref;
int cli_key_load(struct stele_seckey **out, const char *path,
		 const char *passfile, unsigned int flags);
#define CLI_OPT_INSECURE_KEY 0x300
#define CLI_INSECURE_KEY_OPTION \
	{ \
		"allow-insecure-key-perms", no_argument, NULL, \
			CLI_OPT_INSECURE_KEY \
	}
/*
 * --key KEY (-k), --passphrase-file F and --allow-insecure-key-perms, as
 * sign, attest, scan and rollout take them: cli_key_opt() takes option `c`
 * into `ko` (1), or returns 0 when it is not one of them.
 */
struct cli_key_opts {
	const char *file, *passfile;
	unsigned int flags;
};
#define CLI_OPT_PASSFILE 0x301
#define CLI_KEY_OPTIONS \
	{ "key", required_argument, NULL, 'k' }, \
		{ "passphrase-file", required_argument, NULL, \
		  CLI_OPT_PASSFILE }, \
		CLI_INSECURE_KEY_OPTION
int cli_key_opt(struct cli_key_opts *ko, int c, const char *arg);
#define CLI_INSECURE_KEY_HELP \
	"      --allow-insecure-key-perms  use a key file group or others may\n" \
	"                           access (refused otherwise: chmod 600 it)\n"
int cli_attest_built(const struct stele_seckey *k, const struct stele_ref *ref,
		     const char *digest, int sbom);

/* cmd_sign.c: the identity of a docker:// or store image (NAME:TAG, a
 * missing tag being latest, or NAME@DIGEST), malloc'd; check a --identity
 * value (EXIT_OK, or a usage error printed). */
char *cli_docker_identity(const struct stele_ref *ref);
int cli_identity_check(const char *usage, const char *identity);

/* cmd_verify.c: fill o->reference or o->default_identity (in *owned,
 * freed by the caller) and o->tag for an image named by `ref`. */
struct stele_verify_opts;
void cli_verify_names(struct stele_verify_opts *o, char **owned,
		      const struct stele_ref *ref);
/* cmd_verify.c: "stele: denied: <check>: <reason>" on stderr for each
 * failed check of `rep`. */
struct stele_verify_report;
void cli_print_denials(const struct stele_verify_report *rep);

/*
 * cmd_store.c: the one optional layout argument of images, gc and fsck
 * (argv[optind..]): oci:DIR, else the store.  *dir malloc'd; EXIT_OK, or
 * the usage error printed (EXIT_USAGE, *dir NULL).
 */
int cli_layout_arg(char **dir, int argc, char **argv, const char *usage);
/* Print "stele: <last error>" and return the exit code for `error`. */
int cli_fail(int error);
/* Print a usage error and return EXIT_USAGE. */
int cli_usage(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * The end of every option switch: -h/--help (c == 'h') prints `usage` on
 * stdout and is EXIT_OK; an option getopt rejected has had its message
 * printed, so `usage` goes to stderr and it is EXIT_USAGE.
 */
int cli_help(int c, const char *usage);
/* Progress callback printing to stderr (quiet when STELE_QUIET is set). */
void cli_progress(void *payload, const char *msg);
/* Print `j` on one line of stdout (sorted keys, compact) and drop its
 * reference: EXIT_OK, or the error printed (NULL `j`: out of memory). */
#include <jansson.h>
int cli_json_print(json_t *j);
/* The same indented, for people reading --json. */
int cli_json_show(json_t *j);
/* Parse a -compression value; -1 when unknown. */
int cli_compression(const char *s);

/*
 * --max-size SIZE and --max-entries N, taken by build and import
 * (docs/limits.md).  cli_limit_opt() fills `l` from option `c` when it is
 * one of them (1), returns 0 when it is not, and on a bad value sets the
 * error and returns STELE_EINVALID (a usage error).
 */
struct stele_limits;
#define CLI_LIMIT_SIZE 0x280
#define CLI_LIMIT_ENTRIES 0x281
#define CLI_LIMIT_OPTIONS \
	{ "max-size", required_argument, NULL, CLI_LIMIT_SIZE }, \
	{ \
		"max-entries", required_argument, NULL, CLI_LIMIT_ENTRIES \
	}
#define CLI_LIMIT_CASES \
	case CLI_LIMIT_SIZE: \
	case CLI_LIMIT_ENTRIES
int cli_limit_opt(struct stele_limits *l, int c, const char *arg);
extern const char *cli_version;
/* cmd_sbom.c: "stele <version>", the creator SBOMs name (malloc'd). */
char *cli_sbom_tool(void);
/*
 * cmd_sbom.c: the inventory of image `name` (a reference as users type
 * it), for sbom and scan, through the inventory cache in the cache
 * directory's inventory/ (stele_sbom_read_cached).  0 or an error code
 * (nothing printed);
 * cli_inventory_release() in every case.
 */
struct cli_inventory {
	struct stele_ref *ref;
	struct stele_image *img;
	struct stele_sbom *s;
};
struct stele_sbom_opts;
int cli_inventory_open(struct cli_inventory *inv, const char *name,
		       const struct stele_sbom_opts *so);
void cli_inventory_release(struct cli_inventory *inv);

#endif
