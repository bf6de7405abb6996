#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "deploy/serve.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/init.h"
#include "util/json.h"
#include "util/lazy.h"

struct stele_serve {
	struct MHD_Daemon *d;
	struct stele_admission *adm;
};

struct request {
	struct stele_buf body;
	int too_big;
};

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned code, const char *type, char *data,
      size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	/* Takes `data` (malloc'd). */
	r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
reply_text(struct MHD_Connection *conn, unsigned code, const char *msg)
{
	char *s = stele_xasprintf("%s\n", msg);

	return reply(conn, code, "text/plain; charset=utf-8", s, strlen(s));
}

/*
 * POST /validate: the AdmissionReview response (200); POST /flagger
 * (`flagger`): one line of JSON, 200 to go on, 403 (with the reasons) to
 * stop.
 */
static enum MHD_Result
answer(struct stele_serve *s, struct MHD_Connection *conn, struct request *rq,
       int flagger)
{
	struct stele_buf out = STELE_BUF_INIT(16u << 20);
	json_t *resp = NULL;
	size_t len;
	int error;
	unsigned status = MHD_HTTP_OK;

	if (rq->too_big)
		return reply_text(conn, MHD_HTTP_CONTENT_TOO_LARGE,
				  "the request is too large");
	error = (flagger ? stele_admission_flagger : stele_admission_review)(
		&resp, s->adm, rq->body.ptr ? rq->body.ptr : "", rq->body.len);
	if (error == STELE_EINVALID)
		return reply_text(conn, MHD_HTTP_BAD_REQUEST,
				  stele_error_last());
	if (error < 0 || stele_json_emit(&out, resp) < 0 ||
	    (flagger && stele_buf_putc(&out, '\n') < 0)) {
		json_decref(resp);
		stele_buf_release(&out);
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  stele_error_last());
	}
	if (flagger && !json_is_true(json_object_get(resp, "allowed")))
		status = MHD_HTTP_FORBIDDEN;
	json_decref(resp);
	len = out.len;
	return reply(conn, status, "application/json", stele_buf_detach(&out),
		     len);
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url,
       const char *method, const char *version, const char *upload,
       size_t *upload_size, void **con_cls)
{
	struct stele_serve *s = cls;
	struct request *rq = *con_cls;

	(void)version;
	if (!strcmp(url, "/healthz")) {
		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					  "GET /healthz");
		return reply_text(conn, MHD_HTTP_OK, "ok");
	}
	if (strcmp(url, "/validate") && strcmp(url, "/flagger"))
		return reply_text(conn, MHD_HTTP_NOT_FOUND,
				  "not found: POST /validate or /flagger");
	if (strcmp(method, "POST"))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				  !strcmp(url, "/flagger") ? "POST /flagger"
							   : "POST /validate");
	if (!rq) {
		/* The first call is for the headers only. */
		rq = stele_xcalloc(1, sizeof(*rq));
		rq->body.max = STELE_ADMISSION_MAX_BODY;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!rq->too_big &&
		    stele_buf_put(&rq->body, upload, *upload_size) < 0)
			rq->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	return answer(s, conn, rq, !strcmp(url, "/flagger"));
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	  enum MHD_RequestTerminationCode why)
{
	struct request *rq = *con_cls;

	(void)cls;
	(void)conn;
	(void)why;
	if (!rq)
		return;
	stele_buf_release(&rq->body);
	free(rq);
	*con_cls = NULL;
}

int
stele_serve_start(struct stele_serve **out, struct stele_admission *adm,
		  const struct stele_serve_opts *o)
{
	struct stele_serve *s;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr *sa = (struct sockaddr *)&sin;
	unsigned int flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD |
		MHD_USE_EPOLL_LINUX_ONLY;
	int error;

	*out = NULL;
	if ((error = stele_init_mhd()) < 0)
		return error;
	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)o->port);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons((uint16_t)o->port);
	if (o->port && o->port <= 65535 &&
	    inet_pton(AF_INET6, o->address, &sin6.sin6_addr) == 1) {
		/* An IPv6 socket (IPv6 only: without MHD_USE_DUAL_STACK,
		 * libmicrohttpd sets IPV6_V6ONLY). */
		sa = (struct sockaddr *)&sin6;
		flags |= MHD_USE_IPv6;
	} else if (!o->port || o->port > 65535 ||
		   inet_pton(AF_INET, o->address, &sin.sin_addr) != 1) {
		return stele_error_setc(
			STELE_EINVALID,
			"cannot listen on '%s' port %u: give an IPv4 or IPv6 address and a port",
			o->address, o->port);
	}
	s = stele_xcalloc(1, sizeof(*s));
	s->adm = adm;
	s->d = MHD_start_daemon(
		flags, (uint16_t)o->port, NULL, NULL, handle, s,
		MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_HTTPS_MEM_CERT,
		o->cert_pem, MHD_OPTION_HTTPS_MEM_KEY, o->key_pem,
		MHD_OPTION_THREAD_POOL_SIZE,
		(unsigned int)(o->threads ? o->threads : 2),
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
		MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
	if (!s->d) {
		free(s);
		return stele_error_set(
			"cannot serve on %s port %u (the port is taken, "
			"or the certificate or key is refused)",
			o->address, o->port);
	}
	*out = s;
	return 0;
}

void
stele_serve_stop(struct stele_serve *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->d);
	free(s);
}
