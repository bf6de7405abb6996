#ifndef STELE_SBOM_SBOM_H
#define STELE_SBOM_SBOM_H

#include <stddef.h>
#include <stdint.h>

#include "oci/image.h"
#include "util/buf.h"
#include "util/limits.h"

/*
 * The inventory of an image (docs/sbom.md), read from its layers as they
 * are stored: each layer blob is streamed once through libarchive (never
 * extracted, never held in memory), its digest checked against the
 * manifest as it is read, whiteouts applied as the OCI layer spec says
 * (".wh.NAME" and ".wh..wh..opq" hide what lower layers put there, never
 * what the same layer holds).  Every regular file is hashed (SHA-256, and
 * MD5 and SHA-1 to compare with the package databases).
 *
 * Package databases read from the final tree, as regular files only (a
 * database, or a directory above it, that is a symlink is refused,
 * STELE_EINVALID, naming it):
 *  - dpkg: var/lib/dpkg/status and var/lib/dpkg/status.d/<name> (distroless);
 *    entries whose Status is deinstall or not-installed are skipped;
 *    ownership from var/lib/dpkg/info/<name>[:<arch>].list and .md5sums
 *    (status.d/<name>.md5sums for distroless);
 *  - apk: lib/apk/db/installed (fields P V A o L F R Z c);
 *  - rpm: usr/lib/sysimage/rpm/rpmdb.sqlite, else var/lib/rpm/rpmdb.sqlite
 *    (rpm's sqlite backend; headers with their file lists and digests);
 * A database that does not parse is refused (STELE_EINVALID, naming the
 * file, the line and what is wrong).  Limits: a database file larger than
 * STELE_SBOM_DB_MAX bytes, all captured database files together larger
 * than STELE_SBOM_DB_TOTAL_MAX, more than STELE_SBOM_PKGS_MAX packages, or
 * a layer with more entries than `limits` allows (util/limits.h) is
 * refused (STELE_EINVALID, naming the limit).
 *
 * A package's layer is the lowest layer from which, through every layer
 * above it, its database lists it at the same version: the layer that
 * installed it.  Its step and source commit come from the image's stele
 * provenance (builder/provenance.h's one strict reader), when it has one.
 *
 * Files of the final tree that no package lists are "unowned" and listed
 * with their digest; files a package lists in md5sums (dpkg) or Z (apk)
 * whose bytes hash otherwise are "modified", a finding of their own.
 */
#define STELE_SBOM_DB_MAX (32u << 20)
#define STELE_SBOM_DB_TOTAL_MAX (128u << 20)
#define STELE_SBOM_PKGS_MAX 100000

enum stele_sbom_format {
	STELE_SBOM_SPDX = 0, /* SPDX 2.3 JSON */
	STELE_SBOM_CYCLONEDX /* CycloneDX 1.6 JSON */
};

/* Where one layer came from (provenance); strings borrowed or NULL. */
struct stele_sbom_layer {
	char diff_id[STELE_DIGEST_STRLEN];
	char digest[STELE_DIGEST_STRLEN];
	char *recipe; /* recipe path, NULL without provenance */
	int line;
	char *instruction;
	char *stage;
	char *commit; /* source commit (gitCommit), or NULL */
	int base; /* inherited from a base image */
};

struct stele_sbom_pkg {
	const char *type; /* "deb", "apk" or "rpm" (static) */
	char *name, *version, *arch;
	char *source, *source_version; /* dpkg Source: (else the binary's) */
	char *origin; /* apk o */
	char *license; /* apk L */
	char *maintainer; /* dpkg Maintainer: */
	char *url; /* apk U, dpkg Homepage */
	char *commit; /* apk c (aports commit) */
	char *db; /* the database file that lists it */
	size_t layer; /* index into layers */
	size_t nfiles; /* files it owns present in the image */
	char *purl;
};

enum stele_sbom_finding {
	STELE_SBOM_UNOWNED = 1, /* owned by no package */
	STELE_SBOM_MODIFIED /* bytes disagree with the package database */
};

struct stele_sbom_file {
	char *path; /* "usr/bin/x", relative */
	enum stele_sbom_finding finding;
	char sha256[65]; /* hex */
	char sha1[41]; /* hex */
	uint64_t size;
	size_t layer;
	char *package; /* modified: the package that lists it */
	char *expected; /* modified: the database's checksum */
};

struct stele_sbom {
	char image[STELE_DIGEST_STRLEN]; /* manifest digest */
	char created[32]; /* the image's created, RFC 3339 UTC */
	char *distro_id, *distro_version; /* os-release ID, VERSION_ID */
	struct stele_sbom_layer *layers;
	size_t nlayers;
	struct stele_sbom_pkg *pkgs; /* sorted by type, name, arch, version */
	size_t npkgs;
	struct stele_sbom_file *files; /* sorted by path */
	size_t nfiles;
	size_t nowned; /* regular files owned by some package */
};

struct stele_sbom_opts {
	struct stele_limits limits; /* zeros: the defaults */
};

/* Read the inventory of `img`.  *out owned by the caller. */
int stele_sbom_read(struct stele_sbom **out, const struct stele_image *img,
		    const struct stele_sbom_opts *opts);
void stele_sbom_free(struct stele_sbom *s);

/*
 * stele_sbom_read through a cache of inventories in directory `dir`
 * (created when missing; NULL: no cache).  An image is immutable, so the
 * part of its inventory read from its layers is keyed by the manifest
 * digest, the inventory format STELE_SBOM_CACHE_FORMAT, the effective
 * limits and `tool` (the reader's version: a newer stele rebuilds rather
 * than trust an older one's reading): DIR/<sha256 of those>.json.  An
 * entry is "sha256:<hex>\n" and then the canonical JSON that digest is of;
 * the digest is checked before the JSON is parsed, and an entry that does
 * not check, parse or describe this image (format, digest, layer count) is
 * ignored, read afresh and replaced.  What may change after the image was
 * written (its created time, layers' provenance: a referrer) is read from
 * the store each time, never from the cache.  A new entry is written
 * atomically (temporary file, rename); failing to write it is not an error
 * (the inventory is still returned).  An entry over STELE_SBOM_CACHE_MAX
 * bytes is neither written nor read.  *hit (may be NULL): 1 when the
 * inventory came from the cache.
 */
#define STELE_SBOM_CACHE_FORMAT "stele-inventory-1"
#define STELE_SBOM_CACHE_MAX (64u << 20)
int stele_sbom_read_cached(struct stele_sbom **out,
			   const struct stele_image *img,
			   const struct stele_sbom_opts *opts, const char *dir,
			   const char *tool, int *hit);

/*
 * Emit the document, canonical JSON (sorted keys, compact), appended to
 * `out`: the same inventory gives the same bytes.  Timestamps are the
 * image's created; the SPDX namespace and the CycloneDX serial number are
 * derived from the image digest.  `tool` is "stele <version>"-like text
 * for the creator fields.
 */
int stele_sbom_emit(struct stele_buf *out, const struct stele_sbom *s,
		    enum stele_sbom_format fmt, const char *tool);

/*
 * The document as the predicate of an in-toto Statement v1 whose subject
 * is the image (`name`, or the digest when NULL), predicateType
 * stele_sbom_predicate(fmt) (cosign's spdxjson and cyclonedx types):
 * canonical JSON appended to `out`, the exact bytes to sign.
 */
int stele_sbom_statement(struct stele_buf *out, const struct stele_sbom *s,
			 enum stele_sbom_format fmt, const char *tool,
			 const char *name);

/* "spdx"/"spdx-json"/"spdxjson" or "cyclonedx"/"cyclonedx-json"; -1 else. */
int stele_sbom_format_parse(const char *s);
/* The in-toto predicate type of a format. */
const char *stele_sbom_predicate(enum stele_sbom_format fmt);

/*
 * Internal, shared by the files of sbom/ and the unit tests: the parsers
 * of the databases, over their bytes.  `what` names the file in errors.
 * Packages are appended to `pkgs` (layer left 0).
 */
struct stele_sbom__pkgs {
	struct stele_sbom_pkg *v;
	size_t n, alloc;
};
/* A new zeroed package at the end of `ps` (borrowed; moves when it grows). */
struct stele_sbom_pkg *stele_sbom__pkg_add(struct stele_sbom__pkgs *ps);
int stele_sbom__dpkg_status(struct stele_sbom__pkgs *pkgs, const char *data,
			    size_t len, const char *what);
/* apk: each file of package `pkg` (index in pkgs), with its Z: checksum
 * ("Q1<base64 sha1>") or NULL. */
typedef int (*stele_sbom__own_fn)(void *payload, size_t pkg, const char *path,
				  const char *sum);
int stele_sbom__apk_installed(struct stele_sbom__pkgs *pkgs, const char *data,
			      size_t len, const char *what,
			      stele_sbom__own_fn own, void *payload);
/* rpm: the bytes of an rpmdb.sqlite; files' sums as "md5:HEX",
 * "sha1:HEX" or "sha256:HEX". */
int stele_sbom__rpm_sqlite(struct stele_sbom__pkgs *pkgs, const void *data,
			   size_t len, const char *what, stele_sbom__own_fn own,
			   void *payload);
void stele_sbom__pkg_release(struct stele_sbom_pkg *p);
/* Release the packages of `ps` from index `n` on. */
void stele_sbom__pkgs_truncate(struct stele_sbom__pkgs *ps, size_t n);
/* The image digest, created time and layers (with their provenance). */
int stele_sbom__read_head(struct stele_sbom *s, const struct stele_image *img);
/* The purl of a package (malloc'd); distro may be NULL. */
char *stele_sbom__purl(const struct stele_sbom_pkg *p, const char *ns,
		       const char *distro);

#endif
