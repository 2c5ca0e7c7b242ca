/* route.c: a request's candidate list from the registry and the rules. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aim.h"

/* How long a detection result stays good in a long-running stream. */
#define DETECT_TTL_MS	5000

void
aim_router_init(struct aim_router *rt, const struct aim_registry *reg,
    const struct aim_config *cfg)
{
	rt->reg = reg;
	rt->cfg = cfg;
	rt->lb_counters = json_object();
	rt->detect_cache = json_object();
}

void
aim_router_free(struct aim_router *rt)
{
	json_decref(rt->lb_counters);
	json_decref(rt->detect_cache);
	memset(rt, 0, sizeof(*rt));
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static char *
why_printf(const char *fmt, const char *a, const char *b)
{
	size_t n = strlen(fmt) + strlen(a) + (b ? strlen(b) : 0) + 1;
	char *s = aim_xmalloc(n);

	snprintf(s, n, fmt, a, b);
	return s;
}

json_t *
aim_adapter_argv(const struct aim_registry *reg, json_t *tool, char **why)
{
	json_t *script = json_object_get(tool, "adapterScript");
	char *x, *abs, *exe, *pwsh;
	json_t *argv = NULL;

	*why = NULL;
	if (!json_is_string(script) || *json_string_value(script) == '\0') {
		*why = aim_xstrdup("no adapterScript");
		return NULL;
	}
	x = aim_expand(json_string_value(script), reg->dir);
	abs = aim_abspath(x, reg->dir);
	free(x);
	if (has_suffix(abs, ".ps1")) {
		/* PowerShell reads the script: it need only be readable. */
		if (access(abs, R_OK) == -1)
			*why = why_printf("adapter %s: %s", abs, strerror(errno));
		else if ((pwsh = aim_which("pwsh", NULL)) == NULL)
			*why = why_printf("pwsh not found on PATH for adapter "
			    "%s%s", abs, "");
		else {
			argv = json_pack("[s,s,s,s,s]", pwsh, "-NoProfile",
			    "-NonInteractive", "-File", abs);
			free(pwsh);
		}
	} else if ((exe = aim_which(abs, NULL)) == NULL) {
		*why = why_printf("adapter %s: %s", abs, errno == EACCES ?
		    "not executable" : strerror(errno));
	} else {
		argv = json_pack("[s]", exe);
		free(exe);
	}
	free(abs);
	return argv;
}

/*
 * The absolute path of the first detectCommands entry found, or NULL with
 * a malloc'd *why.  Results are cached for DETECT_TTL_MS.
 */
static char *
detect(struct aim_router *rt, json_t *tool, const char *tool_id, char **why)
{
	json_t *cmds = json_object_get(tool, "detectCommands"), *c, *hit;
	char *x, *path, *reasons = NULL;
	size_t i, rlen = 0, n;
	int64_t now = aim_now_ms();

	json_array_foreach(cmds, i, c) {
		x = aim_expand(json_string_value(c), rt->reg->dir);
		hit = json_object_get(rt->detect_cache, x);
		if (hit != NULL && now - json_integer_value(
		    json_object_get(hit, "at")) < DETECT_TTL_MS) {
			path = json_is_string(json_object_get(hit, "path")) ?
			    aim_xstrdup(json_string_value(
			    json_object_get(hit, "path"))) : NULL;
			errno = json_integer_value(json_object_get(hit, "errno"));
		} else {
			path = aim_which(x, NULL);
			json_object_set_new(rt->detect_cache, x, json_pack(
			    "{s:I, s:o, s:i}", "at", (json_int_t)now,
			    "path", path ? json_string(path) : json_null(),
			    "errno", path ? 0 : errno));
		}
		if (path != NULL) {
			free(x);
			free(reasons);
			return path;
		}
		n = strlen(x) + 40;
		reasons = aim_xrealloc(reasons, rlen + n);
		rlen += snprintf(reasons + rlen, n, "%s%s: %s", rlen ? "; " : "",
		    x, errno == EACCES ? "not executable" :
		    strchr(x, '/') ? "no such file" : "not found on PATH");
		free(x);
	}
	*why = reasons ? reasons : why_printf("%s: no detectCommands",
	    tool_id, NULL);
	return NULL;
}

static json_t *
candidate(struct aim_router *rt, const char *tool_id, int64_t timeout_ms)
{
	json_t *tool, *c, *argv, *pass;
	char *why = NULL, *found;

	c = json_pack("{s:s}", "tool_id", tool_id);
	if ((tool = aim_registry_tool(rt->reg, tool_id)) == NULL) {
		json_object_set_new(c, "status", json_string("unknown_tool"));
		why = why_printf("tool '%s' not found in AIM registry",
		    tool_id, NULL);
	} else if ((found = detect(rt, tool, tool_id, &why)) == NULL) {
		json_object_set_new(c, "status", json_string("not_installed"));
	} else if ((argv = aim_adapter_argv(rt->reg, tool, &why)) == NULL) {
		json_object_set_new(c, "status", json_string("no_adapter"));
		free(found);
	} else {
		json_object_set_new(c, "status", json_string("ready"));
		json_object_set_new(c, "argv", argv);
		json_object_set_new(c, "timeout_ms", json_integer(timeout_ms));
		json_object_set_new(c, "detected", json_string(found));
		pass = json_object_get(tool, "passEnv");
		if (json_array_size(pass) > 0)
			json_object_set(c, "pass_env", pass);
		/* Names only: the values stay in the vault until aim-invoke. */
		pass = json_object_get(tool, "secrets");
		if (json_object_size(pass) > 0)
			json_object_set(c, "secrets", pass);
		free(found);
	}
	if (why != NULL) {
		json_object_set_new(c, "reason", aim_json_text(why, strlen(why),
		    4096, 0));
		free(why);
	}
	return c;
}

/* Append tool_id to ids unless it is there already. */
static void
add_unique(json_t *ids, json_t *id)
{
	size_t i;
	json_t *x;

	if (!json_is_string(id))
		return;
	json_array_foreach(ids, i, x)
		if (json_equal(x, id))
			return;
	json_array_append(ids, id);
}

int
aim_route(struct aim_router *rt, json_t *req, const char **code,
    char **message)
{
	const char *cap, *tool_id, *strategy = "ordered";
	json_t *rule = NULL, *ids, *cands, *route, *v, *counter;
	int64_t timeout_ms = rt->cfg->timeout_ms;
	size_t i, n, start = 0;

	cap = json_string_value(json_object_get(req, "capability"));
	tool_id = json_string_value(json_object_get(req, "tool_id"));
	ids = json_array();
	if (tool_id != NULL) {
		if (aim_registry_tool(rt->reg, tool_id) == NULL) {
			*code = "unknown_tool";
			*message = why_printf("tool '%s' not found in AIM "
			    "registry", tool_id, NULL);
			json_decref(ids);
			return -1;
		}
		strategy = "direct";
		json_array_append_new(ids, json_string(tool_id));
		rule = json_object_get(rt->reg->rules, cap);
	} else {
		rule = json_object_get(rt->reg->rules, cap);
		if (rule != NULL) {
			add_unique(ids, json_object_get(rule, "primary"));
			json_array_foreach(json_object_get(rule, "fallback"),
			    i, v)
				add_unique(ids, v);
		}
		if (json_array_size(ids) == 0) {
			*code = "unknown_capability";
			*message = why_printf(rule == NULL ?
			    "unknown capability '%s'" :
			    "capability '%s' names no tool", cap, NULL);
			json_decref(ids);
			return -1;
		}
		if (json_is_true(json_object_get(rule, "loadBalance"))) {
			/* Rotate: successive requests start at successive tools. */
			strategy = "load_balance";
			counter = json_object_get(rt->lb_counters, cap);
			n = counter ? json_integer_value(counter) : 0;
			start = n % json_array_size(ids);
			json_object_set_new(rt->lb_counters, cap,
			    json_integer(n + 1));
		}
	}
	if ((v = json_object_get(rule, "timeout_ms")) != NULL)
		timeout_ms = json_integer_value(v);
	if ((v = json_object_get(req, "timeout_ms")) != NULL)
		timeout_ms = json_integer_value(v);

	cands = json_array();
	n = json_array_size(ids);
	for (i = 0; i < n; i++)
		json_array_append_new(cands, candidate(rt, json_string_value(
		    json_array_get(ids, (start + i) % n)), timeout_ms));
	json_decref(ids);

	route = json_pack("{s:s, s:s, s:s, s:o}", "capability", cap,
	    "strategy", strategy, "registry", rt->reg->dir,
	    "candidates", cands);
	json_object_set_new(req, "route", route);
	return 0;
}
