/*
 * registry.c: finding and loading the registry, the coordination rules and
 * aim_config.json, and checking them (seed 002 §2, §6; DESIGN.md).
 */
#include <sys/stat.h>

#include <err.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aim-config.h"

#define MAX_FILE_BYTES	(16 * 1024 * 1024)

static void problems_add(struct aim_problems *, const char *, int, int,
    const char *, ...) __attribute__((format(printf, 5, 6)));

/* Add a problem at file:line:column (0 when unknown). */
static void
problems_add(struct aim_problems *p, const char *file, int line,
    int column, const char *fmt, ...)
{
	struct aim_problem *pr;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->v = aim_xrealloc(p->v, p->cap * sizeof(*p->v));
	}
	pr = &p->v[p->n++];
	pr->file = aim_xstrdup(file);
	pr->line = line;
	pr->column = column;
	pr->message = aim_xstrdup(msg);
}

void
aim_problems_print(const struct aim_problems *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (p->v[i].line > 0)
			warnx("%s:%d:%d: %s", p->v[i].file, p->v[i].line,
			    p->v[i].column, p->v[i].message);
		else
			warnx("%s: %s", p->v[i].file, p->v[i].message);
	}
}

void
aim_problems_free(struct aim_problems *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->v[i].file);
		free(p->v[i].message);
	}
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* ---- finding the registry ---- */

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * A registry path that names a file (AIM_registry.json, most likely, in
 * place of its directory): 1 with *why (may be NULL) from fmt and path.
 */
static int
is_file(const char *path, char **why, const char *fmt, const char *arg)
{
	struct stat st;
	size_t n;

	if (stat(path, &st) == -1 || S_ISDIR(st.st_mode))
		return 0;
	if (why != NULL) {
		n = strlen(fmt) + strlen(arg) + 1;
		*why = aim_xmalloc(n);
		snprintf(*why, n, fmt, arg);
	}
	return 1;
}

static void
append(char **s, size_t *len, const char *piece)
{
	size_t n = strlen(piece);

	*s = aim_xrealloc(*s, *len + n + 3);
	if (*len > 0) {
		memcpy(*s + *len, ", ", 2);
		*len += 2;
	}
	memcpy(*s + *len, piece, n + 1);
	*len += n;
}

/* The registry directory as found: canonical when it can be, for clean paths. */
static char *
found(const char *dir, char *looked)
{
	char *p;

	free(looked);
	if ((p = realpath(dir, NULL)) == NULL)
		p = aim_abspath(dir, NULL);
	return p;
}

char *
aim_registry_find(const struct aim_options *opt, char **why)
{
	char cwd[PATH_MAX], cand[PATH_MAX + sizeof(AIM_REGISTRY_DIRNAME) + 2];
	char *looked = NULL, *slash;
	const char *env, *home;
	size_t len = 0;

	if (opt->registry != NULL) {
		if (is_dir(opt->registry))
			return found(opt->registry, looked);
		if (is_file(opt->registry, why, "registry not found: %s is a "
		    "file; give -r the directory that holds "
		    "AIM_registry.json", opt->registry))
			return NULL;
		append(&looked, &len, opt->registry);
		goto notfound;
	}
	if ((env = getenv("AIM_REGISTRY_PATH")) != NULL && *env != '\0') {
		if (is_dir(env))
			return found(env, looked);
		if (is_file(env, why, "registry not found: $AIM_REGISTRY_PATH=%s "
		    "is a file; set AIM_REGISTRY_PATH to the directory that "
		    "holds AIM_registry.json", env))
			return NULL;
		snprintf(cand, sizeof(cand), "$AIM_REGISTRY_PATH=%s", env);
		append(&looked, &len, cand);
		goto notfound;
	}
	if (getcwd(cwd, sizeof(cwd)) != NULL) {
		for (;;) {
			snprintf(cand, sizeof(cand), "%s/%s",
			    strcmp(cwd, "/") == 0 ? "" : cwd,
			    AIM_REGISTRY_DIRNAME);
			if (is_dir(cand))
				return found(cand, looked);
			append(&looked, &len, cand);
			if (strcmp(cwd, "/") == 0)
				break;
			slash = strrchr(cwd, '/');
			if (slash == cwd)
				slash[1] = '\0';
			else
				*slash = '\0';
		}
	}
	if ((home = getenv("HOME")) != NULL && *home != '\0') {
		snprintf(cand, sizeof(cand), "%s/%s", home, AIM_REGISTRY_DIRNAME);
		if (is_dir(cand))
			return found(cand, looked);
		append(&looked, &len, cand);
	}
notfound:
	if (why != NULL)
		*why = aim_xsprintf("registry not found (looked in %s); "
		    "'aim init' makes one", looked ? looked : "nowhere");
	free(looked);
	return NULL;
}

/* ---- reading JSON files with positions ---- */

/* A JSON file being checked: its text for positions, its problems. */
struct jfile {
	const char *name;
	const char *text;
	size_t	 len;
	struct aim_problems *probs;
	int	 nprob;
};

const char *
aim_json_extension(const char *text, size_t len, size_t limit, int *line,
    int *column)
{
	const char *what = NULL;
	size_t i, k, at = 0;
	int in_string = 0, ln = 1, col = 1;

	for (i = 0; i < len && i <= limit && what == NULL; i++) {
		if (in_string) {
			if (text[i] == '\\')
				i++;
			else if (text[i] == '"')
				in_string = 0;
			continue;
		}
		if (text[i] == '"')
			in_string = 1;
		else if (text[i] == '/' && i + 1 < len && (text[i + 1] == '/' ||
		    text[i + 1] == '*')) {
			what = "comments are not allowed in JSON";
			at = i;
		} else if (text[i] == ',') {
			for (k = i + 1; k < len && strchr(" \t\r\n", text[k]) !=
			    NULL && text[k] != '\0'; k++)
				;
			if (k < len && text[k] == '}') {
				what = "trailing comma before '}' (JSON allows "
				    "none)";
				at = i;
			} else if (k < len && text[k] == ']') {
				what = "trailing comma before ']' (JSON allows "
				    "none)";
				at = i;
			}
		}
	}
	if (what == NULL)
		return NULL;
	/* Characters, as jansson counts them: continuation bytes do not. */
	for (i = 0; i < at; i++) {
		if (text[i] == '\n') {
			ln++;
			col = 1;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80)
			col++;
	}
	*line = ln;
	*column = col;
	return what;
}

/* The UTF-8 byte-order mark Notepad and PowerShell 5 write. */
#define BOM	"\xEF\xBB\xBF"

/* Parse a whole file, strictly; NULL after adding the problem. */
static json_t *
load_json(struct jfile *f, char **text_out)
{
	json_error_t e;
	json_t *v;
	char *text;
	const char *ext;
	int line, col;

	*text_out = NULL;
	if (aim_read_file(AT_FDCWD, f->name, 0, MAX_FILE_BYTES, &text,
	    &f->len) == -1) {
		problems_add(f->probs, f->name, 0, 0, "%s", strerror(errno));
		f->nprob++;
		return NULL;
	}
	/* A byte-order mark goes: JSON has none (RFC 8259 §8.1). */
	if (f->len >= 3 && memcmp(text, BOM, 3) == 0) {
		f->len -= 3;
		memmove(text, text + 3, f->len + 1);
	}
	v = json_loadb(text, f->len, JSON_REJECT_DUPLICATES, &e);
	if (v == NULL && (ext = aim_json_extension(text, f->len, e.position,
	    &line, &col)) != NULL) {
		problems_add(f->probs, f->name, line, col, "%s", ext);
		f->nprob++;
		free(text);
		return NULL;
	}
	if (v == NULL) {
		problems_add(f->probs, f->name, e.line, e.column, "%s",
		    e.text);
		f->nprob++;
		free(text);
		return NULL;
	}
	f->text = text;
	*text_out = text;
	return v;
}

/* Add a problem about the value at path (key position when key_pos). */
static void
jproblem(struct jfile *f, const char *const *path, int key_pos,
    const char *fmt, ...)
{
	char msg[1024];
	int line = 0, col = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (aim_json_locate(f->text, f->len, path, key_pos, &line, &col) == -1)
		line = col = 0;
	problems_add(f->probs, f->name, line, col, "%s", msg);
	f->nprob++;
}

enum want {
	W_STRING, W_STRINGS, W_OBJECT, W_BOOL, W_POSINT, W_NATINT, W_STRNULL,
	W_STRMAP, W_NATNUM, W_EXITS, W_VERIFY
};

static const char *want_name[] = {
	"a string", "an array of strings", "an object", "true or false",
	"a positive integer", "a non-negative integer", "a string or null",
	"an object of strings", "a non-negative number",
	"an array of exit codes (0 to 255)",
	"a command or {\"capability\": NAME}"
};

/* Check v (at path, shown as "what") against w; 0 when it fits. */
static int
want(struct jfile *f, json_t *v, enum want w, const char *what,
    const char *const *path)
{
	const char *k;
	size_t i;
	json_t *x;
	int ok;

	switch (w) {
	case W_STRMAP:
		ok = json_is_object(v);
		json_object_foreach(v, k, x)
			if (!json_is_string(x))
				ok = 0;
		break;
	case W_NATNUM: ok = json_is_number(v) && json_number_value(v) >= 0; break;
	case W_STRING: ok = json_is_string(v); break;
	case W_STRNULL: ok = json_is_string(v) || json_is_null(v); break;
	case W_OBJECT: ok = json_is_object(v); break;
	case W_BOOL: ok = json_is_boolean(v); break;
	case W_POSINT: ok = json_is_integer(v) && json_integer_value(v) > 0; break;
	case W_NATINT: ok = json_is_integer(v) && json_integer_value(v) >= 0; break;
	case W_STRINGS:
		ok = json_is_array(v);
		json_array_foreach(v, i, x)
			if (!json_is_string(x))
				ok = 0;
		break;
	case W_VERIFY:
		ok = json_is_string(v) || (json_is_object(v) &&
		    json_object_size(v) == 1 && json_string_length(
		    json_object_get(v, "capability")) > 0);
		break;
	case W_EXITS:
		ok = json_is_array(v);
		json_array_foreach(v, i, x)
			if (!json_is_integer(x) || json_integer_value(x) < 0 ||
			    json_integer_value(x) > 255)
				ok = 0;
		break;
	default: ok = 0; break;
	}
	if (!ok)
		jproblem(f, path, 0, "%s must be %s", what, want_name[w]);
	return ok ? 0 : -1;
}

/* Check the optional member key of obj; path is the object's path. */
static void
want_member(struct jfile *f, json_t *obj, const char *key, enum want w,
    const char *prefix, const char **path, size_t depth)
{
	char what[512];
	json_t *v;

	if ((v = json_object_get(obj, key)) == NULL)
		return;
	path[depth] = key;
	path[depth + 1] = NULL;
	snprintf(what, sizeof(what), "%s%s", prefix, key);
	want(f, v, w, what, path);
	path[depth] = NULL;
}

static void	want_one_of(struct jfile *, json_t *, const char *,
		    const char *const *, const char *, const char **, size_t);

/* ---- members aim knows ---- */

/* Levenshtein distance of a and b, letters compared without case. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, k, *row, prev, cur;

	row = aim_xmalloc((lb + 1) * sizeof(*row));
	for (k = 0; k <= lb; k++)
		row[k] = k;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (k = 1; k <= lb; k++) {
			cur = row[k];
			row[k] = prev + (tolower((unsigned char)a[i - 1]) !=
			    tolower((unsigned char)b[k - 1]));
			if (cur + 1 < row[k])
				row[k] = cur + 1;
			if (row[k - 1] + 1 < row[k])
				row[k] = row[k - 1] + 1;
			prev = cur;
		}
	}
	k = row[lb];
	free(row);
	return k;
}

const char *
aim_closest(const char *word, const char *const *known, size_t n)
{
	const char *best = NULL;
	size_t i, d, bestd = (size_t)-1, len = strlen(word);

	for (i = 0; i < n; i++) {
		d = edit_distance(word, known[i]);
		if (d < bestd) {
			bestd = d;
			best = known[i];
		}
	}
	/* Close means at most a third of the longer word, and 2 at most. */
	if (best != NULL && strlen(best) > len)
		len = strlen(best);
	return best != NULL && bestd <= 2 && bestd * 3 <= len ? best : NULL;
}

/*
 * A member of one kind of object: its name, the type it must have, and
 * for strings from a set, the set.  Each kind has one table, ending in a
 * NULL key; it is both the type check and the list of members aim knows
 * (aim-registry(5) documents each one).
 */
struct member {
	const char *key;
	enum want w;
	const char *const *one_of;	/* W_STRING from this set, or NULL */
	int	 or_false;	/* false is allowed too */
};

static const char *const strategies[] = { "round_robin", "weighted",
    "least_recent_failure", "cheapest", NULL };
static const char *const queueing[] = { "queue", "reject", NULL };
static const char *const version_probes[] = { "auto", "command", NULL };

static const struct member registry_members[] = {
	{ "tools", W_OBJECT, NULL, 0 },
	{ "crossToolRulesPath", W_STRING, NULL, 0 },
	{ NULL, 0, NULL, 0 }
};

static const struct member tool_members[] = {
	{ "name", W_STRING, NULL, 0 },
	{ "detectCommands", W_STRINGS, NULL, 0 },
	{ "versionCommand", W_STRINGS, NULL, 0 },
	{ "versionProbe", W_STRING, version_probes, 0 },
	{ "configPaths", W_STRINGS, NULL, 0 },
	{ "logPaths", W_STRINGS, NULL, 0 },
	{ "capabilities", W_STRINGS, NULL, 0 },
	{ "adapterScript", W_STRING, NULL, 0 },
	{ "adapter", W_OBJECT, NULL, 0 },
	{ "passEnv", W_STRINGS, NULL, 0 },
	{ "secrets", W_STRMAP, NULL, 0 },
	{ "version", W_STRING, NULL, 0 },
	{ "install", W_OBJECT, NULL, 0 },
	{ "weight", W_NATNUM, NULL, 0 },
	{ "cost", W_NATNUM, NULL, 0 },
	{ "max_retries", W_NATINT, NULL, 0 },
	{ "cache", W_BOOL, NULL, 0 },
	{ "price", W_OBJECT, NULL, 0 },
	/* An OpenAI-compatible endpoint's adapter reads these (aim-registry(5)). */
	{ "endpoint", W_STRING, NULL, 0 },
	{ "models", W_STRINGS, NULL, 0 },
	{ NULL, 0, NULL, 0 }
};

/*
 * The install object (aim-registry(5) "The install object"): one package
 * manager and the package it installs.
 */
static const struct member install_members[] = {
	{ "npm", W_STRING, NULL, 0 },
	{ "apt", W_STRING, NULL, 0 },
	{ "pipx", W_STRING, NULL, 0 },
	{ "cargo", W_STRING, NULL, 0 },
	{ "go", W_STRING, NULL, 0 },
	{ NULL, 0, NULL, 0 }
};

/* US dollars a million tokens (aim-registry(5) "The price object"). */
static const struct member price_members[] = {
	{ "input_per_mtok", W_NATNUM, NULL, 0 },
	{ "output_per_mtok", W_NATNUM, NULL, 0 },
	{ "cached_input_per_mtok", W_NATNUM, NULL, 0 },
	{ NULL, 0, NULL, 0 }
};

/* The adapter object (aim-registry(5) "The adapter object"). */
static const char *const stdin_values[] = { "prompt", NULL };
static const char *const streams[] = { "stdout", "stderr", NULL };
static const char *const formats[] = { "json", "sarif", "checkstyle",
    "gcc", NULL };

static const struct member adapter_members[] = {
	{ "argv", W_STRINGS, NULL, 0 },
	{ "stdin", W_STRING, stdin_values, 0 },
	{ "success_exit", W_EXITS, NULL, 0 },
	{ "findings_exit", W_EXITS, NULL, 0 },
	{ "findings", W_OBJECT, NULL, 0 },
	{ "file_types", W_STRINGS, NULL, 0 },
	{ NULL, 0, NULL, 0 }
};

static const struct member findings_members[] = {
	{ "from", W_STRING, streams, 0 },
	{ "format", W_STRING, formats, 0 },
	{ "fields", W_OBJECT, NULL, 0 },
	{ NULL, 0, NULL, 0 }
};

static const struct member fields_members[] = {
	{ "list", W_STRING, NULL, 0 },
	{ "file", W_STRING, NULL, 0 },
	{ "line", W_STRING, NULL, 0 },
	{ "column", W_STRING, NULL, 0 },
	{ "severity", W_STRING, NULL, 0 },
	{ "rule", W_STRING, NULL, 0 },
	{ "message", W_STRING, NULL, 0 },
	{ "rule_prefix", W_STRING, NULL, 0 },
	{ "severities", W_STRMAP, NULL, 0 },
	{ NULL, 0, NULL, 0 }
};

static const struct member rules_members[] = {
	{ "capabilities", W_OBJECT, NULL, 0 },
	{ "workflows", W_OBJECT, NULL, 0 },
	{ "security", W_OBJECT, NULL, 0 },
	{ "conflict_resolution", W_OBJECT, NULL, 0 },
	{ NULL, 0, NULL, 0 }
};

/* fallback: false turns fallback off (issue 6). */
static const struct member rule_members[] = {
	{ "primary", W_STRNULL, NULL, 0 },
	{ "fallback", W_STRINGS, NULL, 1 },
	{ "loadBalance", W_BOOL, NULL, 0 },
	{ "loadBalanceStrategy", W_STRING, strategies, 0 },
	{ "timeout_ms", W_POSINT, NULL, 0 },
	{ "deadline_ms", W_NATINT, NULL, 0 },
	{ "min_attempt_ms", W_NATINT, NULL, 0 },
	{ "max_retries", W_NATINT, NULL, 0 },
	{ "context_requirements", W_OBJECT, NULL, 0 },
	{ "cache", W_BOOL, NULL, 0 },
	{ "verify", W_VERIFY, NULL, 0 },
	{ "max_rounds", W_POSINT, NULL, 0 },
	{ NULL, 0, NULL, 0 }
};

static const struct member security_members[] = {
	{ "max_payload_size_bytes", W_POSINT, NULL, 0 },
	{ "max_file_count", W_NATINT, NULL, 0 },
	{ "allowed_file_patterns", W_STRINGS, NULL, 0 },
	{ "forbidden_paths", W_STRINGS, NULL, 0 },
	{ NULL, 0, NULL, 0 }
};

static const struct member conflict_members[] = {
	{ "concurrent_access", W_OBJECT, NULL, 0 },
	{ NULL, 0, NULL, 0 }
};

static const struct member concurrent_members[] = {
	{ "max_concurrent", W_POSINT, NULL, 0 },
	{ "strategy", W_STRING, queueing, 0 },
	{ NULL, 0, NULL, 0 }
};

/* The names of a table, for aim_closest: n of them in *names (malloc'd). */
static size_t
member_names(const struct member *t, const char ***names)
{
	size_t n;

	for (n = 0; t[n].key != NULL; n++)
		;
	*names = aim_xmalloc((n + 1) * sizeof(**names));
	for (n = 0; t[n].key != NULL; n++)
		(*names)[n] = t[n].key;
	return n;
}

/*
 * Members of obj (at path, depth deep) that table lacks go to unknown, at
 * the key's position, as "<prefix>unknown member 'k'; did you mean 'x'?".
 * Members whose name starts with "x-" are the user's.
 */
static void
unknown_members(struct jfile *f, json_t *obj, const struct member *table,
    const char *prefix, const char **path, size_t depth,
    struct aim_problems *unknown)
{
	const char **names, *key, *near;
	char where[400];
	int line, col;
	size_t i, n;
	json_t *v;

	if (!json_is_object(obj) || unknown == NULL)
		return;
	/* "security." (a type message's prefix) says "security: " here. */
	snprintf(where, sizeof(where), "%s", prefix);
	if ((n = strlen(where)) > 0 && where[n - 1] == '.')
		snprintf(where + n - 1, sizeof(where) - n + 1, ": ");
	n = member_names(table, &names);
	json_object_foreach(obj, key, v) {
		for (i = 0; i < n && strcmp(names[i], key) != 0; i++)
			;
		if (i < n || strncmp(key, "x-", 2) == 0)
			continue;
		path[depth] = key;
		path[depth + 1] = NULL;
		if (aim_json_locate(f->text, f->len, path, 1, &line, &col) == -1)
			line = col = 0;
		path[depth] = NULL;
		near = aim_closest(key, names, n);
		problems_add(unknown, f->name, line, col,
		    "%sunknown member '%s'%s%s%s", where, key,
		    near ? "; did you mean '" : "", near ? near : "",
		    near ? "'?" : "");
	}
	free(names);
}

/* Check the members of obj against table: types, sets, unknown ones. */
static void
check_members(struct jfile *f, json_t *obj, const struct member *table,
    const char *prefix, const char **path, size_t depth,
    struct aim_problems *unknown)
{
	const struct member *m;

	for (m = table; m->key != NULL; m++) {
		if (m->or_false && json_is_false(json_object_get(obj, m->key)))
			continue;
		if (m->one_of != NULL)
			want_one_of(f, obj, m->key, m->one_of, prefix, path,
			    depth);
		else
			want_member(f, obj, m->key, m->w, prefix, path, depth);
	}
	unknown_members(f, obj, table, prefix, path, depth, unknown);
}

/* ---- config ---- */

/*
 * The original's list without .git/objects: a repository's object store is
 * its history, not a cache (aim-scan(1) "caches").
 */
static json_t *
default_cache_patterns(void)
{
	static const char *const pat[] = { ".aider", ".jules", ".claude",
	    "node_modules/.cache", ".pytest_cache", "__pycache__",
	    ".mypy_cache", ".ruff_cache", ".eslintcache", ".tsbuildinfo",
	    ".next/cache", ".nuxt", "dist", "build", ".venv", NULL };
	const char *const *p;
	json_t *a = json_array();

	for (p = pat; *p != NULL; p++)
		json_array_append_new(a, json_string(*p));
	return a;
}

char *
aim_audit_dir_find(const char *opt_dir, const char *registry_dir,
    const struct aim_config *cfg, int fallback)
{
	char buf[PATH_MAX];
	const char *env;

	if (opt_dir != NULL)
		return aim_abspath(opt_dir, NULL);
	if ((env = getenv("AIM_AUDIT_DIR")) != NULL && *env != '\0')
		return aim_abspath(env, NULL);
	if (cfg != NULL && cfg->audit_dir != NULL)
		return aim_xstrdup(cfg->audit_dir);
	if (registry_dir != NULL) {
		snprintf(buf, sizeof(buf), "%s/AIM_audit", registry_dir);
		return aim_xstrdup(buf);
	}
	if (!fallback)
		return NULL;
	return aim_xdg_path("XDG_STATE_HOME", ".local/state", "AIM_audit");
}

static json_t *
no_strings(void)
{
	return json_array();
}

static json_t *
no_object(void)
{
	return json_object();
}

static json_t *
default_required_commands(void)
{
	return json_pack("[s]", "git");
}

/*
 * The keys of aim_config.json, one row each (aim-registry(5)
 * "aim_config.json" documents every one): its type and bounds (W_POSINT
 * > 0, W_NATINT >= 0, W_STRING, W_STRINGS, W_OBJECT), where struct aim_config keeps
 * it, its default.  A W_STRING that is_path names a file: expanded
 * (aim-registry(5) "Expansion") and made absolute against the registry.
 * The order is that of the checks, and of aim_closest's ties.
 */
struct config_key {
	const char *key;
	enum want w;
	size_t	 off;
	int64_t	 def;			/* W_POSINT, W_NATINT */
	const char *def_string;		/* W_STRING: NULL or a copy */
	json_t	*(*def_strings)(void);	/* W_STRINGS, W_OBJECT: a new one */
	int	 is_path;
};

#define CFG(m)	offsetof(struct aim_config, m)
static const struct config_key config_keys[] = {
	{ "timeout_ms", W_POSINT, CFG(timeout_ms), 30000, NULL, NULL, 0 },
	{ "max_payload_bytes", W_POSINT, CFG(max_payload_bytes), 1048576,
	    NULL, NULL, 0 },
	{ "max_output_bytes", W_POSINT, CFG(max_output_bytes), 1048576,
	    NULL, NULL, 0 },
	{ "stderr_tail_bytes", W_NATINT, CFG(stderr_tail_bytes), 4096,
	    NULL, NULL, 0 },
	{ "kill_grace_ms", W_NATINT, CFG(kill_grace_ms), 1000, NULL, NULL, 0 },
	{ "audit_log_retention_days", W_POSINT, CFG(audit_log_retention_days),
	    30, NULL, NULL, 0 },
	{ "audit_group_max", W_POSINT, CFG(audit_group_max), 256, NULL, NULL,
	    0 },
	{ "deadline_ms", W_NATINT, CFG(deadline_ms), 0, NULL, NULL, 0 },
	{ "min_attempt_ms", W_NATINT, CFG(min_attempt_ms), 1000, NULL, NULL,
	    0 },
	{ "retry_base_ms", W_NATINT, CFG(retry_base_ms), 500, NULL, NULL, 0 },
	{ "retry_max_ms", W_NATINT, CFG(retry_max_ms), 30000, NULL, NULL, 0 },
	{ "retry_after_max_ms", W_NATINT, CFG(retry_after_max_ms), 60000,
	    NULL, NULL, 0 },
	{ "allowed_fails", W_POSINT, CFG(cooldown.allowed_fails), 3, NULL,
	    NULL, 0 },
	{ "failure_window_ms", W_POSINT, CFG(cooldown.window_ms), 60000, NULL,
	    NULL, 0 },
	{ "cooldown_ms", W_NATINT, CFG(cooldown.cooldown_ms), 30000, NULL,
	    NULL, 0 },
	{ "cooldown_long_ms", W_NATINT, CFG(cooldown.long_cooldown_ms),
	    300000, NULL, NULL, 0 },
	{ "scan_min_size_bytes", W_NATINT, CFG(scan_min_size_bytes), 102400,
	    NULL, NULL, 0 },
	{ "version_timeout_ms", W_POSINT, CFG(version_timeout_ms), 5000, NULL,
	    NULL, 0 },
	{ "cache_max_bytes", W_NATINT, CFG(cache_max_bytes), 536870912, NULL,
	    NULL, 0 },
	{ "health_cache_ms", W_NATINT, CFG(health_cache_ms), 0, NULL, NULL, 0 },
	{ "state_lease_ttl_ms", W_POSINT, CFG(state_lease_ttl_ms), 30000, NULL,
	    NULL, 0 },
	{ "scan_roots", W_STRINGS, CFG(scan_roots), 0, NULL, no_strings, 0 },
	{ "cache_patterns", W_STRINGS, CFG(cache_patterns), 0, NULL,
	    default_cache_patterns, 0 },
	{ "required_commands", W_STRINGS, CFG(required_commands), 0, NULL,
	    default_required_commands, 0 },
	{ "budgets", W_OBJECT, CFG(budgets), 0, NULL, no_object, 0 },
	{ "actor", W_STRING, CFG(actor), 0, "pipeline", NULL, 0 },
	{ "audit_dir", W_STRING, CFG(audit_dir), 0, NULL, NULL, 1 },
	{ "central_cache", W_STRING, CFG(central_cache), 0, NULL, NULL, 1 },
	{ "bin_dir", W_STRING, CFG(bin_dir), 0, NULL, NULL, 1 },
	{ "state_backend", W_STRING, CFG(state_backend), 0, "file", NULL, 0 },
	{ "state_password_secret", W_STRING, CFG(state_password_secret), 0,
	    NULL, NULL, 0 },
};
#define NCONFIG_KEYS	(sizeof(config_keys) / sizeof(config_keys[0]))
#undef CFG

/* Where cfg keeps the key k: an int64_t, a char * or a json_t *. */
#define SLOT(type, cfg, k)	((type *)((char *)(cfg) + (k)->off))

static void
config_defaults(struct aim_config *cfg)
{
	const struct config_key *k;

	memset(cfg, 0, sizeof(*cfg));
	for (k = config_keys; k < config_keys + NCONFIG_KEYS; k++) {
		if (k->w == W_STRINGS || k->w == W_OBJECT)
			*SLOT(json_t *, cfg, k) = k->def_strings();
		else if (k->w == W_STRING)
			*SLOT(char *, cfg, k) = k->def_string == NULL ? NULL :
			    aim_xstrdup(k->def_string);
		else
			*SLOT(int64_t, cfg, k) = k->def;
	}
}

/* Store v, of k's type already, in cfg in place of the default. */
static void
config_set(struct aim_config *cfg, const struct config_key *k, json_t *v,
    const char *registry_dir)
{
	char *x;

	if (k->w == W_STRINGS || k->w == W_OBJECT) {
		json_decref(*SLOT(json_t *, cfg, k));
		*SLOT(json_t *, cfg, k) = json_copy(v);
	} else if (k->w == W_STRING) {
		free(*SLOT(char *, cfg, k));
		x = aim_xstrdup(json_string_value(v));
		if (k->is_path) {
			char *e = aim_expand(x, registry_dir);

			free(x);
			x = aim_abspath(e, registry_dir);
			free(e);
		}
		*SLOT(char *, cfg, k) = x;
	} else
		*SLOT(int64_t, cfg, k) = json_integer_value(v);
}

/*
 * Keys of root not in config_keys, at the key's position, with the
 * closest known one; keys starting "x-" are the user's.
 */
static void
config_unknown(struct jfile *f, json_t *root)
{
	const char *known[NCONFIG_KEYS], *path[2] = { NULL, NULL }, *key;
	const char *near;
	size_t i;
	json_t *v;

	for (i = 0; i < NCONFIG_KEYS; i++)
		known[i] = config_keys[i].key;
	json_object_foreach(root, key, v) {
		for (i = 0; i < NCONFIG_KEYS && strcmp(known[i], key) != 0; i++)
			;
		if (i < NCONFIG_KEYS || strncmp(key, "x-", 2) == 0)
			continue;
		path[0] = key;
		near = aim_closest(key, known, NCONFIG_KEYS);
		jproblem(f, path, 1, "unknown key \"%s\"%s%s%s", key,
		    near ? "; did you mean '" : "", near ? near : "",
		    near ? "'?" : "");
	}
}

/*
 * "budgets": {"<tool>": {"usd_per_day": N}} (aim-registry(5)
 * "aim_config.json"): each member an object with a non-negative number.
 */
static void
config_budgets(struct jfile *f, json_t *budgets)
{
	const char *path[4] = { "budgets", NULL, NULL, NULL }, *id, *key;
	json_t *b, *v;

	json_object_foreach(budgets, id, b) {
		path[1] = id;
		path[2] = NULL;
		if (!json_is_object(b) || json_object_get(b, "usd_per_day") ==
		    NULL) {
			jproblem(f, path, 0, "budgets: '%s' must be an object "
			    "with \"usd_per_day\"", id);
			continue;
		}
		json_object_foreach(b, key, v) {
			path[2] = key;
			if (strcmp(key, "usd_per_day") != 0)
				jproblem(f, path, 1, "budgets: '%s': unknown "
				    "member '%s'", id, key);
			else if (!json_is_number(v) || json_number_value(v) < 0)
				jproblem(f, path, 0, "budgets: '%s': "
				    "usd_per_day must be a non-negative "
				    "number", id);
		}
	}
}

/* The digits of *s as a number of at most max; *s moves past them. */
static int
url_number(const char **s, int max)
{
	long n = 0;

	if (**s < '0' || **s > '9')
		return -1;
	while (**s >= '0' && **s <= '9' && n <= max)
		n = n * 10 + *(*s)++ - '0';
	return n > max ? -1 : (int)n;
}

int
aim_state_url_parse(const char *s, struct aim_state_url *u, char **why)
{
	const char *p, *end;
	size_t n;

	*why = NULL;
	memset(u, 0, sizeof(*u));
	if (strcmp(s, "file") == 0)
		return 0;
	if (strncmp(s, "redis://", 8) != 0) {
		*why = aim_xsprintf("\"%s\" is neither \"file\" nor a "
		    "redis:// URL", s);
		return -1;
	}
	p = s + 8;
	/* A password in the file would be readable by all who read it. */
	if (strchr(p, '@') != NULL) {
		*why = aim_xstrdup("a password must not be written in the URL; "
		    "name a vault secret in state_password_secret");
		return -1;
	}
	if (*p == '[') {
		end = strchr(++p, ']');
		n = end == NULL ? 0 : (size_t)(end - p);
		if (n == 0 || strspn(p, "0123456789abcdefABCDEF:.") != n)
			goto bad;
		end++;
	} else {
		n = strspn(p, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");
		end = p + n;
	}
	if (n == 0 || n >= sizeof(u->host))
		goto bad;
	memcpy(u->host, p, n);
	u->port = 6379;
	p = end;
	if (*p == ':' && (p++, (u->port = url_number(&p, 65535)) < 1))
		goto bad;
	if (*p == '/' && (p++, (u->db = url_number(&p, 65535)) < 0))
		goto bad;
	if (*p == '\0')
		return 1;
bad:
	*why = aim_xsprintf("\"%s\" is not redis://host[:port][/db]", s);
	return -1;
}

/* state_backend (aim-registry(5) "State backend"), said at its value. */
static void
config_state(struct jfile *f, const struct aim_config *cfg)
{
	const char *path[2] = { "state_backend", NULL };
	struct aim_state_url u;
	char *why;

	if (aim_state_url_parse(cfg->state_backend, &u, &why) == -1) {
		jproblem(f, path, 0, "state_backend: %s", why);
		free(why);
	}
}

static char *
config_path(const struct aim_options *opt, const char *registry_dir,
    int *explicit)
{
	char buf[PATH_MAX], *xdg;
	const char *env;

	*explicit = 1;
	if (opt->config != NULL)
		return aim_xstrdup(opt->config);
	if ((env = getenv("AIM_CONFIG")) != NULL && *env != '\0')
		return aim_xstrdup(env);
	*explicit = 0;
	if (registry_dir != NULL) {
		snprintf(buf, sizeof(buf), "%s/aim_config.json", registry_dir);
		if (access(buf, F_OK) == 0)
			return aim_xstrdup(buf);
	}
	if ((xdg = aim_xdg_path("XDG_CONFIG_HOME", ".config",
	    "aim_config.json")) != NULL && access(xdg, F_OK) == 0)
		return xdg;
	free(xdg);
	return NULL;
}

int
aim_config_load(struct aim_config *cfg, const struct aim_options *opt,
    const char *registry_dir, struct aim_problems *probs)
{
	const char *path[2] = { NULL, NULL };
	const struct config_key *k;
	struct jfile f;
	char *file, *text;
	json_t *root, *v;
	int explicit;

	config_defaults(cfg);
	if ((file = config_path(opt, registry_dir, &explicit)) == NULL)
		return 0;
	memset(&f, 0, sizeof(f));
	f.name = file;
	f.probs = probs;
	cfg->path = file;
	if ((root = load_json(&f, &text)) == NULL)
		return -1;
	if (!json_is_object(root)) {
		jproblem(&f, path, 0, "config must be a JSON object");
		goto out;
	}
	for (k = config_keys; k < config_keys + NCONFIG_KEYS; k++) {
		path[0] = k->key;
		if ((v = json_object_get(root, k->key)) != NULL &&
		    want(&f, v, k->w, k->key, path) == 0)
			config_set(cfg, k, v, registry_dir);
	}
	config_budgets(&f, cfg->budgets);
	config_state(&f, cfg);
	config_unknown(&f, root);
out:
	json_decref(root);
	free(text);
	return f.nprob ? -1 : 0;
}

void
aim_config_free(struct aim_config *cfg)
{
	free(cfg->path);
	free(cfg->actor);
	free(cfg->audit_dir);
	free(cfg->central_cache);
	free(cfg->bin_dir);
	free(cfg->state_backend);
	free(cfg->state_password_secret);
	json_decref(cfg->scan_roots);
	json_decref(cfg->cache_patterns);
	json_decref(cfg->required_commands);
	json_decref(cfg->budgets);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- registry and rules ---- */

/*
 * Each "{name}" of the adapter's argv strings must be a placeholder
 * aim_declare_runs knows; other braces (a JSON argument) are not names.
 */
static void
check_placeholders(struct jfile *f, json_t *argv, const char *id,
    const char **path)
{
	const char *const *known = aim_declare_placeholders(), *s, *near;
	char idx[32], name[64];
	size_t i, n, nknown;
	json_t *x;

	for (nknown = 0; known[nknown] != NULL; nknown++)
		;
	path[3] = "argv";
	json_array_foreach(argv, i, x) {
		snprintf(idx, sizeof(idx), "%zu", i);
		path[4] = idx;
		path[5] = NULL;
		for (s = strchr(json_string_value(x), '{'); s != NULL;
		    s = strchr(s + 1, '{')) {
			n = strspn(s + 1, "abcdefghijklmnopqrstuvwxyz_");
			if (n == 0 || s[n + 1] != '}' || n + 3 > sizeof(name))
				continue;
			snprintf(name, sizeof(name), "%.*s", (int)n + 2, s);
			for (n = 0; n < nknown && strcmp(known[n], name) != 0; n++)
				;
			if (n < nknown)
				continue;
			near = aim_closest(name, known, nknown);
			jproblem(f, path, 0, "tool '%s': adapter.argv[%zu]: "
			    "unknown placeholder '%s'%s%s%s", id, i, name,
			    near ? "; did you mean '" : "", near ? near : "",
			    near ? "'?" : "");
		}
	}
	path[3] = path[4] = NULL;
}

/* The findings spec of an adapter object: its members, its field map. */
static void
check_findings(struct jfile *f, json_t *spec, const char *id,
    const char **path, struct aim_problems *unknown)
{
	const char *format = json_string_value(json_object_get(spec, "format"));
	json_t *fields = json_object_get(spec, "fields");
	char prefix[300];

	path[3] = "findings";
	path[4] = NULL;
	snprintf(prefix, sizeof(prefix), "tool '%s': adapter.findings.", id);
	check_members(f, spec, findings_members, prefix, path, 4, unknown);
	if (json_object_get(spec, "format") == NULL)
		jproblem(f, path, 1, "tool '%s': adapter.findings has no format",
		    id);
	else if (format != NULL && strcmp(format, "json") == 0 &&
	    fields == NULL)
		jproblem(f, path, 1, "tool '%s': adapter.findings: format "
		    "json needs a \"fields\" map", id);
	if (json_is_object(fields)) {
		path[4] = "fields";
		snprintf(prefix, sizeof(prefix), "tool '%s': "
		    "adapter.findings.fields.", id);
		check_members(f, fields, fields_members, prefix, path, 5,
		    unknown);
	}
	path[3] = path[4] = NULL;
}

/* A tool's adapter object (aim-registry(5) "The adapter object"). */
static void
check_adapter(struct jfile *f, json_t *tool, const char *id,
    const char **path, struct aim_problems *unknown)
{
	json_t *a = json_object_get(tool, "adapter"), *argv;
	char prefix[300];

	if (!json_is_object(a))
		return;		/* its type is said already */
	path[2] = "adapter";
	path[3] = NULL;
	if (json_object_get(tool, "adapterScript") != NULL)
		jproblem(f, path, 1, "tool '%s': both adapter and "
		    "adapterScript; keep one", id);
	snprintf(prefix, sizeof(prefix), "tool '%s': adapter.", id);
	check_members(f, a, adapter_members, prefix, path, 3, unknown);
	argv = json_object_get(a, "argv");
	if (argv == NULL)
		jproblem(f, path, 1, "tool '%s': adapter has no argv", id);
	else if (json_is_array(argv) && json_array_size(argv) == 0) {
		path[3] = "argv";
		jproblem(f, path, 0, "tool '%s': adapter.argv is empty", id);
		path[3] = NULL;
	} else if (json_is_array(argv))
		check_placeholders(f, argv, id, path);
	if (json_is_object(json_object_get(a, "findings")))
		check_findings(f, json_object_get(a, "findings"), id, path,
		    unknown);
	path[2] = NULL;
}

/*
 * A tool's install object names exactly one source, a package name that
 * is not empty (aim-registry(5) "The install object").
 */
static void
check_install(struct jfile *f, json_t *tool, const char *id,
    const char **path, struct aim_problems *unknown)
{
	json_t *in = json_object_get(tool, "install"), *pkg;
	const struct member *m;
	char prefix[300];
	size_t n = 0;

	if (!json_is_object(in))
		return;		/* its type is said already */
	path[2] = "install";
	path[3] = NULL;
	snprintf(prefix, sizeof(prefix), "tool '%s': install.", id);
	check_members(f, in, install_members, prefix, path, 3, unknown);
	for (m = install_members; m->key != NULL; m++) {
		if ((pkg = json_object_get(in, m->key)) == NULL)
			continue;
		n++;
		if (json_is_string(pkg) && *json_string_value(pkg) == '\0') {
			path[3] = m->key;
			jproblem(f, path, 0, "tool '%s': install.%s is empty",
			    id, m->key);
			path[3] = NULL;
		}
	}
	if (n != 1)
		jproblem(f, path, 1, "tool '%s': install must name one of "
		    "npm, apt, pipx, cargo, go (it names %zu)", id, n);
	path[2] = NULL;
}

/* The price object: its members, of which input and output are needed. */
static void
check_price(struct jfile *f, json_t *tool, const char *id,
    const char **path, struct aim_problems *unknown)
{
	json_t *pr = json_object_get(tool, "price");
	char prefix[300];

	if (!json_is_object(pr))
		return;		/* its type is said already */
	path[2] = "price";
	path[3] = NULL;
	snprintf(prefix, sizeof(prefix), "tool '%s': price.", id);
	check_members(f, pr, price_members, prefix, path, 3, unknown);
	if (json_object_get(pr, "input_per_mtok") == NULL ||
	    json_object_get(pr, "output_per_mtok") == NULL)
		jproblem(f, path, 0, "tool '%s': price needs input_per_mtok "
		    "and output_per_mtok", id);
	path[2] = NULL;
}

static void
check_registry_types(struct jfile *f, json_t *root,
    struct aim_problems *unknown)
{
	const char *path[7] = { NULL, NULL, NULL, NULL, NULL, NULL, NULL };
	const char *id;
	char prefix[300];
	json_t *tools, *t;

	want_member(f, root, "crossToolRulesPath", W_STRING, "", path, 0);
	unknown_members(f, root, registry_members, "", path, 0, unknown);
	path[0] = "tools";
	if ((tools = json_object_get(root, "tools")) == NULL) {
		path[0] = NULL;
		jproblem(f, path, 0, "missing \"tools\" object");
		return;
	}
	if (want(f, tools, W_OBJECT, "tools", path) == -1)
		return;
	json_object_foreach(tools, id, t) {
		path[1] = id;
		snprintf(prefix, sizeof(prefix), "tool '%s': ", id);
		if (!json_is_object(t)) {
			jproblem(f, path, 0, "tool '%s' must be an object", id);
			continue;
		}
		check_members(f, t, tool_members, prefix, path, 2, unknown);
		check_adapter(f, t, id, path, unknown);
		check_install(f, t, id, path, unknown);
		check_price(f, t, id, path, unknown);
	}
}

/* Check the optional string member key of obj is one of set. */
static void
want_one_of(struct jfile *f, json_t *obj, const char *key,
    const char *const *set, const char *prefix, const char **path,
    size_t depth)
{
	const char *const *x;
	char list[256];
	size_t n = 0;
	json_t *v;

	if ((v = json_object_get(obj, key)) == NULL)
		return;
	for (x = set; *x != NULL; x++)
		if (json_is_string(v) && strcmp(json_string_value(v), *x) == 0)
			return;
	for (x = set; *x != NULL; x++)
		n += snprintf(list + n, sizeof(list) - n, "%s\"%s\"",
		    n ? ", " : "", *x);
	path[depth] = key;
	path[depth + 1] = NULL;
	jproblem(f, path, 0, "%s%s must be one of %s", prefix, key, list);
	path[depth] = NULL;
}

/* The rules' workflows: each a list of steps (aim_steps_invalid). */
static void
check_workflows(struct jfile *f, json_t *root, json_t *caps,
    const char **path)
{
	json_t *wfs = json_object_get(root, "workflows"), *w;
	const char *name;
	char *why;
	int unknown;

	if (wfs == NULL)
		return;
	path[0] = "workflows";
	if (want(f, wfs, W_OBJECT, "workflows", path) == 0)
		json_object_foreach(wfs, name, w) {
			path[1] = name;
			if ((why = aim_steps_invalid(w, caps, &unknown)) !=
			    NULL)
				jproblem(f, path, 0, "workflow '%s': %s", name,
				    why);
			free(why);
		}
	path[1] = NULL;
	path[0] = NULL;
}

/*
 * A rule's verify naming a capability: one the rules have, whose own
 * verify is not a capability too (a check is not checked again;
 * aim-registry(5) verify).
 */
static void
check_verify_capability(struct jfile *f, json_t *caps, const char *cap,
    const char **path)
{
	const char *vcap = json_string_value(json_object_get(json_object_get(
	    json_object_get(caps, cap), "verify"), "capability"));
	json_t *vrule;

	if (vcap == NULL)
		return;
	path[2] = "verify";
	vrule = json_object_get(caps, vcap);
	if (!json_is_object(vrule))
		jproblem(f, path, 0, "capability '%s': verify: unknown "
		    "capability '%s'", cap, vcap);
	else if (json_is_object(json_object_get(vrule, "verify")))
		jproblem(f, path, 0, "capability '%s': verify: capability "
		    "'%s' is verified by a capability itself", cap, vcap);
	path[2] = NULL;
}

static void
check_rules_types(struct jfile *f, json_t *root, struct aim_problems *unknown)
{
	static const char *const needs[] = { "required", "optional", NULL };
	const char *path[5] = { NULL, NULL, NULL, NULL, NULL };
	const char *cap, *key;
	char prefix[300], p2[400];
	json_t *caps, *r, *sec, *cr, *ca, *v;

	unknown_members(f, root, rules_members, "", path, 0, unknown);
	path[0] = "capabilities";
	if ((caps = json_object_get(root, "capabilities")) == NULL) {
		path[0] = NULL;
		jproblem(f, path, 0, "missing \"capabilities\" object");
		return;
	}
	if (want(f, caps, W_OBJECT, "capabilities", path) == -1)
		return;
	json_object_foreach(caps, cap, r) {
		path[1] = cap;
		snprintf(prefix, sizeof(prefix), "capability '%s': ", cap);
		if (!json_is_object(r)) {
			jproblem(f, path, 0, "capability '%s' must be an object",
			    cap);
			continue;
		}
		check_members(f, r, rule_members, prefix, path, 2, unknown);
		path[2] = "context_requirements";
		snprintf(p2, sizeof(p2), "%scontext_requirements.", prefix);
		json_object_foreach(json_object_get(r,
		    "context_requirements"), key, v)
			want_one_of(f, json_object_get(r,
			    "context_requirements"), key, needs, p2, path, 3);
		path[2] = NULL;
		check_verify_capability(f, caps, cap, path);
	}
	path[1] = NULL;
	path[0] = NULL;
	check_workflows(f, root, caps, path);
	if ((sec = json_object_get(root, "security")) != NULL) {
		path[0] = "security";
		if (want(f, sec, W_OBJECT, "security", path) == 0)
			check_members(f, sec, security_members, "security.",
			    path, 1, unknown);
		path[0] = NULL;
	}
	if ((cr = json_object_get(root, "conflict_resolution")) != NULL) {
		path[0] = "conflict_resolution";
		if (want(f, cr, W_OBJECT, "conflict_resolution", path) == 0) {
			unknown_members(f, cr, conflict_members,
			    "conflict_resolution.", path, 1, unknown);
			if ((ca = json_object_get(cr, "concurrent_access")) !=
			    NULL) {
				path[1] = "concurrent_access";
				if (want(f, ca, W_OBJECT,
				    "conflict_resolution.concurrent_access",
				    path) == 0)
					check_members(f, ca, concurrent_members,
					    "conflict_resolution."
					    "concurrent_access.", path, 2,
					    unknown);
			}
		}
	}
}

int
aim_registry_load(struct aim_registry *reg, const char *dir,
    struct aim_problems *probs)
{
	char buf[PATH_MAX];
	const char *path[1] = { NULL };
	struct jfile f;
	json_t *v;
	char *x;
	int bad;

	memset(reg, 0, sizeof(*reg));
	reg->dir = aim_abspath(dir, NULL);
	snprintf(buf, sizeof(buf), "%s/AIM_registry.json", reg->dir);
	reg->registry_file = aim_xstrdup(buf);

	memset(&f, 0, sizeof(f));
	f.name = reg->registry_file;
	f.probs = probs;
	if ((reg->registry_json = load_json(&f, &reg->registry_text)) == NULL)
		return -1;
	reg->registry_len = f.len;
	if (!json_is_object(reg->registry_json)) {
		jproblem(&f, path, 0, "registry must be a JSON object");
		return -1;
	}
	check_registry_types(&f, reg->registry_json, &reg->unknown);
	/* Go on to the rules even so: --check reports every problem. */
	bad = f.nprob;
	reg->tools = json_object_get(reg->registry_json, "tools");

	v = json_object_get(reg->registry_json, "crossToolRulesPath");
	if (json_is_string(v)) {
		x = aim_expand(json_string_value(v), reg->dir);
		reg->rules_file = aim_abspath(x, reg->dir);
		free(x);
	} else {
		snprintf(buf, sizeof(buf),
		    "%s/AIM_cross-tool/AIM_coordination-rules.json", reg->dir);
		reg->rules_file = aim_xstrdup(buf);
	}
	memset(&f, 0, sizeof(f));
	f.name = reg->rules_file;
	f.probs = probs;
	if ((reg->rules_json = load_json(&f, &reg->rules_text)) == NULL)
		return -1;
	reg->rules_len = f.len;
	if (!json_is_object(reg->rules_json)) {
		jproblem(&f, path, 0, "coordination rules must be a JSON object");
		return -1;
	}
	check_rules_types(&f, reg->rules_json, &reg->unknown);
	if (bad || f.nprob)
		return -1;
	reg->rules = json_object_get(reg->rules_json, "capabilities");
	reg->security = json_object_get(reg->rules_json, "security");
	return 0;
}

void
aim_registry_free(struct aim_registry *reg)
{
	free(reg->dir);
	free(reg->registry_file);
	free(reg->rules_file);
	json_decref(reg->registry_json);
	json_decref(reg->rules_json);
	free(reg->registry_text);
	free(reg->rules_text);
	aim_problems_free(&reg->unknown);
	memset(reg, 0, sizeof(*reg));
}

json_t *
aim_registry_tool(const struct aim_registry *reg, const char *tool_id)
{
	return reg->tools ? json_object_get(reg->tools, tool_id) : NULL;
}

static int
declares(json_t *tool, const char *cap)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(tool, "capabilities"), i, c)
		if (strcmp(json_string_value(c), cap) == 0)
			return 1;
	return 0;
}

/* Check one tool named by a rule (at rule path rp). */
static void
check_rule_tool(const struct aim_registry *reg, struct jfile *f,
    const char *cap, const char *id, const char *const *rp)
{
	json_t *tool;

	if ((tool = aim_registry_tool(reg, id)) == NULL)
		jproblem(f, rp, 0, "capability '%s': unknown tool '%s' "
		    "(not in %s)", cap, id, reg->registry_file);
	else if (!declares(tool, cap))
		jproblem(f, rp, 0, "capability '%s': tool '%s' does not "
		    "declare it in its capabilities", cap, id);
}

void
aim_problems_append(struct aim_problems *to, const struct aim_problems *from)
{
	size_t i;

	for (i = 0; i < from->n; i++)
		problems_add(to, from->v[i].file, from->v[i].line,
		    from->v[i].column, "%s", from->v[i].message);
}

size_t
aim_registry_check(const struct aim_registry *reg, struct aim_problems *probs)
{
	const char *path[5] = { NULL, NULL, NULL, NULL, NULL };
	struct jfile rf, tf;
	const char *id, *cap;
	char idx[32], *why;
	json_t *tool, *r, *v, *x, *argv;
	size_t i;

	memset(&rf, 0, sizeof(rf));
	rf.name = reg->rules_file;
	rf.text = reg->rules_text;
	rf.len = reg->rules_len;
	rf.probs = probs;
	json_object_foreach(reg->rules, cap, r) {
		path[0] = "capabilities";
		path[1] = cap;
		path[2] = "primary";
		path[3] = NULL;
		v = json_object_get(r, "primary");
		if (json_is_string(v))
			check_rule_tool(reg, &rf, cap, json_string_value(v),
			    path);
		path[2] = "fallback";
		json_array_foreach(json_object_get(r, "fallback"), i, x) {
			snprintf(idx, sizeof(idx), "%zu", i);
			path[3] = idx;
			check_rule_tool(reg, &rf, cap, json_string_value(x),
			    path);
		}
		path[3] = NULL;
		if (!json_is_string(v) &&
		    json_array_size(json_object_get(r, "fallback")) == 0) {
			path[2] = NULL;
			jproblem(&rf, path, 1, "capability '%s' names no tool",
			    cap);
		}
	}

	memset(&tf, 0, sizeof(tf));
	tf.name = reg->registry_file;
	tf.text = reg->registry_text;
	tf.len = reg->registry_len;
	tf.probs = probs;
	path[0] = "tools";
	json_object_foreach(reg->tools, id, tool) {
		path[1] = id;
		path[2] = NULL;
		if (json_array_size(json_object_get(tool, "detectCommands")) == 0)
			jproblem(&tf, path, 1, "tool '%s' has no detectCommands",
			    id);
		/* Its command is the tool itself: not there, not installed. */
		if (json_is_object(json_object_get(tool, "adapter")))
			continue;
		if ((argv = aim_adapter_argv(reg->dir, tool, &why)) == NULL) {
			if (json_object_get(tool, "adapterScript") != NULL)
				path[2] = "adapterScript";
			jproblem(&tf, path, path[2] == NULL, "tool '%s': %s",
			    id, why);
			free(why);
		}
		json_decref(argv);
	}
	aim_problems_append(probs, &reg->unknown);
	return rf.nprob + tf.nprob + reg->unknown.n;
}

/* The members a step may have, and what each must be. */
static const char *
step_member_invalid(const char *key, json_t *v)
{
	if (strcmp(key, "capability") == 0)
		return json_string_length(v) > 0 ? NULL :
		    "\"capability\" must be a non-empty string";
	if (strcmp(key, "prompt") == 0)
		return json_is_string(v) ? NULL : "\"prompt\" must be a string";
	if (strcmp(key, "continue_on_failure") == 0)
		return json_is_boolean(v) ? NULL :
		    "\"continue_on_failure\" must be true or false";
	return "";
}

char *
aim_steps_invalid(json_t *steps, json_t *caps, int *unknown)
{
	json_t *step, *v;
	const char *key, *why, *cap;
	size_t i;

	*unknown = 0;
	if (!json_is_array(steps))
		return aim_xstrdup("\"steps\" must be an array");
	if (json_array_size(steps) == 0)
		return aim_xstrdup("\"steps\" must not be empty");
	json_array_foreach(steps, i, step) {
		if (!json_is_object(step))
			return aim_xsprintf("steps[%zu] must be an object", i);
		if ((cap = json_string_value(json_object_get(step,
		    "capability"))) == NULL)
			return aim_xsprintf("steps[%zu]: missing "
			    "\"capability\"", i);
		json_object_foreach(step, key, v)
			if ((why = step_member_invalid(key, v)) != NULL)
				return *why ? aim_xsprintf("steps[%zu]: %s", i,
				    why) : aim_xsprintf("steps[%zu]: unknown "
				    "member \"%s\"", i, key);
		if (caps != NULL && json_object_get(caps, cap) == NULL) {
			*unknown = 1;
			return aim_xsprintf("steps[%zu]: unknown capability "
			    "'%s'", i, cap);
		}
	}
	return NULL;
}
