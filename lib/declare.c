/*
 * declare.c: declarative adapters (aim-registry(5) "The adapter object"):
 * the runs of an attempt from the adapter object's argv template, the
 * files a run changed, and the adapter-protocol reply from the finished
 * runs, with no script in between.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "aim-config.h"

/* ---- the runs ---- */

/* The placeholders an argv string may hold (aim-registry(5)). */
static const char *const placeholders[] = { "{files}", "{file}",
    "{prompt}", "{cwd}", NULL };

const char *const *
aim_declare_placeholders(void)
{
	return placeholders;
}

/* s with every "{name}" replaced by value; a new JSON string. */
static json_t *
subst(const char *s, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value), len = 0, cap;
	const char *p;
	char *out;
	json_t *j;

	cap = strlen(s) + 1;
	out = aim_xmalloc(cap);
	while (*s != '\0') {
		if (strncmp(s, name, nlen) == 0) {
			p = value;
			s += nlen;
		} else
			p = NULL;
		if (len + (p ? vlen : 1) + 1 > cap) {
			cap = (len + (p ? vlen : 1) + 1) * 2;
			out = aim_xrealloc(out, cap);
		}
		if (p != NULL) {
			memcpy(out + len, p, vlen);
			len += vlen;
		} else
			out[len++] = *s++;
	}
	out[len] = '\0';
	j = json_string(out);
	free(out);
	return j;
}

/*
 * The strings of one run: each argv element with {prompt}, {cwd} and,
 * when file is not NULL, {file} expanded; an element holding {files}
 * becomes one element per file.  Only known names are replaced: other
 * braces (a JSON argument) stay as written.
 */
static json_t *
run_argv(json_t *tmpl, json_t *files, const char *file, const char *prompt,
    const char *cwd)
{
	json_t *argv = json_array(), *x, *f, *a, *b;
	const char *s;
	size_t i, k;

	json_array_foreach(tmpl, i, x) {
		a = subst(json_string_value(x), "{prompt}", prompt);
		b = subst(json_string_value(a), "{cwd}", cwd);
		json_decref(a);
		if (file != NULL) {
			a = subst(json_string_value(b), "{file}", file);
			json_decref(b);
			b = a;
		}
		s = json_string_value(b);
		if (strstr(s, "{files}") == NULL) {
			json_array_append_new(argv, b);
			continue;
		}
		json_array_foreach(files, k, f)
			json_array_append_new(argv, subst(s, "{files}",
			    json_string_value(f)));
		json_decref(b);
	}
	return argv;
}

/* Does any argv string hold name? */
static int
uses(json_t *tmpl, const char *name)
{
	size_t i;
	json_t *x;

	json_array_foreach(tmpl, i, x)
		if (strstr(json_string_value(x), name) != NULL)
			return 1;
	return 0;
}

/* Does path end in one of types (case ignored)? Also true for no types. */
static int
typed(const char *path, json_t *types)
{
	size_t i, n = strlen(path), m;
	json_t *t;

	if (json_array_size(types) == 0)
		return 1;
	json_array_foreach(types, i, t) {
		m = json_string_length(t);
		if (n >= m &&
		    strcasecmp(path + n - m, json_string_value(t)) == 0)
			return 1;
	}
	return 0;
}

/* Why the request's files do not suit the adapter (malloc'd), or NULL. */
static char *
refuse(json_t *adapter, json_t *tmpl, json_t *files)
{
	json_t *types = json_object_get(adapter, "file_types"), *f;
	size_t i;

	json_array_foreach(files, i, f)
		if (!json_is_string(f))
			return aim_xstrdup("bad_request: payload.files holds "
			    "a value that is not a string");
	if (json_array_size(files) == 0 && (uses(tmpl, "{files}") ||
	    uses(tmpl, "{file}")))
		return aim_xstrdup("bad_request: no files in the request");
	json_array_foreach(files, i, f) {
		if (!typed(json_string_value(f), types))
			return aim_xsprintf("bad_request: not a file of the "
			    "tool's types: %s", json_string_value(f));
		/* The tool would say so in words of its own, unclassified. */
		if (access(json_string_value(f), F_OK) == -1)
			return aim_xsprintf("bad_request: %s: %s",
			    json_string_value(f), strerror(errno));
	}
	return NULL;
}

json_t *
aim_declare_runs(json_t *adapter, json_t *rec, char **why)
{
	json_t *payload = json_object_get(rec, "payload"), *files, *tmpl;
	json_t *runs, *stdin_text = json_null(), *f;
	const char *prompt, *how;
	char *cwd;
	size_t i, k;

	*why = NULL;
	tmpl = json_object_get(adapter, "argv");
	if (json_array_size(tmpl) == 0) {
		*why = aim_xstrdup("the adapter has no argv");
		return NULL;
	}
	json_array_foreach(tmpl, k, f)
		if (!json_is_string(f)) {
			*why = aim_xstrdup("the adapter's argv holds a value "
			    "that is not a string");
			return NULL;
		}
	files = json_object_get(payload, "files");
	if ((*why = refuse(adapter, tmpl, files)) != NULL)
		return NULL;
	prompt = json_string_value(json_object_get(payload, "prompt"));
	prompt = prompt ? prompt : "";
	how = json_string_value(json_object_get(adapter, "stdin"));
	if (how != NULL && strcmp(how, "prompt") == 0)
		stdin_text = json_string(prompt);
	cwd = getcwd(NULL, 0);
	runs = json_array();
	if (uses(tmpl, "{file}"))
		json_array_foreach(files, i, f)
			json_array_append_new(runs, json_pack("{s:o,s:O}",
			    "argv", run_argv(tmpl, files, json_string_value(f),
			    prompt, cwd ? cwd : "."), "stdin", stdin_text));
	else
		json_array_append_new(runs, json_pack("{s:o,s:O}", "argv",
		    run_argv(tmpl, files, NULL, prompt, cwd ? cwd : "."),
		    "stdin", stdin_text));
	json_decref(stdin_text);
	free(cwd);
	return runs;
}

/* ---- the files a run changed ---- */

struct aim_snapshot {
	json_t	*files;		/* the paths, as given */
	unsigned char (*hash)[AIM_HASH_BYTES];
	int	*missing;	/* no file to hash */
};

/* BLAKE2b-256 of the file at path, streamed: 0, or -1 with errno. */
static int
hash_file(const char *path, unsigned char out[AIM_HASH_BYTES])
{
	crypto_generichash_state st;
	unsigned char buf[65536];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	crypto_generichash_init(&st, NULL, 0, AIM_HASH_BYTES);
	while ((n = aim_read_full(fd, buf, sizeof(buf))) > 0)
		crypto_generichash_update(&st, buf, n);
	close(fd);
	if (n == -1)
		return -1;
	crypto_generichash_final(&st, out, AIM_HASH_BYTES);
	return 0;
}

struct aim_snapshot *
aim_snapshot_take(json_t *files)
{
	struct aim_snapshot *s = aim_xmalloc(sizeof(*s));
	size_t i, n = json_array_size(files);
	json_t *f;

	s->files = json_array();
	s->hash = aim_xmalloc((n + 1) * sizeof(*s->hash));
	s->missing = aim_xmalloc((n + 1) * sizeof(*s->missing));
	json_array_foreach(files, i, f) {
		if (!json_is_string(f))
			continue;
		n = json_array_size(s->files);
		s->missing[n] = hash_file(json_string_value(f),
		    s->hash[n]) == -1;
		json_array_append(s->files, f);
	}
	return s;
}

json_t *
aim_snapshot_changed(struct aim_snapshot *s)
{
	unsigned char now[AIM_HASH_BYTES];
	json_t *changed = json_array(), *f;
	int gone;
	size_t i;

	if (s == NULL)
		return changed;
	json_array_foreach(s->files, i, f) {
		gone = hash_file(json_string_value(f), now) == -1;
		if (gone != s->missing[i] || (!gone &&
		    memcmp(now, s->hash[i], AIM_HASH_BYTES) != 0))
			json_array_append(changed, f);
	}
	return changed;
}

void
aim_snapshot_free(struct aim_snapshot *s)
{
	if (s == NULL)
		return;
	json_decref(s->files);
	free(s->hash);
	free(s->missing);
	free(s);
}

/* ---- the reply ---- */

/* Is code one of the integers of the array list? */
static int
listed(json_t *list, json_int_t code)
{
	size_t i;
	json_t *x;

	json_array_foreach(list, i, x)
		if (json_is_integer(x) && json_integer_value(x) == code)
			return 1;
	return 0;
}

/* The last non-empty line of text (borrowed JSON string), new string. */
static json_t *
last_line(json_t *text)
{
	const char *s = json_string_value(text), *end, *start;

	if (s == NULL)
		return json_string("");
	end = s + json_string_length(text);
	while (end > s && strchr("\n\r \t", end[-1]) != NULL)
		end--;
	for (start = end; start > s && start[-1] != '\n'; start--)
		;
	return aim_json_text(start, end - start, end - start, 0);
}

/* Is code one the adapter names: success_exit (default [0]), findings_exit? */
static int
own_exit(json_t *adapter, json_int_t code)
{
	json_t *ok = json_object_get(adapter, "success_exit");

	if (json_is_array(ok) ? listed(ok, code) : code == 0)
		return 1;
	return listed(json_object_get(adapter, "findings_exit"), code);
}

/*
 * Why a run failed (the message of a failure reply), or NULL when it
 * exited with one of the adapter's own codes.  *timed_out set for a
 * timeout.
 */
static json_t *
run_failed(json_t *adapter, json_t *run, int *timed_out)
{
	json_t *code = json_object_get(run, "exit_code"), *line;
	const char *sig = json_string_value(json_object_get(run, "signal"));
	char *msg;

	*timed_out = json_is_true(json_object_get(run, "timed_out"));
	if (!*timed_out && json_is_integer(code) &&
	    own_exit(adapter, json_integer_value(code)))
		return NULL;
	line = last_line(json_object_get(run, "stderr"));
	if (json_string_length(line) > 0)
		return line;
	json_decref(line);
	if (*timed_out)
		msg = aim_xstrdup("timed out");
	else if (json_is_integer(code))
		msg = aim_xsprintf("exited with code %" JSON_INTEGER_FORMAT,
		    json_integer_value(code));
	else
		msg = aim_xsprintf("killed by %s", sig ? sig : "a signal");
	line = json_string(msg);
	free(msg);
	return line;
}

/*
 * The findings of every run, from the stream the spec names; NULL with
 * *why when a report cannot be read.
 */
static json_t *
all_findings(json_t *spec, json_t *done, char **why)
{
	const char *from = json_string_value(json_object_get(spec, "from"));
	json_t *all = json_array(), *run, *text, *f;
	size_t i;

	json_array_foreach(done, i, run) {
		text = json_object_get(run, from != NULL &&
		    strcmp(from, "stderr") == 0 ? "stderr" : "stdout");
		f = aim_findings_parse(json_string_value(text),
		    json_string_length(text), spec, why);
		if (f == NULL) {
			json_decref(all);
			return NULL;
		}
		json_array_extend(all, f);
		json_decref(f);
	}
	return all;
}

/*
 * The reply's exit_code: the highest exit code of the runs, 0 for none,
 * null when a run never exited (timed out, killed).
 */
static json_t *
worst_exit(json_t *done)
{
	json_int_t worst = 0, c;
	size_t i;
	json_t *run, *code;

	json_array_foreach(done, i, run) {
		code = json_object_get(run, "exit_code");
		if (!json_is_integer(code))
			return json_null();
		c = json_integer_value(code);
		if (c > worst)
			worst = c;
	}
	return json_integer(worst);
}

/*
 * A finding's file as the request names its files: relative to the
 * working directory cwd when the tool gave it absolute under cwd
 * (eslint, stylelint).
 */
static void
findings_relative(json_t *findings, const char *cwd)
{
	size_t i, n = cwd != NULL ? strlen(cwd) : 0;
	const char *file;
	json_t *f;

	json_array_foreach(findings, i, f) {
		file = json_string_value(json_object_get(f, "file"));
		if (n > 0 && file != NULL && strncmp(file, cwd, n) == 0 &&
		    file[n] == '/' && file[n + 1] != '\0')
			json_object_set_new(f, "file", json_string(file + n +
			    1));
	}
}

json_t *
aim_declare_output(json_t *adapter, json_t *done, json_t *changed)
{
	json_t *content, *msg = NULL, *findings = NULL, *run, *spec, *out;
	char *why = NULL, *text, *cwd;
	int timed_out = 0;
	size_t i;

	content = json_pack("{s:o,s:o}", "files_modified",
	    json_is_array(changed) ? json_copy(changed) : json_array(),
	    "exit_code", worst_exit(done));
	json_array_foreach(done, i, run)
		if ((msg = run_failed(adapter, run, &timed_out)) != NULL)
			break;
	if (msg != NULL) {
		out = json_pack("{s:b,s:o,s:o}", "success", 0, "message", msg,
		    "content", content);
		if (timed_out)
			json_object_set_new(out, "error_class",
			    json_string("timeout"));
		return out;
	}
	spec = json_object_get(adapter, "findings");
	if (spec != NULL &&
	    (findings = all_findings(spec, done, &why)) == NULL) {
		text = aim_xsprintf("can't read the tool's findings: %s", why);
		free(why);
		out = json_pack("{s:b,s:s,s:o}", "success", 0, "message", text,
		    "content", content);
		free(text);
		return out;
	}
	if (findings != NULL) {
		cwd = getcwd(NULL, 0);
		findings_relative(findings, cwd);
		free(cwd);
		json_object_set_new(content, "findings", findings);
	}
	text = findings ? aim_xsprintf("%zu finding(s), %zu file(s) modified",
	    json_array_size(findings), json_array_size(changed)) :
	    aim_xsprintf("%zu file(s) modified", json_array_size(changed));
	out = json_pack("{s:b,s:s,s:o}", "success", 1, "message", text,
	    "content", content);
	free(text);
	return out;
}
