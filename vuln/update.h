#ifndef STELE_VULN_UPDATE_H
#define STELE_VULN_UPDATE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Updating a vulnerability database directory (vuln.h) from the network
 * (docs/vuln.md): each source URL is fetched over HTTPS (libcurl; no other
 * protocol, redirects to HTTPS only) and becomes one directory of the
 * database, DB/<the URL's host and path, with every character but
 * [A-Za-z0-9._-] as '_'>:
 *  - a zip archive (what OSV publishes per ecosystem, all.zip) is read with
 *    libarchive: each regular entry named *.json is written, its path's
 *    '/' as '_' (other entries are skipped; a name with "..", an absolute
 *    name or one over 255 bytes is refused);
 *  - anything else is one JSON file (the Debian Security Tracker's JSON),
 *    written as source.json.
 * Every source is fetched and unpacked into a temporary directory inside
 * DB first; then each replaces its directory, DB/stele-db.json records
 * `now` as the database's time, and the database is opened (its index
 * compiled) to check that it reads.  When a download or that check fails,
 * the directories that were replaced are put back: the database is as it
 * was.  Limits: a download over STELE_VULN_DOWNLOAD_MAX bytes, an entry
 * over STELE_VULN_FILE_MAX, more than STELE_VULN_FILES_MAX entries.
 */
#define STELE_VULN_DOWNLOAD_MAX (2ull << 30)
#define STELE_VULN_SOURCES_MAX 32

struct stele_vuln_update_opts {
	const char *const *urls; /* https:// URLs */
	size_t nurls; /* 1 .. STELE_VULN_SOURCES_MAX */
	const char *cacert; /* a CA bundle (PEM) to trust; NULL: the
				      system's */
	int64_t now; /* the time recorded in stele-db.json */
};

/*
 * Update `dir` (created when missing).  STELE_EINVALID for a URL that is
 * not https://, a source that is malformed (naming the URL and entry);
 * STELE_ERROR for a failed download (naming the URL and libcurl's
 * reason).  *nfiles (may be NULL) counts the JSON files written.
 */
int stele_vuln_db_update(size_t *nfiles, const char *dir,
			 const struct stele_vuln_update_opts *o);

#endif
