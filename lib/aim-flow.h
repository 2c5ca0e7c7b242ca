/*
 * aim-flow.h: layer 4 of libaim, a request's flow: routing, and the audit
 * chain that records it.  lib/LAYERS gives the table: a module includes its
 * own layer's header, which includes the lower ones, and calls nothing
 * above it.
 */
#ifndef AIM_FLOW_H
#define AIM_FLOW_H

#include "aim-store.h"

/* ---- route.c: candidate lists (aim-resolve(1)) ---- */

struct aim_router {
	const struct aim_registry *reg;
	const struct aim_config *cfg;
	json_t	*lb_counters;	/* counters when the state file is unusable */
	json_t	*detect_cache;	/* command -> {path|reason, checked_ms} */
	json_t	*argv_cache;	/* tool id -> {argv|why, at} */
	char	*cwd;		/* payload.files are relative to it */
	struct aim_state state;	/* cooldowns and shared counters */
	int	 state_ok;
	json_t	*said;		/* state problems said already */
};

void	 aim_router_init(struct aim_router *rt, const struct aim_registry *reg,
	    const struct aim_config *cfg);
void	 aim_router_free(struct aim_router *rt);

/*
 * Route one request (borrowed; validated: "capability" string, "payload"
 * object).  A request of "steps" or a "workflow" has each step routed
 * into its "steps" and a route of strategy "steps" without candidates
 * (aim-resolve(1) "Workflows"); a step that cannot be routed fails it
 * with its code, the message naming the step ("steps[1]: ...").  On success adds "route" {capability, strategy, registry,
 * candidates[], and deadline_ms + min_attempt_ms when a deadline applies,
 * fallback: false when the rule turns fallback off, verify and max_rounds:
 * the rule's verify command and its rounds, aim-invoke(1) "Verify and
 * retry" and aim-fanout(1) "Verify and choose"} to req and returns 0.
 * strategy: ordered, direct, or a load-balancing strategy (round_robin,
 * weighted, least_recent_failure, cheapest; aim-resolve(1) "Routing").
 * Candidate statuses: ready, cooldown (with until, until_ms),
 * not_installed, no_adapter, unknown_tool; ready ones carry argv,
 * timeout_ms (request > rules > config), pass_env, secrets (the tool's
 * {"ENV_NAME": "vault/name"}; aim-invoke(1) "Secrets"), max_retries (tool >
 * rule) and max_concurrent + concurrency ("queue" or "reject") from the
 * rules' conflict_resolution.concurrent_access.  On a request that cannot
 * be routed returns -1 with *code ("unknown_capability", "unknown_tool",
 * "missing_context", "too_many_files", "forbidden_path",
 * "file_not_allowed", "invalid_request", "all_cooling_down") and a malloc'd
 * *message; req is untouched, and *details may hold fields for the error
 * object (new reference: retry_after_ms, until, tool_id for
 * all_cooling_down).
 */
int	 aim_route(struct aim_router *rt, json_t *req, const char **code,
	    char **message, json_t **details);

/*
 * Why request req (borrowed) cannot be routed, or NULL: "capability" a
 * non-empty string, "payload" an object of at most limit_bytes as compact
 * JSON, "id", "tool_id", "actor" strings when present, "timeout_ms" and
 * "deadline_ms" from 1 to 86400000 when present (aim-resolve(1) "Requests").
 * The message is static, or in buf (n bytes) for the payload's size:
 * "payload is N bytes, limit M", which is the payload_too_large error.
 */
const char *aim_request_invalid(json_t *req, size_t limit_bytes, char *buf,
	    size_t n);

/*
 * The largest payload a request may carry, bytes: the config's
 * max_payload_bytes, or the rules' security.max_payload_size_bytes
 * (security borrowed, may be NULL) when smaller (aim-resolve(1)
 * "Requests").
 */
size_t	 aim_payload_limit(json_t *security, const struct aim_config *cfg);

/*
 * One tool's candidate as aim_route would list it ({tool_id, status,
 * reason?, until?, argv?...}), with no request: no limits checked, no
 * counter moved.  For aim-scan and aim status.  New reference.
 */
json_t	*aim_router_candidate(struct aim_router *rt, const char *tool_id);

/* ---- chain.c: the tamper-evident trail (aim-audit(1) "The chain") ---- */

#define AIM_CHAIN_HEAD		".aim-chain-head"	/* in the audit directory */
#define AIM_PUBKEY_BYTES	32	/* Ed25519 */

/*
 * One audit directory's chain.  The head file AIM_CHAIN_HEAD is both the
 * lock (flock(2)) and the record of the chain's head: seq, hash and path of
 * the newest entry, and the entry being written, if any (aim-audit(1),
 * "The chain").
 */
struct aim_chain {
	char	*dir;		/* absolute audit directory */
	int	 fd;		/* the head file, or -1 */
	int	 locked;
	int	 head_state;	/* at lock: 1 read, 0 empty or missing, -1 damaged */
	int64_t	 seq;		/* the head: newest seq, 0 for none */
	unsigned char hash[AIM_HASH_BYTES];	/* its hash, zeros for none */
	char	 path[4096];	/* its path, relative to dir, or "-" */
	int64_t	 pending_seq;	/* shared lock only: a write under way, or 0 */
	int64_t	 pending_first;	/* ... its first seq (a group's), or 0 */
	unsigned char pending_hash[AIM_HASH_BYTES];
};

/*
 * Create dir (0700) and open or create its head file (0600); no lock yet.
 * A dir it creates gets a .gitignore holding "*" (0600; aim-audit(1)
 * "Audit directory").
 * 0, or -1 with errno and a malloc'd *why ("can't create /x: ...").
 * Always aim_chain_close() afterwards.
 */
int	 aim_chain_open(struct aim_chain *c, const char *dir, char **why);

/*
 * The .gitignore of an audit directory: "*" (0600; aim-audit(1) "Audit
 * directory"), so entries, whole payloads, are not committed by accident;
 * written to a temporary name, synced, linked into place, never over one
 * there already (that one is kept: 0).  0, or -1 with errno and a
 * malloc'd *why ("can't write X: ...", "can't link X: ...").
 */
int	 aim_audit_gitignore(const char *dir, char **why);
void	 aim_chain_close(struct aim_chain *c);

/*
 * Append entry (borrowed; its "timestamp", "seq" and "prev" are set here,
 * under the lock, so names, seq and time agree) as the next link:
 * <dir>/<day>/<stamp>_<tool>_<capability>.json, or _aim_<kind> for an
 * entry with "kind"; written to a temporary file and fsynced, announced in
 * the head (fdatasync), linked to its name (-2, -3, ... on a collision),
 * the day directory fsynced, the head advanced.  On failure nothing is
 * left under a final name and the head is unchanged.  _locked: the caller
 * holds the exclusive lock.  Returns the malloc'd absolute path, or NULL
 * with errno and *why ("can't write X: No space left on device", "can't
 * link X: ...", "can't sync X: ...").
 */
char	*aim_chain_append(struct aim_chain *c, json_t *entry, char **why);
/*
 * Append n entries (borrowed; stamped as aim_chain_append does) as one
 * group commit (aim-audit(1) "Group commit"): durable together with two
 * syncs, named in order.  Returns how many were committed, from the
 * first: all n, or fewer when the day changed within the group (append
 * the rest with another call); paths[0..k) are then their malloc'd
 * paths.  0 when none was: *why says why, and the chain is as it was.
 * n 1 is aim_chain_append.
 */
size_t	 aim_chain_append_group(struct aim_chain *c, json_t **entries,
	    size_t n, char **paths, char **why);

/* Is kind one of the management event kinds below?  1 or 0. */
int	 aim_audit_event_kind(const char *kind);

/*
 * The management event kinds (the list of aim_audit_event below), in
 * static storage, NULL-terminated; for messages that name them all.
 */
const char *const *aim_audit_event_kinds(void);

/*
 * Append a management event to the chain of audit directory dir
 * (aim-scan(1) "Audit events", aim-secret(1) "Audit trail"): an entry
 * {"timestamp", "kind", "actor" (login name of the effective user),
 * "program", "event": details, "contract", "seq", "prev"} named
 * <stamp>_aim_<kind>.json.  kind is one of secret_set, secret_get,
 * secret_delete, health_check, scan_execute, config_update, error.  details
 * (borrowed, may be NULL) is copied and redacted like an entry
 * (aim_redact); never put a secret value in it.  Returns 0, or -1 with
 * errno (EINVAL: bad kind or dir NULL) and, when why is not NULL, a
 * malloc'd *why.
 */
int	 aim_audit_event(const char *dir, const char *kind, json_t *details,
	    char **why);

/* One entry file as scan saw it. */
struct aim_scan_entry {
	char	*path;		/* relative to the audit directory */
	int64_t	 seq;		/* 0: none */
	unsigned char hash[AIM_HASH_BYTES];	/* of the file's bytes */
	unsigned char prev[AIM_HASH_BYTES];
	size_t	 size_bytes;
	const char *bad;	/* why it is not a link of the chain, or NULL */
	int	 misnamed;	/* name disagrees with timestamp/tool/capability */
	int	 is_prune;
	int64_t	 prune_seq;	/* a prune entry's through_seq */
	unsigned char prune_hash[AIM_HASH_BYTES];
	json_t	*json;		/* the parsed entry when asked for, or NULL */
};

struct aim_scan {
	struct aim_scan_entry *v;	/* sorted by seq, then path */
	size_t	 n, cap;
};

/*
 * Read every entry (*.json in the YYYY-MM-DD directories from since_day to
 * until_day, both inclusive, NULL: no bound) of dir once: hash, parse,
 * check the name.  keep_json keeps each parsed entry.  A missing dir is
 * empty.  0, or -1 with *why when a directory could not be read (what
 * could be read is in s).  aim_chain_scan_free() s either way.
 */
int	 aim_chain_scan(const char *dir, struct aim_scan *s,
	    const char *since_day, const char *until_day, int keep_json,
	    char **why);
void	 aim_chain_scan_free(struct aim_scan *s);

/* ---- verify.c: checking the chain (aim-audit(1) "Verify") ---- */

struct aim_verify {
	const char *dir;
	struct aim_scan scan;
	int	 head_state;	/* 1 read, 0 missing, -1 damaged */
	int64_t	 head_seq;
	unsigned char head_hash[AIM_HASH_BYTES];
	int64_t	 first_seq, last_seq;	/* of the chain found */
	unsigned char last_hash[AIM_HASH_BYTES];
	size_t	 entries;	/* with a seq */
	size_t	 problems;
};

/*
 * Walk the chain of dir under a shared lock and say every problem on
 * stderr, "prog: <file>: seq N: <what>": a file that is not an entry or
 * has no seq, a name that does not match, a duplicate, missing seqs, an
 * entry whose hash is not the next one's prev (edited), the first entry's
 * prev (zero, or the prune entry's through_hash), the head disagreeing
 * with the chain's end.  Fills vr (memset it to 0 first; aim_verify_free
 * afterwards); vr->problems counts.  0, or -1 with *why when dir could not
 * be read.
 */
int	 aim_chain_verify(const char *dir, struct aim_verify *vr, char **why);
void	 aim_verify_free(struct aim_verify *vr);

/* A checkpoint: what a signed statement says of the chain. */
struct aim_checkpoint {
	int64_t	 seq;
	unsigned char hash[AIM_HASH_BYTES];
	char	 time[40];
};

/*
 * Check a checkpoint against a verified chain: its seq must be in the log
 * with its hash (or be the one a prune entry committed to).  Says the
 * problem as aim_chain_verify does, naming the checkpoint file name.
 * 0 holds, 1 older than the pruned range (not checkable), -1 problem.
 */
int	 aim_verify_checkpoint(struct aim_verify *vr, const char *name,
	    const struct aim_checkpoint *cp);

/* ---- keys.c: signing keys, checkpoints, prune (aim-audit(1)) ---- */

/*
 * The audit signing key: $AIM_AUDIT_KEY, else
 * $XDG_DATA_HOME/aim/audit.key, else ~/.local/share/aim/audit.key; the
 * public key is the same path plus ".pub".  Malloc'd, or NULL.
 */
char	*aim_audit_key_path(void);

/*
 * Make an Ed25519 key pair (crypto_sign): the secret key at seckey_path
 * (0600, O_EXCL: never over an existing file) as "aim-audit secret key 1\n"
 * and 128 hex digits, the public key at seckey_path.pub (0644) as
 * "aim-audit public key 1\n" and 64 hex digits; *pubhex gets those digits
 * (malloc'd).  0, or -1 with *why.
 */
int	 aim_audit_keygen(const char *seckey_path, char **pubhex, char **why);

/* Read a public key file.  0, or -1 with *why. */
int	 aim_audit_pubkey_read(const char *path,
	    unsigned char pk[AIM_PUBKEY_BYTES], char **why);

/*
 * A signed checkpoint of dir's head (aim-audit(1) "Checkpoints"): taken
 * under the exclusive lock (so a pending write is settled first), signed
 * with the secret key at seckey_path, which must be a private file
 * (aim_private_file).  Malloc'd text, or NULL with *why.
 */
char	*aim_checkpoint_make(const char *dir, const char *seckey_path,
	    char **why);

/*
 * Parse a checkpoint's text and check its Ed25519 signature with pk.
 * 0 and *cp filled, or -1 with *why ("not an aim-audit checkpoint", "bad
 * signature: not signed by the key given").
 */
int	 aim_checkpoint_parse(const char *text, size_t len_bytes,
	    const unsigned char pk[AIM_PUBKEY_BYTES], struct aim_checkpoint *cp,
	    char **why);
int	 aim_checkpoint_read(const char *path,
	    const unsigned char pk[AIM_PUBKEY_BYTES], struct aim_checkpoint *cp,
	    char **why);

/*
 * Retention (audit_log_retention_days): remove the day directories of dir
 * older than days days (UTC dates before today - days), under the
 * exclusive lock.  First a prune entry {"kind":"prune","pruned":{
 * "through_seq","through_hash","days","entries","retention_days","before"}}
 * is appended, committing to the newest chained entry removed, so verify
 * holds afterwards.  dry_run removes and writes nothing.  *report (new
 * ref) says what was (or would be) removed.  0, or -1 with *why.
 */
int	 aim_chain_prune(const char *dir, int64_t days, int dry_run,
	    json_t **report, char **why);

/* ---- invoke.c: the engine of aim-invoke(1) ---- */

/*
 * What an engine is asked to do (aim-invoke(1) DESCRIPTION): jobs records under
 * way at once (at least 1); strict: the first candidate only; dry_run:
 * plan, run nothing (the record gains "plan"); unordered: hand records
 * over as they finish rather than in the order they came; no_cache: the
 * result cache is neither read nor written (aim-cache(1); so too with
 * AIM_NO_CACHE set to anything but "" or "0").  done is called
 * with each finished record (borrowed, redacted, freed after the call:
 * json_incref to keep it), the source and line it came from.  A record
 * that ran and failed has "attempts" and result.success false.
 */
struct aim_invoke_opts {
	size_t	 jobs;
	int	 strict, dry_run, unordered, no_cache;
	void	(*done)(void *arg, json_t *rec, const char *source,
		    long lineno);
	void	*arg;
};

struct aim_invoke;

/*
 * A new engine on cfg (borrowed: it must outlive the engine: timeouts,
 * retries, back-off, cooldowns, deadline; aim_config.json in
 * aim-invoke(1) ENVIRONMENT).  The shared state (cooldowns, slots) is
 * opened now; a state that cannot be used is said once on stderr and the
 * records run without it.  The caller has called aim_proc_setup and
 * sodium_init.  Never NULL (aborts on memory exhaustion).
 */
struct aim_invoke *aim_invoke_new(const struct aim_config *cfg,
	    const struct aim_invoke_opts *opt);
void	 aim_invoke_free(struct aim_invoke *iv);

/* Whether the engine takes another record now (jobs and its queue allow). */
int	 aim_invoke_room(const struct aim_invoke *iv);

/*
 * Take one routed record (stolen; the output of aim_route, aim-resolve(1)
 * OUTPUT) read from source at lineno, and set it off: running its first
 * ready candidate, waiting, or finished at once.  Error records and
 * results pass through untouched; a record that cannot run (no route, a
 * candidate without tool_id, a ready one without argv) becomes an
 * invalid_record error record, said on stderr as "source:lineno: why".
 * A record of steps (route.strategy "steps") runs them one after another
 * and comes out once, as aim-invoke(1) "Workflows" says.
 * Call only when aim_invoke_room says so.
 */
void	 aim_invoke_add(struct aim_invoke *iv, json_t *rec,
	    const char *source, long lineno);

/*
 * aim_invoke_add for one input line: a line too long (over
 * aim_invoke_line_max bytes) or not a JSON object becomes an
 * invalid_record error record, said on stderr.
 */
void	 aim_invoke_line(struct aim_invoke *iv, const struct aim_line *line,
	    const char *source);
size_t	 aim_invoke_line_max(const struct aim_config *cfg);

/* Hand the finished records over to opt.done (in order unless unordered). */
void	 aim_invoke_flush(struct aim_invoke *iv);

/* Records taken and not yet handed over. */
size_t	 aim_invoke_pending(const struct aim_invoke *iv);

/*
 * Wait for a running attempt to end, one of the caller's extra
 * descriptors (pollfds, their revents set as poll(2) does) or the first
 * back-off or slot wait to end, at most max_wait_ms (-1: no limit).
 * Returns poll(2)'s result: -1 with errno on failure.  Then call
 * aim_invoke_step.
 */
int	 aim_invoke_poll(struct aim_invoke *iv, struct pollfd *extra,
	    size_t nextra, int max_wait_ms);

/* Move each record on that can: judge finished attempts, start waiting ones. */
void	 aim_invoke_step(struct aim_invoke *iv);

/*
 * Cut every record short: running attempts are signalled (SIGTERM, then
 * SIGKILL after the grace), the others end with outcome "interrupted by
 * SIG..." (aim-invoke(1) SIGNALS).  Once only; sig names the cause.
 */
void	 aim_invoke_interrupt(struct aim_invoke *iv, int sig);
/* The signal given to aim_invoke_interrupt, or 0. */
int	 aim_invoke_interrupted(const struct aim_invoke *iv);

/*
 * The exit status of a program whose run was iv and whose own status so
 * far is status (aim-invoke(1) EXIT STATUS): AIM_EXIT_SIGNAL + n when a
 * signal n other than SIGPIPE cut it short, else the worse of status and
 * AIM_EXIT_FAILED when a record failed.
 */
int	 aim_invoke_exit(const struct aim_invoke *iv, int status);

/*
 * fn for each attempt running now: its record (borrowed), its tool and
 * when it started (aim_now_ms clock, ms).  For a live progress line.
 */
void	 aim_invoke_each_running(const struct aim_invoke *iv,
	    void (*fn)(void *arg, json_t *rec, const char *tool_id,
	    int64_t started_ms), void *arg);

/*
 * A verify check's result, one shape wherever a check runs (the engine's
 * rounds, aim-invoke(1) "Verify and retry"; each candidate of
 * aim-fanout(1) "Verify and choose"): {command (or capability and
 * tool_id for a check routed through aim), status: passed, failed,
 * timeout or error (it could not start), exit: the exit status or null,
 * output_tail: the last AIM_VERIFY_TAIL_BYTES of its stdout and stderr
 * (for error: why), duration_ms}.  schemas/result.json "verify".
 */
#define AIM_VERIFY_TAIL_BYTES	2048

/*
 * The files a check is given: those the tool says it changed (output's
 * content.files_modified and files_created, aim-adapter(7) "Content of
 * an AI coding tool") that lie inside the working directory
 * (aim_path_within; aim-invoke(1) "Verify and retry"), else, when it
 * says none, rec's payload.files.  Both borrowed; a new array.
 */
json_t	*aim_verify_files(json_t *rec, json_t *output);

/*
 * The argv of verify command cmd on files (borrowed; strings borrowed
 * too): sh -c "exec 1>&2<newline>cmd" aim-verify FILE..., so "$@" is the files
 * and the output is stderr alone (run it with stderr_tail_bytes
 * AIM_VERIFY_TAIL_BYTES).  The vector is malloc'd, the script in
 * *script (free both).  Never fails (aborts on memory exhaustion).
 */
char	**aim_verify_argv(const char *cmd, json_t *files, char **script);

/* The result (above) of a finished check p of cmd.  New reference. */
json_t	*aim_verify_result(const struct aim_proc *p, const char *cmd);

/*
 * The request record of a check naming a capability (verify: a route's
 * "verify" {capability, route}, aim-resolve(1) puts it there from the
 * rule; aim-registry(5) verify) after a success output of rec's tool:
 * rec's id, actor and payload, the files aim_verify_files gives, the
 * capability and its route: a routed record for the engine.  All
 * borrowed; a new reference.
 */
json_t	*aim_verify_request(json_t *verify, json_t *rec, json_t *output);

/*
 * The result (above) of a finished check request vrec (borrowed), which
 * took duration_ms: passed when its result succeeded, timeout when its
 * last attempt timed out, error when no tool ran, else failed; tool_id
 * the tool that ran last (or null); exit its exit_code; output_tail its
 * findings as "file:line: message" lines, else its stderr, else the
 * result's message.  New reference.
 */
json_t	*aim_verify_routed(json_t *vrec, int64_t duration_ms);

/* ---- trail.c: reading the audit trail (aim-audit(1) "Entries") ---- */

/* "invocation" for the entry of a record, else its "kind" (borrowed). */
const char *aim_entry_kind(json_t *entry);

/*
 * How the entry of a record ended: "success" or "failure" (its result's
 * success), "error" (an error record, or an event of kind "error"), or
 * "none" (no result yet, or an event).  A static string.
 */
const char *aim_entry_outcome(json_t *entry);

/*
 * What the entry of a record spent, by tool (aim-audit(1) "stats"): a new
 * {"<tool>": {"cost_usd": N, "input_tokens": N, "output_tokens": N}},
 * each member only when known.  Cost: the attempts' cost_usd
 * (aim-invoke(1) "Cost"), each for its own tool; an older record without
 * them, the serving tool's content.cost_usd.  Tokens: the serving tool's
 * content.usage (aim-adapter(7)).  {} for events and errors.
 */
json_t	*aim_entry_spend(json_t *entry);

/*
 * The trail s (aim_chain_scan with keep_json) in the Prometheus text
 * format (aim-audit(1) "metrics" lists the families): aim_audit_entries,
 * aim_audit_size_bytes, aim_audit_unreadable_entries,
 * aim_audit_newest_timestamp_seconds, aim_requests_total{capability,
 * outcome}, aim_fallbacks_total{capability}, aim_attempts_total{tool,
 * outcome,error_class}, aim_attempt_duration_seconds{tool} (a histogram),
 * aim_tokens_total{tool,type}, aim_spend_usd_total{tool} (from
 * aim_entry_spend) and aim_events_total{kind}; with registry_dir
 * (NULL: none) and its state readable, aim_cooldowns_open and
 * aim_budget_remaining_usd{tool} for each tool of cfg's budgets, from
 * the state backend cfg names (aim-registry(5) "State backend");
 * series sorted by labels.  Malloc'd text, *len
 * its bytes; exits on out of memory as aim_xmalloc does.
 */
char	*aim_metrics_text(const struct aim_scan *s, const char *registry_dir,
	    const struct aim_config *cfg, size_t *len);

#endif /* AIM_FLOW_H */
