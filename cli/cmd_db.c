#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "util/error.h"
#include "util/time.h"
#include "vuln/update.h"

static const char db_usage[] =
	"usage: stele db update DB --from URL [--from URL...] [--cacert FILE]\n"
	"\n"
	"Fetch a vulnerability database's sources over HTTPS into the directory\n"
	"DB (docs/vuln.md): each URL is an OSV zip (what OSV publishes per\n"
	"ecosystem, e.g. .../Debian/all.zip), whose *.json records are unpacked,\n"
	"or one JSON file (the Debian Security Tracker's), and replaces the\n"
	"directory DB keeps for that URL.  DB/stele-db.json records the time, and\n"
	"the database is compiled (its index) to check that it reads; when a\n"
	"download or that check fails, DB is left as it was.\n"
	"\n"
	"      --from URL        a source (https:// only; repeatable, at most 32)\n"
	"      --cacert FILE     trust this CA bundle (PEM) too\n"
	"      --json            print {\"db\", \"sources\", \"files\", \"updated\"}\n"
	"  -h, --help            this help\n"
	"\n"
	"Exit status: 0 updated, 2 usage, 3 a download or a source that failed.\n";

int
cmd_db(int argc, char **argv)
{
	enum { O_FROM = 0x400, O_CACERT, O_JSON };
	static const struct option opts[] = {
		{ "from", required_argument, NULL, O_FROM },
		{ "cacert", required_argument, NULL, O_CACERT },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *urls[STELE_VULN_SOURCES_MAX];
	struct stele_vuln_update_opts o = { 0 };
	size_t n = 0;
	int c, error, as_json = 0;

	if (argc >= 2 &&
	    (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(db_usage, stdout);
		return EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "update"))
		return cli_usage(db_usage,
				 argc < 2 ? "say what to do: update"
					  : "unknown subcommand '%s' (update)",
				 argv[1]);
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_FROM:
			if (n == STELE_VULN_SOURCES_MAX)
				return cli_usage(db_usage,
						 "more than %d --from",
						 STELE_VULN_SOURCES_MAX);
			if (strncmp(optarg, "https://", 8) || !optarg[8])
				return cli_usage(db_usage,
						 "--from '%s' is not an "
						 "https:// URL",
						 optarg);
			urls[n++] = optarg;
			break;
		case O_CACERT: o.cacert = optarg; break;
		case O_JSON: as_json = 1; break;
		default: return cli_help(c, db_usage);
		}
	}
	if (optind != argc - 1)
		return cli_usage(db_usage, "need exactly one DB directory");
	if (!n)
		return cli_usage(db_usage, "need --from URL");
	o.urls = urls;
	o.nurls = n;
	o.now = (int64_t)time(NULL);
	{
		size_t files = 0;

		if ((error = stele_vuln_db_update(&files, argv[optind], &o)) <
		    0)
			return cli_fail(error);
		if (as_json) {
			char t[STELE_TIME_STRLEN];

			stele_time_format(t, o.now);
			return cli_json_print(json_pack(
				"{s:s,s:I,s:I,s:s}", "db", argv[optind],
				"sources", (json_int_t)n, "files",
				(json_int_t)files, "updated", t));
		}
		printf("%s: %zu source%s, %zu files\n", argv[optind], n,
		       n == 1 ? "" : "s", files);
	}
	return EXIT_OK;
}
