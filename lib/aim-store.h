/*
 * aim-store.h: layer 3 of libaim, what persists: shared state, the vault,
 * audit entries, duplicate files.  lib/LAYERS gives the table: a module
 * includes its own layer's header, which includes the lower ones, and calls
 * nothing above it.
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
struct aim_state {
	char	*path;
	json_t	*root;
	int	 lock_fd;	/* -1 unless locked */
	int	 have;		/* the snapshot below is of a file */
	dev_t	 dev;
	ino_t	 ino;
	off_t	 size;
	struct timespec mtime;
};

/* Wall-clock milliseconds since the epoch (CLOCK_REALTIME): state times. */
int64_t	 aim_wall_ms(void);

/* wall_ms as "2026-11-21T19:30:00.123Z" (24 bytes + NUL). */
void	 aim_iso_ms(int64_t wall_ms, char out[32]);

/* Find the state file (no I/O).  0, or -1 with a malloc'd *why (no HOME). */
int	 aim_state_init(struct aim_state *st, char **why);
void	 aim_state_free(struct aim_state *st);

/*
 * Bring the snapshot up to date (re-read only when the file changed).
 * Returns 0, or -1 with a malloc'd *why when it cannot be read; a file that
 * does not parse is an empty state, returned as 0 with *why saying so.
 */
int	 aim_state_refresh(struct aim_state *st, char **why);

/*
 * aim_state_refresh for a process that goes on without the state: st when
 * usable, else NULL; every problem is said once (aim_warn_once on said).
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

/* Would a success change anything (failures or a cooldown on record)? */
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
 * Take one of max_concurrent slots of tool_id of registry_dir shared by
 * every process ($XDG_STATE_HOME/aim/slots/<tool>.<h>.<i>.lock, h the
 * first 16 hex digits of the BLAKE2b-256 of registry_dir; flock LOCK_NB;
 * the kernel frees a slot when its holder exits).  Returns 1 with *fd_out
 * to close when done, 0 when every slot is taken, -1 with a malloc'd *why.
 */
int	 aim_slot_acquire(const char *registry_dir, const char *tool_id,
	    int64_t max_concurrent, int *fd_out, char **why);

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
 * attempts, contract, plus error for error records; redacted.  New ref.
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

#endif /* AIM_STORE_H */
