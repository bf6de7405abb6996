#ifndef STELE_VULN_VULN_H
#define STELE_VULN_VULN_H

#include <stddef.h>
#include <stdint.h>

#include "sbom/sbom.h"
#include "util/buf.h"

/*
 * Vulnerability database and matching (docs/vuln.md).
 *
 * A database is a directory holding, anywhere below it, `*.json` files of
 * two kinds, told apart by their shape:
 *  - OSV records, one per file, as OSV publishes them per ecosystem
 *    ("Debian:12", "Alpine:v3.20"): id, modified, affected[].package
 *    {ecosystem, name}, affected[].ranges[] of type ECOSYSTEM with events
 *    introduced / fixed / last_affected, severity[] (CVSS v3 vectors),
 *    affected[].ecosystem_specific.urgency|severity and
 *    database_specific.severity (the vendor's severity);
 *  - the Debian Security Tracker's JSON ({source: {CVE: {releases:
 *    {bookworm: {status, fixed_version, urgency, nodsa_reason}}}}}),
 *    releases mapped to "Debian:10" .. "Debian:13"; fixed_version "0"
 *    means never affected; nodsa_reason "ignored" means will not fix.
 * (also as the *.json entries of `*.zip` files, read in place with
 * libarchive, as OSV publishes them: all.zip),
 * and optionally `stele-db.json` ({"updated": "RFC 3339"}), the time the
 * database was taken.  Without it, the database's time is its newest OSV
 * `modified`; with neither it has no time (a policy with maxDbAgeHours
 * then denies).
 *
 * The sources are compiled once into an sqlite index, DIR/.stele-index.db,
 * written atomically; it records a digest of the sources' names, sizes and
 * modification times and is rebuilt when they change, so a warm scan reads
 * only the index.  Limits: a source file larger than STELE_VULN_FILE_MAX
 * or more than STELE_VULN_FILES_MAX files is STELE_EINVALID.  A malformed
 * source is STELE_EINVALID naming the file.
 */
#define STELE_VULN_FILE_MAX (512u << 20)
#define STELE_VULN_FILES_MAX 2000000
#define STELE_VULN_INDEX ".stele-index.db"

enum stele_vuln_severity {
	STELE_SEV_NONE = 0, /* only as a threshold: nothing at all */
	STELE_SEV_NEGLIGIBLE,
	STELE_SEV_LOW,
	STELE_SEV_MEDIUM,
	STELE_SEV_HIGH,
	STELE_SEV_CRITICAL,
	STELE_SEV_UNKNOWN /* no vendor severity and no CVSS */
};

enum stele_vuln_status {
	STELE_VULN_FIXED = 1, /* a fixed version exists */
	STELE_VULN_NOT_FIXED, /* not yet fixed */
	STELE_VULN_WONT_FIX /* the vendor will not fix it */
};

struct stele_vuln_db;

/*
 * Open the database in `dir`, (re)building its index when missing or out
 * of date.  *rebuilt (may be NULL) says whether it was.  *out owned by the
 * caller; STELE_ENOTFOUND when `dir` does not exist.
 */
int stele_vuln_db_open(struct stele_vuln_db **out, const char *dir,
		       int *rebuilt);
void stele_vuln_db_free(struct stele_vuln_db *db);
/* The database's recorded time (Unix seconds), or -1 when it has none. */
int64_t stele_vuln_db_updated(const struct stele_vuln_db *db);

struct stele_vuln_finding {
	char *id; /* CVE-…, DSA-…, … */
	size_t pkg; /* index into the sbom's pkgs */
	char *package; /* the source package matched */
	char *installed; /* its installed (source) version */
	char *fixed; /* NULL unless STELE_VULN_FIXED */
	enum stele_vuln_status status;
	enum stele_vuln_severity severity;
	const char *severity_from; /* "vendor", "cvss" or NULL (static) */
	int cvss10; /* CVSS base score × 10, -1 when none */
	char *summary; /* may be NULL */
	/* Set by an OpenVEX statement (vex.h): a suppressed finding stays
	 * in the report and never counts against a threshold. */
	int suppressed;
	char *vex_status; /* "not_affected" or "fixed" */
	char *vex_justification; /* may be NULL */
	char *vex_doc; /* the document's @id */
	int64_t vex_time; /* the statement's time, for "latest wins" */
};

struct stele_vuln_report {
	const struct stele_sbom *sbom; /* borrowed */
	char *ecosystem; /* "Debian:12", or NULL when unknown */
	int64_t db_updated; /* -1: none */
	struct stele_vuln_finding *v;
	size_t n; /* sorted: severity (worst first), id, pkg */
	size_t npkgs; /* packages looked up */
	int64_t unmatched; /* inventory packages not looked up (no
	                            * ecosystem for the distribution, or of
	                            * another type); -1: a signed scan that
	                            * does not record it */
};

/*
 * Match the inventory against the database: deb packages by their source
 * name and version, apk packages by their origin, in the ecosystem of the
 * image's os-release (Debian ID 12 → "Debian:12", Alpine 3.20.x →
 * "Alpine:v3.20").  An image of another distribution, or none, has no
 * ecosystem and nothing matches (report->ecosystem NULL says so).  A
 * version the scheme refuses is STELE_EINVALID naming the record.  The
 * report borrows `sbom`, which must outlive it.
 */
int stele_vuln_match(struct stele_vuln_report **out, struct stele_vuln_db *db,
		     const struct stele_sbom *sbom);
void stele_vuln_report_free(struct stele_vuln_report *r);

/*
 * Whether a finding is denied by a threshold: severity above `max`
 * (STELE_SEV_NONE: any finding), unknown severity ranking as critical (a
 * gate fails closed); with `fixable_only`, only fixed findings count.
 * A suppressed finding is never denied.
 */
int stele_vuln_denied(const struct stele_vuln_finding *f,
		      enum stele_vuln_severity max, int fixable_only);

/* "none", "negligible", "low", "medium", "high", "critical" (any case);
 * -1 otherwise. */
int stele_vuln_severity_parse(const char *s);
const char *stele_vuln_severity_name(enum stele_vuln_severity s);
const char *stele_vuln_status_name(enum stele_vuln_status s);
/* A CVSS v3.x vector's base score × 10; STELE_EINVALID if malformed. */
int stele_vuln_cvss3(int *out, const char *vector);

/* The report as canonical JSON, or as SARIF 2.1.0, appended to `out`. */
int stele_vuln_report_json(struct stele_buf *out,
			   const struct stele_vuln_report *r);
int stele_vuln_report_sarif(struct stele_buf *out,
			    const struct stele_vuln_report *r,
			    const char *tool_version);

#endif
