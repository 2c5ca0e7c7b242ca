/*
 * aim-store.h: layer 3 of libaim, what persists: shared state, the vault,
 * audit entries, duplicate files, worktrees.  lib/LAYERS gives the table:
 * a module includes its own layer's header, which includes the lower
 * ones, and calls nothing above it.
 */
#ifndef AIM_STORE_H
#define AIM_STORE_H

#include "aim-config.h"

/* ---- state.c: shared cooldowns, counters, slots (aim-invoke(1)) ---- */

/*
 * $XDG_STATE_HOME/aim/state.json (else ~/.local/state/aim/state.json):
 * {"version":2, "registries":{"<registry dir>":{"tools":{"<id>":{
 * "failures":[wall ms...], "cooldown_until_ms", "cooldown_class",
 * "last_failure_ms", "last_class"}}, "counters":{"<name>": n}}}}: a tool
 * is known by its registry's absolute directory and its id, so one
 * project's failing tool never cools down another's of the same id
 * (aim-resolve(1) "Cooldowns"; a version 1 file reads as empty).  Readers take a snapshot without a lock;
 * writers hold flock(2) on state.json.lock from aim_state_lock to
 * aim_state_unlock, which replaces the file with rename(2).
 */
struct aim_rstate;

struct aim_state {
	char	*path;
	json_t	*root;
	/* aim-registry(5) "State backend": Redis, when it answers. */
	struct aim_rstate *redis;	/* NULL: the file */
	char	*url;		/* state_backend, for messages */
	int	 degraded;	/* Redis named, the file used */
	int	 in_lock;	/* between aim_state_lock and _unlock on Redis */
	int64_t	 lease_ttl_ms;	/* state_lease_ttl_ms */
	json_t	*rinfo;		/* aim_state_cooldown's *info from Redis */
	int	 lock_fd;	/* -1 unless locked */
	int	 have;		/* the snapshot below is of a file */
	dev_t	 dev;
	ino_t	 ino;
	off_t	 size;
	struct timespec mtime;
	int64_t	 read_ms;	/* aim_now_ms of the last aim_state_current read */
};

/* aim_state_current takes a read this recent as current (ms). */
#define AIM_STATE_FRESH_MS	10

/* Wall-clock milliseconds since the epoch (CLOCK_REALTIME): state times. */
int64_t	 aim_wall_ms(void);

/* wall_ms as "2026-11-21T19:30:00.123Z" (24 bytes + NUL). */
void	 aim_iso_ms(int64_t wall_ms, char out[32]);

/* Find the state file (no I/O).  0, or -1 with a malloc'd *why (no HOME). */
int	 aim_state_init(struct aim_state *st, char **why);
void	 aim_state_free(struct aim_state *st);

/*
 * aim_state_init, then the backend cfg names (aim-registry(5) "State
 * backend"; cfg may be NULL: the file): on "redis://..." connect (200 ms
 * timeouts), with the password of the vault secret state_password_secret.
 * Returns aim_state_init's 0 or -1; when Redis cannot be used the file
 * state serves, st->degraded is set and one warning per process says
 * "URL: reason; using the file state (degraded)" on stderr.  The same
 * happens when Redis fails any later call: every aim_state_* and aim_slot_*
 * function below goes on with the file.
 */
int	 aim_state_open(struct aim_state *st, const struct aim_config *cfg,
	    char **why);

/*
 * Bring the snapshot up to date (re-read only when the file changed).
 * Returns 0, or -1 with a malloc'd *why when it cannot be read; a file that
 * does not parse is an empty state, returned as 0 with *why saying so.
 */
int	 aim_state_refresh(struct aim_state *st, char **why);

/*
 * aim_state_refresh for a process that goes on without the state: st when
 * usable, else NULL; every problem is said once (aim_warn_once on said).
 * A file read less than AIM_STATE_FRESH_MS ago is not read again: the
 * engine asks for the state several times a request (aim-invoke(1)
 * "Cooldowns"); aim_state_lock always reads it.
 */
struct aim_state *aim_state_current(struct aim_state *st, json_t *said);

/* Take the lock (creating the directory 0700) and read afresh.  0 or -1. */
int	 aim_state_lock(struct aim_state *st, char **why);

/* With write, replace the file atomically; then drop the lock.  0 or -1. */
int	 aim_state_unlock(struct aim_state *st, int write, char **why);

/*
 * The functions below name a tool by registry_dir (the absolute registry
 * directory, as route.registry gives it; NULL is "") and tool_id.
 *
 * The wall time in ms until which tool_id cools down, or 0 when it does not
 * at now_ms; *info (may be NULL) gets the tool's entry (borrowed) then.
 */
int64_t	 aim_state_cooldown(struct aim_state *st, const char *registry_dir,
	    const char *tool_id, int64_t now_ms, json_t **info);

/* When tool_id last failed (wall ms), or 0: for least_recent_failure. */
int64_t	 aim_state_last_failure(struct aim_state *st,
	    const char *registry_dir, const char *tool_id);

/*
 * The tools of registry_dir cooling down at now_ms, for aim status: a new
 * array of {tool_id, until (aim_iso_ms), until_ms, class (when known)}.
 */
json_t	*aim_state_cooldowns(struct aim_state *st, const char *registry_dir,
	    int64_t now_ms);

/*
 * Record a failure of class error_class at now_ms (call locked).  Counting
 * classes join the window; at pol->allowed_fails the tool cools down,
 * extending and never shortening a running cooldown (pol->cooldown_ms 0:
 * never).  The failures stay counted for the window, so once a cooldown
 * ends one more failure in the window opens it again (half-open).
 * Returns the cooldown end (wall ms), or 0.
 */
int64_t	 aim_state_failure(struct aim_state *st, const char *registry_dir,
	    const char *tool_id, const char *error_class, int64_t now_ms,
	    const struct aim_cooldown_policy *pol);

/*
 * Would a success change anything (failures or a cooldown on record)?
 * On Redis always 1: asking would cost the round trip the DEL saves.
 */
int	 aim_state_needs_success(struct aim_state *st,
	    const char *registry_dir, const char *tool_id);

/* A success closes the circuit: failures and cooldown go.  1 if changed. */
int	 aim_state_success(struct aim_state *st, const char *registry_dir,
	    const char *tool_id);

/*
 * Clear a tool's cooldown and failures (aim-resolve --reset-cooldown).
 * Returns 1 when it was cooling down at now_ms, else 0.
 */
int	 aim_state_reset(struct aim_state *st, const char *registry_dir,
	    const char *tool_id, int64_t now_ms);

/* The value of registry_dir's shared counter, then add one (call locked). */
int64_t	 aim_state_next(struct aim_state *st, const char *registry_dir,
	    const char *counter);

/*
 * Spend (aim-invoke(1) "Budgets"): US dollars added up per UTC day, in
 * the registry's "spend": {"YYYY-MM-DD": {"tools": {"<id>": usd},
 * "capabilities": {"<name>": usd}}}.  Add usd to tool_id's and
 * capability's (NULL: none) day of now_ms (call locked); days older than
 * a week go.
 */
void	 aim_state_spend_add(struct aim_state *st, const char *registry_dir,
	    const char *tool_id, const char *capability, double usd,
	    int64_t now_ms);

/* What tool_id spent in the UTC day of now_ms, in US dollars. */
double	 aim_state_spent(struct aim_state *st, const char *registry_dir,
	    const char *tool_id, int64_t now_ms);

/*
 * Is tool_id over its budget (budgets: aim_config's {"<tool>":
 * {"usd_per_day": N}}, borrowed; aim-registry(5) "aim_config.json")?
 * The end of the UTC day (wall ms) when what it spent that day reached
 * usd_per_day, else 0.  *spent gets the day's spend (0, not looked up,
 * when the tool has no budget), *limit usd_per_day or -1 when it has none.
 */
int64_t	 aim_state_budget_exhausted(struct aim_state *st,
	    const char *registry_dir, json_t *budgets, const char *tool_id,
	    int64_t now_ms, double *spent, double *limit);

/* A max_concurrent slot held: a flock'd file, or a lease on Redis. */
struct aim_slot {
	int	 fd;		/* the flock'd slot file, or -1 */
	struct aim_state *st;	/* borrowed: the lease's Redis */
	char	*key;		/* the lease's sorted set, or NULL */
	int64_t	 token;		/* its fencing token (INCR) */
	int64_t	 renew_ms;	/* monotonic: renew then (aim_now_ms) */
};

/* An empty slot (nothing held). */
void	 aim_slot_init(struct aim_slot *s);

/*
 * Take one of max_concurrent slots of tool_id of registry_dir shared by
 * every process (aim-invoke(1) "Concurrency").  With st on Redis: a
 * lease of st->lease_ttl_ms with a fencing token, in the sorted set
 * aim:<h>:<tool>:leases scored by expiry, which the holder renews
 * (aim_slot_renew) and a killed holder loses when it runs out.  Else
 * (st NULL or the file) $XDG_STATE_HOME/aim/slots/<tool>.<h>.<i>.lock,
 * flock LOCK_NB, which the kernel frees when its holder exits; h is the
 * first 16 hex digits of the BLAKE2b-256 of registry_dir in both.
 * Returns 1 with *s held (aim_slot_release), 0 when every slot is taken,
 * -1 with a malloc'd *why.
 */
int	 aim_slot_acquire(struct aim_state *st, const char *registry_dir,
	    const char *tool_id, int64_t max_concurrent, struct aim_slot *s,
	    char **why);

/* Is a slot held? */
int	 aim_slot_held(const struct aim_slot *s);

/*
 * Renew s's lease when now_ms (monotonic) reached s->renew_ms, every
 * third of its TTL; a file slot needs none.  A lease Redis lost or let
 * run out is dropped (the attempt goes on, unlimited).
 */
void	 aim_slot_renew(struct aim_slot *s, int64_t now_ms);

/* Give the slot back (close, or ZREM of the lease); s is empty after. */
void	 aim_slot_release(struct aim_slot *s);

/* ---- rstate.c: the state on Redis (aim-registry(5) "State backend") ---- */

/*
 * Keys are "aim:<h>:<tool>:<what>", h the first 16 hex digits of the
 * BLAKE2b-256 of the registry directory: cooldown ("<until ms> <class>",
 * PX to its end), failures (sorted set of wall ms, PX the window), last
 * ("<ms> <class>"), spend:<day> (INCRBYFLOAT US dollars), leases and
 * fence; counters are "aim:<h>:@counter:<name>" (INCR) and a
 * capability's spend "aim:<h>:<capability>:capability-spend:<day>".
 * Every function returns 0 (or what it says), or -1 when Redis failed or
 * refused, aim_rstate_error saying why; the connection is unusable then.
 * Times are wall ms (aim_wall_ms).
 */
struct aim_rstate *aim_rstate_connect(const struct aim_state_url *u,
	    const char *password, char **why);
void	 aim_rstate_close(struct aim_rstate *r);
/* Borrowed: why the last call failed ("Connection refused"). */
const char *aim_rstate_error(const struct aim_rstate *r);
/* *until: the cooldown's end, 0 when none at now_ms; cls its class. */
int	 aim_rstate_cooldown(struct aim_rstate *r, const char *registry_dir,
	    const char *tool_id, int64_t now_ms, int64_t *until, char *cls,
	    size_t clslen);
int	 aim_rstate_last_failure(struct aim_rstate *r,
	    const char *registry_dir, const char *tool_id, int64_t *ms);
/* Append aim_state_cooldowns' entries of registry_dir to list. */
int	 aim_rstate_cooldowns(struct aim_rstate *r, const char *registry_dir,
	    int64_t now_ms, json_t *list);
/*
 * aim_state_failure in one script: counts, whether the class joins the
 * window; cd_ms the cooldown it opens.  *until: the cooldown end, or 0.
 */
int	 aim_rstate_failure(struct aim_rstate *r, const char *registry_dir,
	    const char *tool_id, const char *error_class, int counts,
	    int64_t now_ms, const struct aim_cooldown_policy *pol,
	    int64_t cd_ms, int64_t *until);
/* DEL of failures and cooldown, sent unread (aim_rstate_lease_release). */
int	 aim_rstate_success(struct aim_rstate *r, const char *registry_dir,
	    const char *tool_id);
/* *n: the counter's value before this INCR. */
int	 aim_rstate_next(struct aim_rstate *r, const char *registry_dir,
	    const char *counter, int64_t *n);
/* day: "YYYY-MM-DD" (UTC); capability may be NULL. */
int	 aim_rstate_spend_add(struct aim_rstate *r, const char *registry_dir,
	    const char *tool_id, const char *capability, const char *day,
	    double usd);
int	 aim_rstate_spent(struct aim_rstate *r, const char *registry_dir,
	    const char *tool_id, const char *day, double *usd);
/*
 * 1 with a malloc'd *key and *token when a lease of ttl_ms was free, 0
 * when max_concurrent are held, -1.
 */
int	 aim_rstate_lease_acquire(struct aim_rstate *r,
	    const char *registry_dir, const char *tool_id,
	    int64_t max_concurrent, int64_t ttl_ms, char **key,
	    int64_t *token);
/* 1 renewed for ttl_ms, 0 the lease is gone, -1. */
int	 aim_rstate_lease_renew(struct aim_rstate *r, const char *key,
	    int64_t token, int64_t ttl_ms);
/*
 * Sent without waiting: its reply is read before the next command's (or
 * at aim_rstate_close), so a release costs no round trip of its own.
 */
int	 aim_rstate_lease_release(struct aim_rstate *r, const char *key,
	    int64_t token);

/* ---- vault.c: the secret vault (aim-secret(1)) ---- */

#define AIM_VAULT_KEY_BYTES	32

/* What went wrong opening or saving a vault (with a message in *why). */
enum aim_vault_error {
	AIM_VAULT_OK = 0,
	AIM_VAULT_NOTFOUND,	/* no such vault (or key file) */
	AIM_VAULT_UNSAFE,	/* a symlink, not ours, or open to others */
	AIM_VAULT_IO,		/* read, write, lock or memory failure */
	AIM_VAULT_FORMAT,	/* not an aim vault, or truncated */
	AIM_VAULT_VERSION,	/* a format version this aim does not read */
	AIM_VAULT_LIMITS,	/* argon2id limits out of libsodium's range */
	AIM_VAULT_NOKEY,	/* the vault wants a key we were not given */
	AIM_VAULT_WRONGKEY,	/* the key check does not match */
	AIM_VAULT_CORRUPT	/* right key, content does not authenticate */
};

/* How to unlock: a key file (32 bytes), or a passphrase (sodium memory). */
struct aim_unlock {
	const char *keyfile;
	const unsigned char *pass;
	size_t	 passlen;
};

struct aim_vault_secret {
	char	*name;		/* "anthropic/api_key" */
	char	*description;
	int64_t	 created_at, updated_at;	/* Unix seconds */
	unsigned char *value;	/* sodium_malloc, NUL after value_len */
	size_t	 value_len;
};

struct aim_vault {
	char	*path;
	int	 kdf;		/* 0 key file, 1 argon2id */
	uint64_t opslimit, memlimit;
	unsigned char salt[16];
	unsigned char *key;	/* sodium_malloc, AIM_VAULT_KEY_BYTES */
	unsigned char last_nonce[24];	/* of the last save, for tests */
	struct aim_vault_secret *v;
	size_t	 n, cap;
	int	 lock_fd;	/* flock'd <path>.lock, or -1 */
};

/* sodium_init() and no core dumps (aim_nodump).  0, or -1. */
int	 aim_vault_setup(void);

/* $AIM_VAULT > $XDG_DATA_HOME/aim/vault > ~/.local/share/aim/vault; malloc'd. */
char	*aim_vault_default_path(void);

/*
 * Open and decrypt the vault at path (aim-secret(1) "Vault format": 84-byte
 * header, then XChaCha20-Poly1305 over the content with the header as
 * associated data).  With lock, first take the vault's flock, held until
 * aim_vault_close.  Returns AIM_VAULT_OK or an enum aim_vault_error with a
 * malloc'd *why; the vault file is never changed.  Always aim_vault_close()
 * afterwards.
 */
int	 aim_vault_open(struct aim_vault *v, const char *path,
	    const struct aim_unlock *u, int lock, char **why);

/* Create an empty vault at path (must not exist) for the key u gives. */
int	 aim_vault_create(struct aim_vault *v, const char *path,
	    const struct aim_unlock *u, char **why);

/*
 * Write v atomically: a temporary file, fsync, rename, fsync of the
 * directory; a fresh random nonce every time.  Call with the lock held.
 */
int	 aim_vault_save(struct aim_vault *v, char **why);

/* Change the key to u's (a new salt for a passphrase) and save. */
int	 aim_vault_rekey(struct aim_vault *v, const struct aim_unlock *u,
	    char **why);

/* Borrowed: the secret called name, or NULL. */
const struct aim_vault_secret *aim_vault_get(const struct aim_vault *v,
	    const char *name);

/* Add or replace a secret (description NULL keeps the old one).  0 or -1. */
int	 aim_vault_set(struct aim_vault *v, const char *name,
	    const char *description, const unsigned char *value,
	    size_t value_len, int64_t now);

/* Remove a secret: 0, or -1 when there is none of that name. */
int	 aim_vault_rm(struct aim_vault *v, const char *name);

void	 aim_vault_close(struct aim_vault *v);

/*
 * Open the vault the way a filter does, with nobody to ask: sodium set up,
 * $AIM_VAULT (else the XDG default), the key file of $AIM_VAULT_KEYFILE,
 * no lock; then hand every value to aim_redact_register so no echo of one
 * leaves aim.  AIM_VAULT_OK, or an error with *why ("can't initialise
 * libsodium", "no vault path: set AIM_VAULT or HOME", or aim_vault_open's);
 * aim_vault_close() v either way.  Used by aim-invoke and aim-audit.
 */
int	 aim_vault_open_unattended(struct aim_vault *v, char **why);

/* A new key file: 32 random bytes, mode 0600, never over an existing file. */
int	 aim_vault_keyfile_create(const char *path, char **why);

/* ---- audit.c: audit entries (aim-audit(1)) ---- */

/*
 * The audit entry of a record (borrowed): timestamp (iso), actor, tool_id
 * ("none" when the record has none), capability, payload, result, id,
 * attempts, contract, plus error for error records, and the record's
 * fanout and apply objects (aim-fanout(1) OUTPUT, aim-apply(1) OUTPUT)
 * and a workflow's steps without their routes and attempts (the entry's
 * attempts carry "step"; aim-invoke(1) "Workflows"); redacted.  New ref.
 */
json_t	*aim_audit_entry(json_t *rec, const char *iso_timestamp,
	    const char *default_actor);

/*
 * A tool id or capability as the part of an audit file name it becomes
 * (aim-audit(1) "Entries"): [A-Za-z0-9._-] only, others '-', a leading '.'
 * too, "none" for NULL or empty, at most AIM_NAME_PART_MAX bytes; out holds
 * AIM_NAME_PART_MAX + 1.  aim_chain_append names entries with it, and verify
 * checks names against it.
 */
#define AIM_NAME_PART_MAX	64
void	 aim_audit_name_part(char *out, const char *s);

/* ---- dups.c: duplicate files by content (aim-scan(1)) ---- */

/*
 * Find duplicate regular files under roots[0..nroots): files of at least
 * min_size_bytes (and never empty ones), with one of the extensions exts
 * (NULL or empty: any; "gz" matches "a.tar.gz"), hard links to one inode
 * counted once (the first path in strcmp order).  Candidates are grouped by size,
 * then by their first 4 KiB, then compared chunk by chunk in lock step
 * while one BLAKE2b state per group of still-equal files hashes the
 * content (groups of more than 64 files are hashed file by file instead).
 * With AIM_DUPS_NO_HASH in flags, nothing is hashed (groups of more than
 * 64 equal files excepted, internally) and "hash" is null: bytes compared
 * are proof enough, and a pair of duplicates then costs two reads and a
 * memcmp.  Returns a new JSON array of records {finding:"duplicate", hash
 * (BLAKE2b-256, hex), size_bytes, files (paths in strcmp order),
 * wasted_bytes = size_bytes x (files - 1)}, largest waste first (then by
 * first path).  Problems go to w->warn (w->visit and w->visit_arg are this
 * function's during the walk, NULL after it);
 * a file that changed size or vanished between the walk and the compare
 * is left out with a warning.
 */
#define AIM_DUPS_NO_HASH	0x1

json_t	*aim_dups_find(const char *const *roots, size_t nroots,
	    int64_t min_size_bytes, json_t *exts, int flags,
	    struct aim_walk *w);

/*
 * BLAKE2b-256 of the file open on fd from its current offset, and its
 * length in *len_bytes.  Returns 0, or -1 with errno.
 */
int	 aim_hash_fd(int fd, unsigned char out[AIM_HASH_BYTES],
	    int64_t *len_bytes);

/* ---- rcache.c: the result cache (aim-cache(1)) ---- */

/*
 * One process's use of the result cache, $XDG_CACHE_HOME/aim/results/
 * (else ~/.cache/aim/results/): entries/xx/<key>.json {"version": 1,
 * "stored_ms", "result", "files": [{"path", "blob"}]}, blobs/xx/<BLAKE2b
 * of the content> and stats.json {"hits", "misses", "stores"}
 * (aim-cache(1) FILES).  Every file is written to a temporary name and
 * renamed, so concurrent processes see an entry whole or not at all.
 */
struct aim_rcache {
	char	*dir;		/* NULL: off */
	int64_t	 max_bytes;	/* cache_max_bytes */
	int64_t	 hits, misses, stores;	/* not yet in stats.json */
	int	 stored_any;	/* prune at the close */
};

/* The cache directory (malloc'd), or NULL when neither XDG_CACHE_HOME nor HOME is set. */
char	*aim_rcache_dir(void);

/*
 * Ready rc; off (--no-cache, AIM_NO_CACHE) or max_bytes 0 leaves it off:
 * every lookup a miss not counted, nothing stored.  No I/O.
 */
void	 aim_rcache_init(struct aim_rcache *rc, int64_t max_bytes, int off);

/*
 * Add the counts to stats.json and, when this process stored anything,
 * prune to max_bytes (aim_rcache_prune).  Failures are silent: the cache
 * is soft.  rc is off afterwards.
 */
void	 aim_rcache_close(struct aim_rcache *rc);

/*
 * The key of running candidate cand (borrowed; aim-resolve(1) OUTPUT) on
 * routed record rec (borrowed): BLAKE2b-256 over the tool id, the binary
 * it detected (path, inode, size, mtime), its argv, its adapter object
 * as canonical JSON (sorted keys, compact), the content of every file
 * its argv names (a script adapter), the capability, the canonical
 * payload, the working directory and the content of each payload.files
 * (aim-cache(1) "The key").  *files (new reference) gets [{path, hash
 * (hex, absent for a missing file)}] for aim_rcache_get and _put.  0, or
 * -1 when a payload file cannot be read, is a symlink or not a regular
 * file, or is over 64 MiB (such a run is not cached).
 */
int	 aim_rcache_key(json_t *rec, json_t *cand,
	    unsigned char key[AIM_HASH_BYTES], json_t **files);

/*
 * The result stored under key (new reference), its files written back as
 * the tool left them (each atomically, mode kept; only those of files,
 * aim_rcache_key's, borrowed), the entry's mtime touched (its last use,
 * for eviction); or NULL: a miss.  An entry that does not parse, names a
 * file outside files, or whose blob is missing or damaged is a miss, and
 * is removed.  Counts a hit or a miss.
 */
json_t	*aim_rcache_get(struct aim_rcache *rc,
	    const unsigned char key[AIM_HASH_BYTES], json_t *files);

/*
 * Store result (borrowed) of a successful run under key, with the new
 * content of each of files (aim_rcache_key's, borrowed) that changed.
 * 0, or -1 not stored: the cache is off, the result is not a success, its
 * content.files_modified names a file outside files (aim-cache(1) "What
 * is cached"), a file went or a write failed.
 */
int	 aim_rcache_put(struct aim_rcache *rc,
	    const unsigned char key[AIM_HASH_BYTES], json_t *result,
	    json_t *files);

/*
 * Evict from the cache in dir the least recently used entries until the
 * rest and their blobs take at most max_bytes, then the blobs no entry
 * names and the entries that do not read.  *report (new reference):
 * {dir, removed_entries, removed_blobs, freed_bytes, max_bytes,
 * size_bytes, entries} (aim-cache(1) "prune").  Returns 0; why is for
 * later use and untouched.
 */
int	 aim_rcache_prune(const char *dir, int64_t max_bytes, json_t **report,
	    char **why);

/*
 * Remove every entry, blob and the counters of the cache in dir; *report
 * as aim_rcache_prune's, without max_bytes.  0, or -1 with a malloc'd
 * *why when the counters file could not be removed.
 */
int	 aim_rcache_clear(const char *dir, json_t **report, char **why);

/*
 * The cache in dir (aim-cache(1) "stats"), new reference: {dir, entries,
 * blobs, size_bytes, max_bytes, hits, misses, stores, hit_rate (hits over
 * lookups, null before the first)}.
 */
json_t	*aim_rcache_stats(const char *dir, int64_t max_bytes);

/* ---- worktree.c: a candidate's copy of the tree (aim-fanout(1)) ---- */

/*
 * The tree a fan-out starts from (aim-fanout(1) "Worktrees", aim-apply(1)
 * "Base check").  In a git work tree: its top, the working directory's
 * place below it (prefix, "" or "dir/"), the common git directory, HEAD
 * (40 hex digits) and tree, the git tree id of what git add -A would
 * record (tracked and untracked files, ignored ones left out).  Outside
 * git: git_dir NULL, head "", and tree a BLAKE2b-256 (hex) of every
 * entry's name, mode, size and modification time.
 */
struct aim_base {
	char	*top;		/* absolute */
	char	*prefix;
	char	*git_dir;	/* absolute, or NULL outside git */
	char	 head[65];
	char	 head_tree[65];	/* HEAD's tree id, "" outside git */
	char	 tree[AIM_HASH_HEX_BYTES + 1];
	char	*index;		/* the user's index, in git */
};

/*
 * Read the base of the tree holding directory dir.  In git, the state's
 * tree is written with an index of its own (a copy of the user's, in
 * the worktrees' directory, removed after), so its objects join the
 * repository's object store and the user's index is untouched.  0, or
 * -1 with a malloc'd *why ("DIR: no commit yet: a worktree needs HEAD",
 * "git add: ...").  aim_base_free afterwards when 0.
 */
int	 aim_base_read(struct aim_base *b, const char *dir, char **why);

/*
 * aim_base_read in two steps, so that the copies can be checked out at
 * HEAD while the state's tree is written (aim-fanout(1) "Worktrees"):
 * aim_base_head all but the tree in git (outside git the tree too), then
 * aim_base_state the tree.  Each 0, or -1 with a malloc'd *why as
 * aim_base_read; aim_base_free after aim_base_head gave 0, whatever
 * aim_base_state gave.
 */
int	 aim_base_head(struct aim_base *b, const char *dir, char **why);
int	 aim_base_state(struct aim_base *b, char **why);
void	 aim_base_free(struct aim_base *b);

/*
 * The directory every worktree lives under (aim-fanout(1) FILES):
 * $XDG_STATE_HOME/aim/worktrees, else ~/.local/state/aim/worktrees.
 * Malloc'd, or NULL when neither variable is set.
 */
char	*aim_worktree_root(void);

/*
 * What goes into a worktree besides the tree: link and copy, JSON arrays
 * of paths relative to the top (borrowed, may be NULL), symlinked or
 * copied (cp -a --reflink=auto) in when the user's tree has them (the
 * ignored files a build needs: .env, node_modules); setup, a command run
 * with sh -c in the worktree's working directory after them, or NULL.
 */
struct aim_worktree_opts {
	json_t	*link;
	json_t	*copy;
	const char *setup;
};

/* One candidate's copy (aim-fanout(1) "Worktrees"). */
struct aim_worktree {
	char	*dir;		/* <root>/<pid>-<n>: all of it */
	char	*tree;		/* dir/tree: the copy's top */
	char	*cwd;		/* tree + the base's prefix */
	char	*git_dir;	/* the repository's common directory, in git */
	int	 git;
	char	*git_env[3];	/* outside git: GIT_DIR=dir/git, GIT_WORK_TREE */
	char	 base[AIM_HASH_HEX_BYTES + 1];	/* the tree id diffs start from */
	int	 checked_out;	/* aim_worktree_checkout done */
	struct timespec filled;	/* the filesystem's clock once it held its
				   base (0: unknown) */
	int64_t	 disk_bytes;	/* its disk as the last diff's walk saw it,
				   or -1 */
};

/*
 * The place of a copy of b's tree: a new directory <root>/<pid>-<n>
 * (mode 0700; pid is ours, for aim_worktree_sweep) and wt's names; the
 * copy itself is aim_worktree_fill's, which may run in another process
 * (aim-fanout(1) DESCRIPTION: each candidate's process fills its own, so
 * the copies are made at once).  0, or -1 with a malloc'd *why ("can't
 * create X: ...", outside git "X: the worktrees' directory is inside
 * it").  aim_worktree_remove or aim_worktree_keep afterwards when 0.
 */
int	 aim_worktree_new(struct aim_worktree *wt, const struct aim_base *b,
	    char **why);

/*
 * Make the copy in wt (from aim_worktree_new): in git, git worktree add
 * --detach at HEAD, then the diff of HEAD's tree to the state's applied
 * to the working files (git apply), so the tool sees the user's
 * uncommitted and untracked files as uncommitted and untracked; outside
 * git, cp -a --reflink=auto and a git directory of
 * its own beside the copy (dir/git) holding the first state.  Then the
 * mark aim_worktree_diff starts from (wt->filled, the ctime of a new
 * file dir/filled), and o's links, copies and setup (aim-fanout(1)
 * "Worktrees").  0, or -1 with a
 * malloc'd *why ("git worktree: ...", "setup command failed: ...", "X:
 * not a path inside the tree"); aim_worktree_remove cleans up either way.
 */
int	 aim_worktree_fill(struct aim_worktree *wt, const struct aim_base *b,
	    const struct aim_worktree_opts *o, char **why);

/*
 * The first part of aim_worktree_fill, which needs no more of b than
 * aim_base_head gives: in git, git worktree add --detach --no-checkout
 * at HEAD (under aim's lock of git's worktree list) and git reset
 * --hard; outside git the whole copy.  aim_worktree_fill then does the
 * rest once b's tree is known (aim-fanout(1) "Worktrees").  0, or -1
 * with a malloc'd *why ("git worktree: ...", "git reset: ...");
 * aim_worktree_remove cleans up either way.
 */
int	 aim_worktree_checkout(struct aim_worktree *wt,
	    const struct aim_base *b, char **why);

/*
 * Remove wt: its directory (never through a symlink), then in git
 * git worktree remove --force, which forgets the worktree git listed,
 * and git worktree prune when that failed; the lock of the worktree
 * list is held only for git's part.  wt is freed either way.  0, or -1
 * with a malloc'd *why ("can't remove X: ...") when why is not NULL.
 */
int	 aim_worktree_remove(struct aim_worktree *wt, char **why);

/*
 * Leave wt for the user (aim-fanout(1) --keep): a file "keep" in its
 * directory tells aim_worktree_sweep to pass it by; wt is freed.  0, or
 * -1 with errno when the mark could not be written.
 */
int	 aim_worktree_keep(struct aim_worktree *wt);

/*
 * Forget wt: its memory freed and every member zero, the copy left as it
 * is on disk (gone already, or another process's to remove).
 */
void	 aim_worktree_free(struct aim_worktree *wt);

/*
 * The changes made in wt since it held its base, as git add -A and git
 * diff --cached --binary would give them, with a/ and b/ prefixes
 * whatever the user's configuration says: a patch git apply takes.  A
 * walk of wt's directory names the files whose ctime or mtime is not
 * before wt->filled, those in a directory whose entries changed since,
 * and (git ls-files) the base's files that are gone; those git does not
 * ignore (git check-ignore) go into an index of the base alone (git
 * read-tree, git update-index --add --remove), which is diffed.  The
 * walk's st_blocks, in bytes, into wt->disk_bytes.  Without the mark,
 * or when the walk could not read the whole copy, git add -A over the
 * copy instead.  *diff malloc'd ("" when nothing changed), *len its
 * bytes.  0, or -1 with a malloc'd *why ("git update-index: ...").
 * aim-fanout(1) "Worktrees".
 */
int	 aim_worktree_diff(struct aim_worktree *wt, char **diff, size_t *len,
	    char **why);

/*
 * Files and lines a diff changes: "diff --git" headers, and the lines
 * of its hunks that start with + or - (a binary file counts as a file
 * only); aim-fanout(1) OUTPUT: files_changed, lines_added, lines_removed.
 */
struct aim_diff_stat {
	int64_t	 files;
	int64_t	 lines_added;
	int64_t	 lines_removed;
};
void	 aim_diff_stat(const char *diff, size_t len, struct aim_diff_stat *st);

/*
 * The files whose content differs between b's tree and tree (another
 * state of the same git work tree, from aim_base_read): a new JSON array
 * of paths relative to the top (aim-apply(1) "Base check"); always empty
 * outside git, where the state's hash names no file.  NULL with a
 * malloc'd *why when git failed.
 */
json_t	*aim_base_changes(const struct aim_base *b, const char *tree,
	    char **why);

/*
 * The files a diff (len bytes) changes, as git apply --numstat names
 * them (the new name of a rename), run in top: a new JSON array, or
 * NULL with a malloc'd *why ("git apply: corrupt patch at line 3").
 */
json_t	*aim_diff_files(const char *top, const char *diff, size_t len,
	    char **why);

/*
 * Apply a diff to the working tree at top, all of it or nothing
 * (aim-apply(1) DESCRIPTION): git apply --check first, then git apply
 * (working files only; the index is left as it was); check_only stops
 * after the check.  An empty diff is applied at once.  0, or -1 with a
 * malloc'd *why (git apply's last line: "git apply: calc.sh: patch does
 * not apply").
 */
int	 aim_diff_apply(const char *top, const char *diff, size_t len,
	    int check_only, char **why);

/*
 * Bytes of disk everything under path takes, st_blocks as du(1) counts
 * them, symlinks not followed (aim-fanout(1) OUTPUT: disk_bytes); what
 * cannot be read counts 0.
 */
int64_t	 aim_disk_bytes(const char *path);

/*
 * Remove the leftovers of runs that died (SIGKILL, a crash): each
 * <pid>-* under the root whose process is gone (kill(2) says ESRCH),
 * then prune the worktree list of its repository.  A live process's
 * and those kept (aim_worktree_keep) are never touched.  Returns how many were removed; *why (malloc'd, or
 * NULL) names the first that could not be.
 */
int	 aim_worktree_sweep(char **why);

#endif /* AIM_STORE_H */
