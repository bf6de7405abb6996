#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/build_priv.h"
#include "oci/extract.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/limits.h"
#include "util/time.h"

struct import {
	struct build *b;
	struct stele_context *ctx;
	struct stele_plan plan;
	size_t skipped;
	const char *source;
	uint64_t entries, names, size;
	uint64_t *inodes; /* link_keys already counted (open addressing) */
	size_t ninodes, ainodes;
	int last_tenth; /* progress: the last 10% step reported */
};

/* The layer's writing, in steps of 10% of its file content. */
static void
import_progress(void *payload, uint64_t done, uint64_t total)
{
	struct import *im = payload;
	int tenth = total ? (int)(done * 10 / total) : 10;

	if (tenth <= im->last_tenth)
		return;
	im->last_tenth = tenth;
	stele_build__progress(im->b, "importing: %d%% (%.1f of %.1f MiB)",
			      tenth * 10, (double)done / (1024.0 * 1024.0),
			      (double)total / (1024.0 * 1024.0));
}

/* 1 when a hardlinked inode was seen before (its size is counted once). */
static int
inode_seen(struct import *im, uint64_t key)
{
	size_t i, j;

	if (2 * (im->ninodes + 1) > im->ainodes) {
		uint64_t *old = im->inodes;
		size_t n = im->ainodes;

		im->ainodes = n ? 2 * n : 64;
		im->inodes = stele_xcalloc(im->ainodes, sizeof(*im->inodes));
		for (i = 0; i < n; i++) {
			if (!old[i])
				continue;
			j = (size_t)(old[i] * 11400714819323198485ull) &
				(im->ainodes - 1);
			while (im->inodes[j])
				j = (j + 1) & (im->ainodes - 1);
			im->inodes[j] = old[i];
		}
		free(old);
	}
	j = (size_t)(key * 11400714819323198485ull) & (im->ainodes - 1);
	while (im->inodes[j]) {
		if (im->inodes[j] == key)
			return 1;
		j = (j + 1) & (im->ainodes - 1);
	}
	im->inodes[j] = key;
	im->ninodes++;
	return 0;
}

/*
 * The bounds an extracted archive gets (oci/extract.h), on a directory:
 * counted as the walk goes, so a sparse 1 TiB file or a million-file tree
 * is refused before any of it is read.  Symlinks are never followed (the
 * context lstat()s), so a link loop is just a link.
 */
static int
count(struct import *im, const char *rel, int depth,
      const struct stele_ctx_stat *st)
{
	const struct stele_limits *l = &im->b->o->limits;
	char a[32], b[32];

	if (strlen(rel) > STELE_PATH_MAX)
		return stele_error_setc(
			STELE_EINVALID,
			"import '%s': path '%.200s...' is longer than %d bytes",
			im->source, rel, STELE_PATH_MAX);
	if (depth > STELE_DEPTH_MAX)
		return stele_error_setc(
			STELE_EINVALID,
			"import '%s': '%.200s...' is nested deeper than %d directories",
			im->source, rel, STELE_DEPTH_MAX);
	if (++im->entries > stele_limits_entries(l))
		return stele_error_setc(
			STELE_EINVALID,
			"import '%s': more than %llu entries (the max-entries limit)",
			im->source,
			(unsigned long long)stele_limits_entries(l));
	im->names += strlen(rel);
	if (im->names > stele_limits_name_bytes(l))
		return stele_error_setc(
			STELE_EINVALID,
			"import '%s': entry names total more than %s "
			"(%d bytes for each of max-entries)",
			im->source,
			stele_limits_fmt(a, stele_limits_name_bytes(l)),
			STELE_NAME_BYTES_PER_ENTRY);
	if (st->type != STELE_ENTRY_FILE ||
	    (st->link_key && inode_seen(im, st->link_key)))
		return 0;
	if (st->size > stele_limits_size(l) - im->size)
		return stele_error_setc(
			STELE_EINVALID,
			"import '%s': '%s' (%s) takes the image past the "
			"max-size limit of %s",
			im->source, rel, stele_limits_fmt(b, st->size),
			stele_limits_fmt(a, stele_limits_size(l)));
	im->size += st->size;
	return 0;
}

static int
walk(struct import *im, const char *dir, int depth)
{
	char **names = NULL;
	size_t n = 0, i;
	int error;

	assert(depth <= STELE_DEPTH_MAX); /* count() refuses deeper */
	if ((error = stele_context_list(&names, &n, im->ctx, dir)) < 0)
		return error;
	for (i = 0; i < n && !error; i++) {
		char *rel = stele_path_rel(dir, names[i]);
		struct stele_ctx_stat st;
		struct stele_plan_entry e = { 0 };

		if ((error = stele_context_stat(&st, im->ctx, rel)) < 0) {
			free(rel);
			break;
		}
		if ((error = count(im, rel, depth + 1, &st)) < 0) {
			stele_ctx_stat_release(&st);
			free(rel);
			break;
		}
		if (st.type == STELE_ENTRY_CHAR ||
		    st.type == STELE_ENTRY_BLOCK) {
			/* Devices only where a recipe creates them. */
			im->skipped++;
		} else {
			e.path = rel;
			e.type = st.type;
			e.perm = st.perm;
			e.uid = st.uid;
			e.gid = st.gid;
			e.mtime = st.mtime < im->b->epoch ? st.mtime
							  : im->b->epoch;
			if (e.mtime < 0)
				e.mtime = 0;
			e.size = st.size;
			e.link = st.link;
			e.link_key = st.link_key;
			e.src_kind = st.src_kind;
			e.src = st.src;
			stele_plan_add(&im->plan, &e);
			if (st.type == STELE_ENTRY_DIR)
				error = walk(im, rel, depth + 1);
		}
		stele_ctx_stat_release(&st);
		free(rel);
	}
	stele_strv_free(names, n);
	return error;
}

int
stele_import(struct stele_build_result *out, const struct stele_import_opts *o)
{
	struct stele_build_opts bo = { 0 };
	struct build b;
	struct stage *s;
	struct import im = { 0 };
	struct stele_layer_result r;
	char digest[STELE_DIGEST_STRLEN];
	const char *root = o->source;
	char *extracted = NULL;
	struct stat st;
	int error;

	memset(out, 0, sizeof(*out));
	memset(&b, 0, sizeof(b));
	bo.output = o->output;
	bo.version = o->version;
	bo.limits = o->limits;
	b.o = &bo;
	b.progress = o->progress;
	b.progress_payload = o->progress_payload;
	b.lopts.compression = o->compression;
	b.lopts.limits = o->limits;
	b.global_args = json_object();
	b.used_args = json_object();
	stele_prov_init(&b.prov);
	s = stele_xcalloc(1, sizeof(*s));
	s->config = json_object();
	s->history = json_array();
	s->layers = json_array();
	s->diff_ids = json_array();
	s->prov_layers = json_array();
	b.stages = stele_xcalloc(1, sizeof(*b.stages));
	b.stages[0] = s;
	b.nstages = 1;
	im.b = &b;
	im.source = o->source;
	b.epoch = o->has_epoch ? o->epoch : 0;
	stele_time_format(b.created, b.epoch);
	if ((error = stele_fs_mkdtemp(&b.tmp, o->dirs ? o->dirs->tmp : NULL,
				      "stele-import")) < 0)
		goto out;
	s->rootfs = stele_xasprintf("%s/rootfs", b.tmp);
	if (stat(root, &st) < 0) {
		error = stele_error_errno("cannot import '%s'", root);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		/* A tarball: extracted safely first, every entry checked. */
		if ((error = stele_digest_file(digest, NULL, root)) < 0)
			goto out;
		extracted = stele_xasprintf("%s/tarball", b.tmp);
		if ((error = stele_fs_mkdir_p(extracted, 0755)) < 0 ||
		    (error = stele_extract_file(root, extracted, 0,
						&o->limits)) < 0)
			goto out;
		root = extracted;
		stele_prov_dep(&b.prov, "file:tarball",
			       json_pack("{s:s}", "sha256", digest + 7));
	}
	if ((error = stele_context_open_rootfs(&im.ctx, root)) < 0 ||
	    (error = stele_oci_open(&b.oci, o->output->dir, 1)) < 0 ||
	    (error = stele_txn_begin(&b.txn, b.oci)) < 0)
		goto out;
	stele_build__progress(&b, "importing %s", o->source);
	if ((error = walk(&im, "", 0)) < 0)
		goto out;
	if (im.skipped)
		stele_build__progress(&b, "left out %zu device node%s",
				      im.skipped, im.skipped == 1 ? "" : "s");
	b.lopts.read_payload = im.ctx;
	if (o->progress) {
		b.lopts.progress = import_progress;
		b.lopts.progress_payload = &im;
		stele_build__progress(
			&b, "importing: %zu entries read, writing the layer",
			im.plan.n);
	}
	if ((error = stele_plan_write(&r, &im.plan, b.txn, &b.lopts)) < 0)
		goto out;
	json_array_append_new(s->layers,
			      stele_descriptor(r.media_type, r.digest, r.size));
	json_array_append_new(s->diff_ids, json_string(r.diff_id));
	json_array_append_new(
		s->prov_layers,
		json_pack("{s:s,s:s,s:I,s:s,s:i,s:s,s:[],s:b}", "mediaType",
			  r.media_type, "digest", r.digest, "size",
			  (json_int_t)r.size, "diffID", r.diff_id, "line", 0,
			  "instruction", "import", "inputs", "base", 0));
	stele_build__stage_history(&b, s, "stele import", 0);
	json_object_set_new(b.prov.external, "import",
			    json_pack("{s:s,s:I}", "entries",
				      extracted ? "tarball" : "directory",
				      "count", (json_int_t)im.plan.n));
	json_object_set_new(b.prov.internal, "sourceDateEpoch",
			    json_integer(b.epoch));
	if ((error = stele_build__assemble(&b, s, out)) < 0 ||
	    (error = stele_txn_commit(b.txn)) < 0)
		goto out;
out:
	stele_plan_release(&im.plan);
	free(im.inodes);
	stele_context_free(im.ctx);
	free(extracted);
	stele_build__free(&b);
	return error;
}
