/* ndjson.c: reading and writing JSON Lines, and error records. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <err.h>

#include "aim-data.h"

#define READ_CHUNK	65536
#define INPUT_HEAD_BYTES	256

void
aim_lines_init(struct aim_lines *r, int fd, size_t max_line_bytes)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->max_line_bytes = max_line_bytes;
	r->cap = READ_CHUNK * 2;
	r->buf = aim_xmalloc(r->cap);
}

void
aim_lines_free(struct aim_lines *r)
{
	free(r->buf);
	r->buf = NULL;
}

ssize_t
aim_lines_fill(struct aim_lines *r)
{
	ssize_t n;

	if (r->start > 0 && r->start == r->end)
		r->start = r->end = 0;
	if (r->cap - r->end < READ_CHUNK) {
		/* Slide the partial line down, grow only for a long line. */
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
		if (r->cap - r->end < READ_CHUNK) {
			r->cap = r->end + READ_CHUNK * 2;
			r->buf = aim_xrealloc(r->buf, r->cap);
		}
	}
	do
		n = read(r->fd, r->buf + r->end, r->cap - r->end - 1);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		r->err = errno;
		return -1;
	}
	if (n == 0)
		r->eof = 1;
	r->end += n;
	return n;
}

int
aim_lines_get(struct aim_lines *r, struct aim_line *line)
{
	char *nl;
	size_t avail;

	for (;;) {
		avail = r->end - r->start;
		/*
		 * A UTF-8 byte-order mark before the first line (Notepad,
		 * PowerShell 5) is no part of it: skipped, so columns count
		 * from the first character the user sees.
		 */
		if (!r->bom_seen && r->lineno == 0) {
			if (avail < 3 && !r->eof && memcmp(r->buf + r->start,
			    "\xEF\xBB\xBF", avail) == 0)
				return 0;	/* too early to tell */
			r->bom_seen = 1;
			if (avail >= 3 && memcmp(r->buf + r->start,
			    "\xEF\xBB\xBF", 3) == 0) {
				r->start += 3;
				continue;
			}
		}
		nl = memchr(r->buf + r->start, '\n', avail);
		if (r->skipping) {
			/* The rest of a line already reported too long. */
			if (nl == NULL) {
				r->start = r->end;
				return 0;
			}
			r->start = nl + 1 - r->buf;
			r->skipping = 0;
			continue;
		}
		if (nl == NULL && avail > r->max_line_bytes) {
			line->text = r->buf + r->start;
			line->len = INPUT_HEAD_BYTES < avail ? INPUT_HEAD_BYTES :
			    avail;
			line->lineno = ++r->lineno;
			line->too_long = 1;
			/* Keep the head readable until the next call. */
			r->start += line->len;
			r->skipping = 1;
			return 1;
		}
		if (nl == NULL && !(r->eof && avail > 0))
			return 0;
		line->text = r->buf + r->start;
		line->len = nl ? (size_t)(nl - (r->buf + r->start)) : avail;
		line->lineno = ++r->lineno;
		line->too_long = line->len > r->max_line_bytes;
		if (line->too_long)
			line->len = INPUT_HEAD_BYTES;
		r->start = nl ? (size_t)(nl + 1 - r->buf) : r->end;
		return 1;
	}
}

int
aim_lines_next(struct aim_lines *r, struct aim_line *line)
{
	for (;;) {
		if (aim_lines_get(r, line))
			return 1;
		if (r->eof)
			return 0;
		if (aim_lines_fill(r) == -1)
			return -1;
	}
}

json_t *
aim_parse_record(const struct aim_line *line, const char *stage,
    const char *noun, const char *object_code, int *is_error)
{
	json_error_t e;
	json_t *v;
	char msg[256];

	v = json_loadb(line->text, line->len, JSON_REJECT_DUPLICATES, &e);
	if (v != NULL && json_is_object(v)) {
		*is_error = 0;
		return v;
	}
	*is_error = 1;
	if (v != NULL) {
		json_decref(v);
		snprintf(msg, sizeof(msg), "%s must be a JSON object", noun);
		return aim_bad_line_record(line, stage, object_code, msg);
	}
	snprintf(msg, sizeof(msg), "invalid JSON at column %d: %s", e.column,
	    e.text);
	return aim_bad_line_record(line, stage, "invalid_json", msg);
}

int
aim_line_blank(const struct aim_line *line)
{
	size_t i;

	for (i = 0; i < line->len; i++)
		if (strchr(" \t\r", line->text[i]) == NULL)
			return 0;
	return !line->too_long;
}

/* Has fd data (or its end) to read now, without waiting? */
static int
readable_now(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, 0) == 1;
}

/* aim_each_line_idle for one operand: 0, or -1 once said on stderr. */
static int
each_line_of(const char *path, size_t max_line_bytes, aim_line_fn fn,
    aim_idle_fn idle, void *arg)
{
	const char *source = aim_input_name(path);
	struct aim_lines r;
	struct aim_line line;
	int fd, rc = 0;

	if ((fd = aim_open_input(path)) == -1) {
		warn("can't open %s", path);
		return -1;
	}
	aim_lines_init(&r, fd, max_line_bytes);
	for (;;) {
		if (aim_lines_get(&r, &line)) {
			if (!aim_line_blank(&line) && fn(arg, &line, source) != 0)
				break;
			continue;
		}
		if (r.eof)
			break;
		/* Every line at hand is taken: tell, before waiting. */
		if (idle != NULL && !readable_now(fd))
			idle(arg);
		if (aim_lines_fill(&r) == -1) {
			rc = -1;
			break;
		}
	}
	if (idle != NULL)
		idle(arg);
	if (rc == -1)
		warnx("%s: read error: %s", source, strerror(r.err));
	aim_lines_free(&r);
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}

int
aim_each_line_idle(char *const *operands, int n, size_t max_line_bytes,
    aim_line_fn fn, aim_idle_fn idle, void *arg)
{
	char *const stdin_only[] = { "-" };
	int i, rc = 0;

	if (n == 0) {
		operands = stdin_only;
		n = 1;
	}
	for (i = 0; i < n; i++)
		if (each_line_of(operands[i], max_line_bytes, fn, idle,
		    arg) == -1)
			rc = -1;
	return rc;
}

int
aim_each_line(char *const *operands, int n, size_t max_line_bytes,
    aim_line_fn fn, void *arg)
{
	return aim_each_line_idle(operands, n, max_line_bytes, fn, NULL, arg);
}

/* Set by aim_std_fds: fd 1 was closed when we started (a /dev/full stands in). */
static int stdout_was_closed;

int
aim_std_fds(void)
{
	static const char *const stand_in[3] = {
		"/dev/null", "/dev/full", "/dev/null"
	};
	int fd, got;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		/* open(2) takes the lowest free descriptor: this one. */
		got = open(stand_in[fd], fd == 0 ? O_RDONLY : O_WRONLY);
		if (got == -1 && fd == 1)
			got = open("/dev/null", O_WRONLY);
		if (got != fd) {
			/* Nothing to stand in: leave rather than let a file land here. */
			_exit(AIM_EXIT_IO);
		}
		if (fd == 1)
			stdout_was_closed = 1;
	}
	return stdout_was_closed ? -1 : 0;
}

/* Is the reader of fd 1 gone (a pipe or socket with no reader)? */
static int
reader_gone(void)
{
	struct pollfd p = { STDOUT_FILENO, POLLOUT, 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

/*
 * The reader went away: end as a program with SIGPIPE at its default does,
 * quietly and with status 128 + SIGPIPE, whatever this one did with SIGPIPE.
 */
static void
die_of_sigpipe(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGPIPE);
	_exit(AIM_EXIT_SIGNAL + SIGPIPE);
}

int
aim_emit(FILE *out, const json_t *rec)
{
	if (json_dumpf(rec, out, JSON_COMPACT) == -1 ||
	    putc('\n', out) == EOF || fflush(out) == EOF)
		return -1;
	return 0;
}

static json_t *
new_id(void)
{
	char id[37];

	aim_uuid7(id);
	return json_string(id);
}

json_t *
aim_error_record(json_t *rec, const char *stage, const char *code,
    long lineno, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	json_t *e;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rec == NULL)
		rec = json_object();
	if (json_object_get(rec, "id") == NULL)
		json_object_set_new(rec, "id", new_id());
	e = json_pack("{s:s, s:s, s:o}", "stage", stage, "code", code,
	    "message", aim_json_text(msg, strlen(msg), sizeof(msg), 0));
	if (lineno > 0)
		json_object_set_new(e, "line", json_integer(lineno));
	json_object_set_new(rec, "error", e);
	return rec;
}

json_t *
aim_bad_line_record(const struct aim_line *line, const char *stage,
    const char *code, const char *message)
{
	json_t *rec;

	rec = json_object();
	json_object_set_new(rec, "id", new_id());
	json_object_set_new(rec, "input",
	    aim_json_text(line->text, line->len, INPUT_HEAD_BYTES, 0));
	return aim_error_record(rec, stage, code, line->lineno, "%s", message);
}

int
aim_open_input(const char *path)
{
	int fd;

	if (strcmp(path, "-") == 0)
		return STDIN_FILENO;
	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd == -1 && errno == EINTR);
	return fd;
}

int
aim_close_stdout(void)
{
	int failed, e;

	errno = 0;
	failed = ferror(stdout) || fflush(stdout) == EOF;
	e = errno;
	if (!failed && fclose(stdout) == EOF) {
		failed = 1;
		e = errno;
	}
	if (!failed)
		return 0;
	if (stdout_was_closed) {
		warnx("standard output is closed");
		return -1;
	}
	if (e == EPIPE || reader_gone())
		die_of_sigpipe();
	warnx("writing output failed");
	return -1;
}
