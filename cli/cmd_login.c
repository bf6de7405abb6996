#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_registry.h"
#include "cli/env.h"
#include "cli/tty.h"
#include "registry/auth.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/fs.h"

static const char login_usage[] =
	"usage: stele login [options] HOST[:PORT]\n"
	"\n"
	"Check credentials against a registry and store them in the auth file\n"
	"podman and skopeo read (mode 0600): --authfile, else $REGISTRY_AUTH_FILE,\n"
	"else $XDG_RUNTIME_DIR/containers/auth.json, else\n"
	"~/.config/containers/auth.json.  The password is asked on the terminal\n"
	"unless given.\n"
	"\n"
	"  -u, --username USER      the user (asked when missing)\n"
	"  -p, --password PASS      the password (visible to other users: prefer\n"
	"                           --password-stdin)\n"
	"      --password-stdin     read the password from standard input\n"
	"      --authfile FILE      the auth file to write\n"
	"      --cert-dir DIR       trust DIR/*.crt\n"
	"      --tls-verify=false   do not check certificates; allow plain http\n"
	"  -h, --help               this help\n";

static const char logout_usage[] =
	"usage: stele logout [--authfile FILE] (HOST[:PORT] | --all)\n"
	"\n"
	"Remove a registry's credentials from the auth file (or all of them).\n";

/* "docker://h/r", "h/r:t", "h": the host. */
static char *
host_arg(const char *s)
{
	if (!strncmp(s, "docker://", 9))
		s += 9;
	else if (!strncmp(s, "https://", 8))
		s += 8;
	else if (!strncmp(s, "http://", 7))
		s += 7;
	return stele_xstrndup(s, strcspn(s, "/"));
}

/* A copy of `s` in sodium memory. */
static int
secret_dup(struct stele_secret **out, const char *s)
{
	size_t n = strlen(s);
	int error;

	if (n > STELE_CRED_MAX)
		return stele_error_setc(
			STELE_EINVALID,
			"a user name or password is longer than %d bytes",
			STELE_CRED_MAX);
	if ((error = stele_secret_new(out, n)) == 0)
		memcpy((*out)->ptr, s, n);
	return error;
}

int
cmd_login(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "username", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'p' },
		{ "password-stdin", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		CLI_REGISTRY_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct stele_secret *user = NULL, *pass = NULL, *both = NULL;
	struct stele_registry *r = NULL;
	struct stele_creds *cr = NULL;
	struct cli_registry c;
	const char *u = NULL, *p = NULL;
	const char *path;
	char *host = NULL;
	int ch, rc, from_stdin = 0, error = 0, code;

	cli_registry_init(&c);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "u:p:qh", opts, NULL)) != -1) {
		if ((rc = cli_shared_opt(&c, NULL, ch, login_usage)) < 0)
			return EXIT_USAGE;
		if (rc)
			continue;
		switch (ch) {
		case 'u': u = optarg; break;
		case 'p': p = optarg; break;
		case 'P': from_stdin = 1; break;
		default: return cli_help(ch, login_usage);
		}
	}
	if (optind != argc - 1)
		return cli_usage(login_usage, "need exactly one HOST");
	if (p && from_stdin)
		return cli_usage(
			login_usage,
			"give --password or --password-stdin, not both");
	if (c.o.creds)
		return cli_usage(login_usage,
				 "login takes -u and a password, not --creds");
	host = host_arg(argv[optind]);
	path = c.o.authfile ? c.o.authfile : cli_env()->authfile;
	cli_registry_start(&c);
	if (u)
		error = secret_dup(&user, u);
	else
		error = cli_tty_ask(
			&user, "Username: ",
			"no terminal to ask for the user name: use -u and --password-stdin",
			STELE_CRED_MAX, CLI_TTY_ECHO);
	if (!error) {
		if (p)
			error = secret_dup(&pass, p);
		else if (from_stdin)
			error = cli_secret_read_fd(&pass, 0, "the password",
						   STELE_CRED_MAX);
		else
			error = cli_tty_ask(
				&pass, "Password: ",
				"no terminal to ask for the password: use -u and --password-stdin",
				STELE_CRED_MAX, 0);
	}
	if (!error && (!user->len || memchr(user->ptr, ':', user->len)))
		error = stele_error_setc(STELE_EINVALID,
					 "a user name is needed, without ':'");
	/* "USER:PASS" and its NUL, in sodium memory too. */
	if (!error &&
	    (error = stele_secret_new(&both, user->len + pass->len + 2)) == 0) {
		memcpy(both->ptr, user->ptr, user->len);
		both->ptr[user->len] = ':';
		memcpy(both->ptr + user->len + 1, pass->ptr, pass->len);
	}
	if (error < 0)
		goto fail;
	c.o.creds = (const char *)both->ptr;
	if ((error = stele_registry_open(&r, host, 0, &c.o)) < 0 ||
	    (error = stele_registry_check_auth(r)) < 0 ||
	    (error = stele_creds_parse(&cr, c.o.creds)) < 0 ||
	    (error = stele_authfile_store(path, host, cr)) < 0)
		goto fail;
	fprintf(stderr, "Login Succeeded! (credentials for %s stored in %s)\n",
		host, path);
	code = EXIT_OK;
	goto out;
fail:
	code = cli_fail(error);
out:
	stele_secret_free(user);
	stele_secret_free(pass);
	stele_secret_free(both);
	stele_creds_free(cr);
	stele_registry_free(r);
	free(host);
	return code;
}

int
cmd_logout(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "authfile", required_argument, NULL, 'a' },
		{ "all", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *authfile = NULL;
	char *host = NULL;
	int ch, all = 0, error;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'a': authfile = optarg; break;
		case 'A': all = 1; break;
		default: return cli_help(ch, logout_usage);
		}
	}
	if (all ? optind != argc : optind != argc - 1)
		return cli_usage(logout_usage,
				 all ? "--all takes no HOST"
				     : "need exactly one HOST (or --all)");
	if (!all)
		host = host_arg(argv[optind]);
	error = stele_authfile_remove(authfile ? authfile : cli_env()->authfile,
				      host);
	if (error < 0) {
		free(host);
		return cli_fail(error);
	}
	fprintf(stderr,
		all ? "Removed login credentials for all registries\n"
		    : "Removed login credentials for %s\n",
		host ? host : "");
	free(host);
	return EXIT_OK;
}
