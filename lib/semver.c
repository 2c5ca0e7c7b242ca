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

/* Tighten lo/hi with one comparator; -1 when it does not parse. */
static int
comparator(const char *tok, struct bound *lo, struct bound *hi,
    struct aim_semver *pre_tuple, int *has_pre)
{
	char op[3] = "";
	const char *p = tok, *end = tok + strlen(tok);
	struct aim_semver v, up;
	int parts = 0, n;

	memset(&v, 0, sizeof(v));
	for (n = 0; n < 2 && strchr("<>=~^", *p) != NULL && *p; n++)
		op[n] = *p++;
	op[n] = '\0';
	if (*p == 'v' || *p == '=')
		p++;
	/* Parts, with x or * as a wildcard ending the version early. */
	if (*p == 'x' || *p == 'X' || *p == '*') {
		p++;
	} else {
		const char *q = parse_at(p, end, &v, &parts);

		if (q == NULL)
			return -1;
		p = q;
		if (*p == '.' && (p[1] == 'x' || p[1] == 'X' || p[1] == '*'))
			p += 2;
		if (*p == '.' && (p[1] == 'x' || p[1] == 'X' || p[1] == '*'))
			p += 2;
	}
	if (*p == '+')		/* build metadata: ignored */
		p += strlen(p);
	if (*p != '\0')
		return -1;
	if (v.pre[0] != '\0') {
		*pre_tuple = v;
		*has_pre = 1;
	}
	if (parts == 0) {
		/* "*", ">=x": anything; "<x", ">x": nothing. */
		if (strcmp(op, "<") == 0 || strcmp(op, ">") == 0) {
			lo->set = hi->set = 1;
			memset(&lo->v, 0, sizeof(lo->v));
			hi->v = lo->v;
			lo->incl = hi->incl = 0;
		}
		return 0;
	}
	up = v;
	bump(&up, parts - 1);	/* the first version past the partial */
	if (strcmp(op, "~") == 0 || strcmp(op, "~>") == 0) {
		up = v;
		bump(&up, parts == 1 ? 0 : 1);
		goto range;
	}
	if (strcmp(op, "^") == 0) {
		up = v;
		if (v.major > 0 || parts == 1)
			bump(&up, 0);
		else if (v.minor > 0 || parts == 2)
			bump(&up, 1);
		else
			bump(&up, 2);
		goto range;
	}
	if (op[0] == '\0' || strcmp(op, "=") == 0) {
		if (parts == 3) {
			struct bound b = { 1, 1, v };

			if (!lo->set || aim_semver_cmp(&v, &lo->v) > 0 ||
			    (aim_semver_cmp(&v, &lo->v) == 0 && !b.incl))
				*lo = b;
			if (!hi->set || aim_semver_cmp(&v, &hi->v) < 0 ||
			    (aim_semver_cmp(&v, &hi->v) == 0 && hi->incl))
				*hi = b;
			return 0;
		}
		goto range;
	}
	if (strcmp(op, ">=") == 0 || strcmp(op, ">") == 0) {
		struct bound b = { 1, 1, v };

		if (op[1] == '\0') {
			if (parts == 3)
				b.incl = 0;
			else
				b.v = up;
		}
		if (!lo->set || aim_semver_cmp(&b.v, &lo->v) > 0 ||
		    (aim_semver_cmp(&b.v, &lo->v) == 0 && !b.incl))
			*lo = b;
		return 0;
	}
	if (strcmp(op, "<=") == 0 || strcmp(op, "<") == 0) {
		struct bound b = { 1, 0, v };

		if (op[1] == '=') {
			if (parts == 3)
				b.incl = 1;
			else
				b.v = up;
		}
		if (!hi->set || aim_semver_cmp(&b.v, &hi->v) < 0 ||
		    (aim_semver_cmp(&b.v, &hi->v) == 0 && !b.incl))
			*hi = b;
		return 0;
	}
	return -1;
range:
	{
		struct bound l = { 1, 1, v }, h = { 1, 0, up };

		if (!lo->set || aim_semver_cmp(&l.v, &lo->v) > 0)
			*lo = l;
		if (!hi->set || aim_semver_cmp(&h.v, &hi->v) < 0 ||
		    (aim_semver_cmp(&h.v, &hi->v) == 0 && hi->incl))
			*hi = h;
	}
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
