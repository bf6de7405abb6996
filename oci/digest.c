#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "oci/digest.h"
#include "util/error.h"

void
stele_hex_encode(char *out, const unsigned char *in, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * SHA-256 fetched from OpenSSL's provider once: EVP_sha256() makes each
 * EVP_DigestInit_ex look the algorithm up again (a COPY starts one digest
 * per file).  Kept for the process; EVP_sha256() if the fetch fails.
 */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_fetched;

static void
md_fetch(void)
{
	md_fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int
stele_sha256_init(struct stele_sha256 *h)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	pthread_once(&md_once, md_fetch);
	h->ctx = NULL;
	h->size = 0;
	if (!c ||
	    !EVP_DigestInit_ex(c, md_fetched ? md_fetched : EVP_sha256(),
			       NULL)) {
		EVP_MD_CTX_free(c);
		return stele_error_ssl("cannot start SHA-256");
	}
	h->ctx = c;
	return 0;
}

void
stele_sha256_update(struct stele_sha256 *h, const void *data, size_t len)
{
	if (len && EVP_DigestUpdate(h->ctx, data, len) != 1)
		abort();
	h->size += len;
}

void
stele_sha256_final_raw(struct stele_sha256 *h,
		       unsigned char out[STELE_SHA256_LEN])
{
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != STELE_SHA256_LEN)
		abort();
	stele_sha256_release(h);
}

void
stele_digest_format(char out[STELE_DIGEST_STRLEN],
		    const unsigned char md[STELE_SHA256_LEN])
{
	memcpy(out, "sha256:", 7);
	stele_hex_encode(out + 7, md, STELE_SHA256_LEN);
}

void
stele_sha256_final(struct stele_sha256 *h, char out[STELE_DIGEST_STRLEN])
{
	unsigned char md[STELE_SHA256_LEN];

	stele_sha256_final_raw(h, md);
	stele_digest_format(out, md);
}

void
stele_sha256_release(struct stele_sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

void
stele_sha256_raw(unsigned char out[32], const void *d, size_t n)
{
	SHA256(d, n, out);
}

void
stele_digest_bytes(char out[STELE_DIGEST_STRLEN], const void *d, size_t n)
{
	unsigned char md[STELE_SHA256_LEN];

	SHA256(d, n, md);
	stele_digest_format(out, md);
}

int
stele_digest_fd(char out[STELE_DIGEST_STRLEN], uint64_t *size, int fd,
		const char *what)
{
	struct stele_sha256 h;
	char chunk[1 << 16];
	ssize_t n;
	int error;

	if ((error = stele_sha256_init(&h)) < 0)
		return error;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error = stele_error_errno("cannot read '%s'", what);
			stele_sha256_release(&h);
			return error;
		}
		stele_sha256_update(&h, chunk, (size_t)n);
	}
	if (size)
		*size = h.size;
	stele_sha256_final(&h, out);
	return 0;
}

int
stele_digest_file(char out[STELE_DIGEST_STRLEN], uint64_t *size,
		  const char *path)
{
	int fd, error;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return stele_error_errno("cannot open '%s'", path);
	error = stele_digest_fd(out, size, fd, path);
	close(fd);
	return error;
}

int
stele_digest_validate(const char *s)
{
	size_t i;

	if (!s || strncmp(s, "sha256:", 7) || strlen(s) != 71)
		goto bad;
	for (i = 7; i < 71; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			goto bad;
	return 0;
bad:
	return stele_error_setc(STELE_EINVALID, "invalid digest '%s'",
				s ? s : "(null)");
}

int
stele_digest_check(const char *digest, const void *d, size_t n)
{
	char got[STELE_DIGEST_STRLEN];

	stele_digest_bytes(got, d, n);
	if (strcmp(got, digest))
		return stele_error_setc(STELE_EVERIFY,
					"digest mismatch: expected %s, got %s",
					digest, got);
	return 0;
}
