#include <stdlib.h>
#include <string.h>

#include "sbom/tree.h"
#include "util/fs.h"
#include "util/hash.h"

/*
 * An open-addressing hash table of nodes by path (FNV-1a, linear probing,
 * tombstones for deletions), grown at 1/2 load.
 */

#define LINKS_MAX 40

static struct stele_sbom__node tombstone;

void
stele_sbom__tree_init(struct stele_sbom__tree *t)
{
	memset(t, 0, sizeof(*t));
}

void
stele_sbom__node_free(struct stele_sbom__node *n)
{
	if (!n || n == &tombstone)
		return;
	free(n->path);
	free(n->link);
	if (n->content) {
		stele_buf_release(n->content);
		free(n->content);
	}
	free(n);
}

void
stele_sbom__tree_release(struct stele_sbom__tree *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		stele_sbom__node_free(t->slots[i]);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static size_t
find_slot(const struct stele_sbom__tree *t, const char *path, int *found)
{
	size_t mask = t->cap - 1, i = (size_t)stele_hash_str(path) & mask,
	       free_at = SIZE_MAX;

	*found = 0;
	for (;; i = (i + 1) & mask) {
		struct stele_sbom__node *n = t->slots[i];

		if (!n)
			return free_at != SIZE_MAX ? free_at : i;
		if (n == &tombstone) {
			if (free_at == SIZE_MAX)
				free_at = i;
		} else if (!strcmp(n->path, path)) {
			*found = 1;
			return i;
		}
	}
}

static void
grow(struct stele_sbom__tree *t)
{
	struct stele_sbom__node **old = t->slots;
	size_t oldcap = t->cap, i, j;
	int found;

	t->cap = oldcap ? oldcap * 2 : 1024;
	while (t->n * 2 >= t->cap)
		t->cap *= 2;
	t->slots = stele_xcalloc(t->cap, sizeof(*t->slots));
	t->used = t->n;
	for (i = 0; i < oldcap; i++)
		if (old[i] && old[i] != &tombstone) {
			j = find_slot(t, old[i]->path, &found);
			t->slots[j] = old[i];
		}
	free(old);
}

struct stele_sbom__node *
stele_sbom__tree_get(const struct stele_sbom__tree *t, const char *path)
{
	size_t i;
	int found;

	if (!t->cap)
		return NULL;
	i = find_slot(t, path, &found);
	return found ? t->slots[i] : NULL;
}

void
stele_sbom__tree_put(struct stele_sbom__tree *t, struct stele_sbom__node *n)
{
	size_t i;
	int found;

	if ((t->used + 1) * 2 >= t->cap)
		grow(t);
	i = find_slot(t, n->path, &found);
	if (found) {
		if (t->slots[i]->content)
			t->captured -= t->slots[i]->content->len;
		stele_sbom__node_free(t->slots[i]);
	} else {
		if (!t->slots[i])
			t->used++;
		t->n++;
	}
	t->slots[i] = n;
}

void
stele_sbom__tree_del(struct stele_sbom__tree *t, const char *path)
{
	size_t i;
	int found;

	if (!t->cap)
		return;
	i = find_slot(t, path, &found);
	if (!found)
		return;
	if (t->slots[i]->content)
		t->captured -= t->slots[i]->content->len;
	stele_sbom__node_free(t->slots[i]);
	t->slots[i] = &tombstone;
	t->n--;
}

struct stele_sbom__node *
stele_sbom__tree_next(const struct stele_sbom__tree *t, size_t *i)
{
	while (*i < t->cap) {
		struct stele_sbom__node *n = t->slots[(*i)++];

		if (n && n != &tombstone)
			return n;
	}
	return NULL;
}

/*
 * Follow symlinks component by component, as the kernel would in a
 * container whose root is the tree: an absolute target restarts at the
 * root, ".." never goes above it.
 */
struct stele_sbom__node *
stele_sbom__resolve(const struct stele_sbom__tree *t, const char *path,
		    int follow_last, int *via)
{
	struct stele_buf cur = STELE_BUF_INIT(STELE_PATH_MAX * 2);
	char *rest = stele_xstrdup(path), *p, *seg, *tmp;
	struct stele_sbom__node *n = NULL;
	int links = 0, last;

	if (via)
		*via = 0;
	p = rest;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		seg = p;
		while (*p && *p != '/')
			p++;
		last = !*p;
		if (*p)
			*p++ = '\0';
		if (!strcmp(seg, "."))
			continue;
		if (!strcmp(seg, "..")) {
			char *s = strrchr(cur.ptr ? cur.ptr : "", '/');

			if (s)
				cur.len = (size_t)(s - cur.ptr);
			else
				cur.len = 0;
			if (cur.ptr)
				cur.ptr[cur.len] = '\0';
			n = NULL;
			continue;
		}
		if ((cur.len && stele_buf_putc(&cur, '/') < 0) ||
		    stele_buf_puts(&cur, seg) < 0)
			goto fail;
		n = stele_sbom__tree_get(t, cur.ptr);
		if (n && n->type == STELE_SBOM__LINK &&
		    (!last || follow_last)) {
			if (++links > LINKS_MAX)
				goto fail;
			if (via)
				*via = 1;
			/* The target, then what is left of the path. */
			tmp = stele_xasprintf("%s/%s", n->link, p);
			free(rest);
			rest = p = tmp;
			if (*p == '/') {
				cur.len = 0;
			} else {
				char *s = strrchr(cur.ptr, '/');

				cur.len = s ? (size_t)(s - cur.ptr) : 0;
			}
			cur.ptr[cur.len] = '\0';
			n = NULL;
			continue;
		}
		if (!n && !last)
			goto fail;
	}
	if (!cur.len)
		n = NULL;
	free(rest);
	stele_buf_release(&cur);
	return n;
fail:
	free(rest);
	stele_buf_release(&cur);
	return NULL;
}

static int
has_prefix(const char *s, const char *prefix, const char **rest)
{
	size_t n = strlen(prefix);

	if (strncmp(s, prefix, n))
		return 0;
	*rest = s + n;
	return 1;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

int
stele_sbom__pkgdb_path(const char *path)
{
	const char *rest;

	if (!strcmp(path, "var/lib/dpkg/status") ||
	    !strcmp(path, "lib/apk/db/installed") ||
	    !strcmp(path, "var/lib/rpm/rpmdb.sqlite") ||
	    !strcmp(path, "usr/lib/sysimage/rpm/rpmdb.sqlite"))
		return 1;
	return has_prefix(path, "var/lib/dpkg/status.d/", &rest) && *rest &&
		!strchr(rest, '/') && !ends_with(rest, ".md5sums");
}

int
stele_sbom__captured_path(const char *path)
{
	const char *rest;

	if (stele_sbom__pkgdb_path(path) || !strcmp(path, "etc/os-release") ||
	    !strcmp(path, "usr/lib/os-release"))
		return 1;
	if (has_prefix(path, "var/lib/dpkg/status.d/", &rest))
		return *rest && !strchr(rest, '/');
	if (has_prefix(path, "var/lib/dpkg/info/", &rest))
		return !strchr(rest, '/') &&
			(ends_with(rest, ".list") ||
			 ends_with(rest, ".md5sums"));
	return 0;
}
