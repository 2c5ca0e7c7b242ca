/*
 * test-patterns.c: lib/patterns.c, the error patterns (aim-adapter(7)
 * ERROR PATTERNS): the format, the order, the example registry's quota
 * rules, and the errors that name file:line.
 */
#include <errno.h>
#include <stdlib.h>

#include "aim.h"
#include "tap.h"

#ifndef TOP
#define TOP "."
#endif

/* The rules of text, or NULL with *why. */
static struct aim_patterns *
parse(const char *text, char **why)
{
	FILE *fp = fmemopen((void *)text, strlen(text), "r");
	struct aim_patterns *p;

	*why = NULL;
	p = aim_patterns_parse(fp, "pat", why);
	fclose(fp);
	return p;
}

/* The class of text by rules, "-" for none. */
static const char *
cls(const struct aim_patterns *p, const char *text)
{
	const char *c = aim_patterns_classify(p, text);

	return c ? c : "-";
}

static void
test_format(void)
{
	struct aim_patterns *p;
	char *why;

	p = parse("# comment\n\nauth\t-\tnot logged in\n"
	    "transient\tcase\tECONNRESET\ntransient\t-\toverloaded\n", &why);
	ok(p != NULL && aim_patterns_count(p) == 3, "format: 3 rules, "
	    "comments and blank lines skipped");
	is_str(cls(p, "Error: Not Logged In"), "auth", "format: case ignored");
	is_str(cls(p, "read ECONNRESET"), "transient", "format: case flag");
	is_str(cls(p, "read econnreset"), "-", "format: case flag is exact");
	is_str(cls(p, "a\nServer Overloaded\nb"), "transient",
	    "format: any line of the text");
	is_str(cls(p, "nothing known"), "-", "format: no match, no class");
	aim_patterns_free(p);
}

static void
test_order(void)
{
	struct aim_patterns *p;
	char *why;

	p = parse("auth\t-\tdenied\nrate_limit\t-\t429\n", &why);
	is_str(cls(p, "429: denied"), "auth", "order: the first rule wins");
	is_str(cls(p, "HTTP 429"), "rate_limit", "order: then the next");
	aim_patterns_free(p);
	/* Lines, as grep: neither "." nor [^...] crosses a newline. */
	p = parse("bad_request\t-\tcode[^0-9]{0,4}400\n"
	    "transient\t-\t^boom$\n", &why);
	is_str(cls(p, "code\n400"), "-", "lines: [^0-9] stops at a newline");
	is_str(cls(p, "x\nboom\ny"), "transient", "lines: ^ and $ per line");
	aim_patterns_free(p);
}

static void
test_quota(void)
{
	struct aim_patterns *p;
	char *why = NULL;

	p = aim_patterns_load(TOP "/examples/.AIM_ai-tools-registry/"
	    "AIM_adapters/error-patterns", &why);
	ok(p != NULL, "example: the registry's file loads");
	if (p == NULL) {
		printf("# %s\n", why);
		free(why);
		return;
	}
	is_str(cls(p, "Quota exceeded for quota metric 'Generate Content "
	    "API requests per day'"), "quota", "quota: per day");
	is_str(cls(p, "Quota exceeded: requests per minute"), "rate_limit",
	    "quota: per minute is a rate limit");
	is_str(cls(p, "quota per minute and per day"), "quota",
	    "quota: unless per day too");
	is_str(cls(p, "Resource has been exhausted (e.g. check quota)."),
	    "rate_limit", "quota: the stripped text is not a quota");
	is_str(cls(p, "RetryableQuotaError: 503 Service Unavailable"),
	    "transient", "quota: stripped, then transient");
	is_str(cls(p, "HTTP 429 Too Many Requests"), "rate_limit", "rate");
	is_str(cls(p, "\"usage\":{\"input_tokens\":429}"), "-",
	    "counts are not status codes");
	is_str(cls(p, "getaddrinfo ENOTFOUND api.x"), "transient", "errno");
	aim_patterns_free(p);
}

/* The error text of rules, "-" when they parse. */
static void
is_error(const char *text, const char *want, const char *name)
{
	struct aim_patterns *p;
	char *why;

	p = parse(text, &why);
	ok(p == NULL && errno == EINVAL, name);
	is_str(p ? "-" : why, want, name);
	aim_patterns_free(p);
	free(why);
}

static void
test_errors(void)
{
	char *why = NULL;

	is_error("auth\t-\tok\ntransient\t-\t(unclosed\n",
	    "pat:2: bad expression: Unmatched ( or \\(",
	    "error: a bad ERE names file:line");
	is_error("auth -- not tabs\n", "pat:1: not CLASS<TAB>FLAGS<TAB>ERE",
	    "error: fields");
	is_error("slow\t-\tx\n", "pat:1: unknown error class 'slow'",
	    "error: class");
	is_error("unclassified\t-\tx\n",
	    "pat:1: unknown error class 'unclassified'", "error: unclassified");
	is_error("auth\tnocase\tx\n", "pat:1: unknown flag 'nocase'",
	    "error: flag");
	is_error("auth\tstrip,and\tx\n",
	    "pat:1: more than one of strip, and, unless", "error: two kinds");
	is_error("auth\t-\t\n", "pat:1: empty expression", "error: empty");
	is_error("# x\nquota\tand\tx\n",
	    "pat:2: an and line needs a plain line of class quota before it",
	    "error: a condition first");
	is_error("auth\t-\tx\nquota\tunless\ty\n",
	    "pat:2: an unless line needs a plain line of class quota before it",
	    "error: a condition of another class");
	is_error("quota\tstrip\tx\nauth\t-\ty\n",
	    "pat:1: a strip line needs a plain line of class quota after it",
	    "error: a strip line before another class");
	is_error("auth\t-\ty\nquota\tstrip\tx\n",
	    "pat:2: a strip line needs a plain line of class quota after it",
	    "error: a strip line at the end");
	ok(aim_patterns_load("/nonexistent/error-patterns", &why) == NULL &&
	    errno == ENOENT, "load: no file: ENOENT");
	is_str(why, "/nonexistent/error-patterns: No such file or directory",
	    "load: no file: why");
	free(why);
	ok(aim_patterns_classify(NULL, "x") == NULL &&
	    aim_patterns_count(NULL) == 0, "NULL rules: no class");
}

int
main(void)
{
	test_format();
	test_order();
	test_quota();
	test_errors();
	printf("1..%d\n", ntests);
	return nfailed != 0;
}
