#ifndef STELE_KEYS_PASSPHRASE_H
#define STELE_KEYS_PASSPHRASE_H

#include "keys/key.h"

/*
 * Where a key file's passphrase comes from, in this order:
 *   1. `file` when not NULL: its first line, without the line ending (as
 *      skopeo's --sign-passphrase-file); an empty file is an empty
 *      passphrase;
 *   2. the environment variable STELE_PASSWORD when set (may be empty);
 *   3. the controlling terminal (/dev/tty), echo off, `prompt` written to
 *      the terminal (never to stdout or stderr); with STELE_PASS_CONFIRM it
 *      is asked twice and must match.
 * With none of these (no file, no variable, no terminal) it fails with a
 * message saying how to give one.  The passphrase is read straight into
 * secure memory; *out owned by the caller (stele_secret_free).  Capped at
 * STELE_PASS_MAX bytes.
 */
#define STELE_PASS_MAX 1024
#define STELE_PASS_ENV "STELE_PASSWORD"

enum stele_pass_flags {
	STELE_PASS_CONFIRM = 1 << 0
};

int stele_passphrase_get(struct stele_secret **out, const char *file,
			 const char *prompt, unsigned flags);

#endif
