#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build_priv.h"
#include "builder/sandbox.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/root.h"
#include "util/json.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * In ROOTFS/etc/FILE, the line whose field `key_field` is `key`: its field
 * `want` as a number.  Fields are ':'-separated, counted from 0.
 */
static int
etc_lookup(long *out, const char *rootfs, const char *file, int key_field,
	   const char *key, int want)
{
	char *rel = stele_xasprintf("etc/%s", file), *path = NULL;
	struct stele_buf buf = STELE_BUF_INIT(4u << 20);
	char *line, *save = NULL;
	size_t n = strlen(key);
	int error;

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
		    strncmp(fields[key_field], key, n) || fields[key_field][n] != ':')
			continue;
		*out = strtol(fields[want], NULL, 10);
		error = 0;
	}
	stele_buf_release(&buf);
	return error;
}

int
stage_etc_field(long *out, const char *rootfs, const char *file,
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
int
stage_resolve_user(struct stage *s, const char *spec, uid_t *uid, gid_t *gid)
{
	char *user = stele_xstrdup(spec && *spec ? spec : "0");
	char *group = strchr(user, ':');
	long u = 0, g = 0;
	int error = 0;

	if (group)
		*group++ = '\0';
	if (!numeric(&u, user)) {
		if (stage_etc_field(&u, s->rootfs, "passwd", user, 2) < 0 ||
		    (!group && stage_etc_field(&g, s->rootfs, "passwd", user, 3) < 0))
			error = stele_error_setc(STELE_EINVALID,
				"unknown user '%s' (not in the image's /etc/passwd)", user);
	} else if (!group && gid_of_uid(&g, s->rootfs, u) < 0) {
		g = 0; /* uid only, unknown to the image: group root, as Docker */
	}
	if (!error && group && !numeric(&g, group) &&
	    stage_etc_field(&g, s->rootfs, "group", group, 2) < 0)
		error = stele_error_setc(STELE_EINVALID,
			"unknown group '%s' (not in the image's /etc/group)", group);
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

	build_progress(b, "  | %s", line);
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
	size_t n = 0, i, cap = json_array_size(envs) + json_object_size(s->args) + 4;
	char **env = stele_xcalloc(cap + 1, sizeof(char *));
	const char *k;

	json_array_foreach(envs, i, v)
		if (json_string_value(v))
			env[n++] = stele_xstrdup(json_string_value(v));
	json_object_foreach(s->args, k, v) {
		if (json_is_string(v) && !has_env(env, n, k))
			env[n++] = stele_xasprintf("%s=%s", k, json_string_value(v));
	}
	if (!has_env(env, n, "PATH"))
		env[n++] = stele_xstrdup("PATH=" DEFAULT_PATH);
	if (!has_env(env, n, "HOME"))
		env[n++] = stele_xstrdup(uid == 0 ? "HOME=/root" : "HOME=/");
	if (!has_env(env, n, "SOURCE_DATE_EPOCH"))
		env[n++] = stele_xasprintf("SOURCE_DATE_EPOCH=%lld", (long long)b->epoch);
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
			if (stele_buf_printf(&buf, "\n%s%s", in->heredocs[i].content,
					     in->heredocs[i].name) < 0)
				abort();
		*cmd = stele_buf_detach(&buf);
		return 0;
	}
	data = w.chomp ? stele_heredoc_chomp(h->content) : stele_xstrdup(h->content);
	stele_heredoc_release(&w);
	if (strncmp(data, "#!", 2)) {
		*cmd = data;
		return 0;
	}
	if (!pipe_name_ok(h->name)) {
		free(data);
		return stele_error_setc(STELE_EINVALID, "a heredoc script "
			"needs a file name, not '%s'", h->name);
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

static json_t *
strv_json(char **v)
{
	json_t *a = json_array();

	for (; v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static void
strv_free(char **v)
{
	char **p;

	for (p = v; p && *p; p++)
		free(*p);
	free(v);
}

int
build_run(struct build *b, struct stage *s, const struct stele_instr *in)
{
	static unsigned counter;
	struct stele_sandbox_opts so = { 0 };
	struct stele_sandbox_result sr = { 0 };
	struct stele_plan plan = STELE_PLAN_INIT;
	struct stele_layer_result r;
	const char *net = stele_instr_flag(in, "network");
	const char *wd = stele_json_str(s->config, "WorkingDir");
	char **argv = NULL, **env = NULL, *scratch = NULL, *pipes = NULL;
	json_t *inputs, *key;
	char hex[65];
	uid_t uid = 0;
	gid_t gid = 0;
	int error, use_pipes = 0;

	if (net && strcmp(net, "none") && strcmp(net, "host") && strcmp(net, "default"))
		return build_instr_error(b, in, stele_error_setc(STELE_EINVALID,
			"--network: want none or host, not '%s'", net));
	key = step_key(b, s, in);
	json_object_set_new(key, "network", json_string(net && !strcmp(net, "host") ?
							 "host" : "none"));
	error = step_cache_hit(b, s, in, key, hex);
	json_decref(key);
	if (error)
		return error < 0 ? error : 0;
	if ((error = stage_sync(b, s)) < 0 ||
	    (error = stage_resolve_user(s, stele_json_str(s->config, "User"), &uid,
					&gid)) < 0)
		return build_instr_error(b, in, error);
	scratch = stele_xasprintf("%s/run-%u", b->tmp, counter);
	pipes = stele_xasprintf("%s/pipes-%u", b->tmp, counter++);
	if ((error = step_argv(&argv, &use_pipes, s, in, pipes)) < 0) {
		error = build_instr_error(b, in, error);
		goto out;
	}
	env = step_env(b, s, uid);
	so.runtime = b->o->runtime;
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
		error = build_instr_error(b, in, error);
		goto out;
	}
	if (sr.status != 0) {
		error = build_instr_error(b, in, stele_error_setc(STELE_EINVALID,
			"the command failed with exit status %d", sr.status));
		goto out;
	}
	if ((error = stele_sandbox_diff(&plan, &sr, s->rootfs, b->epoch)) < 0 ||
	    (error = stele_plan_write(&r, &plan, b->txn, &b->lopts)) < 0) {
		error = build_instr_error(b, in, error);
		goto out;
	}
	inputs = json_pack("[{s:s,s:o,s:s,s:s,s:b,s:o}]", "kind", "run",
		"argv", strv_json(argv), "runtime", so.runtime ? so.runtime : "runc",
		"network", so.network_host ? "host" : "none",
		"overlay", sr.overlay, "baseDiffIDs", json_deep_copy(s->diff_ids));
	build_progress(b, "  layer %s (%llu bytes)", r.digest,
		       (unsigned long long)r.size);
	if ((error = stage_add_layer(b, s, in, &r, inputs)) == 0)
		step_cache_store(b, s, hex);
out:
	stele_plan_release(&plan);
	stele_sandbox_result_release(&sr);
	if (scratch)
		stele_fs_rm_rf(scratch);
	if (use_pipes)
		stele_fs_rm_rf(pipes);
	free(scratch);
	free(pipes);
	strv_free(argv);
	strv_free(env);
	return error;
}
