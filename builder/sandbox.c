#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <jansson.h>

#include "builder/sandbox.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/root.h"
#include "util/json.h"
#include "util/strv.h"

#define MAX_DEPTH 256
#define LINE_MAX_LEN 4096

/* Where the runtime mounts filesystems; absent from lower = not ours. */
static const char *const mount_points[] = { "proc", "dev", "sys", NULL };

static const char *const default_caps[] = { "CAP_CHOWN",
					    "CAP_DAC_OVERRIDE",
					    "CAP_FSETID",
					    "CAP_FOWNER",
					    "CAP_MKNOD",
					    "CAP_NET_RAW",
					    "CAP_SETGID",
					    "CAP_SETUID",
					    "CAP_SETFCAP",
					    "CAP_SETPCAP",
					    "CAP_NET_BIND_SERVICE",
					    "CAP_SYS_CHROOT",
					    "CAP_KILL",
					    "CAP_AUDIT_WRITE",
					    NULL };

static json_t *
mount_json(const char *dest, const char *type, const char *src,
	   const char *const *opts)
{
	return json_pack("{s:s,s:s,s:s,s:o}", "destination", dest, "type", type,
			 "source", src, "options", stele_json_strv(opts));
}

static const char *
size_opt(char *buf, size_t n, long long size)
{
	snprintf(buf, n, "size=%lld", size);
	return buf;
}

/* The OCI runtime-spec config for one step. */
static json_t *
runtime_config(const struct stele_sandbox_opts *o, const char *root)
{
	static const char *const proc_o[] = { NULL };
	static const char *const dev_o[] = { "nosuid", "strictatime",
					     "mode=755", "size=65536k", NULL };
	static const char *const pts_o[] = { "nosuid",      "noexec",
					     "newinstance", "ptmxmode=0666",
					     "mode=0620",   NULL };
	static const char *const shm_o[] = { "nosuid",      "noexec",
					     "nodev",       "mode=1777",
					     "size=65536k", NULL };
	static const char *const mq_o[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const sys_o[] = { "nosuid", "noexec", "nodev", "ro",
					     NULL };
	static const char *const pipes_o[] = { "rbind", "ro", "nosuid", "nodev",
					       NULL };
	static const char *const masked[] = { "/proc/acpi",
					      "/proc/asound",
					      "/proc/kcore",
					      "/proc/keys",
					      "/proc/latency_stats",
					      "/proc/timer_list",
					      "/proc/timer_stats",
					      "/proc/sched_debug",
					      "/sys/firmware",
					      "/proc/scsi",
					      NULL };
	static const char *const ro[] = { "/proc/bus",           "/proc/fs",
					  "/proc/irq",           "/proc/sys",
					  "/proc/sysrq-trigger", NULL };
	json_t *caps = stele_json_strv(default_caps), *ns, *mounts, *cfg;
	char sz[40];
	size_t i;

	ns = json_pack("[{s:s},{s:s},{s:s},{s:s}]", "type", "pid", "type",
		       "ipc", "type", "uts", "type", "mount");
	if (!o->network_host)
		json_array_append_new(ns,
				      json_pack("{s:s}", "type", "network"));
	mounts = json_array();
	json_array_append_new(mounts,
			      mount_json("/proc", "proc", "proc", proc_o));
	json_array_append_new(mounts,
			      mount_json("/dev", "tmpfs", "tmpfs", dev_o));
	json_array_append_new(
		mounts, mount_json("/dev/pts", "devpts", "devpts", pts_o));
	json_array_append_new(mounts,
			      mount_json("/dev/shm", "tmpfs", "shm", shm_o));
	json_array_append_new(
		mounts, mount_json("/dev/mqueue", "mqueue", "mqueue", mq_o));
	json_array_append_new(mounts,
			      mount_json("/sys", "sysfs", "sysfs", sys_o));
	if (o->pipes)
		json_array_append_new(
			mounts,
			mount_json("/dev/pipes", "bind", o->pipes, pipes_o));
	for (i = 0; i < o->nmounts; i++) {
		const struct stele_sandbox_mount *m = &o->mounts[i];
		json_t *mo = json_array();

		if (m->source) {
			json_array_append_new(mo, json_string("rbind"));
			json_array_append_new(
				mo, json_string(m->readonly ? "ro" : "rw"));
		} else {
			/* BuildKit's tmpfs: nosuid, the kernel's 1777 */
			json_array_append_new(mo, json_string("nosuid"));
			if (m->size)
				json_array_append_new(
					mo,
					json_string_nocheck(size_opt(
						sz, sizeof(sz), m->size)));
		}
		json_array_append_new(
			mounts,
			json_pack("{s:s,s:s,s:s,s:o}", "destination", m->target,
				  "type", m->source ? "bind" : "tmpfs",
				  "source", m->source ? m->source : "tmpfs",
				  "options", mo));
	}
	cfg = json_pack(
		"{s:s,s:{s:b,s:{s:i,s:i},s:o,s:o,s:s,s:{s:O,s:O,s:O,s:O},"
		"s:[{s:s,s:i,s:i}],s:b},s:{s:s,s:b},s:s,s:o,"
		"s:{s:o,s:o,s:o}}",
		"ociVersion", "1.0.2", "process", "terminal", 0, "user", "uid",
		(int)o->uid, "gid", (int)o->gid, "args",
		stele_json_strv((const char *const *)o->argv), "env",
		stele_json_strv((const char *const *)o->env), "cwd", o->cwd,
		"capabilities", "bounding", caps, "effective", caps,
		"permitted", caps, "ambient", caps, "rlimits", "type",
		"RLIMIT_NOFILE", "hard", 1024, "soft", 1024, "noNewPrivileges",
		1, "root", "path", root, "readonly", 0, "hostname", "stele",
		"mounts", mounts, "linux", "namespaces", ns, "maskedPaths",
		stele_json_strv(masked), "readonlyPaths", stele_json_strv(ro));
	json_decref(caps);
	return cfg;
}

/* Run the runtime, passing each output line to o->output. */
static int
spawn_runtime(int *status, const struct stele_sandbox_opts *o,
	      const char *bundle, const char *state, const char *id)
{
	const char *rt = o->runtime ? o->runtime : "runc";
	char buf[LINE_MAX_LEN + 1];
	size_t used = 0;
	int fds[2], efd[2], ws, child_errno = 0;
	pid_t pid;
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return stele_error_errno("cannot create a pipe");
	/* The classic exec check: a close-on-exec pipe carries errno back. */
	if (pipe2(efd, O_CLOEXEC) < 0) {
		close(fds[0]);
		close(fds[1]);
		return stele_error_errno("cannot create a pipe");
	}
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		close(efd[0]);
		close(efd[1]);
		return stele_error_errno("cannot fork");
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null >= 0)
			dup2(null, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		execlp(rt, rt, "--root", state, "run", "--bundle", bundle, id,
		       (char *)NULL);
		child_errno = errno;
		if (write(efd[1], &child_errno, sizeof(child_errno)) < 0)
			_exit(126);
		_exit(127);
	}
	close(fds[1]);
	close(efd[1]);
	while ((n = read(efd[0], &child_errno, sizeof(child_errno))) < 0 &&
	       errno == EINTR)
		;
	close(efd[0]);
	if (n == (ssize_t)sizeof(child_errno)) {
		close(fds[0]);
		waitpid(pid, &ws, 0);
		return stele_error_set("cannot run the OCI runtime '%s': %s",
				       rt, strerror(child_errno));
	}
	for (;;) {
		char *nl;

		n = read(fds[0], buf + used, LINE_MAX_LEN - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		buf[used] = '\0';
		while ((nl = memchr(buf, '\n', used)) || used == LINE_MAX_LEN) {
			size_t len = nl ? (size_t)(nl - buf) : used;

			buf[len] = '\0';
			if (o->output)
				o->output(o->output_payload, buf);
			len += nl ? 1 : 0;
			memmove(buf, buf + len, used - len);
			used -= len;
			buf[used] = '\0';
		}
	}
	if (used && o->output) {
		buf[used] = '\0';
		o->output(o->output_payload, buf);
	}
	close(fds[0]);
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return stele_error_errno(
				"cannot wait for the OCI runtime");
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return 0;
}

static int
copy_tree(const char *from, const char *to)
{
	pid_t pid = fork();
	int ws;

	if (pid < 0)
		return stele_error_errno("cannot fork");
	if (pid == 0) {
		execlp("cp", "cp", "-a", "--", from, to, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return stele_error_errno("cannot wait for cp");
	if (!WIFEXITED(ws) || WEXITSTATUS(ws))
		return stele_error_set("cannot copy '%s' for the sandbox",
				       from);
	return 0;
}

static void
add_stub(struct stele_sandbox_result *r, const char *rel)
{
	stele_strv_push(&r->stubs, &r->nstubs, rel);
}

/*
 * The mount points the runtime created for RUN --mount (as BuildKit's stub
 * cleaner finds them): the target if the stage lacked it and it is empty,
 * then each parent the stage lacked that holds nothing else.
 */
static void
find_stubs(struct stele_sandbox_result *r, const struct stele_sandbox_opts *o)
{
	struct stat st;
	size_t i;

	for (i = 0; i < o->nmounts; i++) {
		char *cur = stele_xstrdup(o->mounts[i].target + 1), *slash;
		int first = 1;

		while (*cur) {
			char *low = stele_path_join(o->lower, cur);
			char *up = stele_path_join(r->upper, cur);
			int in_lower = lstat(low, &st) == 0, ok;
			size_t n = 0;

			ok = !in_lower && lstat(up, &st) == 0;
			if (ok && S_ISDIR(st.st_mode)) {
				DIR *dir = opendir(up);
				struct dirent *e;

				while (dir && (e = readdir(dir)))
					n += strcmp(e->d_name, ".") &&
						strcmp(e->d_name, "..");
				if (dir)
					closedir(dir);
				ok = n == (first ? 0u : 1u);
			} else if (ok) {
				ok = first && S_ISREG(st.st_mode) &&
					st.st_size == 0;
			}
			free(low);
			free(up);
			if (!ok)
				break;
			add_stub(r, cur);
			first = 0;
			if (!(slash = strrchr(cur, '/')))
				break;
			*slash = '\0';
		}
		free(cur);
	}
}

static int
is_stub(const struct stele_sandbox_result *r, const char *rel)
{
	size_t i;

	for (i = 0; i < r->nstubs; i++)
		if (!strcmp(r->stubs[i], rel))
			return 1;
	return 0;
}

int
stele_sandbox_run(struct stele_sandbox_result *out,
		  const struct stele_sandbox_opts *o)
{
	char *upper = stele_path_join(o->scratch, "upper");
	char *work = stele_path_join(o->scratch, "work");
	char *merged = stele_path_join(o->scratch, "merged");
	char *state = stele_path_join(o->scratch, "state");
	char *cfgpath = stele_path_join(o->scratch, "config.json");
	char *opts = NULL, *id = NULL, *cwd = NULL;
	struct stele_buf b = STELE_BUF_INIT(1 << 20);
	json_t *cfg = NULL;
	int mounted = 0, error;

	memset(out, 0, sizeof(*out));
	if ((error = stele_fs_mkdir_p(upper, 0755)) < 0 ||
	    (error = stele_fs_mkdir_p(work, 0700)) < 0 ||
	    (error = stele_fs_mkdir_p(merged, 0755)) < 0 ||
	    (error = stele_fs_mkdir_p(state, 0700)) < 0)
		goto out;
	opts = stele_xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", o->lower,
			       upper, work);
	if (!o->copy && mount("overlay", merged, "overlay", 0, opts) == 0) {
		mounted = 1;
		out->overlay = 1;
		out->upper = upper;
		upper = NULL;
	} else {
		/* No overlayfs here: the step runs on a copy. */
		rmdir(merged);
		if ((error = copy_tree(o->lower, merged)) < 0)
			goto out;
		out->upper = stele_xstrdup(merged);
	}
	/* Docker creates the working directory if the image lacks it. */
	/* Inside the container's root: a link in the image never makes this
	 * create a directory on the host. */
	if ((error = stele_root_host_path(&cwd, merged, o->cwd,
					  STELE_ROOT_FOLLOW)) < 0 ||
	    (error = stele_fs_mkdir_p(cwd, 0755)) < 0)
		goto out;
	if (!(cfg = runtime_config(o, merged))) {
		error = stele_error_set("cannot build the runtime config");
		goto out;
	}
	if ((error = stele_json_emit(&b, cfg)) < 0 ||
	    (error = stele_fs_write_atomic(cfgpath, b.ptr, b.len, 0600)) < 0)
		goto out;
	id = stele_xasprintf("stele-%ld-%s", (long)getpid(),
			     strrchr(o->scratch, '/')
				     ? strrchr(o->scratch, '/') + 1
				     : o->scratch);
	error = spawn_runtime(&out->status, o, o->scratch, state, id);
	if (!error)
		find_stubs(out, o);
out:
	if (mounted && umount2(merged, MNT_DETACH) < 0 && !error)
		error = stele_error_errno("cannot unmount '%s'", merged);
	if (error)
		stele_sandbox_result_release(out);
	json_decref(cfg);
	stele_buf_release(&b);
	free(cwd);
	free(id);
	free(opts);
	free(cfgpath);
	free(state);
	free(merged);
	free(work);
	free(upper);
	return error;
}

void
stele_sandbox_result_release(struct stele_sandbox_result *r)
{
	stele_strv_free(r->stubs, r->nstubs);
	r->stubs = NULL;
	r->nstubs = 0;
	free(r->upper);
	r->upper = NULL;
}

/* ---- the diff ---- */

struct diff {
	struct stele_plan *plan;
	const struct stele_sandbox_result *r;
	const char *lower;
	int64_t epoch;
};

/*
 * What the lower layers hold at `rel`: nothing when a parent of it is a
 * link there (an entry below a link is not in those layers, and the host
 * must never answer for the link's target).
 */
static int
lower_stat(struct stat *st, const struct diff *d, const char *rel)
{
	char *res = NULL, *p;
	int r = -1;

	if (stele_root_resolve(&res, rel, 0, stele_root_lookup_host,
			       (void *)d->lower) == 0 &&
	    !strcmp(res, rel)) {
		p = stele_path_join(d->lower, rel);
		r = lstat(p, st);
		free(p);
	} else {
		errno = ENOENT;
	}
	free(res);
	return r;
}

static void
add_whiteout(struct diff *d, const char *rel)
{
	struct stele_plan_entry e = { 0 };

	e.path = (char *)rel;
	e.type = STELE_ENTRY_WHITEOUT;
	e.mtime = d->epoch;
	stele_plan_add(d->plan, &e);
}

static int
add_entry(struct diff *d, const char *rel, const char *host,
	  const struct stat *st)
{
	struct stele_plan_entry e = { 0 };
	char target[4096];
	ssize_t n;

	e.path = (char *)rel;
	e.perm = st->st_mode & 07777;
	e.uid = st->st_uid;
	e.gid = st->st_gid;
	e.mtime = st->st_mtime < d->epoch ? st->st_mtime : d->epoch;
	if (S_ISREG(st->st_mode)) {
		e.type = STELE_ENTRY_FILE;
		e.size = (uint64_t)st->st_size;
		e.src_kind = STELE_SRC_PATH;
		e.src = (char *)host;
		if (st->st_nlink > 1)
			e.link_key = ((uint64_t)st->st_dev << 40) ^
				(uint64_t)st->st_ino;
	} else if (S_ISDIR(st->st_mode)) {
		e.type = STELE_ENTRY_DIR;
	} else if (S_ISLNK(st->st_mode)) {
		if ((n = readlink(host, target, sizeof(target) - 1)) < 0)
			return stele_error_errno("cannot read link '%s'", host);
		target[n] = '\0';
		e.type = STELE_ENTRY_SYMLINK;
		e.link = target;
	} else if (S_ISFIFO(st->st_mode)) {
		e.type = STELE_ENTRY_FIFO;
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		/* A device the step made with mknod (CAP_MKNOD). */
		e.type = S_ISCHR(st->st_mode) ? STELE_ENTRY_CHAR
					      : STELE_ENTRY_BLOCK;
		e.rdev = st->st_rdev;
	} else {
		return 0; /* sockets do not belong in layers */
	}
	stele_plan_add(d->plan, &e);
	return 0;
}

static int
is_mount_point(const char *rel)
{
	size_t i;

	for (i = 0; mount_points[i]; i++)
		if (!strcmp(rel, mount_points[i]))
			return 1;
	return 0;
}

/* Changed in the copy, compared with lower? */
static int
changed(const struct stat *a, const struct stat *b)
{
	return (a->st_mode != b->st_mode || a->st_uid != b->st_uid ||
		a->st_gid != b->st_gid || a->st_size != b->st_size ||
		a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
		a->st_mtim.tv_nsec != b->st_mtim.tv_nsec ||
		(S_ISCHR(a->st_mode) && a->st_rdev != b->st_rdev));
}

static int walk(struct diff *d, const char *rel, int depth);

static int
walk_entry(struct diff *d, const char *rel, int depth)
{
	char *host = stele_path_join(d->r->upper, rel);
	struct stat st, lst;
	int in_lower, error = 0;
	char op[8];

	if (lstat(host, &st) < 0) {
		error = stele_error_errno("cannot stat '%s'", host);
		goto out;
	}
	in_lower = lower_stat(&lst, d, rel) == 0;
	if (!in_lower && !strchr(rel, '/') && is_mount_point(rel) &&
	    S_ISDIR(st.st_mode))
		goto out; /* made by the runtime for its mounts */
	if (!in_lower && is_stub(d->r, rel))
		goto out; /* made for a RUN --mount */
	if (d->r->overlay) {
		if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
			add_whiteout(d, rel);
			goto out;
		}
		if (S_ISDIR(st.st_mode) && in_lower &&
		    getxattr(host, "trusted.overlay.opaque", op, sizeof(op)) ==
			    1 &&
		    op[0] == 'y') {
			char *opq = stele_xasprintf("%s/.wh..opq", rel);

			add_whiteout(d, opq);
			free(opq);
		}
		error = add_entry(d, rel, host, &st);
	} else if (!in_lower || changed(&st, &lst) ||
		   (S_ISDIR(st.st_mode) != S_ISDIR(lst.st_mode))) {
		error = add_entry(d, rel, host, &st);
	}
	if (!error && S_ISDIR(st.st_mode))
		error = walk(d, rel, depth + 1);
out:
	free(host);
	return error;
}

static int
walk(struct diff *d, const char *rel, int depth)
{
	char *host = stele_path_join(d->r->upper, rel);
	DIR *dir;
	struct dirent *de;
	int error = 0;

	if (depth > MAX_DEPTH) {
		free(host);
		return stele_error_setc(STELE_EINVALID, "'%s' nests too deeply",
					rel);
	}
	if (!(dir = opendir(host))) {
		error = stele_error_errno("cannot read '%s'", host);
		free(host);
		return error;
	}
	while (!error && (de = readdir(dir))) {
		char *child;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		child = stele_path_rel(rel, de->d_name);
		error = walk_entry(d, child, depth);
		free(child);
	}
	closedir(dir);
	free(host);
	return error;
}

/* Copy mode: what lower has and the copy lost became whiteouts. */
static int
walk_deleted(struct diff *d, const char *rel, int depth)
{
	char *host = stele_path_join(d->lower, rel);
	DIR *dir;
	struct dirent *de;
	int error = 0;

	if (depth > MAX_DEPTH || !(dir = opendir(host))) {
		free(host);
		return 0;
	}
	while (!error && (de = readdir(dir))) {
		char *child, *up;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		child = stele_path_rel(rel, de->d_name);
		up = stele_path_join(d->r->upper, child);
		if (lstat(up, &st) < 0)
			add_whiteout(d, child);
		else if (S_ISDIR(st.st_mode) && de->d_type == DT_DIR)
			error = walk_deleted(d, child, depth + 1);
		free(up);
		free(child);
	}
	closedir(dir);
	free(host);
	return error;
}

int
stele_sandbox_diff(struct stele_plan *out, const struct stele_sandbox_result *r,
		   const char *lower, int64_t epoch)
{
	struct diff d = { out, r, lower, epoch };
	int error;

	if ((error = walk(&d, "", 0)) < 0)
		return error;
	if (!r->overlay)
		error = walk_deleted(&d, "", 0);
	return error;
}
