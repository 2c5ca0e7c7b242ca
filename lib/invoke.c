/*
 * invoke.c: the engine of aim-invoke(1): routed records in, result records
 * out.  Runs each record's ready candidates in order until one succeeds,
 * with retries, back-off, cooldowns, concurrency slots and a deadline,
 * up to opt.jobs records at once; the caller's poll loop serves the
 * children (aim_invoke_poll, aim_invoke_step) beside its own descriptors.
 */
#include <errno.h>
#include <err.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aim-flow.h"

/* How often a request queued for a busy tool looks for a free slot. */
#define SLOT_POLL_MS	50
/* The kill grace of an attempt the deadline cuts short: SIGKILL this soon. */
#define DEADLINE_GRACE_MS	50
/* A verify rule's rounds when it names none (aim-registry(5) max_rounds). */
#define VERIFY_ROUNDS	3

extern char **environ;

/* One input record on its way through its candidates. */
struct job {
	json_t	*rec;		/* owned; gains tool_id, attempts, result */
	json_t	*attempts;	/* borrowed from rec */
	json_t	*cands;		/* borrowed from rec.route */
	size_t	 next;		/* next candidate to consider */
	json_t	*cur;		/* the candidate being tried, or NULL */
	json_t	*looked;	/* the candidate the cache was asked for */
	json_t	*runs_for;	/* the candidate runs were made for */
	size_t	 depth;		/* its index in cands */
	int	 tries;		/* attempts of cur so far */
	const char *tool_id;	/* of the current candidate */
	const char *argv0;
	int64_t	 deadline_ms;	/* monotonic end of the request, 0: none */
	int64_t	 min_attempt_ms;
	int64_t	 wake_ms;	/* waiting (back-off, a slot) until then */
	int64_t	 slot_since;	/* queued for a slot since then */
	int64_t	 started_ms;	/* the running attempt's start, monotonic */
	struct aim_slot slot;	/* the concurrency slot held, if any */
	int	 nofallback;	/* --strict or the rule's fallback: false */
	int	 refused;	/* this attempt was turned away before any run */
	struct aim_proc proc;
	char	*input, **env;
	char	**argv;		/* its strings are borrowed from rec */
	int	 running, done, active;
	/* A declarative adapter's attempt (aim-registry(5) "The adapter object"). */
	json_t	*runs;		/* its runs (aim_declare_runs), or NULL */
	size_t	 run_next;	/* the next of them to start */
	json_t	*ran;		/* those finished, as aim_declare_output reads them */
	struct aim_snapshot *snap;	/* the request's files before the runs */
	int64_t	 ran_ms;	/* the time they took so far */
	struct aim_proc_limits lim;	/* the attempt's limits */
	const char *source;	/* the input's name, for stderr */
	long	 lineno;		/* its line there */
	/* The result cache's key of cur, and its files, NULL: not cached. */
	unsigned char rkey[AIM_HASH_BYTES];
	json_t	*rfiles;
	/* Verify-and-retry (aim-invoke(1) "Verify and retry"). */
	int	 round;		/* of cur, from 1 */
	int	 verifying;	/* proc is the verify command */
	json_t	*vattempt, *voutput;	/* the success it judges */
	char	*vtold;		/* what the last failed verify said */
	struct job *vjob;	/* a check routed through aim, running */
	int64_t	 vstart_ms;	/* when it started */
	int	 sub;		/* this is one: not counted among jobs */
	/* A request of steps (aim-invoke(1) "Workflows"): rec is a step's. */
	json_t	*wrec;		/* owned: the whole record, or NULL */
	size_t	 step;		/* the index of the step rec runs */
	int	 step_next;	/* it ended: advance starts the next */
	int	 stopped;	/* a step failed without continue_on_failure */
	json_t	*changed;	/* the files the steps changed so far */
};

/* The error patterns of a registry met, loaded once (p NULL: none). */
struct registry_patterns {
	char	*registry;
	struct aim_patterns *p;
};

struct aim_invoke {
	const struct aim_config *cfg;	/* borrowed */
	struct aim_invoke_opts opt;
	struct job **queue;	/* input order; a ring of qcap */
	size_t	 qhead, qlen, qcap;
	size_t	 active;	/* records under way */
	size_t	 running;	/* adapters running now */
	struct aim_proc **procs;	/* aim_invoke_poll's, qcap of them */
	int	 status;
	int	 interrupted;	/* the signal, once one came */
	struct aim_vault vault;	/* opened at the first candidate needing it */
	int	 vault_state;	/* 0 not tried, 1 open, -1 unusable */
	char	*vault_why;	/* why it is unusable */
	struct aim_state state;	/* cooldowns shared with other processes */
	int	 state_ok;
	json_t	*said;		/* state problems said already */
	struct registry_patterns *pcache;
	size_t	 npcache;
	struct aim_rcache rcache;	/* results kept (aim-cache(1)) */
};

/* Is v the string s? */
static int
str_is(json_t *v, const char *s)
{
	return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

static int64_t
int_member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* The end of a declarative attempt: what it kept goes. */
static void
declare_clear(struct job *j)
{
	json_decref(j->runs);
	json_decref(j->ran);
	aim_snapshot_free(j->snap);
	j->runs = j->ran = NULL;
	j->runs_for = NULL;
	j->snap = NULL;
	aim_strv_free(j->env);
	j->env = NULL;
}

static void
job_free(struct job *j)
{
	declare_clear(j);
	json_decref(j->rec);
	json_decref(j->rfiles);
	json_decref(j->vattempt);
	json_decref(j->voutput);
	json_decref(j->wrec);
	json_decref(j->changed);
	if (j->vjob != NULL)
		job_free(j->vjob);
	free(j->vtold);
	free(j->input);
	aim_strv_free(j->env);
	free(j->argv);
	aim_slot_release(&j->slot);
	free(j);
}

static int	step_end(struct aim_invoke *, struct job *);

static void
finish_job(struct aim_invoke *iv, struct job *j, json_t *tool_id, json_t *result)
{
	json_object_set_new(j->rec, "tool_id", tool_id);
	json_object_set_new(j->rec, "result", result);
	/* Visible degradation (issue 6): how far down the chain it went. */
	if (!json_is_null(tool_id)) {
		json_object_set_new(j->rec, "fallback_depth",
		    json_integer(j->depth));
		json_object_set_new(j->rec, "degraded",
		    json_boolean(j->depth > 0));
	}
	/* The state named in the config could not be shared: say so. */
	if (iv->state.degraded)
		json_object_set_new(j->rec, "state", json_string("degraded"));
	aim_slot_release(&j->slot);
	j->cur = NULL;
	j->wake_ms = 0;
	/* A step ended: the next starts from advance, not from down here. */
	if (j->wrec != NULL && step_end(iv, j)) {
		j->step_next = 1;
		j->wake_ms = aim_now_ms();
		return;
	}
	j->done = 1;
	if (j->active) {
		j->active = 0;
		iv->active--;
	}
}

/* The registry a record was routed with (route.registry): state's key. */
static const char *
job_registry(struct job *j)
{
	return json_string_value(json_object_get(json_object_get(j->rec,
	    "route"), "registry"));
}

/* The capability a record asked for (route.capability, else its own). */
static const char *
job_capability(struct job *j)
{
	const char *cap = json_string_value(json_object_get(json_object_get(
	    j->rec, "route"), "capability"));

	return cap != NULL ? cap : json_string_value(json_object_get(j->rec,
	    "capability"));
}

/* Say a state problem once; the request goes on without the state. */
static void
state_warn(struct aim_invoke *iv, char *why)
{
	aim_warn_once(iv->said, why);
}

/* The shared state, up to date, or NULL when it cannot be used. */
static struct aim_state *
state(struct aim_invoke *iv)
{
	return iv->state_ok ? aim_state_current(&iv->state, iv->said) : NULL;
}

/*
 * Tell the circuit breaker how an attempt of tool_id went (issue 6).
 * Returns the cooldown end (wall ms) when this failure opened or extended
 * one, else 0.
 */
static int64_t
record_outcome(struct aim_invoke *iv, struct job *j, const char *tool_id,
    const char *cls)
{
	const char *reg = job_registry(j);
	struct aim_state *st;
	char *why = NULL;
	int64_t until = 0;
	int changed = 1, refused = j->refused;

	j->refused = 0;
	/* No tool ran: nothing for the breaker or least_recent_failure. */
	if (refused || (st = state(iv)) == NULL)
		return 0;
	if (cls == NULL && !aim_state_needs_success(st, reg, tool_id))
		return 0;	/* the common case: no lock, no write */
	if (cls != NULL && strcmp(cls, "not_installed") == 0)
		return 0;
	if (aim_state_lock(st, &why) == -1) {
		state_warn(iv, why);
		return 0;
	}
	state_warn(iv, why);
	if (cls == NULL)
		changed = aim_state_success(st, reg, tool_id);
	else
		until = aim_state_failure(st, reg, tool_id, cls, aim_wall_ms(),
		    &iv->cfg->cooldown);
	if (aim_state_unlock(st, changed, &why) == -1)
		state_warn(iv, why);
	return until;
}

/*
 * What an attempt of j->cur cost (aim-invoke(1) "Cost"), on the attempt
 * as cost_usd and cost_from, and added to the tool's spend of the day.
 */
static void
record_cost(struct aim_invoke *iv, struct job *j, json_t *attempt,
    json_t *output)
{
	struct aim_state *st;
	const char *from;
	char *why = NULL;
	double usd = aim_attempt_cost(json_object_get(output, "content"),
	    json_object_get(j->cur, "price"), &from);

	if (usd < 0)
		return;
	json_object_set_new(attempt, "cost_usd", json_real(usd));
	json_object_set_new(attempt, "cost_from", json_string(from));
	if (usd == 0 || (st = state(iv)) == NULL)
		return;
	if (aim_state_lock(st, &why) == -1) {
		state_warn(iv, why);
		return;
	}
	state_warn(iv, why);
	aim_state_spend_add(st, job_registry(j), j->tool_id,
	    job_capability(j), usd, aim_wall_ms());
	if (aim_state_unlock(st, 1, &why) == -1)
		state_warn(iv, why);
}

/*
 * Open the vault once per run, with the key file of $AIM_VAULT_KEYFILE
 * (issue 4); every value it holds is handed to the redaction.
 */
static int
vault_ready(struct aim_invoke *iv)
{
	char buf[PATH_MAX + 160];
	int rc;

	if (iv->vault_state == 0) {
		rc = aim_vault_open_unattended(&iv->vault, &iv->vault_why);
		iv->vault_state = rc == AIM_VAULT_OK ? 1 : -1;
		if (rc == AIM_VAULT_NOKEY && iv->vault.kdf != 0 &&
		    iv->vault.path != NULL) {
			/* No terminal, no --passphrase-fd here: a key file. */
			snprintf(buf, sizeof(buf), "vault %s opens with a "
			    "passphrase, which aim-invoke cannot ask for: "
			    "aim-secret rekey --keyfile FILE, then set "
			    "AIM_VAULT_KEYFILE=FILE", iv->vault.path);
			free(iv->vault_why);
			iv->vault_why = aim_xstrdup(buf);
		}
		if (iv->vault_state == -1)
			warnx("%s", iv->vault_why);
	}
	return iv->vault_state == 1;
}

/*
 * Put the candidate's secrets ({"ENV": "vault/name"}) into its adapter's
 * environment only.  NULL, or the malloc'd reason it cannot run.
 */
static char *
inject_secrets(struct aim_invoke *iv, char ***env, json_t *secrets)
{
	const struct aim_vault_secret *s;
	const char *var;
	char buf[512];
	json_t *name;

	json_object_foreach(secrets, var, name) {
		if (!vault_ready(iv)) {
			snprintf(buf, sizeof(buf), "missing_secret: %s (%s)",
			    json_string_value(name), iv->vault_why);
			return aim_xstrdup(buf);
		}
		s = aim_vault_get(&iv->vault, json_string_value(name));
		if (s == NULL || memchr(s->value, '\0', s->value_len) != NULL) {
			snprintf(buf, sizeof(buf), "missing_secret: %s%s",
			    json_string_value(name), s == NULL ? "" :
			    " (holds a NUL byte: not for an environment)");
			return aim_xstrdup(buf);
		}
		*env = aim_env_put(*env, var, (const char *)s->value,
		    s->value_len);
	}
	return NULL;
}

/* A skipped attempt of candidate c: reason, message, and its class. */
static void
skip(struct job *j, json_t *c, const char *reason, const char *fmt, ...)
{
	json_t *a;
	char msg[512];
	va_list ap;

	if (reason == NULL)
		a = aim_adapter_skipped(c);
	else {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		a = json_pack("{s:O, s:s, s:s, s:s}", "tool_id",
		    json_object_get(c, "tool_id"), "outcome", "skipped",
		    "reason", reason, "message", msg);
	}
	aim_attempt_classify(a, NULL);
	json_array_append_new(j->attempts, a);
}

/* The cooldown end of a tool of j's registry now (wall ms), or 0. */
static int64_t
cooling(struct aim_invoke *iv, struct job *j, const char *tool_id)
{
	struct aim_state *st = state(iv);

	return st == NULL ? 0 : aim_state_cooldown(st, job_registry(j),
	    tool_id, aim_wall_ms(), NULL);
}

/*
 * Has tool_id spent its budget today (aim-invoke(1) "Budgets")?  Then its
 * skipped attempt, with until the end of the UTC day, and 1.
 */
static int
over_budget(struct aim_invoke *iv, struct job *j, json_t *c,
    const char *tool_id)
{
	struct aim_state *st = state(iv);
	double spent, limit;
	int64_t until;
	char iso[32];

	if (st == NULL || (until = aim_state_budget_exhausted(st,
	    job_registry(j), iv->cfg->budgets, tool_id, aim_wall_ms(), &spent,
	    &limit)) == 0)
		return 0;
	aim_iso_ms(until, iso);
	skip(j, c, "budget_exhausted", "spent $%.4f of its $%.4f a day; until "
	    "%s", spent, limit, iso);
	json_object_set_new(json_array_get(j->attempts,
	    json_array_size(j->attempts) - 1), "until", json_string(iso));
	return 1;
}

/*
 * Take the next candidate worth trying as j->cur, recording the others as
 * skipped.  0 when the chain is exhausted.
 */
static int
pick(struct aim_invoke *iv, struct job *j)
{
	size_t n = json_array_size(j->cands);
	json_t *c;
	int64_t until;
	char iso[32];

	while (j->next < n) {
		c = json_array_get(j->cands, j->next++);
		if (j->next > 1 && j->nofallback) {
			skip(j, c, "fallback_disabled", "fallback is off for "
			    "this request");
			continue;
		}
		if (!str_is(json_object_get(c, "status"), "ready")) {
			skip(j, c, NULL, NULL);
			continue;
		}
		/* Routed a while ago, perhaps: the breaker may be open now. */
		if ((until = cooling(iv, j, json_string_value(json_object_get(c,
		    "tool_id")))) != 0) {
			aim_iso_ms(until, iso);
			skip(j, c, "cooldown", "cooling down until %s", iso);
			continue;
		}
		if (over_budget(iv, j, c, json_string_value(json_object_get(c,
		    "tool_id"))))
			continue;
		j->cur = c;
		j->depth = j->next - 1;
		j->tries = 0;
		j->slot_since = 0;
		j->round = 1;
		free(j->vtold);
		j->vtold = NULL;
		return 1;
	}
	return 0;
}

/*
 * The error patterns of registry, AIM_adapters/error-patterns there, or
 * NULL when it has none; a file that cannot be read or has a bad line is
 * said once and taken as none.
 */
static const struct aim_patterns *
registry_patterns(struct aim_invoke *iv, const char *registry)
{
	struct aim_patterns *p;
	char *path, *why = NULL;
	size_t i;

	if (registry == NULL)
		return NULL;
	for (i = 0; i < iv->npcache; i++)
		if (strcmp(iv->pcache[i].registry, registry) == 0)
			return iv->pcache[i].p;
	path = aim_xsprintf("%s/AIM_adapters/error-patterns", registry);
	p = aim_patterns_load(path, &why);
	if (p == NULL && errno != ENOENT && errno != ENOTDIR)
		aim_warn_once(iv->said, aim_xsprintf("%s; error patterns "
		    "ignored", why));
	free(why);
	free(path);
	iv->pcache = aim_xrealloc(iv->pcache, (iv->npcache + 1) *
	    sizeof(*iv->pcache));
	iv->pcache[iv->npcache].registry = aim_xstrdup(registry);
	iv->pcache[iv->npcache++].p = p;
	return p;
}

/*
 * A failure its adapter gave no class: the class the error patterns of
 * the record's registry give its message, else its stderr, with where it
 * came from (aim-adapter(7) ERROR PATTERNS); else it stays unclassified.
 * Returns the class (borrowed from attempt).
 */
static const char *
classify_texts(struct aim_invoke *iv, struct job *j, json_t *attempt)
{
	static const char *const from[] = { "message", "stderr", NULL };
	const struct aim_patterns *p = registry_patterns(iv, job_registry(j));
	const char *cls = NULL;
	size_t i;

	for (i = 0; p != NULL && cls == NULL && from[i] != NULL; i++)
		cls = aim_patterns_classify(p, json_string_value(
		    json_object_get(attempt, from[i])));
	if (cls != NULL) {
		json_object_set_new(attempt, "error_class", json_string(cls));
		json_object_set_new(attempt, "error_class_from",
		    json_string(from[i - 1]));
	}
	return json_string_value(json_object_get(attempt, "error_class"));
}

/*
 * After an attempt of j->cur that looked in the result cache: a success
 * is kept there (aim_rcache_put refuses the rest); a retry starts from
 * what the failure left, so it is not looked for or kept.
 */
static void
cache_keep(struct aim_invoke *iv, struct job *j, json_t *output)
{
	if (j->rfiles == NULL)
		return;
	(void)aim_rcache_put(&iv->rcache, j->rkey, output, j->rfiles);
	json_decref(j->rfiles);
	j->rfiles = NULL;
}

/*
 * The verify command of j's route for an attempt of j->cur, or NULL: a
 * declarative adapter's tool (a formatter, a linter) is not verified,
 * an adapter program's (an AI tool's) is (aim-invoke(1) "Verify and
 * retry").
 */
static const char *
verify_cmd(struct job *j)
{
	if (json_is_object(json_object_get(j->cur, "adapter")))
		return NULL;
	return json_string_value(json_object_get(json_object_get(j->rec,
	    "route"), "verify"));
}

/*
 * The check of j's route naming a capability, {capability, route}, for an
 * attempt of j->cur, or NULL (as verify_cmd).
 */
static json_t *
verify_routed(struct job *j)
{
	json_t *v = json_object_get(json_object_get(j->rec, "route"),
	    "verify");

	if (json_is_object(json_object_get(j->cur, "adapter")) ||
	    !json_is_object(v))
		return NULL;
	return v;
}

/* Does an attempt of j->cur get checked, by a command or a capability? */
static int
verify_set(struct job *j)
{
	return verify_cmd(j) != NULL || verify_routed(j) != NULL;
}

/* The rounds the route allows j->cur (aim-registry(5) max_rounds). */
static int64_t
verify_rounds(struct job *j)
{
	int64_t n = int_member(json_object_get(j->rec, "route"), "max_rounds");

	return n > 0 ? n : VERIFY_ROUNDS;
}

json_t *
aim_verify_files(json_t *rec, json_t *output)
{
	json_t *content = json_object_get(output, "content"), *said, *f;
	json_t *files = json_array();
	size_t i;

	said = json_array();
	json_array_extend(said, json_object_get(content, "files_modified"));
	json_array_extend(said, json_object_get(content, "files_created"));
	/* What a tool says it changed outside the tree is not checked there. */
	json_array_foreach(said, i, f)
		if (json_is_string(f) && aim_path_within(json_string_value(f),
		    "."))
			json_array_append(files, f);
	if (json_array_size(said) == 0)
		json_array_extend(files, json_object_get(json_object_get(
		    rec, "payload"), "files"));
	json_decref(said);
	return files;
}

char **
aim_verify_argv(const char *cmd, json_t *files, char **script)
{
	char **argv = aim_xmalloc((json_array_size(files) + 5) *
	    sizeof(char *));
	size_t i, n = 0;
	json_t *f;

	/* One stream, stderr's tail: what the check printed, in its order. */
	*script = aim_xsprintf("exec 1>&2\n%s", cmd);
	argv[n++] = "sh";
	argv[n++] = "-c";
	argv[n++] = *script;
	argv[n++] = "aim-verify";
	json_array_foreach(files, i, f)
		if (json_is_string(f))
			argv[n++] = (char *)json_string_value(f);
	argv[n] = NULL;
	return argv;
}

json_t *
aim_verify_result(const struct aim_proc *p, const char *cmd)
{
	int exited = !p->spawn_errno && !p->timed_out && WIFEXITED(p->status);
	const char *status = p->spawn_errno ? "error" : p->timed_out ?
	    "timeout" : exited && WEXITSTATUS(p->status) == 0 ? "passed" :
	    "failed";
	json_t *v = json_pack("{s:s, s:s, s:I}", "command", cmd, "status",
	    status, "duration_ms", (json_int_t)p->duration_ms);

	json_object_set_new(v, "exit", exited ?
	    json_integer(WEXITSTATUS(p->status)) : json_null());
	json_object_set_new(v, "output_tail", p->spawn_errno ?
	    json_string(strerror(p->spawn_errno)) : aim_json_text(p->err,
	    p->err_len, AIM_VERIFY_TAIL_BYTES, 1));
	return v;
}

json_t *
aim_verify_request(json_t *verify, json_t *rec, json_t *output)
{
	json_t *payload = json_deep_copy(json_object_get(rec, "payload"));

	if (payload == NULL)
		payload = json_object();
	json_object_set_new(payload, "files", aim_verify_files(rec, output));
	return json_pack("{s:O*, s:O, s:o, s:O*, s:o}", "id",
	    json_object_get(rec, "id"), "capability", json_object_get(verify,
	    "capability"), "payload", payload, "actor", json_object_get(rec,
	    "actor"), "route", json_deep_copy(json_object_get(verify,
	    "route")));
}

/* What a routed check said: its findings, else its stderr or message. */
static json_t *
routed_tail(json_t *vrec, json_t *last)
{
	json_t *res = json_object_get(vrec, "result"), *fs, *f, *t;
	char *text = NULL, *line;
	size_t i, len = 0;

	fs = json_object_get(json_object_get(last, "content"), "findings");
	if (json_array_size(fs) == 0)
		fs = json_object_get(json_object_get(res, "content"),
		    "findings");
	json_array_foreach(fs, i, f) {
		line = aim_xsprintf("%s%s:%lld: %s\n", text ? text : "",
		    json_string_value(json_object_get(f, "file")) ?
		    json_string_value(json_object_get(f, "file")) : "?",
		    (long long)json_integer_value(json_object_get(f, "line")),
		    json_string_value(json_object_get(f, "message")) ?
		    json_string_value(json_object_get(f, "message")) : "");
		free(text);
		text = line;
	}
	if (text != NULL) {
		len = strlen(text);
		t = aim_json_text(text, len, AIM_VERIFY_TAIL_BYTES, 1);
		free(text);
		return t;
	}
	t = json_object_get(last, "stderr");
	if (!json_is_string(t))
		t = json_object_get(res, "message");
	return aim_json_text(json_string_value(t) ? json_string_value(t) : "",
	    json_string_length(t), AIM_VERIFY_TAIL_BYTES, 1);
}

json_t *
aim_verify_routed(json_t *vrec, int64_t duration_ms)
{
	json_t *attempts = json_object_get(vrec, "attempts"), *last, *v;
	const char *outcome, *status = "failed";

	last = json_array_get(attempts, json_array_size(attempts) - 1);
	outcome = json_string_value(json_object_get(last, "outcome"));
	if (json_is_true(json_object_get(json_object_get(vrec, "result"),
	    "success")))
		status = "passed";
	else if (outcome != NULL && strcmp(outcome, "timeout") == 0)
		status = "timeout";
	else if (outcome == NULL || strcmp(outcome, "skipped") == 0)
		status = "error";
	v = json_pack("{s:O, s:O*, s:s, s:I}", "capability",
	    json_object_get(vrec, "capability"), "tool_id", outcome != NULL &&
	    strcmp(outcome, "skipped") != 0 ? json_object_get(last,
	    "tool_id") : NULL, "status", status, "duration_ms",
	    (json_int_t)duration_ms);
	if (json_object_get(v, "tool_id") == NULL)
		json_object_set_new(v, "tool_id", json_null());
	json_object_set_new(v, "exit", json_is_integer(json_object_get(last,
	    "exit_code")) ? json_copy(json_object_get(last, "exit_code")) :
	    json_null());
	json_object_set_new(v, "output_tail", routed_tail(vrec, last));
	return v;
}

/* What the next round's prompt is told of the failed verify v. */
static char *
verify_told(struct job *j, json_t *v)
{
	json_t *exit = json_object_get(v, "exit");
	char how[32];

	if (json_is_integer(exit))
		snprintf(how, sizeof(how), "exit %lld",
		    (long long)json_integer_value(exit));
	else
		snprintf(how, sizeof(how), "%s", json_string_value(
		    json_object_get(v, "status")));
	if (json_is_string(json_object_get(v, "capability")))
		return aim_xsprintf("The check of capability '%s' (tool %s) "
		    "failed (%s) after your changes; fix what it reports.  Its "
		    "output ends:\n%s", json_string_value(json_object_get(v,
		    "capability")), json_is_string(json_object_get(v,
		    "tool_id")) ? json_string_value(json_object_get(v,
		    "tool_id")) : "none", how, json_string_value(
		    json_object_get(v, "output_tail")));
	return aim_xsprintf("The check `%s` failed (%s) after your changes; "
	    "fix what it reports.  Its output ends:\n%s", verify_cmd(j), how,
	    json_string_value(json_object_get(v, "output_tail")));
}

/*
 * Verify v judges the success j holds: passed, the job ends with it (1);
 * else the attempt is a round that failed verify, and the same tool runs
 * again told why, or after max_rounds the chain moves on (-1 either way:
 * j->cur is kept for another round).
 */
static int
verify_judge(struct aim_invoke *iv, struct job *j, json_t *v)
{
	json_t *attempt = j->vattempt, *output = j->voutput, *content;

	j->vattempt = j->voutput = NULL;
	json_object_set_new(attempt, "round", json_integer(j->round));
	json_object_set(attempt, "verify", v);
	if (str_is(json_object_get(v, "status"), "passed")) {
		json_decref(v);
		json_array_append_new(j->attempts, attempt);
		finish_job(iv, j, json_string(j->tool_id), output);
		return 1;
	}
	json_object_set_new(attempt, "outcome", json_string(iv->interrupted ?
	    "interrupted" : "verify_failed"));
	content = json_object_get(output, "content");
	if (content != NULL && !json_is_null(content))
		json_object_set(attempt, "content", content);
	json_decref(output);
	json_array_append_new(j->attempts, attempt);
	free(j->vtold);
	j->vtold = verify_told(j, v);
	json_decref(v);
	if (iv->interrupted || j->round >= verify_rounds(j))
		j->cur = NULL;
	j->round++;
	j->tries = 0;
	return -1;
}

static void	job_run(struct aim_invoke *, struct job *);
static struct job *job_new(json_t *, const char *, long);

/* The check routed through aim ended: verify_judge's answer on it. */
static int
verify_sub_end(struct aim_invoke *iv, struct job *j)
{
	json_t *v = aim_verify_routed(j->vjob->rec, aim_now_ms() -
	    j->vstart_ms);

	job_free(j->vjob);
	j->vjob = NULL;
	return verify_judge(iv, j, v);
}

/*
 * Start the check of j's route naming a capability on a success of j->cur
 * (attempt and output stolen): a job of its own, j->vjob, running the
 * request aim_verify_request makes through its pre-routed candidates.
 * 0 while it runs, else verify_judge's answer.
 */
static int
verify_sub_start(struct aim_invoke *iv, struct job *j, json_t *attempt,
    json_t *output)
{
	j->vattempt = attempt;
	j->voutput = output;
	j->vjob = job_new(aim_verify_request(verify_routed(j), j->rec, output),
	    j->source, j->lineno);
	j->vjob->sub = 1;
	j->vstart_ms = aim_now_ms();
	job_run(iv, j->vjob);
	return j->vjob->done ? verify_sub_end(iv, j) : 0;
}

/* A step of j's check routed through aim (aim_invoke_step's, for it). */
static void	child_done(struct aim_invoke *, struct job *);
static void	advance(struct aim_invoke *, struct job *);

static void
verify_sub_step(struct aim_invoke *iv, struct job *j, int64_t now)
{
	struct job *v = j->vjob;

	if (v->running && v->proc.state == AIM_PROC_DONE)
		child_done(iv, v);
	else if (!v->running && !v->done && (iv->interrupted ||
	    (v->wake_ms != 0 && v->wake_ms <= now)))
		advance(iv, v);
	if (v->done && verify_sub_end(iv, j) == -1)
		advance(iv, j);
}

/*
 * Start the verify command of a success of j->cur (attempt and output
 * stolen): sh -c CMD with the changed files as its arguments ("$@"), in
 * the working directory, its stdout with its stderr; within the attempt's
 * timeout and the deadline; or the check naming a capability
 * (verify_sub_start).  0 while it runs, else verify_judge's answer.
 */
static int
verify_start(struct aim_invoke *iv, struct job *j, json_t *attempt,
    json_t *output)
{
	struct aim_proc_limits lim = { iv->cfg->timeout_ms,
	    iv->cfg->kill_grace_ms, AIM_VERIFY_TAIL_BYTES,
	    AIM_VERIFY_TAIL_BYTES };
	json_t *files;
	char *script, **argv;
	int64_t now = aim_now_ms();
	int rc;

	if (verify_cmd(j) == NULL)
		return verify_sub_start(iv, j, attempt, output);
	files = aim_verify_files(j->rec, output);
	argv = aim_verify_argv(verify_cmd(j), files, &script);
	j->vattempt = attempt;
	j->voutput = output;
	if (j->deadline_ms != 0 && j->deadline_ms - now < lim.timeout_ms)
		lim.timeout_ms = j->deadline_ms > now ? j->deadline_ms - now : 1;
	rc = aim_proc_spawn(&j->proc, argv, environ, NULL, 0, &lim);
	free(argv);
	free(script);
	json_decref(files);
	if (rc == 0) {
		j->running = j->verifying = 1;
		j->started_ms = now;
		iv->running++;
		return 0;
	}
	rc = verify_judge(iv, j, aim_verify_result(&j->proc, verify_cmd(j)));
	aim_proc_free(&j->proc);
	return rc;
}

/*
 * Judge a finished attempt of j->cur: success ends the job (1); a failure
 * worth retrying schedules the retry (0: waiting); else the chain moves on
 * (-1).  Steals attempt and output.
 */
static int
after_attempt(struct aim_invoke *iv, struct job *j, json_t *attempt,
    json_t *output)
{
	const char *cls;
	json_t *content;
	int64_t wait, ra, now, until, max_retries;
	char iso[32];

	aim_slot_release(&j->slot);
	cache_keep(iv, j, output);
	cls = aim_attempt_classify(attempt, output);
	if (cls != NULL && strcmp(cls, "unclassified") == 0)
		cls = classify_texts(iv, j, attempt);
	if (j->tries > 0)
		json_object_set_new(attempt, "retry", json_integer(j->tries));
	j->tries++;
	until = record_outcome(iv, j, j->tool_id, cls);
	record_cost(iv, j, attempt, output);
	if (output != NULL && json_is_true(json_object_get(output, "success"))) {
		if (verify_set(j))
			return verify_start(iv, j, attempt, output);
		json_array_append_new(j->attempts, attempt);
		finish_job(iv, j, json_string(j->tool_id), output);
		return 1;
	}
	if (until != 0) {
		aim_iso_ms(until, iso);
		json_object_set_new(attempt, "cooldown_until", json_string(iso));
	}
	content = json_object_get(output, "content");
	if (content != NULL && !json_is_null(content))
		json_object_set(attempt, "content", content);
	json_decref(output);
	json_array_append_new(j->attempts, attempt);

	max_retries = int_member(j->cur, "max_retries");
	if (!aim_error_class_retryable(cls) || j->tries > max_retries ||
	    until != 0 || iv->interrupted) {
		j->cur = NULL;
		return -1;
	}
	/* Exponential back-off, full jitter; the adapter's wish, capped. */
	wait = aim_backoff_ms(j->tries - 1, iv->cfg->retry_base_ms,
	    iv->cfg->retry_max_ms);
	ra = int_member(attempt, "retry_after_ms");
	if (ra > iv->cfg->retry_after_max_ms)
		ra = iv->cfg->retry_after_max_ms;
	if (ra > wait)
		wait = ra;
	now = aim_now_ms();
	if (j->deadline_ms != 0 &&
	    now + wait + j->min_attempt_ms > j->deadline_ms) {
		/* No time for the wait and a try: the next tool instead. */
		json_object_set_new(attempt, "retry_skipped",
		    json_string("deadline"));
		j->cur = NULL;
		return -1;
	}
	json_object_set_new(attempt, "backoff_ms", json_integer(wait));
	j->wake_ms = now + wait;
	return 0;
}

/* Give back the concurrency slot j holds, if any. */
static void
slot_release(struct job *j)
{
	aim_slot_release(&j->slot);
}

/*
 * The phases of try_start (aim-invoke(1) "Running an adapter") each
 * return 1 to go on to the next, 0 when the job waits (j->wake_ms set),
 * or -1 when j->cur is given up, its skipped attempt recorded.
 */

/*
 * Back from a back-off, another process may have opened the breaker of
 * j->cur meanwhile (aim-invoke(1) "Cooldowns").
 */
static int
recheck_cooldown(struct aim_invoke *iv, struct job *j)
{
	int64_t until;
	char iso[32];

	if (j->tries == 0 || (until = cooling(iv, j, j->tool_id)) == 0)
		return 1;
	aim_iso_ms(until, iso);
	skip(j, j->cur, "cooldown", "cooling down until %s", iso);
	j->cur = NULL;
	return -1;
}

/* Give up j->cur after waiting since j->slot_since for a slot. */
static int
slot_waited_out(struct job *j, int64_t now)
{
	skip(j, j->cur, "max_concurrent", "waited %lld ms for one of %lld "
	    "slots of %s", (long long)(now - j->slot_since),
	    (long long)int_member(j->cur, "max_concurrent"), j->tool_id);
	j->cur = NULL;
	return -1;
}

/*
 * One deadline for the whole request (aim-invoke(1) "Deadline"): the
 * attempt's timeout is cut to the time left, and its kill grace to
 * DEADLINE_GRACE_MS when it is, so the deadline holds to within that.
 */
static int
clip_to_deadline(struct job *j, int64_t now, struct aim_proc_limits *lim)
{
	int64_t left_ms;

	if (j->deadline_ms == 0)
		return 1;
	left_ms = j->deadline_ms - now;
	if (left_ms < j->min_attempt_ms || left_ms <= 0) {
		/* The wait for a slot may be what used the time up. */
		if (j->slot_since != 0)
			return slot_waited_out(j, now);
		skip(j, j->cur, "deadline", "deadline: %lld ms left, a tool "
		    "needs at least %lld ms", (long long)(left_ms > 0 ?
		    left_ms : 0), (long long)j->min_attempt_ms);
		j->cur = NULL;
		return -1;
	}
	if (lim->timeout_ms >= left_ms) {
		lim->timeout_ms = left_ms;
		if (lim->kill_grace_ms > DEADLINE_GRACE_MS)
			lim->kill_grace_ms = DEADLINE_GRACE_MS;
	}
	return 1;
}

/*
 * One of the max_concurrent slots of j->cur, shared by every aim-invoke
 * (aim-invoke(1) "Concurrency").  When the slots cannot be used at all it
 * runs unlimited and says why.  A busy tool is waited for, polling, until
 * the deadline less min_attempt_ms, else for timeout_ms; or skipped at
 * once with "concurrency": "reject".
 */
static int
slot_take(struct aim_invoke *iv, struct job *j, int64_t now, int64_t timeout_ms)
{
	int64_t max = int_member(j->cur, "max_concurrent"), give_up_ms;
	char *why = NULL;
	int rc;

	if (max <= 0 || aim_slot_held(&j->slot))
		return 1;
	rc = aim_slot_acquire(iv->state_ok ? &iv->state : NULL,
	    job_registry(j), j->tool_id, max, &j->slot, &why);
	if (rc == -1)
		state_warn(iv, why);
	if (rc != 0)
		return 1;
	if (str_is(json_object_get(j->cur, "concurrency"), "reject")) {
		skip(j, j->cur, "max_concurrent", "all %lld slots of %s are "
		    "busy", (long long)max, j->tool_id);
		j->cur = NULL;
		return -1;
	}
	if (j->slot_since == 0)
		j->slot_since = now;
	give_up_ms = j->deadline_ms != 0 ? j->deadline_ms - j->min_attempt_ms :
	    j->slot_since + timeout_ms;
	if (now >= give_up_ms)
		return slot_waited_out(j, now);
	j->wake_ms = now + SLOT_POLL_MS < give_up_ms ? now + SLOT_POLL_MS :
	    give_up_ms;
	return 0;
}

/* j->argv from j->cur's argv; its strings are borrowed from j->rec. */
static void
argv_build(struct job *j)
{
	json_t *argv = json_object_get(j->cur, "argv"), *arg;
	size_t i, argc = json_array_size(argv);

	free(j->argv);
	j->argv = aim_xmalloc((argc + 1) * sizeof(char *));
	json_array_foreach(argv, i, arg)
		j->argv[i] = (char *)json_string_value(arg);
	j->argv[argc] = NULL;
	j->argv0 = j->argv[0] ? j->argv[0] : "(none)";
}

/*
 * j->env: the adapter's environment (aim-adapter(7)) with the secrets of
 * j->cur (aim-invoke(1) "Secrets").  A secret missing gives j->cur up and
 * its slot back.
 */
static int
env_build(struct aim_invoke *iv, struct job *j, int64_t timeout_ms)
{
	const char *cap = job_capability(j);
	char *missing;

	aim_strv_free(j->env);
	j->env = aim_adapter_env(json_object_get(j->cur, "pass_env"),
	    j->tool_id, cap, json_string_value(json_object_get(j->rec, "id")),
	    timeout_ms, job_registry(j));
	missing = inject_secrets(iv, &j->env, json_object_get(j->cur,
	    "secrets"));
	if (missing == NULL)
		return 1;
	skip(j, j->cur, "missing_secret", "%s", missing);
	free(missing);
	slot_release(j);
	j->cur = NULL;
	return -1;
}

/*
 * The request a round after a failed verify sees: its prompt followed by
 * what verify said (a new reference; j->rec itself when no verify failed).
 */
static json_t *
round_request(struct job *j)
{
	json_t *rec, *payload;
	const char *prompt;

	if (j->vtold == NULL)
		return json_incref(j->rec);
	payload = json_copy(json_object_get(j->rec, "payload"));
	prompt = json_string_value(json_object_get(payload, "prompt"));
	json_object_set_new(payload, "prompt", prompt != NULL && *prompt ?
	    json_sprintf("%s\n\n%s", prompt, j->vtold) :
	    json_string(j->vtold));
	rec = json_copy(j->rec);
	json_object_set_new(rec, "payload", payload);
	return rec;
}

/*
 * Run j->argv with j->env and the adapter's input: 1 running.  Out of
 * descriptors while children run, it waits for one to end (0, the slot
 * given back); any other failure is judged as an attempt by after_attempt.
 */
static int
attempt_spawn(struct aim_invoke *iv, struct job *j, int64_t now,
    const struct aim_proc_limits *lim)
{
	json_t *attempt, *output, *rec;
	size_t input_len;
	int rc;

	free(j->input);
	rec = round_request(j);
	j->input = aim_adapter_input(rec, lim->timeout_ms, &input_len);
	json_decref(rec);
	rc = aim_proc_spawn(&j->proc, j->argv, j->env, j->input, input_len,
	    lim);
	/* The child has its copy: secrets leave our memory now. */
	aim_strv_free(j->env);
	j->env = NULL;
	if (rc == 0) {
		j->running = 1;
		j->started_ms = now;
		iv->running++;
		return 1;
	}
	if ((j->proc.spawn_errno == EMFILE || j->proc.spawn_errno == ENFILE) &&
	    iv->running > 0) {
		aim_proc_free(&j->proc);
		slot_release(j);
		j->wake_ms = now + SLOT_POLL_MS;
		return 0;
	}
	attempt = aim_adapter_attempt(&j->proc, j->tool_id, j->argv0, &output);
	aim_proc_free(&j->proc);
	return after_attempt(iv, j, attempt, output) == 0 ? 0 : -1;
}

/*
 * Is j->cur's result one to keep (aim-cache(1) "What is cached")?  The
 * request's "cache" when it has one, else its candidate's (the rule's or
 * the tool's "cache": true); never with --no-cache.
 */
static int
cacheable(struct aim_invoke *iv, struct job *j)
{
	json_t *ask = json_object_get(j->rec, "cache");

	/* A verified result is judged afresh: the check may have changed. */
	if (iv->rcache.dir == NULL || verify_set(j))
		return 0;
	return json_is_boolean(ask) ? json_is_true(ask) :
	    json_is_true(json_object_get(j->cur, "cache"));
}

/*
 * The first attempt of a cacheable j->cur looks for its result: a hit
 * restores the files, ends the job with the result marked "cached", its
 * one attempt too, and runs nothing (1).  Else 0, the key kept to store
 * what the run gives.
 */
static int
cache_hit(struct aim_invoke *iv, struct job *j)
{
	int64_t t0 = aim_now_ms();
	json_t *result;

	json_decref(j->rfiles);
	j->rfiles = NULL;
	j->looked = j->cur;
	if (!cacheable(iv, j) ||
	    aim_rcache_key(j->rec, j->cur, j->rkey, &j->rfiles) == -1)
		return 0;
	if ((result = aim_rcache_get(&iv->rcache, j->rkey, j->rfiles)) == NULL)
		return 0;
	json_decref(j->rfiles);
	j->rfiles = NULL;
	json_object_set_new(result, "cached", json_true());
	json_array_append_new(j->attempts, json_pack("{s:s, s:s, s:b, s:I}",
	    "tool_id", j->tool_id, "outcome", "success", "cached", 1,
	    "duration_ms", (json_int_t)(aim_now_ms() - t0)));
	finish_job(iv, j, json_string(j->tool_id), result);
	return 1;
}

/* A finished run of a declarative attempt, as aim_declare_output reads it. */
static json_t *
run_result(const struct aim_proc *p)
{
	json_t *r = json_pack("{s:b}", "timed_out", p->timed_out);

	json_object_set_new(r, "exit_code", WIFEXITED(p->status) &&
	    !p->timed_out ? json_integer(WEXITSTATUS(p->status)) :
	    json_null());
	if (WIFSIGNALED(p->status))
		json_object_set_new(r, "signal",
		    json_string(aim_signame(WTERMSIG(p->status))));
	json_object_set_new(r, "stdout", aim_json_text(p->out, p->out_len,
	    p->out_len, 0));
	json_object_set_new(r, "stderr", aim_json_text(p->err, p->err_len,
	    p->err_len, 1));
	return r;
}

/*
 * The attempt record of a declarative attempt that ran (aim-invoke(1)
 * "Attempts"): its outcome from the reply, the time of all its runs, and
 * the last run's exit code and stderr.
 */
static json_t *
declare_attempt(struct job *j, json_t *output)
{
	json_t *last = json_array_get(j->ran, json_array_size(j->ran) - 1);
	json_t *a = json_pack("{s:s}", "tool_id", j->tool_id), *v;
	const char *outcome = "failure";

	if (json_is_true(json_object_get(output, "success")))
		outcome = "success";
	else if (json_is_true(json_object_get(last, "timed_out")))
		outcome = "timeout";
	json_object_set_new(a, "outcome", json_string(outcome));
	if ((v = json_object_get(last, "exit_code")) != NULL && !json_is_null(v))
		json_object_set(a, "exit_code", v);
	if ((v = json_object_get(output, "message")) != NULL)
		json_object_set(a, "message", v);
	json_object_set_new(a, "duration_ms", json_integer(j->ran_ms));
	json_object_set_new(a, "runs", json_integer(json_array_size(j->ran)));
	v = json_object_get(last, "stderr");
	if (json_string_length(v) > 0)
		json_object_set(a, "stderr", v);
	return a;
}

/* Judge a declarative attempt whose runs are over (after_attempt's answer). */
static int
declare_end(struct aim_invoke *iv, struct job *j)
{
	json_t *changed = aim_snapshot_changed(j->snap), *output, *attempt;

	output = aim_declare_output(json_object_get(j->cur, "adapter"),
	    j->ran, changed);
	json_decref(changed);
	attempt = declare_attempt(j, output);
	declare_clear(j);
	return after_attempt(iv, j, attempt, output);
}

/*
 * Start the next run of j's declarative attempt, the tool itself, with
 * the time the runs before it left: 1 running, else after_attempt's
 * answer for an attempt that could not go on.
 */
static int
declare_spawn(struct aim_invoke *iv, struct job *j)
{
	json_t *run = json_array_get(j->runs, j->run_next++), *arg;
	json_t *argv = json_object_get(run, "argv"), *output;
	const char *in = json_string_value(json_object_get(run, "stdin"));
	struct aim_proc_limits lim = j->lim;
	size_t i, argc = json_array_size(argv);
	json_t *attempt;

	free(j->argv);
	j->argv = aim_xmalloc((argc + 1) * sizeof(char *));
	json_array_foreach(argv, i, arg)
		j->argv[i] = (char *)json_string_value(arg);
	j->argv[argc] = NULL;
	j->argv0 = argc > 0 ? j->argv[0] : "(none)";
	lim.timeout_ms -= j->ran_ms;
	if (lim.timeout_ms < 1)
		lim.timeout_ms = 1;
	if (aim_proc_spawn(&j->proc, j->argv, j->env, in, in ? strlen(in) : 0,
	    &lim) == 0) {
		j->running = 1;
		j->started_ms = aim_now_ms();
		iv->running++;
		return 1;
	}
	/* The tool went between the route and now: not installed. */
	attempt = aim_adapter_attempt(&j->proc, j->tool_id, j->argv0, &output);
	aim_proc_free(&j->proc);
	declare_clear(j);
	return after_attempt(iv, j, attempt, output);
}

/*
 * A run of j's declarative attempt ended: start the next while each ended
 * by exiting, else judge the attempt (after_attempt's answer; 1 when the
 * next run started).
 */
static int
declare_child_done(struct aim_invoke *iv, struct job *j)
{
	int exited = WIFEXITED(j->proc.status) && !j->proc.timed_out;

	j->ran_ms += j->proc.duration_ms;
	json_array_append_new(j->ran, run_result(&j->proc));
	aim_proc_free(&j->proc);
	if (exited && j->run_next < json_array_size(j->runs))
		return declare_spawn(iv, j) == 1 ? 0 : -1;
	return declare_end(iv, j);
}

/*
 * The runs the adapter object of j->cur makes of the request, into
 * j->runs (aim-registry(5) "The adapter object"): 1.  A request the tool
 * does not take (a file of another type) is a failure of class
 * bad_request, so the chain moves on: then as try_start.
 */
static int
declare_runs(struct aim_invoke *iv, struct job *j)
{
	json_t *attempt, *output;
	char *why = NULL;
	int bad;

	j->runs = aim_declare_runs(json_object_get(j->cur, "adapter"), j->rec,
	    &why);
	if (j->runs == NULL || json_array_size(j->runs) == 0) {
		bad = why == NULL || strncmp(why, "bad_request: ", 13) == 0;
		output = json_pack("{s:b, s:s, s:s, s:n}", "success", 0,
		    "error_class", "bad_request", "message", why == NULL ?
		    "nothing to run" : bad ? why + 13 : why, "content");
		attempt = json_pack("{s:s, s:s, s:O, s:i}", "tool_id",
		    j->tool_id, "outcome", "failure", "message",
		    json_object_get(output, "message"), "duration_ms", 0);
		free(why);
		declare_clear(j);
		j->refused = 1;
		return after_attempt(iv, j, attempt, output) == 0 ? 0 : -1;
	}
	j->runs_for = j->cur;
	return 1;
}

/*
 * A declarative attempt of j->cur, its runs made (declare_runs): run one
 * after another, the files hashed before and after.  Returns as
 * try_start.
 */
static int
declare_begin(struct aim_invoke *iv, struct job *j,
    const struct aim_proc_limits *lim)
{
	j->snap = aim_snapshot_take(json_object_get(json_object_get(j->rec,
	    "payload"), "files"));
	j->ran = json_array();
	j->ran_ms = 0;
	j->run_next = 0;
	j->lim = *lim;
	/* A report on stderr is read whole, as stdout is: not its tail. */
	if (str_is(json_object_get(json_object_get(json_object_get(j->cur,
	    "adapter"), "findings"), "from"), "stderr") &&
	    j->lim.stderr_tail_bytes < j->lim.max_stdout_bytes)
		j->lim.stderr_tail_bytes = j->lim.max_stdout_bytes;
	return declare_spawn(iv, j) == 1 ? 1 : j->cur == NULL ? -1 : 0;
}

/*
 * Start an attempt of j->cur: 1 running, 0 waiting (for a slot), -1 when
 * it could not start and the job must move on (the attempt is recorded).
 */
static int
try_start(struct aim_invoke *iv, struct job *j)
{
	struct aim_proc_limits lim;
	int64_t now = aim_now_ms();
	int rc, declare;

	j->tool_id = json_string_value(json_object_get(j->cur, "tool_id"));
	lim.timeout_ms = int_member(j->cur, "timeout_ms");
	if (lim.timeout_ms <= 0)
		lim.timeout_ms = iv->cfg->timeout_ms;
	lim.kill_grace_ms = iv->cfg->kill_grace_ms;
	lim.max_stdout_bytes = iv->cfg->max_output_bytes;
	lim.stderr_tail_bytes = iv->cfg->stderr_tail_bytes;

	if ((rc = recheck_cooldown(iv, j)) != 1 ||
	    (rc = clip_to_deadline(j, now, &lim)) != 1)
		return rc;
	/*
	 * What needs no slot comes first: a request the tool does not take,
	 * and a cached result (only of a request the tool takes: a miss
	 * means a run), looked for once while a slot is waited for.
	 */
	declare = json_is_object(json_object_get(j->cur, "adapter"));
	if (declare && j->runs_for != j->cur) {
		declare_clear(j);
		if ((rc = declare_runs(iv, j)) != 1)
			return rc;
	}
	if (j->tries == 0 && j->looked != j->cur && cache_hit(iv, j)) {
		declare_clear(j);
		return 1;
	}
	if ((rc = slot_take(iv, j, now, lim.timeout_ms)) != 1)
		return rc;
	argv_build(j);
	if ((rc = env_build(iv, j, lim.timeout_ms)) != 1)
		return rc;
	if (declare)
		return declare_begin(iv, j, &lim);
	return attempt_spawn(iv, j, now, &lim);
}

/* The result of a request cut short by a signal. */
static void
finish_interrupted(struct aim_invoke *iv, struct job *j)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "interrupted by %s",
	    aim_signame(iv->interrupted));
	finish_job(iv, j, json_null(), json_pack("{s:b, s:s, s:n}",
	    "success", 0, "message", msg, "content"));
}

static void	step_start(struct aim_invoke *, struct job *);

/* Move a job on until it runs a child, waits, or is finished. */
static void
advance(struct aim_invoke *iv, struct job *j)
{
	const char *cap;

	j->wake_ms = 0;
	if (j->step_next) {
		j->step_next = 0;
		step_start(iv, j);
		return;
	}
	for (;;) {
		if (iv->interrupted) {
			finish_interrupted(iv, j);
			return;
		}
		if (j->cur == NULL && !pick(iv, j)) {
			cap = job_capability(j);
			finish_job(iv, j, json_null(), aim_all_failed(cap ?
			    cap : "?", j->attempts));
			return;
		}
		if (try_start(iv, j) >= 0 || j->done)
			return;
	}
}

/* A candidate's child finished: judge it, then succeed or move on. */
static void
child_done(struct aim_invoke *iv, struct job *j)
{
	json_t *attempt, *output;
	char msg[64];
	int rc;

	j->running = 0;
	iv->running--;
	if (j->verifying) {
		j->verifying = 0;
		rc = verify_judge(iv, j, aim_verify_result(&j->proc,
		    verify_cmd(j)));
		aim_proc_free(&j->proc);
		if (rc == -1)
			advance(iv, j);
		return;
	}
	if (j->runs != NULL && !iv->interrupted) {
		if (declare_child_done(iv, j) == -1)
			advance(iv, j);
		return;
	}
	declare_clear(j);
	attempt = aim_adapter_attempt(&j->proc, j->tool_id, j->argv0, &output);
	aim_proc_free(&j->proc);
	if (iv->interrupted &&
	    !str_is(json_object_get(attempt, "outcome"), "success")) {
		snprintf(msg, sizeof(msg), "interrupted by %s",
		    aim_signame(iv->interrupted));
		json_object_set_new(attempt, "outcome",
		    json_string("interrupted"));
		json_object_set_new(attempt, "message", json_string(msg));
		json_array_append_new(j->attempts, attempt);
		json_decref(output);
		finish_interrupted(iv, j);
		return;
	}
	if (after_attempt(iv, j, attempt, output) == -1)
		advance(iv, j);
}

/*
 * --dry-run: what would run, in which order, with which limits; nothing
 * is started.  Adds "plan" [{tool_id, action: run|skip, ...}] to the record.
 */
static void
plan(struct aim_invoke *iv, struct job *j)
{
	json_t *steps = json_array(), *c, *step;
	size_t i;
	int64_t until, timeout_ms, deadline = int_member(json_object_get(
	    j->rec, "route"), "deadline_ms");
	char iso[32];

	if (deadline <= 0)
		deadline = iv->cfg->deadline_ms;

	json_array_foreach(j->cands, i, c) {
		step = json_pack("{s:O}", "tool_id", json_object_get(c,
		    "tool_id"));
		if (i > 0 && j->nofallback) {
			json_object_set_new(step, "action", json_string("skip"));
			json_object_set_new(step, "reason",
			    json_string("fallback_disabled"));
		} else if (!str_is(json_object_get(c, "status"), "ready")) {
			json_object_set_new(step, "action", json_string("skip"));
			json_object_set(step, "reason", json_object_get(c,
			    "status"));
			if (json_object_get(c, "reason") != NULL)
				json_object_set(step, "message",
				    json_object_get(c, "reason"));
		} else if ((until = cooling(iv, j, json_string_value(
		    json_object_get(c, "tool_id")))) != 0) {
			aim_iso_ms(until, iso);
			json_object_set_new(step, "action", json_string("skip"));
			json_object_set_new(step, "reason",
			    json_string("cooldown"));
			json_object_set_new(step, "until", json_string(iso));
		} else {
			timeout_ms = int_member(c, "timeout_ms");
			if (timeout_ms <= 0)
				timeout_ms = iv->cfg->timeout_ms;
			if (deadline > 0 && timeout_ms > deadline)
				timeout_ms = deadline;
			json_object_set_new(step, "action", json_string("run"));
			json_object_set(step, "argv", json_object_get(c,
			    "argv"));
			json_object_set_new(step, "timeout_ms",
			    json_integer(timeout_ms));
			json_object_set_new(step, "max_retries", json_integer(
			    int_member(c, "max_retries")));
			if (json_object_get(c, "max_concurrent") != NULL)
				json_object_set(step, "max_concurrent",
				    json_object_get(c, "max_concurrent"));
		}
		json_array_append_new(steps, step);
	}
	json_object_set_new(j->rec, "plan", steps);
	j->done = 1;
}

/* Why rec cannot run (a static message), or NULL when it can. */
static const char *
record_invalid(json_t *rec)
{
	json_t *route = json_object_get(rec, "route"), *c, *a, *x;
	const char *why = NULL;
	size_t i, k;

	if (route == NULL)
		return "no \"route\": pipe requests through aim-resolve first";
	if (!json_is_array(json_object_get(route, "candidates")))
		return "\"route.candidates\" must be an array";
	json_array_foreach(json_object_get(route, "candidates"), i, c) {
		if (!json_is_string(json_object_get(c, "tool_id")))
			why = "a candidate has no \"tool_id\"";
		if (!str_is(json_object_get(c, "status"), "ready"))
			continue;
		a = json_object_get(c, "argv");
		if (json_array_size(a) == 0)
			why = "a ready candidate has no \"argv\"";
		json_array_foreach(a, k, x)
			if (!json_is_string(x))
				why = "\"argv\" must hold strings";
	}
	return why;
}

/* Queue j, done or not, behind the others. */
static void
enqueue(struct aim_invoke *iv, struct job *j)
{
	iv->queue[(iv->qhead + iv->qlen++) % iv->qcap] = j;
}

/* A new job for rec (stolen), as read from source at lineno. */
static struct job *
job_new(json_t *rec, const char *source, long lineno)
{
	struct job *j = aim_xmalloc(sizeof(*j));

	memset(j, 0, sizeof(*j));
	aim_slot_init(&j->slot);
	j->rec = rec;
	j->source = source;
	j->lineno = lineno;
	return j;
}

/* An error record goes out as it is, said on stderr first. */
static void
job_bad(struct job *j)
{
	aim_redact_secrets(j->rec);
	warnx("%s:%ld: %s", j->source, j->lineno, json_string_value(
	    json_object_get(json_object_get(j->rec, "error"), "message")));
	j->done = 1;
}

/* Set j off through its candidates: planned, running or waiting. */
static void
job_run(struct aim_invoke *iv, struct job *j)
{
	json_t *route = json_object_get(j->rec, "route");

	j->cands = json_object_get(route, "candidates");
	j->nofallback = iv->opt.strict ||
	    json_is_false(json_object_get(route, "fallback"));
	if (iv->opt.dry_run) {
		plan(iv, j);
		return;
	}
	/* The route's deadline (aim-resolve layered it), else our config's. */
	if (int_member(route, "deadline_ms") > 0 || iv->cfg->deadline_ms > 0) {
		j->deadline_ms = aim_now_ms() + (int_member(route,
		    "deadline_ms") > 0 ? int_member(route, "deadline_ms") :
		    iv->cfg->deadline_ms);
		j->min_attempt_ms = json_is_integer(json_object_get(route,
		    "min_attempt_ms")) ? int_member(route, "min_attempt_ms") :
		    iv->cfg->min_attempt_ms;
	}
	j->attempts = json_array();
	json_object_set_new(j->rec, "attempts", j->attempts);
	if (!j->active && !j->sub) {
		j->active = 1;
		iv->active++;
	}
	advance(iv, j);
}

/* Add the strings of files not in set yet to set. */
static void
files_add(json_t *set, json_t *files)
{
	json_t *f, *g;
	size_t i, k;

	json_array_foreach(files, i, f) {
		json_array_foreach(set, k, g)
			if (json_equal(f, g))
				break;
		if (json_is_string(f) && k == json_array_size(set))
			json_array_append(set, f);
	}
}

/* The rules' security a workflow's steps keep (aim-resolve put it). */
static json_t *
steps_security(struct job *j)
{
	return json_object_get(json_object_get(j->wrec, "route"), "security");
}

/*
 * The record of step j->step of j->wrec: its capability, route and
 * prompt, the request's files and those the steps before changed.
 */
static json_t *
step_record(struct job *j)
{
	json_t *step = json_array_get(json_object_get(j->wrec, "steps"),
	    j->step), *payload, *files, *rec, *v;

	payload = json_deep_copy(json_object_get(j->wrec, "payload"));
	if ((v = json_object_get(step, "prompt")) != NULL)
		json_object_set(payload, "prompt", v);
	files = json_array();
	files_add(files, json_object_get(payload, "files"));
	files_add(files, j->changed);
	if (json_array_size(files) > 0)
		json_object_set(payload, "files", files);
	json_decref(files);
	rec = json_pack("{s:O*, s:O, s:o, s:O*, s:O}", "id", json_object_get(
	    j->wrec, "id"), "capability", json_object_get(step, "capability"),
	    "payload", payload, "actor", json_object_get(j->wrec, "actor"),
	    "route", json_object_get(step, "route"));
	if ((v = json_object_get(j->wrec, "cache")) != NULL)
		json_object_set(rec, "cache", v);
	return rec;
}

/*
 * Is the record of step j->step, its files the steps before handed on,
 * one aim-resolve would route: no more files than the rules'
 * security.max_file_count, no larger a payload than the limit?  0, or -1
 * with *code ("too_many_files", "payload_too_large") and a malloc'd
 * *message, aim-resolve's (aim-invoke(1) "Workflows").
 */
static int
step_over_limits(struct aim_invoke *iv, struct job *j, const char **code,
    char **message)
{
	json_t *count = json_pack("{s:O*}", "max_file_count",
	    json_object_get(steps_security(j), "max_file_count"));
	char buf[128];
	const char *why;
	int rc;

	rc = aim_security_check(json_object_get(j->rec, "payload"), count, "/",
	    NULL, code, message);
	json_decref(count);
	if (rc == -1)
		return -1;
	why = aim_request_invalid(j->rec, aim_payload_limit(steps_security(j),
	    iv->cfg), buf, sizeof(buf));
	if (why == NULL)
		return 0;
	*code = why == buf ? "payload_too_large" : "invalid_request";
	*message = aim_xstrdup(why);
	return -1;
}

/*
 * Step j->step fails unrun: its "error" {stage, code, message} and a
 * failed result with message; the record's failure names the step.
 */
static void
step_refuse(struct aim_invoke *iv, struct job *j, const char *code,
    char *message)
{
	json_t *step = json_array_get(json_object_get(j->wrec, "steps"),
	    j->step);

	json_object_set_new(step, "error", json_pack("{s:s, s:s, s:s}",
	    "stage", "invoke", "code", code, "message", message));
	j->attempts = json_array();
	json_object_set_new(j->rec, "attempts", j->attempts);
	if (!j->active && !j->sub) {
		j->active = 1;
		iv->active++;
	}
	finish_job(iv, j, json_null(), json_pack("{s:b, s:s, s:n}",
	    "success", 0, "message", message, "content"));
	free(message);
}

/* Run step j->step of j->wrec, as a record of its own would run. */
static void
step_start(struct aim_invoke *iv, struct job *j)
{
	const char *code;
	char *message;

	json_decref(j->rec);
	j->rec = step_record(j);
	j->next = j->depth = 0;
	j->cur = NULL;
	j->tries = 0;
	j->deadline_ms = 0;
	if (step_over_limits(iv, j, &code, &message) == -1)
		step_refuse(iv, j, code, message);
	else
		job_run(iv, j);
}

/*
 * The end of a workflow: j->wrec becomes the record, with "result"
 * {success: every step ran and each succeeded or may fail, message,
 * content: {files_modified: what the steps changed}, null on failure}
 * and "tool_id", the last tool that served a step (null on failure).
 */
static void
steps_end(struct aim_invoke *iv, struct job *j)
{
	json_t *steps = json_object_get(j->wrec, "steps"), *st, *tool = NULL;
	size_t i, ran = j->step, ok = 0;
	int success;
	char *msg;

	json_array_foreach(steps, i, st)
		if (i < ran && json_is_true(json_object_get(json_object_get(st,
		    "result"), "success"))) {
			ok++;
			tool = json_object_get(st, "tool_id");
		}
	success = !j->stopped && !iv->interrupted && ok > 0 &&
	    ran == json_array_size(steps);
	if (success)
		msg = aim_xsprintf("%zu of %zu steps succeeded", ok, ran);
	else
		msg = aim_xsprintf("step %zu (%s) failed: %s", ran - 1,
		    json_string_value(json_object_get(json_array_get(steps,
		    ran - 1), "capability")), json_string_value(
		    json_object_get(json_object_get(json_array_get(steps,
		    ran - 1), "result"), "message")));
	json_object_set_new(j->wrec, "tool_id", success ? json_incref(tool) :
	    json_null());
	/* A failure's content is null (aim-adapter(7)): the steps hold theirs. */
	json_object_set_new(j->wrec, "result", json_pack("{s:b, s:s%, s:o}",
	    "success", success, "message", msg, strlen(msg), "content",
	    success ? json_pack("{s:O}", "files_modified", j->changed) :
	    json_null()));
	free(msg);
	json_decref(j->rec);
	j->rec = j->wrec;
	j->wrec = NULL;
}

/*
 * Would aim-resolve refuse file f (borrowed) by the rules' security
 * (borrowed; its forbidden_paths and allowed_file_patterns, not the count:
 * that is the whole payload's)?  cwd is the working directory.
 */
static int
file_refused(struct job *j, json_t *security, json_t *f, const char *cwd)
{
	json_t *one = json_pack("{s:[O]}", "files", f), *sec;
	const char *code;
	char *msg;
	int rc;

	if (security == NULL)
		return 0;
	sec = json_copy(security);
	json_object_del(sec, "max_file_count");
	rc = aim_security_check(one, sec, cwd, job_registry(j), &code, &msg);
	free(msg);
	json_decref(sec);
	json_decref(one);
	return rc == -1;
}

/*
 * Add the files of a step's content (borrowed) to set, those that resolve
 * inside the working directory and that the rules' security allows; the
 * others, a tool's "../../etc/passwd" or an absolute path elsewhere, to
 * outside, and a ".env" the rules forbid to refused (aim-invoke(1)
 * "Workflows").
 */
static void
files_add_inside(struct job *j, json_t *files, json_t *outside,
    json_t *refused)
{
	json_t *inside = json_array(), *f;
	char *cwd = getcwd(NULL, 0);
	size_t i;

	json_array_foreach(files, i, f) {
		if (!json_is_string(f))
			continue;
		if (!aim_path_within(json_string_value(f), "."))
			json_array_append(outside, f);
		else if (file_refused(j, steps_security(j), f, cwd ? cwd : "/"))
			json_array_append(refused, f);
		else
			json_array_append(inside, f);
	}
	files_add(j->changed, inside);
	json_decref(inside);
	free(cwd);
}

/* "what: a, b", added to msg (malloc'd or NULL) after "; "; files borrowed. */
static char *
files_said(char *msg, const char *what, json_t *files)
{
	char *s;
	json_t *f;
	size_t i;

	json_array_foreach(files, i, f) {
		s = aim_xsprintf("%s%s%s%s", msg ? msg : "", msg ? (i ? ", " :
		    "; ") : "", i ? "" : what, json_string_value(f));
		free(msg);
		msg = s;
	}
	return msg;
}

/*
 * The step's "error" for the files it did not hand on (outside, refused:
 * borrowed), said on stderr as "source:line: steps[N]: ...".
 */
static void
step_dropped(struct job *j, json_t *step, json_t *outside, json_t *refused)
{
	json_t *all = json_copy(outside);
	char *msg;

	msg = files_said(NULL, "files outside the working directory not "
	    "handed on: ", outside);
	msg = files_said(msg, "files the rules' security refuses not handed "
	    "on: ", refused);
	json_array_extend(all, refused);
	warnx("%s:%ld: steps[%zu]: %s", j->source, j->lineno, j->step, msg);
	json_object_set_new(step, "error", json_pack("{s:s, s:s, s:s, s:o}",
	    "stage", "invoke", "code", "forbidden_path", "message", msg,
	    "files", all));
	free(msg);
}

/*
 * Step j->step ended (j->rec has its result): its tool, attempts and
 * result go into the step, its attempts, marked with "step", into the
 * record's, the files it changed to the next steps.  1 when the next
 * step is to run; else the workflow ends (0).
 */
static int
step_end(struct aim_invoke *iv, struct job *j)
{
	json_t *step = json_array_get(json_object_get(j->wrec, "steps"),
	    j->step), *res = json_object_get(j->rec, "result"), *a, *content;
	json_t *outside, *refused;
	size_t i;

	json_object_set(step, "tool_id", json_object_get(j->rec, "tool_id"));
	json_object_set(step, "attempts", j->attempts);
	json_object_set(step, "result", res);
	json_array_foreach(j->attempts, i, a) {
		a = json_copy(a);
		json_object_set_new(a, "step", json_integer(j->step));
		json_array_append_new(json_object_get(j->wrec, "attempts"), a);
	}
	content = json_object_get(res, "content");
	outside = json_array();
	refused = json_array();
	files_add_inside(j, json_object_get(content, "files_modified"),
	    outside, refused);
	files_add_inside(j, json_object_get(content, "files_created"),
	    outside, refused);
	if (json_array_size(outside) + json_array_size(refused) > 0)
		step_dropped(j, step, outside, refused);
	json_decref(outside);
	json_decref(refused);
	if (!json_is_true(json_object_get(res, "success")) &&
	    !json_is_true(json_object_get(step, "continue_on_failure")))
		j->stopped = 1;
	j->step++;
	if (!j->stopped && !iv->interrupted &&
	    j->step < json_array_size(json_object_get(j->wrec, "steps")))
		return 1;
	steps_end(iv, j);
	return 0;
}

/*
 * --dry-run of a request of steps: each step gets the plan of its route;
 * the record's own "plan" is empty (no candidates of its own).
 */
static void
plan_steps(struct aim_invoke *iv, struct job *j)
{
	json_t *rec = j->rec, *st;
	size_t i;

	json_array_foreach(json_object_get(rec, "steps"), i, st) {
		j->rec = st;
		j->cands = json_object_get(json_object_get(st, "route"),
		    "candidates");
		j->nofallback = iv->opt.strict || json_is_false(
		    json_object_get(json_object_get(st, "route"), "fallback"));
		plan(iv, j);
	}
	j->rec = rec;
	json_object_set_new(rec, "plan", json_array());
}

/* Set j off: a request of steps (aim-resolve(1) "Workflows") by its first. */
static void
job_start(struct aim_invoke *iv, struct job *j)
{
	if (!str_is(json_object_get(json_object_get(j->rec, "route"),
	    "strategy"), "steps")) {
		job_run(iv, j);
		return;
	}
	if (iv->opt.dry_run) {
		plan_steps(iv, j);
		return;
	}
	j->wrec = j->rec;
	j->rec = NULL;
	j->changed = json_array();
	json_object_set_new(j->wrec, "attempts", json_array());
	step_start(iv, j);
}

void
aim_invoke_add(struct aim_invoke *iv, json_t *rec, const char *source,
    long lineno)
{
	struct job *j = job_new(rec, source, lineno);
	const char *why;

	enqueue(iv, j);
	/* Error records and finished results flow on untouched. */
	if (json_object_get(rec, "error") != NULL ||
	    json_object_get(rec, "result") != NULL) {
		j->done = 1;
		return;
	}
	if ((why = record_invalid(rec)) != NULL) {
		aim_error_record(rec, "invoke", "invalid_record", lineno, "%s",
		    why);
		job_bad(j);
		return;
	}
	job_start(iv, j);
}

/* The longest record line read whole (aim-invoke(1) "Errors"). */
size_t
aim_invoke_line_max(const struct aim_config *cfg)
{
	return (size_t)cfg->max_payload_bytes * 4 + 1048576;
}

void
aim_invoke_line(struct aim_invoke *iv, const struct aim_line *line,
    const char *source)
{
	struct job *j;
	json_t *rec;
	char buf[256];
	int is_error;

	if (line->too_long) {
		snprintf(buf, sizeof(buf), "record is longer than %zu bytes",
		    aim_invoke_line_max(iv->cfg));
		rec = aim_bad_line_record(line, "invoke", "invalid_record",
		    buf);
	} else {
		rec = aim_parse_record(line, "invoke", "a record",
		    "invalid_record", &is_error);
		if (!is_error) {
			aim_invoke_add(iv, rec, source, line->lineno);
			return;
		}
	}
	j = job_new(rec, source, line->lineno);
	enqueue(iv, j);
	job_bad(j);
}

/* Hand j's record over to the caller, and free j. */
static void
emit_job(struct aim_invoke *iv, struct job *j)
{
	json_t *r = json_object_get(j->rec, "result");
	int failed;

	failed = json_object_get(j->rec, "error") != NULL ||
	    (!json_is_true(json_object_get(r, "success")) &&
	    json_object_get(j->rec, "plan") == NULL);
	if (failed)
		aim_exit_raise(&iv->status, AIM_EXIT_FAILED);
	/* An adapter may echo its secrets: they never reach the caller. */
	aim_redact_secrets(j->rec);
	iv->opt.done(iv->opt.arg, j->rec, j->source, j->lineno);
	job_free(j);
}

void
aim_invoke_flush(struct aim_invoke *iv)
{
	size_t i, k;
	struct job *j;

	if (!iv->opt.unordered) {
		while (iv->qlen > 0 && iv->queue[iv->qhead]->done) {
			j = iv->queue[iv->qhead];
			iv->qhead = (iv->qhead + 1) % iv->qcap;
			iv->qlen--;
			emit_job(iv, j);
		}
		return;
	}
	for (i = 0, k = 0; i < iv->qlen; i++) {
		j = iv->queue[(iv->qhead + i) % iv->qcap];
		if (j->done)
			emit_job(iv, j);
		else
			iv->queue[(iv->qhead + k++) % iv->qcap] = j;
	}
	iv->qlen = k;
}

/* The job of j at work now: its check's, while one routed through aim runs. */
static struct job *
live(struct job *j)
{
	return j->vjob != NULL ? j->vjob : j;
}

void
aim_invoke_interrupt(struct aim_invoke *iv, int sig)
{
	size_t i;
	struct job *j;

	if (iv->interrupted)
		return;
	iv->interrupted = sig;
	for (i = 0; i < iv->qlen; i++) {
		j = live(iv->queue[(iv->qhead + i) % iv->qcap]);
		if (j->running)
			aim_proc_cancel(&j->proc);
	}
}

int
aim_invoke_interrupted(const struct aim_invoke *iv)
{
	return iv->interrupted;
}

int
aim_invoke_room(const struct aim_invoke *iv)
{
	return !iv->interrupted && iv->qlen < iv->qcap &&
	    iv->active < iv->opt.jobs;
}

size_t
aim_invoke_pending(const struct aim_invoke *iv)
{
	return iv->qlen;
}

int
aim_invoke_exit(const struct aim_invoke *iv, int status)
{
	if (iv->interrupted && iv->interrupted != SIGPIPE)
		return AIM_EXIT_SIGNAL + iv->interrupted;
	aim_exit_raise(&status, iv->status);
	return status;
}

int
aim_invoke_poll(struct aim_invoke *iv, struct pollfd *extra, size_t nextra,
    int max_wait_ms)
{
	size_t i, n;
	int64_t wake = -1, wait_ms = max_wait_ms;
	struct job *j;

	for (i = 0, n = 0; i < iv->qlen; i++) {
		j = live(iv->queue[(iv->qhead + i) % iv->qcap]);
		/* A running attempt's lease is renewed in time. */
		if (j->running && j->slot.key != NULL &&
		    (wake == -1 || j->slot.renew_ms < wake))
			wake = j->slot.renew_ms;
		if (j->running)
			iv->procs[n++] = &j->proc;
		else if (j->wake_ms != 0 && (wake == -1 || j->wake_ms < wake))
			wake = j->wake_ms;
	}
	if (wake != -1) {
		wake -= aim_now_ms();
		wake = wake < 0 ? 0 : wake > INT_MAX ? INT_MAX : wake;
		if (wait_ms < 0 || wake < wait_ms)
			wait_ms = wake;
	}
	return aim_proc_wait(iv->procs, n, extra, nextra, (int)wait_ms);
}

void
aim_invoke_step(struct aim_invoke *iv)
{
	int64_t now = aim_now_ms();
	struct job *j;
	size_t i;

	for (i = 0; i < iv->qlen; i++) {
		j = iv->queue[(iv->qhead + i) % iv->qcap];
		if (live(j)->running)
			aim_slot_renew(&live(j)->slot, now);
		if (j->vjob != NULL)
			verify_sub_step(iv, j, now);
		else if (j->running && j->proc.state == AIM_PROC_DONE)
			child_done(iv, j);
		else if (!j->running && !j->done && (iv->interrupted ||
		    (j->wake_ms != 0 && j->wake_ms <= now)))
			advance(iv, j);
	}
}

void
aim_invoke_each_running(const struct aim_invoke *iv,
    void (*fn)(void *arg, json_t *rec, const char *tool_id,
    int64_t started_ms), void *arg)
{
	struct job *j;
	size_t i;

	for (i = 0; i < iv->qlen; i++) {
		j = live(iv->queue[(iv->qhead + i) % iv->qcap]);
		if (j->running)
			fn(arg, j->rec, j->tool_id, j->started_ms);
	}
}

struct aim_invoke *
aim_invoke_new(const struct aim_config *cfg, const struct aim_invoke_opts *opt)
{
	struct aim_invoke *iv = aim_xmalloc(sizeof(*iv));
	const char *no_cache;
	char *why = NULL;

	memset(iv, 0, sizeof(*iv));
	iv->cfg = cfg;
	iv->opt = *opt;
	if (iv->opt.jobs < 1)
		iv->opt.jobs = 1;
	/* Room for finished records waiting behind a slow one. */
	iv->qcap = iv->opt.jobs * 4 + 16;
	iv->queue = aim_xmalloc(iv->qcap * sizeof(*iv->queue));
	iv->procs = aim_xmalloc(iv->qcap * sizeof(*iv->procs));
	iv->said = json_object();
	iv->state_ok = aim_state_open(&iv->state, cfg, &why) == 0;
	state_warn(iv, why);
	no_cache = getenv("AIM_NO_CACHE");
	aim_rcache_init(&iv->rcache, cfg->cache_max_bytes, opt->no_cache ||
	    (no_cache != NULL && *no_cache != '\0' &&
	    strcmp(no_cache, "0") != 0));
	return iv;
}

void
aim_invoke_free(struct aim_invoke *iv)
{
	size_t i;

	if (iv == NULL)
		return;
	for (i = 0; i < iv->qlen; i++)
		job_free(iv->queue[(iv->qhead + i) % iv->qcap]);
	free(iv->queue);
	free(iv->procs);
	for (i = 0; i < iv->npcache; i++) {
		free(iv->pcache[i].registry);
		aim_patterns_free(iv->pcache[i].p);
	}
	free(iv->pcache);
	if (iv->vault_state != 0)
		aim_vault_close(&iv->vault);
	free(iv->vault_why);
	aim_state_free(&iv->state);
	aim_rcache_close(&iv->rcache);
	json_decref(iv->said);
	free(iv);
}
