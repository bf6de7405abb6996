#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/values.h"
#include "util/fs.h"

#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define NS_MAX ((uint64_t)1 << 63)

static int
fail(const char **why, const char *msg)
{
	*why = msg;
	return -1;
}

/* Digits as an integer; -1 when they overflow 2^63 (Go's leadingInt). */
static int
leading_int(uint64_t *v, const char **s)
{
	uint64_t x = 0;

	for (; IS_DIGIT(**s); (*s)++) {
		if (x > NS_MAX / 10)
			return -1;
		x = x * 10 + (uint64_t)(**s - '0');
		if (x > NS_MAX)
			return -1;
	}
	*v = x;
	return 0;
}

/* Go's unitMap; "µs" as U+00B5 and as U+03BC. */
static uint64_t
unit_ns(const char *u, size_t n)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {
		{ "ns", 1 },
		{ "us", 1000 },
		{ "\xc2\xb5s", 1000 },
		{ "\xce\xbcs", 1000 },
		{ "ms", 1000000 },
		{ "s", 1000000000 },
		{ "m", 60000000000ULL },
		{ "h", 3600000000000ULL },
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == n && !memcmp(units[i].name, u, n))
			return units[i].ns;
	return 0;
}

int
stele_value_duration(int64_t *out, const char *s, const char **why)
{
	uint64_t d = 0, v, f, unit;
	double scale;
	const char *start, *u;
	int neg = 0, pre, post;

	*out = 0;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!strcmp(s, "0"))
		return 0;
	if (!*s)
		return fail(why, "invalid duration");
	while (*s) {
		if (*s != '.' && !IS_DIGIT(*s))
			return fail(why, "invalid duration");
		start = s;
		if (leading_int(&v, &s) < 0)
			return fail(why, "invalid duration");
		pre = s != start;
		f = 0;
		scale = 1;
		post = 0;
		if (*s == '.') {
			/* Go keeps the digits that fit and scales by all. */
			int overflow = 0;

			for (start = ++s; IS_DIGIT(*s); s++) {
				if (overflow || f > (NS_MAX - 1) / 10) {
					overflow = 1;
					continue;
				}
				f = f * 10 + (uint64_t)(*s - '0');
				scale *= 10;
			}
			post = s != start;
		}
		if (!pre && !post)
			return fail(why, "invalid duration");
		for (u = s; *s && *s != '.' && !IS_DIGIT(*s); s++)
			;
		if (s == u)
			return fail(why, "missing unit in duration");
		if (!(unit = unit_ns(u, (size_t)(s - u))))
			return fail(why, "unknown unit in duration");
		if (v > NS_MAX / unit)
			return fail(why, "invalid duration");
		v *= unit;
		if (f > 0) {
			/* Go computes this part in float64; so does this. */
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > NS_MAX)
				return fail(why, "invalid duration");
		}
		d += v;
		if (d > NS_MAX)
			return fail(why, "invalid duration");
	}
	if (neg) {
		*out = d == NS_MAX ? INT64_MIN : -(int64_t)d;
		return 0;
	}
	if (d > NS_MAX - 1)
		return fail(why, "invalid duration");
	*out = (int64_t)d;
	return 0;
}

int
stele_value_int32(int64_t *out, const char *s, const char **why)
{
	int64_t v = 0;
	int neg = 0;

	*out = 0;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!*s)
		return fail(why, "invalid syntax");
	for (; *s; s++) {
		if (!IS_DIGIT(*s))
			return fail(why, "invalid syntax");
		v = v * 10 + (*s - '0');
		if (v > (int64_t)1 << 31)
			return fail(why, "value out of range");
	}
	if (neg)
		v = -v;
	if (v > INT32_MAX || v < INT32_MIN)
		return fail(why, "value out of range");
	*out = v;
	return 0;
}

/* 0..65535 in decimal (Go's ParseInt, then the range). */
static int
port_number(long *out, const char *s, size_t n)
{
	int64_t v;
	char buf[16];
	const char *why;

	if (!n || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (stele_value_int32(&v, buf, &why) < 0 || v < 0 || v > 65535)
		return -1;
	*out = (long)v;
	return 0;
}

/* PORT or PORT-END (BuildKit's parsePortRange). */
static int
port_range(long *start, long *end, const char *s, size_t n)
{
	const char *dash = memchr(s, '-', n);

	if (!dash)
		return port_number(start, s, n) < 0 ? -1 : (*end = *start, 0);
	if (port_number(start, s, (size_t)(dash - s)) < 0)
		return -1;
	if ((size_t)(dash - s) == n - (size_t)(dash - s) - 1 &&
	    !memcmp(s, dash + 1, (size_t)(dash - s))) {
		*end = *start;
		return 0;
	}
	if (port_number(end, dash + 1, n - (size_t)(dash - s) - 1) < 0)
		return -1;
	return *end < *start ? -1 : 0;
}

static int
valid_ip(const char *s, size_t n)
{
	unsigned char addr[16];
	char buf[64];

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (!n || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, addr) == 1 ||
		inet_pton(AF_INET6, buf, addr) == 1;
}

int
stele_value_ports(char ***out, size_t *n, const char *spec, const char **why)
{
	const char *cport = strrchr(spec, ':'), *hport = NULL, *slash;
	const char *proto = "tcp";
	char lproto[8];
	long start, end, hs, he, p;
	size_t clen, i;

	*out = NULL;
	*n = 0;
	if (cport) {
		/* [IP:]HOSTPORT:PORT; the IP may itself hold colons */
		const char *c = cport;

		cport++;
		while (c > spec && c[-1] != ':')
			c--;
		hport = c;
		if (c - 1 > spec && !valid_ip(spec, (size_t)(c - 1 - spec)))
			return fail(why, "invalid IP address");
		if (cport - 1 == hport)
			hport = NULL; /* "::80": no host port */
		else if (port_range(&hs, &he, hport,
				    (size_t)(cport - 1 - hport)) < 0)
			return fail(why, "invalid host port");
	} else {
		cport = spec;
	}
	slash = strchr(cport, '/');
	clen = slash ? (size_t)(slash - cport) : strlen(cport);
	if (!clen)
		return fail(why, "no port specified");
	if (slash && slash[1]) {
		if (strlen(slash + 1) >= sizeof(lproto))
			return fail(why,
				    "invalid protocol (want tcp, udp or sctp)");
		for (i = 0; slash[1 + i]; i++)
			lproto[i] = (char)(slash[1 + i] >= 'A' &&
							   slash[1 + i] <= 'Z'
						   ? slash[1 + i] - 'A' + 'a'
						   : slash[1 + i]);
		lproto[i] = '\0';
		if (strcmp(lproto, "tcp") && strcmp(lproto, "udp") &&
		    strcmp(lproto, "sctp"))
			return fail(why,
				    "invalid protocol (want tcp, udp or sctp)");
		proto = lproto;
	}
	if (port_range(&start, &end, cport, clen) < 0)
		return fail(why, "invalid port or port range");
	/* A host range may stand for one container port, not another range. */
	if (hport && end != start && he - hs != end - start)
		return fail(why,
			    "host and container port ranges differ in size");
	*n = (size_t)(end - start + 1);
	*out = stele_xcalloc(*n, sizeof(**out));
	for (p = start, i = 0; p <= end; p++, i++)
		(*out)[i] = stele_xasprintf("%ld/%s", p, proto);
	return 0;
}

int
stele_value_signal(const char *sig)
{
	static const char *names[] = {
		"HUP",  "INT",    "QUIT", "ILL",  "TRAP",   "ABRT", "BUS",
		"FPE",  "KILL",   "USR1", "SEGV", "USR2",   "PIPE", "ALRM",
		"TERM", "STKFLT", "CHLD", "CONT", "STOP",   "TSTP", "TTIN",
		"TTOU", "URG",    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH",
		"IO",   "PWR",    "SYS",  NULL
	};
	const char *p = sig;
	size_t i;

	if (!strncmp(p, "SIG", 3))
		p += 3;
	for (i = 0; names[i]; i++)
		if (!strcmp(p, names[i]))
			return 1;
	if (*sig && strspn(sig, "0123456789") == strlen(sig)) {
		long v = strtol(sig, NULL, 10);

		return v > 0 && v <= 64;
	}
	return 0;
}

int
stele_value_is_url(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8) ||
		!strncmp(s, "ftp://", 6);
}

int
stele_value_is_git_url(const char *s)
{
	const char *hash = strchr(s, '#');

	if (!strncmp(s, "git+", 4) || !strncmp(s, "git@", 4))
		return 1;
	return stele_value_is_url(s) && hash && hash - s > 4 &&
		!strncmp(hash - 4, ".git", 4);
}

/* ---- chmod ---- */

#define CHMOD_UMASK 022u

/* The permission bits one class letter stands for. */
static unsigned
class_bits(char c)
{
	return c == 'u'    ? 04700u
		: c == 'g' ? 02070u
		: c == 'o' ? 07u
		: c == 'a' ? 06777u
			   : 0;
}

/*
 * Walk `spec`, applying it to *mode when `apply` (omode: the mode before,
 * for X).  -1 on a syntax error.
 */
static int
chmod_walk(const char *s, unsigned *mode, unsigned omode, int dir, int apply)
{
	unsigned who, bits, copy, add, cls;
	char op, c;

	if (!*s)
		return -1;
	for (;;) {
		for (who = 0; (cls = class_bits(*s)); s++)
			who |= cls;
		if (*s != '+' && *s != '-' && *s != '=')
			return -1;
		while (*s == '+' || *s == '-' || *s == '=') {
			op = *s++;
			bits = 0;
			copy = 0;
			for (; (c = *s) && strchr("rwxXstugo", c); s++) {
				if (c == 'r')
					bits |= 0444;
				else if (c == 'w')
					bits |= 0222;
				else if (c == 'x')
					bits |= 0111;
				else if (c == 'X' && (dir || (omode & 0111)))
					bits |= 0111;
				else if (c == 's' && (!who || (who & ~07u)))
					bits |= 06000;
				else if (c == 't' && (!who || (who & ~07u)))
					bits |= 01000;
				else if (c == 'u' || c == 'g' || c == 'o') {
					/* the class's current rwx, copied */
					unsigned v = c == 'u' ? (*mode >> 6) & 7
						: c == 'g'    ? (*mode >> 3) & 7
							      : *mode & 7;

					copy |= v << 6 | v << 3 | v;
				}
			}
			/* without a class: all, less the umask; sticky and
			   set-id bits are not the umask's business */
			add = (bits | copy) &
				(who ? (who | (bits & 01000))
				     : (~CHMOD_UMASK & 07777u));
			if (!apply)
				continue;
			if (op == '=')
				*mode &= ~((who ? who : 06777u) |
					   (bits & 01000u));
			if (op == '-')
				*mode &= ~add;
			else
				*mode |= add;
		}
		if (!*s)
			return 0;
		if (*s++ != ',')
			return -1;
	}
}

static int
chmod_octal(unsigned *out, const char *s)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			return -1;
		v = v * 8 + (unsigned long)(*s - '0');
		if (v > 07777)
			return -2;
	}
	*out = (unsigned)v;
	return 0;
}

int
stele_value_chmod_check(const char *spec, const char **why)
{
	unsigned m = 0;
	int r = chmod_octal(&m, spec);

	if (r == 0)
		return 0;
	/* BuildKit: what looks numeric must be octal up to 07777 */
	if (r == -2 || (*spec >= '0' && *spec <= '9'))
		return fail(why,
			    "want octal up to 07777, or a symbolic mode "
			    "such as u+x,go-w");
	if (chmod_walk(spec, &m, 0, 0, 0) < 0)
		return fail(why,
			    "invalid symbolic mode (chmod(1): "
			    "[ugoa]*[-+=][rwxXst]*, comma-separated)");
	return 0;
}

unsigned
stele_value_chmod(const char *spec, unsigned mode, int dir)
{
	unsigned m;

	if (chmod_octal(&m, spec) == 0)
		return m;
	m = mode & 07777;
	if (chmod_walk(spec, &m, mode & 07777, dir, 1) < 0)
		return mode & 07777;
	return m;
}

/* ---- RUN --mount ---- */

/* Go's strconv.ParseBool. */
static int
parse_bool(int *out, const char *v)
{
	static const char *const t[] = { "1",    "t",    "T", "TRUE",
					 "true", "True", NULL };
	static const char *const f[] = { "0",     "f",     "F", "FALSE",
					 "false", "False", NULL };
	size_t i;

	for (i = 0; t[i]; i++)
		if (!strcmp(v, t[i]))
			return *out = 1, 0;
	for (i = 0; f[i]; i++)
		if (!strcmp(v, f[i]))
			return *out = 0, 0;
	return -1;
}

/* docker/go-units RAMInBytes: a number and an optional binary unit
   (b, k, m, g, t, p, any case, "b"/"ib" after the letter allowed). */
static int
parse_ram(long long *out, const char *v)
{
	static const char units[] = "bkmgtp";
	const char *u;
	char *end;
	double n;
	int shift = 0;

	n = strtod(v, &end);
	if (end == v || n < 0 || (*v != '.' && !IS_DIGIT(*v)))
		return -1;
	if (*end) {
		char c = (char)(*end | 0x20);

		if (!(u = strchr(units, c)))
			return -1;
		shift = (int)(u - units) * 10;
		end++;
		if (c != 'b' && (*end | 0x20) == 'i')
			end++;
		if (c != 'b' && (*end | 0x20) == 'b')
			end++;
		if (*end)
			return -1;
	}
	if (n * (double)(1LL << shift) > 9.0e18)
		return -1;
	*out = (long long)(n * (double)(1LL << shift));
	return 0;
}

static int mfail(char *why, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
mfail(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return -1;
}

/* The next CSV field (Go's encoding/csv: "…" quotes, "" a quote). */
static char *
csv_next(const char **s, int *more)
{
	char *out = stele_xmalloc(strlen(*s) + 1), *o = out;
	const char *p = *s;

	if (*p == '"') {
		for (p++; *p; p++) {
			if (*p == '"' && p[1] == '"')
				*o++ = *p++;
			else if (*p == '"')
				break;
			else
				*o++ = *p;
		}
		if (*p == '"')
			p++;
		while (*p && *p != ',')
			*o++ = *p++;
	} else {
		while (*p && *p != ',')
			*o++ = *p++;
	}
	*o = '\0';
	*more = *p == ',';
	*s = *p ? p + 1 : p;
	return out;
}

int
stele_value_mount(struct stele_mount *m, const char *spec, char *why, size_t n)
{
	static const char *const tname[] = { "bind", "cache", "tmpfs",
					     "secret" };
	const char *s = spec;
	int ro_auto = 1, b, error = 0, more = 1;
	long long v;

	memset(m, 0, sizeof(*m));
	m->mode = m->uid = m->gid = -1;
	m->type = STELE_MOUNT_BIND;
	while (more && !error) {
		char *f = csv_next(&s, &more), *eq = strchr(f, '='), *k, *val,
		     *c;

		if (eq)
			*eq = '\0';
		for (c = f; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a'
							   : *c);
		k = f;
		val = eq ? eq + 1 : NULL;
		if (!val) {
			if (!strcmp(k, "ro") || !strcmp(k, "readonly"))
				m->readonly = 1, ro_auto = 0;
			else if (!strcmp(k, "rw") || !strcmp(k, "readwrite"))
				m->readonly = 0, ro_auto = 0;
			else if (!strcmp(k, "required") &&
				 m->type == STELE_MOUNT_SECRET)
				m->required = 1;
			else if (!strcmp(k, "required"))
				error = mfail(why, n,
					      "unexpected key '%s' for this "
					      "mount type",
					      k);
			else
				error = mfail(why, n,
					      "invalid field '%s' must be "
					      "a key=value pair",
					      k);
		} else if (!strcmp(k, "type")) {
			for (c = val; *c; c++)
				*c = (char)(*c >= 'A' && *c <= 'Z'
						    ? *c - 'A' + 'a'
						    : *c);
			if (!strcmp(val, "cache"))
				m->type = STELE_MOUNT_CACHE;
			else if (!strcmp(val, "tmpfs"))
				m->type = STELE_MOUNT_TMPFS;
			else if (!strcmp(val, "secret"))
				m->type = STELE_MOUNT_SECRET;
			else if (!strcmp(val, "bind"))
				m->type = STELE_MOUNT_BIND;
			else if (!strcmp(val, "ssh"))
				error = mfail(
					why, n,
					"type=%s is not supported: no SSH "
					"agent is forwarded into a build",
					val);
			else
				error = mfail(why, n,
					      "unsupported mount type '%s'",
					      val);
		} else if (!strcmp(k, "target") || !strcmp(k, "dst") ||
			   !strcmp(k, "destination")) {
			free(m->target);
			m->target = stele_xstrdup(val);
		} else if (!strcmp(k, "id")) {
			free(m->id);
			m->id = stele_xstrdup(val);
		} else if (!strcmp(k, "env")) {
			free(m->env);
			m->env = stele_xstrdup(val);
		} else if (!strcmp(k, "sharing")) {
			if (strcmp(val, "shared") && strcmp(val, "private") &&
			    strcmp(val, "locked"))
				error = mfail(why, n,
					      "unsupported sharing value "
					      "'%s'",
					      val);
			free(m->sharing);
			m->sharing = stele_xstrdup(val);
		} else if (!strcmp(k, "ro") || !strcmp(k, "readonly") ||
			   !strcmp(k, "rw") || !strcmp(k, "readwrite")) {
			if (parse_bool(&b, val) < 0)
				error = mfail(why, n,
					      "invalid value for %s: %s", k,
					      val);
			/* ro/readonly=B, rw/readwrite=B */
			m->readonly = !strcmp(k, "ro") || !strcmp(k, "readonly")
				? b
				: !b;
			ro_auto = 0;
		} else if (!strcmp(k, "required")) {
			if (m->type != STELE_MOUNT_SECRET)
				error = mfail(why, n,
					      "unexpected key '%s' for this "
					      "mount type",
					      k);
			else if (parse_bool(&m->required, val) < 0)
				error = mfail(why, n,
					      "invalid value for %s: %s", k,
					      val);
		} else if (!strcmp(k, "size")) {
			if (m->type != STELE_MOUNT_TMPFS)
				error = mfail(why, n,
					      "unexpected key '%s' for this "
					      "mount type",
					      k);
			else if (!strchr(val, '$') &&
				 parse_ram(&m->size, val) < 0)
				error = mfail(why, n,
					      "invalid value for %s: %s", k,
					      val);
		} else if (!strcmp(k, "mode") || !strcmp(k, "uid") ||
			   !strcmp(k, "gid")) {
			char *end;

			v = strtoll(val, &end, *k == 'm' ? 8 : 10);
			if (!*val || *end || v < 0 || v > 0xffffffffLL)
				error = mfail(why, n, "invalid value %s for %s",
					      val, k);
			else if (*k == 'm')
				m->mode = v;
			else if (*k == 'u')
				m->uid = v;
			else
				m->gid = v;
		} else if (!strcmp(k, "from")) {
			/* BuildKit: a stage or image is named as written */
			if (strchr(val, '$'))
				error = mfail(why, n,
					      "'%s' doesn't support variable "
					      "expansion, define alias stage "
					      "instead",
					      k);
			free(m->from);
			m->from = stele_xstrdup(val);
		} else if (!strcmp(k, "source") || !strcmp(k, "src")) {
			free(m->source);
			m->source = stele_xstrdup(val);
		} else {
			error = mfail(why, n, "unexpected key '%s' in '%s'", k,
				      spec);
		}
		free(f);
	}
	if (!error && m->type != STELE_MOUNT_BIND && (m->from || m->source))
		error = mfail(
			why, n,
			"'%s' is not supported on a %s mount: a "
			"cache starts empty, a secret comes from --secret",
			m->from ? "from" : "source", tname[m->type]);
	if (!error && m->type != STELE_MOUNT_SECRET &&
	    m->type != STELE_MOUNT_CACHE &&
	    (m->mode >= 0 || m->uid >= 0 || m->gid >= 0))
		error = mfail(why, n,
			      "mode, uid and gid are not allowed "
			      "for %s mounts",
			      tname[m->type]);
	if (!error && m->sharing && m->type != STELE_MOUNT_CACHE)
		error = mfail(why, n, "%s", "sharing is only for cache mounts");
	if (!error && m->type == STELE_MOUNT_SECRET && !m->target && !m->id)
		error = mfail(why, n, "%s",
			      "invalid secret mount: one of id, "
			      "target required");
	if (!error && m->env && m->type != STELE_MOUNT_SECRET)
		error = mfail(why, n, "unexpected key '%s' for this mount type",
			      "env");
	if (!error && ro_auto)
		m->readonly = m->type == STELE_MOUNT_SECRET ||
			m->type == STELE_MOUNT_BIND;
	if (error)
		stele_mount_release(m);
	return error;
}

void
stele_mount_release(struct stele_mount *m)
{
	free(m->target);
	free(m->id);
	free(m->env);
	free(m->sharing);
	free(m->from);
	free(m->source);
	m->target = m->id = m->env = m->sharing = m->from = m->source = NULL;
}
