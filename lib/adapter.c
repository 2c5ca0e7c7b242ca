/*
 * adapter.c: the AIM_INTEGRATION_V1 adapter protocol (seed 002 §3, §7): what
 * an adapter gets (stdin, environment) and how its run is judged.
 */
#include <sys/wait.h>

#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "aim-config.h"

extern char **environ;

/* What an attempt keeps of an adapter's stdout when it was not valid. */
#define STDOUT_HEAD_BYTES	4096

static const char *const allow[] = {
	"PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR", "TERM",
	"http_proxy", "https_proxy", "no_proxy", "all_proxy",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", NULL
};

struct strv {
	char	**v;
	size_t	 n, cap;
};

static void
strv_add(struct strv *s, char *str)
{
	if (s->n + 2 > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 32;
		s->v = aim_xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
}

/* name=value, replacing an earlier entry of the same name. */
static void
strv_set(struct strv *s, const char *name, const char *value)
{
	size_t i, nlen = strlen(name), len = nlen + strlen(value) + 2;
	char *e = aim_xmalloc(len);

	snprintf(e, len, "%s=%s", name, value);
	for (i = 0; i < s->n; i++)
		if (strncmp(s->v[i], name, nlen) == 0 && s->v[i][nlen] == '=') {
			free(s->v[i]);
			s->v[i] = e;
			return;
		}
	strv_add(s, e);
}

static int
allowed(const char *entry, json_t *pass_env)
{
	const char *const *a;
	size_t i, n;
	json_t *x;

	if (strncmp(entry, "LC_", 3) == 0)
		return 1;
	n = strcspn(entry, "=");
	for (a = allow; *a != NULL; a++)
		if (strlen(*a) == n && strncmp(entry, *a, n) == 0)
			return 1;
	json_array_foreach(pass_env, i, x)
		if (json_string_length(x) == n &&
		    strncmp(entry, json_string_value(x), n) == 0)
			return 1;
	return 0;
}

char **
aim_adapter_env(json_t *pass_env, const char *tool_id, const char *capability,
    const char *request_id, int64_t timeout_ms, const char *registry_dir)
{
	struct strv s = { NULL, 0, 0 };
	char num[32];
	char **e;

	strv_add(&s, NULL);
	s.n = 0;
	for (e = environ; *e != NULL; e++)
		if (strchr(*e, '=') != NULL && allowed(*e, pass_env))
			strv_add(&s, aim_xstrdup(*e));
	if (getenv("PATH") == NULL)
		strv_set(&s, "PATH", "/usr/local/bin:/usr/bin:/bin");
	snprintf(num, sizeof(num), "%lld", (long long)timeout_ms);
	strv_set(&s, "AIM_CONTRACT", AIM_CONTRACT);
	strv_set(&s, "AIM_TOOL_ID", tool_id);
	strv_set(&s, "AIM_CAPABILITY", capability);
	strv_set(&s, "AIM_REQUEST_ID", request_id ? request_id : "");
	strv_set(&s, "AIM_TIMEOUT_MS", num);
	if (registry_dir != NULL)
		strv_set(&s, "AIM_REGISTRY_PATH", registry_dir);
	return s.v;
}

char **
aim_env_put(char **env, const char *name, const char *value, size_t len)
{
	size_t n, nlen = strlen(name);
	char *e;

	e = aim_xmalloc(nlen + len + 2);
	memcpy(e, name, nlen);
	e[nlen] = '=';
	memcpy(e + nlen + 1, value, len);
	e[nlen + 1 + len] = '\0';
	for (n = 0; env[n] != NULL; n++)
		if (strncmp(env[n], name, nlen) == 0 && env[n][nlen] == '=') {
			explicit_bzero(env[n], strlen(env[n]));
			free(env[n]);
			env[n] = e;
			return env;
		}
	env = aim_xrealloc(env, (n + 2) * sizeof(*env));
	env[n] = e;
	env[n + 1] = NULL;
	return env;
}

char *
aim_adapter_input(json_t *rec, int64_t timeout_ms, size_t *len)
{
	json_t *in;
	char *s;

	in = json_pack("{s:s, s:O?, s:O, s:O, s:I}",
	    "contract", AIM_CONTRACT,
	    "id", json_object_get(rec, "id"),
	    "capability", json_object_get(rec, "capability"),
	    "payload", json_object_get(rec, "payload"),
	    "timeout_ms", (json_int_t)timeout_ms);
	if (in == NULL)
		return NULL;
	s = json_dumps(in, JSON_COMPACT);
	json_decref(in);
	if (s == NULL)
		return NULL;
	/* A final newline, so that a shell adapter's read(1) succeeds. */
	*len = strlen(s);
	s = aim_xrealloc(s, *len + 2);
	s[(*len)++] = '\n';
	s[*len] = '\0';
	return s;
}

static void
set_message(json_t *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
set_message(json_t *a, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_object_set_new(a, "message", aim_json_text(buf, strlen(buf),
	    sizeof(buf), 0));
}

/*
 * Why argv0 could not start.  ENOENT for a file that is there means its
 * "#!" interpreter is missing: name it, and a CR that CRLF line endings
 * left at its end (aim-invoke(1) Attempts, spawn_error).
 */
static void
spawn_message(json_t *a, const char *argv0, int errnum)
{
	char *bang = errnum == ENOENT ? aim_shebang(argv0) : NULL;
	const char *interp;
	size_t n;

	if (bang == NULL) {
		set_message(a, "cannot run %s: %s", argv0, strerror(errnum));
		return;
	}
	interp = bang + strspn(bang, " \t");
	n = strcspn(interp, " \t");
	if (n > 0 && interp[n - 1] == '\r')
		set_message(a, "cannot run %s: interpreter %.*s^M not found: "
		    "CRLF line endings?", argv0, (int)(n - 1), interp);
	else
		set_message(a, "cannot run %s: interpreter %.*s not found",
		    argv0, (int)n, interp);
	free(bang);
}

/* Why stdout is not one JSON object with a boolean success; NULL if it is. */
static const char *
check_output(const struct aim_proc *p, json_t **output, char *why, size_t n)
{
	json_error_t e;
	json_t *v, *s;

	*output = NULL;
	if (p->out_overflow) {
		snprintf(why, n, "stdout passed %zu bytes",
		    p->lim.max_stdout_bytes);
		return why;
	}
	if (p->out_len == 0)
		return "no output";
	if ((v = json_loadb(p->out, p->out_len, 0, &e)) == NULL) {
		snprintf(why, n, "%s at line %d, column %d", e.text, e.line,
		    e.column);
		return why;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		return "not a JSON object";
	}
	if ((s = json_object_get(v, "success")) == NULL) {
		json_decref(v);
		return "no \"success\" field";
	}
	if (!json_is_boolean(s)) {
		json_decref(v);
		return "\"success\" is not true or false";
	}
	*output = v;
	return NULL;
}

/* The last non-empty line of the stderr tail, for one-line messages. */
static void
last_line(const struct aim_proc *p, char *buf, size_t n)
{
	const char *s = p->err, *end = p->err + p->err_len, *start;

	while (end > s && (end[-1] == '\n' || end[-1] == '\r' ||
	    end[-1] == ' '))
		end--;
	for (start = end; start > s && start[-1] != '\n'; start--)
		;
	snprintf(buf, n, "%.*s", (int)(end - start), start);
}

json_t *
aim_adapter_attempt(const struct aim_proc *p, const char *tool_id,
    const char *argv0, json_t **output)
{
	json_t *a, *v;
	char why[512], dur[32], line[512];
	const char *bad;

	*output = NULL;
	a = json_pack("{s:s}", "tool_id", tool_id);
	if (p->spawn_errno != 0) {
		json_object_set_new(a, "outcome", json_string("spawn_error"));
		json_object_set_new(a, "duration_ms", json_integer(0));
		spawn_message(a, argv0, p->spawn_errno);
		return a;
	}
	aim_duration(dur, sizeof(dur), p->lim.timeout_ms);
	if (p->timed_out) {
		json_object_set_new(a, "outcome", json_string("timeout"));
		json_object_set_new(a, "signal",
		    json_string(aim_signame(p->kill_signal)));
		set_message(a, "timed out after %s", dur);
	} else if (WIFSIGNALED(p->status) && !p->out_overflow) {
		json_object_set_new(a, "outcome", json_string("signal"));
		json_object_set_new(a, "signal",
		    json_string(aim_signame(WTERMSIG(p->status))));
		set_message(a, "killed by %s", aim_signame(WTERMSIG(p->status)));
	} else if (WIFEXITED(p->status) && WEXITSTATUS(p->status) != 0) {
		json_object_set_new(a, "outcome", json_string("exit"));
		json_object_set_new(a, "exit_code",
		    json_integer(WEXITSTATUS(p->status)));
		last_line(p, line, sizeof(line));
		if (*line != '\0')
			set_message(a, "exited with code %d: %s",
			    WEXITSTATUS(p->status), line);
		else
			set_message(a, "exited with code %d",
			    WEXITSTATUS(p->status));
	} else if ((bad = check_output(p, &v, why, sizeof(why))) != NULL) {
		json_object_set_new(a, "outcome", json_string("bad_output"));
		if (WIFEXITED(p->status))
			json_object_set_new(a, "exit_code",
			    json_integer(WEXITSTATUS(p->status)));
		set_message(a, "invalid output: %s", bad);
		if (p->out_len > 0)
			json_object_set_new(a, "stdout", aim_json_text(p->out,
			    p->out_len, STDOUT_HEAD_BYTES, 0));
	} else {
		int ok = json_is_true(json_object_get(v, "success"));
		const char *msg = json_string_value(json_object_get(v,
		    "message"));

		json_object_set_new(a, "outcome",
		    json_string(ok ? "success" : "failure"));
		json_object_set_new(a, "exit_code", json_integer(0));
		if (msg != NULL)
			set_message(a, "%s", msg);
		else
			set_message(a, ok ? "succeeded" : "adapter reported "
			    "failure");
		*output = v;
	}
	json_object_set_new(a, "duration_ms", json_integer(p->duration_ms));
	if (p->err_len > 0)
		json_object_set_new(a, "stderr", aim_json_text(p->err,
		    p->err_len, p->err_len, 1));
	if (p->out_overflow || (p->out_len > STDOUT_HEAD_BYTES &&
	    json_object_get(a, "stdout") != NULL))
		json_object_set_new(a, "stdout_truncated", json_true());
	if (p->err_total > p->err_len)
		json_object_set_new(a, "stderr_truncated", json_true());
	if (p->leftover)
		json_object_set_new(a, "leftover_killed", json_true());
	return a;
}

json_t *
aim_adapter_skipped(json_t *candidate)
{
	json_t *a;

	a = json_pack("{s:O, s:s, s:O}", "tool_id",
	    json_object_get(candidate, "tool_id"), "outcome", "skipped",
	    "reason", json_object_get(candidate, "status"));
	if (a == NULL)
		return json_pack("{s:s, s:s}", "outcome", "skipped",
		    "reason", "invalid candidate");
	if (json_object_get(candidate, "reason") != NULL)
		json_object_set(a, "message", json_object_get(candidate,
		    "reason"));
	return a;
}

/* A non-negative number member of obj, else 0. */
static double
num_member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_number(v) && json_number_value(v) > 0 ?
	    json_number_value(v) : 0;
}

double
aim_attempt_cost(json_t *content, json_t *price, const char **from)
{
	json_t *usage = json_object_get(content, "usage");
	json_t *v = json_object_get(content, "cost_usd");
	double in, cached, cached_price;

	*from = NULL;
	if (json_is_number(v) && json_number_value(v) >= 0) {
		*from = "adapter";
		return json_number_value(v);
	}
	if (!json_is_object(price) || !json_is_object(usage))
		return -1;
	in = num_member(usage, "input_tokens");
	cached = num_member(usage, "cached_input_tokens");
	if (cached > in)
		cached = in;
	/* No price for cached tokens: they cost what the others do. */
	cached_price = json_is_number(json_object_get(price,
	    "cached_input_per_mtok")) ? num_member(price,
	    "cached_input_per_mtok") : num_member(price, "input_per_mtok");
	*from = "price";
	return ((in - cached) * num_member(price, "input_per_mtok") +
	    cached * cached_price + num_member(usage, "output_tokens") *
	    num_member(price, "output_per_mtok")) / 1e6;
}

/*
 * The short reason an attempt failed, for the aggregated message
 * ("not installed", "timed out after 30 s", "exited with code 2: ...").
 * Returns a malloc'd string.
 */
static char *
attempt_summary(json_t *a)
{
	const char *outcome = json_string_value(json_object_get(a, "outcome"));
	const char *reason = json_string_value(json_object_get(a, "reason"));
	const char *msg = json_string_value(json_object_get(a, "message"));
	const char *text = msg ? msg : "failed";

	if (outcome != NULL && strcmp(outcome, "skipped") == 0) {
		if (reason == NULL)
			text = "skipped";
		else if (strcmp(reason, "not_installed") == 0)
			text = "not installed";
		else if (strcmp(reason, "no_adapter") == 0)
			text = msg ? msg : "no adapter";
		else if (strcmp(reason, "unknown_tool") == 0)
			text = "not found in AIM registry";
		else
			text = msg ? msg : reason;
	}
	return aim_xstrdup(text);
}

/* Append a to the malloc'd string *s of *len bytes in *cap. */
static void
msg_cat(char **s, size_t *len, size_t *cap, const char *a)
{
	size_t n = strlen(a);

	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*s = aim_xrealloc(*s, *cap);
	}
	memcpy(*s + *len, a, n + 1);
	*len += n;
}

json_t *
aim_all_failed(const char *capability, json_t *attempts)
{
	char *msg = NULL, *why;
	size_t i, len = 0, cap = 0;
	json_t *a, *r;
	const char *id;

	/* Sized from the parts: a capability of any length fits. */
	msg_cat(&msg, &len, &cap, "All tools failed for capability '");
	msg_cat(&msg, &len, &cap, capability);
	msg_cat(&msg, &len, &cap, "': ");
	if (json_array_size(attempts) == 0)
		msg_cat(&msg, &len, &cap, "no candidates");
	json_array_foreach(attempts, i, a) {
		id = json_string_value(json_object_get(a, "tool_id"));
		why = attempt_summary(a);
		if (i > 0)
			msg_cat(&msg, &len, &cap, "; ");
		msg_cat(&msg, &len, &cap, id != NULL ? id : "?");
		msg_cat(&msg, &len, &cap, ": ");
		msg_cat(&msg, &len, &cap, why);
		free(why);
	}
	r = json_pack("{s:b, s:o, s:n}", "success", 0, "message",
	    aim_json_text(msg, len, len, 0), "content");
	free(msg);
	return r;
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/*
 * A declarative adapter's command line: its argv with the command found
 * as execvp(3) would (aim-registry(5) "The adapter object"); the other
 * strings keep their placeholders for aim_declare_runs.
 */
static json_t *
declared_argv(const char *registry_dir, json_t *adapter, char **why)
{
	json_t *tmpl = json_object_get(adapter, "argv"), *argv;
	const char *cmd = json_string_value(json_array_get(tmpl, 0));
	char *x, *exe;

	if (cmd == NULL || *cmd == '\0') {
		*why = aim_xstrdup("the adapter object has no command");
		return NULL;
	}
	x = aim_expand(cmd, registry_dir);
	if ((exe = aim_which(x, NULL)) == NULL) {
		*why = aim_xsprintf("adapter command %s: %s", x,
		    errno == EACCES ? "not executable" : strchr(x, '/') ?
		    strerror(errno) : "not found on PATH");
		free(x);
		return NULL;
	}
	free(x);
	argv = json_copy(tmpl);
	json_array_set_new(argv, 0, json_string(exe));
	free(exe);
	return argv;
}

json_t *
aim_adapter_argv(const char *registry_dir, json_t *tool, char **why)
{
	json_t *script = json_object_get(tool, "adapterScript");
	char *x, *abs, *exe, *pwsh, *bang;
	json_t *argv = NULL;
	size_t n;

	*why = NULL;
	if (json_is_object(json_object_get(tool, "adapter")))
		return declared_argv(registry_dir,
		    json_object_get(tool, "adapter"), why);
	if (!json_is_string(script) || *json_string_value(script) == '\0') {
		*why = aim_xstrdup("no adapterScript");
		return NULL;
	}
	x = aim_expand(json_string_value(script), registry_dir);
	abs = aim_abspath(x, registry_dir);
	free(x);
	if (has_suffix(abs, ".ps1")) {
		/* PowerShell reads the script: it need only be readable. */
		if (access(abs, R_OK) == -1)
			*why = aim_xsprintf("adapter %s: %s", abs, strerror(errno));
		else if ((pwsh = aim_which("pwsh", NULL)) == NULL)
			*why = aim_xsprintf("pwsh not found on PATH for adapter "
			    "%s", abs);
		else {
			argv = json_pack("[s,s,s,s,s]", pwsh, "-NoProfile",
			    "-NonInteractive", "-File", abs);
			free(pwsh);
		}
	} else if ((exe = aim_which(abs, NULL)) == NULL) {
		*why = aim_xsprintf("adapter %s: %s", abs, errno == EACCES ?
		    "not executable" : strerror(errno));
	} else {
		/* execve(2) would look for "/bin/sh\r": name the cause. */
		bang = aim_shebang(exe);
		if (bang != NULL && (n = strlen(bang)) > 0 &&
		    bang[n - 1] == '\r')
			*why = aim_xsprintf("adapter %s: #! line ends in CR (CRLF "
			    "line endings?)", abs);
		else
			argv = json_pack("[s]", exe);
		free(bang);
		free(exe);
	}
	free(abs);
	return argv;
}

char *
aim_tool_detect(const char *registry_dir, json_t *tool, const char *tool_id,
    char **cmd, char **why, char *(*which)(void *arg, const char *command),
    void *arg)
{
	json_t *c;
	char *x, *path, *reasons = NULL, *r;
	size_t i;

	*why = NULL;
	json_array_foreach(json_object_get(tool, "detectCommands"), i, c) {
		if (!json_is_string(c))
			continue;
		x = aim_expand(json_string_value(c), registry_dir);
		path = which != NULL ? which(arg, x) : aim_which(x, NULL);
		if (path != NULL) {
			free(reasons);
			if (cmd != NULL)
				*cmd = x;
			else
				free(x);
			return path;
		}
		r = aim_xsprintf("%s%s%s: %s", reasons ? reasons : "",
		    reasons ? "; " : "", x, errno == EACCES ? "not executable" :
		    strchr(x, '/') ? "no such file" : "not found on PATH");
		free(reasons);
		reasons = r;
		free(x);
	}
	*why = reasons ? reasons : aim_xsprintf("%s: no detectCommands",
	    tool_id);
	return NULL;
}
