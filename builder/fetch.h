#ifndef STELE_BUILDER_FETCH_H
#define STELE_BUILDER_FETCH_H

#include <stdint.h>

#include "oci/digest.h"

/*
 * ADD --checksum=sha256:… https://…: one pinned download.  GET `url`
 * (http or https only, at most 5 redirects, never another scheme) into
 * the new file `path` (0600), at most `max` bytes, and check its SHA-256
 * against `want` ("sha256:<hex>") before anything uses it: a mismatch is
 * STELE_EVERIFY naming both digests, and the file is removed.  Proxies
 * come from libcurl's usual environment variables.
 */
int stele_fetch_pinned(uint64_t *size, const char *url, const char *want,
		       const char *path, uint64_t max);

#endif
