#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry/client_priv.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

static char *
path_of(const char *repo, const char *kind, const char *ref)
{
	return stele_xasprintf("/v2/%s/%s/%s", repo, kind, ref);
}

void
stele_registry__ask_manifest(struct stele_registry__ask *a, const char *method,
			     const char *repo, const char *ref)
{
	a->method = method;
	a->path = path_of(repo, "manifests", ref);
	a->repo = repo;
	a->accept = STELE_REGISTRY_ACCEPT;
}

void
stele_registry__ask_referrers(struct stele_registry__ask *a, const char *repo,
			      const char *digest)
{
	a->method = "GET";
	a->path = path_of(repo, "referrers", digest);
	a->repo = repo;
	a->accept = STELE_MT_INDEX;
}

int
stele_registry_manifest_get(struct stele_buf *out,
			    char digest[STELE_DIGEST_STRLEN], char **media_type,
			    struct stele_registry *r, const char *repo,
			    const char *ref)
{
	struct stele_registry__req q;
	char *path = path_of(repo, "manifests", ref);
	char *what =
		stele_xasprintf("GET manifest %s%s%s", repo,
				strncmp(ref, "sha256:", 7) ? ":" : "@", ref);
	int error;

	if (media_type)
		*media_type = NULL;
	stele_registry__req_init(&q, "GET", path, repo);
	q.accept = STELE_REGISTRY_ACCEPT;
	q.body = out;
	if ((error = stele_registry__do(r, &q)) < 0) {
		if (error == STELE_EINVALID)
			stele_error_prefix(error,
					   "%s: manifest %s:%s is too large",
					   stele_registry__host(r), repo, ref);
		goto out;
	}
	if (q.status != 200) {
		error = stele_registry__fail(r, &q, what);
		goto out;
	}
	stele_digest_bytes(digest, out->ptr ? out->ptr : "", out->len);
	if (!strncmp(ref, "sha256:", 7) && strcmp(ref, digest)) {
		error = stele_error_setc(
			STELE_EVERIFY,
			"%s: manifest %s of %s does not match its digest (the bytes received hash to %s)",
			stele_registry__host(r), ref, repo, digest);
		goto out;
	}
	if (q.digest && !strncmp(q.digest, "sha256:", 7) &&
	    strcmp(q.digest, digest)) {
		error = stele_error_setc(
			STELE_EVERIFY,
			"%s: manifest %s:%s does not match the digest the registry names (%s; the bytes hash to %s)",
			stele_registry__host(r), repo, ref, q.digest, digest);
		goto out;
	}
	if (media_type && q.ctype)
		*media_type = stele_xstrndup(q.ctype, strcspn(q.ctype, ";"));
out:
	stele_registry__req_release(&q);
	free(what);
	free(path);
	return error;
}

int
stele_registry_manifest_put(struct stele_registry *r, const char *repo,
			    const char *ref, const char *media_type,
			    const void *data, size_t len, int *has_subject)
{
	return stele_registry__manifest_put_if(r, repo, ref, media_type, data,
					       len, NULL, has_subject);
}

int
stele_registry__manifest_put_if(struct stele_registry *r, const char *repo,
				const char *ref, const char *media_type,
				const void *data, size_t len, const char *etag,
				int *has_subject)
{
	struct stele_registry__req q;
	char *path = path_of(repo, "manifests", ref);
	char *what = stele_xasprintf("PUT manifest %s:%s", repo, ref);
	char digest[STELE_DIGEST_STRLEN];
	int error;

	stele_registry__req_init(&q, "PUT", path, repo);
	q.content_type = media_type;
	q.data = data;
	q.body_len = len;
	q.has_body = 1;
	q.if_match = etag;
	if ((error = stele_registry__do(r, &q)) < 0)
		goto out;
	if (etag && q.status == 412) {
		error = 1;
		goto out;
	}
	if (q.status != 201 && q.status != 200) {
		error = stele_registry__fail(r, &q, what);
		goto out;
	}
	stele_digest_bytes(digest, data, len);
	if (q.digest && strcmp(q.digest, digest)) {
		error = stele_error_setc(
			STELE_EVERIFY,
			"%s: stored manifest %s:%s as %s, not %s",
			stele_registry__host(r), repo, ref, q.digest, digest);
		goto out;
	}
	if (has_subject)
		*has_subject = q.subject;
out:
	stele_registry__req_release(&q);
	free(what);
	free(path);
	return error;
}

/*
 * HEAD /v2/REPO/KIND/REF: 1 when present (and, with `digest`, answered
 * under that digest), 0 when absent, or an error.
 */
static int
head(struct stele_registry *r, const char *repo, const char *kind,
     const char *ref, const char *digest)
{
	struct stele_registry__req q;
	char *path = path_of(repo, kind, ref);
	int manifest = !strcmp(kind, "manifests"), error;

	stele_registry__req_init(&q, "HEAD", path, repo);
	if (manifest)
		q.accept = STELE_REGISTRY_ACCEPT;
	if ((error = stele_registry__do(r, &q)) == 0) {
		if (q.status == 200)
			error = !digest ||
				(q.digest && !strcmp(q.digest, digest));
		else if (q.status != 404)
			error = stele_registry__fail(r, &q,
						     manifest ? "HEAD manifest"
							      : "HEAD blob");
	}
	stele_registry__req_release(&q);
	free(path);
	return error;
}

int
stele_registry_blob_exists(struct stele_registry *r, const char *repo,
			   const char *digest)
{
	return head(r, repo, "blobs", digest, NULL);
}

int
stele_registry_manifest_has(struct stele_registry *r, const char *repo,
			    const char *ref, const char *digest)
{
	return head(r, repo, "manifests", ref, digest);
}

/* --- fetch ---------------------------------------------------------------- */

struct fetch {
	struct stele_txn *txn;
	struct stele_blob_writer *w;
	const char *digest;
	uint64_t size, got;
	const char *host;
	struct stele_registry_stats *stats;
	struct stele_registry__req *q;
	int checked; /* this answer's first bytes were seen */
};

static int
fetch_restart(struct fetch *f)
{
	stele_blob_writer_free(f->w);
	f->w = NULL;
	f->got = 0;
	f->q->range_from = 0;
	f->q->progress_base = 0;
	return stele_txn_blob_new(&f->w, f->txn);
}

/* Does a 206's Content-Range start where we asked ("bytes N-M/T")? */
static int
range_starts_at(const char *cr, uint64_t from)
{
	char *end;
	unsigned long long n;

	if (!cr || strncmp(cr, "bytes ", 6))
		return 0;
	n = strtoull(cr + 6, &end, 10);
	return end != cr + 6 && *end == '-' && n == from;
}

static int
fetch_sink(void *p, const void *data, size_t len)
{
	struct fetch *f = p;
	int error;

	if (!f->checked) {
		f->checked = 1;
		if (f->q->range_from && f->q->status == 200 &&
		    (error = fetch_restart(f)) < 0)
			return error; /* the whole blob again: start over */
		if (f->q->status == 206 &&
		    !range_starts_at(f->q->crange, f->q->range_from))
			return stele_error_setc(
				STELE_EVERIFY,
				"%s: blob %s: the registry resumed at the wrong place (%s)",
				f->host, f->digest,
				f->q->crange ? f->q->crange : "no range");
	}
	if (len > f->size - f->got)
		return stele_error_setc(
			STELE_EVERIFY,
			"%s: blob %s is longer than its %llu bytes; not stored",
			f->host, f->digest, (unsigned long long)f->size);
	f->got += len;
	f->stats->bytes_down += len;
	return stele_blob_writer_write(f->w, data, len);
}

/* Before a retry: resume after what arrived (Range), or start over. */
static int
fetch_reset(void *p)
{
	struct fetch *f = p;

	f->checked = 0;
	if (f->got > 0 && f->got < f->size) {
		f->q->range_from = f->got;
		f->q->progress_base = f->got;
		return 0;
	}
	return fetch_restart(f);
}

int
stele_registry_blob_fetch(struct stele_txn *txn, struct stele_registry *r,
			  const char *repo, const char *digest, uint64_t size)
{
	struct stele_registry__req q;
	struct fetch f = { txn,
			   NULL,
			   digest,
			   size,
			   0,
			   stele_registry__host(r),
			   stele_registry__stats(r),
			   NULL,
			   0 };
	char *path = path_of(repo, "blobs", digest);
	char *what = stele_xasprintf("pull %s", digest);
	char got[STELE_DIGEST_STRLEN];
	int error;

	stele_registry__req_init(&q, "GET", path, repo);
	q.sink = fetch_sink;
	q.reset = fetch_reset;
	q.payload = &f;
	f.q = &q;
	q.progress_what = what;
	q.progress_total = size;
	if ((error = stele_txn_blob_new(&f.w, txn)) < 0 ||
	    (error = stele_registry__do(r, &q)) < 0)
		goto out;
	if (q.status != 200 && q.status != 206) {
		free(what);
		what = stele_xasprintf("GET blob %s", digest);
		error = stele_registry__fail(r, &q, what);
		goto out;
	}
	if (f.got != size) {
		error = stele_error_setc(
			STELE_EVERIFY,
			"%s: blob %s has %llu bytes, not %llu; not stored",
			stele_registry__host(r), digest,
			(unsigned long long)f.got, (unsigned long long)size);
		goto out;
	}
	error = stele_blob_writer_commit(f.w, got, NULL);
	f.w = NULL;
	if (!error && strcmp(got, digest)) {
		/* Take the staged bytes back out: they are not what was asked for. */
		char *p = stele_txn_blob_path(txn, got);

		if (!stele_oci_blob_exists(stele_txn_oci(txn), got))
			unlink(p);
		free(p);
		error = stele_error_setc(
			STELE_EVERIFY,
			"%s: blob %s of %s does not match its digest (the bytes received hash to %s); not stored",
			stele_registry__host(r), digest, repo, got);
	}
out:
	stele_blob_writer_free(f.w);
	stele_registry__req_release(&q);
	free(what);
	free(path);
	return error;
}

/* --- upload ----------------------------------------------------------------- */

/* A Location made absolute, with `query` appended. */
static char *
upload_url(struct stele_registry *r, const char *loc, const char *query)
{
	const char *sep = strchr(loc, '?') ? "&" : "?";

	if (!strncmp(loc, "http://", 7) || !strncmp(loc, "https://", 8))
		return stele_xasprintf("%s%s%s", loc, query ? sep : "",
				       query ? query : "");
	return stele_xasprintf("%s://%s%s%s%s", stele_registry_scheme(r),
			       stele_registry__host(r), loc, query ? sep : "",
			       query ? query : "");
}

int
stele_registry_blob_mount(struct stele_registry *r, const char *repo,
			  const char *from, const char *digest)
{
	struct stele_registry__req q;
	char *path = stele_xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s",
				     repo, digest, from);
	int error;

	stele_registry__req_init(&q, "POST", path, repo);
	q.from = from;
	if ((error = stele_registry__do(r, &q)) == 0) {
		if (q.status == 201)
			error = 1;
		else if (q.status != 202)
			error = stele_registry__fail(r, &q, "mount blob");
	}
	/* A 202 opened an upload session we do not use; it expires. */
	stele_registry__req_release(&q);
	free(path);
	return error;
}

/* POST for a session; *loc is its absolute URL. */
static int
upload_start(char **loc, struct stele_registry *r, const char *repo)
{
	struct stele_registry__req q;
	char *path = stele_xasprintf("/v2/%s/blobs/uploads/", repo);
	int error;

	*loc = NULL;
	stele_registry__req_init(&q, "POST", path, repo);
	if ((error = stele_registry__do(r, &q)) == 0) {
		if (q.status != 202 || !q.location)
			error = stele_registry__fail(r, &q,
						     "start blob upload");
		else
			*loc = upload_url(r, q.location, NULL);
	}
	stele_registry__req_release(&q);
	free(path);
	return error;
}

/* One request to an upload session; q->status checked against `want`. */
static int
upload_send(char **loc, struct stele_registry *r, const char *repo,
	    const char *method, const char *query, int fd, const void *data,
	    uint64_t off, uint64_t len, uint64_t total, const char *what,
	    long want)
{
	struct stele_registry__req q;
	char *url = upload_url(r, *loc, query), *range = NULL;
	int error;

	stele_registry__req_init(&q, method, url, repo);
	q.flags = REQ_ABS_URL | REQ_NO_RETRY;
	q.fd = fd;
	q.data = data ? data : "";
	q.body_off = off;
	q.body_len = len;
	q.has_body = 1;
	q.progress_what = what;
	q.progress_base = off;
	q.progress_total = total;
	if (!strcmp(method, "PATCH")) {
		range = stele_xasprintf("%llu-%llu", (unsigned long long)off,
					(unsigned long long)(off + len - 1));
		q.content_range = range;
	}
	if ((error = stele_registry__do(r, &q)) == 0) {
		if (q.status != want)
			error = stele_registry__fail(r, &q, what);
		else if (q.location) {
			free(*loc);
			*loc = upload_url(r, q.location, NULL);
		}
		if (!error)
			stele_registry__stats(r)->bytes_up += len;
	}
	stele_registry__req_release(&q);
	free(range);
	free(url);
	return error;
}

static int
upload_once(struct stele_registry *r, const char *repo, const char *digest,
	    uint64_t size, int fd, const void *data, const char *what)
{
	const struct stele_registry_opts *o = stele_registry__opts(r);
	char *loc = NULL, *query = stele_xasprintf("digest=%s", digest);
	uint64_t off = 0;
	int error;

	if ((error = upload_start(&loc, r, repo)) < 0)
		goto out;
	if (size <= STELE_REGISTRY_MONOLITHIC_MAX || data) {
		error = upload_send(&loc, r, repo, "PUT", query, fd, data, 0,
				    size, size, what, 201);
		goto out;
	}
	while (off < size && !error) {
		uint64_t n =
			size - off < o->chunk_size ? size - off : o->chunk_size;

		error = upload_send(&loc, r, repo, "PATCH", NULL, fd, NULL, off,
				    n, size, what, 202);
		off += n;
	}
	if (!error)
		error = upload_send(&loc, r, repo, "PUT", query, -1, NULL, 0, 0,
				    size, what, 201);
out:
	free(query);
	free(loc);
	return error;
}

static int
upload(struct stele_registry *r, const char *repo, const char *digest,
       uint64_t size, int fd, const void *data)
{
	const struct stele_registry_opts *o = stele_registry__opts(r);
	char *what = stele_xasprintf("push %s", digest);
	unsigned attempt = 0;
	int error;

	/* An upload broken off is started over: a session's state after a
	 * failed request is not known. */
	while ((error = upload_once(r, repo, digest, size, fd, data, what)) <
		       0 &&
	       stele_registry__transient(r) && attempt < o->retries &&
	       !stele_registry__cancelled(r)) {
		attempt++;
		stele_registry__stats(r)->retries++;
		if (stele_registry__backoff(r, attempt, 0) < 0)
			break;
	}
	free(what);
	return error;
}

int
stele_registry_blob_upload(struct stele_registry *r, const char *repo,
			   const char *digest, uint64_t size, int fd)
{
	return upload(r, repo, digest, size, fd, NULL);
}

int
stele_registry_blob_upload_bytes(struct stele_registry *r, const char *repo,
				 const void *data, size_t len)
{
	char digest[STELE_DIGEST_STRLEN];
	int error;

	stele_digest_bytes(digest, data, len);
	if ((error = stele_registry_blob_exists(r, repo, digest)) != 0)
		return error < 0 ? error : 0;
	return upload(r, repo, digest, len, -1, data);
}

int
stele_registry_referrers(json_t **out, struct stele_registry *r,
			 const char *repo, const char *digest)
{
	struct stele_buf body = STELE_BUF_INIT(STELE_MANIFEST_MAX);
	struct stele_registry__req q;
	char *path = path_of(repo, "referrers", digest);
	int error;

	*out = NULL;
	stele_registry__req_init(&q, "GET", path, repo);
	q.accept = STELE_MT_INDEX;
	q.body = &body;
	if ((error = stele_registry__do(r, &q)) < 0)
		goto out;
	/* distribution 2.8 answers 404 (no such route): no referrers API. */
	if (q.status == 404 || q.status == 400 || q.status == 405) {
		error = stele_error_setc(STELE_ENOTFOUND,
					 "%s has no referrers API",
					 stele_registry__host(r));
		goto out;
	}
	if (q.status != 200) {
		error = stele_registry__fail(r, &q, "GET referrers");
		goto out;
	}
	if (!q.ctype ||
	    strncmp(q.ctype, STELE_MT_INDEX, strlen(STELE_MT_INDEX))) {
		error = stele_error_setc(
			STELE_ENOTFOUND,
			"%s has no referrers API (answered %s)",
			stele_registry__host(r), q.ctype ? q.ctype : "no type");
		goto out;
	}
	if ((error = stele_json_parse(out, body.ptr, body.len,
				      "referrers index")) == 0 &&
	    !json_is_array(json_object_get(*out, "manifests"))) {
		json_decref(*out);
		*out = NULL;
		error = stele_error_setc(STELE_EINVALID,
					 "%s: referrers index has no manifests",
					 stele_registry__host(r));
	}
out:
	stele_registry__req_release(&q);
	stele_buf_release(&body);
	free(path);
	return error;
}

int
stele_registry_blob_get(struct stele_buf *out, struct stele_registry *r,
			const char *repo, const char *digest)
{
	struct stele_registry__req q;
	char *path = path_of(repo, "blobs", digest);
	char got[STELE_DIGEST_STRLEN];
	int error;

	stele_buf_clear(out);
	stele_registry__req_init(&q, "GET", path, repo);
	q.body = out;
	if ((error = stele_registry__do(r, &q)) < 0) {
		if (error == STELE_EINVALID)
			stele_error_prefix(
				error, "%s: blob %s of %s is too large",
				stele_registry__host(r), digest, repo);
		goto out;
	}
	if (q.status != 200) {
		error = stele_registry__fail(r, &q, "GET blob");
		goto out;
	}
	stele_digest_bytes(got, out->ptr ? out->ptr : "", out->len);
	if (strcmp(got, digest))
		error = stele_error_setc(
			STELE_EVERIFY,
			"%s: blob %s of %s does not match its digest (the bytes received hash to %s)",
			stele_registry__host(r), digest, repo, got);
out:
	stele_registry__req_release(&q);
	free(path);
	return error;
}
