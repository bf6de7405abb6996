#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli/cli.h"
#include "cli/cli_registry.h"
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

/* One line from `fd` into `out`, without its line ending. */
static int
read_line(struct stele_buf *out, int fd, const char *what)
{
	char ch;
	ssize_t n;

	while ((n = read(fd, &ch, 1)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return stele_error_errno("cannot read %s", what);
		}
		if (ch == '\n')
			break;
		if (stele_buf_putc(out, ch) < 0)
			return stele_error_setc(STELE_EINVALID, "%s is too long", what);
	}
	if (out->len && out->ptr[out->len - 1] == '\r')
		out->ptr[--out->len] = '\0';
	return 0;
}

static int
ask_tty(struct stele_buf *out, const char *prompt, int echo)
{
	struct termios old, raw;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC), error, restore = 0;

	if (fd < 0)
		return stele_error_set("no terminal to ask for the %s: use -u and --password-stdin",
				       echo ? "user name" : "password");
	if (write(fd, prompt, strlen(prompt)) < 0) {
		close(fd);
		return stele_error_errno("cannot write to the terminal");
	}
	if (!echo && tcgetattr(fd, &old) == 0) {
		raw = old;
		raw.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(fd, TCSAFLUSH, &raw) == 0;
	}
	error = read_line(out, fd, echo ? "the user name" : "the password");
	if (restore) {
		tcsetattr(fd, TCSAFLUSH, &old);
		if (write(fd, "\n", 1) < 0)
			error = error ? error : stele_error_errno("cannot write to the terminal");
	}
	close(fd);
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
	struct stele_buf user = STELE_BUF_INIT(STELE_CRED_MAX);
	struct stele_buf pass = STELE_BUF_INIT(STELE_CRED_MAX);
	struct stele_buf both = STELE_BUF_INIT(2 * STELE_CRED_MAX + 2);
	struct stele_registry *r = NULL;
	struct stele_creds *cr = NULL;
	struct cli_registry c;
	const char *u = NULL, *p = NULL;
	char *host = NULL, *path = NULL;
	int ch, rc, from_stdin = 0, error = 0, code;

	cli_registry_init(&c);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "u:p:qh", opts, NULL)) != -1) {
		if ((rc = cli_registry_opt(&c, ch, optarg)) != 0) {
			if (rc < 0)
				return cli_usage(login_usage, "%s", stele_error_last());
			continue;
		}
		switch (ch) {
		case 'u': u = optarg; break;
		case 'p': p = optarg; break;
		case 'P': from_stdin = 1; break;
		case 'h': fputs(login_usage, stdout); return EXIT_OK;
		default: fputs(login_usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return cli_usage(login_usage, "need exactly one HOST");
	if (p && from_stdin)
		return cli_usage(login_usage, "give --password or --password-stdin, not both");
	if (c.o.creds)
		return cli_usage(login_usage, "login takes -u and a password, not --creds");
	host = host_arg(argv[optind]);
	cli_registry_start(&c);
	if (u)
		error = stele_buf_puts(&user, u);
	else
		error = ask_tty(&user, "Username: ", 1);
	if (!error) {
		if (p)
			error = stele_buf_puts(&pass, p);
		else if (from_stdin)
			error = read_line(&pass, 0, "the password");
		else
			error = ask_tty(&pass, "Password: ", 0);
	}
	if (!error && (!user.len || strchr(stele_buf_cstr(&user), ':')))
		error = stele_error_setc(STELE_EINVALID,
			"a user name is needed, without ':'");
	if (!error)
		error = stele_buf_printf(&both, "%s:%s", stele_buf_cstr(&user),
					 stele_buf_cstr(&pass));
	if (error < 0)
		goto fail;
	c.o.creds = both.ptr;
	if ((error = stele_registry_open(&r, host, 0, &c.o)) < 0 ||
	    (error = stele_registry_check_auth(r)) < 0 ||
	    (error = stele_creds_parse(&cr, both.ptr)) < 0 ||
	    (error = stele_authfile_store(c.o.authfile, host, cr)) < 0)
		goto fail;
	path = stele_authfile_path(c.o.authfile);
	fprintf(stderr, "Login Succeeded! (credentials for %s stored in %s)\n",
		host, path);
	code = EXIT_OK;
	goto out;
fail:
	code = cli_fail(error);
out:
	if (user.ptr)
		OPENSSL_cleanse(user.ptr, user.len);
	if (pass.ptr)
		OPENSSL_cleanse(pass.ptr, pass.len);
	if (both.ptr)
		OPENSSL_cleanse(both.ptr, both.len);
	stele_buf_release(&user);
	stele_buf_release(&pass);
	stele_buf_release(&both);
	stele_creds_free(cr);
	stele_registry_free(r);
	free(path);
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
		case 'h': fputs(logout_usage, stdout); return EXIT_OK;
		default: fputs(logout_usage, stderr); return EXIT_USAGE;
		}
	}
	if (all ? optind != argc : optind != argc - 1)
		return cli_usage(logout_usage, all ? "--all takes no HOST" :
				 "need exactly one HOST (or --all)");
	if (!all)
		host = host_arg(argv[optind]);
	error = stele_authfile_remove(authfile, host);
	if (error < 0) {
		free(host);
		return cli_fail(error);
	}
	fprintf(stderr, all ? "Removed login credentials for all registries\n" :
		"Removed login credentials for %s\n", host ? host : "");
	free(host);
	return EXIT_OK;
}
