/* util.c: memory, clocks, identifiers, path expansion and text helpers. */
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "aim-util.h"

/* An AddressSanitizer build (gcc says so one way, clang another). */
#if defined(__SANITIZE_ADDRESS__)
#define AIM_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AIM_ASAN	1
#endif
#endif
#ifndef AIM_ASAN
#define AIM_ASAN	0
#endif

void
aim_exit_raise(int *status, int code)
{
	if (code > *status)
		*status = code;
}

void *
aim_xmalloc(size_t size)
{
	void *p;

	if ((p = malloc(size ? size : 1)) == NULL)
		err(AIM_EXIT_IO, "out of memory");
	return p;
}

void *
aim_xrealloc(void *p, size_t size)
{
	if ((p = realloc(p, size ? size : 1)) == NULL)
		err(AIM_EXIT_IO, "out of memory");
	return p;
}

char *
aim_xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		err(AIM_EXIT_IO, "out of memory");
	return p;
}

int64_t
aim_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
aim_utc_stamp(char iso[32], char file[32], char day[16])
{
	struct timespec ts;
	struct tm tm;
	unsigned us;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	us = (unsigned)(ts.tv_nsec / 1000) % 1000000;
	if (iso != NULL) {
		n = strftime(iso, 32, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(iso + n, 32 - n, ".%06uZ", us);
	}
	if (file != NULL) {
		n = strftime(file, 32, "%Y-%m-%dT%H-%M-%S", &tm);
		snprintf(file + n, 32 - n, "-%06u", us);
	}
	if (day != NULL)
		strftime(day, 16, "%Y-%m-%d", &tm);
}

void
aim_uuid7(char out[37])
{
	static uint64_t last_ms;
	static unsigned seq;
	struct timespec ts;
	unsigned char b[16];
	uint64_t ms;
	size_t i, o;

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		err(AIM_EXIT_IO, "getrandom");
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (ms <= last_ms) {
		/* Same (or earlier) millisecond: count up in rand_a. */
		ms = last_ms;
		if (++seq > 0xfff) {
			seq = 0;
			ms = ++last_ms;
		}
	} else {
		last_ms = ms;
		seq = (b[6] & 0x07) << 8 | b[7];	/* random start, room to count */
	}
	for (i = 0; i < 6; i++)
		b[i] = ms >> (40 - 8 * i);
	b[6] = 0x70 | (seq >> 8 & 0x0f);
	b[7] = seq & 0xff;
	b[8] = 0x80 | (b[8] & 0x3f);
	for (i = 0, o = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = "0123456789abcdef"[b[i] >> 4];
		out[o++] = "0123456789abcdef"[b[i] & 15];
	}
	out[o] = '\0';
}

/* A growing string. */
struct buf {
	char	*s;
	size_t	 len, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = aim_xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static const char *
lookup_var(const char *name, size_t n, const char *registry_dir)
{
	char key[256];
	const char *v;

	if (n == 0 || n >= sizeof(key))
		return NULL;
	memcpy(key, name, n);
	key[n] = '\0';
	/* The registry in use, whatever the environment says (-r wins). */
	if (strcmp(key, "AIM_REGISTRY_PATH") == 0 && registry_dir != NULL)
		return registry_dir;
	if ((v = getenv(key)) != NULL && *v != '\0')
		return v;
	if (strcmp(key, "USERPROFILE") == 0)
		return getenv("HOME");
	return NULL;
}

static int
is_name_char(int c, int first)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (!first && c >= '0' && c <= '9');
}

/*
 * The first c at or after p, NULL when none.  *memo keeps the last answer
 * (or the string's end): no byte is scanned twice, so "${${${..." without
 * a '}' stays linear.
 */
static const char *
next_char(const char *p, int c, const char **memo)
{
	if (*memo == NULL || *memo < p)
		*memo = strchrnul(p, c);
	return **memo == c ? *memo : NULL;
}

char *
aim_expand(const char *s, const char *registry_dir)
{
	struct buf b = { NULL, 0, 0 };
	const char *p, *end, *v, *home, *pct = NULL, *brace = NULL;
	size_t n;

	buf_add(&b, "", 0);
	p = s;
	if (p[0] == '~' && (p[1] == '/' || p[1] == '\0') &&
	    (home = getenv("HOME")) != NULL) {
		buf_add(&b, home, strlen(home));
		p++;
	}
	while (*p != '\0') {
		if (*p == '%' && (end = next_char(p + 1, '%', &pct)) != NULL &&
		    end > p + 1 &&
		    (v = lookup_var(p + 1, end - p - 1, registry_dir)) != NULL) {
			buf_add(&b, v, strlen(v));
			p = end + 1;
			continue;
		}
		if (p[0] == '$' && p[1] == '{' &&
		    (end = next_char(p + 2, '}', &brace)) != NULL &&
		    (v = lookup_var(p + 2, end - p - 2, registry_dir)) != NULL) {
			buf_add(&b, v, strlen(v));
			p = end + 1;
			continue;
		}
		if (p[0] == '$' && is_name_char((unsigned char)p[1], 1)) {
			for (n = 1; is_name_char((unsigned char)p[1 + n], 0); n++)
				;
			if ((v = lookup_var(p + 1, n, registry_dir)) != NULL) {
				buf_add(&b, v, strlen(v));
				p += 1 + n;
				continue;
			}
		}
		buf_add(&b, p, 1);
		p++;
	}
	return b.s;
}

static int
is_exec_file(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EACCES;
		return -1;
	}
	if (access(path, X_OK) == -1) {
		errno = EACCES;
		return -1;
	}
	return 0;
}

char *
aim_abspath(const char *p, const char *base)
{
	char cwd[PATH_MAX];
	struct buf b = { NULL, 0, 0 };

	if (p[0] == '/')
		return aim_xstrdup(p);
	if (base == NULL) {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return aim_xstrdup(p);
		base = cwd;
	}
	buf_add(&b, base, strlen(base));
	if (b.len == 0 || b.s[b.len - 1] != '/')
		buf_add(&b, "/", 1);
	if (p[0] == '.' && p[1] == '/')
		p += 2;
	buf_add(&b, p, strlen(p));
	return b.s;
}

char *
aim_which(const char *cmd, const char *path_list)
{
	const char *p, *end;
	char *full;
	int saved = ENOENT;
	size_t n;

	if (*cmd == '\0') {
		errno = ENOENT;
		return NULL;
	}
	if (strchr(cmd, '/') != NULL) {
		if (is_exec_file(cmd) == -1)
			return NULL;
		return aim_abspath(cmd, NULL);
	}
	if (path_list == NULL && (path_list = getenv("PATH")) == NULL)
		path_list = "/usr/local/bin:/usr/bin:/bin";
	for (p = path_list; ; p = end + 1) {
		end = strchr(p, ':');
		n = end ? (size_t)(end - p) : strlen(p);
		full = aim_xmalloc(n + strlen(cmd) + 3);
		/* An empty PATH element means the working directory. */
		if (n == 0)
			snprintf(full, n + strlen(cmd) + 3, "./%s", cmd);
		else
			snprintf(full, n + strlen(cmd) + 3, "%.*s/%s",
			    (int)n, p, cmd);
		if (is_exec_file(full) == 0) {
			if (full[0] != '/') {
				char *abs = aim_abspath(full, NULL);
				free(full);
				full = abs;
			}
			return full;
		}
		if (errno == EACCES)
			saved = EACCES;
		free(full);
		if (end == NULL)
			break;
	}
	errno = saved;
	return NULL;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 if invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

json_t *
aim_json_text(const char *buf, size_t len, size_t max_bytes, int from_end)
{
	const unsigned char *s = (const unsigned char *)buf;
	struct buf b = { NULL, 0, 0 };
	size_t i, k;
	json_t *j;

	if (len > max_bytes) {
		if (from_end) {
			s += len - max_bytes;
			/* Start the tail on a character boundary. */
			for (i = 0; i < 3 && (s[0] & 0xc0) == 0x80 &&
			    max_bytes > 0; i++)
				s++, max_bytes--;
		}
		len = max_bytes;
	}
	buf_add(&b, "", 0);
	for (i = 0; i < len; i += k) {
		if (s[i] == '\0') {
			/* jansson strings may hold NUL, but readers choke. */
			buf_add(&b, "\xef\xbf\xbd", 3);
			k = 1;
		} else if ((k = utf8_seq(s + i, len - i)) > 0) {
			buf_add(&b, (const char *)s + i, k);
		} else {
			buf_add(&b, "\xef\xbf\xbd", 3);
			k = 1;
		}
	}
	j = json_stringn(b.s, b.len);
	free(b.s);
	return j;
}

const char *
aim_input_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "<stdin>" : path;
}

int
aim_nodump(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		return -1;
#if AIM_ASAN
	return 0;
#else
	return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
}

ssize_t
aim_read_full(int fd, void *buf, size_t n)
{
	size_t off = 0;
	ssize_t r;

	while (off < n) {
		r = read(fd, (char *)buf + off, n - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		off += r;
	}
	return off;
}

int
aim_read_file(int dirfd, const char *path, int flags, size_t limit_bytes,
    char **buf, size_t *len)
{
	struct stat st;
	ssize_t n;
	char *b;
	int fd, oflags = O_RDONLY | O_CLOEXEC;

	if (flags & AIM_READ_NOFOLLOW)
		oflags |= O_NOFOLLOW;
	if ((fd = openat(dirfd, path, oflags)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
	if (!S_ISREG(st.st_mode))
		goto fail;
	errno = EFBIG;
	if ((uintmax_t)st.st_size > limit_bytes)
		goto fail;
	/* One byte more than the size: a file that grew is seen to grow. */
	b = flags & AIM_READ_SECRET ? sodium_malloc((size_t)st.st_size + 1) :
	    aim_xmalloc((size_t)st.st_size + 1);
	errno = ENOMEM;
	if (b == NULL)
		goto fail;
	n = aim_read_full(fd, b, (size_t)st.st_size + 1);
	if (n < 0 || n > st.st_size) {
		if (n >= 0)
			errno = EAGAIN;
		if (flags & AIM_READ_SECRET)
			sodium_free(b);
		else
			free(b);
		goto fail;
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = (size_t)n;
	return 0;
fail:
	n = errno;
	close(fd);
	errno = (int)n;
	return -1;
}

json_t *
aim_json_read(const char *path, int flags, size_t limit_bytes)
{
	json_t *j;
	char *text;
	size_t len;

	if (aim_read_file(AT_FDCWD, path, flags & ~AIM_READ_SECRET,
	    limit_bytes, &text, &len) == -1)
		return NULL;
	j = json_loadb(text, len, 0, NULL);
	free(text);
	if (j == NULL)
		errno = EINVAL;
	return j;
}

int
aim_write_full(int fd, const void *buf, size_t n)
{
	size_t off = 0;
	ssize_t w;

	while (off < n) {
		w = write(fd, (const char *)buf + off, n - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		if (w == 0) {
			errno = EIO;	/* nothing written, no error said */
			return -1;
		}
		off += w;
	}
	return 0;
}

/* Write all of buf to fd, set its mode (unless the umask's), fsync it. */
static int
write_fd(int fd, const void *buf, size_t n, mode_t mode, int flags)
{
	if (aim_write_full(fd, buf, n) == -1)
		return -1;
	if (!(flags & AIM_WRITE_UMASK) && fchmod(fd, mode) == -1)
		return -1;
	if (!(flags & AIM_WRITE_NOSYNC) && fsync(fd) == -1)
		return -1;
	return 0;
}

/* close(2) fd, keeping an earlier errno when rc is already -1. */
static int
close_keep(int fd, int rc)
{
	int saved = errno;

	if (close(fd) == -1)
		return -1;
	errno = saved;
	return rc;
}

int
aim_write_file_new(const char *path, const void *buf, size_t n_bytes,
    mode_t mode, int flags, struct aim_write_fail *fail)
{
	int fd, saved;

	if (fail != NULL)
		*fail = (struct aim_write_fail){ AIM_WRITE_CREATE, "" };
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, mode)) == -1)
		return -1;
	if (close_keep(fd, write_fd(fd, buf, n_bytes, mode, flags)) == 0)
		return 0;
	saved = errno;
	unlink(path);
	if (fail != NULL)
		fail->step = AIM_WRITE_DATA;
	errno = saved;
	return -1;
}

/* fsync(2) the directory holding path, when path names one. */
static void
fsync_parent(const char *path)
{
	char dir[PATH_MAX], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		return;
	*(slash == dir ? slash + 1 : slash) = '\0';
	(void)aim_fsync_dir(dir);	/* the rename is done: best effort */
}

int
aim_write_atomic(const char *path, const void *buf, size_t n_bytes,
    mode_t mode, int flags, struct aim_write_fail *fail)
{
	struct aim_write_fail f = { AIM_WRITE_CREATE, "" };
	int fd, saved;

	if (snprintf(f.tmp, sizeof(f.tmp), "%s.tmp-%ld", path,
	    (long)getpid()) >= (int)sizeof(f.tmp)) {
		errno = ENAMETOOLONG;
		goto out;
	}
	if ((fd = open(f.tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, mode)) == -1)
		goto out;
	f.step = AIM_WRITE_DATA;
	if (close_keep(fd, write_fd(fd, buf, n_bytes, mode, flags)) == -1)
		goto gone;
	f.step = AIM_WRITE_RENAME;
	if (rename(f.tmp, path) == -1)
		goto gone;
	if (!(flags & AIM_WRITE_NOSYNC))
		fsync_parent(path);
	return 0;
gone:
	saved = errno;
	unlink(f.tmp);
	errno = saved;
out:
	saved = errno;
	if (fail != NULL)
		*fail = f;
	errno = saved;
	return -1;
}

char *
aim_xdg_path(const char *xdg_var, const char *home_dir, const char *name)
{
	char buf[PATH_MAX];
	const char *env, *home;

	if ((env = getenv(xdg_var)) != NULL && *env == '/')
		snprintf(buf, sizeof(buf), "%s/aim/%s", env, name);
	else if ((home = getenv("HOME")) != NULL && *home != '\0')
		snprintf(buf, sizeof(buf), "%s/%s/aim/%s", home, home_dir, name);
	else
		return NULL;
	return aim_xstrdup(buf);
}

void
aim_warn_once(json_t *said, char *message)
{
	if (message == NULL)
		return;
	if (json_object_get(said, message) == NULL) {
		warnx("%s", message);
		json_object_set_new(said, message, json_true());
	}
	free(message);
}

int
aim_fsync_dir(const char *dir)
{
	int fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

char *
aim_shebang(const char *path)
{
	char buf[256], *nl;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	n = aim_read_full(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 2 || buf[0] != '#' || buf[1] != '!')
		return NULL;
	buf[n] = '\0';
	if ((nl = memchr(buf, '\n', n)) != NULL)
		*nl = '\0';
	return aim_xstrdup(buf + 2);
}

void
aim_duration(char *buf, size_t n, int64_t ms)
{
	long long s, t;

	if (ms < 0)
		ms = 0;
	if (ms < 1000) {
		snprintf(buf, n, "%lld ms", (long long)ms);
		return;
	}
	if (ms < 9950) {
		t = (ms + 50) / 100;	/* tenths of a second */
		if (t % 10 == 0)
			snprintf(buf, n, "%lld s", t / 10);
		else
			snprintf(buf, n, "%lld.%lld s", t / 10, t % 10);
		return;
	}
	s = (ms + 500) / 1000;
	if (s < 60)
		snprintf(buf, n, "%lld s", s);
	else if (s < 3600 && s % 60 == 0)
		snprintf(buf, n, "%lld min", s / 60);
	else if (s < 3600)
		snprintf(buf, n, "%lld min %lld s", s / 60, s % 60);
	else if (s % 3600 < 60)
		snprintf(buf, n, "%lld h", s / 3600);
	else
		snprintf(buf, n, "%lld h %lld min", s / 3600, s % 3600 / 60);
}

char *
aim_vxsprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		err(AIM_EXIT_IO, "out of memory");
	return s;
}

char *
aim_xsprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = aim_vxsprintf(fmt, ap);
	va_end(ap);
	return s;
}

int
aim_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char **
aim_dir_sorted(DIR *d, int (*keep)(const char *name))
{
	struct dirent *de;
	char **v = aim_xmalloc(sizeof(*v));
	size_t n = 0, cap = 1;
	int saved;

	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    (keep != NULL && !keep(de->d_name)))
			continue;
		if (n + 2 > cap) {
			cap *= 2;
			v = aim_xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = aim_xstrdup(de->d_name);
	}
	v[n] = NULL;
	if (errno != 0) {
		saved = errno;
		aim_strv_free(v);
		errno = saved;
		return NULL;
	}
	qsort(v, n, sizeof(*v), aim_strcmp_p);
	return v;
}

void
aim_strv_free(char **v)
{
	char **p;

	if (v == NULL)
		return;
	/* An environment may carry secrets: wipe, then free. */
	for (p = v; *p != NULL; p++) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
	}
	free(v);
}

int
aim_mkdirs_parent(const char *path, char **dir)
{
	char *d = aim_xstrdup(path), *slash = strrchr(d, '/');
	int saved;

	if (slash == NULL || slash == d || aim_mkdirs((*slash = '\0', d)) == 0) {
		free(d);
		return 0;
	}
	saved = errno;
	if (dir != NULL)
		*dir = d;
	else
		free(d);
	errno = saved;
	return -1;
}

int
aim_mkdirs(const char *dir)
{
	char path[PATH_MAX], *slash;
	struct stat st;

	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		errno = ENOTDIR;
		return -1;
	}
	if (strlen(dir) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(path, dir);
	if ((slash = strrchr(path, '/')) != NULL && slash != path) {
		*slash = '\0';
		if (aim_mkdirs(path) == -1)
			return -1;
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return -1;
	/* Make the new name durable in its parent. */
	if (slash != NULL)
		aim_fsync_dir(slash == path ? "/" : path);
	return 0;
}

int
aim_private_file(const char *path, const char *what, char **why)
{
	struct stat st;

	*why = NULL;
	if (lstat(path, &st) == -1) {
		*why = aim_xsprintf("%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode))
		*why = aim_xsprintf("%s %s is a symbolic link: refusing it "
		    "(use the real path)", what, path);
	else if (!S_ISREG(st.st_mode))
		*why = aim_xsprintf("%s %s is not a regular file", what, path);
	else if (st.st_uid != geteuid())
		*why = aim_xsprintf("%s %s is owned by uid %ld, not you (chown "
		    "it or use your own)", what, path, (long)st.st_uid);
	else if (st.st_mode & 077)
		*why = aim_xsprintf("%s %s is open to group or others (mode "
		    "%03o): chmod 600 %s", what, path,
		    (unsigned)(st.st_mode & 0777), path);
	else
		return 0;
	errno = EPERM;
	return -1;
}

void
aim_hash(const void *buf, size_t len, unsigned char out[AIM_HASH_BYTES])
{
	crypto_generichash(out, AIM_HASH_BYTES, buf, len, NULL, 0);
}

void
aim_hex(const unsigned char *bin, size_t len, char *out)
{
	sodium_bin2hex(out, len * 2 + 1, bin, len);
}

int
aim_unhex(const char *hex, unsigned char *bin, size_t len)
{
	size_t got;

	if (hex == NULL || strlen(hex) != len * 2)
		return -1;
	if (sodium_hex2bin(bin, len, hex, len * 2, NULL, &got, NULL) != 0 ||
	    got != len)
		return -1;
	return 0;
}

static int sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t sig_caught;

static void
on_signal(int sig)
{
	int saved = errno;

	sig_caught = sig;
	(void)write(sig_pipe[1], "", 1);
	errno = saved;
}

int
aim_signals_catch(void)
{
	struct sigaction sa;

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	return sig_pipe[0];
}

int
aim_signal_taken(int fd)
{
	char drain[64];

	while (read(fd, drain, sizeof(drain)) > 0)
		;
	return sig_caught;
}

const char *
aim_signame(int sig)
{
	static char buf[32];
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev != NULL)
		snprintf(buf, sizeof(buf), "SIG%s", abbrev);
	else
		snprintf(buf, sizeof(buf), "SIG%d", sig);
	return buf;
}
