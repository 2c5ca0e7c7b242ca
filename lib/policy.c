/*
 * policy.c: the routing policy of issue 6 that needs no state: error
 * classes, retry back-off, context requirements and the rules' security
 * limits on payload.files.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "aim-data.h"

static const char *const classes[] = {
	"auth", "rate_limit", "quota", "context_too_long", "content_policy",
	"bad_request", "transient", "not_installed", "timeout", "unclassified",
	NULL
};

static int
in(const char *s, const char *const *set)
{
	for (; s != NULL && *set != NULL; set++)
		if (strcmp(s, *set) == 0)
			return 1;
	return 0;
}

int
aim_error_class_valid(const char *cls)
{
	return in(cls, classes);
}

int
aim_error_class_retryable(const char *cls)
{
	static const char *const set[] = { "rate_limit", "transient",
	    "timeout", NULL };

	return in(cls, set);
}

int
aim_error_class_counts(const char *cls)
{
	static const char *const set[] = { "transient", "timeout",
	    "rate_limit", "quota", "auth", NULL };

	return in(cls, set);
}

int
aim_error_class_long_cooldown(const char *cls)
{
	static const char *const set[] = { "auth", "quota", NULL };

	return in(cls, set);
}

static const char *
str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

const char *
aim_attempt_classify(json_t *attempt, json_t *output)
{
	const char *outcome = str(attempt, "outcome"), *cls = NULL;
	const char *reason = str(attempt, "reason");
	json_int_t code;
	json_t *ra;

	if (outcome == NULL || strcmp(outcome, "success") == 0)
		return NULL;
	if (strcmp(outcome, "skipped") == 0) {
		if (reason == NULL)
			return NULL;
		if (strcmp(reason, "not_installed") == 0 ||
		    strcmp(reason, "no_adapter") == 0 ||
		    strcmp(reason, "unknown_tool") == 0)
			cls = "not_installed";
		else if (strcmp(reason, "missing_secret") == 0)
			cls = "auth";
		else
			return NULL;	/* cooldown, deadline...: policy */
	} else if (strcmp(outcome, "failure") == 0 &&
	    aim_error_class_valid(str(output, "error_class"))) {
		cls = str(output, "error_class");
		ra = json_object_get(output, "retry_after_ms");
		if (json_is_integer(ra) && json_integer_value(ra) >= 0)
			json_object_set_new(attempt, "retry_after_ms",
			    json_integer(json_integer_value(ra)));
	} else if (strcmp(outcome, "failure") == 0) {
		/*
		 * The adapter ran, answered and said no more: nothing says
		 * that trying again helps, or that the tool is unwell (a
		 * missing file of the request), so no retry and no cooldown.
		 */
		cls = "unclassified";
	} else if (strcmp(outcome, "timeout") == 0) {
		cls = "timeout";
	} else if (strcmp(outcome, "spawn_error") == 0) {
		cls = "not_installed";
	} else if (strcmp(outcome, "exit") == 0) {
		/* What a shell says of a command it could not find or run. */
		code = json_integer_value(json_object_get(attempt, "exit_code"));
		cls = code == 126 || code == 127 ? "not_installed" : "transient";
	} else {
		cls = "transient";	/* signal, bad_output */
	}
	json_object_set_new(attempt, "error_class", json_string(cls));
	/* The attempt's copy: output may be gone before the caller is done. */
	return str(attempt, "error_class");
}

int64_t
aim_backoff_ms(int retry, int64_t base_ms, int64_t cap_ms)
{
	int64_t ceiling = base_ms;
	int i;

	if (base_ms <= 0 || cap_ms <= 0)
		return 0;
	for (i = 0; i < retry && ceiling < cap_ms; i++)
		ceiling *= 2;
	if (ceiling > cap_ms)
		ceiling = cap_ms;
	if (ceiling > UINT32_MAX - 1)
		ceiling = UINT32_MAX - 1;
	/* Full jitter (uniform over [0, ceiling]): retries spread out. */
	return randombytes_uniform((uint32_t)ceiling + 1);
}

/* Is the payload member there and not empty ("", [], {}, null)? */
static int
present(json_t *v)
{
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	if (json_is_array(v))
		return json_array_size(v) > 0;
	if (json_is_object(v))
		return json_object_size(v) > 0;
	return 1;
}

char *
aim_context_missing(json_t *payload, json_t *requirements)
{
	const char *key;
	json_t *need;
	char *out = NULL;
	size_t len = 0, n;

	json_object_foreach(requirements, key, need) {
		if (!json_is_string(need) ||
		    strcmp(json_string_value(need), "required") != 0 ||
		    present(json_object_get(payload, key)))
			continue;
		n = strlen(key) + 3;
		out = aim_xrealloc(out, len + n);
		len += snprintf(out + len, n, "%s%s", len ? ", " : "", key);
	}
	return out;
}

/*
 * Walked forward one component at a time: a symlink met on the way is
 * replaced by its target, up to 40 links as the kernel does.  No
 * recursion and no buffer per component: a name of thousands of
 * components costs memory in proportion to its length only.
 */
char *
aim_path_resolve(const char *p)
{
	char *todo, *cur, *cwd, target[PATH_MAX];
	const char *q;
	size_t len = 0, cap, n, missing = 0;
	struct stat sb;
	ssize_t tn;
	int links = 0;

	if (p[0] != '/' && (cwd = getcwd(NULL, 0)) != NULL) {
		todo = aim_xmalloc(strlen(cwd) + strlen(p) + 2);
		sprintf(todo, "%s/%s", cwd, p);
		free(cwd);
	} else
		todo = aim_xstrdup(p);
	cap = strlen(todo) + 2;
	cur = aim_xmalloc(cap);
	cur[0] = '\0';
	q = todo;
	for (;;) {
		while (*q == '/')
			q++;
		if (*q == '\0')
			break;
		n = strcspn(q, "/");
		if (n == 1 && q[0] == '.') {
			q += n;
			continue;
		}
		if (n == 2 && q[0] == '.' && q[1] == '.') {
			while (len > 0 && cur[--len] != '/')
				;
			cur[len] = '\0';
			if (missing > 0)
				missing--;
			q += n;
			continue;
		}
		if (len + n + 2 > cap) {
			cap = (len + n + 2) * 2;
			cur = aim_xrealloc(cur, cap);
		}
		cur[len++] = '/';
		memcpy(cur + len, q, n);
		len += n;
		cur[len] = '\0';
		q += n;
		if (missing > 0 || lstat(cur, &sb) == -1) {
			missing++;
			continue;
		}
		if (!S_ISLNK(sb.st_mode) || links >= 40 ||
		    (tn = readlink(cur, target, sizeof(target) - 1)) <= 0)
			continue;
		/* Follow: the target, then what is left of the name. */
		links++;
		target[tn] = '\0';
		if (target[0] == '/')
			len = 0;
		else
			while (len > 0 && cur[--len] != '/')
				;
		cur[len] = '\0';
		cwd = aim_xmalloc(tn + strlen(q) + 2);
		sprintf(cwd, "%s/%s", target, q);
		free(todo);
		todo = cwd;
		q = todo;
	}
	free(todo);
	if (len == 0)
		strcpy(cur, "/");
	return cur;
}

int
aim_path_within(const char *p, const char *dir)
{
	char *real = aim_path_resolve(p), *top = aim_path_resolve(dir);
	size_t n = strlen(top);
	int in;

	/* "/" holds every path; else dir and a '/', or dir itself. */
	in = strcmp(top, "/") == 0 || (strncmp(real, top, n) == 0 &&
	    (real[n] == '/' || real[n] == '\0'));
	free(real);
	free(top);
	return in;
}

/*
 * Does the resolved path match the glob?  A pattern without '/' is a name:
 * it matches the file's name, and with any_component also the name of any
 * directory above it.  A pattern with '/' is a path (~ and variables
 * expanded, made absolute against cwd) matched against the whole path and,
 * with any_component, against every directory above it; "**" crosses
 * directories, "*" does not.
 */
static int
glob_match(const char *pattern, const char *path, const char *cwd,
    const char *registry_dir, int any_component)
{
	char *x, *abs, *copy, *slash;
	const char *name;
	size_t n;
	int flags, hit = 0;

	/* Expanded first: "~/.ssh" and "$HOME/.ssh" are paths, not names. */
	x = aim_expand(pattern, registry_dir);
	while ((n = strlen(x)) > 1 && x[n - 1] == '/')
		x[n - 1] = '\0';
	if (strchr(x, '/') == NULL) {
		copy = aim_xstrdup(path);
		while (!hit && (slash = strrchr(copy, '/')) != NULL) {
			name = slash + 1;
			/* No FNM_PERIOD: "*.pem" is meant to catch ".k.pem". */
			hit = *name != '\0' && fnmatch(x, name, 0) == 0;
			*slash = '\0';
			if (!any_component)
				break;
		}
		free(copy);
		free(x);
		return hit;
	}
	abs = aim_abspath(x, cwd);
	free(x);
	if (strcmp(abs, "/") == 0) {
		free(abs);
		return 1;	/* the root holds every path */
	}
	flags = strstr(abs, "**") != NULL ? 0 : FNM_PATHNAME;
	copy = aim_xstrdup(path);
	for (;;) {
		if (fnmatch(abs, copy, flags) == 0) {
			hit = 1;
			break;
		}
		if (!any_component || (slash = strrchr(copy, '/')) == NULL ||
		    slash == copy)
			break;
		*slash = '\0';
	}
	free(copy);
	free(abs);
	return hit;
}

/*
 * Check one resolved file against the patterns; 0, or -1 with *code and a
 * malloc'd *message.
 */
static int
check_file(const char *given, const char *real, json_t *allowed,
    json_t *forbidden, const char *cwd, const char *registry_dir,
    const char **code, char **message)
{
	char buf[PATH_MAX * 2 + 256];
	json_t *pat;
	size_t k;
	int ok;

	json_array_foreach(forbidden, k, pat) {
		if (!glob_match(json_string_value(pat), real, cwd, registry_dir,
		    1))
			continue;
		snprintf(buf, sizeof(buf), "payload.files: %s is %s, forbidden "
		    "by \"%s\" (security.forbidden_paths)", given, real,
		    json_string_value(pat));
		*code = "forbidden_path";
		*message = aim_xstrdup(buf);
		return -1;
	}
	ok = json_array_size(allowed) == 0;
	json_array_foreach(allowed, k, pat)
		if (!ok && glob_match(json_string_value(pat), real, cwd,
		    registry_dir, 0))
			ok = 1;
	if (!ok) {
		snprintf(buf, sizeof(buf), "payload.files: %s is %s, matching "
		    "no security.allowed_file_patterns", given, real);
		*code = "file_not_allowed";
		*message = aim_xstrdup(buf);
		return -1;
	}
	return 0;
}

int
aim_security_check(json_t *payload, json_t *security, const char *cwd,
    const char *registry_dir, const char **code, char **message)
{
	json_t *files = json_object_get(payload, "files"), *f;
	json_t *allowed = json_object_get(security, "allowed_file_patterns");
	json_t *forbidden = json_object_get(security, "forbidden_paths");
	json_t *maxn = json_object_get(security, "max_file_count");
	const char *given, *home;
	char buf[256], *abs, *real;
	size_t i;
	int form, rc;

	*code = NULL;
	*message = NULL;
	if (files == NULL || security == NULL)
		return 0;
	if (!json_is_array(files)) {
		*code = "invalid_request";
		*message = aim_xstrdup("\"payload.files\" must be an array of "
		    "strings");
		return -1;
	}
	if (json_is_integer(maxn) &&
	    json_array_size(files) > (size_t)json_integer_value(maxn)) {
		snprintf(buf, sizeof(buf), "payload.files has %zu files, "
		    "limit %lld (security.max_file_count)",
		    json_array_size(files), (long long)json_integer_value(maxn));
		*code = "too_many_files";
		*message = aim_xstrdup(buf);
		return -1;
	}
	if (json_array_size(allowed) == 0 && json_array_size(forbidden) == 0)
		return 0;
	json_array_foreach(files, i, f) {
		if (!json_is_string(f) || json_string_length(f) == 0) {
			*code = "invalid_request";
			*message = aim_xstrdup("\"payload.files\" must be an "
			    "array of file names");
			return -1;
		}
		given = json_string_value(f);
		/*
		 * "~/x" names x in a directory "~" here, but a tool that hands
		 * it to a shell reaches $HOME/x: both forms must pass.
		 */
		home = getenv("HOME");
		if (strncmp(given, "~/", 2) == 0 &&
		    (home == NULL || home[0] != '/')) {
			/* Fail closed: a shell would find ~ some other way. */
			static const char why[] = " names a file under ~, but "
			    "HOME is not an absolute path";

			*code = "invalid_request";
			*message = aim_xmalloc(strlen(given) + sizeof(why) + 16);
			sprintf(*message, "payload.files: %s%s", given, why);
			return -1;
		}
		for (form = 0; form < (strncmp(given, "~/", 2) == 0 ? 2 : 1);
		    form++) {
			abs = form == 0 ? aim_abspath(given, cwd) :
			    aim_expand(given, registry_dir);
			real = aim_path_resolve(abs);
			free(abs);
			rc = check_file(given, real, allowed, forbidden, cwd,
			    registry_dir, code, message);
			free(real);
			if (rc == -1)
				return -1;
		}
	}
	return 0;
}
