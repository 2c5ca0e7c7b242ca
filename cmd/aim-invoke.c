/*
 * aim-invoke: routed records in, result records out.  Runs each record's
 * ready candidates in order until one succeeds (seed 002 §4), up to -j
 * records at once, all children served by one poll loop.
 */
#include <sys/resource.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "aim.h"

#define JOBS_MAX	1024

static const char *progname = "aim-invoke";

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: %s [-nsu] [-c config] [-j jobs] [-r registry] [file ...]\n",
	    progname);
	if (status == 0)
		printf("  -c, --config=config      read the configuration from "
		    "config\n"
		    "  -h, --help               print this help and exit\n"
		    "  -j, --jobs=jobs          work on up to jobs records at "
		    "once (1 to %d)\n"
		    "  -n, --dry-run            print the plan, run nothing\n"
		    "  -r, --registry=registry  take aim_config.json from "
		    "registry\n"
		    "  -s, --strict             no fallback: the first "
		    "candidate only\n"
		    "  -u, --unordered          write records as they finish\n"
		    "  -V, --version            print the version and exit\n"
		    "See aim-invoke(1).\n", JOBS_MAX);
	exit(status);
}

/* How often a request queued for a busy tool looks for a free slot. */
#define SLOT_POLL_MS	50
/* The kill grace of an attempt the deadline cuts short: SIGKILL this soon. */
#define DEADLINE_GRACE_MS	50
/* Descriptors a running adapter holds: three pipe ends and a slot lock. */
#define FDS_PER_CHILD	4
/*
 * Descriptors kept free besides those open at start: an input file, the
 * state file, the vault, the signal and child pipes, the three pipes of
 * a spawn under way, stdio's own.
 */
#define FDS_SPARE	32

/* One input record on its way through its candidates. */
struct job {
	json_t	*rec;		/* owned; gains tool_id, attempts, result */
	json_t	*attempts;	/* borrowed from rec */
	json_t	*cands;		/* borrowed from rec.route */
	size_t	 next;		/* next candidate to consider */
	json_t	*cur;		/* the candidate being tried, or NULL */
	size_t	 depth;		/* its index in cands */
	int	 tries;		/* attempts of cur so far */
	const char *tool_id;	/* of the current candidate */
	const char *argv0;
	int64_t	 deadline_ms;	/* monotonic end of the request, 0: none */
	int64_t	 min_attempt_ms;
	int64_t	 wake_ms;	/* waiting (back-off, a slot) until then */
	int64_t	 slot_since;	/* queued for a slot since then */
	int	 slot_fd;	/* the concurrency slot held, or -1 */
	int	 nofallback;	/* --strict or the rule's fallback: false */
	struct aim_proc proc;
	char	*input, **env;
	char	**argv;		/* its strings are borrowed from rec */
	int	 running, done, active;
	const char *source;	/* the input's name, for stderr */
	long	 lineno;		/* its line there */
};

struct invoke {
	struct aim_config cfg;
	struct job **queue;	/* input order; a ring of qcap */
	size_t	 qhead, qlen, qcap;
	size_t	 jobs, active;	/* -j, and records under way */
	size_t	 running;	/* adapters running now */
	int	 unordered, strict, dry_run;
	int	 status;
	int	 interrupted;	/* the signal, once one came */
	struct aim_vault vault;	/* opened at the first candidate needing it */
	int	 vault_state;	/* 0 not tried, 1 open, -1 unusable */
	char	*vault_why;	/* why it is unusable */
	struct aim_state state;	/* cooldowns shared with other processes */
	int	 state_ok;
	json_t	*said;		/* state problems said already */
};

static int sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	int saved = errno;

	got_signal = sig;
	(void)write(sig_pipe[1], "", 1);
	errno = saved;
}

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

static void
job_free(struct job *j)
{
	json_decref(j->rec);
	free(j->input);
	aim_strv_free(j->env);
	free(j->argv);
	if (j->slot_fd != -1)
		close(j->slot_fd);
	free(j);
}

static void
finish_job(struct invoke *iv, struct job *j, json_t *tool_id, json_t *result)
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
	if (j->slot_fd != -1) {
		close(j->slot_fd);
		j->slot_fd = -1;
	}
	j->cur = NULL;
	j->wake_ms = 0;
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

/* Say a state problem once; the request goes on without the state. */
static void
state_warn(struct invoke *iv, char *why)
{
	aim_warn_once(iv->said, why);
}

/* The shared state, up to date, or NULL when it cannot be used. */
static struct aim_state *
state(struct invoke *iv)
{
	return iv->state_ok ? aim_state_current(&iv->state, iv->said) : NULL;
}

/*
 * Tell the circuit breaker how an attempt of tool_id went (issue 6).
 * Returns the cooldown end (wall ms) when this failure opened or extended
 * one, else 0.
 */
static int64_t
record_outcome(struct invoke *iv, struct job *j, const char *tool_id,
    const char *cls)
{
	const char *reg = job_registry(j);
	struct aim_state *st;
	char *why = NULL;
	int64_t until = 0;
	int changed = 1;

	if ((st = state(iv)) == NULL)
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
		    &iv->cfg.cooldown);
	if (aim_state_unlock(st, changed, &why) == -1)
		state_warn(iv, why);
	return until;
}

/*
 * Open the vault once per run, with the key file of $AIM_VAULT_KEYFILE
 * (issue 4); every value it holds is handed to the redaction.
 */
static int
vault_ready(struct invoke *iv)
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
inject_secrets(struct invoke *iv, char ***env, json_t *secrets)
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
cooling(struct invoke *iv, struct job *j, const char *tool_id)
{
	struct aim_state *st = state(iv);

	return st == NULL ? 0 : aim_state_cooldown(st, job_registry(j),
	    tool_id, aim_wall_ms(), NULL);
}

/*
 * Take the next candidate worth trying as j->cur, recording the others as
 * skipped.  0 when the chain is exhausted.
 */
static int
pick(struct invoke *iv, struct job *j)
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
		j->cur = c;
		j->depth = j->next - 1;
		j->tries = 0;
		j->slot_since = 0;
		return 1;
	}
	return 0;
}

/* The error patterns of each registry met, loaded once (p NULL: none). */
static struct registry_patterns {
	char	*registry;
	struct aim_patterns *p;
} *pcache;
static size_t npcache;

static void
pcache_free(void)
{
	size_t i;

	for (i = 0; i < npcache; i++) {
		free(pcache[i].registry);
		aim_patterns_free(pcache[i].p);
	}
	free(pcache);
}

/*
 * The error patterns of registry, AIM_adapters/error-patterns there, or
 * NULL when it has none; a file that cannot be read or has a bad line is
 * said once and taken as none.
 */
static const struct aim_patterns *
registry_patterns(struct invoke *iv, const char *registry)
{
	struct aim_patterns *p;
	char *path, *why = NULL;
	size_t i;

	if (registry == NULL)
		return NULL;
	for (i = 0; i < npcache; i++)
		if (strcmp(pcache[i].registry, registry) == 0)
			return pcache[i].p;
	if (npcache == 0)
		atexit(pcache_free);
	path = aim_xsprintf("%s/AIM_adapters/error-patterns", registry);
	p = aim_patterns_load(path, &why);
	if (p == NULL && errno != ENOENT && errno != ENOTDIR)
		aim_warn_once(iv->said, aim_xsprintf("%s; error patterns "
		    "ignored", why));
	free(why);
	free(path);
	pcache = aim_xrealloc(pcache, (npcache + 1) * sizeof(*pcache));
	pcache[npcache].registry = aim_xstrdup(registry);
	pcache[npcache++].p = p;
	return p;
}

/*
 * A failure its adapter gave no class: the class the error patterns of
 * the record's registry give its message, else its stderr, with where it
 * came from (aim-adapter(7) ERROR PATTERNS); else it stays unclassified.
 * Returns the class (borrowed from attempt).
 */
static const char *
classify_texts(struct invoke *iv, struct job *j, json_t *attempt)
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
 * Judge a finished attempt of j->cur: success ends the job (1); a failure
 * worth retrying schedules the retry (0: waiting); else the chain moves on
 * (-1).  Steals attempt and output.
 */
static int
after_attempt(struct invoke *iv, struct job *j, json_t *attempt,
    json_t *output)
{
	const char *cls;
	json_t *content;
	int64_t wait, ra, now, until, max_retries;
	char iso[32];

	if (j->slot_fd != -1) {
		close(j->slot_fd);
		j->slot_fd = -1;
	}
	cls = aim_attempt_classify(attempt, output);
	if (cls != NULL && strcmp(cls, "unclassified") == 0)
		cls = classify_texts(iv, j, attempt);
	if (j->tries > 0)
		json_object_set_new(attempt, "retry", json_integer(j->tries));
	j->tries++;
	until = record_outcome(iv, j, j->tool_id, cls);
	if (output != NULL && json_is_true(json_object_get(output, "success"))) {
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
	wait = aim_backoff_ms(j->tries - 1, iv->cfg.retry_base_ms,
	    iv->cfg.retry_max_ms);
	ra = int_member(attempt, "retry_after_ms");
	if (ra > iv->cfg.retry_after_max_ms)
		ra = iv->cfg.retry_after_max_ms;
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
	if (j->slot_fd != -1) {
		close(j->slot_fd);
		j->slot_fd = -1;
	}
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
recheck_cooldown(struct invoke *iv, struct job *j)
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
slot_take(struct invoke *iv, struct job *j, int64_t now, int64_t timeout_ms)
{
	int64_t max = int_member(j->cur, "max_concurrent"), give_up_ms;
	char *why = NULL;
	int rc;

	if (max <= 0 || j->slot_fd != -1)
		return 1;
	rc = aim_slot_acquire(job_registry(j), j->tool_id, max, &j->slot_fd,
	    &why);
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
env_build(struct invoke *iv, struct job *j, int64_t timeout_ms)
{
	json_t *route = json_object_get(j->rec, "route");
	const char *cap;
	char *missing;

	cap = json_string_value(json_object_get(route, "capability"));
	if (cap == NULL)
		cap = json_string_value(json_object_get(j->rec, "capability"));
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
 * Run j->argv with j->env and the adapter's input: 1 running.  Out of
 * descriptors while children run, it waits for one to end (0, the slot
 * given back); any other failure is judged as an attempt by after_attempt.
 */
static int
attempt_spawn(struct invoke *iv, struct job *j, int64_t now,
    const struct aim_proc_limits *lim)
{
	json_t *attempt, *output;
	size_t input_len;
	int rc;

	free(j->input);
	j->input = aim_adapter_input(j->rec, lim->timeout_ms, &input_len);
	rc = aim_proc_spawn(&j->proc, j->argv, j->env, j->input, input_len,
	    lim);
	/* The child has its copy: secrets leave our memory now. */
	aim_strv_free(j->env);
	j->env = NULL;
	if (rc == 0) {
		j->running = 1;
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
 * Start an attempt of j->cur: 1 running, 0 waiting (for a slot), -1 when
 * it could not start and the job must move on (the attempt is recorded).
 */
static int
try_start(struct invoke *iv, struct job *j)
{
	struct aim_proc_limits lim;
	int64_t now = aim_now_ms();
	int rc;

	j->tool_id = json_string_value(json_object_get(j->cur, "tool_id"));
	lim.timeout_ms = int_member(j->cur, "timeout_ms");
	if (lim.timeout_ms <= 0)
		lim.timeout_ms = iv->cfg.timeout_ms;
	lim.kill_grace_ms = iv->cfg.kill_grace_ms;
	lim.max_stdout_bytes = iv->cfg.max_output_bytes;
	lim.stderr_tail_bytes = iv->cfg.stderr_tail_bytes;

	if ((rc = recheck_cooldown(iv, j)) != 1 ||
	    (rc = clip_to_deadline(j, now, &lim)) != 1 ||
	    (rc = slot_take(iv, j, now, lim.timeout_ms)) != 1)
		return rc;
	argv_build(j);
	if ((rc = env_build(iv, j, lim.timeout_ms)) != 1)
		return rc;
	return attempt_spawn(iv, j, now, &lim);
}

/* The result of a request cut short by a signal. */
static void
finish_interrupted(struct invoke *iv, struct job *j)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "interrupted by %s",
	    aim_signame(iv->interrupted));
	finish_job(iv, j, json_null(), json_pack("{s:b, s:s, s:n}",
	    "success", 0, "message", msg, "content"));
}

/* Move a job on until it runs a child, waits, or is finished. */
static void
advance(struct invoke *iv, struct job *j)
{
	const char *cap;

	j->wake_ms = 0;
	for (;;) {
		if (iv->interrupted) {
			finish_interrupted(iv, j);
			return;
		}
		if (j->cur == NULL && !pick(iv, j)) {
			cap = json_string_value(json_object_get(json_object_get(
			    j->rec, "route"), "capability"));
			if (cap == NULL)
				cap = json_string_value(json_object_get(j->rec,
				    "capability"));
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
child_done(struct invoke *iv, struct job *j)
{
	json_t *attempt, *output;
	char msg[64];

	j->running = 0;
	iv->running--;
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
plan(struct invoke *iv, struct job *j)
{
	json_t *steps = json_array(), *c, *step;
	size_t i;
	int64_t until, timeout_ms, deadline = int_member(json_object_get(
	    j->rec, "route"), "deadline_ms");
	char iso[32];

	if (deadline <= 0)
		deadline = iv->cfg.deadline_ms;

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
				timeout_ms = iv->cfg.timeout_ms;
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

/* What to do with one input line: a job, running or already done. */
static struct job *
new_job(struct invoke *iv, const struct aim_line *line, const char *source)
{
	struct job *j;
	json_t *rec, *route;
	char buf[256];
	const char *why = NULL;
	int is_error;

	j = aim_xmalloc(sizeof(*j));
	memset(j, 0, sizeof(*j));
	j->slot_fd = -1;
	j->source = source;
	j->lineno = line->lineno;
	if (line->too_long) {
		snprintf(buf, sizeof(buf), "record is longer than %zu bytes",
		    (size_t)iv->cfg.max_payload_bytes * 4 + 1048576);
		j->rec = aim_bad_line_record(line, "invoke", "invalid_record",
		    buf);
		goto bad;
	}
	rec = aim_parse_record(line, "invoke", "a record", "invalid_record",
	    &is_error);
	if (is_error) {
		j->rec = rec;
		goto bad;
	}
	j->rec = rec;
	/* Error records and finished results flow on untouched. */
	if (json_object_get(rec, "error") != NULL ||
	    json_object_get(rec, "result") != NULL) {
		j->done = 1;
		return j;
	}
	route = json_object_get(rec, "route");
	if (route == NULL)
		why = "no \"route\": pipe requests through aim-resolve first";
	else if (!json_is_array(json_object_get(route, "candidates")))
		why = "\"route.candidates\" must be an array";
	else {
		size_t i, k;
		json_t *c, *a, *x;

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
	}
	if (why != NULL) {
		aim_error_record(rec, "invoke", "invalid_record", line->lineno,
		    "%s", why);
		goto bad;
	}
	j->cands = json_object_get(route, "candidates");
	j->nofallback = iv->strict ||
	    json_is_false(json_object_get(route, "fallback"));
	if (iv->dry_run) {
		plan(iv, j);
		return j;
	}
	/* The route's deadline (aim-resolve layered it), else our config's. */
	if (int_member(route, "deadline_ms") > 0 || iv->cfg.deadline_ms > 0) {
		j->deadline_ms = aim_now_ms() + (int_member(route,
		    "deadline_ms") > 0 ? int_member(route, "deadline_ms") :
		    iv->cfg.deadline_ms);
		j->min_attempt_ms = json_is_integer(json_object_get(route,
		    "min_attempt_ms")) ? int_member(route, "min_attempt_ms") :
		    iv->cfg.min_attempt_ms;
	}
	j->attempts = json_array();
	json_object_set_new(rec, "attempts", j->attempts);
	j->active = 1;
	iv->active++;
	advance(iv, j);
	return j;
bad:
	aim_redact_secrets(j->rec);
	warnx("%s:%ld: %s", source, line->lineno, json_string_value(
	    json_object_get(json_object_get(j->rec, "error"), "message")));
	j->done = 1;
	return j;
}

/*
 * Say why a record that ran failed, on one line (aim-invoke(1)
 * DIAGNOSTICS): "source:line: id: message", control characters of the
 * adapters' messages made spaces.
 */
static void
say_failed(struct job *j)
{
	const char *id = json_string_value(json_object_get(j->rec, "id"));
	const char *msg = json_string_value(json_object_get(json_object_get(
	    j->rec, "result"), "message"));
	char *m, *p;

	m = aim_xstrdup(msg != NULL ? msg : "failed");
	for (p = m; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (id != NULL)
		warnx("%s:%ld: %s: %s", j->source, j->lineno, id, m);
	else
		warnx("%s:%ld: %s", j->source, j->lineno, m);
	free(m);
}

static void
emit_job(struct invoke *iv, struct job *j)
{
	json_t *r = json_object_get(j->rec, "result");

	if (json_object_get(j->rec, "error") != NULL ||
	    (!json_is_true(json_object_get(r, "success")) &&
	    json_object_get(j->rec, "plan") == NULL))
		aim_exit_raise(&iv->status, AIM_EXIT_FAILED);
	/* An adapter may echo its secrets: they never reach our output. */
	aim_redact_secrets(j->rec);
	/* Nobody reads us any more: no line per record cut short. */
	if (j->attempts != NULL && !json_is_true(json_object_get(r, "success"))
	    && iv->interrupted != SIGPIPE)
		say_failed(j);
	if (aim_emit(stdout, j->rec) == -1)
		aim_exit_raise(&iv->status, AIM_EXIT_IO);
	job_free(j);
}

/* Write what is finished: the done head in order, or anything with -u. */
static void
emit_done(struct invoke *iv)
{
	size_t i, k;
	struct job *j;

	if (!iv->unordered) {
		while (iv->qlen > 0 && iv->queue[iv->qhead]->done) {
			emit_job(iv, iv->queue[iv->qhead]);
			iv->qhead = (iv->qhead + 1) % iv->qcap;
			iv->qlen--;
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

static void
interrupt(struct invoke *iv)
{
	size_t i;

	iv->interrupted = got_signal;
	for (i = 0; i < iv->qlen; i++) {
		struct job *j = iv->queue[(iv->qhead + i) % iv->qcap];

		if (j->running)
			aim_proc_cancel(&j->proc);
	}
}

/* The record stream: the operands (or stdin) one after the other. */
struct input {
	char	**files;
	int	 nfiles, fi;
	int	 fd;		/* the file being read, or -1 */
	int	 done;		/* every file read */
	struct aim_lines r;
	const char *source;	/* its name in messages */
};

/* Stop reading the current file. */
static void
input_close(struct input *in)
{
	if (in->fd == -1)
		return;
	aim_lines_free(&in->r);
	if (in->fd != STDIN_FILENO)
		close(in->fd);
	in->fd = -1;
}

/*
 * Take in records while there is room.  Not aim_each_line: that loop
 * blocks in read(2) and owns the whole stream, while this one takes lines
 * only as the queue has room, between polls that also serve the children
 * and signals.  Returns when the queue is full, the input is done, or the
 * current file has no whole line yet.
 */
static void
input_take(struct invoke *iv, struct input *in)
{
	struct aim_line line;

	while (!in->done && !iv->interrupted && iv->qlen < iv->qcap &&
	    iv->active < iv->jobs) {
		if (in->fd == -1) {
			if (in->fi == in->nfiles) {
				in->done = 1;
				break;
			}
			in->source = aim_input_name(in->files[in->fi]);
			if ((in->fd = aim_open_input(in->files[in->fi++])) ==
			    -1) {
				warn("can't open %s", in->files[in->fi - 1]);
				aim_exit_raise(&iv->status, AIM_EXIT_IO);
				continue;
			}
			aim_lines_init(&in->r, in->fd,
			    iv->cfg.max_payload_bytes * 4 + 1048576);
		}
		if (aim_lines_get(&in->r, &line)) {
			if (aim_line_blank(&line))
				continue;
			iv->queue[(iv->qhead + iv->qlen++) % iv->qcap] =
			    new_job(iv, &line, in->source);
			continue;
		}
		if (in->r.eof || in->r.err) {
			if (in->r.err) {
				warnx("%s: read error: %s", in->source,
				    strerror(in->r.err));
				aim_exit_raise(&iv->status, AIM_EXIT_IO);
			}
			input_close(in);
			continue;
		}
		break;	/* wait for more input */
	}
}

/*
 * Wait for a child, a signal, more input (when there is room for it) or
 * the first back-off or slot wait to end, whichever comes first; then
 * move each job on that can.
 */
static void
wait_and_step(struct invoke *iv, struct input *in, struct aim_proc **procs)
{
	struct pollfd extra[2];
	size_t i, n, nextra = 0;
	int64_t wake = -1, wait_ms = -1, now;
	char drain[64];

	extra[nextra++] = (struct pollfd){ sig_pipe[0], POLLIN, 0 };
	if (in->fd != -1 && !iv->interrupted && iv->qlen < iv->qcap &&
	    iv->active < iv->jobs)
		extra[nextra++] = (struct pollfd){ in->fd, POLLIN, 0 };
	for (i = 0, n = 0; i < iv->qlen; i++) {
		struct job *j = iv->queue[(iv->qhead + i) % iv->qcap];

		if (j->running)
			procs[n++] = &j->proc;
		else if (j->wake_ms != 0 && (wake == -1 || j->wake_ms < wake))
			wake = j->wake_ms;
	}
	if (wake != -1) {
		wait_ms = wake - aim_now_ms();
		wait_ms = wait_ms < 0 ? 0 : wait_ms > INT_MAX ? INT_MAX :
		    wait_ms;
	}
	if (aim_proc_wait(procs, n, extra, nextra, (int)wait_ms) == -1)
		err(AIM_EXIT_IO, "poll");
	if (extra[0].revents) {
		while (read(sig_pipe[0], drain, sizeof(drain)) > 0)
			;
		if (got_signal && !iv->interrupted)
			interrupt(iv);
	}
	if (nextra > 1 && extra[1].revents)
		aim_lines_fill(&in->r);
	now = aim_now_ms();
	for (i = 0; i < iv->qlen; i++) {
		struct job *j = iv->queue[(iv->qhead + i) % iv->qcap];

		if (j->running && j->proc.state == AIM_PROC_DONE)
			child_done(iv, j);
		else if (!j->running && !j->done && (iv->interrupted ||
		    (j->wake_ms != 0 && j->wake_ms <= now)))
			advance(iv, j);
	}
}

/* The records of files (none: stdin), through to their results, in order. */
static void
run(struct invoke *iv, char **files, int nfiles)
{
	static char *std_input[] = { "-" };
	struct input in;
	struct aim_proc **procs;

	memset(&in, 0, sizeof(in));
	in.files = nfiles > 0 ? files : std_input;
	in.nfiles = nfiles > 0 ? nfiles : 1;
	in.fd = -1;
	in.source = "<stdin>";
	procs = aim_xmalloc(iv->qcap * sizeof(*procs));
	for (;;) {
		input_take(iv, &in);
		emit_done(iv);
		if (ferror(stdout) && !iv->interrupted) {
			/* Nobody reads us any more: stop cleanly. */
			got_signal = SIGPIPE;
			interrupt(iv);
		}
		if ((in.done || iv->interrupted) && iv->qlen == 0)
			break;
		wait_and_step(iv, &in, procs);
	}
	input_close(&in);
	free(procs);
}

/* How many descriptors are open now; FDS_SPARE when it cannot tell. */
static size_t
fds_open(void)
{
	DIR *d;
	struct dirent *e;
	size_t n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return FDS_SPARE;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0;	/* not the directory's own */
}

/*
 * -j as the descriptors allow (aim-invoke(1) -j): the soft RLIMIT_NOFILE
 * raised to the hard one, then no more adapters at once than
 * FDS_PER_CHILD each leaves room for, at least one.
 */
static size_t
jobs_fds_allow(size_t jobs)
{
	struct rlimit rl;
	rlim_t want;
	size_t used, room;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return jobs;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rl.rlim_max) {
		want = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			rl.rlim_cur = want;
	}
	if (rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= (rlim_t)(jobs * FDS_PER_CHILD) + 4096)
		return jobs;
	used = fds_open() + FDS_SPARE;
	room = rl.rlim_cur > used ? (rl.rlim_cur - used) / FDS_PER_CHILD : 0;
	return room < 1 ? 1 : room < jobs ? room : jobs;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "registry", required_argument, NULL, 'r' },
		{ "strict", no_argument, NULL, 's' },
		{ "unordered", no_argument, NULL, 'u' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct aim_options opt = { NULL, NULL };
	struct aim_setup set;
	struct sigaction sa;
	struct invoke iv;
	char *why = NULL, *end;
	long jobs = 1;
	int ch;

	if (aim_std_fds() == -1)
		errx(AIM_EXIT_IO, "standard output is closed");
	memset(&iv, 0, sizeof(iv));
	argv[0] = (char *)progname;	/* getopt's messages name us alike */
	while ((ch = getopt_long(argc, argv, "c:hj:nr:suV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opt.config = optarg;
			break;
		case 'h':
			usage(0);
		case 'j':
			errno = 0;
			jobs = strtol(optarg, &end, 10);
			if (errno || *end != '\0' || jobs < 1 || jobs > JOBS_MAX) {
				warnx("-j %s: want a number from 1 to %d",
				    optarg, JOBS_MAX);
				usage(AIM_EXIT_USAGE);
			}
			break;
		case 'n':
			iv.dry_run = 1;
			break;
		case 'r':
			opt.registry = optarg;
			break;
		case 's':
			iv.strict = 1;
			break;
		case 'u':
			iv.unordered = 1;
			break;
		case 'V':
			printf("%s %s\n", progname, AIM_VERSION);
			return 0;
		default:
			usage(AIM_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	/*
	 * The config only tunes limits: without a registry, defaults do.  A
	 * bad one is reported, and the records still run on the defaults.
	 */
	aim_setup_load(&set, &opt, NULL, AIM_SETUP_WARN);
	iv.status = set.status;
	iv.cfg = set.cfg;	/* try_start reads iv.cfg: moved out */
	memset(&set.cfg, 0, sizeof(set.cfg));
	aim_setup_free(&set);

	iv.said = json_object();
	iv.state_ok = aim_state_init(&iv.state, &why) == 0;
	state_warn(&iv, why);
	why = NULL;
	if (sodium_init() == -1)
		errx(AIM_EXIT_IO, "can't initialise libsodium");
	if (aim_proc_setup() == -1 ||
	    pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		err(AIM_EXIT_IO, "setup");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	iv.jobs = jobs_fds_allow(jobs);
	/* Room for finished records waiting behind a slow one. */
	iv.qcap = jobs * 4 + 16;
	iv.queue = aim_xmalloc(iv.qcap * sizeof(*iv.queue));
	run(&iv, argv, argc);

	if (aim_close_stdout() == -1)
		aim_exit_raise(&iv.status, AIM_EXIT_IO);
	free(iv.queue);
	aim_config_free(&iv.cfg);
	if (iv.vault_state != 0)
		aim_vault_close(&iv.vault);
	free(iv.vault_why);
	aim_state_free(&iv.state);
	json_decref(iv.said);
	if (iv.interrupted && iv.interrupted != SIGPIPE)
		return AIM_EXIT_SIGNAL + iv.interrupted;
	return iv.status;
}
