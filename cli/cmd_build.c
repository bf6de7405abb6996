#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/build.h"
#include "cli/cli.h"
#include "cli/cli_registry.h"
#include "cli/env.h"
#include "cli/rootless.h"
#include "keys/key.h"
#include "keys/keyfile.h"
#include "oci/ref.h"
#include "sbom/sbom.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "verify/regcache.h"

static const char build_usage[] =
	"usage: stele build [options] CONTEXT\n"
	"       stele build --check [-f RECIPE] [--target STAGE] [CONTEXT]\n"
	"\n"
	"Build an image from a recipe (Dockerfile syntax) and print its manifest\n"
	"digest.  CONTEXT is a directory, git+file:///abs/path#REF,\n"
	"git+https://HOST/REPO#REF or PATH#REF (a local git repository at REF,\n"
	"read from its object database, never checked out).\n"
	"\n"
	"  -f, --file RECIPE        recipe (default: Dockerfile in the context)\n"
	"  -t, --tag NAME[:TAG]     name in the local store (default tag: latest)\n"
	"      --build-arg K=V      set a build argument (repeatable)\n"
	"      --target STAGE       build up to this stage\n"
	"      --secret id=ID,src=FILE  a secret for RUN --mount=type=secret,id=ID\n"
	"                           (repeatable; never in a layer, key or provenance)\n"
	"  -o, --output oci:DIR[:TAG]  write into an OCI image layout instead\n"
	"      --compression gzip|zstd|none  layer compression (default gzip, by\n"
	"                        libdeflate; gzip-zlib: the bytes of stele before\n"
	"                        libdeflate, docs/reproducibility.md)\n"
	"      --runtime PATH       OCI runtime for RUN steps (default runc)\n"
	"      --no-cache           do not reuse cached steps (the result is the same)\n"
	"      --lock FILE          record the resolved bases and git commits in FILE\n"
	"      --locked             use only what FILE records (with --lock)\n"
	"      --creds USER:PASS, --authfile FILE, --cert-dir DIR, --tls-verify=false\n"
	"                           for bases pulled from a registry (FROM HOST/REPO@sha256:…,\n"
	"                           or FROM debian:12 when the store lacks it: docker.io)\n"
	"      --registry-mirror HOST=MIRROR  pull bases on HOST (docker.io for\n"
	"                           FROM debian:12) from MIRROR (HOST[:PORT]) instead\n"
	"                           (repeatable; also $STELE_REGISTRY_MIRRORS, the same\n"
	"                           pairs separated by commas)\n"
	"      --cache-from docker://HOST/REPO:TAG  on a miss of the build cache, use\n"
	"                           the registry cache there (docs/cache.md); only\n"
	"                           when signed by a --cache-key, else it is\n"
	"                           refused with a warning and the steps are built\n"
	"                           (repeatable: asked in order)\n"
	"      --cache-key PUB      a public key trusted to sign registry caches\n"
	"                           (repeatable)\n"
	"      --cache-to docker://HOST/REPO:TAG  then put this build's cache\n"
	"                           entries and layers there, signed\n"
	"      --cache-sign-key KEY  the key signing --cache-to (default: --sign-key)\n"
	"      --sign-key KEY       then attest the provenance with KEY (stele attest)\n"
	"      --sbom[=FORMAT]      with --sign-key, attest the image's SBOM too\n"
	"                           (spdx, the default, or cyclonedx; stele attest --sbom)\n" CLI_INSECURE_KEY_HELP
	"      --max-size SIZE      refuse a base layer, COPY --from image layer or\n"
	"                           ADD'ed archive expanding to, or a layer holding,\n"
	"                           more file content (default 64G; K, M, G, T)\n"
	"      --max-entries N      the same for entries (default 1000000)\n"
	"      --check              parse and check the recipe only: resolve, fetch\n"
	"                           and build nothing; exit 0 when it is valid\n"
	"  -q, --quiet              no progress on stderr\n"
	"      --json               print {\"image\", \"digest\", \"provenance\",\n"
	"                           \"cache\"} as JSON (with --sign-key, and the\n"
	"                           attestations' key ids; with --cache-from and\n"
	"                           --cache-to, \"cacheFrom\" and \"cacheTo\")\n"
	"  -h, --help               this help\n"
	"\n"
	"The build epoch is SOURCE_DATE_EPOCH, else the source commit's time,\n"
	"else 0; the same inputs give the same digest on any machine.\n";

/*
 * --secret id=ID,src=FILE (also source=, and BuildKit's type=file); the
 * strings point into argv.
 */
static int
parse_secret(struct stele_build_secret **v, size_t *n, char *arg)
{
	struct stele_build_secret s = { NULL, NULL };
	char *f, *save = NULL;

	for (f = strtok_r(arg, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		if (!strncmp(f, "id=", 3))
			s.id = f + 3;
		else if (!strncmp(f, "src=", 4))
			s.path = f + 4;
		else if (!strncmp(f, "source=", 7))
			s.path = f + 7;
		else if (strcmp(f, "type=file"))
			return -1;
	}
	if (!s.id || !*s.id || !s.path || !*s.path)
		return -1;
	*v = stele_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = s;
	return 0;
}

static void
free_mirrors(struct stele_build_mirror *m, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free((char *)m[i].host);
		free((char *)m[i].mirror);
	}
	free(m);
}

/*
 * HOST=MIRROR, each a registry host with an optional port (no scheme, no
 * path), appended to *v (copies).  -1 when it is not that.
 */
static int
parse_mirror(struct stele_build_mirror **v, size_t *n, const char *s,
	     size_t len)
{
	const char *eq = memchr(s, '=', len), *p;

	if (!eq || eq == s || eq + 1 == s + len)
		return -1;
	for (p = s; p < s + len; p++)
		if (p != eq &&
		    (*p == '/' || *p == '=' || *p == '@' || *p == ' ' ||
		     *p == '\t'))
			return -1;
	*v = stele_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].host = stele_xstrndup(s, (size_t)(eq - s));
	(*v)[*n].mirror = stele_xstrndup(eq + 1, (size_t)(s + len - eq - 1));
	(*n)++;
	return 0;
}

/* $STELE_REGISTRY_MIRRORS: HOST=MIRROR pairs separated by commas. */
static int
env_mirrors(struct stele_build_mirror **v, size_t *n, const char *s)
{
	size_t len;

	for (; s && *s; s += len + (s[len] == ',')) {
		len = strcspn(s, ",");
		if (len && parse_mirror(v, n, s, len) < 0)
			return stele_error_setc(
				STELE_EINVALID,
				"STELE_REGISTRY_"
				"MIRRORS: '%.*s' is not HOST=MIRROR (e.g. "
				"docker.io=127.0.0.1:5000)",
				(int)len, s);
	}
	return 0;
}

/* --check: nothing but the recipe; exit 0 when it is valid. */
static int
check_recipe(struct stele_build_opts *o, int nargs, char **args, int quiet)
{
	size_t nstages;
	int error;

	if (nargs > 1 || (!nargs && !o->recipe))
		return cli_usage(build_usage,
				 "--check wants -f RECIPE or a CONTEXT");
	o->context = nargs ? args[0] : ".";
	o->progress = quiet ? NULL : cli_progress;
	if ((error = stele_build_check(&nstages, o)) < 0)
		return cli_fail(error);
	if (!quiet && o->recipe)
		printf("%s: ok (%zu stage%s)\n", o->recipe, nstages,
		       nstages == 1 ? "" : "s");
	else if (!quiet)
		printf("%s/Dockerfile: ok (%zu stage%s)\n", o->context, nstages,
		       nstages == 1 ? "" : "s");
	return EXIT_OK;
}

/* One --cache-from: its reference and what became of it. */
struct cache_from {
	const char *arg;
	struct stele_ref *ref;
	struct stele_regcache *rc; /* NULL: refused */
	char *refused; /* why it was not used */
};

/* The registry caches of a build: what --cache-from and --cache-to did. */
struct build_caches {
	struct cache_from *from;
	size_t nfrom;
	const struct stele_cache_source **sources; /* the caches used */
	size_t nsources;
	const char *to_arg;
	struct stele_ref *to;
	struct stele_pubkey **keys;
	size_t nkeys;
	struct stele_seckey *sign; /* --cache-sign-key (owned) */
	struct stele_regcache_report exported;
};

static void
build_caches_release(struct build_caches *c)
{
	size_t i;

	for (i = 0; i < c->nfrom; i++) {
		stele_regcache_free(c->from[i].rc);
		stele_ref_free(c->from[i].ref);
		free(c->from[i].refused);
	}
	free(c->from);
	free(c->sources);
	for (i = 0; i < c->nkeys; i++)
		free(c->keys[i]);
	free(c->keys);
	stele_seckey_free(c->sign);
	stele_ref_free(c->to);
	memset(c, 0, sizeof(*c));
}

/* --json: what was built (the attestations, when signed, were made and
 * reported on stderr before). */
static int
build_json(const struct stele_ref *out, const struct stele_build_result *res,
	   const struct stele_seckey *key, int sbom,
	   const struct build_caches *c)
{
	char *name = stele_ref_string(out);
	json_t *j =
		json_pack("{s:s,s:s,s:s,s:{s:I,s:I,s:I}}", "image", name,
			  "digest", res->digest, "provenance", res->provenance,
			  "cache", "hits", (json_int_t)res->cache_hits,
			  "registryHits", (json_int_t)res->cache_from_hits,
			  "built", (json_int_t)res->built);
	const struct stele_regcache_report *r;
	json_t *from;
	size_t i;
	int code;

	if (j && key)
		json_object_set_new(j, "attestedBy",
				    json_pack("{s:s,s:s?}", "provenance",
					      key->pub.id, "sbom",
					      sbom >= 0 ? key->pub.id : NULL));
	if (j && c->nfrom) {
		from = json_array();
		for (i = 0; i < c->nfrom; i++) {
			r = c->from[i].rc ? stele_regcache_report(c->from[i].rc)
					  : NULL;
			json_array_append_new(
				from,
				r ? json_pack("{s:s,s:b,s:s,s:I,s:I,s:I,s:I}",
					      "ref", c->from[i].arg, "used", 1,
					      "digest", r->digest, "entries",
					      (json_int_t)r->entries, "hits",
					      (json_int_t)r->hits,
					      "blobsFetched",
					      (json_int_t)r->blobs_sent,
					      "bytesFetched",
					      (json_int_t)r->bytes_sent)
				  : json_pack("{s:s,s:b,s:s?}", "ref",
					      c->from[i].arg, "used", 0,
					      "refused", c->from[i].refused));
		}
		json_object_set_new(j, "cacheFrom", from);
	}
	if (j && c->to_arg)
		json_object_set_new(
			j, "cacheTo",
			json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "ref",
				  c->to_arg, "digest", c->exported.digest,
				  "entries", (json_int_t)c->exported.entries,
				  "layers", (json_int_t)c->exported.layers,
				  "bytes", (json_int_t)c->exported.bytes,
				  "blobsUploaded",
				  (json_int_t)c->exported.blobs_sent,
				  "bytesUploaded",
				  (json_int_t)c->exported.bytes_sent));
	code = cli_json_print(j);
	free(name);
	return code;
}

/* A --cache-from or --cache-to value: docker://HOST/REPO:TAG. */
static int
cache_ref(struct stele_ref **out, const char *opt, const char *arg)
{
	if (stele_ref_parse(out, arg, NULL) < 0 ||
	    (*out)->transport != STELE_REF_DOCKER || !(*out)->tag ||
	    (*out)->digest) {
		stele_ref_free(*out);
		*out = NULL;
		return cli_usage(build_usage,
				 "%s wants docker://HOST/REPO:TAG, "
				 "not '%s'",
				 opt, arg);
	}
	return EXIT_OK;
}

/*
 * Before the build: the keys, and each registry cache read and checked.
 * A cache that cannot be used is not a failed build: it is refused with a
 * warning, and every step it would have given is built (or comes from
 * another --cache-from).
 */
static int
caches_open(struct build_caches *c, const char *keyfile, unsigned keyflags,
	    const struct stele_registry_opts *ro, int no_cache)
{
	struct cache_from *f;
	size_t i;
	int error;

	if (c->to && keyfile &&
	    (error = cli_key_load(&c->sign, keyfile, NULL, keyflags)) < 0)
		return error;
	if (no_cache)
		return 0;
	c->sources = stele_xcalloc(c->nfrom + 1, sizeof(*c->sources));
	for (i = 0; i < c->nfrom; i++) {
		f = &c->from[i];
		if (stele_regcache_open(
			    &f->rc, f->ref,
			    (const struct stele_pubkey *const *)c->keys,
			    c->nkeys, ro) < 0) {
			f->refused = stele_xstrdup(stele_error_last());
			fprintf(stderr,
				"stele: warning: %s; building without it\n",
				f->refused);
			continue;
		}
		c->sources[c->nsources++] = stele_regcache_source(f->rc);
	}
	return 0;
}

enum { CLI_CACHE_FROM = 0x400, CLI_CACHE_TO, CLI_CACHE_KEY, CLI_CACHE_SIGN };

int
cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "tag", required_argument, NULL, 't' },
		{ "build-arg", required_argument, NULL, 'a' },
		{ "target", required_argument, NULL, 'T' },
		{ "output", required_argument, NULL, 'o' },
		{ "compression", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'J' },
		{ "runtime", required_argument, NULL, 'R' },
		/* Hidden, for tests: --sandbox=copy runs RUN steps on a
		 * copy of the stage where overlayfs would work. */
		{ "sandbox", required_argument, NULL, 'X' },
		{ "no-cache", no_argument, NULL, 'N' },
		{ "lock", required_argument, NULL, 'L' },
		CLI_REGISTRY_CONNECT_OPTIONS,
		{ "locked", no_argument, NULL, 'l' },
		{ "sign-key", required_argument, NULL, 'K' },
		{ "sbom", optional_argument, NULL, 'B' },
		{ "check", no_argument, NULL, 'C' },
		{ "secret", required_argument, NULL, 'S' },
		{ "cache-from", required_argument, NULL, CLI_CACHE_FROM },
		{ "cache-to", required_argument, NULL, CLI_CACHE_TO },
		{ "cache-key", required_argument, NULL, CLI_CACHE_KEY },
		{ "cache-sign-key", required_argument, NULL, CLI_CACHE_SIGN },
		{ "registry-mirror", required_argument, NULL, 'M' },
		CLI_INSECURE_KEY_OPTION,
		CLI_LIMIT_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct cli_registry reg;
	struct stele_build_opts o = { 0 };
	struct stele_build_secret *secrets = NULL;
	struct stele_build_mirror *mirrors = NULL;
	struct stele_build_result res;
	struct build_caches caches = { 0 };
	struct stele_pubkey *pk;
	const char *cache_sign = NULL;
	json_t *record = NULL;
	struct stele_ref *out = NULL;
	const char *tag = NULL, *output = NULL, *signkey = NULL;
	struct stele_seckey *key = NULL;
	char **args = NULL;
	char *outspec = NULL;
	unsigned int keyflags = 0;
	size_t i;
	int c, comp = STELE_COMPRESS_GZIP, quiet = 0, check = 0, error, code;
	int sbom = -1, as_json = 0;

	o.compression = STELE_COMPRESS_GZIP;
	cli_registry_init(&reg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:t:o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': o.recipe = optarg; break;
		case 't': tag = optarg; break;
		case 'a':
			/* --build-arg K: K's value from the environment. */
			if (!strchr(optarg, '=') && !cli_env_value(optarg)) {
				code = cli_usage(
					build_usage,
					"--build-arg '%s': want KEY=VALUE",
					optarg);
				goto out;
			}
			stele_strv_take(
				&args, &o.nbuild_args,
				strchr(optarg, '=')
					? stele_xstrdup(optarg)
					: stele_xasprintf(
						  "%s=%s", optarg,
						  cli_env_value(optarg)));
			break;
		case 'T': o.target = optarg; break;
		case 'o': output = optarg; break;
		case 'c':
			if ((comp = cli_compression(optarg)) < 0) {
				code = cli_usage(build_usage,
						 "unknown compression '%s'",
						 optarg);
				goto out;
			}
			break;
		case 'q': quiet = 1; break;
		case 'J': as_json = 1; break;
		case 'K': signkey = optarg; break;
		case 'B':
			if ((sbom = optarg ? stele_sbom_format_parse(optarg)
					   : STELE_SBOM_SPDX) < 0) {
				code = cli_usage(
					build_usage,
					"unknown --sbom format '%s' (spdx or cyclonedx)",
					optarg);
				goto out;
			}
			break;
		case CLI_OPT_INSECURE_KEY:
			keyflags |= STELE_KEYFILE_ALLOW_OPEN_PERMS;
			break;
		case 'R': o.runtime = optarg; break;
		case 'X':
			if (strcmp(optarg, "copy") && strcmp(optarg, "auto")) {
				code = cli_usage(
					build_usage,
					"--sandbox wants copy or auto, not '%s'",
					optarg);
				goto out;
			}
			o.sandbox_copy = !strcmp(optarg, "copy");
			break;
		case 'N': o.no_cache = 1; break;
		case 'L': o.lock = optarg; break;
		case 'l': o.locked = 1; break;
		case 'C': check = 1; break;
		case 'M':
			if (parse_mirror(&mirrors, &o.nmirrors, optarg,
					 strlen(optarg)) < 0) {
				code = cli_usage(
					build_usage,
					"--registry-mirror '%s': "
					"want HOST=MIRROR (e.g. docker.io="
					"127.0.0.1:5000)",
					optarg);
				goto out;
			}
			break;
		case 'S':
			if (parse_secret(&secrets, &o.nsecrets, optarg) < 0) {
				code = cli_usage(build_usage,
						 "--secret '%s': want "
						 "id=ID,src=FILE",
						 optarg);
				goto out;
			}
			break;
		CLI_REGISTRY_CONNECT_CASES:
		CLI_LIMIT_CASES:
			/* Not 'q': build's own (quiet progress). */
			if (cli_shared_opt(&reg, &o.limits, c, build_usage) <
			    0) {
				code = EXIT_USAGE;
				goto out;
			}
			break;
		case CLI_CACHE_FROM:
			caches.from = stele_xrealloc(
				caches.from,
				(caches.nfrom + 1) * sizeof(*caches.from));
			memset(&caches.from[caches.nfrom], 0,
			       sizeof(*caches.from));
			caches.from[caches.nfrom++].arg = optarg;
			break;
		case CLI_CACHE_TO: caches.to_arg = optarg; break;
		case CLI_CACHE_KEY:
			if ((error = stele_pubkey_load(&pk, optarg)) < 0) {
				code = cli_fail(error);
				goto out;
			}
			caches.keys = stele_xrealloc(
				caches.keys,
				(caches.nkeys + 1) * sizeof(*caches.keys));
			caches.keys[caches.nkeys++] = pk;
			break;
		case CLI_CACHE_SIGN: cache_sign = optarg; break;
		default: code = cli_help(c, build_usage); goto out;
		}
	}
	if (!cache_sign)
		cache_sign = signkey;
	code = EXIT_OK;
	if (caches.nfrom && !caches.nkeys)
		code = cli_usage(build_usage,
				 "--cache-from needs a --cache-key "
				 "PUB to trust its signature");
	else if (caches.nkeys && !caches.nfrom)
		code = cli_usage(build_usage,
				 "--cache-key applies to --cache-from");
	else if (caches.to_arg && !cache_sign)
		code = cli_usage(build_usage,
				 "--cache-to needs --cache-sign-key "
				 "KEY (or --sign-key) to sign the cache");
	for (i = 0; code == EXIT_OK && i < caches.nfrom; i++)
		code = cache_ref(&caches.from[i].ref, "--cache-from",
				 caches.from[i].arg);
	if (code == EXIT_OK && caches.to_arg)
		code = cache_ref(&caches.to, "--cache-to", caches.to_arg);
	if (code != EXIT_OK)
		goto out;
	/* The command line's mirrors first: the first for a host wins. */
	if (env_mirrors(&mirrors, &o.nmirrors, cli_env()->registry_mirrors) <
	    0) {
		code = cli_usage(build_usage, "%s", stele_error_last());
		goto out;
	}
	o.build_args = (const char *const *)args;
	o.secrets = secrets;
	o.mirrors = mirrors;
	o.compression = (enum stele_compression)comp;
	if (sbom >= 0 && !signkey) {
		code = cli_usage(build_usage, "--sbom needs --sign-key");
		goto out;
	}
	if (check) {
		code = check_recipe(&o, argc - optind, argv + optind, quiet);
		goto out;
	}
	if (optind != argc - 1) {
		code = cli_usage(build_usage, "need exactly one CONTEXT");
		goto out;
	}
	o.context = argv[optind];
	if ((error = cli_env_epoch(&o.has_epoch, &o.epoch, cli_env())) < 0) {
		code = cli_fail(error);
		goto out;
	}
	if (o.locked && !o.lock) {
		code = cli_usage(build_usage, "--locked needs --lock FILE");
		goto out;
	}
	if (output) {
		if (strncmp(output, "oci:", 4)) {
			code = cli_usage(build_usage,
					 "--output must be oci:DIR[:TAG]");
			goto out;
		}
		/* Without a tag: -t's tag, else latest. */
		if (!strchr(strrchr(output, '/') ? strrchr(output, '/')
						 : output + 4,
			    ':')) {
			const char *t = tag && strrchr(tag, ':')
				? strrchr(tag, ':') + 1
				: "latest";

			outspec = stele_xasprintf("%s:%s", output, t);
		} else {
			outspec = stele_xstrdup(output);
		}
	} else {
		outspec = stele_xstrdup(tag ? tag : "");
		if (!tag) {
			code = cli_usage(
				build_usage,
				"give -t NAME[:TAG] or -o oci:DIR[:TAG]");
			goto out;
		}
	}
	if ((error = stele_ref_parse(&out, outspec, cli_env()->store)) < 0 ||
	    out->transport == STELE_REF_DOCKER) {
		if (!error)
			stele_error_set(
				"cannot build straight into a registry; build, then push");
		code = cli_fail(error ? error : STELE_EINVALID);
		goto out;
	}
	if (tag && output) {
		/* The name for the provenance subject. */
		struct stele_ref *named = NULL;

		if (stele_ref_parse(&named, tag, cli_env()->store) == 0) {
			free(out->name);
			out->name = named->name;
			named->name = NULL;
		}
		stele_ref_free(named);
	}
	o.output = out;
	o.version = cli_version;
	o.dirs = &cli_env()->dirs;
	/* Not cli_registry_start(): Ctrl-C must still stop a build. */
	reg.quiet = quiet;
	if (reg.o.insecure)
		fprintf(stderr,
			"stele: warning: --tls-verify=false: certificates are not checked and plain http is allowed\n");
	o.registry = &reg.o;
	o.progress = quiet ? NULL : cli_progress;
	/* Not root: the build runs again in a user namespace (rootless RUN). */
	error = cli_rootless_reexec(argc, argv) < 0
		? stele_error_set("cannot run the build in a user namespace")
		: 0;
	/* The key's passphrase is asked before the build, not after it. */
	if (error == 0 && signkey)
		error = cli_key_load(&key, signkey, NULL, keyflags);
	if (error == 0)
		error = caches_open(&caches,
				    cache_sign == signkey ? NULL : cache_sign,
				    keyflags, &reg.o, o.no_cache);
	o.cache_from = caches.sources;
	o.ncache_from = caches.nsources;
	if (caches.to)
		o.cache_record = record = json_object();
	if (error == 0)
		error = stele_build(&res, &o);
	if (error < 0) {
		code = cli_fail(error);
	} else {
		if (!as_json)
			printf("%s\n", res.digest);
		code = key ? cli_attest_built(key, out, res.digest, sbom)
			   : EXIT_OK;
		if (code == EXIT_OK && caches.to &&
		    (error = stele_regcache_export(
			     &caches.exported, record, o.dirs->cache, out->dir,
			     caches.to, caches.sign ? caches.sign : key,
			     &reg.o)) < 0)
			code = cli_fail(error);
		else if (code == EXIT_OK && caches.to && !quiet)
			fprintf(stderr,
				"cache: %zu entries, %zu layers to %s "
				"(%s, %zu uploaded)\n",
				caches.exported.entries, caches.exported.layers,
				caches.to_arg, caches.exported.digest,
				caches.exported.blobs_sent);
		if (code == EXIT_OK && as_json)
			code = build_json(out, &res, key, sbom, &caches);
	}
out:
	json_decref(record);
	build_caches_release(&caches);
	stele_seckey_free(key);
	stele_ref_free(out);
	free(outspec);
	stele_strv_free(args, o.nbuild_args);
	free(secrets);
	free_mirrors(mirrors, o.nmirrors);
	return code;
}
