/* route.c: a request's candidate list from the registry and the rules. */
#include <err.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aim-flow.h"

/* How long a detection result stays good in a long-running stream. */
#define DETECT_TTL_MS	5000
/* The longest timeout_ms or deadline_ms a request may ask: a day. */
#define TIMEOUT_MAX_MS	(24LL * 3600 * 1000)

void
aim_router_init(struct aim_router *rt, const struct aim_registry *reg,
    const struct aim_config *cfg)
{
	char *why = NULL;

	memset(rt, 0, sizeof(*rt));
	rt->reg = reg;
	rt->cfg = cfg;
	rt->lb_counters = json_object();
	rt->detect_cache = json_object();
	rt->argv_cache = json_object();
	rt->cwd = getcwd(NULL, 0);
	rt->said = json_object();
	rt->state_ok = aim_state_open(&rt->state, cfg, &why) == 0;
	aim_warn_once(rt->said, why);
}

void
aim_router_free(struct aim_router *rt)
{
	json_decref(rt->lb_counters);
	json_decref(rt->detect_cache);
	json_decref(rt->argv_cache);
	aim_state_free(&rt->state);
	json_decref(rt->said);
	free(rt->cwd);
	memset(rt, 0, sizeof(*rt));
}

/* Say once why the shared state cannot be used; routing goes on without. */
static void
state_warn(struct aim_router *rt, char *why)
{
	aim_warn_once(rt->said, why);
}

/* The snapshot of the shared state, up to date; NULL when unusable. */
static struct aim_state *
state(struct aim_router *rt)
{
	return rt->state_ok ? aim_state_current(&rt->state, rt->said) : NULL;
}

/*
 * The next value of a shared counter (locked read-modify-write of the
 * state file), or of this process's own when the state is unusable.
 */
static int64_t
next_count(struct aim_router *rt, const char *name)
{
	json_t *c;
	char *why = NULL;
	int64_t n;

	if (rt->state_ok && aim_state_lock(&rt->state, &why) == 0) {
		state_warn(rt, why);
		n = aim_state_next(&rt->state, rt->reg->dir, name);
		if (aim_state_unlock(&rt->state, 1, &why) == 0)
			return n;
	}
	state_warn(rt, why);
	c = json_object_get(rt->lb_counters, name);
	n = c ? json_integer_value(c) : 0;
	json_object_set_new(rt->lb_counters, name, json_integer(n + 1));
	return n;
}

/* cache's entry of key when it is younger than DETECT_TTL_MS, else NULL. */
static json_t *
fresh(json_t *cache, const char *key, int64_t now)
{
	json_t *hit = json_object_get(cache, key);

	return hit != NULL && now - json_integer_value(json_object_get(hit,
	    "at")) < DETECT_TTL_MS ? hit : NULL;
}

/*
 * aim_tool_detect's lookup for the router: aim_which, its answers kept
 * for DETECT_TTL_MS (a stream of requests looks the same commands up).
 */
static char *
cached_which(void *arg, const char *command)
{
	struct aim_router *rt = arg;
	int64_t now = aim_now_ms();
	json_t *hit = fresh(rt->detect_cache, command, now);
	char *path;

	if (hit != NULL) {
		errno = json_integer_value(json_object_get(hit, "errno"));
		return json_is_string(json_object_get(hit, "path")) ?
		    aim_xstrdup(json_string_value(json_object_get(hit,
		    "path"))) : NULL;
	}
	path = aim_which(command, NULL);
	json_object_set_new(rt->detect_cache, command, json_pack(
	    "{s:I, s:o, s:i}", "at", (json_int_t)now, "path", path ?
	    json_string(path) : json_null(), "errno", path ? 0 : errno));
	errno = json_integer_value(json_object_get(json_object_get(
	    rt->detect_cache, command), "errno"));
	return path;
}

/*
 * aim_adapter_argv for the router, its answers kept for DETECT_TTL_MS as
 * cached_which keeps the detection's: a declarative adapter's command is
 * looked up on PATH, and a stream asks for the same tools again and again.
 */
static json_t *
cached_argv(struct aim_router *rt, json_t *tool, const char *tool_id,
    char **why)
{
	int64_t now = aim_now_ms();
	json_t *hit = fresh(rt->argv_cache, tool_id, now), *argv;

	if (hit == NULL) {
		argv = aim_adapter_argv(rt->reg->dir, tool, why);
		hit = json_pack("{s:I, s:o, s:s?}", "at", (json_int_t)now,
		    "argv", argv ? argv : json_null(), "why", *why);
		free(*why);
		json_object_set_new(rt->argv_cache, tool_id, hit);
	}
	*why = NULL;
	if (json_is_array(argv = json_object_get(hit, "argv")))
		return json_copy(argv);
	argv = json_object_get(hit, "why");
	*why = aim_xstrdup(json_is_string(argv) ? json_string_value(argv) :
	    "no adapter");
	return NULL;
}

/*
 * Mark c budget_exhausted when tool_id spent its budget today
 * (aim-resolve(1) "Candidates"), with until and the malloc'd *why.
 */
static int
over_budget(struct aim_router *rt, struct aim_state *st, json_t *c,
    const char *tool_id, int64_t now, char **why)
{
	double spent, limit;
	int64_t until;
	char iso[32];

	if ((until = aim_state_budget_exhausted(st, rt->reg->dir,
	    rt->cfg->budgets, tool_id, now, &spent, &limit)) == 0)
		return 0;
	aim_iso_ms(until, iso);
	json_object_set_new(c, "status", json_string("budget_exhausted"));
	json_object_set_new(c, "until", json_string(iso));
	json_object_set_new(c, "until_ms", json_integer(until));
	*why = aim_xsprintf("spent $%.4f of its $%.4f a day; until %s", spent,
	    limit, iso);
	return 1;
}

static json_t *
candidate(struct aim_router *rt, const char *tool_id, int64_t timeout_ms,
    json_t *rule)
{
	json_t *tool, *c, *argv, *pass, *v, *info = NULL, *ca;
	char *why = NULL, *found, iso[32];
	struct aim_state *st;
	int64_t until = 0, now = aim_wall_ms();

	c = json_pack("{s:s}", "tool_id", tool_id);
	if ((tool = aim_registry_tool(rt->reg, tool_id)) == NULL) {
		json_object_set_new(c, "status", json_string("unknown_tool"));
		why = aim_xsprintf("tool '%s' not found in AIM registry",
		    tool_id);
	} else if ((found = aim_tool_detect(rt->reg->dir, tool, tool_id, NULL,
	    &why, cached_which, rt)) == NULL) {
		json_object_set_new(c, "status", json_string("not_installed"));
	} else if ((argv = cached_argv(rt, tool, tool_id, &why)) == NULL) {
		json_object_set_new(c, "status", json_string("no_adapter"));
		free(found);
	} else if ((st = state(rt)) != NULL &&
	    (until = aim_state_cooldown(st, rt->reg->dir, tool_id, now,
	    &info)) != 0) {
		/* A circuit breaker, not a verdict: say when it closes. */
		aim_iso_ms(until, iso);
		json_object_set_new(c, "status", json_string("cooldown"));
		json_object_set_new(c, "until", json_string(iso));
		json_object_set_new(c, "until_ms", json_integer(until));
		v = json_object_get(info, "cooldown_class");
		why = aim_xmalloc(160);
		snprintf(why, 160, "cooling down until %s after repeated "
		    "%s failures", iso, json_is_string(v) ?
		    json_string_value(v) : "");
		json_decref(argv);
		free(found);
	} else if (st != NULL && over_budget(rt, st, c, tool_id, now, &why)) {
		json_decref(argv);
		free(found);
	} else {
		json_object_set_new(c, "status", json_string("ready"));
		json_object_set_new(c, "argv", argv);
		/* aim-invoke runs a declarative adapter itself: the object. */
		if (json_is_object(v = json_object_get(tool, "adapter")))
			json_object_set(c, "adapter", v);
		json_object_set_new(c, "timeout_ms", json_integer(timeout_ms));
		json_object_set_new(c, "detected", json_string(found));
		pass = json_object_get(tool, "passEnv");
		if (json_array_size(pass) > 0)
			json_object_set(c, "pass_env", pass);
		/* Names only: the values stay in the vault until aim-invoke. */
		pass = json_object_get(tool, "secrets");
		if (json_object_size(pass) > 0)
			json_object_set(c, "secrets", pass);
		/* Retries: the tool's own setting over the capability's. */
		if ((v = json_object_get(tool, "max_retries")) == NULL)
			v = json_object_get(rule, "max_retries");
		if (json_integer_value(v) > 0)
			json_object_set(c, "max_retries", v);
		/* Results worth keeping (aim-cache(1)): the rule over the tool. */
		if (!json_is_boolean(v = json_object_get(rule, "cache")))
			v = json_object_get(tool, "cache");
		if (json_is_true(v))
			json_object_set_new(c, "cache", json_true());
		/* aim-invoke prices the attempt's usage with it. */
		if (json_is_object(v = json_object_get(tool, "price")))
			json_object_set(c, "price", v);
		ca = json_object_get(json_object_get(rt->reg->rules_json,
		    "conflict_resolution"), "concurrent_access");
		if ((v = json_object_get(ca, "max_concurrent")) != NULL) {
			json_object_set(c, "max_concurrent", v);
			v = json_object_get(ca, "strategy");
			json_object_set_new(c, "concurrency", json_string(
			    json_is_string(v) ? json_string_value(v) : "queue"));
		}
		free(found);
	}
	if (why != NULL) {
		json_object_set_new(c, "reason", aim_json_text(why, strlen(why),
		    4096, 0));
		free(why);
	}
	return c;
}

json_t *
aim_router_candidate(struct aim_router *rt, const char *tool_id)
{
	return candidate(rt, tool_id, rt->cfg->timeout_ms, NULL);
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

static int
is_ready(json_t *c)
{
	const char *st = json_string_value(json_object_get(c, "status"));

	return st != NULL && strcmp(st, "ready") == 0;
}

static double
tool_number(struct aim_router *rt, json_t *c, const char *key, double dflt)
{
	json_t *v = json_object_get(aim_registry_tool(rt->reg,
	    json_string_value(json_object_get(c, "tool_id"))), key);

	return json_is_number(v) ? json_number_value(v) : dflt;
}

/* Stable insertion sort of ready[0..n) by key ascending. */
static void
sort_by(json_t **ready, double *key, size_t n)
{
	size_t i, k;
	json_t *c;
	double x;

	for (i = 1; i < n; i++) {
		c = ready[i];
		x = key[i];
		for (k = i; k > 0 && key[k - 1] > x; k--) {
			ready[k] = ready[k - 1];
			key[k] = key[k - 1];
		}
		ready[k] = c;
		key[k] = x;
	}
}

/*
 * Order the candidates of a load-balanced capability (issue 6): the ready
 * ones by the strategy, then the others in rule order.  round_robin and
 * weighted draw on a counter shared through the state file, so separate
 * pipelines share the rotation; weighted picks the first tool with the
 * golden-ratio sequence frac(n / phi), which spreads any run of
 * requests over the weights evenly (low discrepancy), not at random.
 */
static json_t *
balance(struct aim_router *rt, json_t *cands, const char *cap,
    const char *strategy)
{
	json_t **ready, *out, *c;
	double *key, total = 0, x, acc;
	size_t i, n = 0, first = 0, all = json_array_size(cands);
	char name[300];
	struct aim_state *st;
	int64_t k;

	ready = aim_xmalloc((all + 1) * sizeof(*ready));
	key = aim_xmalloc((all + 1) * sizeof(*key));
	json_array_foreach(cands, i, c)
		if (is_ready(c))
			ready[n++] = c;
	if (n > 1 && strcmp(strategy, "round_robin") == 0) {
		snprintf(name, sizeof(name), "round_robin:%s", cap);
		first = next_count(rt, name) % n;
	} else if (n > 1 && strcmp(strategy, "weighted") == 0) {
		for (i = 0; i < n; i++)
			total += key[i] = tool_number(rt, ready[i], "weight", 1);
		if (total > 0) {
			snprintf(name, sizeof(name), "weighted:%s", cap);
			k = next_count(rt, name);
			/* frac((k+1)/phi) in 64-bit fixed point. */
			x = (double)((uint64_t)(k + 1) *
			    UINT64_C(0x9E3779B97F4A7C15)) /
			    18446744073709551616.0 * total;
			for (i = 0, acc = 0; i < n; i++) {
				acc += key[i];
				if (x < acc && key[i] > 0)
					break;
			}
			first = i < n ? i : n - 1;
			/* The chosen one leads; the rest keep rule order. */
			c = ready[first];
			memmove(ready + 1, ready, first * sizeof(*ready));
			ready[0] = c;
			first = 0;
		}
	} else if (n > 1 && strcmp(strategy, "least_recent_failure") == 0) {
		st = state(rt);
		for (i = 0; i < n; i++)
			key[i] = st == NULL ? 0 : (double)aim_state_last_failure(
			    st, rt->reg->dir, json_string_value(json_object_get(
			    ready[i], "tool_id")));
		sort_by(ready, key, n);
	} else if (n > 1 && strcmp(strategy, "cheapest") == 0) {
		for (i = 0; i < n; i++)
			key[i] = tool_number(rt, ready[i], "cost", INFINITY);
		sort_by(ready, key, n);
	}
	out = json_array();
	for (i = 0; i < n; i++)
		json_array_append(out, ready[(first + i) % n]);
	json_array_foreach(cands, i, c)
		if (!is_ready(c))
			json_array_append(out, c);
	free(ready);
	free(key);
	json_decref(cands);
	return out;
}

/*
 * When no candidate is ready and some cool down: the error that says when
 * the first comes back.  NULL otherwise.
 */
static char *
all_cooling(json_t *cands, const char *cap, json_t **details)
{
	json_t *c, *first = NULL;
	size_t i;
	int64_t until, best = 0, left;
	char *msg, dur[32];

	json_array_foreach(cands, i, c) {
		if (is_ready(c))
			return NULL;
		until = json_integer_value(json_object_get(c, "until_ms"));
		if (until > 0 && (best == 0 || until < best)) {
			best = until;
			first = c;
		}
	}
	if (first == NULL)
		return NULL;
	left = best - aim_wall_ms();
	if (left < 0)
		left = 0;
	msg = aim_xmalloc(512);
	aim_duration(dur, sizeof(dur), left);
	snprintf(msg, 512, "every tool for capability '%s' is cooling down "
	    "or unavailable; %s recovers first, at %s (in %s)", cap,
	    json_string_value(json_object_get(first, "tool_id")),
	    json_string_value(json_object_get(first, "until")), dur);
	*details = json_pack("{s:I, s:O, s:O}", "retry_after_ms",
	    (json_int_t)left, "until", json_object_get(first, "until"),
	    "tool_id", json_object_get(first, "tool_id"));
	return msg;
}

/*
 * "unknown capability 'formating'; did you mean 'formatting'? known:
 * formatting, linting" (the rules' capabilities in their order; the
 * suggestion only when one is close, aim_closest).  Malloc'd.
 */
static char *
unknown_capability(struct aim_router *rt, const char *cap)
{
	const char **names, *near, *name;
	size_t n = 0, len, off;
	json_t *r;
	char *s;

	names = aim_xmalloc((json_object_size(rt->reg->rules) + 1) *
	    sizeof(*names));
	json_object_foreach(rt->reg->rules, name, r)
		names[n++] = name;
	near = aim_closest(cap, names, n);
	len = strlen(cap) + (near ? strlen(near) : 0) + 64;
	for (off = 0; off < n; off++)
		len += strlen(names[off]) + 2;
	s = aim_xmalloc(len);
	off = snprintf(s, len, "unknown capability '%s'", cap);
	if (near != NULL)
		off += snprintf(s + off, len - off, "; did you mean '%s'?", near);
	off += snprintf(s + off, len - off, "%s", n == 0 ? "; the rules "
	    "define none" : near != NULL ? " known:" : "; known:");
	for (size_t i = 0; i < n; i++)
		off += snprintf(s + off, len - off, "%s %s", i ? "," : "",
		    names[i]);
	free(names);
	return s;
}

/* The first of request, rule and config that sets an integer key. */
static int64_t
layered(json_t *req, json_t *rule, const char *key, int64_t dflt)
{
	json_t *v;

	if ((v = json_object_get(req, key)) != NULL && json_is_integer(v))
		return json_integer_value(v);
	if ((v = json_object_get(rule, key)) != NULL && json_is_integer(v))
		return json_integer_value(v);
	return dflt;
}

/* The request of one step: req's, with the step's capability and prompt. */
static json_t *
step_request(json_t *req, json_t *step)
{
	json_t *sub = json_deep_copy(req), *prompt;

	json_object_del(sub, "steps");
	json_object_del(sub, "workflow");
	json_object_set(sub, "capability", json_object_get(step, "capability"));
	if ((prompt = json_object_get(step, "prompt")) != NULL)
		json_object_set(json_object_get(sub, "payload"), "prompt",
		    prompt);
	return sub;
}

/*
 * A request of steps, its own or its workflow's: each step routed as a
 * request of its capability would be, into the record's "steps"; the
 * route's strategy is "steps", its candidates none, its "security" the
 * rules' (aim-resolve(1) "Workflows").  A step that cannot be routed fails the whole request,
 * its message naming the step.
 */
static int
route_steps(struct aim_router *rt, json_t *req, const char **code,
    char **message, json_t **details)
{
	const char *name = json_string_value(json_object_get(req, "workflow"));
	json_t *steps = json_object_get(req, "steps"), *step, *sub, *out, *o;
	size_t i;
	char *why;
	int unknown;

	if (name != NULL && (steps = json_object_get(json_object_get(
	    rt->reg->rules_json, "workflows"), name)) == NULL) {
		*code = "invalid_request";
		*message = aim_xsprintf("unknown workflow '%s'", name);
		return -1;
	}
	if ((why = aim_steps_invalid(steps, rt->reg->rules, &unknown)) != NULL) {
		*code = unknown ? "unknown_capability" : "invalid_request";
		*message = why;
		return -1;
	}
	out = json_array();
	json_array_foreach(steps, i, step) {
		sub = step_request(req, step);
		if (aim_route(rt, sub, code, message, details) == -1) {
			why = aim_xsprintf("steps[%zu]: %s", i, *message);
			free(*message);
			*message = why;
			json_decref(sub);
			json_decref(out);
			return -1;
		}
		o = json_deep_copy(step);
		json_object_set(o, "route", json_object_get(sub, "route"));
		json_array_append_new(out, o);
		json_decref(sub);
	}
	if (json_object_get(req, "capability") == NULL)
		json_object_set_new(req, "capability", json_string(name ?
		    name : "steps"));
	json_object_set_new(req, "steps", out);
	/* The engine holds the files one step hands on to these rules. */
	json_object_set_new(req, "route", json_pack("{s:O, s:s, s:s, s:[], "
	    "s:O*}", "capability", json_object_get(req, "capability"),
	    "strategy", "steps", "registry", rt->reg->dir, "candidates",
	    "security", rt->reg->security));
	return 0;
}

/*
 * A rule's verify naming a capability: its request, req's own for that
 * capability, routed now into route's "verify" {capability, route}; the
 * engine runs it on the changed files (aim-invoke(1) "Verify and
 * retry").  A check that cannot be routed fails the request, its message
 * saying "verify: ...".
 */
static int
route_verify(struct aim_router *rt, json_t *req, json_t *verify,
    json_t *route, const char **code, char **message, json_t **details)
{
	json_t *sub = json_deep_copy(req);
	char *why;

	json_object_del(sub, "tool_id");
	json_object_set(sub, "capability", json_object_get(verify,
	    "capability"));
	if (aim_route(rt, sub, code, message, details) == -1) {
		why = aim_xsprintf("verify: %s", *message);
		free(*message);
		*message = why;
		json_decref(sub);
		return -1;
	}
	json_object_set_new(route, "verify", json_pack("{s:O, s:O}",
	    "capability", json_object_get(verify, "capability"), "route",
	    json_object_get(sub, "route")));
	json_decref(sub);
	return 0;
}

int
aim_route(struct aim_router *rt, json_t *req, const char **code,
    char **message, json_t **details)
{
	if (json_object_get(req, "steps") != NULL ||
	    json_object_get(req, "workflow") != NULL) {
		*details = NULL;
		return route_steps(rt, req, code, message, details);
	}
	const char *cap, *tool_id, *strategy = "ordered";
	json_t *rule = NULL, *ids, *cands, *route, *v, *payload;
	int64_t timeout_ms, deadline_ms;
	size_t i, n;
	char *missing;

	*details = NULL;
	cap = json_string_value(json_object_get(req, "capability"));
	tool_id = json_string_value(json_object_get(req, "tool_id"));
	payload = json_object_get(req, "payload");
	rule = json_object_get(rt->reg->rules, cap);
	ids = json_array();
	if (tool_id != NULL) {
		if (aim_registry_tool(rt->reg, tool_id) == NULL) {
			*code = "unknown_tool";
			*message = aim_xsprintf("tool '%s' not found in AIM "
			    "registry", tool_id);
			json_decref(ids);
			return -1;
		}
		strategy = "direct";
		json_array_append_new(ids, json_string(tool_id));
	} else {
		if (rule != NULL) {
			add_unique(ids, json_object_get(rule, "primary"));
			json_array_foreach(json_object_get(rule, "fallback"),
			    i, v)
				add_unique(ids, v);
		}
		if (json_array_size(ids) == 0) {
			*code = "unknown_capability";
			*message = rule == NULL ? unknown_capability(rt, cap) :
			    aim_xsprintf("capability '%s' names no tool", cap);
			json_decref(ids);
			return -1;
		}
		if (json_is_true(json_object_get(rule, "loadBalance"))) {
			v = json_object_get(rule, "loadBalanceStrategy");
			strategy = json_is_string(v) ? json_string_value(v) :
			    "round_robin";
		}
	}
	/* The limits the original carried and never read (issue 6). */
	if ((missing = aim_context_missing(payload, json_object_get(rule,
	    "context_requirements"))) != NULL) {
		*code = "missing_context";
		*message = aim_xsprintf("missing_context: %s", missing);
		free(missing);
		json_decref(ids);
		return -1;
	}
	if (aim_security_check(payload, rt->reg->security, rt->cwd ?
	    rt->cwd : "/", rt->reg->dir, code, message) == -1) {
		json_decref(ids);
		return -1;
	}

	timeout_ms = layered(req, rule, "timeout_ms", rt->cfg->timeout_ms);
	cands = json_array();
	n = json_array_size(ids);
	for (i = 0; i < n; i++)
		json_array_append_new(cands, candidate(rt, json_string_value(
		    json_array_get(ids, i)), timeout_ms, rule));
	json_decref(ids);
	if (strcmp(strategy, "ordered") != 0 && strcmp(strategy, "direct") != 0)
		cands = balance(rt, cands, cap, strategy);
	if ((*message = all_cooling(cands, cap, details)) != NULL) {
		*code = "all_cooling_down";
		json_decref(cands);
		return -1;
	}

	route = json_pack("{s:s, s:s, s:s, s:o}", "capability", cap,
	    "strategy", strategy, "registry", rt->reg->dir,
	    "candidates", cands);
	deadline_ms = layered(req, rule, "deadline_ms", rt->cfg->deadline_ms);
	if (deadline_ms > 0) {
		json_object_set_new(route, "deadline_ms",
		    json_integer(deadline_ms));
		json_object_set_new(route, "min_attempt_ms", json_integer(
		    layered(NULL, rule, "min_attempt_ms",
		    rt->cfg->min_attempt_ms)));
	}
	if (json_is_false(json_object_get(rule, "fallback")))
		json_object_set_new(route, "fallback", json_false());
	if (json_is_string(json_object_get(rule, "verify")))
		json_object_set(route, "verify", json_object_get(rule, "verify"));
	else if (json_is_object(json_object_get(rule, "verify")) &&
	    route_verify(rt, req, json_object_get(rule, "verify"), route, code,
	    message, details) == -1) {
		json_decref(route);
		return -1;
	}
	if (json_is_integer(json_object_get(rule, "max_rounds")))
		json_object_set(route, "max_rounds", json_object_get(rule,
		    "max_rounds"));
	json_object_set_new(req, "route", route);
	return 0;
}

const char *
aim_request_invalid(json_t *req, size_t limit, char *buf, size_t n)
{
	json_t *v;
	size_t size;

	if ((v = json_object_get(req, "workflow")) != NULL &&
	    json_string_length(v) == 0)
		return "\"workflow\" must be a non-empty string";
	if (v != NULL && json_object_get(req, "steps") != NULL)
		return "\"steps\" and \"workflow\" exclude each other";
	if ((v != NULL || json_object_get(req, "steps") != NULL) &&
	    json_object_get(req, "tool_id") != NULL)
		return "\"tool_id\" is for a request without steps";
	/* A request of steps is named by its routing when it names none. */
	v = json_object_get(req, "capability");
	if (v == NULL && json_object_get(req, "steps") == NULL &&
	    json_object_get(req, "workflow") == NULL)
		return "missing \"capability\"";
	if (v != NULL && !json_is_string(v))
		return "\"capability\" must be a string";
	if (v != NULL && json_string_length(v) == 0)
		return "\"capability\" must not be empty";
	v = json_object_get(req, "payload");
	if (v == NULL)
		return "missing \"payload\"";
	if (!json_is_object(v))
		return "\"payload\" must be an object";
	if ((v = json_object_get(req, "id")) != NULL && !json_is_string(v))
		return "\"id\" must be a string";
	if ((v = json_object_get(req, "tool_id")) != NULL && !json_is_string(v))
		return "\"tool_id\" must be a string";
	if ((v = json_object_get(req, "actor")) != NULL && !json_is_string(v))
		return "\"actor\" must be a string";
	if ((v = json_object_get(req, "cache")) != NULL && !json_is_boolean(v))
		return "\"cache\" must be true or false";
	if ((v = json_object_get(req, "timeout_ms")) != NULL &&
	    (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    json_integer_value(v) > TIMEOUT_MAX_MS))
		return "\"timeout_ms\" must be a positive integer "
		    "(at most 86400000)";
	if ((v = json_object_get(req, "deadline_ms")) != NULL &&
	    (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    json_integer_value(v) > TIMEOUT_MAX_MS))
		return "\"deadline_ms\" must be a positive integer "
		    "(at most 86400000)";
	size = json_dumpb(json_object_get(req, "payload"), NULL, 0,
	    JSON_COMPACT);
	if (size > limit) {
		snprintf(buf, n, "payload is %zu bytes, limit %zu", size, limit);
		return buf;
	}
	return NULL;
}

size_t
aim_payload_limit(json_t *security, const struct aim_config *cfg)
{
	json_t *sec = json_object_get(security, "max_payload_size_bytes");
	size_t limit = cfg->max_payload_bytes;

	if (json_is_integer(sec) && json_integer_value(sec) >= 0 &&
	    (size_t)json_integer_value(sec) < limit)
		limit = json_integer_value(sec);
	return limit;
}
