/*
 * test-findings.c: lib/findings.c, a linter's report read into findings
 * (aim-registry(5) "The adapter object"): each format on the real
 * output of a real tool (tests/fixtures/findings/), and bad input.
 */
#include <fcntl.h>
#include <stdlib.h>

#include "aim.h"
#include "tap.h"

#ifndef TOP
#define TOP "."
#endif

#define FIX	TOP "/tests/fixtures/findings/"

static char *
slurp(const char *path, size_t *len)
{
	char *buf = NULL;

	if (aim_read_file(AT_FDCWD, path, 0, 1 << 20, &buf, len) == -1) {
		printf("# can't read %s\n", path);
		*len = 0;
		return aim_xstrdup("");
	}
	return buf;
}

/* The findings of file as spec (JSON text) reads them, or NULL; *why too. */
static json_t *
parse_file(const char *file, const char *spec_text, char **why)
{
	json_t *spec = json_loads(spec_text, 0, NULL), *f;
	size_t len;
	char *text = slurp(file, &len);

	f = aim_findings_parse(text, len, spec, why);
	free(text);
	json_decref(spec);
	return f;
}

/* Finding i of f, compact, for is_str. */
static char *
nth(json_t *f, size_t i)
{
	static char buf[1024];
	char *s = json_dumps(json_array_get(f, i), JSON_COMPACT |
	    JSON_SORT_KEYS | JSON_ENCODE_ANY);

	snprintf(buf, sizeof(buf), "%s", s ? s : "(none)");
	free(s);
	return buf;
}

static const char shellcheck_json1[] = "{\"format\":\"json\",\"fields\":"
    "{\"list\":\"comments\",\"file\":\"file\",\"line\":\"line\","
    "\"column\":\"column\",\"severity\":\"level\",\"rule\":\"code\","
    "\"rule_prefix\":\"SC\",\"message\":\"message\"}}";

static void
test_json(void)
{
	const char *eslint = "[{\"filePath\":\"/p/a.js\",\"messages\":["
	    "{\"ruleId\":\"no-unused-vars\",\"severity\":2,\"message\":\"m\","
	    "\"line\":1,\"column\":7}]},{\"filePath\":\"/p/b.js\","
	    "\"messages\":[]}]";
	char *why = NULL;
	json_t *f, *spec;

	f = parse_file(FIX "shellcheck.json1", shellcheck_json1, &why);
	ok(f != NULL && json_array_size(f) == 9, "json: shellcheck json1: 9");
	is_str(nth(f, 0), "{\"column\":10,\"file\":\"bad.sh\",\"line\":3,"
	    "\"message\":\"Iterating over ls output is fragile. Use globs.\","
	    "\"rule\":\"SC2045\",\"severity\":\"error\"}",
	    "json: shellcheck json1: first, code as SC2045");
	json_decref(f);

	f = parse_file(FIX "shellcheck.json1", "{\"format\":\"json\","
	    "\"fields\":{\"list\":\"comments\",\"line\":\"line\","
	    "\"severity\":\"level\",\"severities\":{\"info\":\"note\"}}}", &why);
	is_str(nth(f, 1), "{\"line\":3,\"severity\":\"note\"}",
	    "json: severities map, members not mapped left out");
	json_decref(f);

	/* eslint -f json: files, each with its messages. */
	spec = json_pack("{s:s,s:{s:s,s:s,s:s,s:s,s:s,"
	    "s:s,s:s,s:{s:s,s:s}}}", "format", "json", "fields", "list",
	    "[].messages", "file", "^filePath", "line", "line", "column",
	    "column", "severity", "severity", "rule", "ruleId", "message",
	    "message", "severities", "1", "warning", "2", "error");
	f = aim_findings_parse(eslint, strlen(eslint), spec, &why);
	json_decref(spec);
	is_str(nth(f, 0), "{\"column\":7,\"file\":\"/p/a.js\",\"line\":1,"
	    "\"message\":\"m\",\"rule\":\"no-unused-vars\",\"severity\":"
	    "\"error\"}", "json: eslint: ^ reads the file's element");
	ok(json_array_size(f) == 1, "json: eslint: one finding");
	json_decref(f);

	f = parse_file(FIX "markdownlint.json", "{\"format\":\"json\","
	    "\"fields\":{\"line\":\"lineNumber\",\"column\":\"errorRange.0\","
	    "\"rule\":\"ruleNames.0\",\"message\":\"ruleNames.x\"}}", &why);
	is_str(nth(f, 1), "{\"column\":30,\"line\":2,\"rule\":\"MD009\"}",
	    "json: a number step indexes an array, not a word");
	json_decref(f);
}

static void
test_sarif(void)
{
	char *why = NULL;
	json_t *f;

	f = parse_file(FIX "minimal.sarif", "{\"format\":\"sarif\"}", &why);
	ok(f != NULL && json_array_size(f) == 3, "sarif: 3 results");
	is_str(nth(f, 0), "{\"column\":12,\"file\":\"src/a.js\",\"line\":3,"
	    "\"message\":\"Unterminated string.\",\"rule\":\"EX001\","
	    "\"severity\":\"error\"}", "sarif: a full result");
	is_str(nth(f, 1), "{\"file\":\"src/b.js\",\"line\":10,\"message\":"
	    "\"Line too long.\",\"rule\":\"EX002\",\"severity\":\"warning\"}",
	    "sarif: no level is a warning, no column left out");
	is_str(nth(f, 2), "{\"message\":\"Project has no license file.\","
	    "\"severity\":\"warning\"}", "sarif: no location");
	json_decref(f);
}

static void
test_checkstyle(void)
{
	char *why = NULL;
	json_t *f;

	f = parse_file(FIX "shellcheck.checkstyle.xml",
	    "{\"format\":\"checkstyle\"}", &why);
	ok(f != NULL && json_array_size(f) == 9, "checkstyle: shellcheck: 9");
	is_str(nth(f, 1), "{\"column\":15,\"file\":\"bad.sh\",\"line\":3,"
	    "\"message\":\"Use ./*glob* or -- *glob* so names with dashes "
	    "won't become options.\",\"rule\":\"ShellCheck.SC2035\","
	    "\"severity\":\"info\"}", "checkstyle: entities decoded");
	json_decref(f);
}

static void
test_gcc(void)
{
	const char *lines = "a b.c:12: fatal error: x.h: gone\r\n"
	    "c:3:4: plain [not a rule]\n:1:2: no file\nx:0: zero\n";
	char *why = NULL;
	json_t *f, *spec;

	f = parse_file(FIX "shellcheck.gcc", "{\"format\":\"gcc\"}", &why);
	ok(f != NULL && json_array_size(f) == 9, "gcc: shellcheck -f gcc: 9");
	is_str(nth(f, 8), "{\"column\":22,\"file\":\"bad.sh\",\"line\":8,"
	    "\"message\":\"undefined_var is referenced but not assigned.\","
	    "\"rule\":\"SC2154\",\"severity\":\"warning\"}", "gcc: shellcheck");
	json_decref(f);
	f = parse_file(FIX "gcc.txt", "{\"format\":\"gcc\"}", &why);
	ok(f != NULL && json_array_size(f) == 4,
	    "gcc: gcc itself: 4, source lines and 'In function' skipped");
	is_str(nth(f, 3), "{\"column\":14,\"file\":\"bad.c\",\"line\":6,"
	    "\"message\":\"\u2018buf\u2019 declared here\",\"severity\":"
	    "\"note\"}", "gcc: a note");
	json_decref(f);
	spec = json_pack("{s:s}", "format", "gcc");
	f = aim_findings_parse(lines, strlen(lines), spec, &why);
	json_decref(spec);
	is_str(nth(f, 0), "{\"file\":\"a b.c\",\"line\":12,\"message\":"
	    "\"x.h: gone\",\"severity\":\"fatal error\"}",
	    "gcc: no column, two-word severity, CR dropped");
	is_str(nth(f, 1), "{\"column\":4,\"file\":\"c\",\"line\":3,"
	    "\"message\":\"plain [not a rule]\"}",
	    "gcc: no severity; a bracket with a space is no rule");
	ok(json_array_size(f) == 2, "gcc: no file, line 0: not findings");
	json_decref(f);
	f = parse_file(FIX "yamllint.txt", "{\"format\":\"gcc\"}", &why);
	is_str(nth(f, 1), "{\"column\":11,\"file\":\"bad.yaml\",\"line\":2,"
	    "\"message\":\"trailing spaces\",\"rule\":\"trailing-spaces\","
	    "\"severity\":\"error\"}", "gcc: yamllint's [severity] and (rule)");
	json_decref(f);
	spec = json_pack("{s:s}", "format", "gcc");
	f = aim_findings_parse("a:1: error: see (docs)\n", 22, spec, &why);
	is_str(nth(f, 0), "{\"file\":\"a\",\"line\":1,\"message\":"
	    "\"see (docs)\",\"severity\":\"error\"}",
	    "gcc: (word) is a rule only after [severity]");
	json_decref(f);
	json_decref(spec);
}

/* text as format: NULL, and why is want. */
static void
is_bad(const char *format, const char *text, const char *want,
    const char *name)
{
	json_t *spec = json_pack("{s:s,s:{s:s}}", "format", format, "fields",
	    "list", "a.[]");
	char *why = NULL;
	json_t *f = aim_findings_parse(text, strlen(text), spec, &why);

	ok(f == NULL, name);
	is_str(why, want, name);
	json_decref(f);
	json_decref(spec);
	free(why);
}

static void
test_bad(void)
{
	json_t *f, *spec = json_pack("{s:s}", "format", "json");
	char *why = NULL;

	is_bad("json", "{\"a\":", "json: unexpected token near end of "
	    "file at line 1, column 5", "bad: json cut short");
	is_bad("json", "{\"a\":{}}", "json: not an array before '[]'",
	    "bad: json, no array at the path");
	is_bad("json", "{\"b\":1}", "json: no member 'a'",
	    "bad: json, no member at the path");
	is_bad("sarif", "{\"version\":\"2.1.0\"}", "sarif: no \"runs\" array",
	    "bad: sarif without runs");
	is_bad("checkstyle", "<pmd><file/></pmd>",
	    "checkstyle: the root element is not <checkstyle>",
	    "bad: checkstyle, another root");
	is_bad("checkstyle", "<checkstyle><file>",
	    "checkstyle: no element found at line 1, column 19",
	    "bad: checkstyle cut short");
	is_bad("yaml", "a: 1", "unknown findings format 'yaml'",
	    "bad: unknown format");
	f = aim_findings_parse(" \n\t", 3, spec, &why);
	ok(f != NULL && json_array_size(f) == 0 && why == NULL,
	    "blank text: no findings");
	json_decref(f);
	f = aim_findings_parse(NULL, 0, NULL, &why);
	is_str(why, "no findings format", "no spec: NULL and why");
	free(why);
	json_decref(spec);
}

int
main(void)
{
	test_json();
	test_sarif();
	test_checkstyle();
	test_gcc();
	test_bad();
	printf("1..%d\n", ntests);
	return nfailed != 0;
}
