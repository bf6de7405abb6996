#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cli/cli.h"
#include "cli/cli_registry.h"
#include "deploy/admission.h"
#include "deploy/serve.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/fs.h"

static const char serve_usage[] =
	"usage: stele serve --admission --policy P --tls-cert CERT --tls-key KEY\n"
	"                   [--listen ADDR:PORT] [--cache-ttl S] [options]\n"
	"\n"
	"A Kubernetes validating admission webhook (AdmissionReview v1) over TLS:\n"
	"POST /validate checks every image of a Pod, Deployment, ReplicaSet,\n"
	"StatefulSet, DaemonSet, Job or CronJob against the policy (images must be\n"
	"named by digest) and the policy's runtime rules on every container; a\n"
	"denial carries every reason.  Verdicts are cached by digest for at most\n"
	"--cache-ttl seconds; a change to the policy file empties the cache.\n"
	"POST /flagger is a Flagger webhook (confirm-promotion, pre-rollout,\n"
	"confirm-rollout): the images listed in its metadata.images, by digest,\n"
	"are verified the same way; 200 lets Flagger go on, 403 stops it (with\n"
	"the reasons), 400 answers a payload that is not Flagger's.\n"
	"GET /healthz answers ok.  Runs until SIGINT or SIGTERM.\n"
	"\n"
	"      --admission       serve the admission webhook\n"
	"  -p, --policy FILE     the policy (JSON), re-read when it changes\n"
	"      --tls-cert FILE   the server's certificate chain (PEM)\n"
	"      --tls-key FILE    its private key (PEM)\n"
	"      --listen A:P      address and port (default 127.0.0.1:8443; IPv6 in\n"
	"                        brackets: [::1]:8443)\n"
	"      --cache-ttl S     seconds a verdict is kept (default 60; 0: none)\n"
	"      --threads N       request threads (default 2)\n"
	"      --creds USER:PASS, --authfile FILE, --cert-dir DIR, --tls-verify=false\n"
	"                        how to reach the registries images are pulled from\n"
	"  -h, --help            this help\n";

static int64_t
wall_clock(void *payload)
{
	(void)payload;
	return (int64_t)time(NULL);
}

/* A PEM file into sodium memory (the key is a secret). */
static int
read_pem(char **out, const char *path)
{
	struct stele_buf b = STELE_BUF_INIT(1 << 20);
	int error;

	*out = NULL;
	if ((error = stele_fs_read(&b, path)) < 0)
		return error;
	if (!(*out = sodium_malloc(b.len + 1)))
		abort();
	memcpy(*out, b.ptr ? b.ptr : "", b.len);
	(*out)[b.len] = '\0';
	if (b.ptr)
		sodium_memzero(b.ptr, b.len);
	stele_buf_release(&b);
	return 0;
}

static int
parse_uint(unsigned *out, const char *s, unsigned max)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int
cmd_serve(int argc, char **argv)
{
	enum { O_ADM = 0x300, O_CERT, O_KEY, O_LISTEN, O_TTL, O_THREADS };
	static const struct option opts[] = {
		{ "admission", no_argument, NULL, O_ADM },
		{ "policy", required_argument, NULL, 'p' },
		{ "tls-cert", required_argument, NULL, O_CERT },
		{ "tls-key", required_argument, NULL, O_KEY },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "cache-ttl", required_argument, NULL, O_TTL },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "help", no_argument, NULL, 'h' },
		CLI_REGISTRY_CONNECT_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct cli_registry reg;
	struct stele_admission_opts ao = { 0 };
	struct stele_serve_opts so = { 0 };
	struct stele_admission *adm = NULL;
	struct stele_serve *srv = NULL;
	const char *cert = NULL, *key = NULL, *listen = "127.0.0.1:8443",
		   *colon;
	char *cert_pem = NULL, *key_pem = NULL, *addr = NULL;
	sigset_t set;
	int c, admission = 0, error, sig;

	cli_registry_init(&reg);
	ao.cache_ttl = 60;
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
		if ((error = cli_shared_opt(&reg, NULL, c, serve_usage)) < 0)
			return EXIT_USAGE;
		if (error)
			continue;
		switch (c) {
		case O_ADM: admission = 1; break;
		case 'p': ao.policy = optarg; break;
		case O_CERT: cert = optarg; break;
		case O_KEY: key = optarg; break;
		case O_LISTEN: listen = optarg; break;
		case O_TTL:
			if (parse_uint(&ao.cache_ttl, optarg, 86400) < 0)
				return cli_usage(
					serve_usage,
					"--cache-ttl takes seconds, 0 to 86400");
			break;
		case O_THREADS:
			if (parse_uint(&so.threads, optarg, 64) < 0 ||
			    !so.threads)
				return cli_usage(serve_usage,
						 "--threads takes 1 to 64");
			break;
		default: return cli_help(c, serve_usage);
		}
	}
	if (optind != argc)
		return cli_usage(serve_usage, "unexpected argument '%s'",
				 argv[optind]);
	if (!admission)
		return cli_usage(serve_usage, "say what to serve: --admission");
	if (!ao.policy || !cert || !key)
		return cli_usage(serve_usage,
				 "give --policy, --tls-cert and --tls-key");
	if (!(colon = strrchr(listen, ':')) ||
	    parse_uint(&so.port, colon + 1, 65535) < 0 || !so.port ||
	    (listen[0] == '[') != (colon > listen && colon[-1] == ']') ||
	    (listen[0] != '[' && memchr(listen, ':', (size_t)(colon - listen))))
		return cli_usage(serve_usage,
				 "--listen takes ADDR:PORT, e.g. "
				 "127.0.0.1:8443 or [::1]:8443");
	addr = listen[0] == '['
		? stele_xstrndup(listen + 1, (size_t)(colon - listen) - 2)
		: stele_xstrndup(listen, (size_t)(colon - listen));
	so.address = addr;
	ao.now = wall_clock;
	ao.registry = &reg.o;
	reg.quiet = 1;
	cli_registry_start(&reg);
	/* The server's threads inherit the mask: only this one takes them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((error = read_pem(&cert_pem, cert)) < 0 ||
	    (error = read_pem(&key_pem, key)) < 0 ||
	    (error = stele_admission_new(&adm, &ao)) < 0)
		goto out;
	so.cert_pem = cert_pem;
	so.key_pem = key_pem;
	if ((error = stele_serve_start(&srv, adm, &so)) < 0)
		goto out;
	fprintf(stderr,
		"stele: serving admission reviews on https://%s%s%s:%u/validate\n",
		strchr(addr, ':') ? "[" : "", addr,
		strchr(addr, ':') ? "]" : "", so.port);
	sigwait(&set, &sig);
	stele_serve_stop(srv);
	{
		struct stele_admission_stats st;

		stele_admission_stats(&st, adm);
		fprintf(stderr,
			"stele: %llu reviews, %llu cached verdicts used, %llu verified, "
			"%llu policy reads\n",
			st.reviews, st.hits, st.misses, st.reloads);
	}
out:
	stele_admission_free(adm);
	sodium_free(key_pem);
	sodium_free(cert_pem);
	free(addr);
	return error < 0 ? cli_fail(error) : EXIT_OK;
}
