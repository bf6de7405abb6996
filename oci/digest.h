#ifndef STELE_OCI_DIGEST_H
#define STELE_OCI_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/* "sha256:" + 64 hex + NUL */
#define STELE_DIGEST_STRLEN 72
/* A SHA-256 in bytes */
#define STELE_SHA256_LEN 32

/* A streaming SHA-256. Update any number of times, then final. */
struct stele_sha256 {
	void *ctx; /* EVP_MD_CTX */
	uint64_t size;
};

int stele_sha256_init(struct stele_sha256 *h);
void stele_sha256_update(struct stele_sha256 *h, const void *data, size_t len);
/* Writes "sha256:<hex>" into out and releases the context. */
void stele_sha256_final(struct stele_sha256 *h, char out[STELE_DIGEST_STRLEN]);
/* The same, as the 32 bytes. */
void stele_sha256_final_raw(struct stele_sha256 *h,
			    unsigned char out[STELE_SHA256_LEN]);
/* "sha256:<hex>" of 32 digest bytes. */
void stele_digest_format(char out[STELE_DIGEST_STRLEN],
			 const unsigned char md[STELE_SHA256_LEN]);
void stele_sha256_release(struct stele_sha256 *h);

/* One-shot digest of a buffer as "sha256:<hex>". */
void stele_digest_bytes(char out[STELE_DIGEST_STRLEN], const void *d, size_t n);
/* Raw 32-byte SHA-256. */
void stele_sha256_raw(unsigned char out[32], const void *d, size_t n);
/* Digest what is left of open file `fd` (`what` names it in errors),
 * streamed. */
int stele_digest_fd(char out[STELE_DIGEST_STRLEN], uint64_t *size, int fd,
		    const char *what);
/* Digest a whole file, streamed. */
int stele_digest_file(char out[STELE_DIGEST_STRLEN], uint64_t *size,
		      const char *path);
/* 0 when `s` is a well-formed "sha256:<64 lowercase hex>", else EINVALID. */
int stele_digest_validate(const char *s);
/* 0 when the bytes hash to `digest`, else STELE_EVERIFY naming both. */
int stele_digest_check(const char *digest, const void *d, size_t n);

void stele_hex_encode(char *out, const unsigned char *in, size_t n);

#endif
