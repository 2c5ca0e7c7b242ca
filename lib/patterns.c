/*
 * patterns.c: a registry's error patterns (aim-adapter(7) ERROR
 * PATTERNS), the error class the texts of a failed tool suggest.
 */
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aim-data.h"

/* A condition of a rule: an "and" line, or an "unless" one. */
struct cond {
	regex_t	 re;
	int	 unless;
};

/* A plain line, with the strip line before it and the conditions after. */
struct rule {
	char	*cls;
	regex_t	 re;
	regex_t	 strip;
	int	 has_strip;
	struct cond *conds;
	size_t	 nconds;
};

struct aim_patterns {
	struct rule *rules;
	size_t	 n;
};

enum kind { PLAIN, STRIP, AND, UNLESS };

/* What parse() remembers between lines. */
struct parse {
	struct aim_patterns *p;
	const char *name;
	long	 lineno;
	regex_t	 strip;		/* a strip line waiting for its plain line */
	char	*strip_cls;
	long	 strip_line;
	int	 open;		/* the last rule takes conditions */
	char	*why;
};

static int
bad(struct parse *ps, long lineno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
bad(struct parse *ps, long lineno, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = aim_vxsprintf(fmt, ap);
	va_end(ap);
	ps->why = aim_xsprintf("%s:%ld: %s", ps->name, lineno, msg);
	free(msg);
	return -1;
}

/* FLAGS: "-" or a comma-separated list of case, strip, and, unless. */
static int
flags(struct parse *ps, char *s, enum kind *kind, int *cflags)
{
	char *f, *save = NULL;
	int kinds = 0;

	*kind = PLAIN;
	*cflags = REG_EXTENDED | REG_NEWLINE | REG_ICASE;
	if (strcmp(s, "-") == 0)
		return 0;
	for (f = strtok_r(s, ",", &save); f != NULL;
	    f = strtok_r(NULL, ",", &save)) {
		if (strcmp(f, "case") == 0) {
			*cflags &= ~REG_ICASE;
			continue;
		}
		kinds++;
		if (strcmp(f, "strip") == 0)
			*kind = STRIP;
		else if (strcmp(f, "and") == 0)
			*kind = AND;
		else if (strcmp(f, "unless") == 0)
			*kind = UNLESS;
		else
			return bad(ps, ps->lineno, "unknown flag '%s'", f);
	}
	if (kinds > 1)
		return bad(ps, ps->lineno,
		    "more than one of strip, and, unless");
	return 0;
}

static int
compile(struct parse *ps, regex_t *re, const char *ere, int cflags)
{
	char msg[256];
	int rc;

	if (*ere == '\0')
		return bad(ps, ps->lineno, "empty expression");
	if ((rc = regcomp(re, ere, cflags)) != 0) {
		regerror(rc, re, msg, sizeof(msg));
		return bad(ps, ps->lineno, "bad expression: %s", msg);
	}
	return 0;
}

static void
rule_free(struct rule *r)
{
	size_t i;

	free(r->cls);
	regfree(&r->re);
	if (r->has_strip)
		regfree(&r->strip);
	for (i = 0; i < r->nconds; i++)
		regfree(&r->conds[i].re);
	free(r->conds);
}

/* A strip line waiting for a plain line of its class it did not get. */
static int
orphan_strip(struct parse *ps)
{
	if (ps->strip_cls == NULL)
		return 0;
	return bad(ps, ps->strip_line,
	    "a strip line needs a plain line of class %s after it",
	    ps->strip_cls);
}

static int
add_rule(struct parse *ps, const char *cls, const char *ere, int cflags)
{
	struct aim_patterns *p = ps->p;
	struct rule *r;

	if (ps->strip_cls != NULL && strcmp(ps->strip_cls, cls) != 0)
		return orphan_strip(ps);
	p->rules = aim_xrealloc(p->rules, (p->n + 1) * sizeof(*p->rules));
	r = &p->rules[p->n];
	memset(r, 0, sizeof(*r));
	if (compile(ps, &r->re, ere, cflags) == -1)
		return -1;
	r->cls = aim_xstrdup(cls);
	if (ps->strip_cls != NULL) {
		r->strip = ps->strip;
		r->has_strip = 1;
		free(ps->strip_cls);
		ps->strip_cls = NULL;
	}
	p->n++;
	ps->open = 1;
	return 0;
}

static int
add_cond(struct parse *ps, const char *cls, const char *ere, int cflags,
    int unless)
{
	struct rule *r = ps->p->n ? &ps->p->rules[ps->p->n - 1] : NULL;
	struct cond *c;

	if (!ps->open || strcmp(r->cls, cls) != 0)
		return bad(ps, ps->lineno, "an %s line needs a plain line of "
		    "class %s before it", unless ? "unless" : "and", cls);
	r->conds = aim_xrealloc(r->conds, (r->nconds + 1) * sizeof(*r->conds));
	c = &r->conds[r->nconds];
	if (compile(ps, &c->re, ere, cflags) == -1)
		return -1;
	c->unless = unless;
	r->nconds++;
	return 0;
}

/* One line, without its newline. */
static int
parse_line(struct parse *ps, char *line)
{
	char *cls = line, *fl, *ere;
	enum kind kind;
	int cflags;

	if (*line == '\0' || *line == '#')
		return 0;
	if ((fl = strchr(cls, '\t')) == NULL ||
	    (ere = strchr(fl + 1, '\t')) == NULL)
		return bad(ps, ps->lineno, "not CLASS<TAB>FLAGS<TAB>ERE");
	*fl++ = '\0';
	*ere++ = '\0';
	if (!aim_error_class_valid(cls) || strcmp(cls, "unclassified") == 0)
		return bad(ps, ps->lineno, "unknown error class '%s'", cls);
	if (flags(ps, fl, &kind, &cflags) == -1)
		return -1;
	if (kind == AND || kind == UNLESS)
		return add_cond(ps, cls, ere, cflags, kind == UNLESS);
	ps->open = 0;
	if (kind == PLAIN)
		return add_rule(ps, cls, ere, cflags);
	if (orphan_strip(ps) == -1 ||
	    compile(ps, &ps->strip, ere, cflags) == -1)
		return -1;
	ps->strip_cls = aim_xstrdup(cls);
	ps->strip_line = ps->lineno;
	return 0;
}

struct aim_patterns *
aim_patterns_parse(FILE *fp, const char *name, char **why)
{
	struct parse ps;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;

	memset(&ps, 0, sizeof(ps));
	ps.p = aim_xmalloc(sizeof(*ps.p));
	memset(ps.p, 0, sizeof(*ps.p));
	ps.name = name;
	while (rc == 0 && (len = getline(&line, &cap, fp)) != -1) {
		ps.lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if ((size_t)len != strlen(line))
			rc = bad(&ps, ps.lineno, "a NUL byte");
		else
			rc = parse_line(&ps, line);
	}
	free(line);
	if (rc == 0 && ferror(fp))
		rc = bad(&ps, ps.lineno, "%s", strerror(errno));
	if (rc == 0)
		rc = orphan_strip(&ps);
	if (ps.strip_cls != NULL) {
		regfree(&ps.strip);
		free(ps.strip_cls);
	}
	if (rc == 0)
		return ps.p;
	aim_patterns_free(ps.p);
	*why = ps.why;
	errno = EINVAL;
	return NULL;
}

struct aim_patterns *
aim_patterns_load(const char *path, char **why)
{
	struct aim_patterns *p;
	FILE *fp;
	int e;

	if ((fp = fopen(path, "re")) == NULL) {
		e = errno;
		*why = aim_xsprintf("%s: %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	p = aim_patterns_parse(fp, path, why);
	fclose(fp);
	if (p == NULL)
		errno = EINVAL;
	return p;
}

/* text less every match of re, line by line as sed s///g (malloc'd). */
static char *
strip(const regex_t *re, const char *text)
{
	size_t len = strlen(text), o = 0;
	char *out = aim_xmalloc(len + 1);
	const char *s = text;
	regmatch_t m;
	int ef;

	while (*s != '\0') {
		ef = s > text && s[-1] != '\n' ? REG_NOTBOL : 0;
		if (regexec(re, s, 1, &m, ef) != 0)
			break;
		memcpy(out + o, s, m.rm_so);
		o += m.rm_so;
		if (m.rm_eo == m.rm_so) {
			/* An empty match removes nothing: keep a byte, go on. */
			out[o++] = s[m.rm_eo];
			s += m.rm_eo + 1;
		} else
			s += m.rm_eo;
	}
	memcpy(out + o, s, strlen(s) + 1);
	return out;
}

static int
rule_matches(const struct rule *r, const char *text)
{
	char *stripped;
	size_t i;
	int hit;

	if (r->has_strip) {
		stripped = strip(&r->strip, text);
		hit = regexec(&r->re, stripped, 0, NULL, 0) == 0;
		free(stripped);
	} else
		hit = regexec(&r->re, text, 0, NULL, 0) == 0;
	for (i = 0; hit && i < r->nconds; i++)
		hit = (regexec(&r->conds[i].re, text, 0, NULL, 0) == 0) !=
		    r->conds[i].unless;
	return hit;
}

const char *
aim_patterns_classify(const struct aim_patterns *p, const char *text)
{
	size_t i;

	if (p == NULL || text == NULL)
		return NULL;
	for (i = 0; i < p->n; i++)
		if (rule_matches(&p->rules[i], text))
			return p->rules[i].cls;
	return NULL;
}

size_t
aim_patterns_count(const struct aim_patterns *p)
{
	return p == NULL ? 0 : p->n;
}

void
aim_patterns_free(struct aim_patterns *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		rule_free(&p->rules[i]);
	free(p->rules);
	free(p);
}
