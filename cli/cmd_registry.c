#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_registry.h"
#include "cli/env.h"
#include "oci/image.h"
#include "oci/ref.h"
#include "registry/transfer.h"
#include "util/error.h"
#include "util/fs.h"

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void
progress(void *payload, const char *what, uint64_t done, uint64_t total)
{
	struct cli_registry *c = payload;
	int pct = total ? (int)(done * 100 / total) : 100;

	if (c->quiet || !c->tty)
		return;
	if (!strcmp(c->last, what) && pct == c->last_pct)
		return;
	snprintf(c->last, sizeof(c->last), "%s", what);
	c->last_pct = pct;
	/* "push sha256:0123456789ab  42%   10.5/25.0 MiB" */
	fprintf(stderr, "\r%.24s %3d%% %7.1f/%.1f MiB", what, pct,
		(double)done / (1024.0 * 1024.0),
		(double)total / (1024.0 * 1024.0));
	if (done >= total)
		fputc('\n', stderr);
}

void
cli_registry_init(struct cli_registry *c)
{
	memset(c, 0, sizeof(*c));
	c->o.backoff_ms = (unsigned)cli_env()->registry_backoff_ms;
	c->o.timeout_s = (unsigned)cli_env()->registry_timeout_s;
	c->o.chunk_size = cli_env()->registry_chunk_size;
	c->o.progress = progress;
	c->o.progress_payload = c;
	c->o.cancel = &interrupted;
	c->o.dirs = &cli_env()->dirs;
	c->o.auth_search = (const char *const *)cli_env()->auth_search;
	c->last_pct = -1;
}

int
cli_registry_opt(struct cli_registry *c, int opt, const char *arg)
{
	char *end;
	unsigned long n;

	switch (opt) {
	case CLI_REG_CREDS: c->o.creds = arg; return 1;
	case CLI_REG_AUTHFILE: c->o.authfile = arg; return 1;
	case CLI_REG_CERTDIR: c->o.cert_dir = arg; return 1;
	case CLI_REG_JSON: c->json = 1; return 1;
	case 'q': c->quiet = 1; return 1;
	case CLI_REG_TLS:
		if (!strcmp(arg, "true"))
			c->o.insecure = 0;
		else if (!strcmp(arg, "false"))
			c->o.insecure = 1;
		else
			return stele_error_setc(
				STELE_EINVALID,
				"--tls-verify wants true or false, not '%s'",
				arg);
		return 1;
	case CLI_REG_RETRY:
		n = strtoul(arg, &end, 10);
		if (!*arg || *end || n > 20)
			return stele_error_setc(
				STELE_EINVALID,
				"--retry-times wants 0 to 20, not '%s'", arg);
		c->o.retries = n ? (unsigned)n : STELE_REGISTRY_NO_RETRY;
		return 1;
	case CLI_REG_JOBS:
		n = strtoul(arg, &end, 10);
		if (!*arg || *end || n < 1 || n > 32)
			return stele_error_setc(
				STELE_EINVALID,
				"--jobs wants 1 to 32, not '%s'", arg);
		c->o.jobs = (unsigned)n;
		return 1;
	default: return 0;
	}
}

int
cli_shared_opt(struct cli_registry *reg, struct stele_limits *l, int c,
	       const char *usage)
{
	int r = reg ? cli_registry_opt(reg, c, optarg) : 0;

	if (r == 0 && l)
		r = cli_limit_opt(l, c, optarg);
	if (r < 0)
		cli_usage(usage, "%s", stele_error_last());
	return r;
}

void
cli_registry_start(struct cli_registry *c)
{
	struct sigaction sa;

	if (c->started)
		return;
	c->started = 1;
	c->tty = isatty(2) && !cli_env()->quiet;
	if (cli_env()->quiet)
		c->quiet = 1;
	if (c->o.insecure)
		fprintf(stderr,
			"stele: warning: --tls-verify=false: certificates are not checked and plain http is allowed\n");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int
cli_registry_summary(struct cli_registry *c, const char *verb,
		     const struct stele_transfer *t, const char *src,
		     const char *dst)
{
	if (c->json)
		return cli_json_print(stele_transfer_json(t, src, dst));
	if (!c->quiet)
		fprintf(stderr,
			"%s %s -> %s: %zu blobs (%zu transferred, %zu present, %zu mounted, %.1f MiB), %zu signature tag%s, %zu attestation tag%s, %zu referrer%s\n",
			verb, src, dst, t->blobs, t->blobs_sent,
			t->blobs_present, t->blobs_mounted,
			(double)t->bytes / (1024.0 * 1024.0), t->signatures,
			t->signatures == 1 ? "" : "s", t->attestations,
			t->attestations == 1 ? "" : "s", t->referrers,
			t->referrers == 1 ? "" : "s");
	printf("%s\n", t->digest);
	return EXIT_OK;
}

int
cli_image_open(struct stele_image **img, struct stele_ref **ref, char **tmpdir,
	       const char *spec, struct cli_registry *c)
{
	int error;

	*img = NULL;
	*tmpdir = NULL;
	if ((error = stele_ref_parse(ref, spec, cli_env()->store)) < 0)
		return error;
	if ((*ref)->transport != STELE_REF_DOCKER)
		return stele_image_open(img, *ref);
	cli_registry_start(c);
	return stele_registry_pull_temp(img, tmpdir, *ref, &c->o);
}

void
cli_image_close(struct stele_image *img, struct stele_ref *ref, char *tmpdir)
{
	stele_image_free(img);
	stele_ref_free(ref);
	stele_fs_tmp_free(tmpdir);
}
