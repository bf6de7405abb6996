/*
 * The package databases stele sbom reads from an image's layers: the first
 * byte picks the parser (dpkg status, apk installed, rpm's sqlite
 * database), the rest is the file's bytes, as sbom/sbom.c hands them over.
 * Whatever a parser accepts is then turned into purls, as the SBOM
 * writers do.
 */
#include "sbom/sbom.h"
#include "tests/fuzz/fuzz.h"

static int
own(void *payload, size_t pkg, const char *path, const char *sum)
{
	struct stele_sbom__pkgs *ps = payload;

	/* A file is always handed over for a package already listed. */
	(void)sum;
	if (pkg >= ps->n || !path)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stele_sbom__pkgs ps = { NULL, 0, 0 };
	const char *body;
	size_t i, len;
	int rc;

	if (size < 1)
		return 0;
	body = (const char *)data + 1;
	len = size - 1;
	switch (data[0] % 3) {
	case 0:
		rc = stele_sbom__dpkg_status(&ps, body, len, "var/lib/dpkg/status");
		break;
	case 1:
		rc = stele_sbom__apk_installed(&ps, body, len,
					       "lib/apk/db/installed", own, &ps);
		break;
	default:
		rc = stele_sbom__rpm_sqlite(&ps, body, len,
					    "var/lib/rpm/rpmdb.sqlite", own, &ps);
		break;
	}
	if (rc < 0 && ps.n)
		abort(); /* a refused database lists nothing */
	for (i = 0; i < ps.n; i++) {
		char *purl = stele_sbom__purl(&ps.v[i], "debian", "debian-12");

		if (!ps.v[i].name || !ps.v[i].version || !ps.v[i].source ||
		    !ps.v[i].source_version || strncmp(purl, "pkg:", 4))
			abort();
		free(purl);
		stele_sbom__pkg_release(&ps.v[i]);
	}
	free(ps.v);
	return 0;
}
