#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/env.h"
#include "cli/tty.h"
#include "util/error.h"

/*
 * Read one line (without its ending) from fd into a fresh secret.  Reads a
 * byte at a time so that nothing past the line lands in a stdio buffer.
 */
int
cli_secret_read_fd(struct stele_secret **out, int fd, const char *what,
		   size_t max)
{
	struct stele_secret *tmp = NULL;
	size_t len = 0;
	int error;

	*out = NULL;
	if ((error = stele_secret_new(&tmp, max + 1)) < 0)
		return error;
	for (;;) {
		ssize_t n = read(fd, tmp->ptr + len, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = stele_error_errno("cannot read %s", what);
			goto out;
		}
		if (n == 0 || tmp->ptr[len] == '\n')
			break;
		if (++len > max) {
			error = stele_error_setc(STELE_EINVALID,
						 "%s is longer than %zu bytes",
						 what, max);
			goto out;
		}
	}
	if (len && tmp->ptr[len - 1] == '\r')
		len--;
	if ((error = stele_secret_new(out, len)) < 0)
		goto out;
	memcpy((*out)->ptr, tmp->ptr, len);
out:
	stele_secret_free(tmp);
	return error;
}

static int
ask(struct stele_secret **out, int fd, const char *prompt, const char *what,
    size_t max, unsigned int flags)
{
	struct termios old, noecho;
	int error, restore = 0;

	/* Echo off before the prompt, so that nothing typed after it shows. */
	if (!(flags & CLI_TTY_ECHO) && tcgetattr(fd, &old) == 0) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		noecho.c_lflag |= ECHONL;
		restore = tcsetattr(fd, TCSAFLUSH, &noecho) == 0;
	}
	if (write(fd, prompt, strlen(prompt)) < 0)
		error = stele_error_errno("cannot write to the terminal");
	else
		error = cli_secret_read_fd(out, fd, what, max);
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	return error;
}

int
cli_tty_ask(struct stele_secret **out, const char *prompt, const char *hint,
	    size_t max, unsigned int flags)
{
	struct stele_secret *again = NULL;
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC), error;
	const char *what = "what was typed on the terminal";
	sigset_t block, saved;

	*out = NULL;
	if (fd < 0)
		return stele_error_setc(STELE_EINVALID, "%s", hint);
	/* Keep ^C or ^Z from leaving the terminal without echo. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTSTP);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, &saved);
	if ((error = ask(out, fd, prompt, what, max, flags)) < 0)
		goto out;
	if (flags & CLI_TTY_CONFIRM) {
		if ((error = ask(&again, fd, "Passphrase again: ", what, max,
				 flags)) < 0)
			goto out;
		if (again->len != (*out)->len ||
		    sodium_memcmp(again->ptr, (*out)->ptr, again->len) != 0)
			error = stele_error_setc(
				STELE_EINVALID, "the passphrases do not match");
	}
out:
	sigprocmask(SIG_SETMASK, &saved, NULL);
	if (error < 0) {
		stele_secret_free(*out);
		*out = NULL;
	}
	stele_secret_free(again);
	close(fd);
	return error;
}

int
cli_passphrase_from(struct stele_secret **out, const char *file,
		    const char *env, const char *prompt, unsigned int flags)
{
	char what[512];
	size_t n;
	int fd, error;

	*out = NULL;
	if (file) {
		if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
			return stele_error_errno(
				"cannot open passphrase file '%s'", file);
		snprintf(what, sizeof(what), "the passphrase from '%s'", file);
		error = cli_secret_read_fd(out, fd, what, CLI_PASS_MAX);
		close(fd);
		return error;
	}
	if (env) {
		n = strlen(env);
		if (n > CLI_PASS_MAX)
			return stele_error_setc(STELE_EINVALID,
						"%s is longer than %d bytes",
						CLI_PASS_ENV, CLI_PASS_MAX);
		if ((error = stele_secret_new(out, n)) < 0)
			return error;
		memcpy((*out)->ptr, env, n);
		return 0;
	}
	return cli_tty_ask(out, prompt ? prompt : "Passphrase: ",
			   "no passphrase: set " CLI_PASS_ENV
			   ", give --passphrase-file, or run on a terminal",
			   CLI_PASS_MAX, flags & ~(unsigned int)CLI_TTY_ECHO);
}

int
cli_passphrase(struct stele_secret **out, const char *file, const char *prompt,
	       unsigned int flags)
{
	return cli_passphrase_from(out, file, cli_env()->password, prompt,
				   flags);
}
