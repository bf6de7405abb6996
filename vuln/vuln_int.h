#ifndef STELE_VULN_VULN_INT_H
#define STELE_VULN_VULN_INT_H

#include <jansson.h>
#include <sqlite3.h>

#include "vuln/vuln.h"

/* Shared by the files of vuln/. */
struct stele_vuln_db {
	sqlite3 *s;
	sqlite3_stmt *q; /* rows of one (ecosystem, package) */
	char *dir;
	int64_t updated; /* -1: no recorded time */
};

/* The report as the JSON object stele_vuln_report_json() emits; new ref. */
json_t *stele_vuln__report_obj(const struct stele_vuln_report *r);

/*
 * Each regular *.json entry of the zip `path`, read capped at
 * STELE_VULN_FILE_MAX and handed to `fn` with its name, until `fn` fails;
 * `what` names the zip in errors.
 */
int stele_vuln__zip_each(const char *path, const char *what,
			 int (*fn)(void *payload, const char *name,
				   const struct stele_buf *data),
			 void *payload);

#endif
