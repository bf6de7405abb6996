#ifndef STELE_BUILDER_SANDBOX_H
#define STELE_BUILDER_SANDBOX_H

#include <stdint.h>
#include <sys/types.h>

#include "oci/layer.h"

/*
 * RUN steps: one process in a fresh OCI runtime container (runc by
 * default), over the stage's root filesystem.  The filesystem is an
 * overlay: `lower` (the stage, never modified) under an empty upper
 * directory that collects what the step changes; stele_sandbox_diff() turns
 * that upper directory into a layer plan (deletions as whiteouts, opaque
 * directories as opaque whiteouts).  When overlayfs cannot be mounted the
 * step runs on a copy of `lower` and the diff compares the two trees.
 *
 * Isolation: new PID, IPC, UTS, mount and (unless network_host) network
 * namespaces with only a loopback interface; hostname "stele"; no host
 * environment; no new privileges; Docker's default capabilities.
 */
typedef void (*stele_line_fn)(void *payload, const char *line);

/* A RUN --mount as the runtime sees it. */
struct stele_sandbox_mount {
	const char *target; /* absolute, in the container */
	const char *source; /* host path to bind, NULL for a tmpfs */
	int readonly;
	long long size; /* tmpfs bytes, 0: the runtime's default */
};

struct stele_sandbox_opts {
	const char *runtime; /* program, default "runc" */
	const char *lower; /* the stage's root filesystem */
	const char *scratch; /* an empty directory for this step */
	char *const *argv; /* NULL-terminated */
	char *const *env; /* NULL-terminated NAME=VALUE */
	const char *cwd; /* absolute */
	uid_t uid;
	gid_t gid;
	int network_host;
	int copy; /* run on a copy of `lower` even where
				      overlayfs works (to test that path) */
	const char *pipes; /* NULL, or a directory bind-mounted
				      read-only at /dev/pipes (RUN heredoc
				      scripts; never in the layer) */
	const struct stele_sandbox_mount *mounts; /* RUN --mount */
	size_t nmounts;
	stele_line_fn output; /* each line the step prints */
	void *output_payload;
};

struct stele_sandbox_result {
	char **stubs; /* mount points the runtime made for RUN --mount,
			     relative; left out of the diff */
	size_t nstubs;
	int status; /* exit status of the step (128+N for a signal) */
	int overlay; /* 1: overlayfs was used; 0: a copy */
	char *upper; /* overlay: the upper dir; copy: the changed tree */
};

/* Run the step; 0 when it ran (whatever its exit status). */
int stele_sandbox_run(struct stele_sandbox_result *out,
		      const struct stele_sandbox_opts *o);
void stele_sandbox_result_release(struct stele_sandbox_result *r);

/*
 * The step's changes as layer entries: mtimes clamped to `epoch`, owners
 * and modes as the step left them, deleted paths as whiteouts.  Mount
 * points the runtime created (that `lower` lacks) are left out.
 */
int stele_sandbox_diff(struct stele_plan *out,
		       const struct stele_sandbox_result *r, const char *lower,
		       int64_t epoch);

#endif
