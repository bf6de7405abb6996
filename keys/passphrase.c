#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "keys/passphrase.h"
#include "util/error.h"

/*
 * Read one line (without its ending) from fd into a fresh secret.  Reads a
 * byte at a time so that nothing past the line lands in a stdio buffer.
 */
static int
read_line(struct stele_secret **out, int fd, const char *what)
{
	struct stele_secret *tmp = NULL;
	size_t len = 0;
	int error;

	*out = NULL;
	if ((error = stele_secret_new(&tmp, STELE_PASS_MAX + 1)) < 0)
		return error;
	for (;;) {
		ssize_t n = read(fd, tmp->ptr + len, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = stele_error_errno("cannot read the passphrase from %s",
						  what);
			goto out;
		}
		if (n == 0 || tmp->ptr[len] == '\n')
			break;
		if (++len > STELE_PASS_MAX) {
			error = stele_error_setc(STELE_EINVALID,
				"passphrase from %s is longer than %d bytes", what,
				STELE_PASS_MAX);
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
from_file(struct stele_secret **out, const char *file)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC), error;

	if (fd < 0)
		return stele_error_errno("cannot open passphrase file '%s'", file);
	error = read_line(out, fd, file);
	close(fd);
	return error;
}

static int
ask(struct stele_secret **out, int fd, const char *prompt)
{
	struct termios old, noecho;
	int error, restore = 0;

	/* Echo off before the prompt, so that nothing typed after it shows. */
	if (tcgetattr(fd, &old) == 0) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		noecho.c_lflag |= ECHONL;
		restore = tcsetattr(fd, TCSAFLUSH, &noecho) == 0;
	}
	if (write(fd, prompt, strlen(prompt)) < 0)
		error = stele_error_errno("cannot write to the terminal");
	else
		error = read_line(out, fd, "the terminal");
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	return error;
}

static int
from_tty(struct stele_secret **out, const char *prompt, unsigned flags)
{
	struct stele_secret *again = NULL;
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC), error;
	sigset_t block, saved;

	*out = NULL;
	if (fd < 0)
		return stele_error_setc(STELE_EINVALID,
			"no passphrase: set %s, give --passphrase-file, or run on a terminal",
			STELE_PASS_ENV);
	/* Keep ^C or ^Z from leaving the terminal without echo. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTSTP);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, &saved);
	if ((error = ask(out, fd, prompt ? prompt : "Passphrase: ")) < 0)
		goto out;
	if (flags & STELE_PASS_CONFIRM) {
		if ((error = ask(&again, fd, "Passphrase again: ")) < 0)
			goto out;
		if (again->len != (*out)->len ||
		    sodium_memcmp(again->ptr, (*out)->ptr, again->len) != 0)
			error = stele_error_setc(STELE_EINVALID,
						 "the passphrases do not match");
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
stele_passphrase_get(struct stele_secret **out, const char *file,
		     const char *prompt, unsigned flags)
{
	const char *env = getenv(STELE_PASS_ENV);
	size_t n;
	int error;

	*out = NULL;
	if (file)
		return from_file(out, file);
	if (env) {
		n = strlen(env);
		if (n > STELE_PASS_MAX)
			return stele_error_setc(STELE_EINVALID,
				"%s is longer than %d bytes", STELE_PASS_ENV,
				STELE_PASS_MAX);
		if ((error = stele_secret_new(out, n)) < 0)
			return error;
		memcpy((*out)->ptr, env, n);
		return 0;
	}
	return from_tty(out, prompt, flags);
}
