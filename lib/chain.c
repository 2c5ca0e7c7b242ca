/*
 * chain.c: the writer of the tamper-evident audit trail (aim-audit(1) "The
 * chain"): every entry carries seq and prev (BLAKE2b-256 of the previous
 * entry's bytes), the head of the chain lives in <dir>/.aim-chain-head
 * under flock(2), interrupted writes are recovered, and the whole
 * directory can be scanned for verify, prune, query and stats.  verify.c
 * checks the chain, keys.c signs and prunes it (chain-int.h).
 */
#include <sys/file.h>
#include <sys/resource.h>
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

#include "chain-int.h"

#define HEAD_BYTES	1024
#define HEAD_MAGIC	"aim-audit-head 1"
#define MAX_COLLISIONS	1000

static const char zero_hex[AIM_HASH_HEX_BYTES + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static const char *const event_kinds[] = {
	"secret_set", "secret_get", "secret_delete", "health_check",
	"scan_execute", "config_update", "error", "tool_install",
	"tool_upgrade", "tool_rollback", "tool_uninstall", NULL
};

/* ---- small helpers ---- */

int
aim_chain_why(char **why, const char *fmt, ...)
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
 * where a group commit's pending line is instead
 *
 *	group <first seq> <count> <64 hex of the last> <day/.group-<pid>-<n>>
 *
 * naming the group file, which lists each entry's hash and name prefix.
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
	int64_t	 pcount;	/* a group: its entries (phash: the last's) */
	char	 pgroup[PATH_MAX];	/* a group: its group file */
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

	if (h->pseq > 0 && h->pcount > 0)
		n = snprintf(buf, HEAD_BYTES, HEAD_MAGIC "\nseq %lld\nhash %s\n"
		    "path %s\ngroup %lld %lld %s %s\n", (long long)h->seq,
		    h->hash, h->path, (long long)h->pseq, (long long)h->pcount,
		    h->phash, h->pgroup);
	else if (h->pseq > 0)
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
	long long seq, pseq, count;
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
	if (strncmp(buf + n, "group ", 6) == 0) {
		if (sscanf(buf + n, "group %lld %lld %64s %4095s\n", &pseq,
		    &count, h->phash, h->pgroup) != 4 || seq == LLONG_MAX ||
		    pseq != seq + 1 || count < 1 || count > LLONG_MAX - pseq)
			return -1;
		h->pseq = pseq;
		h->pcount = count;
		return 1;
	}
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
int
aim_chain_is_day_path(const char *path)
{
	char day[11];

	if (strlen(path) < 11 || path[10] != '/')
		return 0;
	memcpy(day, path, 10);
	day[10] = '\0';
	return is_day(day);
}

/* The day directories of dir, sorted; NULL-terminated, malloc'd. */
char **
aim_chain_days(const char *dir, int *err)
{
	DIR *d;
	char **v;

	*err = 0;
	if ((d = opendir(dir)) == NULL) {
		*err = errno;
		return NULL;
	}
	if ((v = aim_dir_sorted(d, is_day)) == NULL)
		*err = errno;
	closedir(d);
	return v;
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
	if ((days = aim_chain_days(dir, &err)) == NULL) {
		errno = err;
		if (err == ENOENT)
			return 0;
		return aim_chain_why(why, "can't read %s: %s", dir,
		    strerror(err));
	}
	for (i = 0; days[i] != NULL; i++) {
		if (since_day != NULL && strcmp(days[i], since_day) < 0)
			continue;
		if (until_day != NULL && strcmp(days[i], until_day) > 0)
			continue;
		snprintf(daypath, sizeof(daypath), "%s/%s", dir, days[i]);
		if ((d = opendir(daypath)) == NULL) {
			rc = aim_chain_why(why, "can't read %s: %s", daypath,
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
			if (aim_read_file(dfd, de->d_name, AIM_READ_NOFOLLOW,
	    AIM_CHAIN_ENTRY_MAX_BYTES, &buf, &len) == -1) {
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
	aim_strv_free(days);
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

int
aim_audit_gitignore(const char *dir, char **why)
{
	char tmp[PATH_MAX], final[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s/.gitignore.tmp-%ld", dir,
	    (long)getpid());
	snprintf(final, sizeof(final), "%s/.gitignore", dir);
	if (aim_write_file_new(tmp, "*\n", 2, 0600, 0, NULL) == -1)
		return aim_chain_why(why, "can't write %s: %s", tmp,
		    strerror(errno));
	if (link(tmp, final) == -1 && errno != EEXIST) {
		aim_chain_why(why, "can't link %s: %s", final, strerror(errno));
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
		return aim_chain_why(why, "can't initialise libsodium");
	if (snprintf(path, sizeof(path), "%s/%s", dir, AIM_CHAIN_HEAD) >=
	    (int)sizeof(path) - 200) {
		errno = ENAMETOOLONG;
		return aim_chain_why(why, "can't use %s: %s", dir,
		    strerror(errno));
	}
	created = stat(dir, &st) == -1 && errno == ENOENT;
	if (aim_mkdirs(dir) == -1)
		return aim_chain_why(why, "can't create %s: %s", dir,
		    strerror(errno));
	if (created && aim_audit_gitignore(dir, why) == -1)
		return -1;
	if ((c->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1)
		return aim_chain_why(why, "can't open %s: %s", path,
		    strerror(errno));
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
	if (!aim_chain_is_day_path(rel))
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
		    aim_read_file(dfd, de->d_name, AIM_READ_NOFOLLOW,
	    AIM_CHAIN_ENTRY_MAX_BYTES, &buf, &len) == -1)
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
		return aim_chain_why(why, "can't write %s/%s: %s", c->dir,
		    AIM_CHAIN_HEAD, strerror(errno));
	return 0;
}

static int group_recover(struct aim_chain *c, struct head *h, char **why);

/*
 * Take the head file's flock (exclusive: a writer; shared: a reader such as
 * verify) and read the head into c.  Exclusive, it also repairs: a missing
 * or damaged head is rebuilt from the entries (warning on stderr when
 * entries existed), and a write left pending by a killed writer is
 * finished: the entry is adopted when it reached its final name (warning
 * "<rel>: seq N: entry of an interrupted write adopted"), else forgotten,
 * and its temporary file removed.  0, or -1 with *why.
 */
int
aim_chain_lock(struct aim_chain *c, int exclusive, char **why)
{
	struct head h;
	int rc;

	while (flock(c->fd, exclusive ? LOCK_EX : LOCK_SH) == -1)
		if (errno != EINTR)
			return aim_chain_why(why, "can't lock %s/%s: %s",
			    c->dir, AIM_CHAIN_HEAD, strerror(errno));
	c->locked = 1;
	rc = head_read(c, &h);
	c->head_state = rc;
	if (rc == -2) {
		aim_chain_why(why, "can't read %s/%s: %s", c->dir,
		    AIM_CHAIN_HEAD, strerror(errno));
		aim_chain_unlock(c);
		return -1;
	}
	if (rc == 1) {
		snprintf(c->path, sizeof(c->path), "%s", h.path);
		c->seq = h.seq;
		aim_unhex(h.hash, c->hash, AIM_HASH_BYTES);
		/* A group's pending line names its last entry. */
		c->pending_seq = h.pseq + (h.pcount > 0 ? h.pcount - 1 : 0);
		c->pending_first = h.pseq;
		if (h.pseq > 0)
			aim_unhex(h.phash, c->pending_hash,
			    AIM_HASH_BYTES);
	}
	if (!exclusive)
		return 0;
	if (rc != 1) {
		/* No head, or a damaged one: the entries say where it is. */
		if (head_rebuild(c, &h, why) == -1) {
			aim_chain_unlock(c);
			return -1;
		}
		if (rc == -1 || h.seq > 0)
			warnx("%s/%s: %s; rebuilt from the entries at seq %lld",
			    c->dir, AIM_CHAIN_HEAD, rc == -1 ? "damaged" :
			    "missing", (long long)h.seq);
		if (head_write(c, &h, 1) == -1) {
			aim_chain_why(why, "can't write %s/%s: %s", c->dir,
			    AIM_CHAIN_HEAD, strerror(errno));
			aim_chain_unlock(c);
			return -1;
		}
	} else if (h.pseq > 0 && (h.pcount > 0 ? group_recover(c, &h, why) :
	    head_recover(c, &h, why)) == -1) {
		aim_chain_unlock(c);
		return -1;
	}
	c->pending_seq = c->pending_first = 0;
	return 0;
}

void
aim_chain_unlock(struct aim_chain *c)
{
	if (c->locked)
		flock(c->fd, LOCK_UN);
	c->locked = 0;
}

/* The n of the writer's temporary files ".tmp-<pid>-<n>", never reused. */
static unsigned long tmp_counter;

/* One append under way: its names, its bytes, the head before and during. */

struct append {
	char	 day[16], daydir[PATH_MAX], prefix[PATH_MAX];
	char	 tmp[PATH_MAX], rel[PATH_MAX], final[PATH_MAX];
	char	*text;
	size_t	 len;
	int	 anon;		/* an O_TMPFILE file to link, or -1: a.tmp */
	struct head old, h;
};

/*
 * The names of a's temporary file ".tmp-<pid>-<n>" in its day directory:
 * a->rel (relative to c's directory) and a->tmp.  0, or -1 with *why.
 */
static int
tmp_name(struct aim_chain *c, struct append *a, pid_t pid, unsigned long n,
    char **why)
{
	/* daydir left 200 bytes for these names: a cut is a bug. */
	if (snprintf(a->rel, sizeof(a->rel), "%s/.tmp-%ld-%lu", a->day,
	    (long)pid, n) < (int)sizeof(a->rel) &&
	    snprintf(a->tmp, sizeof(a->tmp), "%s/%s", c->dir, a->rel) <
	    (int)sizeof(a->tmp))
		return 0;
	errno = ENAMETOOLONG;
	return aim_chain_why(why, "can't use %s: %s", c->dir, strerror(errno));
}

/*
 * Stamp entry as the next link (timestamp, seq, prev), make its day
 * directory unless it is made_day (one stat(2) an entry less in a group)
 * and encode it into a->text.  0, or -1 with *why.
 */
static int
append_encode(struct aim_chain *c, json_t *entry, struct append *a,
    const char *made_day, char **why)
{
	char iso[32], stamp[32], hex[AIM_HASH_HEX_BYTES + 1];

	aim_utc_stamp(iso, stamp, a->day);
	json_object_set_new(entry, "timestamp", json_string(iso));
	json_object_set_new(entry, "seq", json_integer(c->seq + 1));
	aim_hex(c->hash, AIM_HASH_BYTES, hex);
	json_object_set_new(entry, "prev", json_string(hex));
	if (snprintf(a->daydir, sizeof(a->daydir), "%s/%s", c->dir,
	    a->day) >= (int)sizeof(a->daydir) - 200 || entry_prefix(entry,
	    a->prefix, sizeof(a->prefix)) == -1) {
		errno = ENAMETOOLONG;
		return aim_chain_why(why, "can't use %s: %s", c->dir,
		    strerror(errno));
	}
	if ((made_day == NULL || strcmp(a->day, made_day) != 0) &&
	    aim_mkdirs(a->daydir) == -1)
		return aim_chain_why(why, "can't create %s: %s", a->daydir,
		    strerror(errno));
	if ((a->text = json_dumps(entry, JSON_INDENT(2))) == NULL) {
		errno = ENOMEM;
		return aim_chain_why(why, "can't encode entry for %s",
		    a->daydir);
	}
	a->len = strlen(a->text);
	a->text[a->len++] = '\n';	/* json_dumps left room: it was the NUL */
	return 0;
}

/*
 * Write a->text to a temporary file in the day directory, named in the
 * head first (a zero hash: nothing to adopt yet), then announced with its
 * hash, durably, before it can appear under a final name.  a->text is
 * freed.  0, or -1 with *why and the head as it was.
 */
static int
append_stage(struct aim_chain *c, struct append *a, char **why)
{
	unsigned char hash[AIM_HASH_BYTES];
	char *text = a->text;

	a->text = NULL;
	aim_hash(text, a->len, hash);
	if (tmp_name(c, a, getpid(), tmp_counter++, why) == -1) {
		free(text);
		return -1;
	}
	head_empty(&a->old);
	a->old.seq = c->seq;
	aim_hex(c->hash, AIM_HASH_BYTES, a->old.hash);
	snprintf(a->old.path, sizeof(a->old.path), "%s",
	    c->path[0] ? c->path : "-");
	if (c->seq == 0)
		strcpy(a->old.path, "-");
	a->h = a->old;
	a->h.pseq = c->seq + 1;
	snprintf(a->h.pprefix, sizeof(a->h.pprefix), "%s", a->prefix);
	snprintf(a->h.ptmp, sizeof(a->h.ptmp), "%s", a->rel);
	/* Unsynced: only for a killed writer's leftovers, not a power cut's. */
	strcpy(a->h.phash, zero_hex);
	if (head_write(c, &a->h, 0) == -1) {
		aim_chain_why(why, "can't write %s/%s: %s", c->dir,
		    AIM_CHAIN_HEAD, strerror(errno));
		free(text);
		head_write(c, &a->old, 0);
		return -1;
	}
	if (aim_write_file_new(a->tmp, text, a->len, 0600, 0, NULL) == -1) {
		aim_chain_why(why, "can't write %s: %s", a->tmp,
		    strerror(errno));
		free(text);
		head_write(c, &a->old, 0);
		return -1;
	}
	free(text);
	aim_hex(hash, sizeof(hash), a->h.phash);
	if (head_write(c, &a->h, 1) == -1) {
		aim_chain_why(why, "can't write %s/%s: %s", c->dir,
		    AIM_CHAIN_HEAD, strerror(errno));
		unlink(a->tmp);
		head_write(c, &a->old, 0);
		return -1;
	}
	return 0;
}

/*
 * Give the temporary file tmp the name final, never replacing a file
 * there (EEXIST): one rename(2) with RENAME_NOREPLACE where link(2) and
 * unlink(2) took two calls; those two where the filesystem cannot rename
 * without replacing.  An anonymous file (anon, O_TMPFILE) is linked
 * through /proc instead: AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH.
 * 0, or -1 and errno.
 */
static int
name_noreplace(const char *tmp, int anon, const char *final)
{
	char proc[64];

	if (anon >= 0) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", anon);
		return linkat(AT_FDCWD, proc, AT_FDCWD, final,
		    AT_SYMLINK_FOLLOW);
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return -1;
	if (link(tmp, final) == -1)
		return -1;
	unlink(tmp);
	return 0;
}

/*
 * Give the temporary file its final name, a->prefix.json, never replacing
 * one: a name taken gets -2, -3, ...  0, or -1 with *why.
 */
static int
append_name(struct aim_chain *c, struct append *a, char **why)
{
	int k;

	for (k = 1; k <= MAX_COLLISIONS; k++) {
		if ((k == 1 ? snprintf(a->rel, sizeof(a->rel), "%s.json",
		    a->prefix) : snprintf(a->rel, sizeof(a->rel), "%s-%d.json",
		    a->prefix, k)) >= (int)sizeof(a->rel) ||
		    snprintf(a->final, sizeof(a->final), "%s/%s", c->dir,
		    a->rel) >= (int)sizeof(a->final)) {
			errno = ENAMETOOLONG;
			return aim_chain_why(why, "can't name an entry in %s: "
			    "%s", a->daydir, strerror(errno));
		}
		if (name_noreplace(a->tmp, a->anon, a->final) == 0)
			return 0;
		if (errno != EEXIST)
			return aim_chain_why(why, "can't %s to %s: %s",
			    a->anon >= 0 ? "link" : "rename", a->final,
			    strerror(errno));
	}
	errno = EEXIST;
	return aim_chain_why(why, "can't name entry in %s: %s", a->daydir,
	    strerror(errno));
}

char *
aim_chain_append_locked(struct aim_chain *c, json_t *entry, char **why)
{
	struct append a;

	a.text = NULL;
	a.anon = -1;
	if (append_encode(c, entry, &a, NULL, why) == -1 ||
	    append_stage(c, &a, why) == -1)
		return NULL;
	if (append_name(c, &a, why) == -1)
		goto undo;
	if (aim_fsync_dir(a.daydir) == -1) {
		aim_chain_why(why, "can't sync %s: %s", a.daydir,
		    strerror(errno));
		unlink(a.final);
		goto undo;
	}
	a.h.seq = a.h.pseq;
	memcpy(a.h.hash, a.h.phash, sizeof(a.h.hash));
	snprintf(a.h.path, sizeof(a.h.path), "%s", a.rel);
	a.h.pseq = 0;
	/* No sync: a lost update is recovered from the pending line. */
	if (head_write(c, &a.h, 0) == -1) {
		aim_chain_why(why, "can't write %s/%s: %s", c->dir,
		    AIM_CHAIN_HEAD, strerror(errno));
		return NULL;	/* the entry stands; the next lock adopts it */
	}
	snprintf(c->path, sizeof(c->path), "%s", a.rel);
	return aim_xstrdup(a.final);

undo:
	unlink(a.tmp);
	head_write(c, &a.old, 0);
	return NULL;
}

char *
aim_chain_append(struct aim_chain *c, json_t *entry, char **why)
{
	char *path;

	if (aim_chain_lock(c, 1, why) == -1)
		return NULL;
	path = aim_chain_append_locked(c, entry, why);
	aim_chain_unlock(c);
	return path;
}

/* ---- group commit (aim-audit(1) "Group commit") ---- */

/*
 * A group of entries committed together: each staged like one append (its
 * own temporary file, renamed to its final name), but written without a
 * sync each; one syncfs(2) makes the files, the group file and the head
 * durable before any entry gets its name, and one sync of the day
 * directory makes the names durable.  Two syncs for the group, where
 * appends one by one take three per entry.
 */
struct group {
	size_t	 n;
	struct append *a;
	unsigned char (*hash)[AIM_HASH_BYTES];	/* each entry's */
	char	 rel[PATH_MAX], file[PATH_MAX];	/* the group file */
	pid_t	 pid;		/* the writer's, in its files' names */
	int64_t	 seq0;		/* the head's seq before */
	unsigned char hash0[AIM_HASH_BYTES];	/* and its hash */
	int	*anon;		/* anonymous files made before the lock */
	size_t	 nanon;		/* how many (0: named temporary files) */
	char	 anon_day[16];	/* the day directory they are in */
	struct head old, h;
};

/*
 * Before the lock: an anonymous file (O_TMPFILE, mode 0600) for each of
 * up to n entries in today's day directory, so that writers create their
 * files at once, not in turn under the lock.  None (g->nanon 0: the
 * group names temporary files) when the day directory is not there yet
 * (it is made under the lock, where its name is synced before use), or
 * the filesystem has no O_TMPFILE, or /proc is not there to link them,
 * or n files would come near the limit of open files.
 */
static void
group_open_anon(struct aim_chain *c, struct group *g, size_t n)
{
	char iso[32], stamp[32], daydir[PATH_MAX], proc[64], target[16];
	struct rlimit rl;
	size_t i;
	int fd;

	g->anon = aim_xmalloc(n * sizeof(*g->anon));
	g->nanon = 0;
	aim_utc_stamp(iso, stamp, g->anon_day);
	/* Files opened in vain are inodes freed, which slow the next ones. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < n + 64 ||
	    snprintf(daydir, sizeof(daydir), "%s/%s", c->dir, g->anon_day) >=
	    (int)sizeof(daydir))
		return;
	for (i = 0; i < n; i++) {
		if ((fd = open(daydir, O_TMPFILE | O_WRONLY | O_CLOEXEC,
		    0600)) == -1)
			break;
		g->anon[g->nanon++] = fd;
		if (fchmod(fd, 0600) == -1)	/* as aim_write_file_new */
			break;
	}
	if (g->nanon > 0)
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", g->anon[0]);
	if (i < n || readlink(proc, target, sizeof(target)) == -1)
		while (g->nanon > 0)
			close(g->anon[--g->nanon]);
}

/* Give c back the head it had before the group. */
static void
group_head_back(struct aim_chain *c, struct group *g)
{
	c->seq = g->seq0;
	memcpy(c->hash, g->hash0, AIM_HASH_BYTES);
}

/*
 * Encode up to n entries as links seq+1, seq+2, ... of c's chain, each
 * prev the hash of the one before; the group ends early at a change of
 * day (the next group goes on from there).  g->n is how many.  0, or -1
 * with *why (c's head as it was).
 */
static int
group_encode(struct aim_chain *c, struct group *g, json_t **entries,
    size_t n, char **why)
{
	size_t i;

	for (i = 0; i < n; i++) {
		g->a[i].text = NULL;
		g->a[i].anon = -1;
		if (append_encode(c, entries[i], &g->a[i], i > 0 ?
		    g->a[0].day : NULL, why) == -1) {
			g->n = i;
			return -1;
		}
		if (i > 0 && strcmp(g->a[i].day, g->a[0].day) != 0) {
			free(g->a[i].text);
			g->a[i].text = NULL;
			break;
		}
		aim_hash(g->a[i].text, g->a[i].len, g->hash[i]);
		c->seq++;
		memcpy(c->hash, g->hash[i], AIM_HASH_BYTES);
	}
	g->n = i;
	return 0;
}

/*
 * Name the group in the head before any of its files exists (a zero hash:
 * nothing to adopt yet), so that a writer killed while writing them leaves
 * nothing the next one does not find and remove.  0, or -1 with *why.
 */
static int
group_announce(struct aim_chain *c, struct group *g, char **why)
{
	head_empty(&g->old);
	g->old.seq = g->seq0;
	aim_hex(g->hash0, AIM_HASH_BYTES, g->old.hash);
	snprintf(g->old.path, sizeof(g->old.path), "%s",
	    g->seq0 > 0 && c->path[0] ? c->path : "-");
	g->h = g->old;
	g->h.pseq = g->seq0 + 1;
	g->h.pcount = g->n;
	strcpy(g->h.phash, zero_hex);
	snprintf(g->h.pgroup, sizeof(g->h.pgroup), "%s", g->rel);
	if (head_write(c, &g->h, 0) == 0)
		return 0;
	aim_chain_why(why, "can't write %s/%s: %s", c->dir, AIM_CHAIN_HEAD,
	    strerror(errno));
	head_write(c, &g->old, 0);
	return -1;
}

/*
 * Write each entry to its temporary file and the group file listing them
 * ("<hash hex> <day/prefix>" a line), none synced yet.  0, or -1 with
 * *why and what was written removed.
 */
static int
group_write(struct aim_chain *c, struct group *g, unsigned long c0,
    char **why)
{
	char *list, *p;
	size_t i, k, size = 1;
	int rc = 0;

	for (i = 0; i < g->n; i++)	/* "<hex> <day>/<name>\n" */
		size += AIM_HASH_HEX_BYTES + strlen(g->a[i].day) +
		    strlen(strrchr(g->a[i].prefix, '/')) + 2;
	p = list = aim_xmalloc(size);
	for (i = 0; i < g->n && rc == 0; i++) {
		struct append *a = &g->a[i];

		if (tmp_name(c, a, g->pid, c0 + i, why) == -1)
			rc = -1;
		else if (a->anon >= 0 ? aim_write_full(a->anon, a->text,
		    a->len) == -1 : aim_write_file_new(a->tmp, a->text, a->len,
		    0600, AIM_WRITE_NOSYNC, NULL) == -1)
			rc = aim_chain_why(why, "can't write %s: %s", a->tmp,
			    strerror(errno));
		aim_hex(g->hash[i], AIM_HASH_BYTES, p);
		p += sprintf(p + AIM_HASH_HEX_BYTES, " %s%s\n", a->day,
		    strrchr(a->prefix, '/')) + AIM_HASH_HEX_BYTES;
	}
	if (rc == 0 && aim_write_file_new(g->file, list, strlen(list), 0600,
	    AIM_WRITE_NOSYNC, NULL) == -1)
		rc = aim_chain_why(why, "can't write %s: %s", g->file,
		    strerror(errno));
	free(list);
	if (rc == -1)
		for (k = 0; k < i; k++)
			unlink(g->a[k].tmp);
	return rc;
}

/* Take back a group that did not commit: names, files, the head. */
static void
group_undo(struct aim_chain *c, struct group *g, size_t named)
{
	size_t i;

	for (i = 0; i < named; i++)
		unlink(g->a[i].final);
	for (i = 0; i < g->n; i++)
		unlink(g->a[i].tmp);
	unlink(g->file);
	head_write(c, &g->old, 0);
}

/*
 * Announce the group in the head, make it all durable with one
 * syncfs(2), name every entry, sync the day directory: a second syncfs(2)
 * where the entries were anonymous files, for linking one changed its
 * inode's link count, which a directory's fsync(2) does not write.  0,
 * or -1 with *why and the group taken back.
 */
static int
group_commit(struct aim_chain *c, struct group *g, char **why)
{
	char daydir[PATH_MAX];
	size_t i;

	aim_hex(g->hash[g->n - 1], AIM_HASH_BYTES, g->h.phash);
	if (head_write(c, &g->h, 0) == -1 || syncfs(c->fd) == -1) {
		aim_chain_why(why, "can't sync %s: %s", c->dir,
		    strerror(errno));
		group_undo(c, g, 0);
		return -1;
	}
	for (i = 0; i < g->n; i++)
		if (append_name(c, &g->a[i], why) == -1) {
			group_undo(c, g, i);
			return -1;
		}
	snprintf(daydir, sizeof(daydir), "%s", g->a[0].daydir);
	if ((g->a[0].anon >= 0 ? syncfs(c->fd) : aim_fsync_dir(daydir)) ==
	    -1) {
		aim_chain_why(why, "can't sync %s: %s", daydir,
		    strerror(errno));
		group_undo(c, g, g->n);
		return -1;
	}
	unlink(g->file);
	g->h.seq = g->seq0 + g->n;
	memcpy(g->h.hash, g->h.phash, sizeof(g->h.hash));
	snprintf(g->h.path, sizeof(g->h.path), "%s", g->a[g->n - 1].rel);
	g->h.pseq = g->h.pcount = 0;
	/* No sync: a lost update is recovered from the group line. */
	if (head_write(c, &g->h, 0) == 0)
		snprintf(c->path, sizeof(c->path), "%s", g->a[g->n - 1].rel);
	return 0;
}

/* The group's memory, its texts too. */
static void
group_free(struct group *g, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(g->a[i].text);
	while (g->nanon > 0)	/* an anonymous file not linked vanishes */
		close(g->anon[--g->nanon]);
	free(g->anon);
	free(g->a);
	free(g->hash);
}

size_t
aim_chain_append_group(struct aim_chain *c, json_t **entries, size_t n,
    char **paths, char **why)
{
	struct group g;
	unsigned long c0;
	size_t i, done = 0;

	if (n == 1) {
		paths[0] = aim_chain_append(c, entries[0], why);
		return paths[0] != NULL;
	}
	memset(&g, 0, sizeof(g));
	group_open_anon(c, &g, n);
	if (aim_chain_lock(c, 1, why) == -1) {
		group_free(&g, 0);
		return 0;
	}
	g.a = aim_xmalloc(n * sizeof(*g.a));
	g.hash = aim_xmalloc(n * sizeof(*g.hash));
	g.seq0 = c->seq;
	memcpy(g.hash0, c->hash, AIM_HASH_BYTES);
	c0 = tmp_counter;
	if (group_encode(c, &g, entries, n, why) == -1)
		goto out;
	group_head_back(c, &g);
	if (g.nanon > 0 && strcmp(g.a[0].day, g.anon_day) == 0)
		for (i = 0; i < g.n; i++)
			g.a[i].anon = g.anon[i];
	tmp_counter += g.n;
	g.pid = getpid();
	if (snprintf(g.rel, sizeof(g.rel), "%s/.group-%ld-%lu", g.a[0].day,
	    (long)g.pid, c0) >= (int)sizeof(g.rel) ||
	    snprintf(g.file, sizeof(g.file), "%s/%s", c->dir, g.rel) >=
	    (int)sizeof(g.file)) {
		errno = ENAMETOOLONG;
		aim_chain_why(why, "can't use %s: %s", c->dir, strerror(errno));
		goto out;
	}
	if (group_announce(c, &g, why) == -1)
		goto out;
	if (group_write(c, &g, c0, why) == -1) {
		head_write(c, &g.old, 0);
		goto out;
	}
	if (group_commit(c, &g, why) == -1)
		goto out;
	for (i = 0; i < g.n; i++)
		paths[i] = aim_xstrdup(g.a[i].final);
	done = g.n;
out:
	if (done == 0)
		group_head_back(c, &g);
	group_free(&g, g.n);
	aim_chain_unlock(c);
	return done;
}

/*
 * The group file of an interrupted group commit, read and checked: its
 * lines ("<hash hex> <day/prefix>"), each naming a prefix of the writer's
 * pattern in the group's day.  NULL when it is not there or not that.
 */
static json_t *
group_list(int dfd, const char *name, const char *day, int64_t count)
{
	char *buf, *p, *nl, hex[AIM_HASH_HEX_BYTES + 1], rel[PATH_MAX];
	char pday[11];
	const char *pname;
	json_t *list;
	size_t len;
	int whole;

	if (aim_read_file(dfd, name, AIM_READ_NOFOLLOW, (size_t)count * 4200,
	    &buf, &len) == -1)
		return NULL;
	list = json_array();
	for (p = buf; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL ||
		    sscanf(p, "%64s %4095s", hex, rel) != 2 ||
		    strlen(hex) != AIM_HASH_HEX_BYTES ||
		    pending_name(rel, pday, &pname, 0) == -1 ||
		    strcmp(pday, day) != 0)
			break;
		json_array_append_new(list, json_pack("[s,s]", hex, rel));
	}
	whole = *p == '\0';	/* read before buf goes */
	free(buf);
	if ((int64_t)json_array_size(list) != count || !whole) {
		json_decref(list);
		return NULL;
	}
	return list;
}

/*
 * The final name of the entry with prefix rel ("day/prefix") whose bytes
 * hash to hex, in the day directory dfd: 1 and its name in found, else 0.
 */
static int
group_find(int dfd, const char *rel, const char *hex, char *found, size_t n)
{
	unsigned char hash[AIM_HASH_BYTES];
	char name[NAME_MAX + 1], h[AIM_HASH_HEX_BYTES + 1], *buf;
	const char *base = strchr(rel, '/') + 1;
	size_t len;
	int k;

	for (k = 1; k <= MAX_COLLISIONS; k++) {
		if ((k == 1 ? snprintf(name, sizeof(name), "%s.json", base) :
		    snprintf(name, sizeof(name), "%s-%d.json", base, k)) >=
		    (int)sizeof(name))
			return 0;
		if (aim_read_file(dfd, name, AIM_READ_NOFOLLOW,
		    AIM_CHAIN_ENTRY_MAX_BYTES, &buf, &len) == -1) {
			if (errno == ENOENT)
				return 0;
			continue;
		}
		aim_hash(buf, len, hash);
		free(buf);
		aim_hex(hash, sizeof(hash), h);
		if (strcmp(h, hex) == 0) {
			snprintf(found, n, "%.10s/%s", rel, name);
			return 1;
		}
	}
	return 0;
}

/*
 * Finish an interrupted group commit (with the lock held): its entries
 * that got their names are adopted in order up to the first that did not;
 * any after that one are removed (a group is adopted as a prefix of the
 * chain, never with a gap); the temporary files and the group file go.
 * The group file is trusted as head_recover trusts a pending line: only
 * names of the writer's patterns in one day directory of c->dir.
 */
static int
group_recover(struct aim_chain *c, struct head *h, char **why)
{
	char day[11], found[PATH_MAX], name[NAME_MAX + 1];
	const char *gname = strchr(h->pgroup, '/');
	long long pid, c0;
	json_t *list = NULL, *e;
	int64_t adopted = 0, k;
	size_t i;
	int dfd = -1, top, gap = 0, n;

	if (gname == NULL || !aim_chain_is_day_path(h->pgroup) ||
	    sscanf(gname + 1, ".group-%lld-%lld%n", &pid, &c0, &n) != 2 ||
	    gname[1 + n] != '\0' || pid < 0 || c0 < 0) {
		warnx("%s/%s: group commit names %s, not a group file of a "
		    "day directory: nothing removed", c->dir, AIM_CHAIN_HEAD,
		    h->pgroup);
		goto done;
	}
	memcpy(day, h->pgroup, 10);
	day[10] = '\0';
	if ((top = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto done;
	dfd = openat(top, day, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	close(top);
	if (dfd == -1)
		goto done;
	list = group_list(dfd, gname + 1, day, h->pcount);
	json_array_foreach(list, i, e) {
		if (!group_find(dfd, json_string_value(json_array_get(e, 1)),
		    json_string_value(json_array_get(e, 0)), found,
		    sizeof(found)))
			gap = 1;
		else if (gap)
			unlinkat(dfd, strchr(found, '/') + 1, 0);
		else {
			adopted++;
			h->seq = h->pseq + (int64_t)i;
			aim_unhex(json_string_value(json_array_get(e, 0)),
			    c->hash, AIM_HASH_BYTES);
			aim_hex(c->hash, AIM_HASH_BYTES, h->hash);
			snprintf(h->path, sizeof(h->path), "%s", found);
		}
	}
	for (k = 0; k < h->pcount; k++) {
		snprintf(name, sizeof(name), ".tmp-%lld-%lld", pid,
		    c0 + (long long)k);
		unlinkat(dfd, name, 0);
	}
	unlinkat(dfd, gname + 1, 0);
	if (adopted > 0)
		warnx("%s/%s: seq %lld to %lld: entries of an interrupted group "
		    "commit adopted", c->dir, day, (long long)h->pseq,
		    (long long)h->seq);
done:
	json_decref(list);
	if (dfd != -1)
		close(dfd);
	h->pseq = h->pcount = 0;
	if (head_write(c, h, 0) == -1)
		return aim_chain_why(why, "can't write %s/%s: %s", c->dir,
		    AIM_CHAIN_HEAD, strerror(errno));
	return 0;
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
json_t *
aim_chain_actor(void)
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
		return aim_chain_why(why, "unknown event kind %s",
		    kind ? kind : "(null)");
	}
	if (dir == NULL) {
		errno = EINVAL;
		return aim_chain_why(why, "no audit directory");
	}
	e = json_object();
	json_object_set_new(e, "timestamp", json_string(""));
	json_object_set_new(e, "kind", json_string(kind));
	json_object_set_new(e, "actor", aim_chain_actor());
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
