#ifndef STELE_UTIL_SINK_H
#define STELE_UTIL_SINK_H

#include <stddef.h>

/*
 * The two callbacks every module uses to hand things back to its caller.
 *
 * A byte sink takes `len` bytes, in order; a negative return (an error
 * code, with the message set) stops the producer, which returns that code.
 */
typedef int (*stele_sink_fn)(void *payload, const void *data, size_t len);
/* Progress: one line for a person to read (never parsed, never NULL). */
typedef void (*stele_progress_fn)(void *payload, const char *msg);

#endif
