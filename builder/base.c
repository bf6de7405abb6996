#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/build_priv.h"
#include "oci/ref.h"
#include "registry/transfer.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

/*
 * FROM IMAGE.  An oci: layout or a store name is opened where it is; a
 * name whose first component is a host is pulled from that registry into
 * the store (which serves as the cache of bases); a store name the store
 * lacks is what Docker would pull (docker.io/library/debian:12 for
 * debian:12), pulled the same way.  A mirror given for a host serves its
 * pulls, under the same repository names.
 */

static json_t *
copy_or_new(json_t *v, json_t *(*mk)(void))
{
	return v ? json_deep_copy(v) : mk();
}

/* The mirror given for `host`, or NULL. */
static const char *
mirror_of(struct build *b, const char *host, size_t n)
{
	size_t i;

	for (i = 0; i < b->o->nmirrors; i++)
		if (strlen(b->o->mirrors[i].host) == n &&
		    !strncmp(b->o->mirrors[i].host, host, n))
			return b->o->mirrors[i].mirror;
	return NULL;
}

/*
 * Pull `name` ("HOST/REPO") at `ref`'s digest, else its tag (else latest),
 * into the store; through the host's mirror if one is given (*via).
 */
static int
pull_base(struct stele_image **img, char top[STELE_DIGEST_STRLEN],
	  struct build *b, const char *name, const struct stele_ref *ref,
	  const char **via)
{
	struct stele_registry_opts ro = { 0 };
	const char *store = stele_build__store(b);
	size_t hl = strcspn(name, "/");
	const char *mirror = mirror_of(b, name, hl);
	char *spec, *shown;
	int error;

	if (b->o->registry)
		ro = *b->o->registry;
	*via = mirror;
	shown = ref->digest ? stele_xasprintf("%s@%s", name, ref->digest)
			    : stele_xasprintf("%s:%s", name,
					      ref->tag ? ref->tag : "latest");
	spec = mirror ? stele_xasprintf("%s%s", mirror, shown + hl)
		      : stele_xstrdup(shown);
	if (mirror)
		stele_build__progress(b, "  pulling %s through the mirror %s",
				      shown, mirror);
	else
		stele_build__progress(b, "  pulling %s", shown);
	error = store
		? stele_registry_pull_to(img, top, store, spec, &ro)
		: stele_error_setc(STELE_EINVALID,
				   "no local store to keep a pulled base in");
	free(spec);
	free(shown);
	return error;
}

/*
 * A store name the store lacks: Docker's name for it, pulled.  When that
 * fails too, the error says what was tried and how to fix it.
 */
static int
docker_base(struct stele_image **img, char top[STELE_DIGEST_STRLEN],
	    char **canon, struct build *b, const struct stele_ref *ref,
	    const char *image)
{
	char *local = stele_xstrdup(stele_error_last()), *name = NULL;
	const char *via = NULL;
	int error;

	*canon = NULL;
	if ((error = stele_ref_docker_name(&name, ref->name)) < 0) {
		char *why = stele_xstrdup(stele_error_last());

		stele_error_setc(error,
				 "not in the local store (%s), and not a "
				 "name Docker would pull: %s",
				 local, why);
		free(why);
		goto out;
	}
	stele_build__progress(b,
			      "  '%s' is not in the local store: trying "
			      "%s, as Docker names it",
			      image, name);
	if ((error = pull_base(img, top, b, name, ref, &via)) < 0) {
		char *why = stele_xstrdup(stele_error_last());
		size_t hl = strcspn(name, "/");

		stele_error_setc(
			error,
			"not found: tried the local store (%s) "
			"and %s%s%s%s%s (%s); import the image into the store "
			"(stele import, stele copy), name an OCI layout "
			"(oci:DIR:TAG), or pull through a mirror "
			"(--registry-mirror %.*s=HOST)",
			local, name, ref->digest ? "@" : ":",
			ref->digest        ? ref->digest
				: ref->tag ? ref->tag
					   : "latest",
			via ? " through the "
			      "mirror "
			    : "",
			via ? via : "", why, (int)hl, name);
		free(why);
		goto out;
	}
	*canon = name;
	name = NULL;
out:
	free(name);
	free(local);
	return error;
}

int
stele_build__image_open(struct stele_image **img, struct build *b,
			const char *name)
{
	struct stele_ref *ref = NULL;
	char top[STELE_DIGEST_STRLEN] = "", *canon = NULL;
	const char *pulled = stele_json_str(b->pulled, name);
	int error;

	*img = NULL;
	if ((error = stele_ref_parse(&ref, name, stele_build__store(b))) < 0)
		return error;
	if (pulled) {
		/* Pulled earlier in this build: in the store by digest. */
		free(ref->digest);
		ref->digest = stele_xstrdup(pulled);
		free(ref->refname);
		ref->refname = NULL;
	}
	error = stele_image_open(img, ref);
	if (error == STELE_ENOTFOUND && ref->transport == STELE_REF_STORE &&
	    !pulled &&
	    (error = docker_base(img, top, &canon, b, ref, name)) == 0)
		json_object_set_new(b->pulled, name,
				    json_string(top[0] ? top : (*img)->digest));
	free(canon);
	stele_ref_free(ref);
	return error;
}

int
stele_build__from_image(struct build *b, struct stage *s,
			const struct stele_instr *in, const char *image)
{
	struct stele_ref *ref = NULL;
	struct stele_image *img = NULL;
	char top[STELE_DIGEST_STRLEN] = "", *canon = NULL;
	const char *via;
	json_t *l, *cfg, *locked;
	const char *pin;
	size_t i;
	int error;

	if ((error = stele_ref_parse(&ref, image, stele_build__store(b))) < 0)
		return stele_build__instr_error(b, in, error);
	/* A rebuild's pins, then the lock file: the base exactly as
	 * recorded, by digest. */
	locked = json_object_get(json_object_get(b->lock, "images"), image);
	pin = b->o->pins ? stele_json_str(b->o->pins, image) : NULL;
	if (!pin)
		pin = json_string_value(locked);
	if (!pin && b->o->locked) {
		stele_ref_free(ref);
		return stele_build__instr_error(
			b, in,
			stele_error_setc(
				STELE_EINVALID,
				"base '%s' is not in the lock file '%s' (--locked)",
				image, b->o->lock));
	}
	if (pin) {
		free(ref->digest);
		ref->digest = stele_xstrdup(pin);
		free(ref->refname);
		ref->refname = NULL;
	} else if (!ref->digest) {
		stele_build__progress(b,
				      "warning: base '%s' is named by a tag; "
				      "pin it by digest (or use --lock)",
				      image);
	}
	if (stele_ref_is_registry(ref)) {
		/* A base already in the store by digest is not fetched. */
		if ((error = stele_ref_docker_name(&canon, ref->name)) == 0)
			error = pull_base(&img, top, b, canon, ref, &via);
	} else {
		const char *pulled = stele_json_str(b->pulled, image);

		if (pulled && !ref->digest) {
			/* Pulled earlier in this build (a COPY --from, or
			 * another FROM): in the store by digest. */
			ref->digest = stele_xstrdup(pulled);
			free(ref->refname);
			ref->refname = NULL;
			snprintf(top, sizeof(top), "%s", pulled);
			if (stele_ref_docker_name(&canon, ref->name) < 0)
				canon = NULL;
		}
		error = stele_image_open(&img, ref);
		if (error == STELE_ENOTFOUND &&
		    ref->transport == STELE_REF_STORE &&
		    (error = docker_base(&img, top, &canon, b, ref, image)) ==
			    0 &&
		    !ref->digest)
			json_object_set_new(
				b->pulled, image,
				json_string(top[0] ? top : img->digest));
	}
	if (error < 0) {
		stele_error_prefix(error, "base image '%s'", image);
		error = stele_build__instr_error(b, in, error);
		goto out;
	}
	for (i = 0; i < stele_image_nlayers(img); i++) {
		const char *d =
			stele_json_str(stele_image_layer(img, i), "digest");

		if (!d ||
		    (error = stele_txn_copy_blob(b->txn, img->oci, d)) < 0) {
			if (!d)
				error = stele_error_setc(
					STELE_EINVALID,
					"base image '%s' has a layer without digest",
					image);
			error = stele_build__instr_error(b, in, error);
			goto out;
		}
	}
	cfg = json_object_get(img->config, "config");
	json_decref(s->config);
	s->config = copy_or_new(cfg, json_object);
	json_decref(s->history);
	s->history = copy_or_new(json_object_get(img->config, "history"),
				 json_array);
	json_decref(s->layers);
	s->layers = json_deep_copy(json_object_get(img->manifest, "layers"));
	json_decref(s->diff_ids);
	s->diff_ids = json_deep_copy(json_object_get(
		json_object_get(img->config, "rootfs"), "diff_ids"));
	json_array_foreach(s->layers, i, l)
		json_array_append_new(
			s->prov_layers,
			json_pack(
				"{s:s,s:s,s:O,s:s,s:s,s:i,s:s,s:[{s:s,s:s}],s:b}",
				"mediaType", stele_json_str(l, "mediaType"),
				"digest", stele_json_str(l, "digest"), "size",
				json_object_get(l, "size"), "diffID",
				stele_image_diff_id(img, i), "stage", s->label,
				"line", in->line, "instruction", in->text,
				"inputs", "image", image, "digest", img->digest,
				"base", 1));
	s->base_digest = stele_xstrdup(img->digest);
	free(s->author);
	s->author = stele_json_str(img->config, "author")
		? stele_xstrdup(stele_json_str(img->config, "author"))
		: NULL;
	if (b->lock)
		json_object_set_new(json_object_get(b->lock, "images"), image,
				    json_string(top[0] ? top : img->digest));
	if (canon) {
		/* Where it can be fetched again, by digest (its registry's
		 * own name, never a mirror's); `name` is the base as the
		 * recipe writes it (a rebuild's pin). */
		char *uri =
			stele_xasprintf("docker://%s@%s", canon, img->digest);

		stele_prov_dep_named(
			&b->prov, uri, image,
			json_pack("{s:s}", "sha256", img->digest + 7));
		free(uri);
	} else {
		stele_prov_dep(&b->prov, image,
			       json_pack("{s:s}", "sha256", img->digest + 7));
	}
	/* Its layers are extracted when a step first reads the filesystem. */
out:
	free(canon);
	stele_image_free(img);
	stele_ref_free(ref);
	return error;
}
