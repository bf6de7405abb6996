/*
 * OCI image layouts: index.json, image indexes, manifests and configs, and
 * the signatures, attestations and provenance stored beside an image.
 *
 * The input is NUL-separated documents: the first is index.json, the
 * others blobs 1, 2, ... (at most 9).  So that the fuzzer can make
 * documents refer to each other, "@N" in a document is replaced with the
 * digest of blob N, for N greater than the document's own number (blobs
 * are digested from the last to the first).  The layout is written to a
 * scratch directory, then read as stele reads one: the image tagged
 * "latest" and the image of blob 1 (stele_image_load), its stored
 * signatures and attestations (checked with the seeds' key, so a mutant
 * of a signed seed gets past verification), its provenance, and
 * stele_fsck().
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "keys/key.h"
#include "oci/image.h"
#include "signer/attach.h"
#include "signer/check.h"
#include "tests/fuzz/fuzz.h"
#include "util/buf.h"
#include "verify/fsck.h"

#define MAX_DOCS 10

static struct stele_pubkey *key;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (stele_pubkey_parse(&key, FUZZ_SEED_PUB, strlen(FUZZ_SEED_PUB),
			       "seed key") < 0)
		abort();
	return 0;
}

/* doc with "@N" (N > self) replaced by digests[N]. */
static void
substitute(struct stele_buf *out, const uint8_t *d, size_t n, size_t self,
	   char digests[MAX_DOCS][STELE_DIGEST_STRLEN], size_t ndocs)
{
	const uint8_t *end = d + n, *at;
	size_t k;

	while ((at = memchr(d, '@', (size_t)(end - d)))) {
		k = at + 1 < end && at[1] >= '1' && at[1] <= '9' ?
			(size_t)(at[1] - '0') : 0;
		if (k > self && k < ndocs) {
			if (stele_buf_put(out, d, (size_t)(at - d)) < 0 ||
			    stele_buf_puts(out, digests[k]) < 0)
				abort();
			d = at + 2;
		} else {
			if (stele_buf_put(out, d, (size_t)(at + 1 - d)) < 0)
				abort();
			d = at + 1;
		}
	}
	if (stele_buf_put(out, d, (size_t)(end - d)) < 0)
		abort();
}

/* Not stele_fs_write_atomic(): its fsyncs would cost most of the time. */
static void
write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char *p = stele_path_join(dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || stele_fs_write_all(fd, data, len) < 0 || close(fd) < 0)
		abort();
	free(p);
}

static void
read_image(const char *dir, const char *refname, const char *digest)
{
	const struct stele_pubkey *keys[1] = { key };
	struct stele_checks *checks = NULL;
	struct stele_image *img = NULL;
	struct stele_oci *oci = NULL;
	json_t *prov = NULL;
	size_t i;

	if (stele_oci_open(&oci, dir, 0) < 0)
		abort();
	if (stele_image_load(&img, oci, refname, digest) < 0) {
		stele_oci_free(oci);
		return;
	}
	for (i = 0; i < stele_image_nlayers(img); i++) {
		(void)stele_image_layer(img, i);
		(void)stele_image_diff_id(img, i);
	}
	if (stele_signatures_check(&checks, img->oci, img->digest, keys, 1,
				   STELE_SIG_PURE | STELE_SIG_PREHASH) == 0)
		stele_checks_free(checks);
	if (stele_attestations_check(&checks, img->oci, img->digest, keys, 1,
				     STELE_SIG_PURE) == 0)
		stele_checks_free(checks);
	if (stele_provenance_find(&prov, img->oci, img->digest) == 0)
		json_decref(prov);
	stele_image_free(img);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char digests[MAX_DOCS][STELE_DIGEST_STRLEN];
	struct stele_buf docs[MAX_DOCS];
	const uint8_t *start[MAX_DOCS], *p, *nul;
	struct stele_fsck_report rep;
	size_t len[MAX_DOCS], ndocs = 0, i;
	char *dir, *blobs;

	for (p = data;; p = nul + 1) {
		start[ndocs] = p;
		nul = ndocs + 1 < MAX_DOCS ?
			memchr(p, '\0', (size_t)(data + size - p)) : NULL;
		len[ndocs] = nul ? (size_t)(nul - p) : (size_t)(data + size - p);
		ndocs++;
		if (!nul)
			break;
	}
	for (i = ndocs; i-- > 0;) {
		docs[i] = (struct stele_buf)STELE_BUF_INIT(SIZE_MAX);
		substitute(&docs[i], start[i], len[i], i, digests, ndocs);
		stele_digest_bytes(digests[i], stele_buf_cstr(&docs[i]),
				   docs[i].len);
	}

	dir = stele_path_join(fuzz_scratch(), "layout");
	blobs = stele_path_join(dir, "blobs/sha256");
	stele_fs_rm_rf(dir);
	if (stele_fs_mkdir_p(blobs, 0755) < 0)
		abort();
	write_file(dir, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	write_file(dir, "index.json", stele_buf_cstr(&docs[0]), docs[0].len);
	for (i = 1; i < ndocs; i++)
		write_file(blobs, digests[i] + 7, stele_buf_cstr(&docs[i]),
			   docs[i].len);

	read_image(dir, "latest", NULL);
	if (ndocs > 1)
		read_image(dir, NULL, digests[1]);
	(void)stele_fsck(&rep, dir, 0);
	stele_fsck_report_release(&rep); /* filled either way */

	free(blobs);
	free(dir);
	for (i = 0; i < ndocs; i++)
		stele_buf_release(&docs[i]);
	return 0;
}
