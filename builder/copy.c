#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build_priv.h"
#include "builder/fetch.h"
#include "builder/glob.h"
#include "builder/ignore.h"
#include "builder/values.h"
#include "oci/extract.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/lazy.h"
#include "util/root.h"

#define MAX_DEPTH 256
#define MAX_LINKS 40

/* One COPY or ADD: what to put where, with which owner and mode. */
struct copy_job {
	struct build *b;
	struct stage *s;
	const struct stele_instr *in;
	struct stele_context *ctx;
	struct stele_plan plan;
	json_t *inline_files; /* layer path -> heredoc name */
	json_t *inputs;
	int chown;
	uid_t uid;
	gid_t gid;
	int chmod;
	mode_t mode;
	const char *chmod_sym; /* a symbolic --chmod, applied per entry */
	int link; /* --link: the stage's files are never read */
	struct stele_ignore *exclude; /* --exclude patterns, or NULL */
	size_t ex_root; /* length of the source root's prefix in paths */
};

#define job_error(j, code, ...) \
	(stele_error_setc((code), __VA_ARGS__), \
	 stele_build__instr_error((j)->b, (j)->in, (code)))

/* ---- owners ---- */

static int
parse_id(long *out, const char *s, const char *rootfs, const char *file)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	if (*s && !*end && !errno && *out >= 0 && *out <= 0x7fffffffL)
		return 0;
	return stele_build__stage_etc_field(out, rootfs, file, s, 2);
}

static int
parse_chown(struct copy_job *j, const char *spec)
{
	char *user = stele_xstrdup(spec), *group = strchr(user, ':');
	long uid = 0, gid = 0;
	int error = 0;

	if (group)
		*group++ = '\0';
	if (!*user || parse_id(&uid, user, j->s->rootfs, "passwd") < 0)
		error = job_error(j, STELE_EINVALID,
				  "--chown: unknown user '%s'", user);
	else if (group &&
		 (!*group || parse_id(&gid, group, j->s->rootfs, "group") < 0))
		error = job_error(j, STELE_EINVALID,
				  "--chown: unknown group '%s'", group);
	if (!error) {
		j->chown = 1;
		j->uid = (uid_t)uid;
		j->gid = (gid_t)(group ? gid : uid);
	}
	free(user);
	return error;
}

static int
parse_chmod(struct copy_job *j, const char *spec)
{
	const char *why;
	char *end;
	long m;

	if (stele_value_chmod_check(spec, &why) < 0) {
		stele_error_setc(STELE_EINVALID,
				 "--chmod: invalid mode '%s' (%s)", spec, why);
		return stele_build__instr_error(j->b, j->in, STELE_EINVALID);
	}
	errno = 0;
	m = strtol(spec, &end, 8);
	j->chmod = 1;
	if (*end) {
		j->chmod_sym = spec;
		return 0;
	}
	j->mode = (mode_t)m;
	return 0;
}

/* ---- paths ---- */

/* Clean a context-relative source; -1 when it climbs out of the root. */
static int
clean_rel(char **out, const char *src)
{
	int depth = 0;
	const char *p = src;
	char *abs;

	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 2 && !strncmp(p, "..", 2)) {
			if (--depth < 0)
				return -1;
		} else if (n && !(n == 1 && *p == '.')) {
			depth++;
		}
		p += n;
	}
	abs = stele_path_clean_abs(src);
	*out = stele_xstrdup(abs + 1);
	free(abs);
	return 0;
}

/*
 * A path inside the stage's rootfs as the image would see it: links among
 * the parents (and the last component with `follow`) followed, confined to
 * the rootfs.  `rel` has no leading slash; the result neither.
 */
static int
rootfs_resolve(char **out, const char *rootfs, const char *rel, int follow)
{
	return stele_root_resolve(out, rel, follow ? STELE_ROOT_FOLLOW : 0,
				  stele_root_lookup_host, (void *)rootfs);
}

/* lstat of a path in the image's view of the rootfs (never the host's). */
static int
rootfs_lstat(const char *rootfs, const char *rel, struct stat *st)
{
	char *host;
	int r;

	if (stele_root_host_path(&host, rootfs, rel, 0) < 0)
		return -1;
	r = lstat(host, st);
	free(host);
	return r;
}

/* ---- planning ---- */

static void
ensure_parents(struct copy_job *j, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int have;

	/* Every path in the plan has its parents there too: one lookup
	 * for a file among others of its directory. */
	if (!slash)
		return;
	dir = stele_xstrndup(path, (size_t)(slash - path));
	have = stele_plan_find(&j->plan, dir) != NULL;
	free(dir);
	if (have)
		return;
	slash = path;

	while ((slash = strchr(slash, '/'))) {
		char *parent = stele_xstrndup(path, (size_t)(slash - path));

		if (!stele_plan_find(&j->plan, parent)) {
			struct stele_plan_entry e = { 0 };
			struct stat st;

			e.path = parent;
			e.type = STELE_ENTRY_DIR;
			e.perm = 0755;
			e.mtime = j->b->epoch;
			/* As buildah and BuildKit: directories a COPY --chown
			 * creates belong to that owner. */
			if (j->chown) {
				e.uid = j->uid;
				e.gid = j->gid;
			}
			if (!j->link &&
			    rootfs_lstat(j->s->rootfs, parent, &st) == 0 &&
			    S_ISDIR(st.st_mode)) {
				e.perm = st.st_mode & 07777;
				e.uid = st.st_uid;
				e.gid = st.st_gid;
			}
			stele_plan_add(&j->plan, &e);
		}
		free(parent);
		slash++;
	}
}

static void
plan_entry(struct copy_job *j, const char *dst, const struct stele_ctx_stat *st,
	   const char *src_rel)
{
	struct stele_plan_entry e = { 0 };
	struct stele_plan_entry *old;
	struct stat hs;

	ensure_parents(j, dst);
	e.path = (char *)dst;
	e.type = st->type;
	e.perm = st->perm;
	e.uid = j->chown ? j->uid : st->uid;
	e.gid = j->chown ? j->gid : st->gid;
	e.mtime = j->b->epoch;
	e.size = st->size;
	e.link = st->link;
	e.link_key = st->link_key;
	e.src_kind = st->src_kind;
	e.src = st->src;
	if (j->chmod &&
	    (e.type == STELE_ENTRY_FILE || e.type == STELE_ENTRY_DIR))
		e.perm = j->chmod_sym
			? stele_value_chmod(j->chmod_sym, e.perm,
					    e.type == STELE_ENTRY_DIR)
			: j->mode;
	if (e.type == STELE_ENTRY_DIR && !j->chown && !j->chmod && !j->link) {
		/* Copying into an existing directory keeps its metadata. */
		if (rootfs_lstat(j->s->rootfs, dst, &hs) == 0 &&
		    S_ISDIR(hs.st_mode)) {
			e.perm = hs.st_mode & 07777;
			e.uid = hs.st_uid;
			e.gid = hs.st_gid;
		}
	}
	old = stele_plan_find(&j->plan, dst);
	if (old && old->type == STELE_ENTRY_DIR && e.type == STELE_ENTRY_DIR)
		return;
	if (e.type == STELE_ENTRY_FILE)
		e.origin = (char *)src_rel; /* what the provenance records */
	stele_plan_add(&j->plan, &e);
}

static int
copy_tree(struct copy_job *j, const char *src, const char *dst, int depth)
{
	char **names = NULL;
	size_t n = 0, i;
	int error;

	if (depth > MAX_DEPTH)
		return job_error(j, STELE_EINVALID, "'%s' nests too deeply",
				 src);
	if ((error = stele_context_list(&names, &n, j->ctx, src)) < 0)
		return stele_build__instr_error(j->b, j->in, error);
	for (i = 0; i < n && !error; i++) {
		char *s = stele_path_rel(src, names[i]);
		char *d = stele_path_rel(dst, names[i]);
		struct stele_ctx_stat st;

		if ((error = stele_context_stat(&st, j->ctx, s)) ==
		    STELE_ENOTFOUND) {
			error = 0; /* excluded */
		} else if (error == 0 && j->exclude &&
			   stele_ignore_match(j->exclude, s + j->ex_root)) {
			/* --exclude, relative to the source directory; walked
			 * only if a "!" pattern may bring something back */
			if (st.type == STELE_ENTRY_DIR &&
			    stele_ignore_has_exceptions(j->exclude))
				error = copy_tree(j, s, d, depth + 1);
		} else if (error < 0) {
			error = stele_build__instr_error(j->b, j->in, error);
		} else if (st.type == STELE_ENTRY_CHAR ||
			   st.type == STELE_ENTRY_BLOCK) {
			error = job_error(
				j, STELE_EINVALID,
				"'%s' is a device node; COPY does not copy devices",
				s);
		} else {
			/* An excluded directory only appears if something
			 * inside it is re-included (as a parent). */
			if (!st.excluded)
				plan_entry(j, d, &st, s);
			if (st.type == STELE_ENTRY_DIR)
				error = copy_tree(j, s, d, depth + 1);
		}
		if (error != STELE_ENOTFOUND)
			stele_ctx_stat_release(&st);
		free(s);
		free(d);
	}
	stele_strv_free(names, n);
	return error;
}

/* Follow a symlink named as a COPY source, within the context. */
static int
stat_follow(struct stele_ctx_stat *st, struct copy_job *j, char **rel)
{
	int hops, error;

	for (hops = 0;; hops++) {
		char *dir, *joined, *next;
		const char *slash;

		if ((error = stele_context_stat(st, j->ctx, *rel)) < 0)
			return error;
		if (st->type != STELE_ENTRY_SYMLINK)
			return 0;
		if (hops >= MAX_LINKS)
			return stele_error_setc(
				STELE_EINVALID,
				"too many levels of symbolic links at '%s'",
				*rel);
		slash = strrchr(*rel, '/');
		dir = slash ? stele_xstrndup(*rel, (size_t)(slash - *rel))
			    : stele_xstrdup("");
		joined = st->link[0] == '/'
			? stele_xstrdup(st->link)
			: stele_xasprintf("%s/%s", dir, st->link);
		free(dir);
		if (clean_rel(&next, joined) < 0) {
			free(joined);
			stele_ctx_stat_release(st);
			return stele_error_setc(
				STELE_EINVALID,
				"symbolic link '%s' points outside the build context",
				*rel);
		}
		free(joined);
		stele_ctx_stat_release(st);
		free(*rel);
		*rel = next;
	}
}

static int
glob_walk(json_t *out, struct copy_job *j, const char *dir, const char *pat)
{
	size_t n = strcspn(pat, "/"), count = 0, i;
	char *comp = stele_xstrndup(pat, n), **names = NULL;
	const char *rest = pat[n] ? pat + n + 1 : NULL;
	int error = 0;

	if (!stele_glob_has_meta(comp)) {
		char *p = stele_path_rel(dir, comp);
		struct stele_ctx_stat st;

		if (stele_context_stat(&st, j->ctx, p) == 0) {
			if (!rest)
				json_array_append_new(out, json_string(p));
			else if (st.type == STELE_ENTRY_DIR)
				error = glob_walk(out, j, p, rest);
			stele_ctx_stat_release(&st);
		}
		free(p);
		free(comp);
		return error;
	}
	if (stele_context_list(&names, &count, j->ctx, dir) < 0)
		count = 0;
	for (i = 0; i < count && !error; i++) {
		int m = stele_glob_match(comp, names[i]);
		char *p;
		struct stele_ctx_stat st;

		if (m < 0) {
			error = stele_error_setc(STELE_EINVALID,
						 "malformed pattern '%s'", pat);
			break;
		}
		if (!m)
			continue;
		p = stele_path_rel(dir, names[i]);
		if (!rest) {
			json_array_append_new(out, json_string(p));
		} else if (stele_context_stat(&st, j->ctx, p) == 0) {
			if (st.type == STELE_ENTRY_DIR)
				error = glob_walk(out, j, p, rest);
			stele_ctx_stat_release(&st);
		}
		free(p);
	}
	stele_strv_free(names, count);
	free(comp);
	return error;
}

/* Expand one source argument into context paths. */
static int
expand_source(json_t *out, struct copy_job *j, const char *arg)
{
	char *rel;
	size_t before = json_array_size(out);
	int error;

	if (clean_rel(&rel, arg) < 0)
		return job_error(j, STELE_EINVALID,
				 "source '%s' is outside the build context",
				 arg);
	if (stele_glob_has_meta(rel)) {
		if ((error = glob_walk(out, j, "", rel)) < 0) {
			free(rel);
			return stele_build__instr_error(j->b, j->in, error);
		}
		if (json_array_size(out) == before)
			error = job_error(j, STELE_ENOTFOUND,
					  "no source files match '%s'", arg);
	} else {
		json_array_append_new(out, json_string(rel));
		error = 0;
	}
	free(rel);
	return error;
}

static int
copy_source(struct copy_job *j, const char *src, const char *dest, int into_dir)
{
	struct stele_ctx_stat st;
	char *rel = stele_xstrdup(src), *dst;
	const char *base;
	int error;

	if ((error = stat_follow(&st, j, &rel)) < 0) {
		if (error == STELE_ENOTFOUND)
			stele_error_setc(
				error,
				"source '%s' not found in the build context",
				src);
		free(rel);
		return stele_build__instr_error(j->b, j->in, error);
	}
	if (st.type == STELE_ENTRY_DIR) {
		if (*dest) {
			plan_entry(j, dest, &st, NULL);
		}
		j->ex_root = *rel ? strlen(rel) + 1 : 0;
		error = copy_tree(j, rel, dest, 0);
	} else {
		base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
		dst = into_dir ? stele_path_rel(dest, base)
			       : stele_xstrdup(dest);
		if (!*dst)
			error = job_error(j, STELE_EINVALID,
					  "cannot copy '%s' onto /", src);
		else
			plan_entry(j, dst, &st, rel);
		free(dst);
	}
	stele_ctx_stat_release(&st);
	free(rel);
	return error;
}

/* ---- sources other than the build context ---- */

/* The heredoc named by source word `arg`, or NULL when it names none. */
static const struct stele_heredoc *
inline_source(const struct stele_instr *in, const char *arg, int *chomp,
	      int *expand)
{
	const struct stele_heredoc *found = NULL;
	static const struct stele_heredoc empty = { (char *)"", (char *)"", 0,
						    0, 0 };
	struct stele_heredoc w;
	size_t i;

	if (in->json_form || !in->nheredocs || !stele_heredoc_word(&w, arg))
		return NULL;
	/* BuildKit looks the name up in a map: the last one wins. */
	for (i = 0; i < in->nheredocs; i++)
		if (!strcmp(in->heredocs[i].name, w.name))
			found = &in->heredocs[i];
	*chomp = w.chomp;
	*expand = w.expand;
	stele_heredoc_release(&w);
	return found ? found : &empty;
}

/*
 * COPY/ADD <<NAME: a file NAME (mode 0644 unless --chmod, root's unless
 * --chown) holding the heredoc's content, tabs stripped for `<<-` and
 * variables expanded unless the name was quoted (BuildKit's SourceContents).
 * Never an archive to unpack.
 */
static int
copy_inline(struct copy_job *j, const char *arg, const char *dest, int into_dir,
	    unsigned n)
{
	const struct stele_heredoc *h;
	struct stele_ctx_stat st = { 0 };
	char *data, *exp = NULL, *dir, *host, *dst;
	int chomp = 0, expand = 0, error;

	h = inline_source(j->in, arg, &chomp, &expand);
	if (!*h->name || strchr(h->name, '/') || !strcmp(h->name, ".") ||
	    !strcmp(h->name, ".."))
		return job_error(j, STELE_EINVALID,
				 "a heredoc copied as a file"
				 " needs a file name, not '%s'",
				 h->name);
	data = chomp ? stele_heredoc_chomp(h->content)
		     : stele_xstrdup(h->content);
	if (expand &&
	    (error = stele_build__expand_raw(&exp, j->b, j->s, j->in, data)) <
		    0) {
		free(data);
		return error;
	}
	if (exp) {
		free(data);
		data = exp;
	}
	dir = stele_xasprintf("%s/heredoc-%u", j->b->tmp, n);
	host = stele_path_join(dir, h->name);
	if ((error = stele_fs_mkdir_p(dir, 0700)) < 0 ||
	    (error = stele_fs_write_new(host, data, strlen(data), 0644)) < 0) {
		error = stele_build__instr_error(j->b, j->in, error);
		goto out;
	}
	dst = into_dir ? stele_path_rel(dest, h->name) : stele_xstrdup(dest);
	if (!*dst) {
		error = job_error(j, STELE_EINVALID, "cannot copy '%s' onto /",
				  arg);
	} else {
		st.type = STELE_ENTRY_FILE;
		st.perm = 0644;
		st.size = strlen(data);
		st.src_kind = STELE_SRC_PATH;
		st.src = host;
		plan_entry(j, dst, &st, NULL);
		json_object_set_new(j->inline_files, dst, json_string(h->name));
	}
	free(dst);
out:
	free(host);
	free(dir);
	free(data);
	return error;
}

static int
atoi_safe_eq(const char *s, size_t want)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	return *s && !*end && !errno && v == want;
}

/* COPY --from=IMAGE: the image's filesystem, extracted under the build's
 * temporary directory (removed with it). */
static int
from_image_source(struct copy_job *j, const char *from,
		  struct stele_context **own)
{
	char *dir = NULL, digest[STELE_DIGEST_STRLEN];
	int error;

	if ((error = stele_build__image_extract(&dir, digest, j->b, from)) ==
	    0) {
		json_array_append_new(j->inputs,
				      json_pack("{s:s,s:s,s:s}", "kind",
						"image", "image", from,
						"digest", digest));
		stele_prov_dep(&j->b->prov, from,
			       json_pack("{s:s}", "sha256", digest + 7));
		if ((error = stele_context_open_rootfs(own, dir)) == 0)
			j->ctx = *own;
	}
	if (error < 0) {
		stele_error_prefix(error, "--from '%s'", from);
		error = stele_build__instr_error(j->b, j->in, error);
	}
	free(dir);
	return error;
}

static int
from_source(struct copy_job *j, const char *from, struct stele_context **own)
{
	struct build *b = j->b;
	struct stage *src = NULL;
	size_t i;

	for (i = 0; i < j->s->index; i++)
		if ((b->stages[i]->name &&
		     !strcasecmp(b->stages[i]->name, from)) ||
		    (atoi_safe_eq(from, i)))
			src = b->stages[i];
	if (!src && (strchr(from, ':') || strchr(from, '/')))
		return from_image_source(j, from, own);
	if (!src)
		return job_error(
			j, STELE_EINVALID,
			"--from: unknown stage '%s' (stages must come earlier in the recipe)",
			from);
	json_array_append_new(j->inputs,
			      json_pack("{s:s,s:s?,s:i,s:o}", "kind", "stage",
					"stage", src->name, "index",
					(int)src->index, "diffIDs",
					json_deep_copy(src->diff_ids)));
	if (stele_build__stage_sync(b, src) < 0)
		return stele_build__instr_error(b, j->in, STELE_ERROR);
	if (stele_context_open_rootfs(own, src->rootfs) < 0)
		return stele_build__instr_error(b, j->in, STELE_ERROR);
	j->ctx = *own;
	return 0;
}

static int
is_http(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

/*
 * ADD --checksum=sha256:… URL DEST: the file, downloaded and checked
 * (builder/fetch.h), named as BuildKit names it (the URL path's last
 * part, else "__unnamed__"), mode 0600 unless --chmod, as BuildKit.
 */
static int
copy_download(struct copy_job *j, const char *url, const char *sum,
	      const char *dest, int into_dir)
{
	struct stele_ctx_stat st = { 0 };
	uint64_t max = j->b->o->limits.max_size ? j->b->o->limits.max_size
						: STELE_LIMIT_SIZE_DEFAULT;
	const char *p = strstr(url, "://") + 3, *e;
	char *name, *dir, *host, *dst;
	uint64_t size;
	int error;

	/* the path: after the host, before any query or fragment */
	p += strcspn(p, "/?#");
	e = p + strcspn(p, "?#");
	while (e > p && e[-1] == '/')
		e--;
	name = e > p ? stele_xstrndup(p, (size_t)(e - p)) : stele_xstrdup("");
	if (strrchr(name, '/')) {
		char *base = stele_xstrdup(strrchr(name, '/') + 1);

		free(name);
		name = base;
	}
	if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) {
		free(name);
		name = stele_xstrdup("__unnamed__");
	}
	dir = stele_xasprintf("%s/download-%u", j->b->tmp, j->b->tmp_seq++);
	host = stele_path_join(dir, name);
	stele_build__progress(j->b, "  downloading %s", url);
	if ((error = stele_fs_mkdir_p(dir, 0700)) < 0 ||
	    (error = stele_fetch_pinned(&size, url, sum, host, max)) < 0) {
		error = stele_build__instr_error(j->b, j->in, error);
		goto out;
	}
	dst = into_dir ? stele_path_rel(dest, name) : stele_xstrdup(dest);
	if (!*dst) {
		error = job_error(j, STELE_EINVALID, "cannot copy '%s' onto /",
				  url);
	} else {
		st.type = STELE_ENTRY_FILE;
		st.perm = 0600;
		st.size = size;
		st.src_kind = STELE_SRC_PATH;
		st.src = host;
		plan_entry(j, dst, &st, NULL);
		json_array_append_new(j->inputs,
				      json_pack("{s:s,s:s,s:s,s:{s:s}}", "kind",
						"download", "uri", url, "dest",
						dst, "digest", "sha256",
						sum + 7));
	}
	free(dst);
out:
	free(host);
	free(dir);
	free(name);
	return error;
}

static int
write_fd_cb(void *payload, const void *data, size_t len)
{
	if (stele_fs_write_all(*(int *)payload, data, len) < 0)
		return stele_error_errno("cannot write a temporary file");
	return 0;
}

/* Copy a context file to a host path (streamed). */
static int
export_file(struct copy_job *j, const char *rel, const char *dst)
{
	struct stele_ctx_stat st;
	struct stele_plan_entry e = { 0 };
	int fd, error;

	if ((error = stele_context_stat(&st, j->ctx, rel)) < 0)
		return error;
	if (st.src_kind == STELE_SRC_PATH) {
		error = stele_fs_copy_file(st.src, dst, 0600);
	} else {
		if ((fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			       0600)) < 0) {
			error = stele_error_errno("cannot create '%s'", dst);
		} else {
			e.path = (char *)rel;
			e.src = st.src;
			error = stele_context_src_read(j->ctx, &e, write_fd_cb,
						       &fd);
			close(fd);
		}
	}
	stele_ctx_stat_release(&st);
	return error;
}

static int
is_tar(const char *path)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	int ok;

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	ok = archive_read_open_filename(a, path, 65536) == ARCHIVE_OK &&
		archive_read_next_header(a, &ae) == ARCHIVE_OK;
	archive_read_free(a);
	return ok;
}

/* Extract our copy of an archive; errors name it as the recipe does. */
static int
extract_named(const char *file, const char *dir, const char *rel,
	      const struct stele_limits *limits)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC), error;

	if (fd < 0)
		return stele_error_errno("cannot open '%s'", file);
	error = stele_extract_fd(fd, dir, 0, rel, limits);
	close(fd);
	return error;
}

/* ADD of a local archive: extract safely, then copy the tree. */
static int
add_archive(struct copy_job *j, const char *rel, const char *dest, int *handled)
{
	struct stele_context *ctx = NULL, *saved = j->ctx;
	static unsigned counter;
	char *file = stele_xasprintf("%s/add-%u.tar", j->b->tmp, counter);
	char *dir = stele_xasprintf("%s/add-%u.d", j->b->tmp, counter++);
	char digest[STELE_DIGEST_STRLEN];
	char *real = stele_xstrdup(rel);
	struct stele_ctx_stat st;
	int error;

	*handled = 0;
	/* Only a regular file (or a link to one) can be an archive; anything
	 * else, or a source that is missing, is left to the copy. */
	if (stat_follow(&st, j, &real) < 0) {
		error = 0;
		goto out;
	}
	error = st.type == STELE_ENTRY_FILE;
	stele_ctx_stat_release(&st);
	if (!error)
		goto out;
	unlink(file);
	stele_fs_rm_rf(dir);
	if ((error = export_file(j, real, file)) < 0) {
		error = stele_build__instr_error(j->b, j->in, error);
		goto out;
	}
	if (!is_tar(file))
		goto out;
	*handled = 1;
	if ((error = stele_digest_file(digest, NULL, file)) < 0 ||
	    (error = stele_fs_mkdir_p(dir, 0755)) < 0 ||
	    (error = extract_named(file, dir, rel, &j->b->o->limits)) < 0 ||
	    (error = stele_context_open_rootfs(&ctx, dir)) < 0) {
		error = stele_build__instr_error(j->b, j->in, error);
		goto out;
	}
	json_array_append_new(j->inputs,
			      json_pack("{s:s,s:s,s:{s:s}}", "kind", "archive",
					"path", rel, "digest", "sha256",
					digest + 7));
	j->ctx = ctx;
	error = copy_source(j, "", dest, 1);
	j->ctx = saved;
out:
	free(real);
	stele_context_free(ctx);
	free(file);
	free(dir);
	return error;
}

/*
 * The provenance's record of each file the COPY read: inline for a few,
 * else a file list blob staged beside the layer (builder/provenance.h).
 */
static int
record_files(struct copy_job *j)
{
	struct stele_prov_filelist *fl = NULL;
	size_t i, n = 0;
	json_t *in;
	int error = 0;

	for (i = 0; i < j->plan.n; i++)
		n += j->plan.entries[i].origin && j->plan.entries[i].digested;
	if (n > STELE_PROV_FILES_INLINE &&
	    (error = stele_prov_filelist_new(&fl, j->b->txn)) < 0)
		return error;
	for (i = 0; i < j->plan.n; i++) {
		const struct stele_plan_entry *e = &j->plan.entries[i];
		char d[STELE_DIGEST_STRLEN];

		if (!e->origin || !stele_plan_digest(d, e))
			continue;
		if (fl) {
			if ((error = stele_prov_filelist_add(
				     fl, e->origin, e->path, d + 7)) < 0)
				goto out;
		} else {
			json_array_append_new(
				j->inputs,
				json_pack("{s:s,s:s,s:s,s:{s:s}}", "kind",
					  "file", "path", e->origin, "dest",
					  e->path, "digest", "sha256", d + 7));
		}
	}
	if (fl) {
		error = stele_prov_filelist_commit(&in, fl);
		fl = NULL;
		if (error == 0)
			json_array_append_new(j->inputs, in);
	}
out:
	stele_prov_filelist_free(fl);
	return error;
}

/* Write the planned layer; record per-file inputs for the provenance. */
static int
write_layer(struct copy_job *j)
{
	struct stele_layer_opts o = j->b->lopts;
	struct stele_layer_result r;
	const char *dst;
	json_t *src;
	int error;

	o.read_payload = j->ctx;
	if ((error = stele_plan_write(&r, &j->plan, j->b->txn, &o)) < 0 ||
	    (error = record_files(j)) < 0)
		return stele_build__instr_error(j->b, j->in, error);
	json_object_foreach(j->inline_files, dst, src) {
		struct stele_plan_entry *e = stele_plan_find(&j->plan, dst);
		char d[STELE_DIGEST_STRLEN];

		if (e && stele_plan_digest(d, e))
			json_array_append_new(
				j->inputs,
				json_pack("{s:s,s:s,s:s,s:{s:s}}", "kind",
					  "heredoc", "name",
					  json_string_value(src), "dest", dst,
					  "digest", "sha256", d + 7));
	}
	stele_build__progress(j->b, "  layer %s (%llu bytes)", r.digest,
			      (unsigned long long)r.size);
	error = stele_build__stage_add_layer(j->b, j->s, j->in, &r,
					     json_incref(j->inputs));
	return error < 0 ? stele_build__instr_error(j->b, j->in, error) : 0;
}

/*
 * ADD GITURL#REF DEST: resolve the commit (recorded in the key and the
 * provenance whether or not the cache then hits) and open its tree.
 */
static int
git_source(struct copy_job *j, const char *url, const char *sum, json_t *key,
	   struct stele_git_source **git, struct stele_context **ctx)
{
	const char *spec = url;
	char *fixed = NULL;
	int error;

	*git = NULL;
	*ctx = NULL;
	if (strncmp(url, "git+", 4))
		spec = fixed = stele_xasprintf("git+%s", url);
	if ((error = stele_build__git_open(j->b, git, spec)) < 0 ||
	    (error = stele_context_open_git(ctx, *git)) < 0) {
		error = stele_build__instr_error(j->b, j->in, error);
		goto out;
	}
	/* ADD --checksum=COMMIT: the ref must resolve to that commit (a
	   prefix of its id, as BuildKit allows). */
	if (sum && strncasecmp((*git)->commit, sum, strlen(sum))) {
		error = job_error(j, STELE_EVERIFY,
				  "--checksum: expected "
				  "commit %s, '%s' resolved to %s",
				  sum, url, (*git)->commit);
		goto out;
	}
	stele_build__progress(j->b, "  %s at %s", (*git)->uri, (*git)->commit);
	json_object_set_new(key, "git",
			    json_pack("{s:s,s:s,s:s}", "uri", url, "commit",
				      (*git)->commit, "tree", (*git)->tree));
	stele_prov_dep(&j->b->prov, (*git)->uri,
		       json_pack("{s:s,s:s}", "gitCommit", (*git)->commit,
				 "gitTree", (*git)->tree));
	json_array_append_new(j->inputs,
			      json_pack("{s:s,s:s,s:s,s:{s:s,s:s}}", "kind",
					"git", "uri", (*git)->uri, "ref",
					(*git)->ref, "digest", "gitCommit",
					(*git)->commit, "gitTree",
					(*git)->tree));
out:
	free(fixed);
	return error;
}

/*
 * COPY --parents SRC DEST (BuildKit's meaning): each match of SRC keeps
 * its path under DEST, a directory, from the context's root or from
 * where SRC says with "/./" (`a/./b/c` keeps `b/c`).  The directories on
 * the kept path are copied with their metadata.
 */
static int file_excluded(struct copy_job *j, const char *rel);

static int
copy_parents(struct copy_job *j, const char *word, const char *dest)
{
	const char *pivot = strstr(word, "/./");
	json_t *matches = json_array(), *v;
	char *base = NULL, *rest, *full;
	size_t i, blen;
	int error, isdir;

	if (pivot &&
	    clean_rel(&base,
		      (rest = stele_xstrndup(word, (size_t)(pivot - word)))) <
		    0) {
		free(rest);
		json_decref(matches);
		return job_error(j, STELE_EINVALID,
				 "source '%s' is outside the build context",
				 word);
	}
	if (pivot)
		free(rest);
	full = pivot ? stele_xasprintf("%s/%s", *base ? base : ".", pivot + 3)
		     : stele_xstrdup(word);
	blen = base && *base ? strlen(base) + 1 : 0;
	error = expand_source(matches, j, full);
	json_array_foreach(matches, i, v) {
		const char *m = json_string_value(v), *kept, *c;
		struct stele_ctx_stat st;
		char *target, *dir;

		if (error)
			break;
		if (blen &&
		    (strncmp(m, base, blen - 1) ||
		     (m[blen - 1] && m[blen - 1] != '/'))) {
			error = job_error(j, STELE_EINVALID,
					  "'%s' leaves the "
					  "directory before '/./'",
					  word);
			break;
		}
		kept = !blen ? m : m[blen - 1] ? m + blen : "";
		/* the kept path's directories, as in the source */
		for (c = kept; (c = strchr(c, '/')); c++) {
			char *srcdir = stele_xstrndup(m, (size_t)(c - m));

			dir = stele_xstrndup(kept, (size_t)(c - kept));
			target = stele_path_rel(dest, dir);
			if (stele_context_stat(&st, j->ctx, srcdir) == 0) {
				if (st.type == STELE_ENTRY_DIR)
					plan_entry(j, target, &st, NULL);
				stele_ctx_stat_release(&st);
			}
			free(target);
			free(dir);
			free(srcdir);
		}
		if (j->exclude && file_excluded(j, m))
			continue;
		isdir = 0;
		if (stele_context_stat(&st, j->ctx, m) == 0) {
			isdir = st.type == STELE_ENTRY_DIR;
			stele_ctx_stat_release(&st);
		}
		if (isdir) {
			target = !*kept ? stele_xstrdup(dest)
					: stele_path_rel(dest, kept);
		} else {
			c = strrchr(kept, '/');
			dir = c ? stele_xstrndup(kept, (size_t)(c - kept))
				: stele_xstrdup("");
			target = !*dir ? stele_xstrdup(dest)
				       : stele_path_rel(dest, dir);
			free(dir);
		}
		error = copy_source(j, m, target, 1);
		free(target);
	}
	json_decref(matches);
	free(full);
	free(base);
	return error;
}

/*
 * --exclude on a source that is not a directory: its name is matched (a
 * directory's entries are matched below it, in copy_tree).
 */
static int
file_excluded(struct copy_job *j, const char *rel)
{
	struct stele_ctx_stat st;
	const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	int dir;

	if (stele_context_stat(&st, j->ctx, rel) < 0)
		return 0; /* reported by the copy */
	dir = st.type == STELE_ENTRY_DIR;
	stele_ctx_stat_release(&st);
	return !dir && stele_ignore_match(j->exclude, base);
}

/* The --exclude flags (repeatable) as one pattern list. */
static int
parse_excludes(struct copy_job *j)
{
	struct stele_buf b = STELE_BUF_INIT((size_t)1 << 20);
	const char *v;
	size_t i;
	int error = 0;

	for (i = 0; (v = stele_instr_flag_nth(j->in, "exclude", i)); i++)
		if (stele_buf_printf(&b, "%s\n", v) < 0)
			error = -1;
	if (i && !error)
		error = stele_ignore_parse(&j->exclude, b.ptr, b.len,
					   "--exclude");
	stele_buf_release(&b);
	return error < 0 ? stele_build__instr_error(j->b, j->in, error) : 0;
}

/*
 * ADD --checksum (BuildKit's rules: one source, a git URL, a hex commit
 * id) and --keep-git-dir (a .git directory is not written: its packs and
 * index are not reproducible).
 */
static int
check_add_flags(struct copy_job *j, char **words, size_t nsrc, const char *sum)
{
	if (sum && nsrc != 1)
		return job_error(
			j, STELE_EINVALID, "%s",
			"--checksum can't be specified for multiple sources");
	if (sum && !stele_value_is_git_url(words[0]) && !is_http(words[0]))
		return job_error(j, STELE_EINVALID,
				 "--checksum requires a git or "
				 "http(s) source, not '%s'",
				 words[0]);
	if (sum && stele_value_is_git_url(words[0]) &&
	    (!*sum || strspn(sum, "0123456789abcdefABCDEF") != strlen(sum)))
		return job_error(j, STELE_EINVALID,
				 "invalid --checksum '%s' for "
				 "a git URL: want a hex commit id",
				 sum);
	if (sum && !stele_value_is_git_url(words[0]) &&
	    stele_digest_validate(sum) < 0)
		return job_error(j, STELE_EINVALID,
				 "invalid --checksum '%s' for "
				 "a download: want sha256:<64 hex digits>",
				 sum);
	if (sum && !stele_value_is_git_url(words[0]) &&
	    stele_instr_flag_true(j->in, "unpack"))
		return job_error(
			j, STELE_EINVALID, "%s",
			"--unpack=true of a "
			"download is not supported: ADD it, then unpack it "
			"with RUN");
	if (stele_instr_flag_true(j->in, "keep-git-dir") && nsrc == 1 &&
	    stele_value_is_git_url(words[0]))
		return job_error(
			j, STELE_EINVALID, "%s",
			"--keep-git-dir: stele "
			"adds the tree of the commit; a .git directory "
			"(packs, index) would not be reproducible");
	return 0;
}

static void
job_init(struct copy_job *j, struct build *b, struct stage *s,
	 const struct stele_instr *in)
{
	j->b = b;
	j->s = s;
	j->in = in;
	j->ctx = b->ctx;
	j->inline_files = json_object();
	j->inputs = json_array();
}

static void
job_release(struct copy_job *j)
{
	stele_plan_release(&j->plan);
	stele_ignore_free(j->exclude);
	json_decref(j->inline_files);
	json_decref(j->inputs);
}

/* The destination inside the image, relative to /, parents resolved. */
static int
dest_path(char **out, struct copy_job *j, const char *raw, int *into_dir)
{
	const char *wd = stele_json_str(j->s->config, "WorkingDir");
	size_t n = strlen(raw);
	char *joined, *clean, *resolved = NULL, *host;
	struct stat st;
	int error;

	*into_dir = n &&
		(raw[n - 1] == '/' || !strcmp(raw, ".") ||
		 (n >= 2 && !strcmp(raw + n - 2, "/.")));
	joined = raw[0] == '/'
		? stele_xstrdup(raw)
		: stele_xasprintf("%s/%s", wd && *wd ? wd : "/", raw);
	clean = stele_path_clean_abs(joined);
	if (j->link) {
		/* BuildKit copies onto an empty tree, then merges: links of
		 * the stage are not followed, and only a trailing '/' (or /)
		 * makes the destination a directory. */
		resolved = stele_xstrdup(clean + 1);
		*into_dir |= !*resolved;
		error = 0;
		goto out;
	}
	/* A destination that is (a link to) a directory is copied into. */
	if ((error = rootfs_resolve(&resolved, j->s->rootfs, clean + 1, 1)) < 0)
		goto out;
	host = stele_path_join(j->s->rootfs, resolved);
	if (!*resolved || (lstat(host, &st) == 0 && S_ISDIR(st.st_mode))) {
		*into_dir = 1;
	} else {
		free(resolved);
		error = rootfs_resolve(&resolved, j->s->rootfs, clean + 1, 0);
	}
	free(host);
out:
	if (error < 0) {
		free(resolved);
		resolved = NULL;
		error = stele_build__instr_error(j->b, j->in, error);
	}
	*out = resolved;
	free(clean);
	free(joined);
	return error;
}

/*
 * The cache key of a COPY/ADD: the expanded words and flags, and what the
 * sources are by digest: context paths by content, a --from stage by its
 * diff_ids, a --from image by its manifest digest.  Reads no root
 * filesystem, so a hit costs no extraction.
 */
/* A host file's content digest as the layer writer computed it (the
 * plan's written files, sorted by src): 1 and the digest in d, or 0. */
struct known_digests {
	const struct stele_plan_entry **e;
	size_t n;
};

static int
known_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct stele_plan_entry *const *)a)->src,
		      (*(const struct stele_plan_entry *const *)b)->src);
}

static int
known_digest(void *payload, const char *src, char d[STELE_DIGEST_STRLEN])
{
	struct known_digests *k = payload;
	size_t lo = 0, hi = k->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(k->e[mid]->src, src);

		if (c == 0)
			return stele_plan_digest(d, k->e[mid]);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/*
 * The key's "sources": each context source of the step by the digest of
 * what a COPY of it reads.  With `j->plan` written (plan_digests), the
 * writer's per-file digests are used and only files it did not write (or
 * digest) are read: the same key, with no second pass over the files.
 */
static int
key_sources(json_t *key, struct copy_job *j, char **words, size_t nsrc,
	    int plan_digests)
{
	json_t *srcs = json_array(), *digests = json_array(), *v;
	struct known_digests k = { 0 };
	size_t i;
	int error = 0, chomp, expand;

	if (plan_digests) {
		k.e = stele_xcalloc(j->plan.n + 1, sizeof(*k.e));
		for (i = 0; i < j->plan.n; i++) {
			const struct stele_plan_entry *e = &j->plan.entries[i];

			if (e->type == STELE_ENTRY_FILE &&
			    e->src_kind == STELE_SRC_PATH && e->src &&
			    e->digested)
				k.e[k.n++] = e;
		}
		qsort(k.e, k.n, sizeof(*k.e), known_cmp);
	}
	for (i = 0; i < nsrc && !error; i++)
		if (!stele_value_is_url(words[i]) &&
		    !stele_value_is_git_url(words[i]) &&
		    !inline_source(j->in, j->in->args[i], &chomp, &expand))
			error = expand_source(srcs, j, words[i]);
	json_array_foreach(srcs, i, v) {
		char d[STELE_DIGEST_STRLEN];

		if (error)
			break;
		if ((error = stele_context_digest_known(
			     d, j->ctx, json_string_value(v),
			     plan_digests ? known_digest : NULL, &k)) == 0)
			json_array_append_new(digests,
					      json_pack("[O,s]", v, d));
		else if (error == STELE_ENOTFOUND)
			error = 0; /* reported by the copy itself */
		else
			error = stele_build__instr_error(j->b, j->in, error);
	}
	if (!error)
		json_object_set_new(key, "sources", digests);
	else
		json_decref(digests);
	json_decref(srcs);
	free(k.e);
	return error;
}

/*
 * `defer`: the step will not be looked up (--no-cache): its "sources" are
 * left out, for key_sources() to add after the layer is written.
 */
static int
copy_key(json_t *key, struct copy_job *j, char **words, size_t nsrc,
	 const char *from, int defer)
{
	json_t *w = json_array();
	struct stage *src = NULL;
	size_t i;
	int error = 0;

	for (i = 0; i <= nsrc; i++)
		json_array_append_new(w, json_string(words[i]));
	json_object_set_new(key, "words", w);
	json_object_set_new(key, "flags",
			    json_pack("{s:s?,s:s?,s:s?}", "from", from, "chown",
				      stele_instr_flag(j->in, "chown"), "chmod",
				      stele_instr_flag(j->in, "chmod")));
	if (from) {
		for (i = 0; i < j->s->index; i++)
			if ((j->b->stages[i]->name &&
			     !strcasecmp(j->b->stages[i]->name, from)) ||
			    atoi_safe_eq(from, i))
				src = j->b->stages[i];
		if (src) {
			json_object_set(key, "fromDiffIDs", src->diff_ids);
		} else {
			struct stele_image *img = NULL;

			/* Unknown names fail later, with the real reason; a
			 * name that is no image (no ':' or '/') is a stage
			 * the recipe lacks, never something to pull. */
			if ((strchr(from, ':') || strchr(from, '/')) &&
			    stele_build__image_open(&img, j->b, from) == 0) {
				json_object_set_new(key, "fromImage",
						    json_string(img->digest));
				/* Recorded on a cache hit as on a miss. */
				stele_prov_dep(&j->b->prov, from,
					       json_pack("{s:s}", "sha256",
							 img->digest + 7));
			}
			stele_image_free(img);
		}
		return 0;
	}
	if (!defer)
		error = key_sources(key, j, words, nsrc, 0);
	return error;
}

int
stele_build__copy(struct build *b, struct stage *s,
		  const struct stele_instr *in)
{
	struct copy_job j = { 0 };
	struct stele_context *own = NULL, *gctx = NULL, *kept = NULL;
	struct stele_git_source *git = NULL;
	const char *from = stele_instr_flag(in, "from");
	const char *chown_f = stele_instr_flag(in, "chown");
	const char *chmod_f = stele_instr_flag(in, "chmod");
	const char *sum = stele_instr_flag(in, "checksum");
	char **words = NULL, *dest = NULL, *fv = NULL, *fromv = NULL, hex[65];
	json_t *srcs = json_array(), *v, *key = NULL;
	size_t i, nsrc = in->nargs - 1, ninline = 0;
	int into_dir, error = 0, add = in->kind == STELE_I_ADD, git_add, dl_add;
	int defer;
	int unpack = !stele_instr_flag(in, "unpack") ||
		stele_instr_flag_true(in, "unpack");
	int chomp, expand;

	job_init(&j, b, s, in);
	j.link = stele_instr_flag_true(in, "link");
	words = stele_xcalloc(in->nargs, sizeof(char *));
	for (i = 0; i < in->nargs && !error; i++)
		error = stele_build__expand(&words[i], b, s, in, in->args[i]);
	if (!error && from)
		error = stele_build__expand(&fromv, b, s, in, from);
	if (error)
		goto out;
	for (i = 0; i < nsrc; i++)
		ninline += !!inline_source(in, in->args[i], &chomp, &expand);
	if ((error = check_add_flags(&j, words, nsrc, sum)) < 0 ||
	    (error = parse_excludes(&j)) < 0)
		goto out;
	for (i = 0; i < nsrc && !error; i++)
		if (inline_source(in, in->args[i], &chomp, &expand))
			continue;
		else if (add && stele_value_is_url(words[i]) &&
			 !stele_value_is_git_url(words[i]) &&
			 !(sum && nsrc == 1 && !from && is_http(words[i])))
			error = job_error(
				&j, STELE_EINVALID,
				"'%s': a download must be pinned: ADD --checksum=sha256:<hex of the file> URL DEST (or a git URL with #REF, pinned by its commit)",
				words[i]);
		else if (stele_value_is_git_url(words[i]) &&
			 (!add || nsrc != 1 || from))
			error = job_error(
				&j, STELE_EINVALID,
				"'%s': a git source must be the only source of an ADD",
				words[i]);
	if (error)
		goto out;
	git_add = add && nsrc == 1 && !ninline &&
		stele_value_is_git_url(words[0]) && !from;
	dl_add = add && nsrc == 1 && !ninline && sum && !git_add &&
		is_http(words[0]);
	key = stele_build__step_key(b, s, in);
	if (dl_add) {
		/* Pinned: the key and the provenance need no download. */
		json_object_set_new(
			key, "download",
			json_pack("{s:s,s:s}", "uri", words[0], "digest", sum));
		stele_prov_dep(&b->prov, words[0],
			       json_pack("{s:s}", "sha256", sum + 7));
	}
	/* A step not looked up (--no-cache) keys its context sources after
	 * the layer is written, from the writer's per-file digests. */
	defer = b->o->no_cache && !git_add && !dl_add && !fromv &&
		!stele_instr_flag_true(in, "parents");
	/* The key needs no root filesystem: a hit extracts nothing. */
	if ((error = git_add ? git_source(&j, words[0], sum, key, &git, &gctx)
		     : dl_add
		     ? 0
		     : copy_key(key, &j, words, nsrc, fromv, defer)) < 0 ||
	    (error = stele_build__step_cache_hit(b, s, in, key, hex)) != 0)
		goto out;
	if (defer) {
		/* The key shares the stage's diff_ids ("parent"), which this
		 * step's layer extends: keep them as they are now. */
		json_t *k = json_deep_copy(key);

		json_decref(key);
		key = k;
		/* The key's walk, after the layer, is the copy's again. */
		kept = j.ctx;
		stele_context_keep(kept, 1);
	}
	/* --link reads nothing of the stage but, for --chown names, /etc. */
	if ((!j.link || chown_f) &&
	    (error = stele_build__stage_sync(b, s)) < 0) {
		error = stele_build__instr_error(b, in, error);
		goto out;
	}
	if (chown_f &&
	    ((error = stele_build__expand(&fv, b, s, in, chown_f)) < 0 ||
	     (error = parse_chown(&j, fv)) < 0))
		goto out;
	if (chmod_f && (error = parse_chmod(&j, chmod_f)) < 0)
		goto out;
	if ((error = dest_path(&dest, &j, words[nsrc], &into_dir)) < 0)
		goto out;
	if (dl_add) {
		if ((error = copy_download(&j, words[0], sum, dest,
					   into_dir)) == 0 &&
		    (error = write_layer(&j)) == 0)
			stele_build__step_cache_store(b, s, hex);
		goto out;
	}
	if (git_add) {
		j.ctx = gctx;
		if ((error = copy_source(&j, "", dest, 1)) == 0 &&
		    (error = write_layer(&j)) == 0)
			stele_build__step_cache_store(b, s, hex);
		goto out;
	}
	if (fromv && (error = from_source(&j, fromv, &own)) < 0)
		goto out;
	if (stele_instr_flag_true(in, "parents")) {
		for (i = 0; i < nsrc && !error; i++)
			if (!inline_source(in, in->args[i], &chomp, &expand))
				error = copy_parents(&j, words[i], dest);
		for (i = 0; i < nsrc && !error; i++)
			if (inline_source(in, in->args[i], &chomp, &expand))
				error = copy_inline(&j, in->args[i], dest, 1,
						    b->tmp_seq++);
		if (!error && (error = write_layer(&j)) == 0)
			stele_build__step_cache_store(b, s, hex);
		goto out;
	}
	for (i = 0; i < nsrc && !error; i++)
		if (!inline_source(in, in->args[i], &chomp, &expand))
			error = expand_source(srcs, &j, words[i]);
	if (error)
		goto out;
	if (json_array_size(srcs) + ninline > 1 && !into_dir) {
		error = job_error(
			&j, STELE_EINVALID,
			"with more than one source the destination '%s' must be a directory ending in '/'",
			words[nsrc]);
		goto out;
	}
	if (b->git && !from)
		json_array_append_new(
			j.inputs,
			json_pack("{s:s,s:s,s:{s:s,s:s}}", "kind", "git", "uri",
				  b->git->uri, "digest", "gitCommit",
				  b->git->commit, "gitTree", b->git->tree));
	json_array_foreach(srcs, i, v) {
		int handled = 0;

		if (j.exclude && file_excluded(&j, json_string_value(v)))
			continue;
		if (add && !from && unpack &&
		    (error = add_archive(&j, json_string_value(v), dest,
					 &handled)) < 0)
			break;
		if (!handled &&
		    (error = copy_source(&j, json_string_value(v), dest,
					 into_dir)) < 0)
			break;
	}
	/* Heredocs come after the other sources, as in BuildKit. */
	for (i = 0; i < nsrc && !error; i++)
		if (inline_source(in, in->args[i], &chomp, &expand))
			error = copy_inline(&j, in->args[i], dest, into_dir,
					    b->tmp_seq++);
	if (!error && (error = write_layer(&j)) == 0 && defer) {
		if ((error = key_sources(key, &j, words, nsrc, 1)) == 0 &&
		    (error = stele_cache_key(hex, key)) < 0)
			error = stele_build__instr_error(b, in, error);
	}
	if (!error)
		stele_build__step_cache_store(b, s, hex);
out:
	stele_context_keep(kept, 0);
	stele_strv_free(words, in->nargs);
	free(dest);
	free(fv);
	free(fromv);
	json_decref(key);
	json_decref(srcs);
	job_release(&j);
	stele_context_free(own);
	stele_context_free(gctx);
	stele_git_source_free(git);
	return error < 0 ? error : 0;
}

int
stele_build__mkdir_layer(struct build *b, struct stage *s,
			 const struct stele_instr *in, const char *abs)
{
	struct copy_job j = { 0 };
	struct stele_ctx_stat st = { 0 };
	char *rel = NULL;
	int error;

	if ((error = rootfs_resolve(&rel, s->rootfs, abs + 1, 1)) < 0)
		return stele_build__instr_error(b, in, error);
	job_init(&j, b, s, in);
	st.type = STELE_ENTRY_DIR;
	st.perm = 0755;
	if (*rel) {
		plan_entry(&j, rel, &st, NULL);
		error = write_layer(&j);
	} else {
		stele_build__stage_history(b, s, in->text, 1);
	}
	free(rel);
	job_release(&j);
	return error;
}
