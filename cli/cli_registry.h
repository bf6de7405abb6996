#ifndef STELE_CLI_REGISTRY_H
#define STELE_CLI_REGISTRY_H

#include <getopt.h>

#include "registry/client.h"
#include "registry/transfer.h"

/*
 * Options every registry command takes (cli/cmd_registry.c), as skopeo
 * spells them: --creds, --authfile, --cert-dir, --tls-verify=BOOL,
 * --retry-times N, -q/--quiet, --json.  Test knobs from the environment:
 * STELE_REGISTRY_BACKOFF_MS, STELE_REGISTRY_TIMEOUT (seconds),
 * STELE_REGISTRY_CHUNK_SIZE (bytes).
 */
#define CLI_REG_CREDS 0x200
#define CLI_REG_AUTHFILE 0x201
#define CLI_REG_CERTDIR 0x202
#define CLI_REG_TLS 0x203
#define CLI_REG_RETRY 0x204
#define CLI_REG_JSON 0x205
#define CLI_REG_JOBS 0x206

/* How to reach a registry: also taken by build (bases) and verify. */
#define CLI_REGISTRY_CONNECT_OPTIONS \
	{ "creds", required_argument, NULL, CLI_REG_CREDS }, \
		{ "authfile", required_argument, NULL, CLI_REG_AUTHFILE }, \
		{ "cert-dir", required_argument, NULL, CLI_REG_CERTDIR }, \
	{ \
		"tls-verify", required_argument, NULL, CLI_REG_TLS \
	}
#define CLI_REGISTRY_CONNECT_CASES \
	case CLI_REG_CREDS: \
	case CLI_REG_AUTHFILE: \
	case CLI_REG_CERTDIR: \
	case CLI_REG_TLS

#define CLI_REGISTRY_OPTIONS \
	CLI_REGISTRY_CONNECT_OPTIONS, \
		{ "retry-times", required_argument, NULL, CLI_REG_RETRY }, \
		{ "json", no_argument, NULL, CLI_REG_JSON }, \
	{ \
		"quiet", no_argument, NULL, 'q' \
	}

/* Commands that move blobs (push, pull, copy). */
#define CLI_REGISTRY_JOBS_OPTION \
	{ \
		"jobs", required_argument, NULL, CLI_REG_JOBS \
	}
#define CLI_REGISTRY_JOBS_HELP \
	"      --jobs N                 blobs moved at once (1 to 32, default 4)\n"

#define CLI_REGISTRY_HELP \
	"      --creds USER:PASS    credentials (else the auth files; see stele login)\n" \
	"      --authfile FILE      the auth file to read (else $REGISTRY_AUTH_FILE,\n" \
	"                           $XDG_RUNTIME_DIR/containers/auth.json,\n" \
	"                           ~/.config/containers/auth.json, ~/.docker/config.json)\n" \
	"      --cert-dir DIR       trust DIR/*.crt (client cert DIR/*.cert + *.key)\n" \
	"      --tls-verify=false   do not check certificates; allow plain http\n" \
	"      --retry-times N      retries of a failed request (default 4)\n" \
	"      --json               a JSON summary on stdout\n" \
	"  -q, --quiet              no progress\n"

struct cli_registry {
	struct stele_registry_opts o;
	int json;
	int quiet;
	int tty; /* progress drawn in place */
	int started; /* cli_registry_start() ran */
	char last[128];
	int last_pct;
};

/* Defaults and the environment's test knobs. */
void cli_registry_init(struct cli_registry *c);
/* 1: `opt` was a registry option (taken), 0: not one, <0: bad value
 * (a usage error, message set). */
int cli_registry_opt(struct cli_registry *c, int opt, const char *arg);
/*
 * The options commands share: registry options into `reg` and --max-size,
 * --max-entries into `l` (either may be NULL).  1 when `c` was one of them
 * (taken), 0 when not, <0 for a bad value (`usage` and the error printed).
 */
struct stele_limits;
int cli_shared_opt(struct cli_registry *reg, struct stele_limits *l, int c,
		   const char *usage);
/* Before the work: the --tls-verify=false warning, signal handlers (once;
 * a second call does nothing). */
void cli_registry_start(struct cli_registry *c);
/*
 * Open the image `spec` names: a docker:// image is pulled with what is
 * attached to it into a temporary layout (*tmpdir, malloc'd; the registry
 * connection started first), any other is opened where it is.  *ref and
 * *img are the caller's; release all three with cli_image_close().
 */
int cli_image_open(struct stele_image **img, struct stele_ref **ref,
		   char **tmpdir, const char *spec, struct cli_registry *c);
void cli_image_close(struct stele_image *img, struct stele_ref *ref,
		     char *tmpdir);
/* Print a summary (text to stderr, or JSON to stdout). */
int cli_registry_summary(struct cli_registry *c, const char *verb,
			 const struct stele_transfer *t, const char *src,
			 const char *dst);

#endif
