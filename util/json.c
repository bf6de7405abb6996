#include <stdio.h>
#include <string.h>

#include "util/error.h"
#include "util/json.h"
#include "util/utf8.h"

static int
has_real(const json_t *v)
{
	const char *k;
	json_t *c;
	size_t i;

	if (json_is_real(v))
		return 1;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, c)
			if (has_real(c))
				return 1;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, c)
			if (has_real(c))
				return 1;
	}
	return 0;
}

static int
emit_cb(const char *buffer, size_t size, void *data)
{
	return stele_buf_put(data, buffer, size) < 0 ? -1 : 0;
}

int
stele_json_emit(struct stele_buf *out, const json_t *v)
{
	if (has_real(v))
		return stele_error_setc(
			STELE_EINVALID,
			"refusing to emit a floating-point number in canonical JSON");
	if (json_dump_callback(v, emit_cb, out,
			       JSON_SORT_KEYS | JSON_COMPACT |
				       JSON_ENCODE_ANY) < 0)
		return stele_error_set("cannot serialise JSON");
	return 0;
}

int
stele_json_put_string(struct stele_buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), w, run = 0;
	int error;

	if ((error = stele_buf_putc(out, '"')) < 0)
		return error;
	while (n) {
		const char *esc = NULL;
		char u[8];

		if (*p >= 0x80) {
			if (stele_utf8_decode(p, n, &w) == STELE_RUNE_ERROR &&
			    w == 1)
				return stele_error_setc(
					STELE_EINVALID,
					"'%s' is not UTF-8: it has no JSON "
					"string",
					s);
		} else {
			w = 1;
			switch (*p) {
			case '"': esc = "\\\""; break;
			case '\\': esc = "\\\\"; break;
			case '\b': esc = "\\b"; break;
			case '\f': esc = "\\f"; break;
			case '\n': esc = "\\n"; break;
			case '\r': esc = "\\r"; break;
			case '\t': esc = "\\t"; break;
			default:
				if (*p < 0x20) {
					snprintf(u, sizeof(u), "\\u%04X", *p);
					esc = u;
				}
			}
		}
		if (esc) {
			/* What ran up to here as is, then the escape. */
			if ((error = stele_buf_put(out, (const char *)p - run,
						   run)) < 0 ||
			    (error = stele_buf_puts(out, esc)) < 0)
				return error;
			run = 0;
		} else {
			run += w;
		}
		p += w;
		n -= w;
	}
	if ((error = stele_buf_put(out, (const char *)p - run, run)) < 0)
		return error;
	return stele_buf_putc(out, '"');
}

int
stele_json_parse(json_t **out, const void *data, size_t len, const char *what)
{
	json_error_t jerr;
	json_t *v;

	*out = NULL;
	v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		return stele_error_setc(
			STELE_EINVALID,
			"invalid JSON in %s: %s (line %d, column %d)", what,
			jerr.text, jerr.line, jerr.column);
	*out = v;
	return 0;
}

json_t *
stele_json_strv(const char *const *v)
{
	json_t *a = json_array();

	for (; v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

const char *
stele_json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

json_t *
stele_json_member(json_t *obj, const char *key, json_type type)
{
	json_t *v = json_object_get(obj, key);

	if (v && json_typeof(v) == type)
		return v;
	v = type == JSON_ARRAY ? json_array() : json_object();
	json_object_set_new(obj, key, v);
	return v;
}

json_int_t
stele_json_int(const json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

const char *
stele_json_unknown_key(const json_t *obj, const char *const *allowed)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)obj, k, v) {
		for (i = 0; allowed[i]; i++)
			if (!strcmp(k, allowed[i]))
				break;
		if (!allowed[i])
			return k;
	}
	return NULL;
}
