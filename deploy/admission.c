#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "deploy/admission.h"
#include "oci/digest.h"
#include "oci/image.h"
#include "oci/ref.h"
#include "registry/transfer.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "verify/verify.h"

#define POLICY_MAX (1u << 20)

struct stele_admission {
	struct stele_admission_opts o;
	pthread_mutex_t lock;
	/* the policy file as last read */
	struct timespec mtime;
	off_t size;
	int have_stat;
	char hash[STELE_DIGEST_STRLEN];
	struct stele_policy *pol; /* NULL: unreadable or invalid */
	char *pol_error; /* why, when pol is NULL */
	int64_t key_expiry; /* earliest notAfter after the read */
	unsigned long long generation;
	/* HOST/REPO@DIGEST -> {"allowed", "reasons", "expires", "gen"} */
	json_t *cache;
	struct stele_admission_stats stats;
};

int
stele_admission_new(struct stele_admission **out,
		    const struct stele_admission_opts *o)
{
	struct stele_admission *a;

	*out = NULL;
	if (!o->policy || !o->now)
		return stele_error_setc(
			STELE_EINVALID,
			"the admission review needs a policy and a clock");
	a = stele_xcalloc(1, sizeof(*a));
	a->o = *o;
	if (!a->o.cache_max)
		a->o.cache_max = 4096;
	pthread_mutex_init(&a->lock, NULL);
	a->cache = json_object();
	*out = a;
	return 0;
}

void
stele_admission_free(struct stele_admission *a)
{
	if (!a)
		return;
	stele_policy_free(a->pol);
	free(a->pol_error);
	json_decref(a->cache);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

void
stele_admission_stats(struct stele_admission_stats *out,
		      struct stele_admission *a)
{
	pthread_mutex_lock(&a->lock);
	*out = a->stats;
	pthread_mutex_unlock(&a->lock);
}

/*
 * Under the lock: read the policy again when the file changed (mtime or
 * size, then its hash); a new content empties the cache.
 */
static void
policy_refresh(struct stele_admission *a, int64_t now)
{
	struct stele_buf b = STELE_BUF_INIT(POLICY_MAX);
	char hash[STELE_DIGEST_STRLEN];
	struct stat st;
	size_t i;

	if (stat(a->o.policy, &st) == 0 && a->have_stat &&
	    st.st_mtim.tv_sec == a->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == a->mtime.tv_nsec && st.st_size == a->size)
		return;
	if (stele_fs_read(&b, a->o.policy) < 0) {
		hash[0] = '\0';
	} else {
		stele_digest_bytes(hash, b.ptr ? b.ptr : "", b.len);
		a->mtime = st.st_mtim;
		a->size = st.st_size;
		a->have_stat = 1;
	}
	if (hash[0] && a->pol && !strcmp(hash, a->hash)) {
		stele_buf_release(&b);
		return; /* touched, not changed */
	}
	/* A new policy (or none): nothing decided under the old one stands. */
	json_object_clear(a->cache);
	a->generation++;
	a->stats.reloads++;
	stele_policy_free(a->pol);
	a->pol = NULL;
	free(a->pol_error);
	a->pol_error = NULL;
	snprintf(a->hash, sizeof(a->hash), "%s", hash);
	if (!hash[0] ||
	    stele_policy_parse(&a->pol, b.ptr ? b.ptr : "", b.len,
			       a->o.policy) < 0) {
		a->pol_error = stele_xstrdup(stele_error_last());
		a->have_stat = 0; /* read again next time */
	}
	a->key_expiry = INT64_MAX;
	for (i = 0; a->pol && i < a->pol->nkeys; i++)
		if (a->pol->keys[i].not_after > now &&
		    a->pol->keys[i].not_after < a->key_expiry)
			a->key_expiry = a->pol->keys[i].not_after;
	stele_buf_release(&b);
}

/* ---- the Pod spec ---- */

static const char *const container_lists[] = { "containers", "initContainers",
					       "ephemeralContainers", NULL };

static void reason(json_t *reasons, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
reason(json_t *reasons, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	json_array_append_new(reasons, json_vsprintf(fmt, ap));
	va_end(ap);
}

/* The container's securityContext field, else the Pod's (runAsUser and
 * runAsNonRoot are inherited). */
static const json_t *
sc_field(const json_t *c, const json_t *spec, const char *key, int inherit)
{
	const json_t *v =
		json_object_get(json_object_get(c, "securityContext"), key);

	if (!v && inherit)
		v = json_object_get(json_object_get(spec, "securityContext"),
				    key);
	return v;
}

static int
check_container(json_t *reasons, const struct stele_policy *p,
		const json_t *spec, const json_t *c, const char *what)
{
	static const char *const limit_names[] = { "cpu", "memory",
						   "ephemeral-storage", NULL };
	const json_t *user, *nonroot, *limits;
	size_t i;

	if (p->rt_non_root) {
		user = sc_field(c, spec, "runAsUser", 1);
		nonroot = sc_field(c, spec, "runAsNonRoot", 1);
		if (json_is_integer(user) && json_integer_value(user) == 0)
			reason(reasons,
			       "%s runs as root (runAsUser: 0); the policy wants non-root",
			       what);
		else if (!json_is_true(nonroot) &&
			 !(json_is_integer(user) &&
			   json_integer_value(user) > 0))
			reason(reasons,
			       "%s may run as root: set securityContext.runAsNonRoot: true or a non-zero runAsUser",
			       what);
	}
	if (p->rt_read_only_root &&
	    !json_is_true(sc_field(c, spec, "readOnlyRootFilesystem", 0)))
		reason(reasons,
		       "%s has a writable root file system: set securityContext.readOnlyRootFilesystem: true",
		       what);
	if (p->rt_no_privileged &&
	    json_is_true(sc_field(c, spec, "privileged", 0)))
		reason(reasons,
		       "%s is privileged (securityContext.privileged: true)",
		       what);
	limits = json_object_get(json_object_get(c, "resources"), "limits");
	for (i = 0; limit_names[i]; i++) {
		const json_t *l = json_object_get(limits, limit_names[i]);

		if ((p->rt_limits & (1u << i)) && !json_is_string(l) &&
		    !json_is_number(l))
			reason(reasons,
			       "%s has no %s limit: set resources.limits.%s",
			       what, limit_names[i], limit_names[i]);
	}
	return 0;
}

int
stele_admission_runtime(json_t *reasons, const struct stele_policy *p,
			const json_t *spec)
{
	static const char *const host_ns[] = { "hostNetwork", "hostPID",
					       "hostIPC", NULL };
	const json_t *arr, *c;
	char what[160];
	size_t i, j;

	if (!json_is_object(spec))
		return stele_error_setc(STELE_EINVALID,
					"the Pod spec is not an object");
	for (i = 0; container_lists[i]; i++) {
		arr = json_object_get(spec, container_lists[i]);
		if (arr && !json_is_array(arr))
			return stele_error_setc(STELE_EINVALID,
						"spec.%s is not an array",
						container_lists[i]);
		json_array_foreach(arr, j, c) {
			const char *name = stele_json_str(c, "name");

			if (!json_is_object(c))
				return stele_error_setc(
					STELE_EINVALID,
					"spec.%s[%zu] is not an object",
					container_lists[i], j);
			snprintf(what, sizeof(what), "%s '%.100s'",
				 i == 0           ? "container"
					 : i == 1 ? "init container"
						  : "ephemeral container",
				 name ? name : "?");
			if (p->runtime)
				check_container(reasons, p, spec, c, what);
		}
	}
	if (!json_array_size(json_object_get(spec, "containers")))
		return stele_error_setc(STELE_EINVALID,
					"the Pod spec has no containers");
	for (i = 0; p->runtime && p->rt_no_host_ns && host_ns[i]; i++)
		if (json_is_true(json_object_get(spec, host_ns[i])))
			reason(reasons,
			       "the Pod shares the host's namespaces (%s: true)",
			       host_ns[i]);
	return 0;
}

/* ---- images ---- */

/*
 * Verify `name@digest` (no lock held); its reasons appended to `why`
 * (without the image: a cached verdict serves every name of the digest).
 * Returns 1 when the pipeline reached a verdict (*allowed; cacheable), 0
 * when it could not run (the registry unreachable, ...): then the image
 * is denied with the error as its reason and nothing is cached.
 */
static int
verify_image(int *allowed, json_t *why, struct stele_admission *a,
	     const struct stele_ref *ref)
{
	struct stele_verify_opts vo = { 0 };
	struct stele_verify_report *rep = NULL;
	struct stele_image *img = NULL;
	char *tmp = NULL,
	     *as = stele_xasprintf("%s@%s", ref->name, ref->digest);
	size_t i;
	int verdict = 0, error;

	*allowed = 0;
	if ((error = stele_registry_pull_temp(&img, &tmp, ref, a->o.registry)) <
	    0) {
		reason(why, "%s", stele_error_last());
		/* A digest the registry does not hold, or bytes that do not
		 * match it, is a verdict; a failed connection is not. */
		verdict = error == STELE_EVERIFY || error == STELE_ENOTFOUND;
		goto out;
	}
	vo.policy = a->o.policy;
	vo.reference = as;
	vo.named = 1;
	vo.registry = a->o.registry;
	if (stele_verify_image(&rep, img, &vo) < 0) {
		reason(why, "%s", stele_error_last());
		goto out;
	}
	verdict = 1;
	*allowed = rep->allowed;
	for (i = 0; i < rep->n; i++)
		if (!rep->checks[i].ok)
			reason(why, "%s: %s", rep->checks[i].name,
			       rep->checks[i].reason ? rep->checks[i].reason
						     : "failed");
out:
	stele_verify_report_free(rep);
	stele_image_free(img);
	stele_fs_tmp_free(tmp);
	free(as);
	return verdict;
}

static void
add_reasons(json_t *reasons, const char *image, const json_t *why)
{
	const json_t *v;
	size_t i;

	json_array_foreach(why, i, v)
		reason(reasons, "image %s: %s", image, json_string_value(v));
}

static int
check_image(json_t *reasons, struct stele_admission *a, const char *image)
{
	struct stele_ref *ref = NULL;
	char *full = strncmp(image, "docker://", 9)
		? stele_xasprintf("docker://%s", image)
		: stele_xstrdup(image);
	json_t *e, *why = NULL;
	char *key = NULL;
	unsigned long long gen;
	int64_t now;
	int allowed, verdict;

	if (stele_ref_parse(&ref, full, NULL) < 0) {
		reason(reasons, "image '%s': %s", image, stele_error_last());
		goto out;
	}
	if (!ref->digest) {
		reason(reasons,
		       "image '%s' is not pinned by digest: name it as %s@sha256:<digest> "
		       "(the digest: skopeo inspect --format '{{.Digest}}' docker://%s)",
		       image, ref->name, image);
		goto out;
	}
	e = NULL;
	pthread_mutex_lock(&a->lock);
	now = a->o.now(a->o.now_payload);
	key = stele_xasprintf("%s@%s", ref->name, ref->digest);
	if ((e = json_object_get(a->cache, key)) &&
	    stele_json_int(e, "expires") > now) {
		a->stats.hits++;
		if (!json_is_true(json_object_get(e, "allowed")))
			add_reasons(reasons, image,
				    json_object_get(e, "reasons"));
		pthread_mutex_unlock(&a->lock);
		goto out;
	}
	a->stats.misses++;
	gen = a->generation;
	pthread_mutex_unlock(&a->lock);
	why = json_array();
	verdict = verify_image(&allowed, why, a, ref);
	add_reasons(reasons, image, why);
	if (!a->o.cache_ttl || !verdict)
		goto out;
	pthread_mutex_lock(&a->lock);
	now = a->o.now(a->o.now_payload);
	/* Decided under the policy still in force: keep it, no longer than
	 * the ttl nor past a key's expiry. */
	if (gen == a->generation) {
		int64_t exp = now + a->o.cache_ttl;

		if (a->key_expiry < exp)
			exp = a->key_expiry;
		if (json_object_size(a->cache) >= a->o.cache_max)
			json_object_clear(a->cache);
		json_object_set_new(a->cache, key,
				    json_pack("{s:b,s:O,s:I}", "allowed",
					      allowed, "reasons", why,
					      "expires", (json_int_t)exp));
	}
	pthread_mutex_unlock(&a->lock);
out:
	json_decref(why);
	stele_ref_free(ref);
	free(key);
	free(full);
	return 0;
}

/* ---- the review ---- */

static const json_t *
pod_spec(const char *kind, const json_t *obj, const char **where)
{
	const json_t *spec = json_object_get(obj, "spec");

	*where = "spec";
	if (!strcmp(kind, "Pod"))
		return spec;
	if (!strcmp(kind, "Deployment") || !strcmp(kind, "ReplicaSet") ||
	    !strcmp(kind, "StatefulSet") || !strcmp(kind, "DaemonSet") ||
	    !strcmp(kind, "Job")) {
		*where = "spec.template.spec";
		return json_object_get(json_object_get(spec, "template"),
				       "spec");
	}
	if (!strcmp(kind, "CronJob")) {
		*where = "spec.jobTemplate.spec.template.spec";
		return json_object_get(
			json_object_get(
				json_object_get(
					json_object_get(spec, "jobTemplate"),
					"spec"),
				"template"),
			"spec");
	}
	*where = NULL;
	return NULL;
}

static json_t *
response(const char *uid, json_t *reasons)
{
	struct stele_buf msg = STELE_BUF_INIT(1 << 20);
	json_t *r, *s;
	size_t i;

	if (!json_array_size(reasons))
		return json_pack("{s:s,s:s,s:{s:s,s:b}}", "apiVersion",
				 "admission.k8s.io/v1", "kind",
				 "AdmissionReview", "response", "uid", uid,
				 "allowed", 1);
	json_array_foreach(reasons, i, s)
		stele_buf_printf(&msg, "%s%s", i ? "; " : "",
				 json_string_value(s));
	r = json_pack("{s:s,s:s,s:{s:s,s:b,s:{s:i,s:s,s:s,s:{s:O}}}}",
		      "apiVersion", "admission.k8s.io/v1", "kind",
		      "AdmissionReview", "response", "uid", uid, "allowed", 0,
		      "status", "code", 403, "reason", "Forbidden", "message",
		      stele_buf_cstr(&msg), "details", "causes", reasons);
	stele_buf_release(&msg);
	return r;
}

/* A webhook body: capped, then parsed strictly. */
static int
parse_request(json_t **root, const char *body, size_t len)
{
	if (len > STELE_ADMISSION_MAX_BODY)
		return stele_error_setc(STELE_EINVALID,
					"the request is larger than %u MiB",
					STELE_ADMISSION_MAX_BODY >> 20);
	return stele_json_parse(root, body, len, "the request");
}

int
stele_admission_review(json_t **out, struct stele_admission *a,
		       const char *body, size_t len)
{
	json_t *root = NULL, *req, *obj, *reasons = json_array(),
	       *images = json_object();
	json_t *c, *order = json_array();
	const json_t *spec;
	const char *uid, *kind, *where, *s;
	size_t i, j;
	int error = 0;

	*out = NULL;
	if ((error = parse_request(&root, body, len)) < 0)
		goto out;
	if (!(s = stele_json_str(root, "apiVersion")) ||
	    strcmp(s, "admission.k8s.io/v1") ||
	    !(s = stele_json_str(root, "kind")) ||
	    strcmp(s, "AdmissionReview")) {
		error = stele_error_setc(
			STELE_EINVALID,
			"not an AdmissionReview of admission.k8s.io/v1");
		goto out;
	}
	req = json_object_get(root, "request");
	if (!json_is_object(req) || !(uid = stele_json_str(req, "uid")) ||
	    !*uid) {
		error = stele_error_setc(
			STELE_EINVALID,
			"the AdmissionReview has no request.uid");
		goto out;
	}
	obj = json_object_get(req, "object");
	if (!obj || json_is_null(obj)) {
		/* DELETE and CONNECT carry no object: nothing to run. */
		*out = response(uid, reasons);
		goto out;
	}
	if (!(kind = stele_json_str(json_object_get(req, "kind"), "kind"))) {
		error = stele_error_setc(STELE_EINVALID,
					 "the request has no kind.kind");
		goto out;
	}
	spec = pod_spec(kind, obj, &where);
	if (!where) {
		reason(reasons, "a %s is not a kind this webhook checks", kind);
		*out = response(uid, reasons);
		goto out;
	}
	if (!json_is_object(spec)) {
		error = stele_error_setc(STELE_EINVALID, "the %s has no %s",
					 kind, where);
		goto out;
	}
	pthread_mutex_lock(&a->lock);
	a->stats.reviews++;
	policy_refresh(a, a->o.now(a->o.now_payload));
	if (!a->pol) {
		reason(reasons, "the policy cannot be used: %s", a->pol_error);
		pthread_mutex_unlock(&a->lock);
		*out = response(uid, reasons);
		goto out;
	}
	error = stele_admission_runtime(reasons, a->pol, spec);
	pthread_mutex_unlock(&a->lock);
	if (error < 0) {
		stele_error_prefix(error, "%s", where);
		goto out;
	}
	for (i = 0; container_lists[i]; i++)
		json_array_foreach(json_object_get(spec, container_lists[i]), j,
				   c) {
			const json_t *im = json_object_get(c, "image");

			if (!json_is_string(im)) {
				error = stele_error_setc(
					STELE_EINVALID,
					"%s.%s[%zu].image is not a string",
					where, container_lists[i], j);
				goto out;
			}
			if (!json_object_get(images, json_string_value(im))) {
				json_object_set_new(images,
						    json_string_value(im),
						    json_true());
				json_array_append(order, (json_t *)im);
			}
		}
	json_array_foreach(order, i, c)
		if ((error = check_image(reasons, a, json_string_value(c))) < 0)
			goto out;
	*out = response(uid, reasons);
out:
	json_decref(order);
	json_decref(images);
	json_decref(reasons);
	json_decref(root);
	return error;
}

/* ---- Flagger's webhooks ---- */

/* Split metadata.images (references separated by commas or white space)
 * into `order`, each once. */
static int
flagger_images(json_t *order, const char *list)
{
	json_t *seen = json_object();
	const char *p = list;
	size_t n;

	while (*p) {
		p += strspn(p, ", \t\r\n");
		if (!(n = strcspn(p, ", \t\r\n")))
			break;
		if (json_array_size(order) >= STELE_FLAGGER_MAX_IMAGES) {
			json_decref(seen);
			return stele_error_setc(
				STELE_EINVALID,
				"metadata.images names more than %d images",
				STELE_FLAGGER_MAX_IMAGES);
		}
		{
			char *im = stele_xstrndup(p, n);

			if (!json_object_get(seen, im)) {
				json_object_set_new(seen, im, json_true());
				json_array_append_new(order, json_string(im));
			}
			free(im);
		}
		p += n;
	}
	json_decref(seen);
	return 0;
}

int
stele_admission_flagger(json_t **out, struct stele_admission *a,
			const char *body, size_t len)
{
	static const char *const fields[] = { "name",     "namespace", "phase",
					      "checksum", "metadata",  NULL };
	json_t *root = NULL, *reasons = json_array(), *order = json_array(), *v;
	const json_t *meta;
	const char *k, *images;
	size_t i;
	int error = 0, usable;

	*out = NULL;
	if ((error = parse_request(&root, body, len)) < 0)
		goto out;
	if (!json_is_object(root)) {
		error = stele_error_setc(
			STELE_EINVALID,
			"not a Flagger webhook payload (a JSON object)");
		goto out;
	}
	json_object_foreach(root, k, v) {
		for (i = 0; fields[i] && strcmp(fields[i], k); i++)
			;
		if (!fields[i]) {
			error = stele_error_setc(
				STELE_EINVALID,
				"unknown field '%s' in the payload", k);
			goto out;
		}
		if (strcmp(k, "metadata") &&
		    (!json_is_string(v) ||
		     (strcmp(k, "checksum") && !*json_string_value(v)))) {
			error = stele_error_setc(
				STELE_EINVALID,
				"the payload's %s must be a non-empty string",
				k);
			goto out;
		}
	}
	if (!stele_json_str(root, "name") ||
	    !stele_json_str(root, "namespace") ||
	    !stele_json_str(root, "phase")) {
		error = stele_error_setc(
			STELE_EINVALID,
			"the payload needs name, namespace and phase");
		goto out;
	}
	meta = json_object_get(root, "metadata");
	if (meta && !json_is_object(meta)) {
		error = stele_error_setc(
			STELE_EINVALID,
			"the payload's metadata must be an object of strings");
		goto out;
	}
	json_object_foreach((json_t *)meta, k, v)
		if (!json_is_string(v)) {
			error = stele_error_setc(
				STELE_EINVALID,
				"metadata.%s is not a string (Flagger sends strings)",
				k);
			goto out;
		}
	if (!(images = stele_json_str(meta, "images")) ||
	    (error = flagger_images(order, images)) < 0 ||
	    !json_array_size(order)) {
		if (!error)
			error = stele_error_setc(
				STELE_EINVALID,
				"metadata.images names no image: list the canary's "
				"images, by digest, in the webhook's metadata");
		goto out;
	}
	pthread_mutex_lock(&a->lock);
	a->stats.reviews++;
	policy_refresh(a, a->o.now(a->o.now_payload));
	if (!(usable = a->pol != NULL))
		reason(reasons, "the policy cannot be used: %s", a->pol_error);
	pthread_mutex_unlock(&a->lock);
	json_array_foreach(order, i, v)
		if (usable &&
		    (error = check_image(reasons, a, json_string_value(v))) < 0)
			goto out;
	*out = json_pack("{s:b,s:s,s:s,s:s,s:O,s:O}", "allowed",
			 json_array_size(reasons) == 0, "name",
			 stele_json_str(root, "name"), "namespace",
			 stele_json_str(root, "namespace"), "phase",
			 stele_json_str(root, "phase"), "images", order,
			 "reasons", reasons);
out:
	json_decref(order);
	json_decref(reasons);
	json_decref(root);
	return error;
}
