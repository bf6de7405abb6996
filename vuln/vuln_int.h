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

#endif
