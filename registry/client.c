#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/lazy.h"
#include <openssl/crypto.h>

#include "registry/auth.h"
#include "registry/client_priv.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "util/json.h"

#define CA_MAX (8u << 20)
#define BACKOFF_CAP_MS 8000u

/* Per-attempt state shared with curl's callbacks. */
struct xfer {
	struct stele_registry *r;
	struct stele_registry__req *q;
	uint64_t upos; /* upload position */
	int sink_error;
	unsigned retry_after;
};

int
stele_error_curl(int code, const char *errbuf)
{
	return stele_error_set("%s",
			       errbuf && *errbuf
				       ? errbuf
				       : curl_easy_strerror((CURLcode)code));
}

const char *
stele_registry__host(const struct stele_registry *r)
{
	return r->host;
}

const struct stele_registry_opts *
stele_registry__opts(const struct stele_registry *r)
{
	return &r->o;
}

struct stele_registry_stats *
stele_registry__stats(struct stele_registry *r)
{
	return &r->stats;
}

const struct stele_registry_stats *
stele_registry_stats(const struct stele_registry *r)
{
	return &r->stats;
}

const char *
stele_registry_scheme(const struct stele_registry *r)
{
	return strncmp(r->base, "https:", 6) ? "http" : "https";
}

int
stele_registry__cancelled(const struct stele_registry *r)
{
	return r->o.cancel && *r->o.cancel;
}

int
stele_registry__transient(const struct stele_registry *r)
{
	return r->last_transient;
}

int
stele_registry__backoff(struct stele_registry *r, unsigned attempt,
			unsigned retry_after_s)
{
	uint64_t ms = r->o.backoff_ms;
	struct timespec ts;

	while (--attempt > 0 && ms < BACKOFF_CAP_MS)
		ms *= 2;
	if (retry_after_s && (uint64_t)retry_after_s * 1000 > ms)
		ms = (uint64_t)retry_after_s * 1000;
	if (ms > BACKOFF_CAP_MS)
		ms = BACKOFF_CAP_MS;
	/* Sleep in slices so an interrupt is noticed. */
	while (ms > 0) {
		uint64_t slice = ms > 100 ? 100 : ms;

		if (stele_registry__cancelled(r))
			return stele_error_set("interrupted");
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(slice * 1000000);
		nanosleep(&ts, NULL);
		ms -= slice;
	}
	return stele_registry__cancelled(r) ? stele_error_set("interrupted")
					    : 0;
}

void
stele_registry__req_init(struct stele_registry__req *q, const char *method,
			 const char *path, const char *repo)
{
	struct stele_buf err = STELE_BUF_INIT(REG_SMALL_MAX);

	memset(q, 0, sizeof(*q));
	q->method = method;
	q->path = path;
	q->repo = repo;
	q->fd = -1;
	q->err = err;
}

static void
req_clear_answer(struct stele_registry__req *q)
{
	free(q->location);
	free(q->digest);
	free(q->ctype);
	free(q->www_auth);
	free(q->crange);
	free(q->etag);
	q->location = q->digest = q->ctype = q->www_auth = q->crange = NULL;
	q->etag = NULL;
	q->subject = 0;
	q->status = 0;
	stele_buf_clear(&q->err);
}

void
stele_registry__req_release(struct stele_registry__req *q)
{
	req_clear_answer(q);
	stele_buf_release(&q->err);
}

/* --- TLS ------------------------------------------------------------- */

static int
has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n > m && !strcmp(s + n - m, suf);
}

/* containers-certs.d(5): *.crt are CAs, NAME.cert + NAME.key a client pair. */
static int
load_cert_dir(struct stele_registry *r, const char *dir, int required)
{
	curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	const char *sys =
		v->cainfo ? v->cainfo : "/etc/ssl/certs/ca-certificates.crt";
	struct dirent *de;
	DIR *d;
	int error = 0, n = 0;

	if (!(d = opendir(dir))) {
		if (!required && errno == ENOENT)
			return 0;
		return stele_error_errno(
			"cannot read certificate directory '%s'", dir);
	}
	while ((de = readdir(d)) && !error) {
		char *p = stele_path_join(dir, de->d_name);

		if (has_suffix(de->d_name, ".crt")) {
			error = stele_fs_read(&r->ca, p);
			if (!error)
				error = stele_buf_putc(&r->ca, '\n');
			n++;
		} else if (has_suffix(de->d_name, ".cert")) {
			char *key = stele_xasprintf("%.*s.key",
						    (int)(strlen(p) - 5), p);

			if (!stele_fs_exists(key))
				error = stele_error_setc(
					STELE_EINVALID,
					"client certificate '%s' has no key '%s'",
					p, key);
			free(r->client_cert);
			free(r->client_key);
			r->client_cert = stele_xstrdup(p);
			r->client_key = key;
		}
		free(p);
	}
	closedir(d);
	if (!error && n > 0 && stele_fs_exists(sys))
		error = stele_fs_read(&r->ca, sys);
	if (error)
		stele_error_prefix(error, "certificate directory '%s'", dir);
	return error;
}

/* --- callbacks --------------------------------------------------------- */

static char *
header_value(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name), end;

	if (len <= n || strncasecmp(line, name, n) || line[n] != ':')
		return NULL;
	line += n + 1;
	len -= n + 1;
	while (len && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	end = len;
	while (end &&
	       (line[end - 1] == '\r' || line[end - 1] == '\n' ||
		line[end - 1] == ' '))
		end--;
	return stele_xstrndup(line, end);
}

static void
set_header(char **slot, char *v)
{
	if (!v)
		return;
	free(*slot);
	*slot = v;
}

static size_t
on_header(char *buf, size_t size, size_t n, void *p)
{
	struct xfer *x = p;
	struct stele_registry__req *q = x->q;
	size_t len = size * n;
	char *v;

	if (len > 5 && !strncmp(buf, "HTTP/", 5)) {
		/* A new answer (after 100 Continue or a redirect). */
		const char *sp = memchr(buf, ' ', len);

		req_clear_answer(q);
		q->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		x->retry_after = 0;
		return len;
	}
	set_header(&q->location, header_value(buf, len, "Location"));
	set_header(&q->digest, header_value(buf, len, "Docker-Content-Digest"));
	set_header(&q->ctype, header_value(buf, len, "Content-Type"));
	set_header(&q->crange, header_value(buf, len, "Content-Range"));
	set_header(&q->etag, header_value(buf, len, "ETag"));
	if ((v = header_value(buf, len, "WWW-Authenticate"))) {
		/* Keep the first challenge (Bearer before Basic if both). */
		if (!q->www_auth)
			q->www_auth = v;
		else
			free(v);
	}
	if ((v = header_value(buf, len, "OCI-Subject"))) {
		q->subject = 1;
		free(v);
	}
	if ((v = header_value(buf, len, "Retry-After"))) {
		char *end;
		unsigned long s = strtoul(v, &end, 10);

		x->retry_after = *v && !*end && s < 3600 ? (unsigned)s : 0;
		free(v);
	}
	return len;
}

static size_t
on_body(char *buf, size_t size, size_t n, void *p)
{
	struct xfer *x = p;
	struct stele_registry__req *q = x->q;
	size_t len = size * n;
	int error;

	if (q->status < 200 || q->status > 299) {
		/* An error body: keep what fits, for the message. */
		size_t room = q->err.max - q->err.len;

		stele_buf_put(&q->err, buf, len < room ? len : room);
		return len;
	}
	if (q->body)
		error = stele_buf_put(q->body, buf, len);
	else if (q->sink)
		error = q->sink(q->payload, buf, len);
	else
		error = 0;
	if (error < 0) {
		x->sink_error = error;
		return 0; /* aborts the transfer */
	}
	return len;
}

static size_t
on_read(char *buf, size_t size, size_t n, void *p)
{
	struct xfer *x = p;
	struct stele_registry__req *q = x->q;
	uint64_t left = q->body_len - x->upos;
	size_t want = size * n;
	ssize_t got;

	if (want > left)
		want = (size_t)left;
	if (want == 0)
		return 0;
	if (q->fd < 0) {
		memcpy(buf, (const char *)q->data + x->upos, want);
		got = (ssize_t)want;
	} else {
		do {
			got = pread(q->fd, buf, want,
				    (off_t)(q->body_off + x->upos));
		} while (got < 0 && errno == EINTR);
		if (got <= 0) {
			x->sink_error = got < 0
				? stele_error_errno(
					  "cannot read blob to upload")
				: stele_error_set(
					  "blob to upload is shorter than its size");
			return CURL_READFUNC_ABORT;
		}
	}
	x->upos += (uint64_t)got;
	return (size_t)got;
}

/* curl rewinds to send a body again (a connection that died under it). */
static int
on_seek(void *p, curl_off_t offset, int origin)
{
	struct xfer *x = p;

	if (origin != SEEK_SET || offset < 0 ||
	    (uint64_t)offset > x->q->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	x->upos = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static int
on_progress(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
	    curl_off_t ulnow)
{
	struct xfer *x = p;
	struct stele_registry *r = x->r;

	(void)dltotal;
	(void)ultotal;
	if (stele_registry__cancelled(r))
		return 1;
	if (r->o.progress && x->q->progress_what) {
		pthread_mutex_lock(r->progress_lock);
		r->o.progress(r->o.progress_payload, x->q->progress_what,
			      (uint64_t)(x->q->progress_base +
					 (dlnow > ulnow ? dlnow : ulnow)),
			      x->q->progress_total);
		pthread_mutex_unlock(r->progress_lock);
	}
	return 0;
}

/* --- requests ------------------------------------------------------------ */

static int
transient_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SEND_FAIL_REWIND:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM: return 1;
	default: return 0;
	}
}

/* Does the absolute `url` point at the registry itself? */
static int
same_host(const struct stele_registry *r, const char *url)
{
	const char *p = strstr(url, "://");
	size_t n;

	if (!p)
		return 0;
	p += 3;
	n = strcspn(p, "/?#");
	return n == strlen(r->host) && !strncmp(p, r->host, n);
}

static int
setup(struct stele_registry *r, struct stele_registry__req *q, struct xfer *x,
      struct curl_slist **hdrs, char **url)
{
	CURL *c = r->curl;
	const char *tok;
	char *s;
	int error, foreign;

	curl_easy_reset(c);
	r->errbuf[0] = '\0';
	*url = q->flags & REQ_ABS_URL
		? stele_xstrdup(q->path)
		: stele_xasprintf("%s%s", r->base, q->path);
	/* An upload Location on another host gets no registry credentials,
	 * and never a downgrade to plain http. */
	foreign = (q->flags & REQ_ABS_URL) && !q->basic && !same_host(r, *url);
	if ((q->flags & REQ_ABS_URL) && !q->basic && !r->o.insecure &&
	    !strncmp(r->base, "https:", 6) && strncmp(*url, "https:", 6))
		return stele_error_set(
			"%s: refusing to follow the registry to '%.200s' (not https)",
			r->host, *url);
	curl_easy_setopt(c, CURLOPT_URL, *url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION,
			 !strcmp(q->method, "GET") || !strcmp(q->method, "HEAD")
				 ? 1L
				 : 0L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "stele");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	/* Larger buffers: fewer read callbacks and syscalls per blob. */
	curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 2L << 20);
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L << 10);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)r->o.timeout_s);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)r->o.timeout_s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	if (r->o.insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
		/* Nothing is checked: no CA store to parse (milliseconds). */
		curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	} else if (r->ca.len) {
		struct curl_blob blob = { r->ca.ptr, r->ca.len,
					  CURL_BLOB_NOCOPY };

		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (r->client_cert) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, r->client_cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, r->client_key);
	}
	if (!strcmp(q->method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (q->has_body) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, x);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, x);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)q->body_len);
		if (strcmp(q->method, "PUT"))
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	} else if (!strcmp(q->method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	} else if (strcmp(q->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	}
	*hdrs = curl_slist_append(*hdrs, "Expect:");
	if (q->accept) {
		s = stele_xasprintf("Accept: %s", q->accept);
		*hdrs = curl_slist_append(*hdrs, s);
		free(s);
	}
	s = stele_xasprintf("Content-Type: %s",
			    q->content_type ? q->content_type
					    : "application/octet-stream");
	if (q->has_body || q->content_type)
		*hdrs = curl_slist_append(*hdrs, s);
	free(s);
	if (q->range_from) {
		s = stele_xasprintf("Range: bytes=%llu-",
				    (unsigned long long)q->range_from);
		*hdrs = curl_slist_append(*hdrs, s);
		free(s);
	}
	if (q->content_range) {
		s = stele_xasprintf("Content-Range: %s", q->content_range);
		*hdrs = curl_slist_append(*hdrs, s);
		free(s);
	}
	if (q->if_match) {
		s = stele_xasprintf("If-Match: %s", q->if_match);
		*hdrs = curl_slist_append(*hdrs, s);
		free(s);
	}
	if (foreign) {
		/* no credentials */
	} else if ((r->scheme == AUTH_BASIC && !(q->flags & REQ_NO_AUTH)) ||
		   (q->basic && r->creds)) {
		if (r->creds) {
			curl_easy_setopt(c, CURLOPT_HTTPAUTH,
					 (long)CURLAUTH_BASIC);
			curl_easy_setopt(c, CURLOPT_USERNAME, r->creds->user);
			curl_easy_setopt(c, CURLOPT_PASSWORD, r->creds->pass);
		}
	} else if (r->scheme == AUTH_BEARER && !(q->flags & REQ_NO_AUTH)) {
		/* A token fetch resets the handle: perform() sets up again. */
		if ((error = stele_registry__bearer(&tok, r, q)) < 0)
			return error;
		s = stele_xasprintf("Authorization: Bearer %s", tok);
		*hdrs = curl_slist_append(*hdrs, s);
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
	return 0;
}

/* One attempt; the token fetch inside setup() may reuse the handle, so a
 * fresh token makes setup() run a second time. */
static CURLcode
perform(struct stele_registry *r, struct stele_registry__req *q, struct xfer *x,
	int *error)
{
	struct curl_slist *hdrs = NULL;
	char *url = NULL;
	uint64_t tokens = r->stats.tokens;
	CURLcode rc;

	*error = setup(r, q, x, &hdrs, &url);
	if (!*error && r->stats.tokens != tokens) {
		curl_slist_free_all(hdrs);
		free(url);
		hdrs = NULL;
		*error = setup(r, q, x, &hdrs, &url);
	}
	if (*error) {
		curl_slist_free_all(hdrs);
		free(url);
		return CURLE_OK;
	}
	r->stats.requests++;
	rc = curl_easy_perform(r->curl);
	curl_slist_free_all(hdrs);
	free(url);
	return rc;
}

int
stele_registry__do(struct stele_registry *r, struct stele_registry__req *q)
{
	unsigned attempt = 0;
	int round = 0, error;

	for (;;) {
		struct xfer x = { r, q, 0, 0, 0 };
		CURLcode rc;

		if (stele_registry__cancelled(r))
			return stele_error_set("interrupted");
		req_clear_answer(q);
		if (q->body)
			stele_buf_clear(q->body);
		if ((attempt || round) && q->reset &&
		    (error = q->reset(q->payload)) < 0)
			return error;
		rc = perform(r, q, &x, &error);
		if (error)
			return error;
		if (x.sink_error)
			return x.sink_error;
		r->last_transient = 0;
		r->net_failed = rc != CURLE_OK;
		if (rc != CURLE_OK) {
			if (stele_registry__cancelled(r))
				return stele_error_set("interrupted");
			error = stele_error_curl(rc, r->errbuf);
			if (rc == CURLE_PEER_FAILED_VERIFICATION)
				error = stele_error_set(
					"%s (trust its CA with --cert-dir DIR, or --tls-verify=false)",
					r->errbuf[0] ? r->errbuf
						     : curl_easy_strerror(rc));
			stele_error_prefix(
				error, "%s: %s %s", r->host, q->method,
				q->flags & REQ_ABS_URL ? "(upload)" : q->path);
			r->last_transient = transient_curl(rc);
		} else if (q->status == 401 && !(q->flags & REQ_NO_AUTH)) {
			if ((error = stele_registry__on_challenge(r, q,
								  ++round)) < 0)
				return error;
			continue;
		} else if (q->status >= 500 || q->status == 429) {
			r->last_transient = 1;
			error = 1;
		} else {
			return 0;
		}
		if (!r->last_transient || (q->flags & REQ_NO_RETRY) ||
		    attempt >= r->o.retries)
			return error < 0 ? error : 0;
		attempt++;
		r->stats.retries++;
		if ((error = stele_registry__backoff(r, attempt,
						     x.retry_after)) < 0)
			return error;
	}
}

int
stele_registry__fail(struct stele_registry *r,
		     const struct stele_registry__req *q, const char *what)
{
	struct stele_buf m = STELE_BUF_INIT(2048);
	json_t *doc = NULL, *e;
	size_t i;
	int code = q->status == 404 ? STELE_ENOTFOUND : STELE_ERROR;

	if (q->err.len &&
	    stele_json_parse(&doc, q->err.ptr, q->err.len, "error") == 0)
		json_array_foreach(json_object_get(doc, "errors"), i, e) {
			const char *c = stele_json_str(e, "code");
			const char *msg = stele_json_str(e, "message");

			if (i < 3)
				stele_buf_printf(&m, "%s%s%s%s",
						 i ? "; " : ": ", c ? c : "",
						 c && msg ? " " : "",
						 msg ? msg : "");
		}
	json_decref(doc);
	stele_error_setc(code, "%s: %s: HTTP %ld%s", r->host, what, q->status,
			 m.ptr ? m.ptr : "");
	stele_buf_release(&m);
	return code;
}

/* --- open ---------------------------------------------------------------- */

static int
probe(struct stele_registry *r)
{
	struct stele_registry__req q;
	int error;

	stele_registry__req_init(&q, "GET", "/v2/", NULL);
	q.flags = REQ_NO_AUTH;
	error = stele_registry__do(r, &q);
	if (!error && q.status == 401) {
		const char *h = q.www_auth ? q.www_auth : "";

		if (!strncasecmp(h, "Bearer", 6)) {
			r->scheme = AUTH_BEARER;
			r->realm = stele_registry__challenge_param(h, "realm");
			r->service =
				stele_registry__challenge_param(h, "service");
		} else if (!strncasecmp(h, "Basic", 5)) {
			r->scheme = AUTH_BASIC;
		} else {
			error = stele_error_set(
				"%s: /v2/ answers 401 with no challenge I know ('%.100s')",
				r->host, h);
		}
		if (!error)
			error = stele_registry__need_creds(r);
	} else if (!error && q.status != 200) {
		error = stele_registry__fail(
			r, &q, "GET /v2/ (is this an OCI registry?)");
	}
	stele_registry__req_release(&q);
	return error;
}

int
stele_registry_open(struct stele_registry **out, const char *host, int push,
		    const struct stele_registry_opts *o)
{
	struct stele_buf ca = STELE_BUF_INIT(CA_MAX);
	struct stele_registry *r = stele_xcalloc(1, sizeof(*r));
	char *dir = NULL;
	int error;

	*out = NULL;
	r->host = stele_xstrdup(host);
	r->o = *o;
	r->push = push;
	r->ca = ca;
	pthread_mutex_init(&r->progress_mu, NULL);
	r->progress_lock = &r->progress_mu;
	if (!r->o.retries)
		r->o.retries = 4;
	else if (r->o.retries == STELE_REGISTRY_NO_RETRY)
		r->o.retries = 0;
	if (!r->o.backoff_ms)
		r->o.backoff_ms = 250;
	if (!r->o.timeout_s)
		r->o.timeout_s = 30;
	/* Few large PATCHes: each one costs distribution a hash-state save. */
	if (!r->o.chunk_size)
		r->o.chunk_size = 1u << 30;
	r->base = stele_xasprintf("https://%s", host);
	if ((error = stele_init_curl()) < 0)
		goto out;
	if (!(r->curl = curl_easy_init())) {
		error = stele_error_set("cannot initialise libcurl");
		goto out;
	}
	dir = o->cert_dir ? stele_xstrdup(o->cert_dir)
			  : stele_xasprintf("/etc/containers/certs.d/%s", host);
	if ((error = load_cert_dir(r, dir, o->cert_dir != NULL)) < 0)
		goto out;
	error = probe(r);
	if (error < 0 && o->insecure && r->net_failed &&
	    !stele_registry__cancelled(r)) {
		/* --tls-verify=false: a registry that does not speak TLS. */
		free(r->base);
		r->base = stele_xasprintf("http://%s", host);
		error = probe(r);
	}
out:
	free(dir);
	if (error < 0) {
		stele_registry_free(r);
		return error;
	}
	*out = r;
	return 0;
}

static char *
dup_or_null(const char *s)
{
	return s ? stele_xstrdup(s) : NULL;
}

int
stele_registry__dup(struct stele_registry **out, const struct stele_registry *r)
{
	struct stele_registry *d = stele_xcalloc(1, sizeof(*d));
	struct stele_buf ca = STELE_BUF_INIT(CA_MAX);
	const struct stele_registry__token *t;
	struct stele_registry__token **tail = &d->tokens;
	int error;

	*out = NULL;
	d->host = stele_xstrdup(r->host);
	d->base = stele_xstrdup(r->base);
	d->o = r->o;
	d->push = r->push;
	d->ca = ca;
	pthread_mutex_init(&d->progress_mu, NULL);
	d->progress_lock = r->progress_lock;
	d->client_cert = dup_or_null(r->client_cert);
	d->client_key = dup_or_null(r->client_key);
	d->scheme = r->scheme;
	d->realm = dup_or_null(r->realm);
	d->service = dup_or_null(r->service);
	for (t = r->tokens; t; t = t->next) {
		*tail = stele_xcalloc(1, sizeof(**tail));
		(*tail)->scope = stele_xstrdup(t->scope);
		(*tail)->value = stele_xstrdup(t->value);
		(*tail)->expires = t->expires;
		tail = &(*tail)->next;
	}
	if ((r->ca.len &&
	     (error = stele_buf_put(&d->ca, r->ca.ptr, r->ca.len)) < 0))
		goto fail;
	/* Credentials live in sodium memory, a copy per client: read
	 * again, where the first client had them from. */
	if (r->creds_looked_up && (error = stele_registry__need_creds(d)) < 0)
		goto fail;
	if (!(d->curl = curl_easy_init())) {
		error = stele_error_set("cannot initialise libcurl");
		goto fail;
	}
	*out = d;
	return 0;
fail:
	stele_registry_free(d);
	return error;
}

void
stele_registry__stats_add(struct stele_registry_stats *to,
			  const struct stele_registry_stats *from)
{
	to->requests += from->requests;
	to->retries += from->retries;
	to->tokens += from->tokens;
	to->bytes_up += from->bytes_up;
	to->bytes_down += from->bytes_down;
}

void
stele_registry_free(struct stele_registry *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->progress_mu);
	if (r->curl)
		curl_easy_cleanup(r->curl);
	stele_registry__tokens_free(r->tokens);
	stele_creds_free(r->creds);
	stele_buf_release(&r->ca);
	free(r->client_cert);
	free(r->client_key);
	free(r->realm);
	free(r->service);
	free(r->base);
	free(r->host);
	free(r);
}
