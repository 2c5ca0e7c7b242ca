/*
 * chain.c: the tamper-evident audit trail (issue 5): every entry carries
 * seq and prev (BLAKE2b-256 of the previous entry's bytes), the head of the
 * chain lives in <dir>/.aim-chain-head under flock(2), interrupted writes
 * are recovered, and the whole directory can be scanned for verify, prune,
 * query and stats.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "aim-flow.h"

static void chain_unlock(struct aim_chain *c);

#define HEAD_BYTES	1024
#define HEAD_MAGIC	"aim-audit-head 1"
#define MAX_COLLISIONS	1000
#define ENTRY_MAX_BYTES	(256 * 1024 * 1024)

static const char zero_hex[AIM_HASH_HEX_BYTES + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static const char *const event_kinds[] = {
	"secret_set", "secret_get", "secret_delete", "health_check",
	"scan_execute", "config_update", "error", NULL
};

/* ---- small helpers ---- */

static int
setwhy(char **why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
setwhy(char **why, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (why != NULL) {
		free(*why);
		va_start(ap, fmt);
		*why = aim_vxsprintf(fmt, ap);
		va_end(ap);
	}
	errno = saved;
	return -1;
}

/*
 * The name an entry must have, without the collision suffix and ".json":
 * "<day>/<stamp>_<tool>_<capability>" from its timestamp, tool_id and
 * capability (events and prune entries: "aim" and their kind).  -1 when
 * the timestamp is not one aim writes.
 */
static int
entry_prefix(json_t *e, char *out, size_t outsz)
{
	const char *ts = json_string_value(json_object_get(e, "timestamp"));
	const char *tool, *cap, *kind;
	char t[AIM_NAME_PART_MAX + 1], c[AIM_NAME_PART_MAX + 1], stamp[32];
	size_t i;

	if (ts == NULL || strlen(ts) != 27 || ts[10] != 'T' || ts[26] != 'Z')
		return -1;
	for (i = 0; i < 26; i++) {
		stamp[i] = ts[i];
		if (i == 13 || i == 16 || i == 19)
			stamp[i] = '-';
	}
	stamp[26] = '\0';
	kind = json_string_value(json_object_get(e, "kind"));
	if (kind != NULL) {
		tool = "aim";
		cap = kind;
	} else {
		tool = json_string_value(json_object_get(e, "tool_id"));
		cap = json_string_value(json_object_get(e, "capability"));
	}
	aim_audit_name_part(t, tool);
	aim_audit_name_part(c, cap);
	return snprintf(out, outsz, "%.10s/%s_%s_%s", ts, stamp, t, c) <
	    (int)outsz ? 0 : -1;
}

/* Does rel ("day/name.json") carry the name prefix, with or without -K? */
static int
name_matches(const char *rel, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *p;

	if (strncmp(rel, prefix, n) != 0)
		return 0;
	p = rel + n;
	if (*p == '-') {
		if (!isdigit((unsigned char)p[1]))
			return 0;
		for (p++; isdigit((unsigned char)*p); p++)
			;
	}
	return strcmp(p, ".json") == 0;
}

/* An entry or key file, refused as a symlink and past the entry limit. */
static int
slurp(int dirfd, const char *name, char **buf, size_t *len)
{
	return aim_read_file(dirfd, name, AIM_READ_NOFOLLOW, ENTRY_MAX_BYTES,
	    buf, len);
}

/* ---- the head file ---- */

/*
 * The head is one 1024-byte block, rewritten in place with pwrite(2):
 *
 *	aim-audit-head 1
 *	seq <n>
 *	hash <64 hex>
 *	path <day/name.json or ->
 *	pending <seq> <64 hex> <day/name prefix> <day/.tmp-name>   (or "pending -")
 *	check <32 hex: BLAKE2b-128 of the lines above>
 *
 * padded with spaces to 1023 bytes and a newline.  A torn write fails the
 * check and the head is rebuilt from the entries.
 */
struct head {
	int64_t	 seq;
	char	 hash[AIM_HASH_HEX_BYTES + 1];
	char	 path[PATH_MAX];
	int64_t	 pseq;		/* 0: no write pending */
	char	 phash[AIM_HASH_HEX_BYTES + 1];
	char	 pprefix[PATH_MAX];
	char	 ptmp[PATH_MAX];
};

static void
head_empty(struct head *h)
{
	memset(h, 0, sizeof(*h));
	strcpy(h->hash, zero_hex);
	strcpy(h->path, "-");
}

static int
head_format(const struct head *h, char buf[HEAD_BYTES])
{
	unsigned char ck[16];
	char hex[33];
	int n, m;

	if (h->pseq > 0)
		n = snprintf(buf, HEAD_BYTES, HEAD_MAGIC "\nseq %lld\nhash %s\n"
		    "path %s\npending %lld %s %s %s\n", (long long)h->seq,
		    h->hash, h->path, (long long)h->pseq, h->phash, h->pprefix,
		    h->ptmp);
	else
		n = snprintf(buf, HEAD_BYTES, HEAD_MAGIC "\nseq %lld\nhash %s\n"
		    "path %s\npending -\n", (long long)h->seq, h->hash, h->path);
	if (n < 0 || n + 6 + 33 + 1 >= HEAD_BYTES)
		return -1;
	crypto_generichash(ck, sizeof(ck), (unsigned char *)buf, n, NULL, 0);
	aim_hex(ck, sizeof(ck), hex);
	m = snprintf(buf + n, HEAD_BYTES - n, "check %s\n", hex);
	memset(buf + n + m, ' ', HEAD_BYTES - n - m - 1);
	buf[HEAD_BYTES - 1] = '\n';
	return 0;
}

/* 1 parsed, 0 empty file, -1 damaged. */
static int
head_parse(const char *buf, size_t len, struct head *h)
{
	unsigned char ck[16];
	char hex[33], want[40], text[HEAD_BYTES + 1];
	const char *c;
	long long seq, pseq;
	int n;

	head_empty(h);
	if (len == 0)
		return 0;
	/* sscanf(3) below needs a string: the file's bytes are not one. */
	if (len > HEAD_BYTES)
		return -1;
	memcpy(text, buf, len);
	text[len] = '\0';
	buf = text;
	if ((c = memmem(buf, len, "check ", 6)) == NULL ||
	    (size_t)(c - buf) + 6 + 32 > len)
		return -1;
	crypto_generichash(ck, sizeof(ck), (const unsigned char *)buf, c - buf,
	    NULL, 0);
	aim_hex(ck, sizeof(ck), hex);
	memcpy(want, c + 6, 32);
	want[32] = '\0';
	if (strcmp(hex, want) != 0)
		return -1;
	n = 0;
	if (sscanf(buf, HEAD_MAGIC "\nseq %lld\nhash %64s\npath %4095s\n%n",
	    &seq, h->hash, h->path, &n) != 3 || n == 0 || seq < 0)
		return -1;
	h->seq = seq;
	if (strncmp(buf + n, "pending -\n", 10) == 0)
		return 1;
	if (sscanf(buf + n, "pending %lld %64s %4095s %4095s\n", &pseq,
	    h->phash, h->pprefix, h->ptmp) != 4 || seq == LLONG_MAX ||
	    pseq != seq + 1)
		return -1;
	h->pseq = pseq;
	return 1;
}

static int
head_write(struct aim_chain *c, const struct head *h, int sync)
{
	char buf[HEAD_BYTES];
	ssize_t n;

	if (head_format(h, buf) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	n = pwrite(c->fd, buf, sizeof(buf), 0);
	if (n != (ssize_t)sizeof(buf)) {
		if (n >= 0)
			errno = ENOSPC;
		return -1;
	}
	if (sync && fdatasync(c->fd) == -1)
		return -1;
	c->seq = h->seq;
	aim_unhex(h->hash, c->hash, AIM_HASH_BYTES);
	snprintf(c->path, sizeof(c->path), "%s", h->path);
	return 0;
}

static int
head_read(struct aim_chain *c, struct head *h)
{
	char buf[HEAD_BYTES];
	ssize_t n;

	n = pread(c->fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -2;
	return head_parse(buf, (size_t)n, h);
}

/* ---- scanning a directory ---- */

static int
is_day(const char *s)
{
	static const char pat[] = "dddd-dd-dd";
	size_t i;

	for (i = 0; i < sizeof(pat) - 1; i++)
		if (pat[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != '-')
			return 0;
	return s[i] == '\0';
}

/* Does path start with "YYYY-MM-DD/", as scanned entries do? */
static int
is_day_prefix(const char *path)
{
	char day[11];

	if (strlen(path) < 11 || path[10] != '/')
		return 0;
	memcpy(day, path, 10);
	day[10] = '\0';
	return is_day(day);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The day directories of dir, sorted; NULL-terminated, malloc'd. */
static char **
list_days(const char *dir, int *err)
{
	DIR *d;
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, cap = 0;

	*err = 0;
	if ((d = opendir(dir)) == NULL) {
		*err = errno;
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (!is_day(de->d_name))
			continue;
		if (n + 2 > cap) {
			cap = cap ? cap * 2 : 16;
			v = aim_xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = aim_xstrdup(de->d_name);
	}
	closedir(d);
	if (v == NULL)
		v = aim_xmalloc(sizeof(*v));
	v[n] = NULL;
	qsort(v, n, sizeof(*v), cmp_str);
	return v;
}

static void
strv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static void
scan_add(struct aim_scan *s, struct aim_scan_entry *e)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = aim_xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = *e;
}

/* Fill one scanned entry from a file's bytes. */
static void
scan_one(struct aim_scan *s, const char *rel, const char *buf, size_t len,
    int keep_json)
{
	struct aim_scan_entry e;
	json_error_t jerr;
	json_t *j, *v;
	char prefix[PATH_MAX];

	memset(&e, 0, sizeof(e));
	e.path = aim_xstrdup(rel);
	e.size_bytes = len;
	aim_hash(buf, len, e.hash);
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(j)) {
		e.bad = "not a JSON object";
		json_decref(j);
		scan_add(s, &e);
		return;
	}
	v = json_object_get(j, "seq");
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		e.seq = json_integer_value(v);
		if (aim_unhex(json_string_value(json_object_get(j, "prev")),
		    e.prev, AIM_HASH_BYTES) == -1)
			e.bad = "prev is not 64 hex digits";
	} else if (v == NULL)
		e.bad = "no seq: not in the chain";
	else
		e.bad = "seq is not a positive integer";
	if (entry_prefix(j, prefix, sizeof(prefix)) == -1 ||
	    !name_matches(rel, prefix))
		e.misnamed = 1;
	v = json_object_get(j, "kind");
	e.is_prune = json_is_string(v) && strcmp(json_string_value(v),
	    "prune") == 0;
	if (e.is_prune) {
		v = json_object_get(j, "pruned");
		e.prune_seq = json_integer_value(json_object_get(v,
		    "through_seq"));
		if (e.prune_seq < 1 || aim_unhex(json_string_value(
		    json_object_get(v, "through_hash")), e.prune_hash,
		    AIM_HASH_BYTES) == -1) {
			e.bad = "prune entry without through_seq and through_hash";
			e.is_prune = 0;
		} else if (e.prune_seq == INT64_MAX ||
		    (e.seq > 0 && e.prune_seq >= e.seq)) {
			/* It is appended after what it prunes; and seq + 1. */
			e.bad = "prune entry's through_seq is not below its own seq";
			e.is_prune = 0;
		}
	}
	if (keep_json)
		e.json = j;
	else
		json_decref(j);
	scan_add(s, &e);
}

static int
cmp_entry(const void *a, const void *b)
{
	const struct aim_scan_entry *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return strcmp(x->path, y->path);
}

int
aim_chain_scan(const char *dir, struct aim_scan *s, const char *since_day,
    const char *until_day, int keep_json, char **why)
{
	char **days, *buf, rel[PATH_MAX], daypath[PATH_MAX];
	struct dirent *de;
	size_t i, len;
	DIR *d;
	int err, dfd, rc = 0;

	memset(s, 0, sizeof(*s));
	if ((days = list_days(dir, &err)) == NULL) {
		errno = err;
		if (err == ENOENT)
			return 0;
		return setwhy(why, "can't read %s: %s", dir, strerror(err));
	}
	for (i = 0; days[i] != NULL; i++) {
		if (since_day != NULL && strcmp(days[i], since_day) < 0)
			continue;
		if (until_day != NULL && strcmp(days[i], until_day) > 0)
			continue;
		snprintf(daypath, sizeof(daypath), "%s/%s", dir, days[i]);
		if ((d = opendir(daypath)) == NULL) {
			rc = setwhy(why, "can't read %s: %s", daypath,
			    strerror(errno));
			continue;
		}
		dfd = dirfd(d);
		while ((de = readdir(d)) != NULL) {
			len = strlen(de->d_name);
			if (de->d_name[0] == '.' || len < 6 ||
			    strcmp(de->d_name + len - 5, ".json") != 0)
				continue;
			snprintf(rel, sizeof(rel), "%s/%s", days[i], de->d_name);
			if (slurp(dfd, de->d_name, &buf, &len) == -1) {
				struct aim_scan_entry e;

				memset(&e, 0, sizeof(e));
				e.path = aim_xstrdup(rel);
				e.bad = "can't be read";
				scan_add(s, &e);
				continue;
			}
			scan_one(s, rel, buf, len, keep_json);
			free(buf);
		}
		closedir(d);
	}
	strv_free(days);
	if (s->n > 0)
		qsort(s->v, s->n, sizeof(*s->v), cmp_entry);
	return rc;
}

void
aim_chain_scan_free(struct aim_scan *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->v[i].path);
		json_decref(s->v[i].json);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---- the writer ---- */

/*
 * A new audit directory gets a .gitignore holding "*" (aim-audit(1)
 * "Audit directory"), so entries, whole payloads, are not committed by
 * accident: written to a temporary name, synced, linked into place (never
 * over one there already).  0, or -1 with *why.
 */
static int
gitignore(const char *dir, char **why)
{
	char tmp[PATH_MAX], final[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s/.gitignore.tmp-%ld", dir,
	    (long)getpid());
	snprintf(final, sizeof(final), "%s/.gitignore", dir);
	if (aim_write_file_new(tmp, "*\n", 2, 0600, 0, NULL) == -1)
		return setwhy(why, "can't write %s: %s", tmp, strerror(errno));
	if (link(tmp, final) == -1 && errno != EEXIST) {
		setwhy(why, "can't link %s: %s", final, strerror(errno));
		unlink(tmp);
		return -1;
	}
	unlink(tmp);
	return 0;
}

int
aim_chain_open(struct aim_chain *c, const char *dir, char **why)
{
	char path[PATH_MAX];
	struct stat st;
	int created;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (sodium_init() < 0)
		return setwhy(why, "can't initialise libsodium");
	if (snprintf(path, sizeof(path), "%s/%s", dir, AIM_CHAIN_HEAD) >=
	    (int)sizeof(path) - 200) {
		errno = ENAMETOOLONG;
		return setwhy(why, "can't use %s: %s", dir, strerror(errno));
	}
	created = stat(dir, &st) == -1 && errno == ENOENT;
	if (aim_mkdirs(dir) == -1)
		return setwhy(why, "can't create %s: %s", dir, strerror(errno));
	if (created && gitignore(dir, why) == -1)
		return -1;
	if ((c->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1)
		return setwhy(why, "can't open %s: %s", path, strerror(errno));
	if (fstat(c->fd, &st) == 0 && st.st_size == 0)
		aim_fsync_dir(dir);	/* the new head's name is durable */
	c->dir = aim_xstrdup(dir);
	return 0;
}

void
aim_chain_close(struct aim_chain *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	free(c->dir);
	c->dir = NULL;
}

/*
 * The head rebuilt from the entries on disk: the highest seq whose entry
 * is in the chain.  Used when the head is missing or damaged.
 */
static int
head_rebuild(struct aim_chain *c, struct head *h, char **why)
{
	struct aim_scan s;
	size_t i;

	head_empty(h);
	if (aim_chain_scan(c->dir, &s, NULL, NULL, 0, why) == -1) {
		aim_chain_scan_free(&s);
		return -1;
	}
	for (i = s.n; i-- > 0; )
		if (s.v[i].seq > 0 && s.v[i].bad == NULL) {
			h->seq = s.v[i].seq;
			aim_hex(s.v[i].hash, AIM_HASH_BYTES, h->hash);
			snprintf(h->path, sizeof(h->path), "%s", s.v[i].path);
			break;
		}
	aim_chain_scan_free(&s);
	return 0;
}

/* Past the digits s starts with, or NULL when it starts with none. */
static const char *
digits(const char *s)
{
	if (!isdigit((unsigned char)*s))
		return NULL;
	while (isdigit((unsigned char)*s))
		s++;
	return s;
}

/*
 * Is name (no directory) one the writer gives: an entry prefix
 * "<stamp>_<tool>_<capability>" whose stamp is of day (is_tmp 0), or a
 * temporary file ".tmp-<pid>-<n>" (is_tmp 1)?  Neither holds a '/', so
 * neither leaves the day directory.
 */
static int
writer_name(const char *name, const char *day, int is_tmp)
{
	static const char pat[] = "dddd-dd-ddTdd-dd-dd-dddddd_";
	const char *p;
	size_t i;

	if (is_tmp)
		return strncmp(name, ".tmp-", 5) == 0 &&
		    (p = digits(name + 5)) != NULL && *p == '-' &&
		    (p = digits(p + 1)) != NULL && *p == '\0';
	if (strncmp(name, day, 10) != 0)
		return 0;
	for (i = 0; i < sizeof(pat) - 1; i++)
		if (pat[i] == 'd' ? !isdigit((unsigned char)name[i]) :
		    name[i] != pat[i])
			return 0;
	if (name[i] == '\0')
		return 0;
	for (p = name + i; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL)
			return 0;
	return 1;
}

/*
 * Split "YYYY-MM-DD/name" into day and name, when it is a name the writer
 * gives (writer_name) in a day directory.  0, or -1.
 */
static int
pending_name(const char *rel, char day[11], const char **name, int is_tmp)
{
	if (!is_day_prefix(rel))
		return -1;
	memcpy(day, rel, 10);
	day[10] = '\0';
	*name = rel + 11;
	return writer_name(*name, day, is_tmp) ? 0 : -1;
}

/*
 * Finish what an interrupted writer left (called with the lock held): a
 * pending entry that reached its final name is adopted, one that did not
 * never existed; its temporary file goes.  The pending line is only
 * trusted to name a day directory of c->dir and, in it, an entry prefix
 * and a temporary file of the writer's patterns (aim-audit(1) "The
 * chain"): anything else ("..", a '/' in a name, an absolute path), or a
 * day directory that is a symbolic link, is left alone with a warning and
 * the pending line dropped, so whoever can write the head cannot make the
 * next writer remove a file outside the audit directory.
 */
static int
head_recover(struct aim_chain *c, struct head *h, char **why)
{
	char day[11], tday[11], *buf, rel[sizeof(day) + NAME_MAX + 1];
	unsigned char hash[AIM_HASH_BYTES];
	char hex[AIM_HASH_HEX_BYTES + 1];
	const char *pname, *tname;
	struct dirent *de;
	struct stat st;
	size_t len;
	DIR *d = NULL;
	int found = 0, dfd = -1, top;

	if (pending_name(h->pprefix, day, &pname, 0) == -1 ||
	    pending_name(h->ptmp, tday, &tname, 1) == -1 ||
	    strcmp(day, tday) != 0) {
		warnx("%s/%s: pending write names %s and %s, not files of a "
		    "day directory: nothing removed", c->dir, AIM_CHAIN_HEAD,
		    h->pprefix, h->ptmp);
		goto done;
	}
	/* The day directory itself, never through a symbolic link. */
	if ((top = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (dfd = openat(top, day, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			warnx("%s/%s: %s: pending write left alone", c->dir,
			    day, top != -1 && fstatat(top, day, &st,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) ?
			    "a symbolic link" : strerror(errno));
		if (top != -1)
			close(top);
		goto done;
	}
	close(top);
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		goto done;
	}
	while (!found && (de = readdir(d)) != NULL) {
		snprintf(rel, sizeof(rel), "%s/%s", day, de->d_name);
		if (!name_matches(rel, h->pprefix) ||
		    slurp(dfd, de->d_name, &buf, &len) == -1)
			continue;
		aim_hash(buf, len, hash);
		free(buf);
		aim_hex(hash, sizeof(hash), hex);
		if (strcmp(hex, h->phash) == 0)
			found = 1;
	}
	/* unlinkat(2) of a name never follows it: a link goes, not its target. */
	unlinkat(dfd, tname, 0);
	closedir(d);
	if (found) {
		warnx("%s: seq %lld: entry of an interrupted write adopted",
		    rel, (long long)h->pseq);
		h->seq = h->pseq;
		memcpy(h->hash, h->phash, sizeof(h->hash));
		snprintf(h->path, sizeof(h->path), "%s", rel);
	}
done:
	h->pseq = 0;
	if (head_write(c, h, 0) == -1)
		return setwhy(why, "can't write %s/%s: %s", c->dir,
		    AIM_CHAIN_HEAD, strerror(errno));
	return 0;
}

/*
 * Take the head file's flock (exclusive: a writer; shared: a reader such as
 * verify) and read the head into c.  Exclusive, it also repairs: a missing
 * or damaged head is rebuilt from the entries (warning on stderr when
 * entries existed), and a write left pending by a killed writer is
 * finished: the entry is adopted when it reached its final name (warning
 * "<rel>: seq N: entry of an interrupted write adopted"), else forgotten,
 * and its temporary file removed.  0, or -1 with *why.
 */
static int
chain_lock(struct aim_chain *c, int exclusive, char **why)
{
	struct head h;
	int rc;

	while (flock(c->fd, exclusive ? LOCK_EX : LOCK_SH) == -1)
		if (errno != EINTR)
			return setwhy(why, "can't lock %s/%s: %s", c->dir,
			    AIM_CHAIN_HEAD, strerror(errno));
	c->locked = 1;
	rc = head_read(c, &h);
	c->head_state = rc;
	if (rc == -2) {
		setwhy(why, "can't read %s/%s: %s", c->dir, AIM_CHAIN_HEAD,
		    strerror(errno));
		chain_unlock(c);
		return -1;
	}
	if (rc == 1) {
		snprintf(c->path, sizeof(c->path), "%s", h.path);
		c->seq = h.seq;
		aim_unhex(h.hash, c->hash, AIM_HASH_BYTES);
		c->pending_seq = h.pseq;
		if (h.pseq > 0)
			aim_unhex(h.phash, c->pending_hash,
			    AIM_HASH_BYTES);
	}
	if (!exclusive)
		return 0;
	if (rc != 1) {
		/* No head, or a damaged one: the entries say where it is. */
		if (head_rebuild(c, &h, why) == -1) {
			chain_unlock(c);
			return -1;
		}
		if (rc == -1 || h.seq > 0)
			warnx("%s/%s: %s; rebuilt from the entries at seq %lld",
			    c->dir, AIM_CHAIN_HEAD, rc == -1 ? "damaged" :
			    "missing", (long long)h.seq);
		if (head_write(c, &h, 1) == -1) {
			setwhy(why, "can't write %s/%s: %s", c->dir,
			    AIM_CHAIN_HEAD, strerror(errno));
			chain_unlock(c);
			return -1;
		}
	} else if (h.pseq > 0 && head_recover(c, &h, why) == -1) {
		chain_unlock(c);
		return -1;
	}
	c->pending_seq = 0;
	return 0;
}

static void
chain_unlock(struct aim_chain *c)
{
	if (c->locked)
		flock(c->fd, LOCK_UN);
	c->locked = 0;
}

static char *
chain_append_locked(struct aim_chain *c, json_t *entry, char **why)
{
	static unsigned long counter;
	char iso[32], stamp[32], day[16], daydir[PATH_MAX], tmp[PATH_MAX];
	char prefix[PATH_MAX], final[PATH_MAX], rel[PATH_MAX], *text;
	char hex[AIM_HASH_HEX_BYTES + 1];
	unsigned char hash[AIM_HASH_BYTES];
	struct head h, old;
	size_t len;
	int k;

	aim_utc_stamp(iso, stamp, day);
	json_object_set_new(entry, "timestamp", json_string(iso));
	json_object_set_new(entry, "seq", json_integer(c->seq + 1));
	aim_hex(c->hash, AIM_HASH_BYTES, hex);
	json_object_set_new(entry, "prev", json_string(hex));
	if (snprintf(daydir, sizeof(daydir), "%s/%s", c->dir, day) >=
	    (int)sizeof(daydir) - 200 || entry_prefix(entry, prefix,
	    sizeof(prefix)) == -1) {
		errno = ENAMETOOLONG;
		setwhy(why, "can't use %s: %s", c->dir, strerror(errno));
		return NULL;
	}
	if (aim_mkdirs(daydir) == -1) {
		setwhy(why, "can't create %s: %s", daydir, strerror(errno));
		return NULL;
	}
	if ((text = json_dumps(entry, JSON_INDENT(2))) == NULL) {
		errno = ENOMEM;
		setwhy(why, "can't encode entry for %s", daydir);
		return NULL;
	}
	len = strlen(text);
	text[len++] = '\n';	/* json_dumps left room: it was the NUL */
	aim_hash(text, len, hash);
	/* daydir left 200 bytes for the names below: a cut is a bug. */
	if (snprintf(rel, sizeof(rel), "%s/.tmp-%ld-%lu", day, (long)getpid(),
	    counter++) >= (int)sizeof(rel) || snprintf(tmp, sizeof(tmp),
	    "%s/%s", c->dir, rel) >= (int)sizeof(tmp)) {
		free(text);
		errno = ENAMETOOLONG;
		setwhy(why, "can't use %s: %s", c->dir, strerror(errno));
		return NULL;
	}
	head_empty(&old);
	old.seq = c->seq;
	aim_hex(c->hash, AIM_HASH_BYTES, old.hash);
	snprintf(old.path, sizeof(old.path), "%s", c->path[0] ? c->path : "-");
	if (c->seq == 0)
		strcpy(old.path, "-");
	h = old;
	h.pseq = c->seq + 1;
	snprintf(h.pprefix, sizeof(h.pprefix), "%s", prefix);
	snprintf(h.ptmp, sizeof(h.ptmp), "%s", rel);
	/*
	 * Name the temporary file first (a zero hash: nothing to adopt yet),
	 * unsynced: only for a killed writer's leftovers, not a power cut's.
	 */
	strcpy(h.phash, zero_hex);
	if (head_write(c, &h, 0) == -1) {
		setwhy(why, "can't write %s/%s: %s", c->dir, AIM_CHAIN_HEAD,
		    strerror(errno));
		free(text);
		head_write(c, &old, 0);
		return NULL;
	}
	if (aim_write_file_new(tmp, text, len, 0600, 0, NULL) == -1) {
		setwhy(why, "can't write %s: %s", tmp, strerror(errno));
		free(text);
		head_write(c, &old, 0);
		return NULL;
	}
	free(text);

	/* Say what is about to appear, durably, before it can appear. */
	aim_hex(hash, sizeof(hash), h.phash);
	if (head_write(c, &h, 1) == -1) {
		setwhy(why, "can't write %s/%s: %s", c->dir, AIM_CHAIN_HEAD,
		    strerror(errno));
		unlink(tmp);
		head_write(c, &old, 0);
		return NULL;
	}

	/* link(2) never replaces: a name taken gets -2, -3, ... */
	for (k = 1; k <= MAX_COLLISIONS; k++) {
		if ((k == 1 ? snprintf(rel, sizeof(rel), "%s.json", prefix) :
		    snprintf(rel, sizeof(rel), "%s-%d.json", prefix, k)) >=
		    (int)sizeof(rel) || snprintf(final, sizeof(final), "%s/%s",
		    c->dir, rel) >= (int)sizeof(final)) {
			errno = ENAMETOOLONG;
			setwhy(why, "can't name an entry in %s: %s", daydir,
			    strerror(errno));
			goto undo;
		}
		if (link(tmp, final) == 0)
			break;
		if (errno != EEXIST) {
			setwhy(why, "can't link %s: %s", final,
			    strerror(errno));
			goto undo;
		}
	}
	if (k > MAX_COLLISIONS) {
		errno = EEXIST;
		setwhy(why, "can't name entry in %s: %s", daydir,
		    strerror(errno));
		goto undo;
	}
	unlink(tmp);
	if (aim_fsync_dir(daydir) == -1) {
		setwhy(why, "can't sync %s: %s", daydir, strerror(errno));
		unlink(final);
		goto undo;
	}
	h.seq = h.pseq;
	memcpy(h.hash, h.phash, sizeof(h.hash));
	snprintf(h.path, sizeof(h.path), "%s", rel);
	h.pseq = 0;
	/* No sync: a lost update is recovered from the pending line. */
	if (head_write(c, &h, 0) == -1) {
		setwhy(why, "can't write %s/%s: %s", c->dir, AIM_CHAIN_HEAD,
		    strerror(errno));
		return NULL;	/* the entry stands; the next lock adopts it */
	}
	snprintf(c->path, sizeof(c->path), "%s", rel);
	return aim_xstrdup(final);

undo:
	unlink(tmp);
	head_write(c, &old, 0);
	return NULL;
}

char *
aim_chain_append(struct aim_chain *c, json_t *entry, char **why)
{
	char *path;

	if (chain_lock(c, 1, why) == -1)
		return NULL;
	path = chain_append_locked(c, entry, why);
	chain_unlock(c);
	return path;
}

/* ---- management events ---- */

int
aim_audit_event_kind(const char *kind)
{
	const char *const *k;

	for (k = event_kinds; *k != NULL; k++)
		if (strcmp(kind, *k) == 0)
			return 1;
	return 0;
}

const char *const *
aim_audit_event_kinds(void)
{
	return event_kinds;
}

/* Who is acting: the login name of the effective user, else "uid N". */
static json_t *
actor_name(void)
{
	struct passwd *pw = getpwuid(geteuid());
	char buf[32];

	if (pw != NULL && pw->pw_name != NULL && *pw->pw_name != '\0')
		return json_string(pw->pw_name);
	snprintf(buf, sizeof(buf), "uid %ld", (long)geteuid());
	return json_string(buf);
}

int
aim_audit_event(const char *dir, const char *kind, json_t *details,
    char **why)
{
	struct aim_chain c;
	json_t *e;
	char *path;

	if (why != NULL)
		*why = NULL;
	if (kind == NULL || !aim_audit_event_kind(kind)) {
		errno = EINVAL;
		return setwhy(why, "unknown event kind %s", kind ? kind : "(null)");
	}
	if (dir == NULL) {
		errno = EINVAL;
		return setwhy(why, "no audit directory");
	}
	e = json_object();
	json_object_set_new(e, "timestamp", json_string(""));
	json_object_set_new(e, "kind", json_string(kind));
	json_object_set_new(e, "actor", actor_name());
	json_object_set_new(e, "program",
	    json_string(program_invocation_short_name));
	json_object_set_new(e, "event", json_is_object(details) ?
	    json_deep_copy(details) : json_object());
	json_object_set_new(e, "contract", json_string(AIM_CONTRACT));
	/* Secret values first, whole: a key pattern inside one would cut it. */
	aim_redact_secrets(e);
	aim_redact(json_object_get(e, "event"));
	if (aim_chain_open(&c, dir, why) == -1) {
		json_decref(e);
		return -1;
	}
	path = aim_chain_append(&c, e, why);
	aim_chain_close(&c);
	json_decref(e);
	if (path == NULL)
		return -1;
	free(path);
	return 0;
}

/* ---- verify ---- */

static void
problem(struct aim_verify *vr, const char *path, int64_t seq,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Say one problem on stderr: "<file>: seq N: message", the file of an
 * entry (path relative to the audit directory, not starting with '/' and
 * found in the scan) given in full.
 */
static void
problem(struct aim_verify *vr, const char *path, int64_t seq,
    const char *fmt, ...)
{
	va_list ap;
	char *msg, full[PATH_MAX * 2];

	if (path[0] != '/' && vr->dir != NULL && is_day_prefix(path)) {
		snprintf(full, sizeof(full), "%s/%s", vr->dir, path);
		path = full;
	}

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	if (seq > 0)
		warnx("%s: seq %lld: %s", path, (long long)seq, msg ? msg : "?");
	else
		warnx("%s: %s", path, msg ? msg : "?");
	free(msg);
	vr->problems++;
}

/* "seq 3" or "seq 3..5". */
static const char *
seqs(char buf[64], int64_t a, int64_t b)
{
	if (a == b)
		snprintf(buf, 64, "seq %lld", (long long)a);
	else
		snprintf(buf, 64, "seq %lld..%lld", (long long)a, (long long)b);
	return buf;
}

/* Index of the entry of seq in s (sorted; the first of duplicates), or -1. */
static ssize_t
find_seq(const struct aim_scan *s, int64_t seq)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && s->v[lo].seq == seq ? (ssize_t)lo : -1;
}

int
aim_chain_verify(const char *dir, struct aim_verify *vr, char **why)
{
	struct aim_chain c;
	struct aim_scan *s = &vr->scan;
	struct aim_scan_entry *e, *last = NULL, *pr = NULL;
	char headname[PATH_MAX], rb[64];
	size_t i, first = 0;
	int64_t start = 1;

	snprintf(headname, sizeof(headname), "%s/%s", dir, AIM_CHAIN_HEAD);
	vr->dir = dir;
	memset(&c, 0, sizeof(c));
	c.fd = open(headname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (c.fd == -1 && errno != ENOENT)
		return setwhy(why, "can't open %s: %s", headname,
		    strerror(errno));
	c.dir = aim_xstrdup(dir);
	if (c.fd != -1 && chain_lock(&c, 0, why) == -1) {
		aim_chain_close(&c);
		return -1;
	}
	vr->head_state = c.fd == -1 ? 0 : c.head_state;
	vr->head_seq = c.seq;
	memcpy(vr->head_hash, c.hash, AIM_HASH_BYTES);
	if (aim_chain_scan(dir, s, NULL, NULL, 0, why) == -1) {
		aim_chain_close(&c);
		return -1;
	}

	/* Entries that are not links of the chain at all. */
	for (i = 0; i < s->n; i++) {
		e = &s->v[i];
		if (e->bad != NULL)
			problem(vr, e->path, 0, "%s", e->bad);
		else if (e->misnamed)
			problem(vr, e->path, e->seq, "file name does not match "
			    "the entry's timestamp, tool and capability: "
			    "moved, renamed or swapped");
		if (e->is_prune && (pr == NULL || e->prune_seq > pr->prune_seq))
			pr = e;
	}
	while (first < s->n && s->v[first].seq == 0)
		first++;
	vr->entries = s->n - first;

	/* Where the chain starts: seq 1, or right after the last prune. */
	if (pr != NULL) {
		start = pr->prune_seq + 1;
		for (i = first; i < s->n && s->v[i].seq < start; i++) {
			problem(vr, s->v[i].path, s->v[i].seq, "still here "
			    "although the prune entry %s removed seq 1..%lld",
			    pr->path, (long long)pr->prune_seq);
			first = i + 1;
		}
	}
	if (first < s->n) {
		e = &s->v[first];
		vr->first_seq = e->seq;
		if (e->seq > start)
			problem(vr, e->path, e->seq, "%s missing before it: "
			    "deleted", seqs(rb, start, e->seq - 1));
		else if (pr != NULL && sodium_memcmp(e->prev, pr->prune_hash,
		    AIM_HASH_BYTES) != 0)
			problem(vr, e->path, e->seq, "prev does not match the "
			    "hash of seq %lld committed by the prune entry %s",
			    (long long)pr->prune_seq, pr->path);
		else if (pr == NULL && !sodium_is_zero(e->prev,
		    AIM_HASH_BYTES))
			problem(vr, e->path, e->seq, "prev of the first entry "
			    "is not zero");
		last = e;
	}
	for (i = first + 1; i < s->n; i++) {
		e = &s->v[i];
		if (e->seq == last->seq) {
			problem(vr, e->path, e->seq, "duplicate of %s: "
			    "inserted or copied", last->path);
			continue;
		}
		if (e->seq > last->seq + 1)
			problem(vr, e->path, e->seq, "%s missing before it: "
			    "deleted", seqs(rb, last->seq + 1, e->seq - 1));
		else if (sodium_memcmp(e->prev, last->hash,
		    AIM_HASH_BYTES) != 0)
			problem(vr, last->path, last->seq, "hash does not match "
			    "prev of seq %lld: entry edited or replaced",
			    (long long)e->seq);
		last = e;
	}

	/* The head. */
	if (last != NULL) {
		vr->last_seq = last->seq;
		memcpy(vr->last_hash, last->hash, AIM_HASH_BYTES);
	}
	if (vr->head_state == 0) {
		if (last != NULL)
			problem(vr, headname, 0, "missing, but the directory "
			    "holds entries up to seq %lld", (long long)last->seq);
	} else if (vr->head_state == -1) {
		problem(vr, headname, 0, "damaged: check does not match");
	} else if (last == NULL) {
		if (c.seq > 0)
			problem(vr, headname, 0, "says seq %lld, but the "
			    "directory holds no entry: deleted",
			    (long long)c.seq);
	} else if (c.pending_seq > 0 && last->seq == c.pending_seq &&
	    sodium_memcmp(last->hash, c.pending_hash,
	    AIM_HASH_BYTES) == 0) {
		/* An interrupted write that got its name: fine. */
	} else if (last->seq > c.seq) {
		problem(vr, s->v[find_seq(s, c.seq + 1) < 0 ? s->n - 1 :
		    (size_t)find_seq(s, c.seq + 1)].path, c.seq + 1,
		    "%s beyond the head (seq %lld): inserted, or left by an "
		    "interrupted write", seqs(rb, c.seq + 1, last->seq),
		    (long long)c.seq);
	} else if (last->seq < c.seq) {
		problem(vr, headname, 0, "says seq %lld, but the chain ends "
		    "at seq %lld (%s): the newest entries were deleted",
		    (long long)c.seq, (long long)last->seq, last->path);
	} else if (sodium_memcmp(last->hash, c.hash,
	    AIM_HASH_BYTES) != 0) {
		problem(vr, last->path, last->seq, "hash does not match the "
		    "head: entry edited or replaced");
	}
	aim_chain_close(&c);
	return 0;
}

void
aim_verify_free(struct aim_verify *vr)
{
	aim_chain_scan_free(&vr->scan);
	memset(vr, 0, sizeof(*vr));
}

int
aim_verify_checkpoint(struct aim_verify *vr, const char *name,
    const struct aim_checkpoint *cp)
{
	const struct aim_scan *s = &vr->scan;
	ssize_t i;
	size_t j;
	int64_t pruned = 0;

	for (j = 0; j < s->n; j++)
		if (s->v[j].is_prune && s->v[j].prune_seq > pruned)
			pruned = s->v[j].prune_seq;
	if (cp->seq == 0)
		return 0;
	if (cp->seq > vr->last_seq) {
		problem(vr, name, cp->seq, "the log ends at seq %lld: "
		    "truncated or rolled back", (long long)vr->last_seq);
		return -1;
	}
	if (cp->seq < pruned)
		return 1;	/* pruned away: nothing left to compare */
	if (cp->seq == pruned && (i = find_seq(s, cp->seq)) < 0) {
		for (j = 0; j < s->n; j++)
			if (s->v[j].is_prune && s->v[j].prune_seq == pruned)
				break;
		if (sodium_memcmp(s->v[j].prune_hash, cp->hash,
		    AIM_HASH_BYTES) != 0) {
			problem(vr, name, cp->seq, "hash does not match the "
			    "one the prune entry %s committed to",
			    s->v[j].path);
			return -1;
		}
		return 0;
	}
	if ((i = find_seq(s, cp->seq)) < 0) {
		problem(vr, name, cp->seq, "not in the log: deleted");
		return -1;
	}
	if (sodium_memcmp(s->v[i].hash, cp->hash, AIM_HASH_BYTES) != 0) {
		problem(vr, name, cp->seq, "hash does not match %s/%s: the log "
		    "was rewritten", vr->dir, s->v[i].path);
		return -1;
	}
	return 0;
}

/* ---- keys and checkpoints ---- */

char *
aim_audit_key_path(void)
{
	const char *env = getenv("AIM_AUDIT_KEY");

	if (env != NULL && *env != '\0')
		return aim_abspath(env, NULL);
	return aim_xdg_path("XDG_DATA_HOME", ".local/share", "audit.key");
}

int
aim_audit_keygen(const char *seckey_path, char **pubhex, char **why)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char *sk;
	char *dir, *slash, pubpath[PATH_MAX], hex[2 * crypto_sign_SECRETKEYBYTES + 1];
	char line[2 * crypto_sign_SECRETKEYBYTES + 64];
	struct aim_write_fail f;
	int rc = -1;

	if (sodium_init() < 0)
		return setwhy(why, "can't initialise libsodium");
	if (snprintf(pubpath, sizeof(pubpath), "%s.pub", seckey_path) >=
	    (int)sizeof(pubpath)) {
		errno = ENAMETOOLONG;
		return setwhy(why, "can't use %s: %s", seckey_path,
		    strerror(errno));
	}
	dir = aim_xstrdup(seckey_path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (aim_mkdirs(dir) == -1) {
			setwhy(why, "can't create %s: %s", dir,
			    strerror(errno));
			free(dir);
			return -1;
		}
	}
	free(dir);
	if ((sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL)
		return setwhy(why, "out of secure memory");
	crypto_sign_keypair(pk, sk);
	aim_hex(sk, crypto_sign_SECRETKEYBYTES, hex);
	snprintf(line, sizeof(line), "aim-audit secret key 1\n%s\n", hex);
	if (aim_write_file_new(seckey_path, line, strlen(line), 0600, 0,
	    &f) == -1) {
		setwhy(why, "can't %s %s: %s", f.step == AIM_WRITE_CREATE ?
		    "create" : "write", seckey_path, strerror(errno));
		goto out;
	}
	aim_hex(pk, sizeof(pk), hex);
	snprintf(line, sizeof(line), "aim-audit public key 1\n%s\n", hex);
	if (aim_write_file_new(pubpath, line, strlen(line), 0644,
	    AIM_WRITE_UMASK, NULL) == -1) {
		setwhy(why, "can't write %s: %s", pubpath, strerror(errno));
		unlink(pubpath);
		unlink(seckey_path);
		goto out;
	}
	*pubhex = aim_xstrdup(hex);
	rc = 0;
out:
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(line, sizeof(line));
	sodium_free(sk);
	return rc;
}

/* Read "aim-audit <what> key 1\n<hex>\n" of n bytes into out. */
static int
read_key(const char *path, const char *what, unsigned char *out, size_t n,
    char **why)
{
	char *buf = NULL, head[64];
	size_t len, hl;
	int rc = -1;

	if (slurp(AT_FDCWD, path, &buf, &len) == -1)
		return setwhy(why, "can't read %s: %s", path, strerror(errno));
	hl = (size_t)snprintf(head, sizeof(head), "aim-audit %s key 1\n", what);
	errno = EINVAL;
	if (len != hl + 2 * n + 1 || strncmp(buf, head, hl) != 0 ||
	    buf[len - 1] != '\n')
		setwhy(why, "%s: not an aim-audit %s key", path, what);
	else {
		buf[len - 1] = '\0';
		if (aim_unhex(buf + hl, out, n) == -1)
			setwhy(why, "%s: not an aim-audit %s key", path, what);
		else
			rc = 0;
	}
	sodium_memzero(buf, len);
	free(buf);
	return rc;
}

int
aim_audit_pubkey_read(const char *path, unsigned char pk[AIM_PUBKEY_BYTES],
    char **why)
{
	return read_key(path, "public", pk, AIM_PUBKEY_BYTES, why);
}

char *
aim_checkpoint_make(const char *dir, const char *seckey_path, char **why)
{
	struct aim_chain c;
	unsigned char *sk, sig[crypto_sign_BYTES], pk[crypto_sign_PUBLICKEYBYTES];
	char iso[32], hex[AIM_HASH_HEX_BYTES + 1], pkhex[65], sighex[129];
	char *body, *out;
	int64_t seq;
	char *pwhy = NULL;

	if (sodium_init() < 0) {
		setwhy(why, "can't initialise libsodium");
		return NULL;
	}
	if (aim_private_file(seckey_path, "key file", &pwhy) == -1) {
		errno = EACCES;
		setwhy(why, "%s", pwhy ? pwhy : "unsafe key file");
		free(pwhy);
		return NULL;
	}
	free(pwhy);
	if ((sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL) {
		setwhy(why, "out of secure memory");
		return NULL;
	}
	if (read_key(seckey_path, "secret", sk, crypto_sign_SECRETKEYBYTES,
	    why) == -1) {
		sodium_free(sk);
		return NULL;
	}
	if (aim_chain_open(&c, dir, why) == -1 ||
	    chain_lock(&c, 1, why) == -1) {
		aim_chain_close(&c);
		sodium_free(sk);
		return NULL;
	}
	seq = c.seq;
	aim_hex(c.hash, AIM_HASH_BYTES, hex);
	chain_unlock(&c);
	aim_chain_close(&c);
	aim_utc_stamp(iso, NULL, NULL);
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	aim_hex(pk, sizeof(pk), pkhex);
	if (asprintf(&body, "aim-audit checkpoint 1\ndirectory %s\nseq %lld\n"
	    "head %s\ntime %s\nkey %s\n", dir, (long long)seq, hex, iso,
	    pkhex) == -1)
		body = NULL;
	if (body == NULL) {
		sodium_free(sk);
		setwhy(why, "out of memory");
		return NULL;
	}
	crypto_sign_detached(sig, NULL, (unsigned char *)body, strlen(body), sk);
	sodium_free(sk);
	aim_hex(sig, sizeof(sig), sighex);
	if (asprintf(&out, "%ssignature %s\n", body, sighex) == -1)
		out = NULL;
	free(body);
	if (out == NULL)
		setwhy(why, "out of memory");
	return out;
}

static int
checkpoint_parse(const char *text, const unsigned char pk[AIM_PUBKEY_BYTES],
    struct aim_checkpoint *cp, char **why)
{
	unsigned char sig[crypto_sign_BYTES], kpk[AIM_PUBKEY_BYTES];
	char dir[PATH_MAX], hex[80], tstr[40], key[80], sighex[160];
	const char *sigline;
	long long seq;
	int n = 0;

	if ((sigline = strstr(text, "signature ")) == NULL ||
	    (sigline != text && sigline[-1] != '\n'))
		return setwhy(why, "not an aim-audit checkpoint");
	if (sscanf(text, "aim-audit checkpoint 1\ndirectory %4095[^\n]\n"
	    "seq %lld\nhead %79s\ntime %39s\nkey %79s\n%n", dir, &seq, hex,
	    tstr, key, &n) != 5 || text + n != sigline || seq < 0 ||
	    aim_unhex(hex, cp->hash, AIM_HASH_BYTES) == -1 ||
	    aim_unhex(key, kpk, sizeof(kpk)) == -1 ||
	    sscanf(sigline, "signature %159s", sighex) != 1 ||
	    aim_unhex(sighex, sig, sizeof(sig)) == -1)
		return setwhy(why, "not an aim-audit checkpoint");
	cp->seq = seq;
	snprintf(cp->time, sizeof(cp->time), "%s", tstr);
	if (sodium_memcmp(kpk, pk, sizeof(kpk)) != 0 ||
	    crypto_sign_verify_detached(sig, (const unsigned char *)text,
	    (size_t)(sigline - text), pk) != 0)
		return setwhy(why, "bad signature: not signed by the key "
		    "given");
	return 0;
}

int
aim_checkpoint_parse(const char *text, size_t len,
    const unsigned char pk[AIM_PUBKEY_BYTES], struct aim_checkpoint *cp,
    char **why)
{
	char *copy;
	int rc;

	memset(cp, 0, sizeof(*cp));
	if (memchr(text, '\0', len) != NULL)
		return setwhy(why, "not an aim-audit checkpoint");
	/* strstr(3) and sscanf(3) need a string: len bytes are not one. */
	copy = aim_xmalloc(len + 1);
	memcpy(copy, text, len);
	copy[len] = '\0';
	rc = checkpoint_parse(copy, pk, cp, why);
	free(copy);
	return rc;
}

int
aim_checkpoint_read(const char *path, const unsigned char pk[AIM_PUBKEY_BYTES],
    struct aim_checkpoint *cp, char **why)
{
	char *buf;
	size_t len;
	int rc;

	if (slurp(AT_FDCWD, path, &buf, &len) == -1)
		return setwhy(why, "can't read: %s", strerror(errno));
	rc = aim_checkpoint_parse(buf, len, pk, cp, why);
	free(buf);
	return rc;
}

/* ---- prune ---- */

int
aim_chain_prune(const char *dir, int64_t days, int dry_run, json_t **report,
    char **why)
{
	struct aim_chain c;
	struct aim_scan s;
	char **list, cutoff[16], path[PATH_MAX * 2], hex[AIM_HASH_HEX_BYTES + 1];
	time_t now = time(NULL) - (time_t)days * 86400;
	struct tm tm;
	json_t *deleted, *entry;
	struct aim_scan_entry *top = NULL;
	struct dirent *de;
	size_t i, n = 0;
	DIR *d;
	char *epath;
	int err, dfd, rc = 0;

	gmtime_r(&now, &tm);
	strftime(cutoff, sizeof(cutoff), "%Y-%m-%d", &tm);
	if (aim_chain_open(&c, dir, why) == -1)
		return -1;
	if (chain_lock(&c, 1, why) == -1) {
		aim_chain_close(&c);
		return -1;
	}
	if ((list = list_days(dir, &err)) == NULL) {
		errno = err;
		setwhy(why, "can't read %s: %s", dir, strerror(err));
		aim_chain_close(&c);
		return -1;
	}
	deleted = json_array();
	for (i = 0; list[i] != NULL && strcmp(list[i], cutoff) < 0; i++)
		json_array_append_new(deleted, json_string(list[i]));
	/* The newest entry that goes: the prune entry commits to it. */
	memset(&s, 0, sizeof(s));
	if (json_array_size(deleted) > 0) {
		if (aim_chain_scan(dir, &s, NULL, list[i - 1], 0, why) == -1) {
			rc = -1;
			goto out;
		}
		for (n = 0; n < s.n; n++)
			if (s.v[n].seq > 0 && s.v[n].bad == NULL)
				top = &s.v[n];
		n = s.n;
	}
	*report = json_pack("{s:b, s:I, s:s, s:O, s:I}", "dry_run", dry_run,
	    "days", (json_int_t)days, "before", cutoff, "removed_days",
	    deleted, "removed_entries", (json_int_t)n);
	if (top != NULL) {
		aim_hex(top->hash, AIM_HASH_BYTES, hex);
		json_object_set_new(*report, "through_seq",
		    json_integer(top->seq));
		json_object_set_new(*report, "through_hash", json_string(hex));
	}
	if (dry_run || json_array_size(deleted) == 0)
		goto out;
	if (top != NULL) {
		entry = json_object();
		json_object_set_new(entry, "timestamp", json_string(""));
		json_object_set_new(entry, "kind", json_string("prune"));
		json_object_set_new(entry, "actor", actor_name());
		json_object_set_new(entry, "program",
		    json_string(program_invocation_short_name));
		json_object_set_new(entry, "pruned", json_pack("{s:I, s:s, s:O, "
		    "s:I, s:I, s:s}", "through_seq", (json_int_t)top->seq,
		    "through_hash", hex, "days", deleted, "entries",
		    (json_int_t)n, "retention_days", (json_int_t)days,
		    "before", cutoff));
		json_object_set_new(entry, "contract", json_string(AIM_CONTRACT));
		epath = chain_append_locked(&c, entry, why);
		json_decref(entry);
		if (epath == NULL) {
			rc = -1;
			goto out;
		}
		json_object_set_new(*report, "entry", json_string(epath));
		free(epath);
	}
	for (i = 0; i < json_array_size(deleted); i++) {
		const char *day = json_string_value(json_array_get(deleted, i));

		snprintf(path, sizeof(path), "%s/%s", dir, day);
		/* A day directory that is a symbolic link is not followed. */
		if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC)) == -1 || (d = fdopendir(dfd)) == NULL) {
			rc = setwhy(why, "can't read %s: %s", path,
			    errno == ENOTDIR || errno == ELOOP ?
			    "not a directory" : strerror(errno));
			if (dfd != -1)
				close(dfd);
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (unlinkat(dirfd(d), de->d_name, 0) == -1)
				rc = setwhy(why, "can't remove %s/%s: %s", path,
				    de->d_name, strerror(errno));
		}
		closedir(d);
		if (rmdir(path) == -1)
			rc = setwhy(why, "can't remove %s: %s", path,
			    strerror(errno));
	}
	if (aim_fsync_dir(dir) == -1)
		rc = setwhy(why, "can't sync %s: %s", dir, strerror(errno));
out:
	json_decref(deleted);
	aim_chain_scan_free(&s);
	strv_free(list);
	chain_unlock(&c);
	aim_chain_close(&c);
	return rc;
}
