/*
 * show.c: a record in words, for a person at a terminal (aim-run(1)
 * "Terminal output"): who served the request, each attempt, the files
 * changed, tokens and cost, the findings, the answer, the audit entry.
 * The JSON Lines stay the interface; this is only their reading.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aim-data.h"

/* SGR colours, and what each is for. */
#define C_OK	"\033[32m"	/* success */
#define C_BAD	"\033[31m"	/* failure, error */
#define C_SKIP	"\033[33m"	/* skipped, planned-away */
#define C_DIM	"\033[2m"	/* labels and times */
#define C_BOLD	"\033[1m"
#define C_OFF	"\033[0m"

/* Lines of an answer shown before "... N more lines". */
#define RESPONSE_LINES	20
/* Findings listed one by one before "... N more". */
#define FINDINGS_SHOWN	10
/* Files named in a request's heading before "and N more". */
#define HEAD_FILES	3

int
aim_show_color(int fd)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

	if (no != NULL && *no != '\0')
		return 0;
	if (term != NULL && strcmp(term, "dumb") == 0)
		return 0;
	return isatty(fd);
}

struct out {
	FILE	*fp;
	int	 color;
};

/* s wrapped in colour c when colour is on. */
static void
paint(const struct out *o, const char *c, const char *s)
{
	if (o->color)
		fprintf(o->fp, "%s%s%s", c, s, C_OFF);
	else
		fputs(s, o->fp);
}

static const char *
str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* s with its control characters made spaces, for one line of output. */
static void
put_line(FILE *fp, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i] != '\0'; i++)
		fputc((unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i],
		    fp);
}

/* "  label     " in the label colour. */
static void
label(const struct out *o, const char *name)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "  %-9s ", name);
	paint(o, C_DIM, buf);
}

/* The files of a request: "a.c, b.c, c.c and 4 more", or "" when none. */
static void
head_files(const struct out *o, json_t *files)
{
	size_t i, n = json_array_size(files);
	json_t *f;

	json_array_foreach(files, i, f) {
		if (i == HEAD_FILES) {
			fprintf(o->fp, " and %zu more", n - i);
			break;
		}
		fprintf(o->fp, "%s", i ? ", " : " ");
		put_line(o->fp, json_is_string(f) ? json_string_value(f) : "?",
		    256);
	}
}

/* The capability of rec: its route's, else the request's. */
static const char *
capability(json_t *rec)
{
	const char *cap = str(json_object_get(rec, "route"), "capability");

	if (cap == NULL)
		cap = str(rec, "capability");
	return cap != NULL ? cap : "?";
}

/* Sum of the attempts' durations, ms. */
static int64_t
attempts_ms(json_t *attempts)
{
	int64_t ms = 0;
	size_t i;
	json_t *a;

	json_array_foreach(attempts, i, a)
		ms += json_integer_value(json_object_get(a, "duration_ms"));
	return ms;
}

/* The first line: what was asked, and how it ended. */
static void
heading(const struct out *o, json_t *rec)
{
	json_t *res = json_object_get(rec, "result"), *err;
	json_t *attempts = json_object_get(rec, "attempts");
	const char *tool = str(rec, "tool_id"), *msg;
	char dur[32];
	int64_t depth;

	paint(o, C_BOLD, capability(rec));
	head_files(o, json_object_get(json_object_get(rec, "payload"),
	    "files"));
	fputs(": ", o->fp);
	if ((err = json_object_get(rec, "error")) != NULL) {
		paint(o, C_BAD, "error");
		fprintf(o->fp, " %s: ", str(err, "code") ? str(err, "code") :
		    "?");
		msg = str(err, "message");
		put_line(o->fp, msg ? msg : "", 512);
	} else if (json_object_get(rec, "plan") != NULL) {
		paint(o, C_SKIP, "dry run");
		fputs(", nothing started", o->fp);
	} else if (res == NULL) {
		paint(o, C_SKIP, "routed");
		fprintf(o->fp, " (%s)", str(json_object_get(rec, "route"),
		    "strategy") ? str(json_object_get(rec, "route"),
		    "strategy") : "?");
	} else if (json_is_true(json_object_get(res, "success"))) {
		paint(o, C_OK, "done");
		aim_duration(dur, sizeof(dur), attempts_ms(attempts));
		fprintf(o->fp, " by %s in %s", tool ? tool : "?", dur);
		depth = json_integer_value(json_object_get(rec,
		    "fallback_depth"));
		if (depth > 0)
			fprintf(o->fp, ", fallback %lld down the chain",
			    (long long)depth);
		/* No tool ran: aim-cache(1). */
		if (json_is_true(json_object_get(res, "cached")))
			fputs(", from the cache", o->fp);
	} else {
		paint(o, C_BAD, "failed");
		msg = str(res, "message");
		fputs(": ", o->fp);
		put_line(o->fp, msg ? msg : "no result", 512);
	}
	fputc('\n', o->fp);
}

/*
 * One attempt: "  failed   claude  auth  0.8 s  Invalid API key"; a
 * round that failed verify (aim-invoke(1) "Verify and retry") gives the
 * check's output.
 */
static void
attempt_line(const struct out *o, json_t *a)
{
	const char *outcome = str(a, "outcome"), *cls, *msg, *c;
	char dur[32], word[16];

	if (outcome == NULL)
		outcome = "?";
	c = strcmp(outcome, "success") == 0 ? C_OK :
	    strcmp(outcome, "skipped") == 0 ? C_SKIP : C_BAD;
	snprintf(word, sizeof(word), "%-8s", outcome);
	fputs("  ", o->fp);
	paint(o, c, word);
	fprintf(o->fp, " %-12s", str(a, "tool_id") ? str(a, "tool_id") : "?");
	cls = str(a, "error_class");
	if (cls == NULL)
		cls = str(a, "reason");
	if (cls != NULL && strcmp(outcome, "success") != 0)
		fprintf(o->fp, " %s", cls);
	if (json_object_get(a, "duration_ms") != NULL &&
	    strcmp(outcome, "skipped") != 0) {
		aim_duration(dur, sizeof(dur), json_integer_value(
		    json_object_get(a, "duration_ms")));
		fputc(' ', o->fp);
		paint(o, C_DIM, dur);
	}
	msg = str(a, "message");
	/* A round that failed verify: what the check said, not the tool. */
	if (strcmp(outcome, "verify_failed") == 0 &&
	    str(json_object_get(a, "verify"), "output_tail") != NULL)
		msg = str(json_object_get(a, "verify"), "output_tail");
	if (msg != NULL && strcmp(outcome, "success") != 0) {
		fputs("  ", o->fp);
		put_line(o->fp, msg, 200);
	}
	fputc('\n', o->fp);
}

/* The attempts, when there is more to say than the heading did. */
static void
attempts(const struct out *o, json_t *rec)
{
	json_t *list = json_object_get(rec, "attempts"), *a;
	size_t i;

	if (json_array_size(list) < 2 && json_is_true(json_object_get(
	    json_object_get(rec, "result"), "success")))
		return;
	json_array_foreach(list, i, a)
		attempt_line(o, a);
}

/* The candidates of a routed record not yet run: one line each. */
static void
candidates(const struct out *o, json_t *rec)
{
	json_t *list = json_object_get(json_object_get(rec, "route"),
	    "candidates"), *c;
	const char *status, *why;
	char word[16];
	size_t i;

	json_array_foreach(list, i, c) {
		status = str(c, "status") ? str(c, "status") : "?";
		snprintf(word, sizeof(word), "%-13s", status);
		fputs("  ", o->fp);
		paint(o, strcmp(status, "ready") == 0 ? C_OK : C_SKIP, word);
		fprintf(o->fp, " %s", str(c, "tool_id") ? str(c, "tool_id") :
		    "?");
		if ((why = str(c, "reason")) != NULL) {
			fputs("  ", o->fp);
			put_line(o->fp, why, 200);
		}
		fputc('\n', o->fp);
	}
}

/* The plan of a dry run: one line per candidate. */
static void
plan(const struct out *o, json_t *rec)
{
	json_t *steps = json_object_get(rec, "plan"), *s, *arg;
	const char *action, *why;
	char dur[32];
	size_t i, k;

	json_array_foreach(steps, i, s) {
		action = str(s, "action") ? str(s, "action") : "?";
		fputs("  ", o->fp);
		paint(o, strcmp(action, "run") == 0 ? C_OK : C_SKIP,
		    strcmp(action, "run") == 0 ? "run " : "skip");
		fprintf(o->fp, " %-12s", str(s, "tool_id") ? str(s, "tool_id") :
		    "?");
		if (strcmp(action, "run") == 0) {
			aim_duration(dur, sizeof(dur), json_integer_value(
			    json_object_get(s, "timeout_ms")));
			fprintf(o->fp, " within %s:", dur);
			json_array_foreach(json_object_get(s, "argv"), k, arg) {
				fputc(' ', o->fp);
				put_line(o->fp, json_string_value(arg) ?
				    json_string_value(arg) : "?", 256);
			}
		} else if ((why = str(s, "reason")) != NULL)
			fprintf(o->fp, " %s", why);
		fputc('\n', o->fp);
	}
}

/* "  modified  a.c, b.c" for a non-empty list of files. */
static void
file_list(const struct out *o, const char *name, json_t *files)
{
	size_t i;
	json_t *f;

	if (json_array_size(files) == 0)
		return;
	label(o, name);
	json_array_foreach(files, i, f) {
		if (i > 0)
			fputs(", ", o->fp);
		put_line(o->fp, json_is_string(f) ? json_string_value(f) : "?",
		    256);
	}
	fputc('\n', o->fp);
}

/* Changed files and their lines. */
static void
changes(const struct out *o, json_t *content)
{
	json_t *add = json_object_get(content, "lines_added");
	json_t *del = json_object_get(content, "lines_removed");

	file_list(o, "modified", json_object_get(content, "files_modified"));
	file_list(o, "created", json_object_get(content, "files_created"));
	file_list(o, "deleted", json_object_get(content, "files_deleted"));
	if (json_integer_value(add) > 0 || json_integer_value(del) > 0) {
		label(o, "lines");
		fprintf(o->fp, "+%lld -%lld\n",
		    (long long)json_integer_value(add),
		    (long long)json_integer_value(del));
	}
}

/* Tokens and money, where the tool reported them. */
static void
usage_cost(const struct out *o, json_t *content)
{
	json_t *u = json_object_get(content, "usage");
	json_t *cached = json_object_get(u, "cached_input_tokens");
	json_t *cost = json_object_get(content, "cost_usd");

	if (json_is_object(u)) {
		label(o, "tokens");
		fprintf(o->fp, "%lld in, %lld out",
		    (long long)json_integer_value(json_object_get(u,
		    "input_tokens")),
		    (long long)json_integer_value(json_object_get(u,
		    "output_tokens")));
		if (json_integer_value(cached) > 0)
			fprintf(o->fp, " (%lld cached)",
			    (long long)json_integer_value(cached));
		fputc('\n', o->fp);
	}
	if (json_is_number(cost)) {
		label(o, "cost");
		fprintf(o->fp, "$%.4f\n", json_number_value(cost));
	}
}

/* A linter's findings: the count, then the first few. */
static void
findings(const struct out *o, json_t *content)
{
	json_t *list = json_object_get(content, "findings"), *f;
	size_t i, n;

	if (json_is_integer(list)) {
		label(o, "findings");
		fprintf(o->fp, "%lld\n", (long long)json_integer_value(list));
		return;
	}
	if (!json_is_array(list))
		return;
	n = json_array_size(list);
	label(o, "findings");
	fprintf(o->fp, "%zu\n", n);
	json_array_foreach(list, i, f) {
		if (i == FINDINGS_SHOWN) {
			fprintf(o->fp, "    ... %zu more\n", n - i);
			break;
		}
		fprintf(o->fp, "    %s:%lld:%lld: %s: ",
		    str(f, "file") ? str(f, "file") : "?",
		    (long long)json_integer_value(json_object_get(f, "line")),
		    (long long)json_integer_value(json_object_get(f, "column")),
		    str(f, "severity") ? str(f, "severity") : "note");
		put_line(o->fp, str(f, "message") ? str(f, "message") : "", 300);
		fputc('\n', o->fp);
	}
}

/*
 * A text of the answer (key: the AI tool's "response", a linter's
 * "stdout"), indented, its first RESPONSE_LINES lines.
 */
static void
text(const struct out *o, json_t *content, const char *key)
{
	const char *s = str(content, key), *nl;
	size_t lines = 0, more = 0;

	if (s == NULL || *s == '\0')
		return;
	paint(o, C_DIM, strcmp(key, "stdout") == 0 ? "  output" :
	    "  response");
	fputc('\n', o->fp);
	for (; *s != '\0'; s = *nl ? nl + 1 : nl) {
		nl = strchr(s, '\n');
		if (nl == NULL)
			nl = s + strlen(s);
		if (lines++ < RESPONSE_LINES) {
			fputs("    ", o->fp);
			put_line(o->fp, s, (size_t)(nl - s));
			fputc('\n', o->fp);
		} else
			more++;
	}
	if (more > 0)
		fprintf(o->fp, "    ... %zu more lines (--json shows all)\n",
		    more);
}

/* Where the audit entry went, or why it did not. */
static void
audit(const struct out *o, json_t *rec)
{
	json_t *a = json_object_get(rec, "audit");

	if (str(a, "path") != NULL) {
		label(o, "audit");
		fprintf(o->fp, "%s\n", str(a, "path"));
	} else if (str(a, "error") != NULL) {
		label(o, "audit");
		paint(o, C_BAD, "not written: ");
		put_line(o->fp, str(a, "error"), 300);
		fputc('\n', o->fp);
	}
}

void
aim_show_record(FILE *fp, json_t *rec, int color)
{
	struct out o = { fp, color };
	json_t *content = json_object_get(json_object_get(rec, "result"),
	    "content");

	heading(&o, rec);
	if (json_object_get(rec, "plan") != NULL)
		plan(&o, rec);
	else if (json_object_get(rec, "error") == NULL &&
	    json_object_get(rec, "result") == NULL)
		candidates(&o, rec);
	else
		attempts(&o, rec);
	if (json_is_object(content)) {
		changes(&o, content);
		findings(&o, content);
		usage_cost(&o, content);
		text(&o, content, "response");
		text(&o, content, "stdout");
	}
	audit(&o, rec);
}
