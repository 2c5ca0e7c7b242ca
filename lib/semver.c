/* semver.c: versions out of --version output, and npm-style version pins. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "aim-data.h"

/*
 * Read a decimal number at *s, not past end (at most 9 digits kept); -1
 * when none.
 */
static long
number(const char **s, const char *end)
{
	long n = 0;
	int any = 0;

	while (*s < end && isdigit((unsigned char)**s)) {
		if (n < 100000000)
			n = n * 10 + (**s - '0');
		(*s)++;
		any = 1;
	}
	return any ? n : -1;
}

/* Prerelease/build identifier characters (SemVer §9). */
static int
ident_char(int c)
{
	return isalnum(c) || c == '-' || c == '.';
}

/* Parse "1", "1.2", "1.2.3", with -pre at s; 0..3 parts in *nparts. */
static const char *
parse_at(const char *s, const char *end, struct aim_semver *v, int *nparts)
{
	const char *p = s, *q;
	long n;
	size_t k;

	memset(v, 0, sizeof(*v));
	*nparts = 0;
	if ((n = number(&p, end)) < 0)
		return NULL;
	v->major = n;
	*nparts = 1;
	if (p < end - 1 && *p == '.' && isdigit((unsigned char)p[1])) {
		p++;
		v->minor = number(&p, end);
		*nparts = 2;
		if (p < end - 1 && *p == '.' && isdigit((unsigned char)p[1])) {
			p++;
			v->patch = number(&p, end);
			*nparts = 3;
		}
	}
	if (*nparts == 3 && p < end - 1 && *p == '-' &&
	    isalnum((unsigned char)p[1])) {
		q = ++p;
		while (p < end && ident_char((unsigned char)*p))
			p++;
		while (p > q && p[-1] == '.')
			p--;
		k = (size_t)(p - q) < sizeof(v->pre) - 1 ? (size_t)(p - q) :
		    sizeof(v->pre) - 1;
		memcpy(v->pre, q, k);
		v->pre[k] = '\0';
	}
	return p;
}

int
aim_semver_find(const char *text, size_t len, struct aim_semver *v,
    char *out, size_t out_bytes)
{
	const char *end = text + len, *p, *e, *lone = NULL;
	struct aim_semver tmp;
	int parts;

	for (p = text; p < end; p++) {
		if (!isdigit((unsigned char)*p) ||
		    (p > text && (isdigit((unsigned char)p[-1]) ||
		    p[-1] == '.')))
			continue;
		e = parse_at(p, end, &tmp, &parts);
		if (parts >= 2) {
			*v = tmp;
			goto found;
		}
		if (lone == NULL)
			lone = p;
	}
	if (lone == NULL)
		return -1;
	p = lone;
	e = parse_at(p, end, v, &parts);
found:
	if (out != NULL && out_bytes > 0) {
		size_t k = (size_t)(e - p) < out_bytes - 1 ? (size_t)(e - p) :
		    out_bytes - 1;

		memcpy(out, p, k);
		out[k] = '\0';
	}
	return 0;
}

/* Compare prerelease strings by SemVer §11.4; "" ranks above any. */
static int
pre_cmp(const char *a, const char *b)
{
	const char *ae, *be;
	size_t al, bl;
	int an, bn, c;

	if (*a == '\0' || *b == '\0')
		return (*a == '\0') - (*b == '\0');
	for (;;) {
		ae = strchr(a, '.');
		be = strchr(b, '.');
		al = ae ? (size_t)(ae - a) : strlen(a);
		bl = be ? (size_t)(be - b) : strlen(b);
		an = al > 0 && strspn(a, "0123456789") >= al;
		bn = bl > 0 && strspn(b, "0123456789") >= bl;
		if (an && bn) {
			if (al != bl)
				return al < bl ? -1 : 1;
			if ((c = memcmp(a, b, al)) != 0)
				return c < 0 ? -1 : 1;
		} else if (an != bn) {
			return an ? -1 : 1;	/* numeric ranks lower */
		} else {
			c = memcmp(a, b, al < bl ? al : bl);
			if (c != 0)
				return c < 0 ? -1 : 1;
			if (al != bl)
				return al < bl ? -1 : 1;
		}
		if (ae == NULL || be == NULL)
			return (ae != NULL) - (be != NULL);
		a = ae + 1;
		b = be + 1;
	}
}

int
aim_semver_cmp(const struct aim_semver *a, const struct aim_semver *b)
{
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	if (a->patch != b->patch)
		return a->patch < b->patch ? -1 : 1;
	return pre_cmp(a->pre, b->pre);
}

/* One bound: the version and whether it is inclusive. */
struct bound {
	int	 set, incl;
	struct aim_semver v;
};

static void
bump(struct aim_semver *v, int part)
{
	if (part == 0) {
		v->major++;
		v->minor = v->patch = 0;
	} else if (part == 1) {
		v->minor++;
		v->patch = 0;
	} else
		v->patch++;
	v->pre[0] = '\0';
}

/* Raise lo to b when b is the tighter lower bound. */
static void
lo_tighten(struct bound *lo, const struct bound *b)
{
	int c;

	if (!lo->set || (c = aim_semver_cmp(&b->v, &lo->v)) > 0 ||
	    (c == 0 && !b->incl))
		*lo = *b;
}

/* Lower hi to b when b is the tighter upper bound. */
static void
hi_tighten(struct bound *hi, const struct bound *b)
{
	int c;

	if (!hi->set || (c = aim_semver_cmp(&b->v, &hi->v)) < 0 ||
	    (c == 0 && !b->incl))
		*hi = *b;
}

/* Is *p a wildcard part: x, X or *? */
static int
wild(const char *p)
{
	return *p == 'x' || *p == 'X' || *p == '*';
}

/*
 * Read a comparator: up to two operator characters of "<>=~^", a v or =,
 * then a version whose parts from an x, X or * on are wildcards (*parts
 * counts those before; 0 for "*"), then +build, ignored.  -1 when it does
 * not parse.
 */
static int
comparator_read(const char *tok, char op[3], struct aim_semver *v,
    int *parts)
{
	const char *p = tok, *end = tok + strlen(tok);
	int n;

	memset(v, 0, sizeof(*v));
	*parts = 0;
	for (n = 0; n < 2 && strchr("<>=~^", *p) != NULL && *p; n++)
		op[n] = *p++;
	op[n] = '\0';
	if (*p == 'v' || *p == '=')
		p++;
	if (wild(p))
		p++;
	else {
		if ((p = parse_at(p, end, v, parts)) == NULL)
			return -1;
		if (*p == '.' && wild(p + 1))
			p += 2;
		if (*p == '.' && wild(p + 1))
			p += 2;
	}
	if (*p == '+')
		p += strlen(p);
	return *p == '\0' ? 0 : -1;
}

/* A version all wildcard: "*", ">=x" are anything; "<x", ">x" nothing. */
static void
wildcard(const char *op, struct bound *lo, struct bound *hi)
{
	if (strcmp(op, "<") == 0 || strcmp(op, ">") == 0) {
		lo->set = hi->set = 1;
		memset(&lo->v, 0, sizeof(lo->v));
		hi->v = lo->v;
		lo->incl = hi->incl = 0;
	}
}

/* >=v <up: what a tilde, a caret and a bare partial version stand for. */
static void
range(const struct aim_semver *v, const struct aim_semver *up,
    struct bound *lo, struct bound *hi)
{
	struct bound l = { 1, 1, *v }, h = { 1, 0, *up };

	lo_tighten(lo, &l);
	hi_tighten(hi, &h);
}

/* ~1.2.3 is >=1.2.3 <1.3.0, ~1.2 the same from 1.2.0; ~1 is 1.x. */
static void
tilde(const struct aim_semver *v, int parts, struct bound *lo,
    struct bound *hi)
{
	struct aim_semver up = *v;

	bump(&up, parts == 1 ? 0 : 1);
	range(v, &up, lo, hi);
}

/* ^: the first part that is not zero, or the last one given, stays. */
static void
caret(const struct aim_semver *v, int parts, struct bound *lo,
    struct bound *hi)
{
	struct aim_semver up = *v;

	if (v->major > 0 || parts == 1)
		bump(&up, 0);
	else if (v->minor > 0 || parts == 2)
		bump(&up, 1);
	else
		bump(&up, 2);
	range(v, &up, lo, hi);
}

/* 1.2.3 or =1.2.3 exactly; a partial 1.2 is 1.2.x, up to past it. */
static void
exact(const struct aim_semver *v, const struct aim_semver *past, int parts,
    struct bound *lo, struct bound *hi)
{
	struct bound b = { 1, 1, *v };

	if (parts < 3) {
		range(v, past, lo, hi);
		return;
	}
	lo_tighten(lo, &b);
	hi_tighten(hi, &b);
}

/* > and >=; a partial widens: >1.2 is >=1.3.0 (past). */
static void
above(const char *op, const struct aim_semver *v,
    const struct aim_semver *past, int parts, struct bound *lo)
{
	struct bound b = { 1, 1, *v };

	if (op[1] == '\0') {
		if (parts == 3)
			b.incl = 0;
		else
			b.v = *past;
	}
	lo_tighten(lo, &b);
}

/* < and <=; a partial widens: <=1.2 is <1.3.0 (past). */
static void
below(const char *op, const struct aim_semver *v,
    const struct aim_semver *past, int parts, struct bound *hi)
{
	struct bound b = { 1, 0, *v };

	if (op[1] == '=') {
		if (parts == 3)
			b.incl = 1;
		else
			b.v = *past;
	}
	hi_tighten(hi, &b);
}

/*
 * Tighten lo/hi with one comparator, by its form (aim-scan(1) "tools"):
 * wildcard, tilde, caret, exact (or x-range), then the primitive >, >=,
 * <, <=.  -1 when it does not parse.
 */
static int
comparator(const char *tok, struct bound *lo, struct bound *hi,
    struct aim_semver *pre_tuple, int *has_pre)
{
	char op[3];
	struct aim_semver v, past;
	int parts;

	if (comparator_read(tok, op, &v, &parts) == -1)
		return -1;
	if (v.pre[0] != '\0') {
		*pre_tuple = v;
		*has_pre = 1;
	}
	if (parts == 0) {
		wildcard(op, lo, hi);
		return 0;
	}
	past = v;
	bump(&past, parts - 1);	/* the first version past the partial */
	if (strcmp(op, "~") == 0 || strcmp(op, "~>") == 0)
		tilde(&v, parts, lo, hi);
	else if (strcmp(op, "^") == 0)
		caret(&v, parts, lo, hi);
	else if (op[0] == '\0' || strcmp(op, "=") == 0)
		exact(&v, &past, parts, lo, hi);
	else if (strcmp(op, ">=") == 0 || strcmp(op, ">") == 0)
		above(op, &v, &past, parts, lo);
	else if (strcmp(op, "<=") == 0 || strcmp(op, "<") == 0)
		below(op, &v, &past, parts, hi);
	else
		return -1;
	return 0;
}

int
aim_semver_satisfies(const struct aim_semver *v, const char *pin, char **why)
{
	struct bound lo = { 0, 0, { 0, 0, 0, "" } }, hi = lo;
	struct aim_semver pre_tuple = { 0, 0, 0, "" };
	char *copy, *tok, *save = NULL, *joined;
	int c, has_pre = 0, ok = 1, any = 0;
	size_t n;

	copy = aim_xstrdup(pin);
	/* npm allows ">= 1.2": join an operator to the version after it. */
	joined = aim_xmalloc(strlen(pin) + 1);
	for (n = 0, tok = copy; *tok; tok++) {
		if (*tok == ' ' && n > 0 && strchr("<>=~^", joined[n - 1]))
			continue;
		joined[n++] = *tok;
	}
	joined[n] = '\0';
	for (tok = strtok_r(joined, " \t", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t", &save)) {
		any = 1;
		if (comparator(tok, &lo, &hi, &pre_tuple, &has_pre) == -1) {
			n = strlen(pin) + strlen(tok) + 64;
			*why = aim_xmalloc(n);
			snprintf(*why, n, "bad version pin \"%s\" at \"%s\"",
			    pin, tok);
			free(copy);
			free(joined);
			errno = EINVAL;
			return -1;
		}
	}
	free(copy);
	free(joined);
	if (!any) {
		*why = aim_xstrdup("empty version pin");
		errno = EINVAL;
		return -1;
	}
	if (lo.set && ((c = aim_semver_cmp(v, &lo.v)) < 0 ||
	    (c == 0 && !lo.incl)))
		ok = 0;
	if (hi.set && ((c = aim_semver_cmp(v, &hi.v)) > 0 ||
	    (c == 0 && !hi.incl)))
		ok = 0;
	/* npm: 1.3.0-beta does not satisfy >=1.2.0 unless a pin names 1.3.0-x. */
	if (ok && v->pre[0] != '\0' && (!has_pre ||
	    pre_tuple.major != v->major || pre_tuple.minor != v->minor ||
	    pre_tuple.patch != v->patch))
		ok = 0;
	return ok;
}
