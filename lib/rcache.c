/*
 * rcache.c: the result cache (aim-cache(1)): a deterministic tool's result
 * kept under a key over everything it read, with the files it wrote as
 * content-addressed blobs, so that the same request again runs nothing.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "aim-store.h"

#define RC_VERSION	1
#define RC_ENTRY_MAX_BYTES	(16 << 20)
/* A payload file larger than this is read for no key: not cached. */
#define RC_FILE_MAX_BYTES	(64 << 20)
/* A temporary file this old is a dead writer's, not one under way. */
#define RC_TMP_STALE_MS		3600000

char *
aim_rcache_dir(void)
{
	return aim_xdg_path("XDG_CACHE_HOME", ".cache", "results");
}

void
aim_rcache_init(struct aim_rcache *rc, int64_t max_bytes, int off)
{
	memset(rc, 0, sizeof(*rc));
	rc->max_bytes = max_bytes;
	if (!off && max_bytes > 0)
		rc->dir = aim_rcache_dir();
}

/* ---- the key ---- */

/* One part of a key: its name, its length and its bytes, so none runs on. */
static void
feed(crypto_generichash_state *st, const char *tag, const void *buf,
    size_t len)
{
	uint64_t n = len;

	crypto_generichash_update(st, (const unsigned char *)tag,
	    strlen(tag) + 1);
	crypto_generichash_update(st, (const unsigned char *)&n, sizeof(n));
	crypto_generichash_update(st, buf, len);
}

/* v as canonical JSON: sorted keys, compact (the key's only form). */
static void
feed_json(crypto_generichash_state *st, const char *tag, json_t *v)
{
	char *s = v == NULL ? NULL : json_dumps(v, JSON_SORT_KEYS |
	    JSON_COMPACT | JSON_ENCODE_ANY);

	feed(st, tag, s ? s : "", s ? strlen(s) : 0);
	free(s);
}

/*
 * The content hash of the regular file path into out: 1, 0 when there is
 * no such file, -1 when it cannot be read or is not a regular file (a
 * symlink too: a hit would put a file in its place).
 */
static int
file_hash(const char *path, unsigned char out[AIM_HASH_BYTES])
{
	struct stat sb;
	int64_t len;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    O_NOFOLLOW)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > RC_FILE_MAX_BYTES) {
		close(fd);
		return -1;
	}
	rc = aim_hash_fd(fd, out, &len) == 0 ? 1 : -1;
	close(fd);
	return rc;
}

/*
 * The tool as it is installed: the binary found (path, device, inode,
 * size, mtime, as the version cache knows a binary: aim-scan(1) "Version
 * cache"), so that an upgrade is a new key; and a script adapter by its
 * content: the last absolute path of its argv (the script itself, after
 * pwsh's options for a .ps1).
 */
static void
feed_tool(crypto_generichash_state *st, json_t *cand)
{
	unsigned char h[AIM_HASH_BYTES];
	const char *det = json_string_value(json_object_get(cand, "detected"));
	const char *script = NULL;
	struct stat sb;
	char buf[PATH_MAX + 128];
	json_t *a;
	size_t i;

	if (det != NULL && stat(det, &sb) == 0) {
		snprintf(buf, sizeof(buf), "%s %ju:%ju %jd %jd.%09ld", det,
		    (uintmax_t)sb.st_dev, (uintmax_t)sb.st_ino,
		    (intmax_t)sb.st_size, (intmax_t)sb.st_mtim.tv_sec,
		    sb.st_mtim.tv_nsec);
		feed(st, "binary", buf, strlen(buf));
	}
	feed_json(st, "argv", json_object_get(cand, "argv"));
	if (json_object_get(cand, "adapter") != NULL) {
		feed_json(st, "adapter", json_object_get(cand, "adapter"));
		return;
	}
	json_array_foreach(json_object_get(cand, "argv"), i, a)
		if (json_string_value(a)[0] == '/')
			script = json_string_value(a);
	if (script != NULL && file_hash(script, h) == 1)
		feed(st, "script", h, sizeof(h));
}

/*
 * The payload's files into st, each by its content, and into *files as
 * [{path, hash: hex or null when missing}].  0, or -1 when one cannot be
 * read (not cacheable).
 */
static int
feed_files(crypto_generichash_state *st, json_t *list, json_t **files)
{
	unsigned char h[AIM_HASH_BYTES];
	char hex[AIM_HASH_HEX_BYTES + 1];
	json_t *f;
	size_t i;
	int rc;

	*files = json_array();
	json_array_foreach(list, i, f) {
		if (!json_is_string(f))
			continue;
		if ((rc = file_hash(json_string_value(f), h)) == -1) {
			json_decref(*files);
			*files = NULL;
			return -1;
		}
		feed(st, "file", h, rc == 1 ? sizeof(h) : 0);
		aim_hex(h, sizeof(h), hex);
		json_array_append_new(*files, json_pack("{s:O, s:s?}", "path",
		    f, "hash", rc == 1 ? hex : NULL));
	}
	return 0;
}

int
aim_rcache_key(json_t *rec, json_t *cand, unsigned char key[AIM_HASH_BYTES],
    json_t **files)
{
	crypto_generichash_state st;
	json_t *payload = json_object_get(rec, "payload"), *cap;
	char cwd[PATH_MAX];

	*files = NULL;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	cap = json_object_get(json_object_get(rec, "route"), "capability");
	if (cap == NULL)
		cap = json_object_get(rec, "capability");
	crypto_generichash_init(&st, NULL, 0, AIM_HASH_BYTES);
	feed(&st, "aim result cache", "1", 1);
	feed_json(&st, "tool_id", json_object_get(cand, "tool_id"));
	feed_tool(&st, cand);
	feed_json(&st, "capability", cap);
	feed_json(&st, "payload", payload);
	/* Payload files are relative to it, and so is a tool's config. */
	feed(&st, "cwd", cwd, strlen(cwd));
	if (feed_files(&st, json_object_get(payload, "files"), files) == -1)
		return -1;
	crypto_generichash_final(&st, key, AIM_HASH_BYTES);
	return 0;
}

/* ---- entries and blobs ---- */

/* <dir>/<sub>/<first two digits>/<hex><ext>, malloc'd. */
static char *
rc_path(const char *dir, const char *sub, const char *hex, const char *ext)
{
	return aim_xsprintf("%s/%s/%.2s/%s%s", dir, sub, hex, hex, ext);
}

/* Write a file of the cache: made whole elsewhere, renamed into place. */
static int
rc_write(const char *path, const void *buf, size_t len)
{
	if (aim_mkdirs_parent(path, NULL) == -1)
		return -1;
	return aim_write_atomic(path, buf, len, 0600, AIM_WRITE_NOSYNC, NULL);
}

/* Is e an entry of this version: a result and its files? */
static int
entry_valid(json_t *e)
{
	json_t *f;
	size_t i;

	if (json_integer_value(json_object_get(e, "version")) != RC_VERSION ||
	    !json_is_object(json_object_get(e, "result")) ||
	    !json_is_array(json_object_get(e, "files")))
		return 0;
	json_array_foreach(json_object_get(e, "files"), i, f) {
		if (!json_is_string(json_object_get(f, "path")) ||
		    json_string_length(json_object_get(f, "blob")) !=
		    AIM_HASH_HEX_BYTES)
			return 0;
	}
	return 1;
}

/* The blob hex, read and checked against its name: malloc'd, or NULL. */
static char *
blob_read(const char *dir, const char *hex, size_t *len)
{
	unsigned char h[AIM_HASH_BYTES];
	char got[AIM_HASH_HEX_BYTES + 1], *path, *buf = NULL;

	path = rc_path(dir, "blobs", hex, "");
	if (aim_read_file(AT_FDCWD, path, AIM_READ_NOFOLLOW, RC_FILE_MAX_BYTES,
	    &buf, len) == 0) {
		aim_hash(buf, *len, h);
		aim_hex(h, sizeof(h), got);
		if (strcmp(got, hex) != 0) {
			free(buf);
			buf = NULL;
		}
	}
	free(path);
	return buf;
}

/* Is the path s one of files' paths? */
static int
among(json_t *files, const char *s)
{
	json_t *f;
	size_t i;

	json_array_foreach(files, i, f)
		if (strcmp(json_string_value(json_object_get(f, "path")), s) == 0)
			return 1;
	return 0;
}

/*
 * Put each file of entry e back as the tool left it, each replaced
 * atomically, its mode kept.  0, or -1 (a blob missing or damaged, a
 * path not among the request's files, or a write failed) with the files
 * before it restored.
 */
static int
restore(const char *dir, json_t *e, json_t *files)
{
	const char *path, *hex;
	struct stat sb;
	json_t *f;
	size_t i, len;
	char *buf;
	int rc;

	json_array_foreach(json_object_get(e, "files"), i, f) {
		path = json_string_value(json_object_get(f, "path"));
		hex = json_string_value(json_object_get(f, "blob"));
		/* Never a file the request did not name, whatever the entry says. */
		if (!among(files, path) ||
		    (buf = blob_read(dir, hex, &len)) == NULL)
			return -1;
		if (stat(path, &sb) == 0)
			rc = aim_write_atomic(path, buf, len, sb.st_mode & 07777,
			    AIM_WRITE_NOSYNC, NULL);
		else
			rc = aim_write_atomic(path, buf, len, 0666,
			    AIM_WRITE_NOSYNC | AIM_WRITE_UMASK, NULL);
		free(buf);
		if (rc == -1)
			return -1;
	}
	return 0;
}

json_t *
aim_rcache_get(struct aim_rcache *rc, const unsigned char key[AIM_HASH_BYTES],
    json_t *files)
{
	char hex[AIM_HASH_HEX_BYTES + 1], *path;
	json_t *e, *result = NULL;

	if (rc->dir == NULL)
		return NULL;
	aim_hex(key, AIM_HASH_BYTES, hex);
	path = rc_path(rc->dir, "entries", hex, ".json");
	/* Read but not JSON (EINVAL) is damaged too; unreadable is a miss. */
	if ((e = aim_json_read(path, AIM_READ_NOFOLLOW, RC_ENTRY_MAX_BYTES)) !=
	    NULL || errno == EINVAL) {
		/* Half-written, damaged or its blobs gone: a miss, removed. */
		if (!entry_valid(e) || restore(rc->dir, e, files) == -1)
			unlink(path);
		else {
			result = json_incref(json_object_get(e, "result"));
			/* Its last use, for the eviction (aim-cache(1) "Size"). */
			(void)utimensat(AT_FDCWD, path, NULL, 0);
		}
	}
	json_decref(e);
	free(path);
	if (result != NULL)
		rc->hits++;
	else
		rc->misses++;
	return result;
}

/*
 * The file f of the payload as the tool left it: its blob stored and
 * {path, blob} appended to out when it changed.  0, or -1: it went, or
 * cannot be read or stored (not cacheable).
 */
static int
keep_file(const char *dir, json_t *f, json_t *out)
{
	const char *path = json_string_value(json_object_get(f, "path"));
	const char *was = json_string_value(json_object_get(f, "hash"));
	unsigned char h[AIM_HASH_BYTES];
	char hex[AIM_HASH_HEX_BYTES + 1], *buf, *bpath;
	size_t len;
	int rc = 0;

	if (aim_read_file(AT_FDCWD, path, 0, RC_FILE_MAX_BYTES, &buf,
	    &len) == -1)
		return errno == ENOENT && was == NULL ? 0 : -1;
	aim_hash(buf, len, h);
	aim_hex(h, sizeof(h), hex);
	if (was == NULL || strcmp(was, hex) != 0) {
		bpath = rc_path(dir, "blobs", hex, "");
		/* The same content is stored once. */
		if (access(bpath, F_OK) == -1)
			rc = rc_write(bpath, buf, len);
		free(bpath);
		json_array_append_new(out, json_pack("{s:s, s:s}", "path",
		    path, "blob", hex));
	}
	free(buf);
	return rc;
}

int
aim_rcache_put(struct aim_rcache *rc, const unsigned char key[AIM_HASH_BYTES],
    json_t *result, json_t *files)
{
	json_t *said = json_object_get(json_object_get(result, "content"),
	    "files_modified"), *f, *out, *e;
	char hex[AIM_HASH_HEX_BYTES + 1], *path, *text;
	size_t i;
	int ret = -1;

	if (rc->dir == NULL || !json_is_true(json_object_get(result, "success")))
		return -1;
	/* A tool that wrote outside the payload did more than a hit can. */
	json_array_foreach(said, i, f)
		if (!json_is_string(f) || !among(files, json_string_value(f)))
			return -1;
	out = json_array();
	json_array_foreach(files, i, f)
		if (keep_file(rc->dir, f, out) == -1)
			goto done;
	e = json_pack("{s:i, s:I, s:O, s:O}", "version", RC_VERSION,
	    "stored_ms", (json_int_t)aim_wall_ms(), "result", result,
	    "files", out);
	text = json_dumps(e, JSON_COMPACT);
	json_decref(e);
	aim_hex(key, AIM_HASH_BYTES, hex);
	path = rc_path(rc->dir, "entries", hex, ".json");
	if ((ret = rc_write(path, text, strlen(text))) == 0) {
		rc->stores++;
		rc->stored_any = 1;
	}
	free(path);
	free(text);
done:
	json_decref(out);
	return ret;
}

/* ---- the counters ---- */

/* The counters file, opened and locked (flock(2) how), or -1. */
static int
stats_open(const char *dir, int how)
{
	char *path = aim_xsprintf("%s/stats.json", dir);
	int fd;

	if (how == LOCK_EX)
		(void)aim_mkdirs(dir);
	fd = open(path, (how == LOCK_EX ? O_RDWR | O_CREAT : O_RDONLY) |
	    O_CLOEXEC | O_NOFOLLOW, 0600);
	free(path);
	if (fd != -1 && flock(fd, how) == -1) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The counters {hits, misses, stores} of the open file fd; zeros if bad. */
static json_t *
stats_load(int fd)
{
	char buf[512];
	ssize_t n = fd == -1 ? -1 : pread(fd, buf, sizeof(buf) - 1, 0);
	json_t *s = n > 0 ? json_loadb(buf, n, 0, NULL) : NULL;

	if (!json_is_integer(json_object_get(s, "hits")) ||
	    !json_is_integer(json_object_get(s, "misses")) ||
	    !json_is_integer(json_object_get(s, "stores"))) {
		json_decref(s);
		s = json_pack("{s:i, s:i, s:i}", "hits", 0, "misses", 0,
		    "stores", 0);
	}
	return s;
}

static void
stats_add(json_t *s, const char *k, int64_t n)
{
	json_object_set_new(s, k, json_integer(json_integer_value(
	    json_object_get(s, k)) + n));
}

/* Add this process's counts to the file, under its lock; soft: no fsync. */
static void
stats_flush(struct aim_rcache *rc)
{
	json_t *s;
	char *text;
	int fd;

	if (rc->hits + rc->misses + rc->stores == 0 ||
	    (fd = stats_open(rc->dir, LOCK_EX)) == -1)
		return;
	s = stats_load(fd);
	stats_add(s, "hits", rc->hits);
	stats_add(s, "misses", rc->misses);
	stats_add(s, "stores", rc->stores);
	text = json_dumps(s, JSON_COMPACT);
	if (ftruncate(fd, 0) == 0)
		(void)pwrite(fd, text, strlen(text), 0);
	free(text);
	json_decref(s);
	close(fd);
	rc->hits = rc->misses = rc->stores = 0;
}

/* ---- the whole cache: walk, prune, clear, stats ---- */

/* A file of the cache as the walk found it. */
struct rc_file {
	char	*path;
	char	*hex;		/* its name: the key or the content hash */
	int64_t	 size_bytes;
	struct timespec mtime;
	json_t	*blobs;		/* an entry's blob names, NULL: unreadable */
};

struct rc_list {
	struct rc_file *v;
	size_t	 n, cap;
	int64_t	 bytes;
};

/* A temporary file of a writer: one under way is left alone. */
static int
rc_tmp(const char *name, const struct stat *sb)
{
	if (strstr(name, ".tmp-") == NULL)
		return 0;
	return (int64_t)sb->st_mtim.tv_sec * 1000 > aim_wall_ms() -
	    RC_TMP_STALE_MS ? 1 : -1;
}

static void
list_add(struct rc_list *l, const char *path, const char *name,
    const struct stat *sb)
{
	struct rc_file *f;

	if (l->n == l->cap)
		l->v = aim_xrealloc(l->v, (l->cap = l->cap * 2 + 64) *
		    sizeof(*l->v));
	f = &l->v[l->n++];
	f->path = aim_xstrdup(path);
	f->hex = aim_xstrdup(name);
	/* An entry's name is its key and ".json". */
	if (strlen(name) == AIM_HASH_HEX_BYTES + 5)
		f->hex[AIM_HASH_HEX_BYTES] = '\0';
	f->size_bytes = sb->st_size;
	f->mtime = sb->st_mtim;
	f->blobs = NULL;
	l->bytes += sb->st_size;
}

/* Every file of <dir>/<sub>/xx/ into l, but writes under way. */
static void
list_files(const char *dir, const char *sub, struct rc_list *l)
{
	char *top = aim_xsprintf("%s/%s", dir, sub), *d, *p;
	struct dirent *a, *b;
	struct stat sb;
	DIR *da, *db;

	if ((da = opendir(top)) == NULL) {
		free(top);
		return;
	}
	while ((a = readdir(da)) != NULL) {
		if (a->d_name[0] == '.')
			continue;
		d = aim_xsprintf("%s/%s", top, a->d_name);
		if ((db = opendir(d)) != NULL) {
			while ((b = readdir(db)) != NULL) {
				p = aim_xsprintf("%s/%s", d, b->d_name);
				if (b->d_name[0] != '.' &&
				    lstat(p, &sb) == 0 && S_ISREG(sb.st_mode) &&
				    rc_tmp(b->d_name, &sb) != 1)
					list_add(l, p, b->d_name, &sb);
				free(p);
			}
			closedir(db);
		}
		free(d);
	}
	closedir(da);
	free(top);
}

static void
list_free(struct rc_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].hex);
		json_decref(l->v[i].blobs);
	}
	free(l->v);
}

/* The blob names of each entry of l; NULL for one that does not read. */
static void
read_entries(struct rc_list *l)
{
	json_t *e, *f;
	size_t i, k;

	for (i = 0; i < l->n; i++) {
		e = aim_json_read(l->v[i].path, AIM_READ_NOFOLLOW,
		    RC_ENTRY_MAX_BYTES);
		if (entry_valid(e)) {
			l->v[i].blobs = json_array();
			json_array_foreach(json_object_get(e, "files"), k, f)
				json_array_append(l->v[i].blobs,
				    json_object_get(f, "blob"));
		}
		json_decref(e);
	}
}

/* Most recently used first. */
static int
by_use(const void *a, const void *b)
{
	const struct rc_file *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? 1 : -1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? 1 : -1;
	return strcmp(x->hex, y->hex);
}

/* Remove f, counting it in the report r under key k. */
static void
drop(struct rc_file *f, json_t *r, const char *k)
{
	if (unlink(f->path) == -1 && errno != ENOENT)
		return;
	stats_add(r, k, 1);
	stats_add(r, "freed_bytes", f->size_bytes);
}

/*
 * Keep the entries most recently used while they and their blobs fit in
 * max_bytes; the rest go, with the blobs no entry kept names.
 */
static void
evict(struct rc_list *ents, struct rc_list *blobs, int64_t max_bytes,
    json_t *r)
{
	json_t *size = json_object(), *kept = json_object(), *b;
	int64_t used = 0, cost;
	size_t i, k;
	int full = 0;

	for (i = 0; i < blobs->n; i++)
		json_object_set_new(size, blobs->v[i].hex,
		    json_integer(blobs->v[i].size_bytes));
	qsort(ents->v, ents->n, sizeof(*ents->v), by_use);
	for (i = 0; i < ents->n; i++) {
		cost = ents->v[i].size_bytes;
		json_array_foreach(ents->v[i].blobs, k, b)
			if (json_object_get(kept, json_string_value(b)) == NULL)
				cost += json_integer_value(json_object_get(size,
				    json_string_value(b)));
		if (ents->v[i].blobs == NULL || full || used + cost > max_bytes) {
			/* Strictly least recently used: older ones go too. */
			full |= ents->v[i].blobs != NULL;
			drop(&ents->v[i], r, "removed_entries");
			continue;
		}
		used += cost;
		json_array_foreach(ents->v[i].blobs, k, b)
			json_object_set(kept, json_string_value(b), b);
	}
	for (i = 0; i < blobs->n; i++)
		if (json_object_get(kept, blobs->v[i].hex) == NULL)
			drop(&blobs->v[i], r, "removed_blobs");
	json_decref(size);
	json_decref(kept);
}

/* The report of a prune or clear, with the cache's size after it. */
static json_t *
report_new(const char *dir)
{
	return json_pack("{s:s, s:i, s:i, s:i}", "dir", dir, "removed_entries",
	    0, "removed_blobs", 0, "freed_bytes", 0);
}

static void
report_end(json_t *r, struct rc_list *ents, struct rc_list *blobs)
{
	stats_add(r, "size_bytes", ents->bytes + blobs->bytes -
	    json_integer_value(json_object_get(r, "freed_bytes")));
	stats_add(r, "entries", ents->n - json_integer_value(json_object_get(r,
	    "removed_entries")));
}

/*
 * aim_rcache_prune; when not all, a cache within max_bytes is left as
 * it is, unread: what every run that stored pays is a walk of stat(2)s.
 */
static void
prune(const char *dir, int64_t max_bytes, int all, json_t **report)
{
	struct rc_list ents = { NULL, 0, 0, 0 }, blobs = { NULL, 0, 0, 0 };

	*report = report_new(dir);
	list_files(dir, "entries", &ents);
	list_files(dir, "blobs", &blobs);
	if (all || ents.bytes + blobs.bytes > max_bytes) {
		read_entries(&ents);
		evict(&ents, &blobs, max_bytes, *report);
	}
	json_object_set_new(*report, "max_bytes", json_integer(max_bytes));
	report_end(*report, &ents, &blobs);
	list_free(&ents);
	list_free(&blobs);
}

int
aim_rcache_prune(const char *dir, int64_t max_bytes, json_t **report,
    char **why)
{
	prune(dir, max_bytes, 1, report);
	return 0;
}

int
aim_rcache_clear(const char *dir, json_t **report, char **why)
{
	struct rc_list ents = { NULL, 0, 0, 0 }, blobs = { NULL, 0, 0, 0 };
	char *path = aim_xsprintf("%s/stats.json", dir);
	size_t i;

	*report = report_new(dir);
	list_files(dir, "entries", &ents);
	list_files(dir, "blobs", &blobs);
	for (i = 0; i < ents.n; i++)
		drop(&ents.v[i], *report, "removed_entries");
	for (i = 0; i < blobs.n; i++)
		drop(&blobs.v[i], *report, "removed_blobs");
	if (unlink(path) == -1 && errno != ENOENT && why != NULL)
		*why = aim_xsprintf("can't remove %s: %s", path,
		    strerror(errno));
	report_end(*report, &ents, &blobs);
	list_free(&ents);
	list_free(&blobs);
	free(path);
	return why != NULL && *why != NULL ? -1 : 0;
}

json_t *
aim_rcache_stats(const char *dir, int64_t max_bytes)
{
	struct rc_list ents = { NULL, 0, 0, 0 }, blobs = { NULL, 0, 0, 0 };
	int fd = stats_open(dir, LOCK_SH);
	json_t *s = stats_load(fd);
	int64_t hits = json_integer_value(json_object_get(s, "hits"));
	int64_t asked = hits + json_integer_value(json_object_get(s, "misses"));

	if (fd != -1)
		close(fd);
	list_files(dir, "entries", &ents);
	list_files(dir, "blobs", &blobs);
	json_object_set_new(s, "dir", json_string(dir));
	json_object_set_new(s, "entries", json_integer(ents.n));
	json_object_set_new(s, "blobs", json_integer(blobs.n));
	json_object_set_new(s, "size_bytes", json_integer(ents.bytes +
	    blobs.bytes));
	json_object_set_new(s, "max_bytes", json_integer(max_bytes));
	json_object_set_new(s, "hit_rate", asked == 0 ? json_null() :
	    json_real((double)hits / asked));
	list_free(&ents);
	list_free(&blobs);
	return s;
}

void
aim_rcache_close(struct aim_rcache *rc)
{
	json_t *report = NULL;

	if (rc->dir == NULL)
		return;
	stats_flush(rc);
	if (rc->stored_any)
		prune(rc->dir, rc->max_bytes, 0, &report);
	json_decref(report);
	free(rc->dir);
	rc->dir = NULL;
}
