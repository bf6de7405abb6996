#ifndef STELE_TESTS_FUZZ_H
#define STELE_TESTS_FUZZ_H

/*
 * Shared by the libFuzzer targets tests/fuzz/fuzz_*.c (docs/fuzzing.md).
 * Each target feeds untrusted bytes to one library parser the way stele
 * itself does, and goes on to use what the parser accepted, so a parser
 * that hands back something inconsistent is caught too.  A target never
 * asserts on the parser's verdict: rejecting input is a correct answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * The public key of the test key that signed the seeds in corpus/dsse and
 * corpus/oci (corpus/keyfile/cosign-encrypted.pem, passphrase "fuzz-seed"),
 * so mutated inputs whose signatures still verify reach the checks made
 * after verification.
 */
#define FUZZ_SEED_PUB \
	"-----BEGIN PUBLIC KEY-----\n" \
	"MCowBQYDK2VwAyEApgHFbnWxLMaA4CqSXCv2Ys4EfGaoJ+l6Dz+0SikOQKM=\n" \
	"-----END PUBLIC KEY-----\n"

/*
 * The library's one init, before libFuzzer calls anything (every target
 * includes this header once; some define LLVMFuzzerInitialize for their own
 * set-up, so the init does not live there).
 */
__attribute__((constructor)) static void
fuzz_stele_init(void)
{
	if (stele_init() < 0)
		abort();
}

/* A NUL-terminated copy of the input (the C-string parsers' view). */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = stele_xmalloc(size + 1);

	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

static char *fuzz_scratch_dir;

static inline void
fuzz_scratch_remove(void)
{
	if (fuzz_scratch_dir)
		stele_fs_rm_rf(fuzz_scratch_dir);
	free(fuzz_scratch_dir);
	fuzz_scratch_dir = NULL;
}

/*
 * A directory of this process's own under $TMPDIR, made on first use and
 * removed at exit (a crash leaves it for the post-mortem).
 */
static inline const char *
fuzz_scratch(void)
{
	if (!fuzz_scratch_dir) {
		if (stele_fs_mkdtemp(&fuzz_scratch_dir, getenv("TMPDIR"), "stele-fuzz") < 0)
			abort();
		atexit(fuzz_scratch_remove);
	}
	return fuzz_scratch_dir;
}

#endif
