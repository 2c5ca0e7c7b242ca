/*
 * redact.c: secrets out of JSON values before they are written anywhere:
 * by key name, by provider key pattern, and the exact values of the vault
 * (aim-audit(1) "Redaction").
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "aim-data.h"

#define REDACTED	"[REDACTED]"

static const char *const secret_words[] = {
	"token", "password", "passwd", "secret", "secrets", "authorization",
	"apikey", "credential", "credentials", "cookie", "auth", NULL
};

/*
 * Does a key name a secret?  The key is split into lowercase words at
 * punctuation and camelCase humps: "access_token", "apiKey", "X-Api-Key",
 * "GITHUB_TOKEN", "private_key" do; "max_tokens", "key", "keys" do not.
 */
static int
secret_key(const char *key)
{
	char word[64];
	size_t w = 0, nwords = 0;
	const char *const *s;
	int last_key = 0;
	const char *p;

	for (p = key; ; p++) {
		int c = (unsigned char)*p;
		int hump = w > 0 && isupper(c) && p > key &&
		    islower((unsigned char)p[-1]);

		if (c == '\0' || !isalnum(c) || hump) {
			if (w > 0) {
				word[w] = '\0';
				nwords++;
				for (s = secret_words; *s != NULL; s++)
					if (strcmp(word, *s) == 0)
						return 1;
				last_key = strcmp(word, "key") == 0;
				w = 0;
			}
			if (c == '\0')
				break;
			if (!hump)
				continue;
		}
		if (w + 1 < sizeof(word))
			word[w++] = tolower(c);
	}
	return last_key && nwords > 1;
}

struct pattern {
	const char *prefix;	/* matched case-sensitively */
	const char *chars;	/* what may follow */
	size_t	 min;		/* at least this many of them */
	int	 keep_prefix;	/* "Bearer [REDACTED]" */
};

#define ALNUM	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

static const struct pattern patterns[] = {
	{ "sk-", ALNUM "_-", 16, 0 },			/* OpenAI, Anthropic sk-ant- */
	{ "AKIA", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 16, 0 },	/* AWS */
	{ "ghp_", ALNUM, 20, 0 },			/* GitHub */
	{ "gho_", ALNUM, 20, 0 },
	{ "ghu_", ALNUM, 20, 0 },
	{ "ghs_", ALNUM, 20, 0 },
	{ "ghr_", ALNUM, 20, 0 },
	{ "github_pat_", ALNUM "_", 20, 0 },
	{ "AIza", ALNUM "_-", 30, 0 },			/* Google */
	{ "xoxb-", ALNUM "-", 10, 0 },			/* Slack */
	{ "xoxp-", ALNUM "-", 10, 0 },
	{ "Bearer ", ALNUM "-._~+/=", 8, 1 },
	{ "bearer ", ALNUM "-._~+/=", 8, 1 },
	{ NULL, NULL, 0, 0 }
};

/* Length of a secret starting at s (after a word boundary), or 0. */
static size_t
match_secret(const char *s, size_t left, const struct pattern **which)
{
	const struct pattern *pt;
	size_t plen, n;

	for (pt = patterns; pt->prefix != NULL; pt++) {
		plen = strlen(pt->prefix);
		if (left < plen || memcmp(s, pt->prefix, plen) != 0)
			continue;
		for (n = plen; n < left && s[n] != '\0' &&
		    strchr(pt->chars, s[n]) != NULL; n++)
			;
		if (n - plen >= pt->min) {
			*which = pt;
			return n;
		}
	}
	return 0;
}

static json_t *redact_pattern_string(const char *, size_t);

/* The registered secret values, each in its plain and encoded forms. */
static struct {
	unsigned char **v;
	size_t	*len;
	size_t	 n, cap;
} secrets;

#define SECRET_MIN_BYTES	4

static int
add_form(const unsigned char *s, size_t len)
{
	unsigned char *copy;
	size_t i;

	for (i = 0; i < secrets.n; i++)
		if (secrets.len[i] == len && memcmp(secrets.v[i], s, len) == 0)
			return 0;
	if ((copy = sodium_malloc(len + 1)) == NULL)
		return -1;
	memcpy(copy, s, len);
	copy[len] = '\0';
	if (secrets.n == secrets.cap) {
		secrets.cap = secrets.cap ? secrets.cap * 2 : 16;
		secrets.v = aim_xrealloc(secrets.v, secrets.cap *
		    sizeof(*secrets.v));
		secrets.len = aim_xrealloc(secrets.len, secrets.cap *
		    sizeof(*secrets.len));
	}
	/* Longest first: a secret inside another never cuts the longer one. */
	for (i = secrets.n; i > 0 && secrets.len[i - 1] < len; i--) {
		secrets.v[i] = secrets.v[i - 1];
		secrets.len[i] = secrets.len[i - 1];
	}
	secrets.v[i] = copy;
	secrets.len[i] = len;
	secrets.n++;
	return 0;
}

int
aim_redact_register(const unsigned char *value, size_t len)
{
	static const int variants[] = {
		sodium_base64_VARIANT_ORIGINAL,
		sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
		sodium_base64_VARIANT_URLSAFE,
		sodium_base64_VARIANT_URLSAFE_NO_PADDING
	};
	char *b64, *esc;
	json_t *j;
	size_t i, n;
	int rc = 0;

	if (len < SECRET_MIN_BYTES)
		return 0;
	if (sodium_init() < 0 || add_form(value, len) == -1)
		return -1;
	/* As it stands inside a JSON string that was itself serialised. */
	if ((j = json_stringn((const char *)value, len)) != NULL) {
		esc = json_dumps(j, JSON_ENCODE_ANY);
		json_decref(j);
		if (esc != NULL) {
			n = strlen(esc);
			if (n >= 2 && (n - 2 != len ||
			    memcmp(esc + 1, value, len) != 0))
				rc |= add_form((unsigned char *)esc + 1, n - 2);
			sodium_memzero(esc, n);
			free(esc);
		}
	}
	n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = sodium_malloc(n)) == NULL)
		return -1;
	for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		sodium_bin2base64(b64, n, value, len, variants[i]);
		rc |= add_form((unsigned char *)b64, strlen(b64));
	}
	sodium_free(b64);
	return rc;
}

/*
 * s with every registered secret replaced; NULL when none stood in it.
 * The result is malloc'd, its length in *outlen.
 */
static char *
replace_secrets(const char *s, size_t len, size_t *outlen)
{
	char *cur = NULL, *next, *hit;
	const char *src = s;
	size_t i, srclen = len, o, last;

	for (i = 0; i < secrets.n; i++) {
		if (memmem(src, srclen, secrets.v[i], secrets.len[i]) == NULL)
			continue;
		next = aim_xmalloc(srclen + 1 + (srclen / secrets.len[i] + 1) *
		    sizeof(REDACTED));
		o = 0;
		last = 0;
		while ((hit = memmem(src + last, srclen - last, secrets.v[i],
		    secrets.len[i])) != NULL) {
			memcpy(next + o, src + last, hit - (src + last));
			o += hit - (src + last);
			memcpy(next + o, REDACTED, sizeof(REDACTED) - 1);
			o += sizeof(REDACTED) - 1;
			last = hit - src + secrets.len[i];
		}
		memcpy(next + o, src + last, srclen - last);
		o += srclen - last;
		if (cur != NULL) {
			sodium_memzero(cur, srclen);
			free(cur);
		}
		cur = next;
		src = cur;
		srclen = o;
	}
	*outlen = srclen;
	return cur;
}

/* A copy of a string value with its secret values redacted, or NULL. */
static json_t *
redact_secret_string(const char *s, size_t len)
{
	size_t n;
	char *r;
	json_t *j;

	if (secrets.n == 0 || (r = replace_secrets(s, len, &n)) == NULL)
		return NULL;
	j = json_stringn(r, n);
	free(r);
	return j;
}

/*
 * A redacted copy of a string value, or NULL when nothing matched: the
 * registered secret values first, whole, then the provider-key patterns
 * in what is left.  The other way round a pattern inside a secret would
 * cut it and its tail would stand (aim-audit(1) "Redaction").
 */
static json_t *
redact_string(const char *s, size_t len)
{
	json_t *sec, *pat;

	sec = redact_secret_string(s, len);
	if (sec != NULL) {
		pat = redact_pattern_string(json_string_value(sec),
		    json_string_length(sec));
		if (pat != NULL) {
			json_decref(sec);
			return pat;
		}
		return sec;
	}
	return redact_pattern_string(s, len);
}

/* Walk v and replace strings with what fn makes of them. */
static size_t
walk_strings(json_t *v, json_t *(*fn)(const char *, size_t))
{
	const char *key;
	json_t *x, *r;
	size_t i, n = 0;

	if (json_is_object(v)) {
		json_object_foreach(v, key, x) {
			if (json_is_string(x)) {
				r = fn(json_string_value(x),
				    json_string_length(x));
				if (r != NULL) {
					json_object_set_new(v, key, r);
					n++;
				}
			} else
				n += walk_strings(x, fn);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			if (json_is_string(x)) {
				r = fn(json_string_value(x),
				    json_string_length(x));
				if (r != NULL) {
					json_array_set_new(v, i, r);
					n++;
				}
			} else
				n += walk_strings(x, fn);
		}
	}
	return n;
}

size_t
aim_redact_secrets(json_t *v)
{
	return secrets.n ? walk_strings(v, redact_secret_string) : 0;
}

/* A copy of a string value with provider-key patterns redacted, or NULL. */
static json_t *
redact_pattern_string(const char *s, size_t len)
{
	const struct pattern *pt;
	char *out = NULL;
	size_t i, n, o = 0, last = 0;
	json_t *j;

	for (i = 0; i < len; i++) {
		if (i > 0 && isalnum((unsigned char)s[i - 1]))
			continue;
		if ((n = match_secret(s + i, len - i, &pt)) == 0)
			continue;
		if (out == NULL)
			out = aim_xmalloc(len + 1 + (len / 8 + 1) * sizeof(REDACTED));
		if (pt->keep_prefix)
			i += strlen(pt->prefix), n -= strlen(pt->prefix);
		memcpy(out + o, s + last, i - last);
		o += i - last;
		memcpy(out + o, REDACTED, sizeof(REDACTED) - 1);
		o += sizeof(REDACTED) - 1;
		last = i + n;
		i = last - 1;
	}
	if (out == NULL)
		return NULL;
	memcpy(out + o, s + last, len - last);
	o += len - last;
	j = json_stringn(out, o);
	free(out);
	return j;
}

/* Values under keys that name a secret become "[REDACTED]", at any depth. */
static size_t
redact_keys(json_t *v)
{
	const char *key;
	json_t *x;
	size_t i, n = 0;

	if (json_is_object(v)) {
		json_object_foreach(v, key, x)
			if (secret_key(key) && !json_is_null(x) &&
			    !(json_is_string(x) && json_string_length(x) == 0)) {
				json_object_set_new(v, key, json_string(REDACTED));
				n++;
			} else
				n += redact_keys(x);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			n += redact_keys(x);
	}
	return n;
}

size_t
aim_redact(json_t *v)
{
	return redact_keys(v) + walk_strings(v, redact_string);
}
