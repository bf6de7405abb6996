#ifndef STELE_UTIL_JSON_H
#define STELE_UTIL_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "util/buf.h"

/*
 * Canonical JSON as stele emits it: sorted keys, compact, no floats (reals
 * are refused), UTF-8.  Appends to `out`.  These bytes are what gets hashed
 * and signed; never re-serialise parsed input.
 */
int stele_json_emit(struct stele_buf *out, const json_t *v);
/*
 * Append `s` as a JSON string, byte for byte as stele_json_emit writes it
 * (quotes, backslash and control characters escaped, other UTF-8 as is):
 * for a writer of many small canonical records that builds no objects.
 * STELE_EINVALID when `s` is not UTF-8.
 */
int stele_json_put_string(struct stele_buf *out, const char *s);
/*
 * Strict parse of untrusted bytes: duplicate keys rejected, nothing after
 * the value.  `what` names the source in the error.  *out owned by caller.
 */
int stele_json_parse(json_t **out, const void *data, size_t len,
		     const char *what);
/* A new array of the strings of the NULL-terminated `v` (NULL: empty). */
json_t *stele_json_strv(const char *const *v);
/* Borrowed string member or NULL when absent or not a string. */
const char *stele_json_str(const json_t *obj, const char *key);
/* The member `key` of `obj` when it is a `type` (JSON_OBJECT or JSON_ARRAY),
 * else a new empty one put there; borrowed. */
json_t *stele_json_member(json_t *obj, const char *key, json_type type);
/* Integer member, 0 when absent or not an integer. */
json_int_t stele_json_int(const json_t *obj, const char *key);
/*
 * The first key of `obj` not in the NULL-terminated `allowed`, borrowed from
 * `obj`; NULL when every key is allowed.
 */
const char *stele_json_unknown_key(const json_t *obj,
				   const char *const *allowed);

#endif
