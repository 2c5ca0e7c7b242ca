/*
 * rstate.c: the shared state on Redis (aim-registry(5) "State backend"):
 * cooldowns, failure windows, counters, spend and max_concurrent leases,
 * shared by every process and machine that names the same Redis.
 */
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "aim-store.h"

/* Connect and command timeout: a slow Redis is a down one. */
#define RSTATE_TIMEOUT_MS	200
/* last_failure and spend keys live a week and a day past their day. */
#define WEEK_MS		(7LL * 24 * 3600 * 1000)
#define SPEND_TTL_MS	(9LL * 24 * 3600 * 1000)

struct aim_rstate {
	redisContext *c;
	char	 err[160];	/* why the last call failed */
	unsigned long seq;	/* makes failure members unique */
	int	 unread;	/* commands sent whose replies wait */
};

/*
 * A failure: the window (a sorted set scored by wall ms) trimmed, this
 * one added, at most allowed_fails kept; at allowed_fails the cooldown
 * key is set (extended, never shortened) with a PX TTL to its end.
 * KEYS: failures, cooldown, last.  ARGV: now, window, allowed, cd_ms
 * (0: none), class, counts (1/0), member.  Returns the cooldown end or 0.
 */
static const char failure_lua[] =
"local now = tonumber(ARGV[1])\n"
"redis.call('SET', KEYS[3], ARGV[1] .. ' ' .. ARGV[5], 'PX', ARGV[8])\n"
"local cur = redis.call('GET', KEYS[2])\n"
"local til = 0\n"
"if cur then til = tonumber(string.match(cur, '^%d+')) end\n"
"if ARGV[6] == '1' then\n"
"  local allowed = tonumber(ARGV[3])\n"
"  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))\n"
"  redis.call('ZADD', KEYS[1], now, ARGV[7])\n"
"  local n = redis.call('ZCARD', KEYS[1])\n"
"  if n > allowed then\n"
"    redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - allowed - 1)\n"
"    n = allowed\n"
"  end\n"
"  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
"  local cd = tonumber(ARGV[4])\n"
"  if n >= allowed and cd > 0 and now + cd > til then\n"
"    til = now + cd\n"
"    redis.call('SET', KEYS[2], string.format('%d %s', til, ARGV[5]),\n"
"      'PX', cd)\n"
"  end\n"
"end\n"
"if til > now then return til end\n"
"return 0\n";

/*
 * A lease: holders in a sorted set scored by their expiry (Redis's own
 * clock, so machines need not agree), the expired dropped; a free slot
 * gets a fencing token from INCR.  KEYS: leases, fence.  ARGV: max,
 * ttl_ms.  Returns the token, or 0 when every slot is held.
 */
static const char acquire_lua[] =
"local t = redis.call('TIME')\n"
"local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
"redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
"if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end\n"
"local tok = redis.call('INCR', KEYS[2])\n"
"redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), tok)\n"
"redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
"return tok\n";

/* Renew a lease still held: 1, or 0 when it ran out and went. */
static const char renew_lua[] =
"local t = redis.call('TIME')\n"
"local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
"local s = redis.call('ZSCORE', KEYS[1], ARGV[1])\n"
"if not s or tonumber(s) <= now then return 0 end\n"
"redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])\n"
"redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
"return 1\n";

/* The reply read, or NULL with r->err set (a refusal too). */
static redisReply *
reply_read(struct aim_rstate *r)
{
	void *v = NULL;
	redisReply *rep;

	if (redisGetReply(r->c, &v) != REDIS_OK || v == NULL) {
		/* A read that timed out says EAGAIN's words: say ours. */
		snprintf(r->err, sizeof(r->err), "%s", strcmp(r->c->errstr,
		    strerror(EAGAIN)) == 0 ? "no answer in 200 ms" :
		    r->c->errstr[0] ? r->c->errstr : "no reply");
		return NULL;
	}
	rep = v;
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(r->err, sizeof(r->err), "%s", rep->str);
		freeReplyObject(rep);
		/* A refused command leaves the server's state unknown. */
		r->c->err = REDIS_ERR_OTHER;
		return NULL;
	}
	return rep;
}

/*
 * Send a command (argc 0: only what is buffered); with want, read the
 * replies of the commands sent unread before it, then its own.  SIGPIPE
 * is held back while hiredis writes: a server gone away is an error
 * here, never the signal that ends aim-invoke's run.
 */
static redisReply *
rsend(struct aim_rstate *r, int argc, const char **argv, int want)
{
	sigset_t pipe, old, pending;
	struct timespec zero = { 0, 0 };
	redisReply *rep = NULL;
	int was_pending, done = 0, ok = 1;

	if (r->c == NULL || r->c->err) {
		if (r->err[0] == '\0')
			snprintf(r->err, sizeof(r->err), "not connected");
		return NULL;
	}
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	if (argc > 0)
		redisAppendCommandArgv(r->c, argc, argv, NULL);
	if (!want) {
		while (!done && (ok = redisBufferWrite(r->c, &done) ==
		    REDIS_OK))
			;
		if (!ok)
			snprintf(r->err, sizeof(r->err), "%s", r->c->errstr);
		r->unread += argc > 0 && ok;
	}
	for (; want && r->unread > 0 && ok; r->unread--) {
		if ((rep = reply_read(r)) == NULL)
			ok = 0;
		else
			freeReplyObject(rep);
	}
	rep = want && ok && argc > 0 ? reply_read(r) : NULL;
	sigpending(&pending);
	if (!was_pending && sigismember(&pending, SIGPIPE))
		(void)sigtimedwait(&pipe, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rep;
}

/* The command's reply, or NULL with r->err set. */
static redisReply *
rcmd(struct aim_rstate *r, int argc, const char **argv)
{
	return rsend(r, argc, argv, 1);
}

/* rcmd of up to 12 words given as arguments, NULL-terminated. */
static redisReply *
rcmdv(struct aim_rstate *r, ...)
{
	const char *argv[12];
	int argc = 0;
	va_list ap;

	va_start(ap, r);
	while (argc < 12 && (argv[argc] = va_arg(ap, const char *)) != NULL)
		argc++;
	va_end(ap);
	return rcmd(r, argc, argv);
}

/* The integer of a reply (a status or string of digits too), freed. */
static int
reply_int(redisReply *rep, long long *n)
{
	if (rep == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_INTEGER)
		*n = rep->integer;
	else if (rep->type == REDIS_REPLY_STRING)
		*n = strtoll(rep->str, NULL, 10);
	else
		*n = 0;
	freeReplyObject(rep);
	return 0;
}

struct aim_rstate *
aim_rstate_connect(const struct aim_state_url *u, const char *password,
    char **why)
{
	struct timeval tv = { 0, RSTATE_TIMEOUT_MS * 1000 };
	struct aim_rstate *r = aim_xmalloc(sizeof(*r));
	char db[16];
	long long n;

	memset(r, 0, sizeof(*r));
	*why = NULL;
	r->c = redisConnectWithTimeout(u->host, u->port, tv);
	if (r->c == NULL || r->c->err) {
		*why = aim_xstrdup(r->c ? r->c->errstr : "out of memory");
		aim_rstate_close(r);
		return NULL;
	}
	redisSetTimeout(r->c, tv);
	/* Tools are spawned with closefrom(3), but fork(2)s elsewhere too. */
	(void)fcntl(r->c->fd, F_SETFD, FD_CLOEXEC);
	snprintf(db, sizeof(db), "%d", u->db);
	if ((password != NULL && reply_int(rcmdv(r, "AUTH", password, NULL),
	    &n) == -1) || (u->db != 0 && reply_int(rcmdv(r, "SELECT", db, NULL),
	    &n) == -1) || reply_int(rcmdv(r, "PING", NULL), &n) == -1) {
		*why = aim_xstrdup(r->err);
		aim_rstate_close(r);
		return NULL;
	}
	return r;
}

void
aim_rstate_close(struct aim_rstate *r)
{
	if (r == NULL)
		return;
	/* What was sent is read: a release is done before we go. */
	if (r->c != NULL && r->unread > 0)
		(void)rsend(r, 0, NULL, 1);
	if (r->c != NULL)
		redisFree(r->c);
	free(r);
}

const char *
aim_rstate_error(const struct aim_rstate *r)
{
	return r->err;
}

/* "aim:<h>:<name>:<what>", h 16 hex digits of registry_dir's hash. */
static char *
rkey(const char *registry_dir, const char *name, const char *what)
{
	unsigned char h[AIM_HASH_BYTES];
	char hex[17];

	if (registry_dir == NULL)
		registry_dir = "";
	aim_hash(registry_dir, strlen(registry_dir), h);
	aim_hex(h, 8, hex);
	return aim_xsprintf("aim:%s:%s:%s", hex, name, what);
}

/* The string at key "<ms> <class>": *ms, and class when cls is given. */
static int
get_stamp(struct aim_rstate *r, char *key, int64_t *ms, char *cls,
    size_t clslen)
{
	redisReply *rep = rcmdv(r, "GET", key, NULL);
	const char *sp;

	free(key);
	if (rep == NULL)
		return -1;
	*ms = 0;
	if (cls != NULL)
		cls[0] = '\0';
	if (rep->type == REDIS_REPLY_STRING) {
		*ms = strtoll(rep->str, NULL, 10);
		if (cls != NULL && (sp = strchr(rep->str, ' ')) != NULL)
			snprintf(cls, clslen, "%s", sp + 1);
	}
	freeReplyObject(rep);
	return 0;
}

int
aim_rstate_cooldown(struct aim_rstate *r, const char *registry_dir,
    const char *tool_id, int64_t now_ms, int64_t *until, char *cls,
    size_t clslen)
{
	if (get_stamp(r, rkey(registry_dir, tool_id, "cooldown"), until, cls,
	    clslen) == -1)
		return -1;
	if (*until <= now_ms)
		*until = 0;
	return 0;
}

int
aim_rstate_last_failure(struct aim_rstate *r, const char *registry_dir,
    const char *tool_id, int64_t *ms)
{
	return get_stamp(r, rkey(registry_dir, tool_id, "last"), ms, NULL, 0);
}

/* Append {tool_id, until, until_ms, class} of key's cooldown to list. */
static int
cooldown_entry(struct aim_rstate *r, const char *key, size_t plen,
    int64_t now_ms, json_t *list)
{
	char *id, cls[64], iso[32];
	int64_t until;

	if (get_stamp(r, aim_xstrdup(key), &until, cls, sizeof(cls)) == -1)
		return -1;
	if (until <= now_ms)
		return 0;
	id = aim_xstrdup(key + plen);
	id[strlen(id) - strlen(":cooldown")] = '\0';
	aim_iso_ms(until, iso);
	json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:s?}",
	    "tool_id", id, "until", iso, "until_ms", (json_int_t)until,
	    "class", cls[0] ? cls : NULL));
	free(id);
	return 0;
}

int
aim_rstate_cooldowns(struct aim_rstate *r, const char *registry_dir,
    int64_t now_ms, json_t *list)
{
	char *pat = rkey(registry_dir, "*", "cooldown"), cursor[32] = "0";
	size_t i, plen = strlen(pat) - strlen("*:cooldown");
	redisReply *rep, *keys;
	int rc = 0;

	do {
		if ((rep = rcmdv(r, "SCAN", cursor, "MATCH", pat, "COUNT",
		    "1000", NULL)) == NULL || rep->type != REDIS_REPLY_ARRAY ||
		    rep->elements != 2) {
			if (rep != NULL)
				freeReplyObject(rep);
			free(pat);
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
		keys = rep->element[1];
		for (i = 0; rc == 0 && i < keys->elements; i++)
			rc = cooldown_entry(r, keys->element[i]->str, plen,
			    now_ms, list);
		freeReplyObject(rep);
	} while (rc == 0 && strcmp(cursor, "0") != 0);
	free(pat);
	return rc;
}

int
aim_rstate_failure(struct aim_rstate *r, const char *registry_dir,
    const char *tool_id, const char *error_class, int counts,
    int64_t now_ms, const struct aim_cooldown_policy *pol, int64_t cd_ms,
    int64_t *until)
{
	char *k[3], a[5][32], member[96];
	const char *argv[14];
	long long n = 0;
	int rc;

	k[0] = rkey(registry_dir, tool_id, "failures");
	k[1] = rkey(registry_dir, tool_id, "cooldown");
	k[2] = rkey(registry_dir, tool_id, "last");
	snprintf(a[0], 32, "%lld", (long long)now_ms);
	snprintf(a[1], 32, "%lld", (long long)pol->window_ms);
	snprintf(a[2], 32, "%lld", (long long)pol->allowed_fails);
	snprintf(a[3], 32, "%lld", (long long)cd_ms);
	snprintf(a[4], 32, "%lld", WEEK_MS);
	/* Two processes failing in one ms are two failures. */
	snprintf(member, sizeof(member), "%lld:%ld:%lu", (long long)now_ms,
	    (long)getpid(), r->seq++);
	argv[0] = "EVAL";
	argv[1] = failure_lua;
	argv[2] = "3";
	memcpy(argv + 3, k, sizeof(k));
	argv[6] = a[0];
	argv[7] = a[1];
	argv[8] = a[2];
	argv[9] = a[3];
	argv[10] = error_class;
	argv[11] = counts ? "1" : "0";
	argv[12] = member;
	argv[13] = a[4];
	rc = reply_int(rcmd(r, 14, argv), &n);
	free(k[0]);
	free(k[1]);
	free(k[2]);
	*until = n;
	return rc;
}

int
aim_rstate_success(struct aim_rstate *r, const char *registry_dir,
    const char *tool_id)
{
	char *f = rkey(registry_dir, tool_id, "failures");
	char *c = rkey(registry_dir, tool_id, "cooldown");
	const char *argv[3] = { "DEL", f, c };

	/* Unread, like a release: a success costs no round trip. */
	(void)rsend(r, 3, argv, 0);
	free(f);
	free(c);
	return r->c == NULL || r->c->err ? -1 : 0;
}

int
aim_rstate_next(struct aim_rstate *r, const char *registry_dir,
    const char *counter, int64_t *n)
{
	char *k = rkey(registry_dir, "@counter", counter);
	long long v = 0;
	int rc = reply_int(rcmdv(r, "INCR", k, NULL), &v);

	free(k);
	*n = v > 0 ? v - 1 : 0;
	return rc;
}

/*
 * INCRBYFLOAT key usd, the key kept SPEND_TTL_MS; key freed.  15 digits:
 * "3.15", not the double's 3.1499999999999999, which Redis adds up in
 * long double to 6.2999999999999998.
 */
static int
spend_incr(struct aim_rstate *r, char *key, double usd)
{
	char a[64], ttl[32];
	long long n;
	int rc;

	snprintf(a, sizeof(a), "%.15g", usd);
	snprintf(ttl, sizeof(ttl), "%lld", SPEND_TTL_MS);
	rc = reply_int(rcmdv(r, "INCRBYFLOAT", key, a, NULL), &n);
	if (rc == 0)
		rc = reply_int(rcmdv(r, "PEXPIRE", key, ttl, NULL), &n);
	free(key);
	return rc;
}

int
aim_rstate_spend_add(struct aim_rstate *r, const char *registry_dir,
    const char *tool_id, const char *capability, const char *day,
    double usd)
{
	char what[64];

	snprintf(what, sizeof(what), "spend:%s", day);
	if (spend_incr(r, rkey(registry_dir, tool_id, what), usd) == -1)
		return -1;
	if (capability == NULL)
		return 0;
	snprintf(what, sizeof(what), "capability-spend:%s", day);
	return spend_incr(r, rkey(registry_dir, capability, what), usd);
}

int
aim_rstate_spent(struct aim_rstate *r, const char *registry_dir,
    const char *tool_id, const char *day, double *usd)
{
	char what[64], *k;
	redisReply *rep;

	snprintf(what, sizeof(what), "spend:%s", day);
	k = rkey(registry_dir, tool_id, what);
	rep = rcmdv(r, "GET", k, NULL);
	free(k);
	if (rep == NULL)
		return -1;
	*usd = rep->type == REDIS_REPLY_STRING ? strtod(rep->str, NULL) : 0;
	freeReplyObject(rep);
	return 0;
}

/* ---- leases ---- */

int
aim_rstate_lease_acquire(struct aim_rstate *r, const char *registry_dir,
    const char *tool_id, int64_t max_concurrent, int64_t ttl_ms,
    char **key, int64_t *token)
{
	char *fence = rkey(registry_dir, tool_id, "fence"), max[32], ttl[32];
	long long n = 0;
	int rc;

	*key = rkey(registry_dir, tool_id, "leases");
	snprintf(max, sizeof(max), "%lld", (long long)max_concurrent);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
	rc = reply_int(rcmdv(r, "EVAL", acquire_lua, "2", *key, fence, max, ttl,
	    NULL), &n);
	free(fence);
	*token = n;
	if (rc == -1 || n == 0) {
		free(*key);
		*key = NULL;
	}
	return rc == -1 ? -1 : n > 0;
}

int
aim_rstate_lease_renew(struct aim_rstate *r, const char *key,
    int64_t token, int64_t ttl_ms)
{
	char tok[32], ttl[32];
	long long n = 0;

	snprintf(tok, sizeof(tok), "%lld", (long long)token);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
	if (reply_int(rcmdv(r, "EVAL", renew_lua, "1", key, tok, ttl, NULL),
	    &n) == -1)
		return -1;
	return n == 1;
}

int
aim_rstate_lease_release(struct aim_rstate *r, const char *key,
    int64_t token)
{
	char tok[32];
	const char *argv[3] = { "ZREM", key, tok };

	snprintf(tok, sizeof(tok), "%lld", (long long)token);
	/* Sent, its reply read with the next command's: one round trip. */
	(void)rsend(r, 3, argv, 0);
	return r->c == NULL || r->c->err ? -1 : 0;
}
