#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/lazy.h"
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

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

/*
 * The certificates and CRLs in `len` bytes of PEM, counted as libcurl
 * counts them when it imports a CA blob (a blob with none fails every
 * connection); -1 when the PEM does not read (OpenSSL's error queued).
 */
static int
pem_count(const char *pem, size_t len)
{
	STACK_OF(X509_INFO) * inf;
	BIO *b;
	int i, n = 0;

	if (len == 0)
		return 0;
	/* Only this parse's errors queued: stele_error_ssl() says the first. */
	ERR_clear_error();
	if (len > INT_MAX || !(b = BIO_new_mem_buf(pem, (int)len)))
		return -1;
	inf = PEM_X509_INFO_read_bio(b, NULL, NULL, NULL);
	BIO_free(b);
	if (!inf)
		return -1;
	for (i = 0; i < sk_X509_INFO_num(inf); i++) {
		X509_INFO *x = sk_X509_INFO_value(inf, i);

		n += (x->x509 != NULL) + (x->crl != NULL);
	}
	sk_X509_INFO_pop_free(inf, X509_INFO_free);
	return n;
}

/* Append the CAs of `path` to r->ca: none when it holds none. */
static int
add_ca_file(struct stele_registry *r, const char *path)
{
	size_t start = r->ca.len;
	char *what;
	int error, n = 0;

	if ((error = stele_fs_read(&r->ca, path)) < 0)
		return error;
	/* --tls-verify=false trusts nothing: not parsed, as before. */
	if (r->o.insecure ||
	    (n = pem_count(r->ca.ptr + start, r->ca.len - start)) > 0)
		return stele_buf_putc(&r->ca, '\n');
	r->ca.len = start;
	if (r->ca.ptr)
		r->ca.ptr[start] = '\0';
	if (n == 0)
		return 0;
	what = stele_xasprintf("cannot read CA certificate '%s'", path);
	error = stele_error_ssl(what);
	free(what);
	return error;
}

/*
 * containers-certs.d(5): *.crt are CAs, NAME.cert + NAME.key a client pair.
 * The CAs go to r->ca (a *.crt holding none adds nothing), followed,
 * without r->capath, by the system bundle `bundle` when there are some:
 * a CAINFO_BLOB replaces libcurl's bundle.
 */
static int
load_cert_dir(struct stele_registry *r, const char *dir, int required,
	      const char *bundle)
{
	struct dirent *de;
	DIR *d;
	int error = 0;

	if (!(d = opendir(dir))) {
		if (!required && errno == ENOENT)
			return 0;
		return stele_error_errno(
			"cannot read certificate directory '%s'", dir);
	}
	while ((de = readdir(d)) && !error) {
		char *p = stele_path_join(dir, de->d_name);

		if (has_suffix(de->d_name, ".crt")) {
			error = add_ca_file(r, p);
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
	if (!error && r->ca.len && !r->capath && stele_fs_exists(bundle))
		error = stele_fs_read(&r->ca, bundle);
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

/* Set up handle `c` (error buffer `errbuf`) to send `q`. */
static int
setup(struct stele_registry *r, CURL *c, char *errbuf,
      struct stele_registry__req *q, struct xfer *x, struct curl_slist **hdrs,
      char **url)
{
	const char *tok;
	char *s;
	int error, foreign;

	curl_easy_reset(c);
	errbuf[0] = '\0';
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
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
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
	} else {
		struct curl_blob blob = { r->ca.ptr, r->ca.len,
					  CURL_BLOB_NOCOPY };

		/* The system's CAs from their hashed directory, read when a
		 * chain names one; not libcurl's bundle, which OpenSSL would
		 * parse whole at every connection (~25 ms).  The cert dir's
		 * CAs (a few) from memory, besides: libcurl 7.88 loads the
		 * blob, then the directory (a blob replaces CAINFO). */
		stele_http_trust_ca_dir(c, r->capath);
		if (r->ca.len)
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

/*
 * Run the `n` handles `c` on the client's multi handle (its connections)
 * until each is done: rc[i] gets each one's result.  One handle is
 * curl_easy_perform(); several go at once, each on a connection of the
 * pool that is free, or a new one.
 */
static void
run(struct stele_registry *r, CURL **c, CURLcode *rc, size_t n)
{
	CURLMsg *m;
	size_t i, left = 0;
	int running, queued;

	for (i = 0; i < n; i++) {
		rc[i] = CURLE_OUT_OF_MEMORY;
		if (curl_multi_add_handle(r->multi, c[i]) == CURLM_OK)
			left++;
		else
			c[i] = NULL;
	}
	while (left > 0) {
		if (curl_multi_perform(r->multi, &running) != CURLM_OK)
			break;
		while ((m = curl_multi_info_read(r->multi, &queued)))
			for (i = 0; i < n; i++)
				if (m->msg == CURLMSG_DONE &&
				    c[i] == m->easy_handle) {
					rc[i] = m->data.result;
					left--;
				}
		/* At most a second asleep: curl's timers, the progress
		 * callback (an interrupt) and the stall timeout run. */
		if (left > 0 &&
		    curl_multi_poll(r->multi, NULL, 0, 1000, NULL) != CURLM_OK)
			break;
	}
	for (i = 0; i < n; i++)
		if (c[i])
			curl_multi_remove_handle(r->multi, c[i]);
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
	CURL *c = r->curl;
	CURLcode rc;

	*error = setup(r, c, r->errbuf, q, x, &hdrs, &url);
	if (!*error && r->stats.tokens != tokens) {
		curl_slist_free_all(hdrs);
		free(url);
		hdrs = NULL;
		*error = setup(r, c, r->errbuf, q, x, &hdrs, &url);
	}
	if (*error) {
		curl_slist_free_all(hdrs);
		free(url);
		return CURLE_OK;
	}
	r->stats.requests++;
	run(r, &c, &rc, 1);
	curl_slist_free_all(hdrs);
	free(url);
	return rc;
}

/* --- requests asked at once --------------------------------------------- */

/* An answer asked ahead (stele_registry__prefetch), kept until taken. */
struct stele_registry__kept {
	char *method, *path, *repo, *accept;
	struct stele_registry__req q; /* the answer */
	struct stele_buf body;
	struct stele_registry__kept *next;
};

static char *
dup_or_null(const char *s)
{
	return s ? stele_xstrdup(s) : NULL;
}

static void
kept_free(struct stele_registry__kept *k)
{
	while (k) {
		struct stele_registry__kept *next = k->next;

		stele_registry__req_release(&k->q);
		stele_buf_release(&k->body);
		free(k->method);
		free(k->path);
		free(k->repo);
		free(k->accept);
		free(k);
		k = next;
	}
}

static int
same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* What one attempt got: no answer, an answer, or one that stands (no
 * fault to retry, no challenge to meet, a body that fit). */
enum { GOT_NOTHING, GOT_ANSWER, GOT_FINAL };

static int
got(CURLcode rc, const struct xfer *x)
{
	if (rc != CURLE_OK)
		return GOT_NOTHING;
	return !x->sink_error && x->q->status != 401 && x->q->status < 500 &&
			x->q->status != 429
		? GOT_FINAL
		: GOT_ANSWER;
}

/*
 * Send the `n` requests `qs` at once, one attempt each (setup() as for
 * one; a bearer token is fetched first, by the first that needs it):
 * what each got in res[i] (GOT_*).  `pipewait`: share a multiplexed
 * (HTTP/2) connection when the registry offers one rather than each
 * opening its own (curl then waits to learn whether a connection being
 * made can be shared).  An error only when a request could not be set up.
 */
static int
send_at_once(struct stele_registry *r, struct stele_registry__req **qs,
	     size_t n, int pipewait, int *res)
{
	CURL **c = stele_xcalloc(n, sizeof(*c));
	CURLcode *rc = stele_xcalloc(n, sizeof(*rc));
	struct xfer *x = stele_xcalloc(n, sizeof(*x));
	struct curl_slist **hdrs = stele_xcalloc(n, sizeof(*hdrs));
	char **url = stele_xcalloc(n, sizeof(*url));
	char(*errbuf)[CURL_ERROR_SIZE] = stele_xcalloc(n, sizeof(*errbuf));
	size_t i;
	int error = 0;

	for (i = 0; i < n && !error; i++) {
		x[i].r = r;
		x[i].q = qs[i];
		req_clear_answer(qs[i]);
		if (!(c[i] = curl_easy_init()))
			error = stele_error_set("cannot initialise libcurl");
		else if (!(error = setup(r, c[i], errbuf[i], qs[i], &x[i],
					 &hdrs[i], &url[i])))
			curl_easy_setopt(c[i], CURLOPT_PIPEWAIT,
					 (long)pipewait);
	}
	if (!error) {
		r->stats.requests += n;
		run(r, c, rc, n);
	}
	for (i = 0; i < n; i++) {
		res[i] = error ? GOT_NOTHING : got(rc[i], &x[i]);
		if (c[i])
			curl_easy_cleanup(c[i]);
		curl_slist_free_all(hdrs[i]);
		free(url[i]);
	}
	free(errbuf);
	free(url);
	free(hdrs);
	free(x);
	free(rc);
	free(c);
	return error;
}

/* A question asked ahead, set up to be sent (kept_free frees it). */
static struct stele_registry__kept *
kept_new(const struct stele_registry__ask *a)
{
	struct stele_registry__kept *k = stele_xcalloc(1, sizeof(*k));
	struct stele_buf body = STELE_BUF_INIT(STELE_MANIFEST_MAX);

	assert(!strcmp(a->method, "GET") || !strcmp(a->method, "HEAD"));
	k->method = stele_xstrdup(a->method);
	k->path = stele_xstrdup(a->path);
	k->repo = dup_or_null(a->repo);
	k->accept = dup_or_null(a->accept);
	k->body = body;
	stele_registry__req_init(&k->q, k->method, k->path, k->repo);
	k->q.accept = k->accept;
	k->q.body = &k->body;
	return k;
}

/* Keep the answers that stand (res[i] GOT_FINAL) of the `n` questions
 * `k` sent, free the rest; `keep` 0: free them all. */
static void
kept_add(struct stele_registry *r, struct stele_registry__kept **k,
	 const int *res, size_t n, int keep)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!keep || res[i] != GOT_FINAL) {
			kept_free(k[i]);
			continue;
		}
		k[i]->q.body = NULL;
		k[i]->next = r->kept;
		r->kept = k[i];
	}
}

/* Plain http is HTTP/1.1 (no HTTP/2 without TLS): nothing to share, and
 * waiting to learn that held every request back until the first answer
 * came (strace: one HEAD, then the rest). */
static int
can_share(const struct stele_registry *r)
{
	return !strncmp(r->base, "https:", 6);
}

int
stele_registry__prefetch(struct stele_registry *r,
			 const struct stele_registry__ask *a, size_t n)
{
	struct stele_registry__kept **k = stele_xcalloc(n, sizeof(*k));
	struct stele_registry__req **qs = stele_xcalloc(n, sizeof(*qs));
	int *res = stele_xcalloc(n, sizeof(*res));
	size_t i;
	int error;

	for (i = 0; i < n; i++) {
		k[i] = kept_new(&a[i]);
		qs[i] = &k[i]->q;
	}
	error = send_at_once(r, qs, n, can_share(r), res);
	kept_add(r, k, res, n, 1);
	free(res);
	free(qs);
	free(k);
	return error;
}

/*
 * The kept answer to `q`, taken (once): 1 when q got it, 0 when there is
 * none, or the error its body makes (too large for q's buffer).  Writes
 * drop every kept answer: the registry may have changed since.
 */
static int
take_kept(struct stele_registry *r, struct stele_registry__req *q)
{
	struct stele_registry__kept **pk, *k;
	struct stele_buf swap;
	int error = 1;

	if (strcmp(q->method, "GET") && strcmp(q->method, "HEAD")) {
		kept_free(r->kept);
		r->kept = NULL;
		return 0;
	}
	if (q->sink || q->range_from || q->has_body || q->flags)
		return 0;
	for (pk = &r->kept; (k = *pk); pk = &k->next)
		if (!strcmp(k->method, q->method) &&
		    !strcmp(k->path, q->path) && same_str(k->repo, q->repo) &&
		    same_str(k->accept, q->accept))
			break;
	if (!k)
		return 0;
	*pk = k->next;
	k->next = NULL;
	req_clear_answer(q);
	q->status = k->q.status;
	q->subject = k->q.subject;
#define MOVE(f) \
	q->f = k->q.f; \
	k->q.f = NULL
	MOVE(location);
	MOVE(digest);
	MOVE(ctype);
	MOVE(www_auth);
	MOVE(crange);
	MOVE(etag);
#undef MOVE
	swap = q->err; /* both capped alike */
	q->err = k->q.err;
	k->q.err = swap;
	if (q->body) {
		stele_buf_clear(q->body);
		if (k->body.len &&
		    (error = stele_buf_put(q->body, k->body.ptr, k->body.len)) <
			    0)
			req_clear_answer(q);
	}
	kept_free(k);
	return error < 0 ? error : 1;
}

int
stele_registry__do(struct stele_registry *r, struct stele_registry__req *q)
{
	unsigned attempt = 0;
	int round = 0, error;

	if (stele_registry__cancelled(r))
		return stele_error_set("interrupted");
	if ((error = take_kept(r, q)) != 0)
		return error < 0 ? error : 0;
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

/* The client's connections: every request runs on this multi handle. */
static CURLM *
multi_new(void)
{
	CURLM *m = curl_multi_init();

	if (m)
		curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS,
				  (long)REG_CONNECTIONS_MAX);
	return m;
}

/* What the answer to GET /v2/ says: the challenge, or not a registry. */
static int
probe_answer(struct stele_registry *r, const struct stele_registry__req *q)
{
	int error = 0;

	if (q->status == 401) {
		const char *h = q->www_auth ? q->www_auth : "";

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
	} else if (q->status != 200) {
		error = stele_registry__fail(
			r, q, "GET /v2/ (is this an OCI registry?)");
	}
	return error;
}

static int
probe(struct stele_registry *r)
{
	struct stele_registry__req q;
	int error;

	stele_registry__req_init(&q, "GET", "/v2/", NULL);
	q.flags = REQ_NO_AUTH;
	if ((error = stele_registry__do(r, &q)) == 0)
		error = probe_answer(r, &q);
	stele_registry__req_release(&q);
	return error;
}

/*
 * The probe and the `n` questions `a` at once, over https (one round
 * trip, not two: on one HTTP/2 connection when the registry offers it).
 * The probe's answer is checked first, as probe() checks it; the
 * questions' answers are kept only when it is 200 (no credentials went
 * with any of them: the challenge was not known).  After a 401 the
 * questions are asked again, at once, with the credentials it asks for.
 * 1 when the probe got no answer that stands (no connection, 5xx, 429):
 * the caller probes the usual way, with retries, and asks after.
 */
static int
probe_asking(struct stele_registry *r, const struct stele_registry__ask *a,
	     size_t n)
{
	struct stele_registry__kept **k = stele_xcalloc(n, sizeof(*k));
	struct stele_registry__req **qs = stele_xcalloc(n + 1, sizeof(*qs));
	struct stele_registry__req q;
	int *res = stele_xcalloc(n + 1, sizeof(*res));
	size_t i;
	int error;

	stele_registry__req_init(&q, "GET", "/v2/", NULL);
	q.flags = REQ_NO_AUTH;
	qs[0] = &q;
	for (i = 0; i < n; i++) {
		k[i] = kept_new(&a[i]);
		qs[i + 1] = &k[i]->q;
	}
	error = send_at_once(r, qs, n + 1, 1, res);
	if (!error &&
	    (res[0] == GOT_NOTHING ||
	     (res[0] == GOT_ANSWER && q.status != 401)))
		error = 1;
	else if (!error)
		error = probe_answer(r, &q);
	kept_add(r, k, res + 1, n, !error && q.status == 200);
	if (!error && q.status == 401)
		error = stele_registry__prefetch(r, a, n);
	stele_registry__req_release(&q);
	free(res);
	free(qs);
	free(k);
	return error;
}

/*
 * --tls-verify=false: GET /v2/ over https and plain http at once, one
 * attempt each (no credentials go with either): https when it answers,
 * http when https got no HTTP answer, as probing one after the other
 * decides.  1 when that takes retries (no answer that stands): the
 * caller probes one after the other.
 */
static int
probe_both(struct stele_registry *r)
{
	/* Plain http first: its request is out while the TLS handshake
	 * is being made. */
	enum { HTTP, HTTPS };
	struct stele_registry__req q[2], *qs[2] = { &q[HTTP], &q[HTTPS] };
	char *url[2];
	int res[2], i, error;

	url[HTTP] = stele_xasprintf("http://%s/v2/", r->host);
	url[HTTPS] = stele_xasprintf("https://%s/v2/", r->host);
	for (i = 0; i < 2; i++) {
		stele_registry__req_init(&q[i], "GET", url[i], NULL);
		q[i].flags = REQ_ABS_URL | REQ_NO_AUTH;
	}
	error = send_at_once(r, qs, 2, 0, res);
	if (!error && res[HTTPS] == GOT_NOTHING && res[HTTP] == GOT_FINAL) {
		free(r->base);
		r->base = stele_xasprintf("http://%s", r->host);
		error = probe_answer(r, &q[HTTP]);
	} else if (!error) {
		error = res[HTTPS] == GOT_FINAL ? probe_answer(r, &q[HTTPS])
						: 1;
	}
	for (i = 0; i < 2; i++) {
		stele_registry__req_release(&q[i]);
		free(url[i]);
	}
	return error;
}

static int
open_asking(struct stele_registry **out, const char *host, int push,
	    const struct stele_registry_opts *o,
	    const struct stele_registry__ask *a, size_t n,
	    const struct stele_http_ca *sys)
{
	struct stele_buf ca = STELE_BUF_INIT(CA_MAX);
	struct stele_registry *r = stele_xcalloc(1, sizeof(*r));
	struct stele_http_ca own;
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
	if (!(r->curl = curl_easy_init()) || !(r->multi = multi_new())) {
		error = stele_error_set("cannot initialise libcurl");
		goto out;
	}
	if (!sys) {
		stele_http_system_ca(&own);
		sys = &own;
	}
	r->capath = dup_or_null(sys->capath);
	dir = o->cert_dir ? stele_xstrdup(o->cert_dir)
			  : stele_xasprintf("/etc/containers/certs.d/%s", host);
	if ((error = load_cert_dir(r, dir, o->cert_dir != NULL, sys->bundle)) <
	    0)
		goto out;
	/* Without credentials for it, the registry is expected to answer
	 * anonymously: the questions go with the probe.  With some, it
	 * will challenge them all: the probe learns how first.  (An auth
	 * file that does not read is said when a challenge needs it, as
	 * before.)  --tls-verify=false probes first: asked over https, the
	 * questions would each make a TLS attempt that a plain http
	 * registry fails. */
	if (!o->insecure && n > 0) {
		if (stele_registry__need_creds(r) < 0) {
			stele_error_clear();
			r->creds_looked_up = 0;
		} else if (!r->creds && (error = probe_asking(r, a, n)) != 1) {
			goto out;
		}
	}
	if (!o->insecure || (error = probe_both(r)) == 1)
		error = probe(r);
	if (error < 0 && o->insecure && r->net_failed &&
	    !stele_registry__cancelled(r)) {
		/* --tls-verify=false: a registry that does not speak TLS. */
		free(r->base);
		r->base = stele_xasprintf("http://%s", host);
		error = probe(r);
	}
	if (!error && n > 0)
		error = stele_registry__prefetch(r, a, n);
out:
	free(dir);
	if (error < 0) {
		stele_registry_free(r);
		return error;
	}
	*out = r;
	return 0;
}

int
stele_registry_open(struct stele_registry **out, const char *host, int push,
		    const struct stele_registry_opts *o)
{
	return open_asking(out, host, push, o, NULL, 0, NULL);
}

int
stele_registry__open_ca(struct stele_registry **out, const char *host, int push,
			const struct stele_registry_opts *o,
			const struct stele_http_ca *sys)
{
	return open_asking(out, host, push, o, NULL, 0, sys);
}

int
stele_registry__open_asking(struct stele_registry **out, const char *host,
			    int push, const struct stele_registry_opts *o,
			    const struct stele_registry__ask *a, size_t n)
{
	return open_asking(out, host, push, o, a, n, NULL);
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
	d->capath = dup_or_null(r->capath);
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
	if (!(d->curl = curl_easy_init()) || !(d->multi = multi_new())) {
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
	kept_free(r->kept);
	if (r->curl)
		curl_easy_cleanup(r->curl);
	if (r->multi)
		curl_multi_cleanup(r->multi);
	stele_registry__tokens_free(r->tokens);
	stele_creds_free(r->creds);
	stele_buf_release(&r->ca);
	free(r->capath);
	free(r->client_cert);
	free(r->client_key);
	free(r->realm);
	free(r->service);
	free(r->base);
	free(r->host);
	free(r);
}
