/*
 * jsonpos.c: where a value sits in JSON text, for file:line:column messages.
 * jansson reports positions for syntax errors only; this walks text that
 * jansson already accepted, so it need not handle malformed input.
 */
#include <stdlib.h>
#include <string.h>

#include "aim-data.h"

struct cursor {
	const char *s;
	size_t	 len, i;
	int	 line, col;
};

static void
advance(struct cursor *c)
{
	if (c->i >= c->len)
		return;
	/* Count columns in characters, as jansson does: skip continuation bytes. */
	if (c->s[c->i] == '\n') {
		c->line++;
		c->col = 1;
	} else if (((unsigned char)c->s[c->i] & 0xc0) != 0x80)
		c->col++;
	c->i++;
}

static void
skip_ws(struct cursor *c)
{
	while (c->i < c->len && strchr(" \t\r\n", c->s[c->i]) != NULL &&
	    c->s[c->i] != '\0')
		advance(c);
}

/* Read a string at the cursor; with out, decode simple escapes into it. */
static void
read_string(struct cursor *c, char *out, size_t outsz)
{
	size_t o = 0;

	advance(c);	/* opening quote */
	while (c->i < c->len && c->s[c->i] != '"') {
		char ch = c->s[c->i];

		if (ch == '\\') {
			advance(c);
			if (c->i >= c->len)
				break;
			ch = c->s[c->i];
			switch (ch) {
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'r': ch = '\r'; break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case 'u':
				/* Rare in keys; keep it undecoded, it won't match. */
				ch = '?';
				break;
			default: break;
			}
		}
		if (out != NULL && o + 1 < outsz)
			out[o++] = ch;
		advance(c);
	}
	advance(c);	/* closing quote */
	if (out != NULL)
		out[o] = '\0';
}

static void skip_value(struct cursor *);

static void
skip_container(struct cursor *c, char close)
{
	advance(c);
	for (;;) {
		skip_ws(c);
		if (c->i >= c->len)
			return;
		if (c->s[c->i] == close) {
			advance(c);
			return;
		}
		if (c->s[c->i] == ',' || c->s[c->i] == ':') {
			advance(c);
			continue;
		}
		skip_value(c);
	}
}

static void
skip_value(struct cursor *c)
{
	skip_ws(c);
	if (c->i >= c->len)
		return;
	switch (c->s[c->i]) {
	case '"':
		read_string(c, NULL, 0);
		break;
	case '{':
		skip_container(c, '}');
		break;
	case '[':
		skip_container(c, ']');
		break;
	default:
		/*
		 * At least one byte: a stray ']' or a NUL byte (which strchr(3)
		 * finds in any set) must not stop the walk where it stands.
		 */
		do
			advance(c);
		while (c->i < c->len && c->s[c->i] != '\0' &&
		    strchr(",]} \t\r\n", c->s[c->i]) == NULL);
		break;
	}
}

/* Move to member `key` of the object at the cursor; 0 or -1. */
static int
enter_key(struct cursor *c, const char *key, int *kline, int *kcol)
{
	char name[512];

	skip_ws(c);
	if (c->i >= c->len || c->s[c->i] != '{')
		return -1;
	advance(c);
	for (;;) {
		skip_ws(c);
		if (c->i >= c->len || c->s[c->i] == '}')
			return -1;
		if (c->s[c->i] == ',') {
			advance(c);
			continue;
		}
		*kline = c->line;
		*kcol = c->col;
		read_string(c, name, sizeof(name));
		skip_ws(c);
		advance(c);	/* ':' */
		skip_ws(c);
		if (strcmp(name, key) == 0)
			return 0;
		skip_value(c);
	}
}

/* Move to element `index` of the array at the cursor; 0 or -1. */
static int
enter_index(struct cursor *c, long index)
{
	long k;

	skip_ws(c);
	if (c->i >= c->len || c->s[c->i] != '[')
		return -1;
	advance(c);
	for (k = 0; ; k++) {
		skip_ws(c);
		if (c->i >= c->len || c->s[c->i] == ']')
			return -1;
		if (k == index)
			return 0;
		skip_value(c);
		skip_ws(c);
		if (c->i < c->len && c->s[c->i] == ',')
			advance(c);
	}
}

int
aim_json_locate(const char *text, size_t len, const char *const *path,
    int key_pos, int *line, int *column)
{
	struct cursor c = { text, len, 0, 1, 1 };
	int kline = 1, kcol = 1, is_key = 0;
	char *end;
	long idx;

	if (text == NULL)
		return -1;
	for (; *path != NULL; path++) {
		skip_ws(&c);
		if (c.i < c.len && c.s[c.i] == '[') {
			idx = strtol(*path, &end, 10);
			if (*end != '\0' || enter_index(&c, idx) == -1)
				return -1;
			is_key = 0;
		} else {
			if (enter_key(&c, *path, &kline, &kcol) == -1)
				return -1;
			is_key = 1;
		}
	}
	skip_ws(&c);
	if (key_pos && is_key) {
		*line = kline;
		*column = kcol;
	} else {
		*line = c.line;
		*column = c.col;
	}
	return 0;
}
