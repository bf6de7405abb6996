#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/copy.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

/*
 * The walk (registry/copy.h), written once: manifest (or index and
 * children) → config → layers, then cosign's .sig/.att tags, then OCI 1.1
 * referrers.  The layout backends are here too.
 */

struct engine {
	struct stele_copy_src *src;
	struct stele_copy_dst *dst;
	struct stele_transfer *t;
	unsigned flags;
	json_t *seen; /* blob digests counted */
};

static int
is_index(const json_t *m, const char *mt)
{
	if (mt &&
	    (!strcmp(mt, STELE_MT_INDEX) || !strcmp(mt, STELE_MT_DOCKER_LIST)))
		return 1;
	return !mt && json_is_array(json_object_get(m, "manifests")) &&
		!json_object_get(m, "layers");
}

/* m's mediaType, else `fallback`, else guessed from its shape (borrowed). */
static const char *
media_type(const json_t *m, const char *fallback)
{
	const char *mt = stele_json_str(m, "mediaType");

	if (mt && *mt)
		return mt;
	if (fallback && *fallback)
		return fallback;
	return json_is_array(json_object_get(m, "manifests"))
		? STELE_MT_INDEX
		: STELE_MT_MANIFEST;
}

static int
desc_check(const json_t *d, const char *what)
{
	const char *dig = stele_json_str(d, "digest");
	json_t *size = json_object_get(d, "size");

	if (!dig || stele_digest_validate(dig) < 0 || !json_is_integer(size) ||
	    json_integer_value(size) < 0)
		return stele_error_setc(
			STELE_EINVALID,
			"%s has a descriptor without a valid sha256 digest and size",
			what);
	return 0;
}

static int
platform_match(const json_t *d)
{
	json_t *p = json_object_get(d, "platform");
	const char *os = stele_json_str(p, "os"),
		   *arch = stele_json_str(p, "architecture");

	return os && arch && !strcmp(os, "linux") &&
		!strcmp(arch, stele_oci_arch());
}

/*
 * The blob step: the blobs of one manifest, each once per transfer, on up
 * to `jobs` lanes at once (registry/copy.h).
 */

struct job {
	const char *digest; /* borrowed from the descriptor */
	uint64_t size;
	int result; /* 1 present, 2 mounted, 3 sent, or an error */
};

struct pool {
	struct job *jobs;
	size_t n, next;
	pthread_mutex_t mu;
	int error; /* the first failure's code, else 0 */
	char *message; /* and its message, naming the blob */
};

struct lane {
	struct pool *pool;
	struct stele_copy_src *src;
	struct stele_copy_dst *dst;
	pthread_t thread;
	int started;
};

/* One blob on one lane. */
static int
move_blob(struct stele_copy_src *src, struct stele_copy_dst *dst,
	  const struct job *j)
{
	int error;

	if ((error = dst->blob_has(dst, j->digest)) != 0)
		return error;
	if ((error = dst->blob_put(dst, src, j->digest, j->size)) < 0) {
		/* Name the blob, unless the message does already. */
		if (!strstr(stele_error_last(), j->digest))
			stele_error_prefix(error, "blob %s", j->digest);
		return error;
	}
	return 3;
}

static void *
lane_run(void *arg)
{
	struct lane *l = arg;
	struct pool *p = l->pool;
	struct job *j;
	int rc;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		if (p->error || p->next == p->n) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		j = &p->jobs[p->next++];
		pthread_mutex_unlock(&p->mu);
		rc = move_blob(l->src, l->dst, j);
		pthread_mutex_lock(&p->mu);
		j->result = rc;
		/* The message is this thread's: carry it to the caller's. */
		if (rc < 0 && !p->error) {
			p->error = rc;
			p->message = stele_xstrdup(stele_error_last());
		}
		pthread_mutex_unlock(&p->mu);
	}
}

/* Run the pool on `nl` lanes; 0 or the first blob's error. */
static int
run_lanes(struct engine *e, struct pool *p, size_t nl)
{
	struct lane *l = stele_xcalloc(nl, sizeof(*l));
	size_t i;
	int error = 0;

	pthread_mutex_init(&p->mu, NULL);
	for (i = 0; i < nl && !error; i++) {
		l[i].pool = p;
		l[i].src = e->src;
		l[i].dst = e->dst;
		if ((e->src->fork &&
		     (error = e->src->fork(e->src, &l[i].src)) < 0) ||
		    (e->dst->fork &&
		     (error = e->dst->fork(e->dst, &l[i].dst)) < 0))
			break;
		if (pthread_create(&l[i].thread, NULL, lane_run, &l[i]) != 0) {
			error = stele_error_set(
				"cannot start a transfer thread");
			break;
		}
		l[i].started = 1;
	}
	if (error < 0) {
		/* Stop the lanes that run: no blob is taken after this. */
		pthread_mutex_lock(&p->mu);
		if (!p->error) {
			p->error = error;
			p->message = stele_xstrdup(stele_error_last());
		}
		pthread_mutex_unlock(&p->mu);
	}
	for (i = 0; i < nl; i++) {
		if (l[i].started)
			pthread_join(l[i].thread, NULL);
		if (l[i].src && l[i].src != e->src)
			e->src->join(e->src, l[i].src);
		if (l[i].dst && l[i].dst != e->dst)
			e->dst->join(e->dst, l[i].dst);
	}
	pthread_mutex_destroy(&p->mu);
	free(l);
	if (p->error)
		error = stele_error_setc(p->error, "%s", p->message);
	free(p->message);
	return error;
}

static int
copy_blobs(struct engine *e, const json_t *descs, const char *what)
{
	struct pool p = { 0 };
	const json_t *d;
	unsigned jobs =
		e->src->jobs > e->dst->jobs ? e->src->jobs : e->dst->jobs;
	size_t i;
	int error = 0;

	p.jobs = stele_xcalloc(json_array_size(descs) + 1, sizeof(*p.jobs));
	json_array_foreach(descs, i, d) {
		const char *dig;

		if ((error = desc_check(d, what)) < 0)
			goto out;
		dig = stele_json_str(d, "digest");
		if (json_object_get(e->seen, dig))
			continue;
		json_object_set_new(e->seen, dig, json_true());
		e->t->blobs++;
		p.jobs[p.n].digest = dig;
		p.jobs[p.n].size = (uint64_t)json_integer_value(
			json_object_get(d, "size"));
		p.n++;
	}
	if (jobs > 1 && p.n > 1) {
		error = run_lanes(e, &p, jobs < p.n ? jobs : p.n);
	} else {
		for (i = 0; i < p.n && error >= 0; i++)
			if ((p.jobs[i].result =
				     move_blob(e->src, e->dst, &p.jobs[i])) < 0)
				error = p.jobs[i].result;
	}
	for (i = 0; i < p.n; i++) {
		if (p.jobs[i].result == 1)
			e->t->blobs_present++;
		else if (p.jobs[i].result == 2)
			e->t->blobs_mounted++;
		else if (p.jobs[i].result == 3) {
			e->t->blobs_sent++;
			e->t->bytes += p.jobs[i].size;
		}
	}
out:
	free(p.jobs);
	return error < 0 ? error : 0;
}

/* The descriptor of manifest `m` (`len` bytes), with its artifactType. */
static json_t *
manifest_desc(const json_t *m, const char *mt, const char *digest, size_t len)
{
	json_t *desc = stele_descriptor(mt, digest, len);
	const char *at = stele_json_str(m, "artifactType");

	/* A referrer without one: its config's media type (image-spec). */
	if (!at && json_object_get(m, "subject"))
		at = stele_json_str(json_object_get(m, "config"), "mediaType");
	if (at)
		json_object_set_new(desc, "artifactType", json_string(at));
	return desc;
}

static int walk(json_t **desc, int *has_subject, struct engine *e,
		const struct stele_buf *b, const json_t *m, const char *digest,
		const char *mt, const char *put_ref, int depth);

/* Fetch manifest `ref` from the source and walk it; *man (may be NULL)
 * gets the parsed manifest. */
static int
copy_manifest(json_t **desc, json_t **man, int *has_subject, struct engine *e,
	      const char *ref, const char *put_ref, const char *hint, int depth)
{
	struct stele_buf b = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	char digest[STELE_DIGEST_STRLEN], *ctype = NULL;
	json_t *m = NULL;
	int error;

	*desc = NULL;
	if (depth > 2)
		return stele_error_setc(STELE_EINVALID,
					"%s: index %s nests too deeply",
					e->src->name, ref);
	if ((error = e->src->manifest(e->src, &b, digest, &ctype, ref)) < 0 ||
	    (error = stele_json_parse(&m, b.ptr, b.len, digest)) < 0 ||
	    (error = walk(desc, has_subject, e, &b, m, digest,
			  media_type(m, ctype ? ctype : hint), put_ref,
			  depth)) < 0)
		goto out;
	if (man) {
		*man = m;
		m = NULL;
	}
out:
	json_decref(m);
	free(ctype);
	stele_buf_release(&b);
	return error;
}

static int
walk_index(struct engine *e, const json_t *m, const char *digest, int depth)
{
	json_t *children = json_object_get(m, "manifests"), *d, *cd;
	const char *dig;
	size_t i;
	int error;

	if (json_array_size(children) > STELE_REFERRERS_MAX)
		return stele_error_setc(STELE_EINVALID,
					"index %s lists too many manifests",
					digest);
	json_array_foreach(children, i, d) {
		if ((error = desc_check(d, digest)) < 0)
			return error;
		dig = stele_json_str(d, "digest");
		if ((e->flags & STELE_PULL_PLATFORM) && !platform_match(d))
			continue;
		if (e->src->has && !e->src->has(e->src, dig)) {
			if (!e->dst->whole_index)
				continue; /* a platform that was never pulled */
			return stele_error_setc(
				STELE_ENOTFOUND,
				"index %s lists manifest %s, which is not in '%s' (an index pulled for one platform cannot be pushed whole)",
				digest, dig, e->src->name);
		}
		error = copy_manifest(&cd, NULL, NULL, e, dig, NULL,
				      stele_json_str(d, "mediaType"),
				      depth + 1);
		json_decref(cd);
		if (error < 0)
			return error;
	}
	return 0;
}

/*
 * Move manifest `digest` (bytes `b`, media type `mt`) and what it
 * references, unless the destination has it under `put_ref`.
 */
static int
walk(json_t **desc, int *has_subject, struct engine *e,
     const struct stele_buf *b, const json_t *m, const char *digest,
     const char *mt, const char *put_ref, int depth)
{
	json_t *blobs;
	int error = 0, present = 0;

	*desc = NULL;
	/* There already, under this name: the destination checked that
	 * everything it references is there too. */
	if (e->dst->manifest_has &&
	    (error = present = e->dst->manifest_has(
		     e->dst, put_ref ? put_ref : digest, digest)) < 0)
		return error;
	if (present) {
		e->t->manifests_present++;
	} else if (is_index(m, mt)) {
		if ((error = walk_index(e, m, digest, depth)) < 0)
			return error;
	} else {
		if (!json_is_object(json_object_get(m, "config")) ||
		    !json_is_array(json_object_get(m, "layers")))
			return stele_error_setc(
				STELE_EINVALID,
				"manifest %s has no config or layers", digest);
		blobs = json_array();
		json_array_append(blobs, json_object_get(m, "config"));
		if (!(e->flags & STELE_PULL_NO_LAYERS))
			json_array_extend(blobs, json_object_get(m, "layers"));
		error = copy_blobs(e, blobs, digest);
		json_decref(blobs);
		if (error < 0)
			return error;
	}
	if (!present) {
		if ((error = e->dst->manifest_put(e->dst, put_ref, mt, b,
						  digest, has_subject)) < 0)
			return error;
		e->t->manifests++;
	}
	*desc = manifest_desc(m, mt, digest, b->len);
	return 0;
}

/*
 * cosign's .sig/.att tags hold one manifest whose layers are the
 * signatures; cosign appends to it.  When both sides of a transfer have
 * one and they differ, the destination gets the union (the source's
 * layers first), built the way cosign and signer/attach.c build it, so no
 * one's signature is dropped by a copy.
 */

static json_t *
union_layers(const json_t *first, const json_t *second)
{
	json_t *u = json_deep_copy(first), *l, *m;
	size_t i, j;
	int added = 0;

	if (!json_is_array(u)) {
		json_decref(u);
		return NULL;
	}
	json_array_foreach(second, i, l) {
		int found = 0;

		json_array_foreach(u, j, m)
			if (json_equal(l, m))
				found = 1;
		if (!found) {
			json_array_append(u, l);
			added = 1;
		}
	}
	if (!added || json_array_size(u) > STELE_REFERRERS_MAX) {
		json_decref(u);
		return NULL;
	}
	return u;
}

/*
 * Merge the source's .sig/.att manifest `sm` into the destination's `dm`
 * under `tag`: the union of their layers, the source's first, in cosign's
 * shape.  *desc names it; it stays NULL when the source's holds all.
 */
static int
merge_tag(json_t **desc, struct engine *e, const char *tag, const json_t *sm,
	  const struct stele_buf *db, const char *ddig)
{
	struct stele_buf man = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	struct stele_buf cfg = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	char mdig[STELE_DIGEST_STRLEN];
	json_t *dm = NULL, *u = NULL;
	int error;

	*desc = NULL;
	if ((error = stele_json_parse(&dm, db->ptr, db->len, ddig)) < 0)
		return error;
	u = union_layers(json_object_get(sm, "layers"),
			 json_object_get(dm, "layers"));
	if (!u)
		goto out;
	if ((error = copy_blobs(e, json_object_get(sm, "layers"), tag)) < 0)
		goto out;
	if ((error = stele_attach_manifest(&man, &cfg, STELE_MT_CONFIG, u,
					   NULL)) < 0 ||
	    (error = e->dst->blob_put_bytes(e->dst, &cfg)) < 0)
		goto out;
	stele_digest_bytes(mdig, man.ptr, man.len);
	if ((error = e->dst->manifest_put(e->dst, tag, STELE_MT_MANIFEST, &man,
					  mdig, NULL)) < 0)
		goto out;
	e->t->manifests++;
	*desc = stele_descriptor(STELE_MT_MANIFEST, mdig, man.len);
out:
	json_decref(u);
	json_decref(dm);
	stele_buf_release(&cfg);
	stele_buf_release(&man);
	return error;
}

/*
 * cosign's tag `tag`: the source's manifest, or, when the destination has
 * another one there, the union of both.  *found: the source has one.
 */
static int
copy_tag(int *found, struct engine *e, const char *tag)
{
	struct stele_buf sb = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	struct stele_buf db = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	char sdig[STELE_DIGEST_STRLEN], ddig[STELE_DIGEST_STRLEN],
		*ctype = NULL;
	json_t *sm = NULL, *desc = NULL;
	int error;

	*found = 0;
	error = e->src->manifest(e->src, &sb, sdig, &ctype, tag);
	if (error == STELE_ENOTFOUND) {
		stele_error_clear();
		error = 0;
		goto out;
	}
	if (error < 0 ||
	    (error = stele_json_parse(&sm, sb.ptr, sb.len, sdig)) < 0)
		goto out;
	*found = 1;
	error = e->dst->tag_get(e->dst, &db, ddig, tag);
	if (error == STELE_ENOTFOUND) {
		stele_error_clear();
		error = 0;
	} else if (!error && strcmp(sdig, ddig)) {
		error = merge_tag(&desc, e, tag, sm, &db, ddig);
	} else if (!error && e->dst->manifest_has) {
		/* The same manifest under the tag: all walk's HEAD would
		 * learn, so a re-push asks once. */
		e->t->manifests_present++;
		desc = manifest_desc(sm, media_type(sm, ctype), sdig, sb.len);
	}
	if (!error && !desc)
		error = walk(&desc, NULL, e, &sb, sm, sdig,
			     media_type(sm, ctype), tag, 0);
	if (!error && e->dst->name)
		error = e->dst->name(e->dst, tag, desc);
out:
	json_decref(desc);
	json_decref(sm);
	free(ctype);
	stele_buf_release(&db);
	stele_buf_release(&sb);
	return error;
}

static int
copy_tags(struct engine *e, const char *digest)
{
	static const enum stele_attach_kind kinds[] = STELE_COSIGN_TAGS;
	size_t i;
	int error = 0;

	for (i = 0; i < STELE_NCOSIGN_TAGS && !error; i++) {
		char *tag = stele_attach_tag_name(digest, kinds[i]);
		int found;

		if ((error = copy_tag(&found, e, tag)) == 0 && found) {
			if (kinds[i] == STELE_ATTACH_SIG)
				e->t->signatures++;
			else
				e->t->attestations++;
		}
		free(tag);
	}
	return error;
}

/* The referrer `d` of `subject` as moved: the manifest's descriptor with
 * the source's artifactType and annotations where it has none. */
static json_t *
referrer_desc(json_t *got, const json_t *d, const char *subject)
{
	const char *at = stele_json_str(d, "artifactType");
	json_t *ann;

	if (at && !json_object_get(got, "artifactType"))
		json_object_set_new(got, "artifactType", json_string(at));
	ann = json_deep_copy(json_object_get(d, "annotations"));
	if (!json_is_object(ann)) {
		json_decref(ann);
		ann = json_object();
	}
	json_object_set_new(ann, STELE_ANN_SUBJECT, json_string(subject));
	json_object_set_new(got, "annotations", ann);
	return got;
}

static int
copy_referrers(struct engine *e, const char *digest)
{
	json_t *list = NULL, *d;
	size_t i;
	int error;

	error = e->src->referrers(e->src, &list, digest);
	if (error == STELE_ENOTFOUND) {
		stele_error_clear();
		return 0;
	}
	if (error < 0)
		return error;
	json_array_foreach(list, i, d) {
		json_t *got = NULL, *m = NULL;
		int has_subject = 0;

		if (i >= STELE_REFERRERS_MAX)
			break;
		if ((error = desc_check(d, "referrers index")) < 0 ||
		    (error = copy_manifest(&got, &m, &has_subject, e,
					   stele_json_str(d, "digest"), NULL,
					   stele_json_str(d, "mediaType"), 0)) <
			    0)
			break;
		error = e->dst->referrer(e->dst, digest,
					 referrer_desc(got, d, digest), m,
					 has_subject);
		json_decref(got);
		json_decref(m);
		if (error < 0)
			break;
		e->t->referrers++;
	}
	json_decref(list);
	if (!error && e->dst->referrers_end)
		error = e->dst->referrers_end(e->dst, digest);
	return error;
}

int
stele_copy__image(json_t **desc, struct stele_transfer *t,
		  struct stele_copy_src *src, struct stele_copy_dst *dst,
		  const char *ref, const char *put_ref, const char *hint,
		  unsigned flags)
{
	struct engine e = { src, dst, t, flags, json_object() };
	int error;

	if ((error = copy_manifest(desc, NULL, NULL, &e, ref, put_ref, hint,
				   0)) < 0)
		goto out;
	snprintf(t->digest, sizeof(t->digest), "%s",
		 stele_json_str(*desc, "digest"));
	t->size = (uint64_t)json_integer_value(json_object_get(*desc, "size"));
	/* Attachments are always moved whole: they are what is checked. */
	e.flags &= ~(unsigned)STELE_PULL_NO_LAYERS;
	if (!(flags & STELE_TRANSFER_NO_ATTACH) &&
	    ((error = copy_tags(&e, t->digest)) < 0 ||
	     (error = copy_referrers(&e, t->digest)) < 0))
		goto out;
out:
	if (error < 0) {
		json_decref(*desc);
		*desc = NULL;
	}
	json_decref(e.seen);
	return error;
}

/* The layout source. */

static int
lsrc_manifest(struct stele_copy_src *s, struct stele_buf *out,
	      char digest[STELE_DIGEST_STRLEN], char **ctype, const char *ref)
{
	const struct stele_oci *oci = ((struct stele_copy_layout_src *)s)->oci;
	json_t *d = NULL;
	int error;

	if (!strncmp(ref, "sha256:", 7)) {
		snprintf(digest, STELE_DIGEST_STRLEN, "%s", ref);
	} else {
		if ((error = stele_oci_resolve(&d, oci, ref, NULL)) < 0)
			return error;
		if ((error = desc_check(d, ref)) < 0) {
			json_decref(d);
			return error;
		}
		snprintf(digest, STELE_DIGEST_STRLEN, "%s",
			 stele_json_str(d, "digest"));
		if (stele_json_str(d, "mediaType"))
			*ctype = stele_xstrdup(stele_json_str(d, "mediaType"));
		json_decref(d);
	}
	return stele_oci_blob_read(out, oci, digest);
}

static int
lsrc_has(struct stele_copy_src *s, const char *digest)
{
	return stele_oci_blob_exists(((struct stele_copy_layout_src *)s)->oci,
				     digest);
}

static int
lsrc_blob_stage(struct stele_copy_src *s, struct stele_txn *txn,
		const char *digest, uint64_t size)
{
	(void)size;
	return stele_txn_copy_blob(
		txn, ((struct stele_copy_layout_src *)s)->oci, digest);
}

static int
lsrc_blob_open(struct stele_copy_src *s, int *fd, const char *digest)
{
	return stele_oci_blob_open(fd, ((struct stele_copy_layout_src *)s)->oci,
				   digest);
}

static int
lsrc_referrers(struct stele_copy_src *s, json_t **out, const char *subject)
{
	json_t *mans = NULL;
	int error;

	/* With the manifests: a referrer that does not read is an error,
	 * never silently left behind. */
	error = stele_oci_referrers(
		out, &mans, ((struct stele_copy_layout_src *)s)->oci, subject);
	json_decref(mans);
	return error;
}

void
stele_copy__layout_src(struct stele_copy_layout_src *s,
		       const struct stele_oci *oci)
{
	memset(s, 0, sizeof(*s));
	s->base.name = oci->dir;
	s->base.manifest = lsrc_manifest;
	s->base.has = lsrc_has;
	s->base.blob_stage = lsrc_blob_stage;
	s->base.blob_open = lsrc_blob_open;
	s->base.referrers = lsrc_referrers;
	s->oci = oci;
}

/* The layout destination: one transaction. */
struct ldst {
	struct stele_copy_dst base;
	struct stele_txn *txn;
};
#define ldst_txn(d) (((struct ldst *)(d))->txn)

static int
ldst_manifest_put(struct stele_copy_dst *d, const char *ref, const char *mt,
		  const struct stele_buf *data, const char *digest,
		  int *has_subject)
{
	char got[STELE_DIGEST_STRLEN];

	(void)ref;
	(void)mt;
	if (has_subject)
		*has_subject = 0;
	if (stele_txn_hold_blob(ldst_txn(d), digest))
		return 0;
	return stele_txn_put_blob(ldst_txn(d), data->ptr, data->len, got);
}

static int
ldst_blob_has(struct stele_copy_dst *d, const char *digest)
{
	return stele_txn_hold_blob(ldst_txn(d), digest);
}

static int
ldst_blob_put(struct stele_copy_dst *d, struct stele_copy_src *src,
	      const char *digest, uint64_t size)
{
	return src->blob_stage(src, ldst_txn(d), digest, size);
}

static int
ldst_blob_put_bytes(struct stele_copy_dst *d, const struct stele_buf *data)
{
	char got[STELE_DIGEST_STRLEN];

	return stele_txn_put_blob(ldst_txn(d), data->ptr, data->len, got);
}

/* What the layout has under `tag`: read as a layout source reads it. */
static int
ldst_tag_get(struct stele_copy_dst *d, struct stele_buf *out,
	     char digest[STELE_DIGEST_STRLEN], const char *tag)
{
	struct stele_copy_layout_src s;
	char *ctype = NULL;
	int error;

	stele_copy__layout_src(&s, stele_txn_oci(ldst_txn(d)));
	error = lsrc_manifest(&s.base, out, digest, &ctype, tag);
	free(ctype);
	return error;
}

static int
ldst_name(struct stele_copy_dst *d, const char *tag, const json_t *desc)
{
	return stele_txn_index_add(ldst_txn(d), tag, desc);
}

static int
ldst_referrer(struct stele_copy_dst *d, const char *subject, const json_t *desc,
	      const json_t *manifest, int has_subject)
{
	(void)subject;
	(void)manifest;
	(void)has_subject;
	if (!json_object_get(desc, "artifactType"))
		return 0;
	return stele_txn_index_add(ldst_txn(d), NULL, desc);
}

static json_t *
without_refname(const json_t *desc)
{
	json_t *d = json_deep_copy(desc),
	       *ann = json_object_get(d, "annotations");

	json_object_del(ann, STELE_ANN_REFNAME);
	if (ann && json_object_size(ann) == 0)
		json_object_del(d, "annotations");
	return d;
}

int
stele_copy__to_layout(struct stele_transfer *t, struct stele_copy_src *src,
		      const char *dir, const char *refname, const char *ref,
		      const char *hint, unsigned flags, const json_t *entry,
		      json_t *annotations)
{
	struct ldst d = { { 0, NULL, ldst_manifest_put, ldst_blob_has,
			    ldst_blob_put, ldst_blob_put_bytes, ldst_tag_get,
			    ldst_name, ldst_referrer, NULL },
			  NULL };
	struct stele_oci *oci = NULL;
	json_t *desc = NULL;
	int error;

	if ((error = stele_oci_open(&oci, dir, 1)) < 0 ||
	    (error = stele_txn_begin(&d.txn, oci)) < 0)
		goto out;
	if ((error = stele_copy__image(&desc, t, src, &d.base, ref, NULL, hint,
				       flags)) < 0)
		goto out;
	if (entry) {
		json_decref(desc);
		desc = without_refname(entry);
	} else if (annotations) {
		json_object_set(desc, "annotations", annotations);
	}
	if ((error = stele_txn_index_add(d.txn, refname, desc)) < 0 ||
	    (error = stele_txn_commit(d.txn)) < 0)
		goto out;
out:
	stele_txn_free(d.txn);
	stele_oci_free(oci);
	json_decref(desc);
	json_decref(annotations);
	return error;
}

int
stele_layout_copy(struct stele_transfer *out, const struct stele_image *img,
		  const struct stele_ref *dst, unsigned flags)
{
	struct stele_copy_layout_src s;
	const char *top = stele_json_str(img->desc, "digest");

	memset(out, 0, sizeof(*out));
	if (dst->transport == STELE_REF_DOCKER || dst->digest)
		return stele_error_setc(
			STELE_EINVALID,
			"a layout copy needs an oci: or store destination with a tag");
	if (!top || stele_digest_validate(top) < 0)
		return stele_error_setc(STELE_EINVALID,
					"the image has no manifest digest");
	stele_copy__layout_src(&s, img->oci);
	/* The source's own entry: its annotations go with it. */
	return stele_copy__to_layout(
		out, &s.base, dst->dir, dst->refname ? dst->refname : "latest",
		top, stele_json_str(img->desc, "mediaType"),
		flags & STELE_TRANSFER_NO_ATTACH, img->desc, NULL);
}
