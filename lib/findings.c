/*
 * findings.c: a linter's report read into findings (aim-registry(5)
 * "The adapter object"): JSON through a field map, SARIF 2.1.0,
 * checkstyle XML and gcc-style lines.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "aim-data.h"

/* Deep enough for any report's list path; a longer one is refused. */
#define MAX_SEGMENTS	16

static void
set_why(char **why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
set_why(char **why, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL)
		return;
	free(*why);
	va_start(ap, fmt);
	*why = aim_vxsprintf(fmt, ap);
	va_end(ap);
}

/* s (len bytes, not NUL-terminated) as a JSON string, U+FFFD for bad UTF-8. */
static json_t *
text_of(const char *s, size_t len)
{
	return aim_json_text(s, len, len, 0);
}

/* A finding of its members: a NULL or empty value is left out. */
static void
put_str(json_t *f, const char *key, json_t *v)
{
	if (v != NULL && json_string_length(v) > 0)
		json_object_set_new(f, key, v);
	else
		json_decref(v);
}

static void
put_int(json_t *f, const char *key, long long n)
{
	if (n > 0)
		json_object_set_new(f, key, json_integer(n));
}

/* A positive decimal number of at most 9 digits, else 0. */
static long long
number(const char *s, size_t len)
{
	long long n = 0;
	size_t i;

	if (len == 0 || len > 9)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		n = n * 10 + (s[i] - '0');
	}
	return n;
}

/* ---- json: a field map ---- */

/*
 * The value at a dotted path under v (borrowed), or NULL: a step is a
 * member of an object, or a number the index of an array's element
 * (markdownlint's "ruleNames.0").
 */
static json_t *
member_at(json_t *v, const char *path)
{
	const char *p = path, *dot;
	char key[256];
	size_t n;

	while (v != NULL && *p != '\0') {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		if (json_is_array(v))
			v = n > 0 && strspn(key, "0123456789") == n ?
			    json_array_get(v, number(key, n)) : NULL;
		else
			v = json_object_get(v, key);
		p += n + (dot != NULL);
	}
	return v;
}

/*
 * A field's value as text: a string as it is, an integer in decimal
 * (eslint's severity 2, shellcheck's code 2086), else NULL.
 */
static json_t *
field_text(json_t *item, json_t *parent, json_t *fields, const char *name)
{
	const char *path = json_string_value(json_object_get(fields, name));
	json_t *v;

	if (path == NULL)
		return NULL;
	v = path[0] == '^' ? member_at(parent, path + 1) :
	    member_at(item, path);
	if (json_is_string(v))
		return json_copy(v);
	if (json_is_integer(v))
		return json_sprintf("%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	return NULL;
}

static long long
field_number(json_t *item, json_t *parent, json_t *fields, const char *name)
{
	json_t *t = field_text(item, parent, fields, name);
	long long n;

	n = t ? number(json_string_value(t), json_string_length(t)) : 0;
	json_decref(t);
	return n;
}

/* One element of the list, through the field map, onto out. */
static void
map_item(json_t *item, json_t *parent, json_t *fields, json_t *out)
{
	json_t *f = json_object(), *sev, *rule, *mapped;
	const char *prefix;

	put_str(f, "file", field_text(item, parent, fields, "file"));
	put_int(f, "line", field_number(item, parent, fields, "line"));
	put_int(f, "column", field_number(item, parent, fields, "column"));
	sev = field_text(item, parent, fields, "severity");
	mapped = sev ? json_object_get(json_object_get(fields, "severities"),
	    json_string_value(sev)) : NULL;
	if (json_is_string(mapped)) {
		json_decref(sev);
		sev = json_copy(mapped);
	}
	put_str(f, "severity", sev);
	rule = field_text(item, parent, fields, "rule");
	prefix = json_string_value(json_object_get(fields, "rule_prefix"));
	if (rule != NULL && prefix != NULL) {
		mapped = json_sprintf("%s%s", prefix, json_string_value(rule));
		json_decref(rule);
		rule = mapped;
	}
	put_str(f, "rule", rule);
	put_str(f, "message", field_text(item, parent, fields, "message"));
	json_array_append_new(out, f);
}

/*
 * Walk the list path seg[i..n) from v: a "[]" segment takes every element
 * of an array (the parent of what lies below it), another one a member.
 * At the end v must be the array of findings.  0, or -1 and *why.
 */
static int
walk_list(json_t *v, char **seg, size_t i, size_t n, json_t *parent,
    json_t *fields, json_t *out, char **why)
{
	size_t k;
	json_t *e;

	if (i == n) {
		if (!json_is_array(v)) {
			set_why(why, "json: the list is not an array");
			return -1;
		}
		json_array_foreach(v, k, e)
			map_item(e, parent, fields, out);
		return 0;
	}
	if (strcmp(seg[i], "[]") == 0) {
		if (!json_is_array(v)) {
			set_why(why, "json: not an array before '[]'");
			return -1;
		}
		json_array_foreach(v, k, e)
			if (walk_list(e, seg, i + 1, n, e, fields, out,
			    why) == -1)
				return -1;
		return 0;
	}
	if ((e = json_object_get(v, seg[i])) == NULL) {
		set_why(why, "json: no member '%s'", seg[i]);
		return -1;
	}
	return walk_list(e, seg, i + 1, n, parent, fields, out, why);
}

/* Is every member of the field map a string, but severities an object? */
static int
fields_ok(json_t *fields, char **why)
{
	const char *key;
	json_t *v;

	if (!json_is_object(fields)) {
		set_why(why, "json: \"fields\" is not an object");
		return 0;
	}
	json_object_foreach(fields, key, v)
		if (strcmp(key, "severities") == 0 ? !json_is_object(v) :
		    !json_is_string(v)) {
			set_why(why, "json: field \"%s\" has the wrong type",
			    key);
			return 0;
		}
	return 1;
}

static json_t *
parse_json(const char *text, size_t len, json_t *fields, char **why)
{
	char *copy, *seg[MAX_SEGMENTS], *p;
	const char *list;
	json_error_t e;
	json_t *doc, *out;
	size_t n = 0;

	if (!fields_ok(fields, why))
		return NULL;
	if ((doc = json_loadb(text, len, JSON_DECODE_ANY, &e)) == NULL) {
		set_why(why, "json: %s at line %d, column %d", e.text, e.line,
		    e.column);
		return NULL;
	}
	list = json_string_value(json_object_get(fields, "list"));
	copy = aim_xstrdup(list ? list : "");
	for (p = strtok(copy, "."); p != NULL; p = strtok(NULL, "."))
		if (n < MAX_SEGMENTS)
			seg[n++] = p;
		else {
			set_why(why, "json: list path too deep");
			free(copy);
			json_decref(doc);
			return NULL;
		}
	out = json_array();
	if (walk_list(doc, seg, 0, n, NULL, fields, out, why) == -1) {
		json_decref(out);
		out = NULL;
	}
	free(copy);
	json_decref(doc);
	return out;
}

/* ---- sarif: SARIF 2.1.0, runs[].results[] ---- */

static json_t *
str_copy(json_t *v)
{
	return json_is_string(v) ? json_copy(v) : NULL;
}

static long long
int_of(json_t *v)
{
	return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

/* A result (SARIF 2.1.0 §3.27): its first location's physical one. */
static void
sarif_result(json_t *r, json_t *out)
{
	json_t *f = json_object(), *loc, *region, *level;

	loc = json_object_get(json_array_get(json_object_get(r, "locations"),
	    0), "physicalLocation");
	region = json_object_get(loc, "region");
	put_str(f, "file", str_copy(member_at(loc, "artifactLocation.uri")));
	put_int(f, "line", int_of(json_object_get(region, "startLine")));
	put_int(f, "column", int_of(json_object_get(region, "startColumn")));
	/* §3.27.10: a result without a level is a warning. */
	level = json_object_get(r, "level");
	put_str(f, "severity", json_is_string(level) ? json_copy(level) :
	    json_string("warning"));
	put_str(f, "rule", str_copy(json_object_get(r, "ruleId")));
	put_str(f, "message", str_copy(member_at(r, "message.text")));
	json_array_append_new(out, f);
}

static json_t *
parse_sarif(const char *text, size_t len, char **why)
{
	json_t *doc, *runs, *run, *results, *r, *out;
	json_error_t e;
	size_t i, k;

	if ((doc = json_loadb(text, len, 0, &e)) == NULL) {
		set_why(why, "sarif: %s at line %d, column %d", e.text, e.line,
		    e.column);
		return NULL;
	}
	if (!json_is_array(runs = json_object_get(doc, "runs"))) {
		set_why(why, "sarif: no \"runs\" array");
		json_decref(doc);
		return NULL;
	}
	out = json_array();
	json_array_foreach(runs, i, run) {
		results = json_object_get(run, "results");
		json_array_foreach(results, k, r)
			if (json_is_object(r))
				sarif_result(r, out);
	}
	json_decref(doc);
	return out;
}

/* ---- checkstyle: <checkstyle><file name><error .../></file> ---- */

struct cs {
	XML_Parser xp;
	json_t	*out;
	char	*file;
	int	 depth;
	int	 bad_root;
};

static const char *
attr(const XML_Char **a, const char *name)
{
	for (; a[0] != NULL; a += 2)
		if (strcmp(a[0], name) == 0)
			return a[1];
	return NULL;
}

static json_t *
attr_str(const XML_Char **a, const char *name)
{
	const char *v = attr(a, name);

	return v ? text_of(v, strlen(v)) : NULL;
}

static long long
attr_num(const XML_Char **a, const char *name)
{
	const char *v = attr(a, name);

	return v ? number(v, strlen(v)) : 0;
}

static void XMLCALL
cs_start(void *arg, const XML_Char *name, const XML_Char **a)
{
	struct cs *c = arg;
	json_t *f;

	if (c->depth++ == 0 && strcmp(name, "checkstyle") != 0) {
		c->bad_root = 1;
		XML_StopParser(c->xp, XML_FALSE);
		return;
	}
	if (strcmp(name, "file") == 0) {
		free(c->file);
		c->file = attr(a, "name") ? aim_xstrdup(attr(a, "name")) : NULL;
	} else if (strcmp(name, "error") == 0) {
		f = json_object();
		put_str(f, "file", c->file ? text_of(c->file,
		    strlen(c->file)) : NULL);
		put_int(f, "line", attr_num(a, "line"));
		put_int(f, "column", attr_num(a, "column"));
		put_str(f, "severity", attr_str(a, "severity"));
		put_str(f, "rule", attr_str(a, "source"));
		put_str(f, "message", attr_str(a, "message"));
		json_array_append_new(c->out, f);
	}
}

static void XMLCALL
cs_end(void *arg, const XML_Char *name)
{
	struct cs *c = arg;

	c->depth--;
	if (strcmp(name, "file") == 0) {
		free(c->file);
		c->file = NULL;
	}
}

static json_t *
parse_checkstyle(const char *text, size_t len, char **why)
{
	struct cs c = { NULL, json_array(), NULL, 0, 0 };
	enum XML_Status st;

	if (len > INT_MAX) {
		set_why(why, "checkstyle: report too large");
		json_decref(c.out);
		return NULL;
	}
	if ((c.xp = XML_ParserCreate("UTF-8")) == NULL) {
		set_why(why, "checkstyle: %s", strerror(ENOMEM));
		json_decref(c.out);
		return NULL;
	}
	XML_SetUserData(c.xp, &c);
	XML_SetElementHandler(c.xp, cs_start, cs_end);
	st = XML_Parse(c.xp, text, (int)len, XML_TRUE);
	if (c.bad_root)
		set_why(why, "checkstyle: the root element is not "
		    "<checkstyle>");
	else if (st != XML_STATUS_OK)
		set_why(why, "checkstyle: %s at line %lu, column %lu",
		    XML_ErrorString(XML_GetErrorCode(c.xp)),
		    (unsigned long)XML_GetCurrentLineNumber(c.xp),
		    (unsigned long)XML_GetCurrentColumnNumber(c.xp) + 1);
	if (c.bad_root || st != XML_STATUS_OK) {
		json_decref(c.out);
		c.out = NULL;
	}
	XML_ParserFree(c.xp);
	free(c.file);
	return c.out;
}

/*
 * ---- gcc: FILE:LINE[:COLUMN]: [SEVERITY: ]MESSAGE[ [RULE]] ----
 * and yamllint's "parsable" variant: [SEVERITY] MESSAGE (RULE).
 */

static const char *const severities[] = { "fatal error", "error", "warning",
    "note", "info", "style", "remark", NULL };

/* The digits at s (before end) followed by ':', their count, else 0. */
static size_t
digits_colon(const char *s, const char *end)
{
	size_t n = 0;

	while (s + n < end && s[n] >= '0' && s[n] <= '9')
		n++;
	return n > 0 && s + n < end && s[n] == ':' ? n : 0;
}

/*
 * The severity at *p, "error: " or "[error] ", moved past; NULL when
 * none.  *bracketed tells which form.
 */
static const char *
severity_at(const char **p, const char *end, int *bracketed)
{
	const char *const *sv, *q = *p;
	size_t n;

	*bracketed = q < end && *q == '[';
	q += *bracketed;
	for (sv = severities; *sv != NULL; sv++) {
		n = strlen(*sv);
		if ((size_t)(end - q) > n && memcmp(q, *sv, n) == 0 &&
		    q[n] == (*bracketed ? ']' : ':')) {
			*p = q + n + 1;
			return *sv;
		}
	}
	return NULL;
}

/*
 * The rule at the end of [p, *end), one word: "[SC2086]", or with a
 * bracketed severity "(document-start)"; *end cut before it.
 */
static json_t *
rule_at(const char *p, const char **end, int paren)
{
	const char *e = *end, *open;
	char o = paren ? '(' : '[', c = paren ? ')' : ']';

	if (e - p <= 2 || e[-1] != c || (open = memrchr(p, o, e - p)) == NULL ||
	    open == p || open[-1] != ' ' || memchr(open, ' ', e - open) != NULL)
		return NULL;
	*end = open - 1;
	return text_of(open + 1, e - open - 2);
}

/* One line [s, end); a finding onto out when it is one. */
static void
gcc_line(const char *s, const char *end, json_t *out)
{
	const char *p, *sev;
	size_t nl = 0, nc = 0;
	int bracketed;
	json_t *f;

	/* The file is not empty: a line starting with ':' is none. */
	if (*s == ':')
		return;
	for (p = s + 2; p < end; p++)
		if (p[-1] == ':' && (nl = digits_colon(p, end)) > 0)
			break;
	if (p >= end || number(p, nl) == 0)
		return;
	f = json_object();
	put_str(f, "file", text_of(s, p - 1 - s));
	put_int(f, "line", number(p, nl));
	p += nl + 1;
	if ((nc = digits_colon(p, end)) > 0) {
		put_int(f, "column", number(p, nc));
		p += nc + 1;
	}
	while (p < end && *p == ' ')
		p++;
	if ((sev = severity_at(&p, end, &bracketed)) != NULL)
		json_object_set_new(f, "severity", json_string(sev));
	while (p < end && *p == ' ')
		p++;
	put_str(f, "rule", rule_at(p, &end, sev != NULL && bracketed));
	put_str(f, "message", text_of(p, end - p));
	json_array_append_new(out, f);
}

static json_t *
parse_gcc(const char *text, size_t len)
{
	const char *s = text, *end = text + len, *nl, *e;
	json_t *out = json_array();

	while (s < end) {
		nl = memchr(s, '\n', end - s);
		e = nl ? nl : end;
		if (e > s && e[-1] == '\r')
			e--;
		if (e > s)
			gcc_line(s, e, out);
		s = nl ? nl + 1 : end;
	}
	return out;
}

/* ---- the formats ---- */

/* Only white space: a clean run of a tool that prints nothing then. */
static int
blank(const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (strchr(" \t\r\n", text[i]) == NULL || text[i] == '\0')
			return 0;
	return 1;
}

json_t *
aim_findings_parse(const char *text, size_t len, json_t *spec, char **why)
{
	const char *format = json_string_value(json_object_get(spec, "format"));

	if (why != NULL)
		*why = NULL;
	if (format == NULL) {
		set_why(why, "no findings format");
		return NULL;
	}
	if (strcmp(format, "json") != 0 && strcmp(format, "sarif") != 0 &&
	    strcmp(format, "checkstyle") != 0 && strcmp(format, "gcc") != 0) {
		set_why(why, "unknown findings format '%s'", format);
		return NULL;
	}
	if (text == NULL || blank(text, len))
		return json_array();
	if (strcmp(format, "json") == 0)
		return parse_json(text, len, json_object_get(spec, "fields"),
		    why);
	if (strcmp(format, "sarif") == 0)
		return parse_sarif(text, len, why);
	if (strcmp(format, "checkstyle") == 0)
		return parse_checkstyle(text, len, why);
	return parse_gcc(text, len);
}
