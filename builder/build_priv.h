#ifndef STELE_BUILDER_BUILD_PRIV_H
#define STELE_BUILDER_BUILD_PRIV_H

/* Internals shared by build.c, copy.c and assemble.c. */

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>

#include "builder/build.h"
#include "builder/cache.h"
#include "builder/context.h"
#include "builder/provenance.h"
#include "builder/recipe.h"
#include "oci/image.h"
#include "oci/layer.h"
#include "oci/layout.h"

struct stage {
	size_t index;
	char *name; /* AS name or NULL */
	char *label; /* name, else the index in decimal */
	size_t first, end; /* instruction range [first, end) */
	json_t *config; /* the image config's "config" object */
	json_t *history;
	json_t *layers; /* descriptors */
	json_t *diff_ids;
	json_t *prov_layers; /* per-layer provenance records */
	json_t *args; /* ARGs declared in the stage */
	json_t *used_args; /* borrowed: the build's record of used args */
	json_t *shell;
	char *rootfs; /* materialised filesystem of the stage */
	size_t applied; /* layers extracted into rootfs so far */
	char *base_digest;
	char *author; /* the config's "author" (MAINTAINER) */
	int cmd_set;
	int done;
};

struct build {
	const struct stele_build_opts *o;
	struct stele_recipe *recipe;
	char *recipe_path;
	char recipe_digest[STELE_DIGEST_STRLEN];
	struct stele_context *ctx;
	struct stele_git_source *git;
	struct stele_oci *oci;
	struct stele_txn *txn;
	struct stele_prov prov;
	struct stage **stages;
	size_t nstages, final;
	json_t *global_args;
	json_t *used_args;
	int64_t epoch;
	char created[32];
	char *tmp;
	unsigned tmp_seq; /* names of scratch files under tmp */
	stele_progress_fn progress;
	void *progress_payload;
	struct stele_layer_opts lopts;
	struct stele_cache *cache;
	json_t *lock; /* {"images": {}, "git": {}} */
	json_t *pulled; /* {"--from image as written": top digest}
				     of images pulled as Docker names them */
	size_t cache_hits, cache_misses;
	size_t cache_from_hits; /* of cache_hits, from o->cache_from */
};

/* The local store the build was given (NULL: none). */
static inline const char *
stele_build__store(const struct build *b)
{
	return b->o->dirs ? b->o->dirs->store : NULL;
}

void stele_build__progress(struct build *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prefix the current error with "FILE:LINE: KEYWORD". Returns code. */
int stele_build__instr_error(struct build *b, const struct stele_instr *in,
			     int code);
int stele_build__expand(char **out, struct build *b, struct stage *s,
			const struct stele_instr *in, const char *word);
/* A layer of a stage (its prov_layers entry `l`) as a provenance record
 * (builder/provenance.h) with `inputs` (stolen); new reference. */
json_t *stele_build__prov_record(struct build *b, const json_t *l,
				 json_t *inputs);
/* A COPY/ADD heredoc's content, expanded with quotes kept (ExpandRaw). */
int stele_build__expand_raw(char **out, struct build *b, struct stage *s,
			    const struct stele_instr *in, const char *text);
const char *stele_build__arg_value(struct build *b, const char *name);
void stele_build__stage_history(struct build *b, struct stage *s,
				const char *created_by, int empty);
int stele_build__stage_add_layer(struct build *b, struct stage *s,
				 const struct stele_instr *in,
				 const struct stele_layer_result *r,
				 json_t *inputs);
/* Extract the layers not yet applied to the stage's rootfs. */
int stele_build__stage_sync(struct build *b, struct stage *s);
/*
 * The build cache around a layer-producing step.  stele_build__step_key()
 * starts the key object with what every step depends on (parent diff_ids,
 * the config the step sees, the instruction, epoch, compression); the
 * caller adds its inputs.  stele_build__step_cache_hit() returns 1 when
 * the layer was reused (and added to the stage), 0 on a miss, <0 on
 * error; stele_build__step_cache_store() records the stage's newest layer
 * under `key`.
 */
json_t *stele_build__step_key(struct build *b, struct stage *s,
			      const struct stele_instr *in);
int stele_build__step_cache_hit(struct build *b, struct stage *s,
				const struct stele_instr *in, json_t *key,
				char hex[65]);
void stele_build__step_cache_store(struct build *b, struct stage *s,
				   const char *hex);
/*
 * FROM an image (base.c): a layout, the local store, a registry, or a
 * name Docker would pull (docker.io/library/…) when the store lacks it;
 * with the lock, pins, mirrors and the tag warning.  Sets the stage's
 * config, history, layers and provenance from the image.
 */
int stele_build__from_image(struct build *b, struct stage *s,
			    const struct stele_instr *in, const char *image);
/* RUN, through the OCI runtime. */
int stele_build__run(struct build *b, struct stage *s,
		     const struct stele_instr *in);
/*
 * RUN --mount=type=bind (mount.c); `m` expanded, its target absolute.
 * stele_build__bind_key() appends to `keys` what the mount reads, by
 * digest: a context path by content (.dockerignore applied), a stage by
 * its diff_ids, an image by its manifest digest; it reads no root
 * filesystem.  stele_build__bind_prepare() copies the source into *dir
 * (new, under the build's temporary directory; the caller removes it
 * after the step) and gives the path to bind (*src, inside *dir) and the
 * mount's provenance record (*prov, new reference).  Errors name the
 * mount, not the recipe line.
 */
struct stele_mount;
int stele_build__bind_key(json_t *keys, struct build *b, struct stage *s,
			  const struct stele_mount *m);
int stele_build__bind_prepare(char **dir, char **src, json_t **prov,
			      struct build *b, struct stage *s,
			      const struct stele_mount *m);
/*
 * The image a COPY --from or a RUN --mount from= names (base.c): an oci:
 * layout or a store name as it is, and a store name the store lacks as
 * Docker names it (docker.io/library/…), pulled into the store once per
 * build through the mirrors, as FROM does.  *img owned by the caller.
 */
int stele_build__image_open(struct stele_image **img, struct build *b,
			    const char *name);
/* The filesystem of an image (`name` as COPY --from writes it),
 * extracted into *dir (new, under the build's temporary directory; the
 * caller removes it); *digest its manifest digest. */
int stele_build__image_extract(char **dir, char digest[STELE_DIGEST_STRLEN],
			       struct build *b, const char *name);
/* A field of NAME's line in ROOTFS/etc/FILE (passwd: 2 = uid, 3 = gid;
 * group: 2 = gid).  STELE_ENOTFOUND when absent. */
int stele_build__stage_etc_field(long *out, const char *rootfs,
				 const char *file, const char *name, int field);
/*
 * Open a git source through the lock: with --locked only a recorded
 * commit is used; otherwise the resolved commit is recorded.
 */
int stele_build__git_open(struct build *b, struct stele_git_source **out,
			  const char *spec);
/* COPY and ADD. */
int stele_build__copy(struct build *b, struct stage *s,
		      const struct stele_instr *in);
/* A layer holding directory `abs` and its missing parents. */
int stele_build__mkdir_layer(struct build *b, struct stage *s,
			     const struct stele_instr *in, const char *abs);
/* Write config, manifest, provenance and the index entry. */
int stele_build__assemble(struct build *b, struct stage *s,
			  struct stele_build_result *out);
int stele_build__plan_stages(struct build *b, const char *target);
int stele_build__run_stage(struct build *b, struct stage *s);
void stele_build__free(struct build *b);

#endif
