/*
 * state.c: what aim remembers between runs (issue 6): cooldowns and the
 * shared load-balancing counters in $XDG_STATE_HOME/aim/state.json, and the
 * per-tool concurrency slots in $XDG_STATE_HOME/aim/slots/; or all of
 * them on Redis (rstate.c), with this file's as the fallback.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aim-store.h"

/*
 * Version 2 keys everything by registry (the registry's absolute
 * directory): {"version":2, "registries":{"<dir>":{"tools":{...},
 * "counters":{...}}}}.  Version 1 kept one "tools" and one "counters" for
 * every registry of the user; such a file is read as empty.
 */
#define STATE_VERSION	2

/* "WHAT PATH: strerror(errno)", malloc'd. */
static char *
why_fmt(const char *what, const char *path)
{
	return aim_xsprintf("%s %s: %s", what, path, strerror(errno));
}

int64_t
aim_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
aim_iso_ms(int64_t wall_ms, char out[32])
{
	time_t t = wall_ms / 1000;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + strlen(out), 8, ".%03dZ", (int)(wall_ms % 1000));
}

static json_t *
empty_state(void)
{
	return json_pack("{s:i, s:{}}", "version", STATE_VERSION,
	    "registries");
}

int
aim_state_init(struct aim_state *st, char **why)
{
	memset(st, 0, sizeof(*st));
	st->lock_fd = -1;
	st->root = empty_state();
	*why = NULL;
	if ((st->path = aim_xdg_path("XDG_STATE_HOME", ".local/state",
	    "state.json")) == NULL) {
		*why = aim_xstrdup("no state directory: set XDG_STATE_HOME "
		    "or HOME");
		return -1;
	}
	return 0;
}

void
aim_state_free(struct aim_state *st)
{
	if (st->lock_fd != -1)
		close(st->lock_fd);
	json_decref(st->root);
	json_decref(st->rinfo);
	aim_rstate_close(st->redis);
	free(st->url);
	free(st->path);
	memset(st, 0, sizeof(*st));
	st->lock_fd = -1;
}

/*
 * Redis failed: the file serves from now on, said once per process (a
 * stream of records would repeat it for each).  Inside a lock the file's
 * lock is taken, so that the caller's write still lands.
 */
static void
degrade(struct aim_state *st, const char *reason)
{
	static int said;
	char *why = NULL;

	if (!said++)
		warnx("%s: %s; using the file state (degraded)", st->url,
		    reason);
	aim_rstate_close(st->redis);
	st->redis = NULL;
	st->degraded = 1;
	if (st->in_lock) {
		st->in_lock = 0;
		(void)aim_state_lock(st, &why);
	} else
		(void)aim_state_refresh(st, &why);
	free(why);
}

/* degrade with the reason of Redis's last failure. */
static void
degrade_rstate(struct aim_state *st)
{
	char reason[200];

	snprintf(reason, sizeof(reason), "%s", aim_rstate_error(st->redis));
	degrade(st, reason);
}

/* The password of the vault secret name (malloc'd), or NULL with *why. */
static char *
vault_password(const char *name, char **why)
{
	const struct aim_vault_secret *sec;
	struct aim_vault v;
	char *pw = NULL, *vwhy = NULL;

	if (aim_vault_open_unattended(&v, &vwhy) != AIM_VAULT_OK)
		*why = aim_xsprintf("state_password_secret '%s': %s", name,
		    vwhy);
	else if ((sec = aim_vault_get(&v, name)) == NULL)
		*why = aim_xsprintf("state_password_secret '%s': no such "
		    "secret in the vault", name);
	else
		pw = aim_xstrdup((const char *)sec->value);
	free(vwhy);
	aim_vault_close(&v);
	return pw;
}

int
aim_state_open(struct aim_state *st, const struct aim_config *cfg,
    char **why)
{
	struct aim_state_url u;
	char *pw = NULL, *rwhy = NULL;

	if (aim_state_init(st, why) == -1)
		return -1;
	if (cfg == NULL || cfg->state_backend == NULL ||
	    aim_state_url_parse(cfg->state_backend, &u, &rwhy) != 1) {
		free(rwhy);
		return 0;
	}
	st->url = aim_xstrdup(cfg->state_backend);
	st->lease_ttl_ms = cfg->state_lease_ttl_ms;
	if (cfg->state_password_secret == NULL || (pw = vault_password(
	    cfg->state_password_secret, &rwhy)) != NULL)
		st->redis = aim_rstate_connect(&u, pw, &rwhy);
	if (pw != NULL)
		explicit_bzero(pw, strlen(pw));
	free(pw);
	if (st->redis == NULL)
		degrade(st, rwhy);
	free(rwhy);
	return 0;
}

/*
 * Read the file into st->root.  A missing file is an empty state; one that
 * does not parse is reported once in *why and treated as empty, so a
 * damaged state file never stops routing (the next write replaces it).
 */
static int
load(struct aim_state *st, int fd, char **why)
{
	json_error_t e;
	json_t *v;
	char buf[PATH_MAX + 256];
	int dfd = dup(fd);
	FILE *f = dfd == -1 ? NULL : fdopen(dfd, "r");

	/* Through stdio: json_loadfd reads a byte a read(2). */
	if (f != NULL) {
		v = json_loadf(f, JSON_REJECT_DUPLICATES, &e);
		fclose(f);
	} else {
		if (dfd != -1)
			close(dfd);
		v = json_loadfd(fd, JSON_REJECT_DUPLICATES, &e);
	}
	/* A version 1 file: its keys name no registry, so they go. */
	if (json_is_object(v) && json_integer_value(json_object_get(v,
	    "version")) == 1 && json_is_object(json_object_get(v, "tools"))) {
		json_decref(v);
		v = empty_state();
	}
	if (v == NULL || !json_is_object(v) ||
	    !json_is_object(json_object_get(v, "registries"))) {
		if (v == NULL)
			snprintf(buf, sizeof(buf), "%s:%d:%d: %s; starting "
			    "afresh", st->path, e.line, e.column, e.text);
		else
			snprintf(buf, sizeof(buf), "%s: not an aim state "
			    "file; starting afresh", st->path);
		json_decref(v);
		free(*why);
		*why = aim_xstrdup(buf);
		v = empty_state();
	}
	json_decref(st->root);
	st->root = v;
	return 0;
}

int
aim_state_refresh(struct aim_state *st, char **why)
{
	struct stat sb;
	int fd;

	*why = NULL;
	if (st->redis != NULL)
		return 0;	/* nothing to read: Redis is asked each time */
	if (st->path == NULL)
		return -1;
	if ((fd = open(st->path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT) {
			*why = why_fmt("can't read", st->path);
			return -1;
		}
		if (st->have) {
			json_decref(st->root);
			st->root = empty_state();
			st->have = 0;
		}
		return 0;
	}
	if (fstat(fd, &sb) == 0 && st->have && sb.st_ino == st->ino &&
	    sb.st_dev == st->dev && sb.st_size == st->size &&
	    sb.st_mtim.tv_sec == st->mtime.tv_sec &&
	    sb.st_mtim.tv_nsec == st->mtime.tv_nsec) {
		close(fd);
		return 0;
	}
	load(st, fd, why);
	st->have = 1;
	st->dev = sb.st_dev;
	st->ino = sb.st_ino;
	st->size = sb.st_size;
	st->mtime = sb.st_mtim;
	close(fd);
	return 0;
}

struct aim_state *
aim_state_current(struct aim_state *st, json_t *said)
{
	int64_t now = aim_now_ms();
	char *why = NULL;
	int rc;

	if (st->path == NULL && st->redis == NULL)
		return NULL;
	if (st->redis == NULL && st->read_ms != 0 &&
	    now - st->read_ms < AIM_STATE_FRESH_MS)
		return st;
	rc = aim_state_refresh(st, &why);
	aim_warn_once(said, why);
	st->read_ms = rc == 0 ? now : 0;
	return rc == 0 ? st : NULL;
}

int
aim_state_lock(struct aim_state *st, char **why)
{
	char lock[PATH_MAX], *dir;

	*why = NULL;
	/* Each Redis call is atomic itself: nothing to hold. */
	if (st->redis != NULL) {
		st->in_lock = 1;
		return 0;
	}
	if (st->path == NULL)
		return -1;
	if (aim_mkdirs_parent(st->path, &dir) == -1) {
		*why = why_fmt("can't create", dir);
		free(dir);
		return -1;
	}
	snprintf(lock, sizeof(lock), "%s.lock", st->path);
	st->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (st->lock_fd == -1) {
		*why = why_fmt("can't open", lock);
		return -1;
	}
	while (flock(st->lock_fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			*why = why_fmt("can't lock", lock);
			close(st->lock_fd);
			st->lock_fd = -1;
			return -1;
		}
	}
	/* Under the lock, always read afresh: the cache may be a write old. */
	st->have = 0;
	return aim_state_refresh(st, why);
}

int
aim_state_unlock(struct aim_state *st, int write, char **why)
{
	char *text;
	int rc = 0;

	*why = NULL;
	if (st->redis != NULL) {
		st->in_lock = 0;
		return 0;
	}
	if (st->lock_fd == -1)
		return -1;
	if (write) {
		/*
		 * No fsync: the state is soft (a lost cooldown only means a
		 * tool is tried again), and the rename keeps it whole.
		 */
		if ((text = json_dumps(st->root, JSON_COMPACT)) == NULL)
			errno = ENOMEM;
		if (text == NULL || aim_write_atomic(st->path, text,
		    strlen(text), 0600, AIM_WRITE_NOSYNC | AIM_WRITE_UMASK,
		    NULL) == -1) {
			*why = why_fmt("can't write", st->path);
			rc = -1;
		}
		free(text);
		st->have = 0;
	}
	close(st->lock_fd);
	st->lock_fd = -1;
	return rc;
}

/*
 * Borrowed: member key of obj as an object, replaced by a new {} when it
 * is missing or not an object and create is set; else NULL.
 */
static json_t *
member_object(json_t *obj, const char *key, int create)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_object(v) || !create || !json_is_object(obj))
		return json_is_object(v) ? v : NULL;
	v = json_object();
	json_object_set_new(obj, key, v);
	return v;
}

/* Borrowed: registry_dir's "tools" or "counters" object (see create). */
static json_t *
registry_part(struct aim_state *st, const char *registry_dir,
    const char *part, int create)
{
	json_t *regs = member_object(st->root, "registries", create);

	return member_object(member_object(regs, registry_dir ? registry_dir :
	    "", create), part, create);
}

/* Borrowed: the tool's entry, created when create is set. */
static json_t *
tool_entry(struct aim_state *st, const char *registry_dir,
    const char *tool_id, int create)
{
	return member_object(registry_part(st, registry_dir, "tools", create),
	    tool_id, create);
}

static int64_t
int_member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

int64_t
aim_state_cooldown(struct aim_state *st, const char *registry_dir,
    const char *tool_id, int64_t now_ms, json_t **info)
{
	json_t *t;
	int64_t until;
	char cls[64];

	if (st->redis != NULL) {
		if (aim_rstate_cooldown(st->redis, registry_dir, tool_id,
		    now_ms, &until, cls, sizeof(cls)) == 0) {
			json_decref(st->rinfo);
			st->rinfo = json_pack("{s:I, s:s?}", "cooldown_until_ms",
			    (json_int_t)until, "cooldown_class", cls[0] ? cls :
			    NULL);
			if (info != NULL)
				*info = until ? st->rinfo : NULL;
			return until;
		}
		degrade_rstate(st);
	}
	t = tool_entry(st, registry_dir, tool_id, 0);
	until = int_member(t, "cooldown_until_ms");
	if (info != NULL)
		*info = until > now_ms ? t : NULL;
	return until > now_ms ? until : 0;
}

int64_t
aim_state_last_failure(struct aim_state *st, const char *registry_dir,
    const char *tool_id)
{
	int64_t ms;

	if (st->redis != NULL) {
		if (aim_rstate_last_failure(st->redis, registry_dir, tool_id,
		    &ms) == 0)
			return ms;
		degrade_rstate(st);
	}
	return int_member(tool_entry(st, registry_dir, tool_id, 0),
	    "last_failure_ms");
}

json_t *
aim_state_cooldowns(struct aim_state *st, const char *registry_dir,
    int64_t now_ms)
{
	json_t *list = json_array(), *t;
	const char *id;
	int64_t until;
	char iso[32];

	if (st->redis != NULL) {
		if (aim_rstate_cooldowns(st->redis, registry_dir, now_ms,
		    list) == 0)
			return list;
		json_array_clear(list);
		degrade_rstate(st);
	}
	json_object_foreach(registry_part(st, registry_dir, "tools", 0), id,
	    t) {
		if ((until = aim_state_cooldown(st, registry_dir, id, now_ms,
		    NULL)) == 0)
			continue;
		aim_iso_ms(until, iso);
		json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:O?}",
		    "tool_id", id, "until", iso, "until_ms", (json_int_t)until,
		    "class", json_object_get(t, "cooldown_class")));
	}
	return list;
}

/* aim_state_failure on Redis: 0 with *until, or -1 (st degraded). */
static int
failure_redis(struct aim_state *st, const char *registry_dir,
    const char *tool_id, const char *error_class, int64_t now_ms,
    const struct aim_cooldown_policy *pol, int64_t *until)
{
	int64_t cd = aim_error_class_long_cooldown(error_class) ?
	    pol->long_cooldown_ms : pol->cooldown_ms;

	if (aim_rstate_failure(st->redis, registry_dir, tool_id, error_class,
	    aim_error_class_counts(error_class), now_ms, pol, cd, until) == 0)
		return 0;
	degrade_rstate(st);
	return -1;
}

int64_t
aim_state_failure(struct aim_state *st, const char *registry_dir,
    const char *tool_id, const char *error_class, int64_t now_ms,
    const struct aim_cooldown_policy *pol)
{
	json_t *t, *fails, *kept, *x;
	int64_t until, cd;
	size_t i;

	if (st->redis != NULL && failure_redis(st, registry_dir, tool_id,
	    error_class, now_ms, pol, &until) == 0)
		return until;
	t = tool_entry(st, registry_dir, tool_id, 1);
	until = int_member(t, "cooldown_until_ms");
	json_object_set_new(t, "last_failure_ms", json_integer(now_ms));
	json_object_set_new(t, "last_class", json_string(error_class));
	if (!aim_error_class_counts(error_class))
		return until > now_ms ? until : 0;
	/* The failures inside the window, this one included. */
	fails = json_object_get(t, "failures");
	kept = json_array();
	json_array_foreach(fails, i, x)
		if (json_is_integer(x) && json_integer_value(x) >
		    now_ms - pol->window_ms)
			json_array_append(kept, x);
	json_array_append_new(kept, json_integer(now_ms));
	/* Enough to open the circuit: never more than allowed_fails kept. */
	while ((int64_t)json_array_size(kept) > pol->allowed_fails)
		json_array_remove(kept, 0);
	/* cooldown_ms 0 turns the breaker off, long cooldowns too. */
	if ((int64_t)json_array_size(kept) >= pol->allowed_fails &&
	    pol->cooldown_ms > 0) {
		cd = aim_error_class_long_cooldown(error_class) ?
		    pol->long_cooldown_ms : pol->cooldown_ms;
		/* A second failure extends a cooldown, never shortens it. */
		if (now_ms + cd > until) {
			until = now_ms + cd;
			json_object_set_new(t, "cooldown_until_ms",
			    json_integer(until));
			json_object_set_new(t, "cooldown_class",
			    json_string(error_class));
		}
	}
	json_object_set_new(t, "failures", kept);
	return until > now_ms ? until : 0;
}

int
aim_state_success(struct aim_state *st, const char *registry_dir,
    const char *tool_id)
{
	json_t *t;
	int changed = 0;

	if (st->redis != NULL) {
		if (aim_rstate_success(st->redis, registry_dir, tool_id) == 0)
			return 1;
		degrade_rstate(st);
	}
	if ((t = tool_entry(st, registry_dir, tool_id, 0)) == NULL)
		return 0;
	changed |= json_object_del(t, "failures") == 0;
	changed |= json_object_del(t, "cooldown_until_ms") == 0;
	changed |= json_object_del(t, "cooldown_class") == 0;
	return changed;
}

int
aim_state_needs_success(struct aim_state *st, const char *registry_dir,
    const char *tool_id)
{
	json_t *t;

	if (st->redis != NULL)
		return 1;
	t = tool_entry(st, registry_dir, tool_id, 0);
	return json_object_get(t, "failures") != NULL ||
	    json_object_get(t, "cooldown_until_ms") != NULL;
}

int
aim_state_reset(struct aim_state *st, const char *registry_dir,
    const char *tool_id, int64_t now_ms)
{
	int cooling = aim_state_cooldown(st, registry_dir, tool_id, now_ms,
	    NULL) != 0;

	/* Failures go too: a reset tool starts with a clean count. */
	aim_state_success(st, registry_dir, tool_id);
	return cooling;
}

int64_t
aim_state_next(struct aim_state *st, const char *registry_dir,
    const char *counter)
{
	json_t *counters;
	int64_t n;

	if (st->redis != NULL) {
		if (aim_rstate_next(st->redis, registry_dir, counter, &n) == 0)
			return n;
		degrade_rstate(st);
	}
	counters = registry_part(st, registry_dir, "counters", 1);
	n = int_member(counters, counter);
	if (n < 0)
		n = 0;
	json_object_set_new(counters, counter, json_integer(n + 1));
	return n;
}

/* ---- spend (aim-invoke(1) "Budgets") ---- */

/* Days of spend kept: today's and the week before, for aim status. */
#define SPEND_KEEP_DAYS	8
#define DAY_MS		(24LL * 3600 * 1000)

/* The UTC day of wall_ms as "YYYY-MM-DD". */
static void
utc_day(int64_t wall_ms, char out[16])
{
	time_t t = wall_ms / 1000;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

/* Borrowed: the day's {"tools":{}, "capabilities":{}} (see create). */
static json_t *
spend_day(struct aim_state *st, const char *registry_dir, int64_t now_ms,
    int create)
{
	char day[16];

	utc_day(now_ms, day);
	return member_object(registry_part(st, registry_dir, "spend", create),
	    day, create);
}

/* Add usd to obj's member key, a number. */
static void
add_usd(json_t *obj, const char *key, double usd)
{
	json_t *v = json_object_get(obj, key);

	json_object_set_new(obj, key, json_real((json_is_number(v) ?
	    json_number_value(v) : 0) + usd));
}

void
aim_state_spend_add(struct aim_state *st, const char *registry_dir,
    const char *tool_id, const char *capability, double usd,
    int64_t now_ms)
{
	json_t *spend, *d;
	const char *day;
	char oldest[16];
	void *tmp;

	if (st->redis != NULL) {
		utc_day(now_ms, oldest);
		if (aim_rstate_spend_add(st->redis, registry_dir, tool_id,
		    capability, oldest, usd) == 0)
			return;
		degrade_rstate(st);
	}
	spend = registry_part(st, registry_dir, "spend", 1);
	/* Days past keeping go: the keys sort as the days do. */
	utc_day(now_ms - (SPEND_KEEP_DAYS - 1) * DAY_MS, oldest);
	json_object_foreach_safe(spend, tmp, day, d)
		if (strcmp(day, oldest) < 0)
			json_object_del(spend, day);
	d = spend_day(st, registry_dir, now_ms, 1);
	add_usd(member_object(d, "tools", 1), tool_id, usd);
	if (capability != NULL)
		add_usd(member_object(d, "capabilities", 1), capability, usd);
}

double
aim_state_spent(struct aim_state *st, const char *registry_dir,
    const char *tool_id, int64_t now_ms)
{
	json_t *v;
	char day[16];
	double usd;

	if (st->redis != NULL) {
		utc_day(now_ms, day);
		if (aim_rstate_spent(st->redis, registry_dir, tool_id, day,
		    &usd) == 0)
			return usd;
		degrade_rstate(st);
	}
	v = json_object_get(member_object(spend_day(st, registry_dir, now_ms,
	    0), "tools", 0), tool_id);
	return json_is_number(v) ? json_number_value(v) : 0;
}

int64_t
aim_state_budget_exhausted(struct aim_state *st, const char *registry_dir,
    json_t *budgets, const char *tool_id, int64_t now_ms, double *spent,
    double *limit)
{
	json_t *v = json_object_get(json_object_get(budgets, tool_id),
	    "usd_per_day");

	*limit = json_is_number(v) ? json_number_value(v) : -1;
	/* No budget, nothing to look up: a round trip saved on Redis. */
	*spent = *limit < 0 ? 0 : aim_state_spent(st, registry_dir, tool_id,
	    now_ms);
	if (*limit < 0 || *spent < *limit)
		return 0;
	return (now_ms / DAY_MS + 1) * DAY_MS;
}

/* ---- concurrency slots ---- */

void
aim_slot_init(struct aim_slot *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

int
aim_slot_held(const struct aim_slot *s)
{
	return s->fd != -1 || s->key != NULL;
}

/* A lease on Redis: 1, 0 all held, -1 Redis failed (st degraded). */
static int
lease_acquire(struct aim_state *st, const char *registry_dir,
    const char *tool_id, int64_t max_concurrent, struct aim_slot *s)
{
	int rc = aim_rstate_lease_acquire(st->redis, registry_dir, tool_id,
	    max_concurrent, st->lease_ttl_ms, &s->key, &s->token);

	if (rc == -1) {
		degrade_rstate(st);
		return -1;
	}
	if (rc == 1) {
		s->st = st;
		s->renew_ms = aim_now_ms() + st->lease_ttl_ms / 3;
	}
	return rc;
}

/* A slot file of $XDG_STATE_HOME/aim/slots/, flock'd: aim_slot_acquire. */
static int
file_slot(const char *registry_dir, const char *tool_id,
    int64_t max_concurrent, struct aim_slot *s, char **why)
{
	unsigned char h[AIM_HASH_BYTES];
	char *dir, name[NAME_MAX + 1], path[PATH_MAX], hex[17];
	size_t i;
	int64_t k;
	int fd;

	if ((dir = aim_xdg_path("XDG_STATE_HOME", ".local/state", "slots")) ==
	    NULL) {
		*why = aim_xstrdup("no state directory: set XDG_STATE_HOME "
		    "or HOME");
		return -1;
	}
	if (aim_mkdirs(dir) == -1) {
		*why = why_fmt("can't create", dir);
		free(dir);
		return -1;
	}
	/* A tool id is a registry key: keep it to one safe file name. */
	for (i = 0; tool_id[i] != '\0' && i < 200; i++)
		name[i] = (tool_id[i] == '/' || tool_id[i] == '\0' ||
		    (i == 0 && tool_id[i] == '.')) ? '_' : tool_id[i];
	name[i] = '\0';
	/* Slots are per registry too: 64 bits of its directory's hash. */
	if (registry_dir == NULL)
		registry_dir = "";
	aim_hash(registry_dir, strlen(registry_dir), h);
	aim_hex(h, 8, hex);
	for (k = 0; k < max_concurrent; k++) {
		snprintf(path, sizeof(path), "%s/%s.%s.%lld.lock", dir, name,
		    hex, (long long)k);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0600);
		if (fd == -1) {
			*why = why_fmt("can't open", path);
			free(dir);
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			s->fd = fd;
			free(dir);
			return 1;
		}
		close(fd);
	}
	free(dir);
	return 0;
}

int
aim_slot_acquire(struct aim_state *st, const char *registry_dir,
    const char *tool_id, int64_t max_concurrent, struct aim_slot *s,
    char **why)
{
	int rc;

	aim_slot_init(s);
	*why = NULL;
	if (st != NULL && st->redis != NULL && (rc = lease_acquire(st,
	    registry_dir, tool_id, max_concurrent, s)) != -1)
		return rc;
	return file_slot(registry_dir, tool_id, max_concurrent, s, why);
}

void
aim_slot_renew(struct aim_slot *s, int64_t now_ms)
{
	int rc;

	if (s->key == NULL || now_ms < s->renew_ms)
		return;
	if (s->st->redis == NULL)
		rc = -1;
	else if ((rc = aim_rstate_lease_renew(s->st->redis, s->key, s->token,
	    s->st->lease_ttl_ms)) == -1)
		degrade_rstate(s->st);
	if (rc == 1) {
		s->renew_ms = now_ms + s->st->lease_ttl_ms / 3;
		return;
	}
	/* Gone (or Redis with it): nothing left to renew or give back. */
	free(s->key);
	aim_slot_init(s);
}

void
aim_slot_release(struct aim_slot *s)
{
	if (s->fd != -1)
		close(s->fd);
	/* Redis gone: the lease runs out by itself. */
	if (s->key != NULL && s->st->redis != NULL &&
	    aim_rstate_lease_release(s->st->redis, s->key, s->token) == -1)
		degrade_rstate(s->st);
	free(s->key);
	aim_slot_init(s);
}
