#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "builder/provenance.h"
#include "oci/diffid.h"
#include "signer/check.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/time.h"
#include "verify/identity.h"
#include "verify/policy.h"
#include "verify/rebuild.h"
#include "verify/verify.h"
#include "verify/verify_priv.h"

#define SLSA_V1 "https://slsa.dev/provenance/v1"

void
stele_verify__check(struct stele_verify_report *r, int ok, const char *name,
		    const char *fmt, ...)
{
	struct stele_verify_check *c;
	va_list ap;
	int n = 0;

	if (r->n == r->alloc) {
		r->alloc = r->alloc ? r->alloc * 2 : 16;
		r->checks = stele_xrealloc(r->checks,
					   r->alloc * sizeof(*r->checks));
	}
	c = &r->checks[r->n++];
	c->name = stele_xstrdup(name);
	c->ok = ok;
	c->reason = NULL;
	if (fmt) {
		va_start(ap, fmt);
		n = vasprintf(&c->reason, fmt, ap);
		va_end(ap);
	}
	if (n < 0)
		abort();
	if (!ok)
		r->allowed = 0;
}

void
stele_verify__not_counted(struct stele_verify__ctx *v,
			  struct stele_buf *ignored, const char *label,
			  const char *name, const char *why)
{
	stele_buf_printf(ignored, "%s%s: %s", ignored->len ? "; " : "", label,
			 why);
	stele_verify__check(v->r, 1, name, "not counted: %s", why);
}

static void
progress(struct stele_verify__ctx *v, const char *msg)
{
	if (v->o->progress)
		v->o->progress(v->o->progress_payload, msg);
}

/* ---- blobs ---- */

/* One pass over a layer: its digest, size and (uncompressed) diff_id. */
static int
layer_digests(char digest[STELE_DIGEST_STRLEN], char diff[STELE_DIGEST_STRLEN],
	      uint64_t *size, struct stele_oci *oci, const char *want, int gzip)
{
	int fd, error;

	diff[0] = '\0';
	if ((error = stele_oci_blob_open(&fd, oci, want)) < 0)
		return error;
	error = stele_diffid_read(digest, diff, size, fd, want, gzip, 0);
	close(fd);
	return error;
}

/*
 * The layers are read two at a time when there are several (a layer of
 * one gzip member inflates on one thread; stele's own use every CPU
 * already), the results reported in order.
 */
#define LAYER_WORKERS 2

struct layer_job {
	const char *want; /* NULL: no valid digest in the manifest */
	int gzip;
	char got[STELE_DIGEST_STRLEN], diff[STELE_DIGEST_STRLEN];
	uint64_t size;
	char *failed; /* the message of a read that failed */
};

struct layer_pool {
	struct stele_oci *oci;
	struct layer_job *jobs;
	size_t n, next;
	pthread_mutex_t mu;
};

static void *
layer_worker(void *arg)
{
	struct layer_pool *p = arg;
	struct layer_job *j;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		j = p->next < p->n ? &p->jobs[p->next++] : NULL;
		pthread_mutex_unlock(&p->mu);
		if (!j)
			return NULL;
		if (j->want &&
		    layer_digests(j->got, j->diff, &j->size, p->oci, j->want,
				  j->gzip) < 0)
			/* The message is this thread's: keep it for the report. */
			j->failed = stele_xstrdup(stele_error_last());
	}
}

static void
read_layers(struct layer_pool *p)
{
	pthread_t th[LAYER_WORKERS - 1];
	size_t i, started = 0;

	pthread_mutex_init(&p->mu, NULL);
	for (i = 0; i + 1 < LAYER_WORKERS && i + 1 < p->n; i++) {
		if (pthread_create(&th[i], NULL, layer_worker, p) != 0)
			break; /* this thread reads them all then */
		started++;
	}
	layer_worker(p);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&p->mu);
}

static void
check_blobs(struct stele_verify__ctx *v)
{
	struct stele_image *img = v->img;
	struct layer_pool p = { img->oci, NULL, stele_image_nlayers(img), 0 };
	json_t *l;
	size_t i, n = p.n;
	char name[128];

	stele_verify__check(v->r, 1, "manifest",
			    "%s (digest checked before parsing)", img->digest);
	stele_verify__check(v->r, 1, "config",
			    "%s (digest checked before parsing)",
			    img->config_digest);
	p.jobs = stele_xcalloc(n + 1, sizeof(*p.jobs));
	for (i = 0; i < n; i++) {
		const char *want, *mt;

		l = stele_image_layer(img, i);
		want = stele_json_str(l, "digest");
		mt = stele_json_str(l, "mediaType");
		if (want && stele_digest_validate(want) == 0)
			p.jobs[i].want = want;
		p.jobs[i].gzip = mt && strlen(mt) > 5 &&
			!strcmp(mt + strlen(mt) - 5, "+gzip");
	}
	read_layers(&p);
	for (i = 0; i < n; i++) {
		struct layer_job *j = &p.jobs[i];
		const char *want = j->want,
			   *want_diff = stele_image_diff_id(img, i);
		uint64_t want_size;

		l = stele_image_layer(img, i);
		want_size = (uint64_t)stele_json_int(l, "size");
		snprintf(name, sizeof(name), "layer %zu", i + 1);
		if (!want)
			stele_verify__check(v->r, 0, name,
					    "invalid digest in the manifest");
		else if (j->failed)
			stele_verify__check(v->r, 0, name, "%s", j->failed);
		else if (strcmp(j->got, want))
			stele_verify__check(
				v->r, 0, name,
				"blob %s is corrupt: its content hashes to %s",
				want, j->got);
		else if (j->size != want_size)
			stele_verify__check(
				v->r, 0, name,
				"blob %s has %llu bytes, the manifest says %llu",
				want, (unsigned long long)j->size,
				(unsigned long long)want_size);
		else if (!want_diff || strcmp(j->diff, want_diff))
			stele_verify__check(
				v->r, 0, name,
				"blob %s uncompresses to %s, the config's diff_id is %s",
				want, j->diff[0] ? j->diff : "(unreadable)",
				want_diff ? want_diff : "(none)");
		else
			stele_verify__check(v->r, 1, name, "%s, diff_id %s",
					    want, j->diff);
		free(j->failed);
	}
	free(p.jobs);
	if (n !=
	    json_array_size(json_object_get(
		    json_object_get(img->config, "rootfs"), "diff_ids")))
		stele_verify__check(
			v->r, 0, "layers and diff_ids",
			"the manifest has %zu layers, the config another number of diff_ids",
			n);
}

/* ---- keys and signatures ---- */

int
stele_verify__key_usable(struct stele_verify__ctx *v,
			 const struct stele_trusted_key *k, char **why)
{
	return stele_policy_key_usable(v->p, k, v->now, why);
}

struct stele_trusted_key *
stele_verify__key_of(struct stele_verify__ctx *v, const struct stele_pubkey *pk)
{
	size_t i;

	for (i = 0; i < v->p->nkeys; i++)
		if (v->p->keys[i].key == pk)
			return &v->p->keys[i];
	return NULL;
}

int
stele_verify__name_in(char **names, size_t n, const char *name)
{
	size_t i;

	if (!names)
		return 1;
	for (i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return 1;
	return 0;
}

static const struct stele_pubkey **
all_keys(struct stele_verify__ctx *v)
{
	const struct stele_pubkey **keys =
		stele_xcalloc(v->p->nkeys + 1, sizeof(*keys));
	size_t i;

	for (i = 0; i < v->p->nkeys; i++)
		keys[i] = v->p->keys[i].key;
	return keys;
}

/* A signature (listed in `ignored`) or attestation (NULL) no key of the
 * policy made, or none could have (its reason says why): not counted. */
static void
not_ours(struct stele_verify__ctx *v, struct stele_buf *ignored,
	 const char *name, const struct stele_check *c)
{
	int said = c->other_kind || c->malformed;

	if (ignored)
		stele_buf_printf(ignored, "%s%s: %s", ignored->len ? "; " : "",
				 name + strlen("signature "),
				 said ? c->reason : "no trusted key made it");
	stele_verify__check(v->r, 1, name, "not counted: %s",
			    said ? c->reason : "made by no key of the policy");
}

static int
check_signatures(struct stele_verify__ctx *v)
{
	const struct stele_pubkey **keys = all_keys(v);
	struct stele_checks *cs = NULL;
	struct stele_buf ignored = STELE_BUF_INIT(1 << 16);
	char **signers, *rule = stele_identity_describe(v->p->identity);
	size_t i, j, nsigners = 0;
	int error;

	if ((error = stele_signatures_check(
		     &cs, v->img->oci, v->img->digest, keys, v->p->nkeys,
		     STELE_SIG_PURE | STELE_SIG_PREHASH)) < 0) {
		free(rule);
		free(keys);
		return error;
	}
	stele_verify__check(v->r, 1, "signature identity",
			    "%s, image verified as '%s'", rule,
			    v->intended ? v->intended : "(no known identity)");
	/*
	 * A signature no usable key made is not counted (anyone who can write
	 * to a registry can add one; the threshold decides), nor is one made
	 * for another identity (the same digest signed for another repository
	 * or tag: containers/image counts it out the same way).  A signature
	 * that is malformed or bound to another digest is a forgery: it
	 * denies.
	 */
	signers = stele_xcalloc(cs->n + 1, sizeof(char *));
	for (i = 0; i < cs->n; i++) {
		struct stele_check *c = &cs->v[i];
		struct stele_trusted_key *k =
			c->key ? stele_verify__key_of(v, c->key) : NULL;
		char name[96], *why = NULL;

		snprintf(name, sizeof(name), "signature %.19s", c->blob);
		if (c->error && c->unknown_key) {
			not_ours(v, &ignored, name, c);
		} else if (c->error) {
			stele_verify__check(
				v->r, 0, name, "%s",
				c->reason
					? c->reason
					: "does not verify with a trusted key");
		} else if (!k ||
			   !stele_verify__name_in(v->p->sig_keys,
						  v->p->nsig_keys, k->name)) {
			why = stele_xasprintf("key '%s' may not sign images",
					      k ? k->name : "?");
			stele_verify__not_counted(v, &ignored, name + 10, name,
						  why);
		} else if (!stele_verify__key_usable(v, k, &why)) {
			stele_verify__not_counted(v, &ignored, name + 10, name,
						  why);
		} else if (!stele_identity_match(v->p->identity, v->intended,
						 c->identity, &why)) {
			stele_buf_printf(&ignored, "%s%s: key '%s' %s",
					 ignored.len ? "; " : "", name + 10,
					 k->name, why);
			stele_verify__check(v->r, 1, name,
					    "not counted: by key '%s', %s",
					    k->name, why);
		} else {
			for (j = 0; j < nsigners; j++)
				if (!strcmp(signers[j], k->name))
					break;
			stele_verify__check(
				v->r, 1, name, "by key '%s' for '%s'%s",
				k->name, c->identity ? c->identity : "",
				j < nsigners ? " (this key already counted)"
					     : "");
			if (j == nsigners)
				signers[nsigners++] = k->name;
		}
		free(why);
	}
	if (v->p->threshold > 0)
		stele_verify__check(
			v->r, (int)nsigners >= v->p->threshold,
			"signature threshold",
			"%zu of %d distinct trusted keys signed%s%s", nsigners,
			v->p->threshold, ignored.len ? "; not counted: " : "",
			stele_buf_cstr(&ignored));
	else
		stele_verify__check(
			v->r, 1, "signature threshold",
			"0: the policy allows unsigned images (%zu trusted key(s) signed)",
			nsigners);
	stele_buf_release(&ignored);
	free(signers);
	free(rule);
	stele_checks_free(cs);
	free(keys);
	return 0;
}

/* ---- provenance ---- */

static int
check_attestations(struct stele_verify__ctx *v)
{
	const struct stele_pubkey **keys = all_keys(v);
	struct stele_checks *cs = NULL;
	struct stele_buf ignored = STELE_BUF_INIT(1 << 16);
	size_t i, good = 0;
	int error;

	if ((error = stele_attestations_check(
		     &cs, v->img->oci, v->img->digest, keys, v->p->nkeys,
		     STELE_SIG_PURE | STELE_SIG_PREHASH)) < 0) {
		free(keys);
		return error;
	}
	for (i = 0; i < cs->n; i++) {
		struct stele_check *c = &cs->v[i];
		struct stele_trusted_key *k =
			c->error ? NULL : stele_verify__key_of(v, c->key);
		char name[96], *why = NULL;
		struct stele_prov_doc *doc = NULL;

		snprintf(name, sizeof(name), "attestation %.19s", c->blob);
		if (c->error && c->unknown_key) {
			not_ours(v, NULL, name, c);
		} else if (c->error) {
			stele_verify__check(v->r, 0, name, "%s",
					    c->reason ? c->reason
						      : "does not verify");
		} else if (!k ||
			   !stele_verify__name_in(v->p->prov_keys,
						  v->p->nprov_keys, k->name)) {
			stele_buf_printf(
				&ignored,
				"%s%s is signed by '%s', a key not allowed for provenance",
				ignored.len ? "; " : "", name,
				k ? k->name : "?");
			stele_verify__check(
				v->r, 1, name,
				"not counted: signed by '%s', a key not allowed for provenance",
				k ? k->name : "?");
		} else if (!stele_verify__key_usable(v, k, &why)) {
			stele_verify__not_counted(v, &ignored, name, name, why);
		} else if (!c->predicate_type ||
			   strcmp(c->predicate_type, SLSA_V1)) {
			stele_verify__check(
				v->r, 1, name,
				"predicate %s (not SLSA provenance)",
				c->predicate_type ? c->predicate_type : "?");
		} else if (stele_prov_parse(&doc, c->body.ptr, c->body.len,
					    c->blob) < 0) {
			stele_verify__check(v->r, 0, name, "%s",
					    stele_error_last());
		} else if (strcmp(doc->subject_digest, v->img->digest)) {
			stele_verify__check(
				v->r, 0, name,
				"the statement's subject is %s, not this image",
				doc->subject_digest);
		} else {
			stele_verify__check(
				v->r, 1, name,
				"SLSA provenance signed by '%s'%s", k->name,
				doc->stele ? "" : " (from another builder)");
			if (!v->prov) {
				v->prov = doc;
				doc = NULL;
			}
			good++;
		}
		stele_prov_doc_free(doc);
		free(why);
	}
	if (v->p->prov_required)
		stele_verify__check(
			v->r, good > 0, "provenance", "%s%s%s%s",
			good ? "signed SLSA provenance found"
			     : "no SLSA provenance signed by an allowed key",
			!good && ignored.len ? " (" : "",
			!good && ignored.len ? stele_buf_cstr(&ignored) : "",
			!good && ignored.len ? ")" : "");
	stele_buf_release(&ignored);
	v->atts = cs; /* for the vulnerabilities rule */
	free(keys);
	return 0;
}

static int
match_any(char **pats, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s && fnmatch(pats[i], s, 0) == 0)
			return 1;
	return 0;
}

static void
check_provenance_rules(struct stele_verify__ctx *v)
{
	const struct stele_prov_doc *d = v->prov;
	const char *ref =
		d->source_resolved_ref ? d->source_resolved_ref : d->source_ref;
	const char *other =
		d->stele ? "" : " (the provenance is another builder's)";

	if (v->p->nbuilder_ids)
		stele_verify__check(
			v->r,
			match_any(v->p->builder_ids, v->p->nbuilder_ids,
				  d->builder_id),
			"provenance builder", "builder id '%s'", d->builder_id);
	if (v->p->nsources)
		stele_verify__check(
			v->r,
			match_any(v->p->sources, v->p->nsources, d->source_uri),
			"provenance source", "source '%s'%s%s",
			d->source_uri ? d->source_uri : "(none)",
			match_any(v->p->sources, v->p->nsources, d->source_uri)
				? ""
				: " is not an allowed repository",
			other);
	if (v->p->nrefs)
		stele_verify__check(
			v->r, match_any(v->p->refs, v->p->nrefs, ref),
			"provenance ref", "ref '%s'%s%s", ref ? ref : "(none)",
			match_any(v->p->refs, v->p->nrefs, ref)
				? ""
				: " does not match the allowed patterns",
			other);
	if (v->p->recipe)
		stele_verify__check(
			v->r,
			d->recipe_path && !strcmp(d->recipe_path, v->p->recipe),
			"provenance recipe", "recipe '%s', policy wants '%s'%s",
			d->recipe_path ? d->recipe_path : "(none)",
			v->p->recipe, other);
	if (v->p->hermetic) {
		char *why = NULL;
		size_t i;
		int ok = stele_prov_hermetic(d, &why);

		/* Records must cover every layer: a step without one could
		 * have had network. */
		for (i = 0; ok && i < stele_image_nlayers(v->img); i++) {
			const char *ld = stele_json_str(
				stele_image_layer(v->img, i), "digest");

			if (!stele_prov_record_of(d, ld)) {
				ok = 0;
				why = stele_xasprintf(
					"layer %zu (%s) has no step record in "
					"the provenance",
					i + 1, ld ? ld : "?");
			}
		}
		stele_verify__check(
			v->r, ok, "hermetic", "%s",
			ok ? "every step that contributed to the image ran without network"
			   : why);
		free(why);
	}
}

/* ---- image rules ---- */

static int
is_root_user(const char *u)
{
	size_t n;

	if (!u || !*u)
		return 1;
	n = strcspn(u, ":");
	return (n == 1 && u[0] == '0') || (n == 4 && !strncmp(u, "root", 4));
}

static const char *
base_registry(const char *image)
{
	static char host[256];
	const char *s = image, *slash;
	size_t n;

	if (!strncmp(s, "oci:", 4))
		return "oci";
	if (!strncmp(s, "docker://", 9))
		s += 9;
	/* HOST/REPO when the first part looks like a host, else the store. */
	if (!(slash = strchr(s, '/')))
		return "local";
	n = (size_t)(slash - s);
	if (!memchr(s, '.', n) && !memchr(s, ':', n) &&
	    strncmp(s, "localhost", n))
		return "local";
	snprintf(host, sizeof(host), "%.*s", (int)n, s);
	return host;
}

static void
check_image_rules(struct stele_verify__ctx *v, const char *tagname)
{
	json_t *cfg = json_object_get(v->img->config, "config"), *in, *seen;
	const char *created = stele_json_str(v->img->config, "created");
	size_t i, j;

	if (v->p->non_root) {
		const char *u = stele_json_str(cfg, "User");

		stele_verify__check(
			v->r, !is_root_user(u), "non-root user",
			"USER is '%s'%s", u && *u ? u : "(unset: root)",
			is_root_user(u) ? ": the image runs as root" : "");
	}
	if (v->p->max_age) {
		/* A reproducible build without a source date is created at the
		 * epoch; then the signed provenance's finishedOn dates it. */
		const char *when = created, *what = "created";
		int64_t t = 0;
		int ok = created && stele_time_parse(&t, created) == 0;

		if ((!ok || t == 0) && v->prov && v->prov->finished_on &&
		    stele_time_parse(&t, v->prov->finished_on) == 0) {
			when = v->prov->finished_on;
			what = "built (signed provenance; created is the epoch)";
			ok = 1;
		}
		if (!ok || t == 0)
			stele_verify__check(
				v->r, 0, "maximum age", "%s",
				ok ? "created is the epoch and no signed provenance records when the image was built"
				   : "the image has no valid created time and no signed provenance records when it was built");
		else
			stele_verify__check(
				v->r, v->now - t <= v->p->max_age,
				"maximum age",
				"%s %s, %lld days ago (at most %lld)", what,
				when, (long long)((v->now - t) / 86400),
				(long long)(v->p->max_age / 86400));
	}
	if (v->p->no_latest) {
		/* The tag the image was named by, and the tag of what it is
		 * verified as: neither may be latest, whatever the transport. */
		struct stele_dref d;
		const char *tag = v->o->tag ? v->o->tag : tagname;
		int latest = tag && !strcmp(tag, "latest");
		char *itag = NULL;

		if (v->intended && stele_dref_parse(&d, v->intended) == 0) {
			if (d.tag)
				itag = stele_xstrdup(d.tag);
			stele_dref_release(&d);
		}
		if (itag && !strcmp(itag, "latest"))
			latest = 1;
		stele_verify__check(v->r, !latest, "no latest tag",
				    "tag '%s'%s%s%s", tag ? tag : "(none)",
				    itag ? ", verified as tag '" : "",
				    itag ? itag : "", itag ? "'" : "");
		free(itag);
	}
	if (!v->p->pinned_bases && !v->p->nregistries && !v->p->no_latest)
		return;
	if (!v->prov || !v->prov->stele) {
		stele_verify__check(
			v->r, 0, "base images", "%s",
			!v->prov
				? "no signed provenance: the bases cannot be checked"
				: "the provenance is another builder's: it records no bases");
		return;
	}
	seen = json_object();
	for (i = 0; i < v->prov->nrecords; i++) {
		if (!v->prov->records[i].base)
			continue;
		json_array_foreach(v->prov->records[i].inputs, j, in) {
			const char *image = stele_json_str(in, "image");
			char name[300];

			/* A base of several layers is checked once. */
			if (!image || json_object_get(seen, image))
				continue;
			json_object_set_new(seen, image, json_true());
			snprintf(name, sizeof(name), "base %s", image);
			if (v->p->pinned_bases)
				stele_verify__check(
					v->r, strstr(image, "@sha256:") != NULL,
					name,
					strstr(image, "@sha256:")
						? "pinned by digest"
						: "not pinned by digest (FROM uses a tag)");
			if (v->p->nregistries)
				stele_verify__check(
					v->r,
					match_any(v->p->registries,
						  v->p->nregistries,
						  base_registry(image)),
					name, "registry '%s'",
					base_registry(image));
			if (v->p->no_latest)
				stele_verify__check(
					v->r,
					!(strstr(image, ":latest") ||
					  (!strchr(image + 4, ':') &&
					   !strstr(image, "@"))),
					name, "%s",
					strstr(image, ":latest")
						? "uses the latest tag"
						: "tag checked");
		}
	}
	json_decref(seen);
}

int
stele_verify_image(struct stele_verify_report **out, struct stele_image *img,
		   const struct stele_verify_opts *o)
{
	struct stele_verify_report *r = stele_xcalloc(1, sizeof(*r));
	struct stele_verify__ctx v = { 0 };
	json_t *ann = json_object_get(img->desc, "annotations");
	const char *refname = stele_json_str(ann, STELE_ANN_REFNAME);
	const char *recorded = stele_json_str(ann, STELE_ANN_IDENTITY);
	const char *tagname = NULL;
	size_t i;
	int error = 0;

	*out = r;
	r->allowed = 1;
	snprintf(r->digest, sizeof(r->digest), "%s", img->digest);
	v.r = r;
	v.img = img;
	v.o = o;
	v.now = o->now ? o->now : (int64_t)time(NULL);
	v.intended = o->identity ? o->identity
		: o->reference   ? o->reference
		: recorded       ? recorded
				 : o->default_identity;
	if (v.intended)
		r->identity = stele_xstrdup(v.intended);
	/* Without the caller's tag: a layout's ref.name (NAME:TAG or TAG). */
	if (refname && !o->tag && !o->named)
		tagname = strrchr(refname, ':') ? strrchr(refname, ':') + 1
						: refname;
	if (o->policy)
		error = stele_policy_load(&v.p, o->policy);
	else if (o->key)
		error = stele_policy_for_key(&v.p, o->key);
	else
		error = stele_error_setc(STELE_EINVALID,
					 "give a policy or a public key");
	if (error < 0)
		goto out;
	for (i = 0; i < v.p->nwarnings; i++)
		stele_strv_push(&r->warnings, &r->nwarnings, v.p->warnings[i]);
	if (error < 0)
		goto out;
	if (o->signatures_only) {
		stele_verify__check(r, 1, "manifest",
				    "%s (digest checked before parsing)",
				    img->digest);
		stele_verify__check(r, 1, "config",
				    "%s (digest checked before parsing)",
				    img->config_digest);
		stele_strv_push(
			&r->warnings, &r->nwarnings,
			"--signatures-only: the layer blobs were not read; their "
			"digests, sizes and diff_ids are not checked");
	} else {
		progress(&v, "checking blobs");
		check_blobs(&v);
	}
	progress(&v, "checking signatures");
	if ((error = check_signatures(&v)) < 0)
		goto out;
	progress(&v, "checking attestations");
	if ((error = check_attestations(&v)) < 0)
		goto out;
	r->provenance = v.prov != NULL;
	if (v.prov)
		check_provenance_rules(&v);
	else if (v.p->nbuilder_ids || v.p->nsources || v.p->nrefs ||
		 v.p->recipe || v.p->hermetic)
		stele_verify__check(
			r, 0, "provenance rules",
			"no signed provenance to check them against");
	check_image_rules(&v, tagname);
	if (v.p->vuln_db || v.p->vuln_signed_scan) {
		progress(&v, "checking vulnerabilities");
		stele_verify__vulnerabilities(&v);
	}
	if (v.p->rebuild || o->rebuild) {
		struct stele_rebuild_result rb;

		progress(&v, "rebuilding from the provenance");
		if ((error = stele_rebuild(&rb, img, v.prov, o->registry,
					   o->dirs, &o->limits, o->progress,
					   o->progress_payload)) < 0) {
			stele_verify__check(r, 0, "rebuild", "%s",
					    stele_error_last());
			error = 0;
		} else {
			stele_verify__check(r, rb.identical, "rebuild", "%s",
					    rb.summary);
			stele_rebuild_result_release(&rb);
		}
	}
out:
	stele_checks_free(v.atts);
	stele_prov_doc_free(v.prov);
	stele_policy_free(v.p);
	return error;
}

void
stele_verify_report_free(struct stele_verify_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->checks[i].name);
		free(r->checks[i].reason);
	}
	stele_strv_free(r->warnings, r->nwarnings);
	free(r->identity);
	free(r->checks);
	free(r);
}

json_t *
stele_verify_report_json(const struct stele_verify_report *r)
{
	json_t *checks = json_array(), *warnings = json_array();
	size_t i;

	for (i = 0; i < r->n; i++)
		json_array_append_new(checks,
				      json_pack("{s:s,s:b,s:s?}", "name",
						r->checks[i].name, "ok",
						r->checks[i].ok, "reason",
						r->checks[i].reason));
	for (i = 0; i < r->nwarnings; i++)
		json_array_append_new(warnings, json_string(r->warnings[i]));
	return json_pack("{s:s,s:b,s:s?,s:o,s:o}", "digest", r->digest,
			 "allowed", r->allowed, "identity", r->identity,
			 "warnings", warnings, "checks", checks);
}
