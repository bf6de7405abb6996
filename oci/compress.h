#ifndef STELE_OCI_COMPRESS_H
#define STELE_OCI_COMPRESS_H

#include <stddef.h>

#include "util/sink.h"

/*
 * Deterministic streaming compressors for layers.
 *
 * gzip (GZIP, the default): libdeflate at `level`; the input is cut into
 * fixed 1 MiB blocks and each block is one gzip member (header MTIME=0, no
 * name, OS=3 (Unix); its own CRC and size), or, when some of its 64 KiB
 * pieces are near-uniform bytes that repeat nothing (already compressed
 * or random data), one member per run of such pieces (stored, not
 * deflated) and per run of the others.  A layer is the concatenation of
 * those members, which RFC 1952 readers take as one stream.
 *
 * gzip with whole blocks (GZIP_WHOLE, what stele wrote before stored
 * pieces; kept so that an image whose provenance records it rebuilds to
 * the same bytes): as GZIP, each block always one member.
 *
 * gzip with zlib (GZIP_ZLIB, what stele wrote before; kept so that an image
 * whose provenance records zlib rebuilds to the same bytes): one gzip
 * member; the input is cut into fixed 128 KiB blocks, each block deflated
 * at `level` with the previous 32 KiB of input as its dictionary and ended
 * with a sync flush (the last with Z_FINISH), CRC combined.
 *
 * For both, the bytes depend only on the input, the level and the library
 * version, never on the number of threads, which only decides how many
 * blocks are compressed at once.  Memory is bounded (a few blocks per
 * thread).
 *
 * zstd: libzstd at `level`, checksum flag off, content size unknown,
 * nbWorkers fixed (output then does not depend on the machine).
 *
 * NONE passes bytes through.
 *
 * The sink is called in order, from the thread that calls write/finish, with
 * the compressed bytes; a negative return from it aborts with that code.
 */
enum stele_compression {
	STELE_COMPRESS_NONE = 0,
	STELE_COMPRESS_GZIP,
	STELE_COMPRESS_ZSTD,
	STELE_COMPRESS_GZIP_ZLIB,
	STELE_COMPRESS_GZIP_WHOLE
};

struct stele_compressor;

/* threads: 0 picks min(2, online CPUs); level: 0 picks the default
 * (gzip 3, gzip-zlib 6, zstd 3). */
int stele_compressor_new(struct stele_compressor **out,
			 enum stele_compression kind, int level,
			 unsigned threads, stele_sink_fn sink, void *payload);
int stele_compressor_write(struct stele_compressor *c, const void *data,
			   size_t len);
/* Flush everything to the sink. No write after finish. */
int stele_compressor_finish(struct stele_compressor *c);
void stele_compressor_free(struct stele_compressor *c);

/* "libdeflate 1.14" / "zlib 1.2.13" / "zstd 1.5.4"; static string. */
const char *stele_compression_lib(enum stele_compression kind);
/* The level `level` (0: the default) stands for: gzip 3 (libdeflate),
 * gzip-zlib 6, zstd 3, or `level`.  (Until the default changed, gzip
 * layers were libdeflate level 6; their provenance records that level.) */
int stele_compression_level(enum stele_compression kind, int level);
/*
 * What else the bytes depend on, for the provenance: the scheme's fixed
 * settings at `level` (0: the default), e.g. "level 6, 131072-byte blocks,
 * 32768-byte dictionaries, sync flush"; "" for NONE.  Caller frees.
 */
char *stele_compression_settings(enum stele_compression kind, int level);
/*
 * The scheme that wrote a layer, from what its provenance records: the
 * media type suffix ("+gzip", "+zstd", ""), the library ("libdeflate
 * 1.14") and the settings (stele_compression_settings' text); NULL for one
 * not recorded (gzip then).
 */
enum stele_compression stele_compression_recorded(const char *suffix,
						  const char *library,
						  const char *settings);
/* OCI media type suffix "", "+gzip", "+zstd". */
const char *stele_compression_suffix(enum stele_compression kind);

#endif
