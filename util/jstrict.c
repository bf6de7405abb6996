#include <stdarg.h>
#include <string.h>

#include "util/error.h"
#include "util/jstrict.h"

#define EXACT_MAX 32

int
stele_json_exact(const json_t *obj, const char *what, ...)
{
	const char *keys[EXACT_MAX], *k;
	int optional[EXACT_MAX];
	size_t n = 0, i;
	int opt = 0;
	json_t *v;
	va_list ap;

	if (!json_is_object(obj))
		return stele_error_setc(STELE_EINVALID,
					"%s is not a JSON object", what);
	va_start(ap, what);
	while ((k = va_arg(ap, const char *)) && n < EXACT_MAX) {
		if (!strcmp(k, "?")) {
			opt = 1;
			continue;
		}
		keys[n] = k;
		optional[n++] = opt;
	}
	va_end(ap);
	for (i = 0; i < n; i++) {
		if (!json_object_get(obj, keys[i]) && !optional[i])
			return stele_error_setc(STELE_EINVALID,
						"%s lacks the field '%s'", what,
						keys[i]);
	}
	json_object_foreach((json_t *)obj, k, v) {
		for (i = 0; i < n; i++)
			if (!strcmp(k, keys[i]))
				break;
		if (i == n)
			return stele_error_setc(STELE_EINVALID,
						"%s has an unknown field '%s'",
						what, k);
	}
	return 0;
}
