/*
 * aim-apply: fan-out records in, each with "apply" out.  Applies the
 * winner's diff (or -t's) to the working tree the fan-out started from,
 * all of it or nothing, and only when that tree is still as it was
 * (aim-apply(1)).
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aim.h"

/* A fan-out record's line: its diffs inside, so larger than a request. */
#define LINE_MAX_BYTES	((size_t)512 << 20)

static const char *progname = "aim-apply";

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: %s [-n] [-t tool] [file ...]\n", progname);
	if (status == 0)
		printf("  -h, --help               print this help and exit\n"
		    "  -n, --dry-run            check, apply nothing\n"
		    "  -t, --tool=TOOL          apply TOOL's diff, not the "
		    "winner's\n"
		    "  -V, --version            print the version and exit\n"
		    "See aim-apply(1).\n");
	exit(status);
}

struct apply {
	const char *tool;	/* -t, or NULL: the winner */
	int	 dry_run;
	int	 status;
};

/* fo's candidate of tool (borrowed), or NULL. */
static json_t *
candidate(json_t *fo, const char *tool)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(fo, "candidates"), i, c)
		if (json_is_string(json_object_get(c, "tool_id")) &&
		    strcmp(json_string_value(json_object_get(c, "tool_id")),
		    tool) == 0)
			return c;
	return NULL;
}

/* The base the fan-out recorded, from fo's "base" object. */
static int
base_of(json_t *fo, struct aim_base *b)
{
	json_t *o = json_object_get(fo, "base");
	const char *top = json_string_value(json_object_get(o, "top"));
	const char *head = json_string_value(json_object_get(o, "head"));
	const char *tree = json_string_value(json_object_get(o, "tree"));

	memset(b, 0, sizeof(*b));
	if (top == NULL || head == NULL || tree == NULL ||
	    strlen(head) >= sizeof(b->head) || strlen(tree) >= sizeof(b->tree))
		return -1;
	b->top = (char *)top;
	snprintf(b->head, sizeof(b->head), "%s", head);
	snprintf(b->tree, sizeof(b->tree), "%s", tree);
	return 0;
}

/* "the tree changed since the fan-out: a, b" (no names outside git). */
static char *
changed_why(json_t *files)
{
	char *why = aim_xstrdup("the tree changed since the fan-out"), *p;
	json_t *f;
	size_t i;

	json_array_foreach(files, i, f) {
		p = aim_xsprintf("%s%s%s", why, i ? ", " : ": ",
		    json_string_value(f));
		free(why);
		why = p;
	}
	return why;
}

/*
 * Is the tree as the fan-out found it (aim-apply(1) "Base check")?  NULL
 * when it is, else why not (malloc'd), with the files changed since that
 * the diff touches too in *conflicts (new ref).
 */
static char *
base_check(const struct aim_base *was, json_t *files, json_t **conflicts)
{
	struct aim_base now;
	json_t *changed, *f, *g;
	size_t i, k;
	char *why = NULL;

	*conflicts = json_array();
	if (aim_base_read(&now, was->top, &why) == -1)
		return why;
	if (strcmp(now.top, was->top) != 0)
		why = aim_xsprintf("%s is now inside %s", was->top, now.top);
	else if (strcmp(now.head, was->head) != 0)
		why = aim_xsprintf("HEAD moved since the fan-out: %.12s, was "
		    "%.12s", now.head, was->head);
	else if (strcmp(now.tree, was->tree) != 0) {
		changed = aim_base_changes(&now, was->tree, &why);
		json_array_foreach(changed, i, f)
			json_array_foreach(files, k, g)
				if (json_equal(f, g))
					json_array_append(*conflicts, f);
		if (why == NULL)
			why = changed_why(json_array_size(*conflicts) ?
			    *conflicts : changed);
		json_decref(changed);
	}
	aim_base_free(&now);
	return why;
}

/* The apply object of a refusal, said on stderr too. */
static json_t *
refuse(struct apply *a, const char *source, long lineno, const char *tool,
    const char *reason, const char *message, json_t *conflicts)
{
	json_t *o;

	o = json_pack("{s:s?, s:b, s:s, s:s}", "tool_id", tool, "applied", 0,
	    "reason", reason, "message", message);
	if (json_array_size(conflicts) > 0)
		json_object_set(o, "conflicts", conflicts);
	warnx("%s:%ld: %s: %s", source, lineno, reason, message);
	aim_exit_raise(&a->status, AIM_EXIT_FAILED);
	return o;
}

/* Apply cand's diff (tool's) under fo's base check; the apply object. */
static json_t *
apply_diff(struct apply *a, json_t *fo, json_t *cand, const char *tool,
    const char *source, long lineno)
{
	struct aim_base was;
	json_t *diff = json_object_get(cand, "diff"), *files, *conflicts, *o;
	char *why;

	if (base_of(fo, &was) == -1)
		return refuse(a, source, lineno, tool, "invalid_record",
		    "\"fanout.base\" wants top, head and tree", NULL);
	if ((files = aim_diff_files(was.top, json_string_value(diff),
	    json_string_length(diff), &why)) == NULL) {
		o = refuse(a, source, lineno, tool, "bad_diff", why, NULL);
		free(why);
		return o;
	}
	if ((why = base_check(&was, files, &conflicts)) != NULL ||
	    aim_diff_apply(was.top, json_string_value(diff),
	    json_string_length(diff), a->dry_run, &why) == -1) {
		o = refuse(a, source, lineno, tool, json_array_size(conflicts) ?
		    "conflict" : "base_changed", why, conflicts);
		if (strncmp(why, "git apply", 9) == 0)
			json_object_set_new(o, "reason", json_string(
			    "does_not_apply"));
		free(why);
	} else
		o = json_pack("{s:s, s:b, s:O}", "tool_id", tool, "applied",
		    !a->dry_run, "files", files);
	json_decref(conflicts);
	json_decref(files);
	return o;
}

/* rec's "apply" object (aim-apply(1) OUTPUT). */
static json_t *
apply_record(struct apply *a, json_t *rec, const char *source, long lineno)
{
	json_t *fo = json_object_get(rec, "fanout"), *cand;
	const char *tool = a->tool;

	if (tool == NULL)
		tool = json_string_value(json_object_get(fo, "winner"));
	if (tool == NULL)
		return refuse(a, source, lineno, NULL, "no_winner",
		    json_string_value(json_object_get(fo, "why")) ?
		    json_string_value(json_object_get(fo, "why")) :
		    "no winner", NULL);
	if ((cand = candidate(fo, tool)) == NULL ||
	    !json_is_string(json_object_get(cand, "diff")))
		return refuse(a, source, lineno, tool, "no_diff", cand ?
		    "the candidate has no diff" : "no such candidate", NULL);
	return apply_diff(a, fo, cand, tool, source, lineno);
}

static int
on_line(void *arg, const struct aim_line *line, const char *source)
{
	struct apply *a = arg;
	json_t *rec;
	int is_err, rc;

	if (line->too_long) {
		is_err = 1;
		rec = aim_bad_line_record(line, "apply", "invalid_record",
		    "record is longer than the line limit");
	} else
		rec = aim_parse_record(line, "apply", "a record",
		    "invalid_record", &is_err);
	if (is_err) {
		warnx("%s:%ld: %s", source, line->lineno, json_string_value(
		    json_object_get(json_object_get(rec, "error"), "message")));
		aim_exit_raise(&a->status, AIM_EXIT_FAILED);
	} else if (json_object_get(rec, "error") != NULL)
		aim_exit_raise(&a->status, AIM_EXIT_FAILED);
	else if (!json_is_object(json_object_get(rec, "fanout"))) {
		warnx("%s:%ld: no \"fanout\": pipe records through aim-fanout "
		    "first", source, line->lineno);
		aim_error_record(rec, "apply", "invalid_record", line->lineno,
		    "no \"fanout\": pipe records through aim-fanout first");
		aim_exit_raise(&a->status, AIM_EXIT_FAILED);
	} else
		json_object_set_new(rec, "apply", apply_record(a, rec, source,
		    line->lineno));
	rc = aim_emit(stdout, rec);
	json_decref(rec);
	if (rc == -1)
		aim_exit_raise(&a->status, AIM_EXIT_IO);
	return rc == -1;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "tool", required_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct apply a;
	int ch;

	if (aim_std_fds() == -1)
		errx(AIM_EXIT_IO, "standard output is closed");
	memset(&a, 0, sizeof(a));
	argv[0] = (char *)progname;
	while ((ch = getopt_long(argc, argv, "hnt:V", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(0);
		case 'n':
			a.dry_run = 1;
			break;
		case 't':
			a.tool = optarg;
			break;
		case 'V':
			printf("%s %s\n", progname, AIM_VERSION);
			return 0;
		default:
			usage(AIM_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	if (aim_proc_setup() == -1)
		err(AIM_EXIT_IO, "setup");
	if (aim_each_line(argv, argc, LINE_MAX_BYTES, on_line, &a) == -1)
		aim_exit_raise(&a.status, AIM_EXIT_IO);
	if (aim_close_stdout() == -1)
		aim_exit_raise(&a.status, AIM_EXIT_IO);
	return a.status;
}
