#ifndef STELE_UTIL_JSTRICT_H
#define STELE_UTIL_JSTRICT_H

#include <jansson.h>

/*
 * Strict shape checks for JSON read from untrusted files, in the manner of
 * containers/image's ParanoidUnmarshalJSONObjectExactFields: the object
 * must have exactly the keys listed (a NULL-terminated list) with no
 * others; keys listed after a NULL entry named "?" are optional.
 * STELE_EINVALID naming `what` and the offending key otherwise.
 *
 *   stele_json_exact(obj, "payload", "critical", "optional", NULL)
 *   stele_json_exact(obj, "signature", "sig", "?", "keyid", NULL)
 */
int stele_json_exact(const json_t *obj, const char *what, ...);

#endif
