#ifndef STELE_OCI_DIFFID_H
#define STELE_OCI_DIFFID_H

#include <stdint.h>

#include "oci/digest.h"

/*
 * The digest, size and diff_id of a layer blob in one pass over its bytes
 * (verify's blob check).  The bytes are read once, from `fd`, by the
 * calling thread, which hashes them; decompression and the diff_id's hash
 * run on other threads, so the three overlap.
 *
 * gzip (`gzip` non-zero): ISA-L inflates member after member.  A layer
 * made of many members (stele writes one per 1 MiB of tar) is inflated by
 * up to `threads` workers a member at a time: the stream is cut where a
 * member header (1f 8b 08, no flags, MTIME 0) begins, and each piece must
 * inflate to whole members that end exactly at its end, with their CRCs
 * and sizes right.  From the first piece that does not (a header's bytes
 * inside compressed data, a layer of one member, a damaged blob) to the
 * end, the bytes already read and the rest are inflated in order as one
 * stream.  The diff_id is therefore always what a sequential gzip reader
 * gives.  Other codecs (zstd, none) go through libarchive.
 *
 * `threads`: inflate workers (0: the online CPUs, at most 4; 1: none, the
 * reading thread inflates).  Memory: a few MiB per worker, whatever the
 * blob's size.
 *
 * digest and *size: the bytes read.  diff: "sha256:<hex>" of the
 * uncompressed stream, or "" when it is not a complete, valid stream of
 * its codec (bad header, CRC or size, truncated, trailing bytes).
 * Returns STELE_ERROR when the blob cannot be read (the message names
 * `name`) or a thread cannot start.
 */
int stele_diffid_read(char digest[STELE_DIGEST_STRLEN],
		      char diff[STELE_DIGEST_STRLEN], uint64_t *size, int fd,
		      const char *name, int gzip, unsigned threads);

#endif
