/*
 * clean.c: the one command that removes files, kept apart from the
 * read-only scanner: it takes the cache and duplicate findings aim-scan
 * wrote, checks each again and removes it (aim-scan(1) "clean").
 */
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aim-setup.h"

static json_t *
result(const char *action, const char *kind, const char *path, int64_t bytes,
    const char *reason)
{
	json_t *r = json_pack("{s:s, s:s, s:s, s:s?, s:I}", "finding", "clean",
	    "action", action, "kind", kind, "path", path, "bytes",
	    (json_int_t)bytes);

	if (reason != NULL)
		json_object_set_new(r, "reason", aim_json_text(reason,
		    strlen(reason), 4096, 0));
	return r;
}

/* A bad line or record: refused, said on stderr. */
static void
refuse_line(struct aim_clean *c, const char *source, long line,
    const char *why)
{
	char buf[4200];
	json_t *r;

	warnx("%s:%ld: %s", source, line, why);
	snprintf(buf, sizeof(buf), "%s:%ld: %s", source, line, why);
	r = result("refused", "unknown", NULL, 0, buf);
	json_object_set_new(r, "line", json_integer(line));
	c->emit(c->arg, r);
	json_decref(r);
	aim_exit_raise(&c->status, AIM_EXIT_FAILED);
}

/* Is rec a cache or duplicate finding we can act on?  NULL, or why not. */
static const char *
cleanable(json_t *rec, int *is_cache)
{
	const char *f = json_string_value(json_object_get(rec, "finding"));
	json_t *files, *x;
	size_t i;

	if (f == NULL)
		return "not a finding record (no \"finding\")";
	if (strcmp(f, "cache") == 0) {
		*is_cache = 1;
		if (!json_is_string(json_object_get(rec, "path")) ||
		    !json_is_string(json_object_get(rec, "pattern")))
			return "cache finding without \"path\" and \"pattern\"";
		if (*json_string_value(json_object_get(rec, "pattern")) ==
		    '\0')
			return "cache finding with an empty \"pattern\"";
		x = json_object_get(rec, "class");
		if (x != NULL && (!json_is_string(x) ||
		    (strcmp(json_string_value(x), "cache") != 0 &&
		    strcmp(json_string_value(x), "build") != 0)))
			return "cache finding whose \"class\" is neither "
			    "\"cache\" nor \"build\"";
		return NULL;
	}
	if (strcmp(f, "duplicate") == 0) {
		*is_cache = 0;
		files = json_object_get(rec, "files");
		if (!json_is_array(files) || json_array_size(files) < 2)
			return "duplicate finding without two \"files\"";
		json_array_foreach(files, i, x)
			if (!json_is_string(x))
				return "duplicate finding with a file name "
				    "that is not a string";
		x = json_object_get(rec, "hash");
		if (!json_is_null(x) && (!json_is_string(x) ||
		    json_string_length(x) != 2 * AIM_HASH_BYTES))
			return "duplicate finding whose \"hash\" is neither "
			    "a BLAKE2b-256 nor null";
		if (!json_is_integer(json_object_get(rec, "size_bytes")))
			return "duplicate finding without \"size_bytes\"";
		return NULL;
	}
	return "nothing to clean in this finding (only cache and "
	    "duplicate findings)";
}

/*
 * The directory name under at, never through a symbolic link, with its
 * descriptor in *fd; NULL with errno.
 */
static DIR *
opendir_at(int at, const char *name, int *fd)
{
	DIR *dir;

	if ((*fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return NULL;
	if ((dir = fdopendir(*fd)) == NULL)
		close(*fd);
	return dir;
}

/*
 * Does the directory name in dirfd hold a version-control directory, at any
 * depth?  1 with its path in buf (which holds name's path on entry), 0, or
 * -1 (errno) with the directory that could not be read in buf: a tree that
 * can't be looked into is not known to be safe.  Symlinks are not followed.
 * Names are looked at in sorted order, so that the one named is the same
 * on every file system.
 */
static int
holds_vcs(int dirfd, const char *name, char *buf, size_t len)
{
	struct stat st;
	size_t n = strlen(buf), i;
	char **names;
	DIR *dir;
	int fd, found = 0, saved;

	if ((dir = opendir_at(dirfd, name, &fd)) == NULL)
		return -1;
	if ((names = aim_dir_sorted(dir, NULL)) == NULL)
		found = -1;
	for (i = 0; found == 0 && names[i] != NULL; i++) {
		snprintf(buf + n, len - n, "/%s", names[i]);
		if (aim_path_vcs(names[i]) != NULL)
			found = 1;
		else if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode))
			found = holds_vcs(fd, names[i], buf, len);
	}
	saved = errno;
	aim_strv_free(names);
	closedir(dir);
	errno = saved;
	if (found == 0)
		buf[n] = '\0';
	return found;
}

int
aim_clean_vcs_guard(const char *path, char *why, size_t len)
{
	char *parent, *real, *slash, found[4096];
	const char *v;
	struct stat st;

	if ((v = aim_path_vcs(path)) != NULL) {
		snprintf(why, len, "inside a version-control directory (%s): "
		    "never removed", v);
		return 1;
	}
	parent = aim_xstrdup(path);
	while ((slash = strrchr(parent, '/')) != NULL && slash[1] == '\0' &&
	    slash != parent)
		*slash = '\0';
	if ((slash = strrchr(parent, '/')) == NULL)
		strcpy(parent, ".");
	else
		slash[slash == parent] = '\0';
	real = realpath(parent, NULL);
	free(parent);
	if (real != NULL && (v = aim_path_vcs(real)) != NULL) {
		snprintf(why, len, "inside a version-control directory (%s, "
		    "in %s): never removed", v, real);
		free(real);
		return 1;
	}
	free(real);
	snprintf(found, sizeof(found), "%s", path);
	if (lstat(path, &st) == -1 || !S_ISDIR(st.st_mode))
		return 0;
	switch (holds_vcs(AT_FDCWD, path, found, sizeof(found))) {
	case 1:
		snprintf(why, len, "holds a version-control directory, %s: "
		    "never removed", found);
		return 1;
	case -1:
		snprintf(why, len, "can't look for a version-control directory "
		    "in %s: %s", found, strerror(errno));
		return 1;
	}
	return 0;
}

/* Is a cache finding a build output (its class or its pattern says so)? */
static int
is_build(json_t *rec)
{
	const char *c = json_string_value(json_object_get(rec, "class"));

	return (c != NULL && strcmp(c, "build") == 0) ||
	    strcmp(aim_cache_class(json_string_value(json_object_get(rec,
	    "pattern"))), "build") == 0;
}

int
aim_clean_cache_verdict(const struct aim_clean *c, json_t *rec, char *why,
    size_t len)
{
	const char *path = json_string_value(json_object_get(rec, "path"));
	const char *pat = json_string_value(json_object_get(rec, "pattern"));
	struct stat st;

	why[0] = '\0';
	if (aim_clean_vcs_guard(path, why, len))
		return 1;
	if (is_build(rec) && !c->build) {
		snprintf(why, len, "a build output: removed only with --build");
		return 2;
	}
	if (!aim_path_tail_matches(path, pat))
		snprintf(why, len, "path does not end in its pattern %s", pat);
	else if (lstat(path, &st) == -1)
		snprintf(why, len, "%s", strerror(errno));
	else if (S_ISLNK(st.st_mode))
		snprintf(why, len, "is a symbolic link now");
	else if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		snprintf(why, len, "not a directory or file");
	return why[0] != '\0';
}

/* What will be removed of a planned record: for the confirmation. */
static void
plan_count(struct aim_clean *c, json_t *rec, int is_cache)
{
	json_t *files = json_object_get(rec, "files");
	char why[4200];
	size_t i;

	if (is_cache) {
		if (aim_clean_cache_verdict(c, rec, why, sizeof(why)) == 0) {
			c->paths++;
			c->bytes += json_integer_value(
			    json_object_get(rec, "size_bytes"));
		}
	} else
		for (i = 1; i < json_array_size(files); i++)
			if (!aim_clean_vcs_guard(json_string_value(
			    json_array_get(files, i)), why, sizeof(why))) {
				c->paths++;
				c->bytes += json_integer_value(
				    json_object_get(rec, "size_bytes"));
			}
}

int
aim_clean_line(void *arg, const struct aim_line *line, const char *source)
{
	struct aim_clean *c = arg;
	const char *why;
	json_error_t e;
	json_t *rec;
	char buf[300];
	int is_cache = 0;

	if (line->too_long) {
		refuse_line(c, source, line->lineno, "record is too long");
		return 0;
	}
	rec = json_loadb(line->text, line->len, JSON_REJECT_DUPLICATES, &e);
	if (rec == NULL) {
		snprintf(buf, sizeof(buf), "invalid JSON at column %d: %s",
		    e.column, e.text);
		refuse_line(c, source, line->lineno, buf);
		return 0;
	}
	why = json_is_object(rec) ? cleanable(rec, &is_cache) :
	    "a record must be a JSON object";
	if (why != NULL) {
		refuse_line(c, source, line->lineno, why);
		json_decref(rec);
		return 0;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->v = aim_xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	c->v[c->n].line = line->lineno;
	c->v[c->n].source = source;
	c->v[c->n].is_cache = is_cache;
	c->v[c->n].rec = rec;
	c->n++;
	plan_count(c, rec, is_cache);
	return 0;
}

int
aim_remove_tree(int dirfd, const char *name)
{
	struct dirent *d;
	struct stat st;
	DIR *dir;
	int fd, rc = 0, saved = 0;

	if ((dir = opendir_at(dirfd, name, &fd)) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (S_ISDIR(st.st_mode) ? aim_remove_tree(fd, d->d_name) :
		    unlinkat(fd, d->d_name, 0)) {
			if (!saved)
				saved = errno;
			rc = -1;
		}
	}
	closedir(dir);
	if (rc == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) == -1)
		return -1;
	errno = saved;
	return rc;
}

static void
clean_cache(struct aim_clean *c, struct aim_clean_item *it)
{
	const char *path = json_string_value(json_object_get(it->rec, "path"));
	int64_t bytes = json_integer_value(json_object_get(it->rec,
	    "size_bytes"));
	char why[4200], b1[32];
	struct stat st;
	json_t *r;
	int rc, verdict;

	verdict = aim_clean_cache_verdict(c, it->rec, why, sizeof(why));
	if (verdict == 1) {
		warnx("%s:%ld: %s: refused: %s", it->source, it->line, path,
		    why);
		r = result("refused", "cache", path, 0, why);
		aim_exit_raise(&c->status, AIM_EXIT_FAILED);
	} else if (verdict == 2) {
		warnx("%s:%ld: %s: skipped: %s", it->source, it->line, path,
		    why);
		r = result("skipped", "cache", path, 0, why);
	} else if (c->dry_run) {
		r = result("would_remove", "cache", path, bytes, NULL);
	} else {
		rc = lstat(path, &st) == 0 && S_ISDIR(st.st_mode) ?
		    aim_remove_tree(AT_FDCWD, path) : unlink(path);
		if (rc == -1) {
			snprintf(why, sizeof(why), "%s", strerror(errno));
			warnx("%s: can't remove: %s", path, why);
			r = result("failed", "cache", path, 0, why);
			aim_exit_raise(&c->status, AIM_EXIT_IO);
		} else {
			warnx("removed %s (%s)", path,
			    aim_human_bytes(bytes, b1, sizeof(b1)));
			r = result("removed", "cache", path, bytes, NULL);
		}
	}
	c->emit(c->arg, r);
	json_decref(r);
}

/*
 * Open path and check it still holds the content of the group: a regular
 * file (not through a final symlink) of size bytes whose BLAKE2b-256 is
 * hash (NULL: not checked).  Returns the fd and *st, or -1 with *why.
 */
static int
verify(const char *path, int64_t size, const char *hash, struct stat *st,
    char *why, size_t whylen)
{
	unsigned char h[AIM_HASH_BYTES];
	char hex[2 * AIM_HASH_BYTES + 1];
	int64_t len;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)) ==
	    -1) {
		snprintf(why, whylen, "%s", errno == ELOOP ?
		    "is a symbolic link now" : strerror(errno));
		return -1;
	}
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		snprintf(why, whylen, "not a regular file");
		close(fd);
		return -1;
	}
	if (st->st_size != size) {
		snprintf(why, whylen, "changed: %lld bytes, not %lld",
		    (long long)st->st_size, (long long)size);
		close(fd);
		return -1;
	}
	if (hash == NULL)
		return fd;
	if (aim_hash_fd(fd, h, &len) == -1) {
		snprintf(why, whylen, "read error: %s", strerror(errno));
		close(fd);
		return -1;
	}
	aim_hex(h, AIM_HASH_BYTES, hex);
	if (len != size || strcmp(hex, hash) != 0) {
		snprintf(why, whylen, "changed: content no longer matches the "
		    "group's hash");
		close(fd);
		return -1;
	}
	return fd;
}

/* Are the files open on a and b byte for byte the same?  1, 0, -1 (errno). */
static int
same_content(int a, int b, int64_t size)
{
	static unsigned char ba[65536], bb[65536];
	int64_t off;
	ssize_t ra, rb;
	size_t n;

	for (off = 0; off < size; off += n) {
		n = size - off < (int64_t)sizeof(ba) ? (size_t)(size - off) :
		    sizeof(ba);
		ra = pread(a, ba, n, off);
		rb = pread(b, bb, n, off);
		if (ra == -1 || rb == -1)
			return -1;
		if (ra != (ssize_t)n || rb != (ssize_t)n)
			return 0;
		if (memcmp(ba, bb, n) != 0)
			return 0;
	}
	return 1;
}

static void
clean_dups(struct aim_clean *c, struct aim_clean_item *it)
{
	json_t *files = json_object_get(it->rec, "files"), *r, *x;
	const char *hash = json_string_value(json_object_get(it->rec, "hash"));
	const char *keep = json_string_value(json_array_get(files, 0)), *path;
	int64_t size = json_integer_value(json_object_get(it->rec,
	    "size_bytes"));
	struct stat kst, st, now;
	char why[4200], b1[32];
	int kfd, fd, rc;
	size_t i;

	/* The kept copy first: never remove what might be the last one. */
	if ((kfd = verify(keep, size, hash, &kst, why, sizeof(why))) == -1) {
		warnx("%s:%ld: kept copy %s: %s: nothing removed from its group",
		    it->source, it->line, keep, why);
		json_array_foreach(files, i, x) {
			char msg[4400];

			if (i == 0)
				continue;
			snprintf(msg, sizeof(msg), "kept copy %s: %s", keep,
			    why);
			r = result("refused", "duplicate", json_string_value(x),
			    0, msg);
			json_object_set_new(r, "kept", json_string(keep));
			c->emit(c->arg, r);
			json_decref(r);
		}
		aim_exit_raise(&c->status, AIM_EXIT_FAILED);
		return;
	}
	json_array_foreach(files, i, x) {
		if (i == 0)
			continue;
		path = json_string_value(x);
		why[0] = '\0';
		/* Byte for byte against the kept copy: no hash to trust. */
		if (aim_clean_vcs_guard(path, why, sizeof(why)))
			fd = -1;
		else
			fd = verify(path, size, NULL, &st, why, sizeof(why));
		if (fd != -1 && st.st_dev == kst.st_dev &&
		    st.st_ino == kst.st_ino)
			snprintf(why, sizeof(why), "same file as the kept "
			    "copy (a hard link or the same path)");
		else if (fd != -1 && (rc = same_content(kfd, fd, size)) != 1)
			snprintf(why, sizeof(why), "%s", rc == 0 ? "changed: "
			    "content differs from the kept copy" :
			    strerror(errno));
		if (fd != -1 && why[0] == '\0' && !c->dry_run) {
			/* The name must still be the file we checked. */
			if (lstat(path, &now) == -1 || now.st_dev !=
			    st.st_dev || now.st_ino != st.st_ino)
				snprintf(why, sizeof(why), "replaced while "
				    "being checked");
			else if (unlink(path) == -1) {
				snprintf(why, sizeof(why), "%s",
				    strerror(errno));
				warnx("%s: can't remove: %s", path, why);
				r = result("failed", "duplicate", path, 0, why);
				json_object_set_new(r, "kept",
				    json_string(keep));
				c->emit(c->arg, r);
				json_decref(r);
				aim_exit_raise(&c->status, AIM_EXIT_IO);
				close(fd);
				continue;
			}
			warnx("removed %s (%s)", path, aim_human_bytes(size, b1,
			    sizeof(b1)));
		}
		if (fd != -1)
			close(fd);
		if (why[0] != '\0') {
			warnx("%s:%ld: %s: refused: %s", it->source, it->line,
			    path, why);
			r = result("refused", "duplicate", path, 0, why);
			aim_exit_raise(&c->status, AIM_EXIT_FAILED);
		} else
			r = result(c->dry_run ? "would_remove" : "removed",
			    "duplicate", path, size, NULL);
		json_object_set_new(r, "kept", json_string(keep));
		c->emit(c->arg, r);
		json_decref(r);
	}
	close(kfd);
}

void
aim_clean_run(struct aim_clean *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (c->v[i].is_cache)
			clean_cache(c, &c->v[i]);
		else
			clean_dups(c, &c->v[i]);
	}
}

void
aim_clean_free(struct aim_clean *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		json_decref(c->v[i].rec);
	free(c->v);
	c->v = NULL;
	c->n = c->cap = 0;
}
