#ifndef STELE_CLI_TTY_H
#define STELE_CLI_TTY_H

#include <stddef.h>

#include "keys/key.h"

/*
 * The terminal and the secrets typed or piped to stele: the only code that
 * opens /dev/tty or changes terminal modes (the library never asks).
 * Everything secret is read a byte at a time straight into sodium memory
 * (struct stele_secret; nothing lands in a stdio buffer or the heap), is
 * never echoed, and is capped at `max` bytes (STELE_EINVALID beyond).
 * *out is owned by the caller (stele_secret_free); NULL on failure.
 */

enum cli_tty_flags {
	CLI_TTY_ECHO = 1 << 0, /* a user name: shown as typed */
	CLI_TTY_CONFIRM = 1 << 1 /* asked again ("Passphrase again: "); the
				     two must match */
};

/*
 * Ask on the controlling terminal: `prompt` is written to it (never to
 * stdout or stderr), echo is off unless CLI_TTY_ECHO, ^C and ^Z are held
 * until the terminal is restored.  STELE_EINVALID when there is no
 * terminal, with `hint` (how else to give it) as the message.
 */
int cli_tty_ask(struct stele_secret **out, const char *prompt, const char *hint,
		size_t max, unsigned int flags);
/* One line of `fd` (without \n or \r\n); `what` names it in errors. */
int cli_secret_read_fd(struct stele_secret **out, int fd, const char *what,
		       size_t max);

/*
 * A key file's passphrase, in this order: `file` when not NULL (its first
 * line; an empty file is an empty passphrase, as skopeo's
 * --sign-passphrase-file); $STELE_PASSWORD when set, even empty; the
 * terminal (`prompt`, NULL: "Passphrase: "; CLI_TTY_CONFIRM asks twice).
 * With none of them it fails saying how to give one.  Capped at
 * CLI_PASS_MAX bytes.
 */
#define CLI_PASS_ENV "STELE_PASSWORD"
#define CLI_PASS_MAX 1024
int cli_passphrase(struct stele_secret **out, const char *file,
		   const char *prompt, unsigned int flags);
/* The same with $STELE_PASSWORD's value given (`env`, NULL: unset). */
int cli_passphrase_from(struct stele_secret **out, const char *file,
			const char *env, const char *prompt,
			unsigned int flags);

#endif
