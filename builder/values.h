#ifndef STELE_BUILDER_VALUES_H
#define STELE_BUILDER_VALUES_H

#include <stddef.h>
#include <stdint.h>

/*
 * Values inside instructions that Docker reads with Go's standard library,
 * read here with the same rules so a recipe means what it means to
 * BuildKit.  Each returns 0, or -1 with a static reason in *why.
 */

/*
 * Go's time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?UNIT)+ with UNIT one of
 * ns us µs μs ms s m h, or "0"; nanoseconds, at most 2^63-1.
 */
int stele_value_duration(int64_t *out, const char *s, const char **why);

/* Go's strconv.ParseInt(s, 10, 32): optional sign, decimal digits. */
int stele_value_int32(int64_t *out, const char *s, const char **why);

/*
 * An EXPOSE port spec, [[IP:]HOSTPORT:]PORT[-END][/PROTO] (BuildKit's
 * parsePort): the container ports as "PORT/proto" strings (proto
 * lower-cased, tcp by default), *out malloc'd with *n entries, at most
 * 65536.  Host parts are validated and otherwise ignored, as BuildKit does.
 */
int stele_value_ports(char ***out, size_t *n, const char *spec,
		      const char **why);

/*
 * COPY/ADD --chmod as BuildKit reads it: octal (at most 07777) sets the
 * mode; otherwise a symbolic mode as chmod(1) writes it, applied to each
 * file's own mode: clauses [ugoa]*([-+=]([rwxXst]*|[ugo]))+ separated by
 * commas.  A clause without [ugoa] acts on all classes as filtered by a
 * umask of 022 (BuildKit's daemon's; stele never reads the host's).
 * stele_value_chmod_check() -1 with *why on a syntax error;
 * stele_value_chmod() the new mode of an entry (`dir`: a directory).
 */
int stele_value_chmod_check(const char *spec, const char **why);
unsigned stele_value_chmod(const char *spec, unsigned mode, int dir);

/*
 * RUN --mount=… as BuildKit reads it (commands_runmount.go): CSV fields
 * key=value (keys in any case; ro/rw/required may stand alone).  stele
 * runs type=bind (the default), cache, tmpfs and secret; ssh is refused
 * with a reason.  A mount without a target is at the working directory
 * (BuildKit; the build refuses it when that is /); from= and source= are
 * for bind mounts only, and from= may not hold a variable
 * (as in BuildKit).  Bind and secret mounts are read-only unless rw.
 * Other values may hold variables, expanded by the build.
 */
enum stele_mount_type {
	STELE_MOUNT_BIND,
	STELE_MOUNT_CACHE,
	STELE_MOUNT_TMPFS,
	STELE_MOUNT_SECRET
};
struct stele_mount {
	enum stele_mount_type type;
	char *target, *id, *env, *sharing; /* NULL when not given */
	char *from, *source; /* bind: stage or image, path */
	int readonly;
	int required;
	long long size; /* tmpfs bytes, 0: the default */
	long long mode, uid, gid; /* -1 when not given */
};
/* 0, or -1 with a reason written into why[whylen]. */
int stele_value_mount(struct stele_mount *out, const char *spec, char *why,
		      size_t whylen);
void stele_mount_release(struct stele_mount *m);

/* A signal Docker knows: a name (SIG optional) or a number 1..64; 1/0. */
int stele_value_signal(const char *sig);

/* ADD sources: an http(s)/ftp URL; a git URL (git+..., git@..., or a URL
   ending in .git#REF).  1/0. */
int stele_value_is_url(const char *s);
int stele_value_is_git_url(const char *s);

#endif
