#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sbom/sbom.h"
#include "util/error.h"
#include "util/fs.h"

/*
 * The package databases, parsed strictly: they come from the image, so a
 * line that is not what dpkg or apk writes is an error naming the file and
 * line, never skipped.  Names, versions and architectures are checked
 * against what the package managers allow, so that nothing else can reach
 * a purl or a report.
 */

#define FIELD_MAX 64 /* bytes of a field name */

/*
 * At most `max` bytes, none outside lower-case letters, digits, `punct` and,
 * when `upper`, upper-case letters.
 */
static int
chars_ok(const char *s, size_t max, int upper, const char *punct)
{
	const char *p;

	if (!*s || strlen(s) > max)
		return 0;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      (upper && *p >= 'A' && *p <= 'Z') || strchr(punct, *p)))
			return 0;
	return 1;
}

static int
name_ok(const char *s, int apk)
{
	return apk ? chars_ok(s, 256, 1, "+-._") : chars_ok(s, 256, 0, "+-.");
}

static int
version_ok(const char *s)
{
	return chars_ok(s, 256, 1, ".+~:-_");
}

static int
arch_ok(const char *s)
{
	return chars_ok(s, 64, 0, "-_");
}

void
stele_sbom__pkg_release(struct stele_sbom_pkg *p)
{
	free(p->name);
	free(p->version);
	free(p->arch);
	free(p->source);
	free(p->source_version);
	free(p->origin);
	free(p->license);
	free(p->maintainer);
	free(p->url);
	free(p->commit);
	free(p->db);
	free(p->purl);
	memset(p, 0, sizeof(*p));
}

void
stele_sbom__pkgs_truncate(struct stele_sbom__pkgs *ps, size_t n)
{
	while (ps->n > n)
		stele_sbom__pkg_release(&ps->v[--ps->n]);
}

struct stele_sbom_pkg *
stele_sbom__pkg_add(struct stele_sbom__pkgs *ps)
{
	if (ps->n == ps->alloc) {
		ps->alloc = ps->alloc ? ps->alloc * 2 : 64;
		ps->v = stele_xrealloc(ps->v, ps->alloc * sizeof(*ps->v));
	}
	memset(&ps->v[ps->n], 0, sizeof(*ps->v));
	return &ps->v[ps->n++];
}

/* A database's text as a C string (malloc'd); not with a NUL byte. */
static int
db_text(char **out, const char *data, size_t len, const char *what)
{
	*out = NULL;
	if (memchr(data, '\0', len))
		return stele_error_setc(
			STELE_EINVALID,
			"'%s' holds a NUL byte: not a package database", what);
	*out = stele_xstrndup(data, len);
	return 0;
}

static int
too_many(const char *what)
{
	return stele_error_setc(STELE_EINVALID,
				"'%s' lists more than %d packages", what,
				STELE_SBOM_PKGS_MAX);
}

/* ---- dpkg ---- */

/* One stanza's fields of interest (values point into a scratch copy). */
struct stanza {
	char *package, *status, *version, *arch, *source, *maintainer,
		*homepage;
	size_t first_line;
	int any;
};

static char **
stanza_slot(struct stanza *s, const char *field)
{
	static const struct {
		const char *name;
		size_t off;
	} map[] = {
		{ "Package", offsetof(struct stanza, package) },
		{ "Status", offsetof(struct stanza, status) },
		{ "Version", offsetof(struct stanza, version) },
		{ "Architecture", offsetof(struct stanza, arch) },
		{ "Source", offsetof(struct stanza, source) },
		{ "Maintainer", offsetof(struct stanza, maintainer) },
		{ "Homepage", offsetof(struct stanza, homepage) },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(*map); i++)
		if (!strcasecmp(field, map[i].name))
			return (char **)((char *)s + map[i].off);
	return NULL;
}

/* Is this stanza an installed package?  (deinstall/purge wanted, or not
 * unpacked at all, or only its conffiles left: no.) */
static int
installed(const char *status)
{
	char want[32], flag[32], state[32];

	if (!status)
		return 1; /* status.d entries (distroless) have none */
	if (sscanf(status, "%31s %31s %31s", want, flag, state) != 3)
		return -1;
	if (!strcmp(want, "deinstall") || !strcmp(want, "purge") ||
	    !strcmp(state, "not-installed") || !strcmp(state, "config-files"))
		return 0;
	return 1;
}

static int
stanza_end(struct stele_sbom__pkgs *ps, struct stanza *s, const char *what)
{
	struct stele_sbom_pkg *p;
	char *src, *sp;
	int inst;

	if (!s->any)
		return 0;
	if (!s->package)
		return stele_error_setc(
			STELE_EINVALID,
			"'%s': line %zu: a package entry without a Package field",
			what, s->first_line);
	if ((inst = installed(s->status)) < 0)
		return stele_error_setc(
			STELE_EINVALID,
			"'%s': line %zu: package '%s' has a malformed Status",
			what, s->first_line, s->package);
	if (!inst)
		return 0;
	if (!name_ok(s->package, 0))
		return stele_error_setc(
			STELE_EINVALID,
			"'%s': line %zu: '%.64s' is not a Debian package name",
			what, s->first_line, s->package);
	if (!s->version || !version_ok(s->version))
		return stele_error_setc(
			STELE_EINVALID,
			"'%s': line %zu: package '%s' has %s Version", what,
			s->first_line, s->package,
			s->version ? "a malformed" : "no");
	if (s->arch && !arch_ok(s->arch))
		return stele_error_setc(
			STELE_EINVALID,
			"'%s': line %zu: package '%s' has a malformed Architecture",
			what, s->first_line, s->package);
	if (ps->n >= STELE_SBOM_PKGS_MAX)
		return too_many(what);
	p = stele_sbom__pkg_add(ps);
	p->type = "deb";
	p->name = stele_xstrdup(s->package);
	p->version = stele_xstrdup(s->version);
	p->arch = s->arch ? stele_xstrdup(s->arch) : NULL;
	p->maintainer = s->maintainer ? stele_xstrdup(s->maintainer) : NULL;
	p->url = s->homepage ? stele_xstrdup(s->homepage) : NULL;
	p->db = stele_xstrdup(what);
	/* "Source: name (version)" when the source version differs. */
	if (s->source) {
		src = stele_xstrdup(s->source);
		if ((sp = strchr(src, ' '))) {
			char *v = sp;

			*v++ = '\0';
			while (*v == ' ')
				v++;
			if (*v != '(' || !strchr(v, ')')) {
				free(src);
				return stele_error_setc(
					STELE_EINVALID,
					"'%s': line %zu: package '%s' has a malformed Source",
					what, s->first_line, s->package);
			}
			*strchr(v, ')') = '\0';
			p->source_version = stele_xstrdup(v + 1);
		}
		if (!name_ok(src, 0) ||
		    (p->source_version && !version_ok(p->source_version))) {
			free(src);
			return stele_error_setc(
				STELE_EINVALID,
				"'%s': line %zu: package '%s' has a malformed Source",
				what, s->first_line, s->package);
		}
		p->source = src;
	}
	if (!p->source)
		p->source = stele_xstrdup(p->name);
	if (!p->source_version)
		p->source_version = stele_xstrdup(p->version);
	return 0;
}

int
stele_sbom__dpkg_status(struct stele_sbom__pkgs *ps, const char *data,
			size_t len, const char *what)
{
	char *copy, *line, *next, *colon, **slot = NULL;
	struct stanza s;
	size_t lineno = 0, start = ps->n;
	int error = 0;

	if ((error = db_text(&copy, data, len, what)) < 0)
		return error;
	memset(&s, 0, sizeof(s));
	for (line = copy; line && *line; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		if (!*line || !strcmp(line, "\r")) {
			if ((error = stanza_end(ps, &s, what)) < 0)
				goto out;
			memset(&s, 0, sizeof(s));
			slot = NULL;
			continue;
		}
		if (*line == ' ' || *line == '\t') {
			/* A continuation: only multi-line fields we ignore. */
			if (!s.any) {
				error = stele_error_setc(
					STELE_EINVALID,
					"'%s': line %zu: a continuation line outside a field",
					what, lineno);
				goto out;
			}
			if (slot) {
				error = stele_error_setc(
					STELE_EINVALID,
					"'%s': line %zu: field is one line only",
					what, lineno);
				goto out;
			}
			continue;
		}
		if (*line == '#' && !s.any)
			continue;
		colon = strchr(line, ':');
		if (!colon || colon == line ||
		    (size_t)(colon - line) > FIELD_MAX ||
		    memchr(line, ' ', (size_t)(colon - line))) {
			error = stele_error_setc(
				STELE_EINVALID,
				"'%s': line %zu: not a 'Field: value' line",
				what, lineno);
			goto out;
		}
		*colon = '\0';
		if (!s.any) {
			s.any = 1;
			s.first_line = lineno;
		}
		if ((slot = stanza_slot(&s, line))) {
			char *v = colon + 1, *end;

			if (*slot) {
				error = stele_error_setc(
					STELE_EINVALID,
					"'%s': line %zu: field '%s' appears twice in one entry",
					what, lineno, line);
				goto out;
			}
			while (*v == ' ' || *v == '\t')
				v++;
			end = v + strlen(v);
			while (end > v &&
			       (end[-1] == ' ' || end[-1] == '\t' ||
				end[-1] == '\r'))
				*--end = '\0';
			*slot = v;
		}
	}
	error = stanza_end(ps, &s, what);
out:
	free(copy);
	if (error < 0)
		stele_sbom__pkgs_truncate(ps, start);
	return error;
}

/* ---- apk ---- */

/* A file of the package being read: hand it over (its Z, if any). */
static int
apk_flush(char **pending, const char *sum, stele_sbom__own_fn own,
	  void *payload, size_t pkg)
{
	int error = 0;

	if (*pending && own)
		error = own(payload, pkg, *pending, sum);
	free(*pending);
	*pending = NULL;
	return error;
}

int
stele_sbom__apk_installed(struct stele_sbom__pkgs *ps, const char *data,
			  size_t len, const char *what, stele_sbom__own_fn own,
			  void *payload)
{
	char *copy, *line, *next, **slot, *dir = NULL, *pending = NULL;
	struct stele_sbom_pkg *p = NULL;
	size_t lineno = 0, start = ps->n, first = 0;
	int error = 0;

	if ((error = db_text(&copy, data, len, what)) < 0)
		return error;
	for (line = copy;; line = next) {
		int end = !line || !*line;

		if (!end) {
			lineno++;
			if ((next = strchr(line, '\n')))
				*next++ = '\0';
		}
		if (end || !*line) {
			if ((error = apk_flush(&pending, NULL, own, payload,
					       ps->n - 1)) < 0)
				goto out;
			free(dir);
			dir = NULL;
			if (p) {
				if (!p->name || !name_ok(p->name, 1)) {
					error = stele_error_setc(
						STELE_EINVALID,
						"'%s': line %zu: a package without a valid P: name",
						what, first);
					goto out;
				}
				if (!p->version || !version_ok(p->version)) {
					error = stele_error_setc(
						STELE_EINVALID,
						"'%s': line %zu: package '%s' has %s V: version",
						what, first, p->name,
						p->version ? "a malformed"
							   : "no");
					goto out;
				}
				if (p->arch && !arch_ok(p->arch)) {
					error = stele_error_setc(
						STELE_EINVALID,
						"'%s': line %zu: package '%s' has a malformed A: architecture",
						what, first, p->name);
					goto out;
				}
				if (p->origin && !name_ok(p->origin, 1)) {
					error = stele_error_setc(
						STELE_EINVALID,
						"'%s': line %zu: package '%s' has a malformed o: origin",
						what, first, p->name);
					goto out;
				}
				p->source = stele_xstrdup(p->origin ? p->origin
								    : p->name);
				p->source_version = stele_xstrdup(p->version);
				p = NULL;
			}
			if (end)
				break;
			continue;
		}
		if (line[0] == '\0' || line[1] != ':') {
			error = stele_error_setc(
				STELE_EINVALID,
				"'%s': line %zu: not a 'K:value' line", what,
				lineno);
			goto out;
		}
		if (!p) {
			if (ps->n >= STELE_SBOM_PKGS_MAX) {
				error = too_many(what);
				goto out;
			}
			p = stele_sbom__pkg_add(ps);
			p->type = "apk";
			p->db = stele_xstrdup(what);
			first = lineno;
		}
		if (line[0] == 'F' || line[0] == 'R' || line[0] == 'Z') {
			if (line[0] == 'Z') {
				error = apk_flush(&pending, line + 2, own,
						  payload, ps->n - 1);
			} else if ((error = apk_flush(&pending, NULL, own,
						      payload, ps->n - 1)) ==
				   0) {
				if (line[0] == 'F') {
					free(dir);
					dir = stele_xstrdup(line + 2);
				} else if (!dir) {
					error = stele_error_setc(
						STELE_EINVALID,
						"'%s': line %zu: a file (R:) before its directory (F:)",
						what, lineno);
				} else {
					pending = stele_xasprintf("%s/%s", dir,
								  line + 2);
				}
			}
			if (error < 0)
				goto out;
			continue;
		}
		switch (line[0]) {
		case 'P': slot = &p->name; break;
		case 'V': slot = &p->version; break;
		case 'A': slot = &p->arch; break;
		case 'o': slot = &p->origin; break;
		case 'L': slot = &p->license; break;
		case 'U': slot = &p->url; break;
		case 'c': slot = &p->commit; break;
		default: slot = NULL; break;
		}
		if (!slot)
			continue;
		if (*slot) {
			error = stele_error_setc(
				STELE_EINVALID,
				"'%s': line %zu: field '%c' appears twice in one package",
				what, lineno, line[0]);
			goto out;
		}
		*slot = stele_xstrdup(line + 2);
	}
out:
	free(pending);
	free(dir);
	free(copy);
	if (error < 0)
		stele_sbom__pkgs_truncate(ps, start);
	return error;
}

/* ---- purl ---- */

static void
purl_escape(struct stele_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(".-_~", c))
			stele_buf_putc(b, (char)c);
		else
			stele_buf_printf(b, "%%%02X", c);
	}
}

char *
stele_sbom__purl(const struct stele_sbom_pkg *p, const char *ns,
		 const char *distro)
{
	struct stele_buf b = STELE_BUF_INIT(4096);
	const char *epoch;
	char sep = '?';

	stele_buf_printf(&b, "pkg:%s/", p->type);
	purl_escape(&b, ns);
	stele_buf_putc(&b, '/');
	purl_escape(&b, p->name);
	stele_buf_putc(&b, '@');
	/* rpm: the epoch is a qualifier (purl-spec's rpm type). */
	epoch = !strcmp(p->type, "rpm") ? strchr(p->version, ':') : NULL;
	purl_escape(&b, epoch ? epoch + 1 : p->version);
	/* Qualifiers in the order the purl spec sorts them: by key. */
	if (p->arch) {
		stele_buf_printf(&b, "%carch=", sep);
		purl_escape(&b, p->arch);
		sep = '&';
	}
	if (distro) {
		stele_buf_printf(&b, "%cdistro=", sep);
		purl_escape(&b, distro);
		sep = '&';
	}
	if (epoch) {
		stele_buf_printf(&b, "%cepoch=%.*s", sep,
				 (int)(epoch - p->version), p->version);
		sep = '&';
	}
	if (strcmp(p->source, p->name) ||
	    strcmp(p->source_version, p->version)) {
		stele_buf_printf(&b, "%cupstream=", sep);
		purl_escape(&b, p->source);
		if (strcmp(p->source_version, p->version)) {
			stele_buf_puts(&b, "%40");
			purl_escape(&b, p->source_version);
		}
	}
	return stele_buf_detach(&b);
}
