#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "sbom/sbom.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

/*
 * SPDX 2.3 and CycloneDX 1.6 JSON, built as jansson values and written by
 * util/json's canonical emitter (sorted keys, compact): every value comes
 * from the inventory, which is sorted, so the same image gives the same
 * bytes.  What SPDX has no field for (a component's layer, recipe step and
 * source commit) goes into an annotation (SPDX) or properties named
 * "stele:…" (CycloneDX).
 */

#define NS_BASE "https://stele.dev/sbom/"
/* RFC 4122 appendix C: the URL namespace. */
static const unsigned char ns_url[16] = { 0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad,
					  0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0,
					  0x4f, 0xd4, 0x30, 0xc8 };

int
stele_sbom_format_parse(const char *s)
{
	if (!strcmp(s, "spdx") || !strcmp(s, "spdx-json") ||
	    !strcmp(s, "spdxjson"))
		return STELE_SBOM_SPDX;
	if (!strcmp(s, "cyclonedx") || !strcmp(s, "cyclonedx-json"))
		return STELE_SBOM_CYCLONEDX;
	return -1;
}

const char *
stele_sbom_predicate(enum stele_sbom_format fmt)
{
	return fmt == STELE_SBOM_SPDX ? "https://spdx.dev/Document"
				      : "https://cyclonedx.org/bom";
}

/* A name-based (version 5) UUID of the image digest, RFC 4122 4.3. */
static void
uuid5(char out[37], const char *name)
{
	unsigned char h[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	memset(h, 0, sizeof(h));
	if (c && EVP_DigestInit_ex(c, EVP_sha1(), NULL) == 1 &&
	    EVP_DigestUpdate(c, ns_url, sizeof(ns_url)) == 1 &&
	    EVP_DigestUpdate(c, name, strlen(name)) == 1)
		EVP_DigestFinal_ex(c, h, NULL);
	EVP_MD_CTX_free(c);
	h[6] = (unsigned char)((h[6] & 0x0f) | 0x50);
	h[8] = (unsigned char)((h[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9],
		 h[10], h[11], h[12], h[13], h[14], h[15]);
}

/* "Dockerfile:12 RUN apt-get install …", or NULL. */
static char *
step_text(const struct stele_sbom_layer *l)
{
	if (!l->instruction)
		return NULL;
	if (l->recipe)
		return stele_xasprintf("%s:%d %s", l->recipe, l->line,
				       l->instruction);
	return stele_xstrdup(l->instruction);
}

static const struct stele_sbom_layer *
layer_of(const struct stele_sbom *s, size_t i)
{
	return i < s->nlayers ? &s->layers[i] : NULL;
}

/* The "why is it here" text of SPDX annotations and comments. */
static char *
origin_text(const struct stele_sbom *s, size_t layer)
{
	const struct stele_sbom_layer *l = layer_of(s, layer);
	struct stele_buf b = STELE_BUF_INIT(1 << 20);
	char *step;

	if (!l)
		return stele_xstrdup("");
	stele_buf_printf(&b, "layer %zu (diffID %s)", layer + 1, l->diff_id);
	if ((step = step_text(l)))
		stele_buf_printf(&b, "; step %s", step);
	if (l->stage)
		stele_buf_printf(&b, "; stage %s", l->stage);
	if (l->base)
		stele_buf_puts(&b, "; inherited from the base image");
	if (l->commit)
		stele_buf_printf(&b, "; source commit %s", l->commit);
	free(step);
	return stele_buf_detach(&b);
}

/*
 * A string from the image as JSON: file names and database fields need
 * not be UTF-8; bytes that do not decode are written as %XX (and so is
 * '%' then), so the document stays valid and says what was there.
 */
static json_t *
jstr(const char *s)
{
	struct stele_buf b = STELE_BUF_INIT(3 * STELE_PATH_MAX + 16);
	json_t *v = json_string(s);

	if (v)
		return v;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x80 || c == '%')
			stele_buf_printf(&b, "%%%02X", c);
		else
			stele_buf_putc(&b, (char)c);
	}
	v = json_string(stele_buf_cstr(&b));
	stele_buf_release(&b);
	return v;
}

/*
 * A homepage from the package database is written only when it is an
 * http(s) URL that both formats accept: CycloneDX's url is an RFC 3987
 * IRI reference (its JSON schema says so), SPDX's homepage a URL.  So no
 * space, control (C0, DEL, C1 as UTF-8 C2 80-9F), character RFC 3986
 * leaves out, '[' or ']' (legal only around an IPv6 host), '%' without
 * two hex digits, or second '#'.  Bytes from 0x80 are IRI characters;
 * the caller's json_string() refuses them when they are not UTF-8.
 */
static int
is_http(const char *u)
{
	const unsigned char *p;
	int hashes = 0;

	if (!u || (strncmp(u, "https://", 8) && strncmp(u, "http://", 7)))
		return 0;
	for (p = (const unsigned char *)u; *p; p++) {
		if (*p <= 0x20 || *p == 0x7f || strchr("\"<>\\^`{|}[]", *p) ||
		    (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			return 0;
		if (*p == '%' && !(isxdigit(p[1]) && isxdigit(p[2])))
			return 0;
		if (*p == '#' && hashes++)
			return 0;
	}
	return 1;
}

/* ---- SPDX 2.3 ---- */

static char *
spdx_id(const char *kind, const char *name, size_t i)
{
	char *id = stele_xasprintf("SPDXRef-%s-%s-%zu", kind, name, i), *p;

	for (p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			*p = '-';
	return id;
}

static json_t *
spdx_annotation(const char *date, const char *tool, const char *comment)
{
	return json_pack("{s:s,s:s,s:s,s:s}", "annotationDate", date,
			 "annotationType", "OTHER", "annotator", tool,
			 "comment", comment);
}

static json_t *
spdx_rel(const char *a, const char *type, const char *b)
{
	return json_pack("{s:s,s:s,s:s}", "spdxElementId", a,
			 "relationshipType", type, "relatedSpdxElement", b);
}

static json_t *
spdx_doc(const struct stele_sbom *s, const char *tool)
{
	json_t *doc, *pkgs = json_array(), *files = json_array(),
		     *rels = json_array();
	char *creator = stele_xasprintf("Tool: %s", tool), *sp;
	size_t i;

	/* SPDX's form: "Tool: name-version". */
	while ((sp = strchr(creator + 6, ' ')))
		*sp = '-';

	json_array_append_new(
		rels,
		spdx_rel("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image"));
	/*
	 * The image CONTAINS the files listed below, so its filesAnalyzed is
	 * true: SPDX 2.3 (7.8) says a package with filesAnalyzed false "shall
	 * not contain any files".  No packageVerificationCode (0..1 in 2.3):
	 * only unowned and modified files are listed, and a code over them
	 * would claim to identify the image's whole content.
	 */
	json_array_append_new(
		pkgs,
		json_pack("{s:s,s:s,s:s,s:s,s:b,s:s,s:[{s:s,s:s}],s:s,s:s,s:s}",
			  "SPDXID", "SPDXRef-Image", "name", s->image,
			  "versionInfo", s->image, "downloadLocation",
			  "NOASSERTION", "filesAnalyzed", 1,
			  "primaryPackagePurpose", "CONTAINER", "checksums",
			  "algorithm", "SHA256", "checksumValue", s->image + 7,
			  "licenseConcluded", "NOASSERTION", "licenseDeclared",
			  "NOASSERTION", "copyrightText", "NOASSERTION"));
	for (i = 0; i < s->npkgs; i++) {
		const struct stele_sbom_pkg *p = &s->pkgs[i];
		char *id = spdx_id("Package", p->name, i),
		     *why = origin_text(s, p->layer);
		char *note = stele_xasprintf("%s; database /%s; %zu files", why,
					     p->db, p->nfiles);
		char *src = stele_xasprintf(
			"built from %s source package %s %s%s%s", p->type,
			p->source, p->source_version,
			p->commit ? " at commit " : "",
			p->commit ? p->commit : "");
		json_t *o = json_pack(
			"{s:s,s:s,s:s,s:s,s:b,s:s,s:s,s:s,s:s,s:[{s:s,s:s,s:s}],s:[o]}",
			"SPDXID", id, "name", p->name, "versionInfo",
			p->version, "downloadLocation", "NOASSERTION",
			"filesAnalyzed", 0, "licenseConcluded", "NOASSERTION",
			"licenseDeclared", "NOASSERTION", "copyrightText",
			"NOASSERTION", "sourceInfo", src, "externalRefs",
			"referenceCategory", "PACKAGE-MANAGER", "referenceType",
			"purl", "referenceLocator", p->purl, "annotations",
			spdx_annotation(s->created, creator, note));

		if (is_http(p->url))
			json_object_set_new(o, "homepage", json_string(p->url));
		if (p->license) {
			char *c = stele_xasprintf(
				"license as the package database "
				"states it: %s",
				p->license);

			json_object_set_new(o, "comment", jstr(c));
			free(c);
		}
		json_array_append_new(pkgs, o);
		json_array_append_new(
			rels, spdx_rel("SPDXRef-Image", "CONTAINS", id));
		free(src);
		free(note);
		free(why);
		free(id);
	}
	for (i = 0; i < s->nfiles; i++) {
		const struct stele_sbom_file *f = &s->files[i];
		char *id = spdx_id("File", "", i),
		     *why = origin_text(s, f->layer);
		char *note = f->finding == STELE_SBOM_UNOWNED
			? stele_xasprintf("owned by no package; %s", why)
			: stele_xasprintf(
				  "modified: its content disagrees with the "
				  "package database of %s (%s); %s",
				  f->package, f->expected, why);
		char *name = stele_xasprintf("./%s", f->path);

		json_array_append_new(
			files,
			json_pack(
				"{s:s,s:o,s:[{s:s,s:s},{s:s,s:s}],s:s,s:s,s:o}",
				"SPDXID", id, "fileName", jstr(name),
				"checksums", "algorithm", "SHA1",
				"checksumValue", f->sha1, "algorithm", "SHA256",
				"checksumValue", f->sha256, "licenseConcluded",
				"NOASSERTION", "copyrightText", "NOASSERTION",
				"comment", jstr(note)));
		json_array_append_new(
			rels, spdx_rel("SPDXRef-Image", "CONTAINS", id));
		free(name);
		free(note);
		free(why);
		free(id);
	}
	doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:[s]},s:o,s:o,s:o}",
			"spdxVersion", "SPDX-2.3", "dataLicense", "CC0-1.0",
			"SPDXID", "SPDXRef-DOCUMENT", "name", s->image,
			"documentNamespace", "", "creationInfo", "created",
			s->created, "creators", creator, "packages", pkgs,
			"files", files, "relationships", rels);
	json_object_set_new(doc, "documentNamespace",
			    json_sprintf(NS_BASE "spdx/%s", s->image + 7));
	free(creator);
	return doc;
}

/* ---- CycloneDX 1.6 ---- */

/*
 * A file's bom-ref, "file:/PATH" and "#modified" for a modified file, is
 * unique for every path (CycloneDX wants bom-refs unique): '%' and '#' in
 * PATH are written %25 and %23, and so is each byte from 0x80 (as %XX)
 * when PATH is not UTF-8.  jstr() alone would write "a%FF" both for the
 * name a<0xff> and for the name a%FF, and "x#modified" both for that name
 * and for x modified.
 */
static json_t *
file_ref(const char *path, int modified)
{
	struct stele_buf b = STELE_BUF_INIT(3 * STELE_PATH_MAX + 32);
	json_t *utf8 = json_string(path), *v;
	const unsigned char *p;

	stele_buf_puts(&b, "file:/");
	for (p = (const unsigned char *)path; *p; p++) {
		if (*p == '%' || *p == '#' || (*p >= 0x80 && !utf8))
			stele_buf_printf(&b, "%%%02X", *p);
		else
			stele_buf_putc(&b, (char)*p);
	}
	if (modified)
		stele_buf_puts(&b, "#modified");
	v = json_string(stele_buf_cstr(&b));
	json_decref(utf8);
	stele_buf_release(&b);
	return v;
}

static void
prop(json_t *props, const char *name, const char *value)
{
	if (value && *value)
		json_array_append_new(props,
				      json_pack("{s:s,s:o}", "name", name,
						"value", jstr(value)));
}

static void
layer_props(json_t *props, const struct stele_sbom *s, size_t layer)
{
	const struct stele_sbom_layer *l = layer_of(s, layer);
	char *step;

	if (!l)
		return;
	prop(props, "stele:layer:diffID", l->diff_id);
	prop(props, "stele:layer:digest", l->digest);
	if ((step = step_text(l)))
		prop(props, "stele:step", step);
	free(step);
	prop(props, "stele:stage", l->stage);
	if (l->base)
		prop(props, "stele:layer:base", "true");
	prop(props, "stele:source:commit", l->commit);
}

static json_t *
cdx_doc(const struct stele_sbom *s, const char *tool)
{
	json_t *comps = json_array(), *deps = json_array(), *doc, *meta;
	char uuid[37], *name = stele_xasprintf(NS_BASE "%s", s->image), *ver;
	size_t i;

	uuid5(uuid, name);
	free(name);
	/* "stele 1.2" -> name stele, version 1.2 */
	ver = strchr(tool, ' ') ? stele_xstrdup(strchr(tool, ' ') + 1)
				: stele_xstrdup(tool);
	for (i = 0; i < s->npkgs; i++) {
		const struct stele_sbom_pkg *p = &s->pkgs[i];
		json_t *props = json_array(), *c;
		char *src =
			stele_xasprintf("%s %s", p->source, p->source_version);
		char files[32];

		layer_props(props, s, p->layer);
		snprintf(files, sizeof(files), "%zu", p->nfiles);
		prop(props, "stele:package:database", p->db);
		prop(props, "stele:package:files", files);
		prop(props, "stele:package:source", src);
		prop(props, "stele:package:type", p->type);
		prop(props, "stele:package:commit", p->commit);
		free(src);
		c = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "type", "library",
			      "bom-ref", p->purl, "name", p->name, "version",
			      p->version, "purl", p->purl, "properties", props);
		if (p->license)
			json_object_set_new(c, "licenses",
					    json_pack("[{s:{s:o}}]", "license",
						      "name",
						      jstr(p->license)));
		if (is_http(p->url))
			json_object_set_new(c, "externalReferences",
					    json_pack("[{s:s,s:s}]", "type",
						      "website", "url",
						      p->url));
		if (p->maintainer)
			json_object_set_new(c, "publisher",
					    jstr(p->maintainer));
		json_array_append_new(comps, c);
		json_array_append_new(deps, json_string(p->purl));
	}
	for (i = 0; i < s->nfiles; i++) {
		const struct stele_sbom_file *f = &s->files[i];
		json_t *props = json_array(), *c;
		json_t *ref =
			file_ref(f->path, f->finding == STELE_SBOM_MODIFIED);
		char *path = stele_xasprintf("/%s", f->path);

		prop(props, "stele:finding",
		     f->finding == STELE_SBOM_UNOWNED ? "unowned" : "modified");
		layer_props(props, s, f->layer);
		prop(props, "stele:package", f->package);
		prop(props, "stele:expected", f->expected);
		c = json_pack("{s:s,s:O,s:o,s:[{s:s,s:s},{s:s,s:s}],s:o}",
			      "type", "file", "bom-ref", ref, "name",
			      jstr(path), "hashes", "alg", "SHA-1", "content",
			      f->sha1, "alg", "SHA-256", "content", f->sha256,
			      "properties", props);
		json_array_append_new(comps, c);
		json_array_append_new(deps, ref);
		free(path);
	}
	meta = json_pack("{s:s,s:[{s:s}],s:{s:[{s:s,s:s,s:s}]},"
			 "s:{s:s,s:s,s:s,s:s,s:[{s:s,s:s}]}}",
			 "timestamp", s->created, "lifecycles", "phase",
			 "post-build", "tools", "components", "type",
			 "application", "name", "stele", "version", ver,
			 "component", "type", "container", "bom-ref", "image",
			 "name", s->image, "version", s->image, "hashes", "alg",
			 "SHA-256", "content", s->image + 7);
	if (s->distro_id) {
		json_t *props = json_array();

		prop(props, "stele:distro:id", s->distro_id);
		prop(props, "stele:distro:version", s->distro_version);
		json_object_set_new(json_object_get(meta, "component"),
				    "properties", props);
	}
	doc = json_pack("{s:s,s:s,s:i,s:s,s:o,s:o,s:[{s:s,s:o}]}", "bomFormat",
			"CycloneDX", "specVersion", "1.6", "version", 1,
			"serialNumber", "", "metadata", meta, "components",
			comps, "dependencies", "ref", "image", "dependsOn",
			deps);
	json_object_set_new(doc, "serialNumber",
			    json_sprintf("urn:uuid:%s", uuid));
	free(ver);
	return doc;
}

int
stele_sbom_statement(struct stele_buf *out, const struct stele_sbom *s,
		     enum stele_sbom_format fmt, const char *tool,
		     const char *name)
{
	json_t *doc =
		fmt == STELE_SBOM_SPDX ? spdx_doc(s, tool) : cdx_doc(s, tool);
	json_t *st;
	int error;

	if (!doc)
		return stele_error_set(
			"cannot build the SBOM document (out of memory)");
	st = json_pack("{s:s,s:[{s:s,s:{s:s}}],s:s,s:o}", "_type",
		       "https://in-toto.io/Statement/v1", "subject", "name",
		       name && *name ? name : s->image, "digest", "sha256",
		       s->image + 7, "predicateType", stele_sbom_predicate(fmt),
		       "predicate", doc);
	if (!st)
		return stele_error_setc(
			STELE_EINVALID,
			"cannot build the SBOM statement (a subject name that is not UTF-8?)");
	error = stele_json_emit(out, st);
	json_decref(st);
	return error;
}

int
stele_sbom_emit(struct stele_buf *out, const struct stele_sbom *s,
		enum stele_sbom_format fmt, const char *tool)
{
	json_t *doc =
		fmt == STELE_SBOM_SPDX ? spdx_doc(s, tool) : cdx_doc(s, tool);
	int error;

	if (!doc)
		return stele_error_set(
			"cannot build the SBOM document (out of memory "
			"or a value that is not UTF-8)");
	error = stele_json_emit(out, doc);
	if (!error)
		error = stele_buf_putc(out, '\n');
	json_decref(doc);
	return error;
}
