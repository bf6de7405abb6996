#ifndef STELE_VULN_VULN_INT_H
#define STELE_VULN_VULN_INT_H

#include <sqlite3.h>

#include "vuln/vuln.h"

/* Shared by the files of vuln/. */
struct stele_vuln_db {
	sqlite3 *s;
	sqlite3_stmt *q;     /* rows of one (ecosystem, package) */
	char *dir;
	int64_t updated;     /* -1: no recorded time */
};

#endif
