#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_registry.h"
#include "cli/env.h"
#include "deploy/rollout.h"
#include "oci/ref.h"
#include "util/error.h"
#include "util/json.h"
#include "verify/verify.h"

static const char rollout_usage[] =
	"usage: stele rollout stage --policy P --key KEY [options] IMAGE docker://HOST/REPO\n"
	"       stele rollout promote --policy P --key KEY [options] docker://HOST/REPO\n"
	"       stele rollout rollback --policy P --key KEY [options] docker://HOST/REPO\n"
	"       stele rollout status [--policy P] [--json] docker://HOST/REPO\n"
	"\n"
	"Blue-green rollout over the tags of a repository, always by digest\n"
	"(docs/deploy.md).  stage verifies IMAGE, pushes it with its signatures\n"
	"and points the idle slot tag (the one live was not promoted from) at it;\n"
	"promote verifies the staged digest again now, runs the health check,\n"
	"then points live at it; rollback points live back at the digest live\n"
	"named before, after verifying it again (and the health check, if given).\n"
	"Every move is signed into a hash-chained journal kept in the repository;\n"
	"a journal tampered with or cut short, or a tag moved under the rollout,\n"
	"stops it.  Nothing moves when verification is denied (exit 1), the\n"
	"health check fails (exit 1) or on any error (exit 3).\n"
	"\n"
	"  -p, --policy P           the verify policy (docs/policy.md)\n"
	"  -k, --key KEY            sign the journal entry with KEY (a key of P)\n"
	"      --passphrase-file F  its passphrase (else $STELE_PASSWORD, else asked)\n" CLI_INSECURE_KEY_HELP
	"      --by NAME            who moves, for the journal (default: the login name)\n"
	"      --health-cmd CMD     promote/rollback: run CMD with sh -c; exit 0 is\n"
	"                           healthy; it gets STELE_DIGEST, STELE_SLOT, STELE_REPO\n"
	"      --health-url URL     promote/rollback: a GET of URL must answer 2xx\n"
	"      --timeout S          the health check's limit, in seconds (default 60;\n"
	"                           a check still running then is killed: unhealthy)\n"
	"      --slots A,B          the slot tags (default blue,green)\n"
	"      --live-tag TAG       the live tag (default live)\n"
	"      --journal-tag TAG    the journal's tag (default stele-journal)\n"
	"      --creds USER:PASS, --authfile FILE, --cert-dir DIR, --tls-verify=false\n"
	"                           how to reach the registry\n"
	"      --json               a JSON result on stdout\n"
	"  -q, --quiet              no progress\n"
	"  -h, --help               this help\n";

enum {
	OPT_BY = 0x400,
	OPT_HEALTH_CMD,
	OPT_HEALTH_URL,
	OPT_TIMEOUT,
	OPT_SLOTS,
	OPT_LIVE,
	OPT_JOURNAL
};

struct health {
	const char *cmd, *url;
	unsigned timeout;
};

/* The login name: $USER, else the password database's. */
static const char *
login_name(void)
{
	const char *u = cli_env()->user;
	struct passwd *pw;

	if (u && *u)
		return u;
	pw = getpwuid(getuid());
	return pw ? pw->pw_name : "unknown";
}

static int
run_health_cmd(const struct health *h, const char *digest, const char *slot,
	       const char *name)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	unsigned long waited = 0, limit = (unsigned long)h->timeout * 20;
	pid_t pid, got;
	int status;

	fflush(NULL);
	if ((pid = fork()) < 0)
		return stele_error_errno("cannot run the health check");
	if (pid == 0) {
		setpgid(0, 0);
		/* Its output is chatter: stdout stays for results. */
		dup2(2, 1);
		if (setenv("STELE_DIGEST", digest, 1) ||
		    setenv("STELE_SLOT", slot, 1) ||
		    setenv("STELE_REPO", name, 1))
			_exit(127);
		execl("/bin/sh", "sh", "-c", h->cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	for (;;) {
		got = waitpid(pid, &status, WNOHANG);
		if (got == pid)
			break;
		if (got < 0 && errno != EINTR)
			return stele_error_errno(
				"cannot wait for the health check");
		if (waited++ >= limit) {
			/* A check that does not finish is a failed check,
			 * never a pass. */
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return stele_error_setc(
				STELE_EVERIFY,
				"health check '%s' did not finish within %u s (killed): unhealthy",
				h->cmd, h->timeout);
		}
		nanosleep(&tick, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return stele_error_setc(
			STELE_EVERIFY, "health check '%s' exited %d: unhealthy",
			h->cmd, WEXITSTATUS(status));
	return stele_error_setc(
		STELE_EVERIFY,
		"health check '%s' was killed by signal %d: unhealthy", h->cmd,
		WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static int
health_check(void *payload, const char *digest, const char *slot,
	     const char *name)
{
	const struct health *h = payload;

	if (!cli_env()->quiet)
		fprintf(stderr, "health check of %s (%s)\n", digest,
			*slot ? slot : "no slot");
	if (h->url)
		return stele_rollout_health_url(h->url, h->timeout);
	return run_health_cmd(h, digest, slot, name);
}

static int
print_result(const struct stele_rollout_result *r, int as_json, int quiet)
{
	if (as_json)
		return cli_json_show(json_pack(
			"{s:s,s:s,s:s,s:s?,s:s,s:s,s:I,s:s,s:o}", "action",
			r->action, "tag", r->tag, "slot", r->slot, "from",
			*r->from ? r->from : NULL, "to", r->to, "entry",
			r->entry, "seq", (json_int_t)r->seq, "journal",
			r->journal, "verify",
			r->report ? stele_verify_report_json(r->report)
				  : json_null()));
	if (!quiet)
		fprintf(stderr,
			"%s: '%s' %s -> %s (journal entry %zu; journal %s)\n",
			r->action, r->tag, *r->from ? r->from : "nothing",
			r->to, r->seq, r->journal);
	printf("%s\n", r->to);
	return EXIT_OK;
}

static void
print_tag(const char *tag, const json_t *t)
{
	const char *slot = stele_json_str(t, "slot");
	/* A slot other than the tag itself is named. */
	int other = slot && *slot && strcmp(slot, tag);

	if (!json_is_object(t)) {
		printf("%-8s -\n", tag);
		return;
	}
	printf("%-8s %s  %s by %s at %s (entry %lld)%s%s\n", tag,
	       stele_json_str(t, "digest"), stele_json_str(t, "action"),
	       stele_json_str(t, "by"), stele_json_str(t, "time"),
	       (long long)stele_json_int(t, "seq"), other ? ", slot " : "",
	       other ? slot : "");
}

static void
print_status(const json_t *st, const struct stele_rollout_opts *o)
{
	const json_t *tags = json_object_get(st, "tags");
	const json_t *j = json_object_get(st, "journal"), *v;
	const char *names[3];
	size_t i;

	names[0] = o->live_tag;
	names[1] = o->slots[0];
	names[2] = o->slots[1];
	printf("repository %s\n", stele_json_str(st, "repository"));
	for (i = 0; i < 3; i++)
		print_tag(names[i], json_object_get(tags, names[i]));
	v = json_object_get(st, "staged");
	if (json_is_object(v))
		printf("staged   %s in %s\n", stele_json_str(v, "digest"),
		       stele_json_str(v, "slot"));
	v = json_object_get(st, "rollback");
	if (json_is_string(v))
		printf("rollback %s\n", json_string_value(v));
	printf("journal  %s: %lld entries, head %s, checked: %s\n",
	       stele_json_str(j, "tag"),
	       (long long)stele_json_int(j, "entries"),
	       json_is_string(json_object_get(j, "head"))
		       ? stele_json_str(j, "head")
		       : "none",
	       stele_json_str(j, "checked"));
}

/* "docker://HOST/REPO" -> HOST/REPO (malloc'd), or NULL. */
static char *
repo_arg(const char *s)
{
	struct stele_ref *ref = NULL;
	char *name = NULL;

	if (stele_ref_parse(&ref, s, cli_env()->store) == 0 &&
	    ref->transport == STELE_REF_DOCKER && !ref->tag && !ref->digest)
		name = stele_xstrdup(ref->name);
	stele_ref_free(ref);
	return name;
}

static int
stage(struct stele_rollout_result *res, const char *image, const char *name,
      struct stele_rollout_opts *o, struct cli_registry *reg)
{
	struct stele_verify_opts vo = { 0 };
	struct stele_image *img = NULL;
	struct stele_ref *ref = NULL;
	char *tmpdir = NULL, *owned = NULL;
	int error;

	if ((error = cli_image_open(&img, &ref, &tmpdir, image, reg)) == 0) {
		cli_verify_names(&vo, &owned, ref);
		vo.policy = o->policy;
		vo.registry = &reg->o;
		vo.dirs = &cli_env()->dirs;
		vo.progress = o->progress;
		error = stele_rollout_stage(res, img, &vo, name, o);
	}
	cli_image_close(img, ref, tmpdir);
	free(owned);
	return error;
}

int
cmd_rollout(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		CLI_KEY_OPTIONS,
		{ "by", required_argument, NULL, OPT_BY },
		{ "health-cmd", required_argument, NULL, OPT_HEALTH_CMD },
		{ "health-url", required_argument, NULL, OPT_HEALTH_URL },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "slots", required_argument, NULL, OPT_SLOTS },
		{ "live-tag", required_argument, NULL, OPT_LIVE },
		{ "journal-tag", required_argument, NULL, OPT_JOURNAL },
		{ "help", no_argument, NULL, 'h' },
		CLI_REGISTRY_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct stele_rollout_opts o = { 0 };
	struct stele_rollout_result res = { 0 };
	struct health h = { NULL, NULL, 60 };
	struct cli_registry reg;
	struct stele_seckey *k = NULL;
	struct cli_key_opts ko = { 0 };
	const char *sub;
	char *slots = NULL, *name = NULL, *end;
	unsigned long n;
	json_t *st = NULL;
	int c, error, code, nargs;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(rollout_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	sub = argv[1];
	if (strcmp(sub, "stage") && strcmp(sub, "promote") &&
	    strcmp(sub, "rollback") && strcmp(sub, "status"))
		return cli_usage(rollout_usage, "'%s' is not a rollout command",
				 sub);
	argc--;
	argv++;
	cli_registry_init(&reg);
	o.by = login_name();
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:k:qh", opts, NULL)) != -1) {
		if ((error = cli_shared_opt(&reg, NULL, c, rollout_usage)) <
		    0) {
			free(slots);
			return EXIT_USAGE;
		}
		if (error || cli_key_opt(&ko, c, optarg))
			continue;
		switch (c) {
		case 'p': o.policy = optarg; break;
		case OPT_BY: o.by = optarg; break;
		case OPT_HEALTH_CMD: h.cmd = optarg; break;
		case OPT_HEALTH_URL: h.url = optarg; break;
		case OPT_TIMEOUT:
			n = strtoul(optarg, &end, 10);
			if (!*optarg || *end || !n || n > 86400) {
				free(slots);
				return cli_usage(
					rollout_usage,
					"--timeout wants 1 to 86400 seconds, not '%s'",
					optarg);
			}
			h.timeout = (unsigned)n;
			break;
		case OPT_SLOTS:
			free(slots);
			slots = stele_xstrdup(optarg);
			break;
		case OPT_LIVE: o.live_tag = optarg; break;
		case OPT_JOURNAL: o.journal_tag = optarg; break;
		default: free(slots); return cli_help(c, rollout_usage);
		}
	}
	o.slots[0] = "blue";
	o.slots[1] = "green";
	if (!o.live_tag)
		o.live_tag = "live";
	code = EXIT_USAGE;
	nargs = !strcmp(sub, "stage") ? 2 : 1;
	if (slots) {
		char *comma = strchr(slots, ',');

		if (!comma || comma == slots || !comma[1] ||
		    strchr(comma + 1, ',')) {
			cli_usage(rollout_usage, "--slots wants two tags: A,B");
			goto out;
		}
		*comma = '\0';
		o.slots[0] = slots;
		o.slots[1] = comma + 1;
	}
	if (argc - optind != nargs) {
		cli_usage(rollout_usage, "%s needs %s", sub,
			  nargs == 2 ? "IMAGE and docker://HOST/REPO"
				     : "docker://HOST/REPO");
		goto out;
	}
	if (!(name = repo_arg(argv[argc - 1]))) {
		cli_usage(rollout_usage,
			  "'%s' is not docker://HOST/REPO (no tag, no digest)",
			  argv[argc - 1]);
		goto out;
	}
	if (h.cmd && h.url) {
		cli_usage(rollout_usage,
			  "give one of --health-cmd and --health-url");
		goto out;
	}
	if ((h.cmd || h.url) && strcmp(sub, "promote") &&
	    strcmp(sub, "rollback")) {
		cli_usage(rollout_usage,
			  "a health check is for promote and rollback");
		goto out;
	}
	if (strcmp(sub, "status") && (!o.policy || !ko.file)) {
		cli_usage(rollout_usage, "%s needs --policy and --key", sub);
		goto out;
	}
	if (h.cmd || h.url) {
		o.health = health_check;
		o.health_payload = &h;
	}
	reg.quiet = reg.quiet || reg.json;
	cli_registry_start(&reg);
	o.registry = &reg.o;
	o.progress = reg.quiet ? NULL : cli_progress;
	o.now = (int64_t)time(NULL);
	if (ko.file && strcmp(sub, "status") &&
	    (error = cli_key_load(&k, ko.file, ko.passfile, ko.flags)) < 0) {
		code = cli_fail(error);
		goto out;
	}
	o.key = k;
	if (!strcmp(sub, "status")) {
		if ((error = stele_rollout_status(&st, name, &o)) < 0) {
			code = cli_fail(error);
			goto out;
		}
		if (reg.json) {
			code = cli_json_show(st);
			st = NULL;
		} else {
			print_status(st, &o);
			code = EXIT_OK;
		}
		goto out;
	}
	if (!strcmp(sub, "stage"))
		error = stage(&res, argv[optind], name, &o, &reg);
	else if (!strcmp(sub, "promote"))
		error = stele_rollout_promote(&res, name, &o);
	else
		error = stele_rollout_rollback(&res, name, &o);
	if (error < 0) {
		if (error == STELE_EVERIFY && res.report &&
		    !res.report->allowed)
			cli_print_denials(res.report);
		code = cli_fail(error);
		goto out;
	}
	code = print_result(&res, reg.json, reg.quiet);
out:
	json_decref(st);
	stele_rollout_result_release(&res);
	stele_seckey_free(k);
	free(name);
	free(slots);
	return code;
}
