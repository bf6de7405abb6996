/* Version ordering: dpkg's through libdpkg, apk's rules, rpm's through
 * librpmio (version.h). */
#define LIBDPKG_VOLATILE_API 1
#include <dpkg/dpkg.h>
#include <dpkg/version.h>

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "util/lazy.h"
#include "vuln/version.h"

/*
 * Split `s` as dpkg's parseversion() does, into `copy` (freed by the
 * caller), so that dpkg_version_compare() sees what dpkg would.  We do not
 * call parseversion() itself: it allocates from libdpkg's process-wide
 * obstack, which is only ever freed all at once.
 */
static int
deb_split(struct dpkg_version *v, char **copy, const char *s)
{
	const char *end;
	char *str, *colon, *hyphen, *p;
	long epoch;

	*copy = NULL;
	while (*s && isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	if (end == s)
		return stele_error_setc(STELE_EINVALID,
					"version string is empty");
	str = stele_xstrndup(s, (size_t)(end - s));
	for (p = str; *p; p++) {
		if (isspace((unsigned char)*p)) {
			stele_error_setc(STELE_EINVALID,
					 "version '%s' has embedded spaces",
					 str);
			goto fail;
		}
	}
	v->epoch = 0;
	if ((colon = strchr(str, ':')) != NULL) {
		if (colon == str) {
			stele_error_setc(STELE_EINVALID,
					 "epoch in version '%s' is empty", str);
			goto fail;
		}
		errno = 0;
		epoch = strtol(str, &p, 10);
		if (p != colon) {
			stele_error_setc(STELE_EINVALID,
					 "epoch in version '%s' is not number",
					 str);
			goto fail;
		}
		if (epoch > INT_MAX || errno == ERANGE) {
			stele_error_setc(STELE_EINVALID,
					 "epoch in version '%s' is too big",
					 str);
			goto fail;
		}
		if (epoch < 0) {
			stele_error_setc(STELE_EINVALID,
					 "epoch in version '%s' is negative",
					 str);
			goto fail;
		}
		if (colon[1] == '\0') {
			stele_error_setc(STELE_EINVALID,
					 "nothing after colon in version '%s'",
					 str);
			goto fail;
		}
		v->epoch = (unsigned int)epoch;
		p = colon + 1;
	} else {
		p = str;
	}
	v->version = p;
	v->revision = "";
	if ((hyphen = strrchr(p, '-')) != NULL) {
		*hyphen = '\0';
		if (hyphen[1] == '\0') {
			stele_error_setc(
				STELE_EINVALID,
				"revision number is empty in version '%s'", s);
			goto fail;
		}
		v->revision = hyphen + 1;
	}
	if (*v->version == '\0') {
		stele_error_setc(STELE_EINVALID,
				 "version number is empty in version '%s'", s);
		goto fail;
	}
	*copy = str;
	return 0;
fail:
	free(str);
	return STELE_EINVALID;
}

static int
deb_cmp(int *out, const char *a, const char *b)
{
	struct dpkg_version va, vb;
	char *ca = NULL, *cb = NULL;
	int error;

	if ((error = deb_split(&va, &ca, a)) < 0 ||
	    (error = deb_split(&vb, &cb, b)) < 0)
		goto out;
	*out = dpkg_version_compare(&va, &vb);
out:
	free(ca);
	free(cb);
	return error;
}

/*
 * apk: a version is a stream of tokens, each of a kind; while both streams
 * have tokens of the same kind their values decide, and where the kinds
 * first differ the kind decides (a later kind in this list orders before),
 * except that a pre-release suffix always orders before.
 */
enum apk_tok {
	APK_DIGIT_OR_ZERO, /* a component after '.' */
	APK_DIGIT, /* the first component */
	APK_LETTER,
	APK_SUFFIX,
	APK_SUFFIX_NO,
	APK_REVISION_NO,
	APK_END,
	APK_INVALID
};

static const char *const apk_pre[] = { "alpha", "beta", "pre", "rc" };
static const char *const apk_post[] = { "cvs", "svn", "git", "hg", "p" };

struct apk_cur {
	const char *p;
	enum apk_tok kind;
	const char *tok; /* the token's text */
	size_t len;
	long long num; /* numeric value, or suffix rank */
};

static long long
apk_suffix_rank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(apk_pre) / sizeof(*apk_pre); i++)
		if (strlen(apk_pre[i]) == n && !memcmp(s, apk_pre[i], n))
			return (long long)i - 4; /* -4 .. -1 */
	for (i = 0; i < sizeof(apk_post) / sizeof(*apk_post); i++)
		if (strlen(apk_post[i]) == n && !memcmp(s, apk_post[i], n))
			return (long long)i + 1; /* 1 .. 5 */
	return 0;
}

/* Read the token of kind c->kind at c->p, then decide the next kind. */
static void
apk_next(struct apk_cur *c)
{
	const char *s = c->p, *q;

	c->tok = s;
	c->num = 0;
	switch (c->kind) {
	case APK_DIGIT_OR_ZERO:
	case APK_DIGIT:
	case APK_SUFFIX_NO:
	case APK_REVISION_NO:
		if (!isdigit((unsigned char)*s)) {
			c->kind = APK_INVALID;
			return;
		}
		while (isdigit((unsigned char)*s)) {
			if (c->num < 100000000000000LL)
				c->num = c->num * 10 + (*s - '0');
			s++;
		}
		break;
	case APK_LETTER: c->num = (unsigned char)*s++; break;
	case APK_SUFFIX:
		for (q = s; islower((unsigned char)*q); q++)
			;
		if ((c->num = apk_suffix_rank(s, (size_t)(q - s))) == 0) {
			c->kind = APK_INVALID;
			return;
		}
		s = q;
		break;
	case APK_END:
	case APK_INVALID: return;
	}
	c->len = (size_t)(s - c->tok);
	c->p = s;
	/* The next token's kind. */
	if (*s == '~') {
		/* ~hash: a commit id, ignored; only -rN may follow it */
		for (s++; isxdigit((unsigned char)*s); s++)
			;
		c->p = s;
		if (*s == '\0')
			c->kind = APK_END;
		else if (*s == '-' && s[1] == 'r' &&
			 c->kind != APK_REVISION_NO) {
			c->p = s + 2;
			c->kind = APK_REVISION_NO;
		} else
			c->kind = APK_INVALID;
		return;
	}
	if (*s == '\0') {
		c->kind = APK_END;
	} else if (*s == '-' && s[1] == 'r' && c->kind != APK_REVISION_NO) {
		c->p = s + 2;
		c->kind = APK_REVISION_NO;
	} else if (*s == '.' &&
		   (c->kind == APK_DIGIT || c->kind == APK_DIGIT_OR_ZERO)) {
		c->p = s + 1;
		c->kind = APK_DIGIT_OR_ZERO;
	} else if (islower((unsigned char)*s) &&
		   (c->kind == APK_DIGIT || c->kind == APK_DIGIT_OR_ZERO)) {
		c->kind = APK_LETTER;
	} else if (*s == '_' && c->kind != APK_REVISION_NO) {
		c->p = s + 1;
		c->kind = APK_SUFFIX;
	} else if (isdigit((unsigned char)*s) && c->kind == APK_SUFFIX) {
		c->kind = APK_SUFFIX_NO;
	} else {
		c->kind = APK_INVALID;
	}
}

/* Compare the current tokens of two cursors of the same kind. */
static int
apk_tok_cmp(const struct apk_cur *a, const struct apk_cur *b, enum apk_tok k)
{
	size_t n;
	int r;

	/* A component after a dot with a leading zero compares as a
	 * fraction: digit by digit. */
	if (k == APK_DIGIT_OR_ZERO && (*a->tok == '0' || *b->tok == '0')) {
		n = a->len < b->len ? a->len : b->len;
		if ((r = memcmp(a->tok, b->tok, n)) != 0)
			return r < 0 ? -1 : 1;
		return a->len < b->len ? -1 : a->len > b->len;
	}
	return a->num < b->num ? -1 : a->num > b->num;
}

static int
apk_cmp(int *out, const char *a, const char *b)
{
	struct apk_cur ca = { a, APK_DIGIT, a, 0, 0 };
	struct apk_cur cb = { b, APK_DIGIT, b, 0, 0 };
	enum apk_tok ka, kb;
	int r;

	for (;;) {
		ka = ca.kind;
		kb = cb.kind;
		if (ka != kb || ka == APK_END || ka == APK_INVALID)
			break;
		apk_next(&ca);
		apk_next(&cb);
		if (ca.kind == APK_INVALID || cb.kind == APK_INVALID)
			break;
		if ((r = apk_tok_cmp(&ca, &cb, ka)) != 0) {
			/* still validate the rest */
			while (ca.kind != APK_END && ca.kind != APK_INVALID)
				apk_next(&ca);
			while (cb.kind != APK_END && cb.kind != APK_INVALID)
				apk_next(&cb);
			if (ca.kind == APK_INVALID || cb.kind == APK_INVALID)
				break;
			*out = r;
			return 0;
		}
	}
	/* Where the kinds differ: validate the rest, then decide. */
	{
		struct apk_cur ra = ca, rb = cb;

		while (ra.kind != APK_END && ra.kind != APK_INVALID)
			apk_next(&ra);
		while (rb.kind != APK_END && rb.kind != APK_INVALID)
			apk_next(&rb);
		if (ra.kind == APK_INVALID || !*a)
			return stele_error_setc(STELE_EINVALID,
						"invalid apk version '%s'", a);
		if (rb.kind == APK_INVALID || !*b)
			return stele_error_setc(STELE_EINVALID,
						"invalid apk version '%s'", b);
	}
	if (ca.kind == cb.kind) {
		*out = 0;
		return 0;
	}
	if (ca.kind == APK_SUFFIX) {
		struct apk_cur t = ca;

		apk_next(&t);
		if (t.num < 0) {
			*out = -1;
			return 0;
		}
	}
	if (cb.kind == APK_SUFFIX) {
		struct apk_cur t = cb;

		apk_next(&t);
		if (t.num < 0) {
			*out = 1;
			return 0;
		}
	}
	*out = ca.kind > cb.kind ? -1 : 1;
	return 0;
}

static int
rpm_cmp(int *out, const char *a, const char *b)
{
	rpmver va = NULL, vb = NULL;
	int error;

	if ((error = stele_init_rpm()) < 0)
		goto out;
	if (!*a || !*b) {
		error = stele_error_setc(STELE_EINVALID,
					 "version string is empty");
		goto out;
	}
	if (!(va = rpmverParse(a)) || !(vb = rpmverParse(b))) {
		error = stele_error_setc(STELE_EINVALID,
					 "version '%s' is not an rpm version",
					 va ? b : a);
		goto out;
	}
	*out = rpmverCmp(va, vb);
out:
	if (va)
		rpmverFree(va);
	if (vb)
		rpmverFree(vb);
	return error;
}

int
stele_vuln_version_cmp(int *out, enum stele_vuln_scheme scheme, const char *a,
		       const char *b)
{
	int error, r = 0;

	*out = 0;
	switch (scheme) {
	case STELE_VULN_DEB: error = deb_cmp(&r, a, b); break;
	case STELE_VULN_APK: error = apk_cmp(&r, a, b); break;
	case STELE_VULN_RPM: error = rpm_cmp(&r, a, b); break;
	default: assert(!"unknown version scheme"); return STELE_ERROR;
	}
	if (error < 0)
		return error;
	*out = r < 0 ? -1 : r > 0;
	return 0;
}
