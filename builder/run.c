#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build_priv.h"
#include "builder/sandbox.h"
#include "builder/values.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/root.h"
#include "util/json.h"

#define DEFAULT_PATH \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * In ROOTFS/etc/FILE, the line whose field `key_field` is `key`: its field
 * `want` (malloc'd).  Fields are ':'-separated, counted from 0.
 */
static int
etc_lookup_str(char **out, const char *rootfs, const char *file, int key_field,
	       const char *key, int want)
{
	char *rel = stele_xasprintf("etc/%s", file), *path = NULL;
	struct stele_buf buf = STELE_BUF_INIT(4u << 20);
	char *line, *save = NULL;
	size_t n = strlen(key);
	int error;

	*out = NULL;
	/* The image's /etc/FILE, links followed inside the rootfs only. */
	error = stele_root_host_path(&path, rootfs, rel, STELE_ROOT_FOLLOW);
	if (!error)
		error = stele_fs_read(&buf, path);
	free(path);
	free(rel);
	if (error < 0) {
		stele_buf_release(&buf);
		return STELE_ENOTFOUND;
	}
	error = STELE_ENOTFOUND;
	for (line = strtok_r(buf.ptr, "\n", &save); line && error;
	     line = strtok_r(NULL, "\n", &save)) {
		char *fields[8] = { line };
		int f = 1;
		char *p;

		for (p = line; *p && f < 8; p++)
			if (*p == ':')
				fields[f++] = p + 1;
		if (key_field >= f || want >= f ||
		    strncmp(fields[key_field], key, n) ||
		    fields[key_field][n] != ':')
			continue;
		*out = stele_xstrndup(fields[want], strcspn(fields[want], ":"));
		error = 0;
	}
	stele_buf_release(&buf);
	return error;
}

static int
etc_lookup(long *out, const char *rootfs, const char *file, int key_field,
	   const char *key, int want)
{
	char *v;
	int error;

	if ((error = etc_lookup_str(&v, rootfs, file, key_field, key, want)) <
	    0)
		return error;
	*out = strtol(v, NULL, 10);
	free(v);
	return 0;
}

/* HOME for a RUN step, as runc sets it: the user's home directory in the
 * image's /etc/passwd, else "/". */
static char *
step_home(const char *rootfs, uid_t uid)
{
	char key[32], *home = NULL;

	snprintf(key, sizeof(key), "%lu", (unsigned long)uid);
	if (etc_lookup_str(&home, rootfs, "passwd", 2, key, 5) < 0 || !*home) {
		free(home);
		return stele_xstrdup("/");
	}
	return home;
}

int
stele_build__stage_etc_field(long *out, const char *rootfs, const char *file,
			     const char *name, int field)
{
	return etc_lookup(out, rootfs, file, 0, name, field);
}

/* The primary gid of the passwd entry with this uid. */
static int
gid_of_uid(long *out, const char *rootfs, long uid)
{
	char key[32];

	snprintf(key, sizeof(key), "%ld", uid);
	return etc_lookup(out, rootfs, "passwd", 2, key, 3);
}

static int
numeric(long *out, const char *s)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return *s && !*end && !errno && *out >= 0 && *out <= 0x7fffffffL;
}

/* USER as Docker reads it: uid[:gid] or names from the stage's /etc. */
static int
stage_resolve_user(struct stage *s, const char *spec, uid_t *uid, gid_t *gid)
{
	char *user = stele_xstrdup(spec && *spec ? spec : "0");
	char *group = strchr(user, ':');
	long u = 0, g = 0;
	int error = 0;

	if (group)
		*group++ = '\0';
	if (!numeric(&u, user)) {
		if (stele_build__stage_etc_field(&u, s->rootfs, "passwd", user,
						 2) < 0 ||
		    (!group &&
		     stele_build__stage_etc_field(&g, s->rootfs, "passwd", user,
						  3) < 0))
			error = stele_error_setc(
				STELE_EINVALID,
				"unknown user '%s' (not in the image's /etc/passwd)",
				user);
	} else if (!group && gid_of_uid(&g, s->rootfs, u) < 0) {
		g = 0; /* uid only, unknown to the image: group root, as Docker */
	}
	if (!error && group && !numeric(&g, group) &&
	    stele_build__stage_etc_field(&g, s->rootfs, "group", group, 2) < 0)
		error = stele_error_setc(
			STELE_EINVALID,
			"unknown group '%s' (not in the image's /etc/group)",
			group);
	if (!error) {
		*uid = (uid_t)u;
		*gid = (gid_t)g;
	}
	free(user);
	return error;
}

static void
line_out(void *payload, const char *line)
{
	struct build *b = payload;

	stele_build__progress(b, "  | %s", line);
}

static int
has_env(char **env, size_t n, const char *name)
{
	size_t i, len = strlen(name);

	for (i = 0; i < n; i++)
		if (!strncmp(env[i], name, len) && env[i][len] == '=')
			return 1;
	return 0;
}

/* What the step sees: ENV, then ARGs ENV does not shadow, PATH, HOME. */
static char **
step_env(struct build *b, struct stage *s, uid_t uid)
{
	json_t *envs = json_object_get(s->config, "Env"), *v;
	size_t n = 0, i,
	       cap = json_array_size(envs) + json_object_size(s->args) + 4;
	char **env = stele_xcalloc(cap + 1, sizeof(char *));
	const char *k;

	json_array_foreach(envs, i, v)
		if (json_string_value(v))
			env[n++] = stele_xstrdup(json_string_value(v));
	json_object_foreach(s->args, k, v) {
		if (json_is_string(v) && !has_env(env, n, k))
			env[n++] = stele_xasprintf("%s=%s", k,
						   json_string_value(v));
	}
	if (!has_env(env, n, "PATH"))
		env[n++] = stele_xstrdup("PATH=" DEFAULT_PATH);
	if (!has_env(env, n, "HOME")) {
		char *home = step_home(s->rootfs, uid);

		env[n++] = stele_xasprintf("HOME=%s", home);
		free(home);
	}
	if (!has_env(env, n, "SOURCE_DATE_EPOCH"))
		env[n++] = stele_xasprintf("SOURCE_DATE_EPOCH=%lld",
					   (long long)b->epoch);
	env[n] = NULL;
	return env;
}

/* A heredoc's name as a file name in /dev/pipes. */
static int
pipe_name_ok(const char *name)
{
	return *name && !strchr(name, '/') && strcmp(name, ".") &&
		strcmp(name, "..");
}

/*
 * The shell's command for RUN with heredocs (BuildKit's dispatchRun).  A
 * line that is a single heredoc runs its content (tabs stripped for
 * `<<-`): a script starting with "#!" is written to `pipes`/NAME, mounted
 * read-only at /dev/pipes/NAME, and run by path; anything else is the
 * command.  Other lines are put back together with their heredocs for the
 * shell to read.  *cmd malloc'd; *use_pipes set when `pipes` is used.
 */
static int
heredoc_command(char **cmd, int *use_pipes, const struct stele_instr *in,
		const char *pipes)
{
	struct stele_heredoc w;
	struct stele_buf buf = STELE_BUF_INIT((size_t)-1);
	const struct stele_heredoc *h = &in->heredocs[0];
	char *data, *path;
	size_t i;
	int error = 0;

	*cmd = NULL;
	*use_pipes = 0;
	if (!stele_heredoc_word(&w, in->raw)) {
		if (stele_buf_puts(&buf, in->raw) < 0)
			abort();
		for (i = 0; i < in->nheredocs; i++)
			if (stele_buf_printf(&buf, "\n%s%s",
					     in->heredocs[i].content,
					     in->heredocs[i].name) < 0)
				abort();
		*cmd = stele_buf_detach(&buf);
		return 0;
	}
	data = w.chomp ? stele_heredoc_chomp(h->content)
		       : stele_xstrdup(h->content);
	stele_heredoc_release(&w);
	if (strncmp(data, "#!", 2)) {
		*cmd = data;
		return 0;
	}
	if (!pipe_name_ok(h->name)) {
		free(data);
		return stele_error_setc(STELE_EINVALID,
					"a heredoc script "
					"needs a file name, not '%s'",
					h->name);
	}
	path = stele_path_join(pipes, h->name);
	if ((error = stele_fs_mkdir_p(pipes, 0755)) == 0 &&
	    (error = stele_fs_write_new(path, data, strlen(data), 0755)) == 0 &&
	    chmod(path, 0755) < 0)
		error = stele_error_errno("cannot chmod '%s'", path);
	free(path);
	free(data);
	if (error < 0)
		return error;
	*cmd = stele_xasprintf("/dev/pipes/%s", h->name);
	*use_pipes = 1;
	return 0;
}

static int
step_argv(char ***out, int *use_pipes, struct stage *s,
	  const struct stele_instr *in, const char *pipes)
{
	size_t i, n = in->json_form ? in->nargs : json_array_size(s->shell) + 1;
	char **argv = stele_xcalloc(n + 1, sizeof(char *)), *cmd = NULL;
	json_t *v;
	int error = 0;

	*use_pipes = 0;
	if (in->json_form) {
		for (i = 0; i < in->nargs; i++)
			argv[i] = stele_xstrdup(in->args[i]);
	} else {
		if (in->nheredocs)
			error = heredoc_command(&cmd, use_pipes, in, pipes);
		json_array_foreach(s->shell, i, v)
			argv[i] = stele_xstrdup(json_string_value(v));
		argv[i] = cmd ? cmd : stele_xstrdup(in->raw);
	}
	*out = argv;
	return error;
}

static void
strv_free(char **v)
{
	char **p;

	for (p = v; p && *p; p++)
		free(*p);
	free(v);
}

/* The RUN --mount list, prepared for the sandbox, and what to undo. */
struct mounts {
	struct stele_sandbox_mount *m;
	size_t n;
	char **own; /* strings m points into */
	size_t nown;
	char **secrets; /* files holding secret copies, wiped after */
	size_t nsecrets;
	int *locks; /* cache mount lock fds */
	size_t nlocks;
	json_t *prov; /* [{type, target, id}] */
	char **env; /* NAME=secret for env= secrets */
	size_t nenv;
	char **dirs; /* copies made for bind mounts, removed after */
	size_t ndirs;
};

static char *
own(struct mounts *ms, char *s)
{
	stele_strv_take(&ms->own, &ms->nown, s);
	return s;
}

static void
wipe_file(const char *path)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		if (fstat(fd, &st) == 0 && st.st_size > 0) {
			char zero[4096] = { 0 };
			off_t left = st.st_size;

			while (left > 0) {
				size_t k = left > (off_t)sizeof(zero)
					? sizeof(zero)
					: (size_t)left;

				if (write(fd, zero, k) < 0)
					break;
				left -= (off_t)k;
			}
			(void)fsync(fd);
		}
		close(fd);
	}
	unlink(path);
}

static void
mounts_release(struct mounts *ms)
{
	size_t i;

	for (i = 0; i < ms->nsecrets; i++) {
		wipe_file(ms->secrets[i]);
		free(ms->secrets[i]);
	}
	for (i = 0; i < ms->nenv; i++) {
		explicit_bzero(ms->env[i], strlen(ms->env[i]));
		free(ms->env[i]);
	}
	for (i = 0; i < ms->nlocks; i++)
		close(ms->locks[i]);
	for (i = 0; i < ms->ndirs; i++)
		stele_fs_tmp_free(ms->dirs[i]);
	free(ms->dirs);
	stele_strv_free(ms->own, ms->nown);
	free(ms->secrets);
	free(ms->env);
	free(ms->locks);
	free(ms->m);
	json_decref(ms->prov);
	memset(ms, 0, sizeof(*ms));
}

static const struct stele_build_secret *
find_secret(struct build *b, const char *id)
{
	size_t i;

	for (i = 0; i < b->o->nsecrets; i++)
		if (!strcmp(b->o->secrets[i].id, id))
			return &b->o->secrets[i];
	return NULL;
}

/*
 * A cache mount: DIR/mounts/<sha256 of the id> under the build cache,
 * created with the mount's mode and owner, held under an exclusive lock
 * for the step (every sharing mode: steps never see a cache half-written
 * by another build).
 */
static int
cache_mount(struct build *b, struct mounts *ms, const struct stele_mount *m,
	    const char **src)
{
	char hex[STELE_DIGEST_STRLEN], *dir, *lock;
	const char *root = b->cache ? stele_cache_dir(b->cache) : b->tmp;
	struct stat st;
	int fd, error = 0;

	stele_digest_bytes(hex, m->id, strlen(m->id));
	dir = own(ms, stele_xasprintf("%s/mounts/%s", root, hex + 7));
	lock = stele_xasprintf("%s.lock", dir);
	if (lstat(dir, &st) < 0) {
		if ((error = stele_fs_mkdir_p(dir, 0755)) == 0 &&
		    (chmod(dir, m->mode >= 0 ? (mode_t)m->mode : 0755) < 0 ||
		     lchown(dir, m->uid >= 0 ? (uid_t)m->uid : 0,
			    m->gid >= 0 ? (gid_t)m->gid : 0) < 0))
			error = stele_error_errno(
				"cannot set up cache mount '%s'", dir);
	} else if (!S_ISDIR(st.st_mode)) {
		error = stele_error_setc(STELE_EINVALID,
					 "cache mount '%s' is not "
					 "a directory",
					 dir);
	}
	if (!error && (fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		error = stele_error_errno("cannot open '%s'", lock);
	if (!error && flock(fd, LOCK_EX) < 0) {
		error = stele_error_errno("cannot lock '%s'", lock);
		close(fd);
	} else if (!error) {
		ms->locks = stele_xrealloc(ms->locks,
					   (ms->nlocks + 1) * sizeof(int));
		ms->locks[ms->nlocks++] = fd;
	}
	free(lock);
	*src = dir;
	return error;
}

/*
 * A secret: copied (mode 0400 and root's unless mode/uid/gid say
 * otherwise) into a file of the step's own, bound read-only at the target
 * (default /run/secrets/ID), and/or put in the environment variable env=.
 * The copy is wiped after the step.  Missing and not required: no mount.
 */
static int
secret_mount(struct build *b, struct mounts *ms, const struct stele_mount *m,
	     const char **src, const char **target)
{
	const char *id = m->id ? m->id : strrchr(m->target, '/') + 1;
	const struct stele_build_secret *sec = find_secret(b, id);
	struct stele_buf buf = STELE_BUF_INIT(500u << 10);
	char *copy, *dir;
	int error;

	*src = NULL;
	if (!sec)
		return m->required
			? stele_error_setc(
				  STELE_EINVALID,
				  "secret "
				  "'%s' is required: give it with --secret id=%s,src=FILE",
				  id, id)
			: 0;
	if ((error = stele_fs_read(&buf, sec->path)) < 0) {
		stele_buf_release(&buf);
		return stele_error_prefix(error, "secret '%s'", id);
	}
	if (m->env) {
		char *kv = stele_xmalloc(strlen(m->env) + buf.len + 2);

		memcpy(kv, m->env, strlen(m->env));
		kv[strlen(m->env)] = '=';
		memcpy(kv + strlen(m->env) + 1, buf.ptr ? buf.ptr : "",
		       buf.len);
		kv[strlen(m->env) + 1 + buf.len] = '\0';
		stele_strv_take(&ms->env, &ms->nenv, kv);
	}
	if (m->env && !m->target) {
		if (buf.ptr)
			explicit_bzero(buf.ptr, buf.len);
		stele_buf_release(&buf);
		return 0;
	}
	dir = stele_xasprintf("%s/secret-%u", b->tmp, b->tmp_seq++);
	copy = stele_path_join(dir, "secret");
	if ((error = stele_fs_mkdir_p(dir, 0700)) == 0 &&
	    (error = stele_fs_write_new(copy, buf.ptr ? buf.ptr : "", buf.len,
					0400)) == 0 &&
	    (chmod(copy, m->mode >= 0 ? (mode_t)m->mode : 0400) < 0 ||
	     lchown(copy, m->uid >= 0 ? (uid_t)m->uid : 0,
		    m->gid >= 0 ? (gid_t)m->gid : 0) < 0))
		error = stele_error_errno("cannot set up secret '%s'", id);
	if (buf.ptr)
		explicit_bzero(buf.ptr, buf.len);
	stele_buf_release(&buf);
	free(dir);
	stele_strv_take(&ms->secrets, &ms->nsecrets, copy);
	if (error < 0)
		return error;
	*src = copy;
	if (!m->target)
		*target = own(ms, stele_xasprintf("/run/secrets/%s", id));
	return 0;
}

static void
mounts_free(struct stele_mount *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		stele_mount_release(&list[i]);
	free(list);
}

/* --mount=…: each one parsed, expanded and its target made absolute. */
static int
parse_mounts(struct stele_mount **out, size_t *nout, struct build *b,
	     struct stage *s, const struct stele_instr *in, const char *cwd)
{
	struct stele_mount *list = NULL, *m;
	const char *v;
	char why[256], **fields[4];
	size_t i, n = 0, f;
	int error = 0;

	*out = NULL;
	*nout = 0;
	for (i = 0; !error && (v = stele_instr_flag_nth(in, "mount", i)); i++) {
		list = stele_xrealloc(list, (n + 1) * sizeof(*list));
		m = &list[n];
		if (stele_value_mount(m, v, why, sizeof(why)) < 0) {
			error = stele_error_setc(STELE_EINVALID,
						 "--mount=%s: %s", v, why);
			break;
		}
		n++;
		fields[0] = &m->target;
		fields[1] = &m->id;
		fields[2] = &m->env;
		fields[3] = &m->source;
		for (f = 0; f < 4 && !error; f++) {
			char *x = NULL;

			if (*fields[f] && strchr(*fields[f], '$') &&
			    (error = stele_build__expand(&x, b, s, in,
							 *fields[f])) == 0) {
				free(*fields[f]);
				*fields[f] = x;
			}
		}
		if (error) {
			mounts_free(list, n);
			return error; /* named by stele_build__expand */
		}
		/* BuildKit: a target is relative to the working directory,
		   and a mount without one (not a secret) is there */
		if (m->target || m->type != STELE_MOUNT_SECRET) {
			const char *t = m->target ? m->target : "";
			char *joined = t[0] == '/'
				? stele_xstrdup(t)
				: stele_xasprintf("%s/%s", cwd, t);
			int given = m->target != NULL;

			free(m->target);
			m->target = stele_path_clean_abs(joined);
			free(joined);
			if (!strcmp(m->target, "/") && given)
				error = stele_error_setc(
					STELE_EINVALID,
					"--mount: the target cannot be /");
			else if (!strcmp(m->target, "/"))
				error = stele_error_setc(
					STELE_EINVALID,
					"--mount=%s: a mount without a target "
					"is at the working directory, which "
					"cannot be /",
					v);
		}
		if (!error && m->type == STELE_MOUNT_CACHE && !m->id)
			m->id = stele_xstrdup(m->target);
	}
	if (error < 0) {
		mounts_free(list, n);
		return stele_build__instr_error(b, in, error);
	}
	*out = list;
	*nout = n;
	return 0;
}

/* Each mount made ready for the sandbox. */
static int
prepare_mounts(struct mounts *ms, struct build *b, struct stage *s,
	       const struct stele_instr *in, const struct stele_mount *list,
	       size_t n)
{
	static const char *const tname[] = { "bind", "cache", "tmpfs",
					     "secret" };
	const struct stele_mount *m;
	const char *src, *target;
	json_t *rec;
	size_t i;
	int error = 0;

	ms->prov = json_array();
	for (i = 0; i < n && !error; i++) {
		m = &list[i];
		src = NULL;
		rec = NULL;
		target = m->target;
		if (m->type == STELE_MOUNT_CACHE) {
			error = cache_mount(b, ms, m, &src);
		} else if (m->type == STELE_MOUNT_SECRET) {
			error = secret_mount(b, ms, m, &src, &target);
		} else if (m->type == STELE_MOUNT_BIND) {
			char *dir, *bsrc;

			error = stele_build__bind_prepare(&dir, &bsrc, &rec, b,
							  s, m);
			stele_strv_take(&ms->dirs, &ms->ndirs, dir);
			if (bsrc)
				src = own(ms, bsrc);
		}
		if (!error && (m->type != STELE_MOUNT_SECRET || src)) {
			struct stele_sandbox_mount *sm;

			ms->m = stele_xrealloc(ms->m,
					       (ms->n + 1) * sizeof(*ms->m));
			sm = &ms->m[ms->n++];
			sm->target = own(ms, stele_xstrdup(target));
			sm->source = src;
			sm->readonly = m->readonly;
			sm->size = m->size;
		}
		if (!error && !rec)
			rec = json_pack("{s:s,s:s*,s:s*}", "type",
					tname[m->type], "target", target, "id",
					m->id);
		if (rec)
			json_array_append_new(ms->prov, rec);
	}
	return error < 0 ? stele_build__instr_error(b, in, error) : 0;
}

int
stele_build__run(struct build *b, struct stage *s, const struct stele_instr *in)
{
	static unsigned counter;
	struct stele_sandbox_opts so = { 0 };
	struct stele_sandbox_result sr = { 0 };
	struct stele_plan plan = STELE_PLAN_INIT;
	struct stele_layer_result r;
	const char *net = stele_instr_flag(in, "network");
	const char *wd = stele_json_str(s->config, "WorkingDir");
	char **argv = NULL, **env = NULL, *scratch = NULL, *pipes = NULL;
	struct mounts ms;
	struct stele_mount *mlist = NULL;
	size_t nm = 0, i;
	json_t *inputs, *key, *binds;
	char hex[65];
	uid_t uid = 0;
	gid_t gid = 0;
	int error, use_pipes = 0;

	memset(&ms, 0, sizeof(ms));
	if (net && strcmp(net, "none") && strcmp(net, "host") &&
	    strcmp(net, "default"))
		return stele_build__instr_error(
			b, in,
			stele_error_setc(
				STELE_EINVALID,
				"--network: want none or host, not '%s'", net));
	if ((error = parse_mounts(&mlist, &nm, b, s, in,
				  wd && *wd ? wd : "/")) < 0)
		return error;
	key = stele_build__step_key(b, s, in);
	json_object_set_new(
		key, "network",
		json_string(net && !strcmp(net, "host") ? "host" : "none"));
	/* What bind mounts read, by content: a change in a mounted file is a
	 * new step. */
	binds = json_array();
	for (i = 0; i < nm && !error; i++)
		if (mlist[i].type == STELE_MOUNT_BIND)
			error = stele_build__bind_key(binds, b, s, &mlist[i]);
	if (json_array_size(binds))
		json_object_set(key, "binds", binds);
	json_decref(binds);
	if (error < 0)
		error = stele_build__instr_error(b, in, error);
	else
		error = stele_build__step_cache_hit(b, s, in, key, hex);
	json_decref(key);
	if (error) {
		mounts_free(mlist, nm);
		return error < 0 ? error : 0;
	}
	if ((error = stele_build__stage_sync(b, s)) < 0 ||
	    (error = stage_resolve_user(s, stele_json_str(s->config, "User"),
					&uid, &gid)) < 0) {
		mounts_free(mlist, nm);
		return stele_build__instr_error(b, in, error);
	}
	scratch = stele_xasprintf("%s/run-%u", b->tmp, counter);
	pipes = stele_xasprintf("%s/pipes-%u", b->tmp, counter++);
	if ((error = step_argv(&argv, &use_pipes, s, in, pipes)) < 0) {
		error = stele_build__instr_error(b, in, error);
		goto out;
	}
	env = step_env(b, s, uid);
	if ((error = prepare_mounts(&ms, b, s, in, mlist, nm)) < 0)
		goto out;
	if (ms.nenv) {
		size_t ne = 0, k;

		while (env[ne])
			ne++;
		env = stele_xrealloc(env, (ne + ms.nenv + 1) * sizeof(char *));
		for (k = 0; k < ms.nenv; k++)
			env[ne + k] = NULL;
		for (k = 0; k < ms.nenv; k++)
			env[ne + k] = stele_xstrdup(ms.env[k]);
		env[ne + ms.nenv] = NULL;
	}
	so.mounts = ms.m;
	so.nmounts = ms.n;
	so.runtime = b->o->runtime;
	so.copy = b->o->sandbox_copy;
	so.lower = s->rootfs;
	so.scratch = scratch;
	so.argv = argv;
	so.env = env;
	so.cwd = wd && *wd ? wd : "/";
	so.uid = uid;
	so.gid = gid;
	so.network_host = net && !strcmp(net, "host");
	so.pipes = use_pipes ? pipes : NULL;
	so.output = line_out;
	so.output_payload = b;
	if ((error = stele_sandbox_run(&sr, &so)) < 0) {
		error = stele_build__instr_error(b, in, error);
		goto out;
	}
	if (sr.status != 0) {
		error = stele_build__instr_error(
			b, in,
			stele_error_setc(
				STELE_EINVALID,
				"the command failed with exit status %d",
				sr.status));
		goto out;
	}
	if ((error = stele_sandbox_diff(&plan, &sr, s->rootfs, b->epoch)) < 0 ||
	    (error = stele_plan_write(&r, &plan, b->txn, &b->lopts)) < 0) {
		error = stele_build__instr_error(b, in, error);
		goto out;
	}
	inputs = json_pack("[{s:s,s:o,s:s,s:s,s:b,s:o}]", "kind", "run", "argv",
			   stele_json_strv((const char *const *)argv),
			   "runtime", so.runtime ? so.runtime : "runc",
			   "network", so.network_host ? "host" : "none",
			   "overlay", sr.overlay, "baseDiffIDs",
			   json_deep_copy(s->diff_ids));
	/* by type, target and id (never a secret's content); a bind mount
	 * by what it reads and the digest of the tree the step saw */
	if (json_array_size(ms.prov))
		json_object_set(json_array_get(inputs, 0), "mounts", ms.prov);
	stele_build__progress(b, "  layer %s (%llu bytes)", r.digest,
			      (unsigned long long)r.size);
	if ((error = stele_build__stage_add_layer(b, s, in, &r, inputs)) == 0)
		stele_build__step_cache_store(b, s, hex);
out:
	stele_plan_release(&plan);
	stele_sandbox_result_release(&sr);
	stele_fs_tmp_free(scratch);
	if (use_pipes)
		stele_fs_rm_rf(pipes);
	free(pipes);
	strv_free(argv);
	if (env) {
		char **e;

		for (e = env; *e; e++)
			explicit_bzero(*e, strlen(*e));
	}
	strv_free(env);
	mounts_release(&ms);
	mounts_free(mlist, nm);
	return error;
}
