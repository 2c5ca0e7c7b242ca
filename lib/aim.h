/* aim.h: the library under the aim filters (libaim.a). */
#ifndef AIM_H
#define AIM_H

#include <sys/types.h>

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

/*
 * Ownership rule for json_t values, as in jansson: a function whose comment
 * says "steals" takes over the caller's reference; "borrowed" results live as
 * long as their container; everything else returns a new reference that the
 * caller must json_decref().
 */

#define AIM_VERSION	"0.1.0"
#define AIM_CONTRACT	"AIM_INTEGRATION_V1"
#define AIM_REGISTRY_DIRNAME	".AIM_ai-tools-registry"

/* Exit statuses of every aim binary; aim(7) documents them. */
enum aim_exit {
	AIM_EXIT_OK = 0,	/* every record succeeded */
	AIM_EXIT_FAILED = 1,	/* an error record or failed result was written */
	AIM_EXIT_USAGE = 2,	/* bad command line */
	AIM_EXIT_CONFIG = 3,	/* registry, rules or config unusable */
	AIM_EXIT_IO = 4,	/* input, output or audit I/O failed */
	AIM_EXIT_SIGNAL = 128	/* + signal number: interrupted */
};

/* ---- util.c ---- */

/* Fold a new exit status into *status: the higher of the two wins. */
void	 aim_exit_raise(int *status, int code);

/* malloc/realloc/strdup that exit with "out of memory" instead of failing. */
void	*aim_xmalloc(size_t size_bytes);
void	*aim_xrealloc(void *p, size_t size_bytes);
char	*aim_xstrdup(const char *s);

/* Monotonic clock in milliseconds (CLOCK_MONOTONIC); for durations only. */
int64_t	 aim_now_ms(void);

/*
 * UTC wall-clock time as the audit layout wants it (seed 002 §5):
 * iso  = "2026-11-21T18:45:32.123456Z" (28 bytes + NUL),
 * file = "2026-11-21T18-45-32-123456"   (26 bytes + NUL), a file-name stamp,
 * day  = "2026-11-21" (10 bytes + NUL).  Any pointer may be NULL.
 */
void	 aim_utc_stamp(char iso[32], char file[32], char day[16]);

/*
 * A new UUIDv7 (RFC 9562 §5.7) as 36 lowercase hex-and-dash characters:
 * time-ordered, and strictly increasing within one process (the 12-bit
 * rand_a field counts within a millisecond, RFC 9562 §6.2 method 1).
 */
void	 aim_uuid7(char out[37]);

/*
 * Expand %VAR%, ${VAR}, $VAR and a leading ~ from the environment
 * (DESIGN.md "contract"): %USERPROFILE% falls back to $HOME, and
 * AIM_REGISTRY_PATH is registry_dir, the registry in use, when that is not
 * NULL (so -r wins over the environment).
 * Undefined variables stay as written.  Returns a malloc'd string.
 */
char	*aim_expand(const char *s, const char *registry_dir);

/*
 * Resolve a command the way execvp would, without running it: a name with a
 * '/' is checked as a path, other names are searched in path_list (a PATH
 * value; NULL means the process's PATH).  Returns a malloc'd absolute path
 * of an executable regular file, or NULL with errno ENOENT (not found) or
 * EACCES (found, not executable).
 */
char	*aim_which(const char *cmd, const char *path_list);

/*
 * read(2) until n bytes, end of file or an error, retrying on EINTR.
 * Returns the bytes read (short only at end of file), or -1 with errno.
 */
ssize_t	 aim_read_full(int fd, void *buf, size_t n_bytes);

/*
 * A file of aim's under an XDG base directory: $<xdg_var>/aim/<name> when
 * that variable holds an absolute path, else $HOME/<home_dir>/aim/<name>
 * (home_dir ".config", ".local/state", ".local/share").  Malloc'd, or NULL
 * when neither is set.  Source: XDG Base Directory Specification 0.8.
 */
char	*aim_xdg_path(const char *xdg_var, const char *home_dir,
	    const char *name);

/*
 * fsync(2) a directory, so that the names just made in it are durable
 * (rename, link, creat: POSIX leaves them to the directory's sync).
 * Returns 0, or -1 with errno from open(2) or fsync(2).
 */
int	 aim_fsync_dir(const char *dir);

/*
 * The "#!" line of the file at path, without the "#!" and the newline
 * (a CR before it is kept: execve(2) looks for an interpreter named with
 * it, aim-adapter(7) DESCRIPTION), malloc'd; from the first 255 bytes.
 * NULL when the file cannot be read (errno from open(2) or read(2)) or
 * does not start with "#!".
 */
char	*aim_shebang(const char *path);

/*
 * A duration of ms milliseconds for a message, into buf of n bytes (32
 * are enough): "250 ms" below a second, "1.5 s" to a tenth below 10 s,
 * then rounded to the second: "30 s", "5 min", "1 min 30 s", "2 h 5 min"
 * (aim-invoke(1) DIAGNOSTICS).  A negative ms is 0.
 */
void	 aim_duration(char *buf, size_t n, int64_t ms);

/* Make an absolute, malloc'd path of p (relative to base, or to the cwd). */
char	*aim_abspath(const char *p, const char *base);

/*
 * Copy at most max_bytes of buf into a JSON string, replacing invalid UTF-8
 * and a code point cut at the end with U+FFFD, so jansson accepts it.
 * from_end takes the last bytes (a tail) instead of the first.  New ref.
 */
json_t	*aim_json_text(const char *buf, size_t len, size_t max_bytes, int from_end);

/*
 * Print message (malloc'd; freed here, may be NULL) with warnx(3) unless
 * it is a key of said already (a JSON object used as a set), then add it:
 * a problem that repeats for every record is said once per process.
 */
void	 aim_warn_once(json_t *said, char *message);

/* "<stdin>" for "-", else the name itself: how messages name an input. */
const char *aim_input_name(const char *path);

/*
 * A malloc'd string formatted as printf(3) would; exits with "out of
 * memory" (status AIM_EXIT_IO) instead of failing, like aim_xmalloc.
 */
char	*aim_xsprintf(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/*
 * Create dir and its parents, mode 0700 for what it creates, each new
 * name made durable in its parent (aim_fsync_dir).  0, or -1 with errno
 * (ENOTDIR when dir is there but not a directory).
 */
int	 aim_mkdirs(const char *dir);

/*
 * Is path a private regular file: not a symlink, owned by the effective
 * user, no group or other bits (aim-secret(1) "Files")?  0, or -1 with a
 * malloc'd *why saying which and how to fix it ("chmod 600 X") and errno:
 * ENOENT (missing), EPERM (not private), else lstat(2)'s.  what: "vault",
 * "key file".
 */
int	 aim_private_file(const char *path, const char *what, char **why);

/* No core dumps and no ptrace by others: PR_SET_DUMPABLE 0, RLIMIT_CORE 0. */
int	 aim_nodump(void);

/* The digest of aim_hash (BLAKE2b-256) in bytes, and in hex digits. */
#define AIM_HASH_BYTES		32
#define AIM_HASH_HEX_BYTES	(2 * AIM_HASH_BYTES)

/*
 * BLAKE2b-256 (libsodium crypto_generichash, no key) of len_bytes bytes:
 * the audit chain's link hash (aim-audit(1) "The chain") and the state's
 * key of a registry; aim_hash_fd streams the same digest over a file.
 */
void	 aim_hash(const void *buf, size_t len_bytes,
	    unsigned char out[AIM_HASH_BYTES]);

/* Lowercase hex of len bytes into out (2 * len + 1 bytes). */
void	 aim_hex(const unsigned char *bin, size_t len_bytes, char *out);

/* Exactly 2 * len hex digits into len bytes: 0, or -1 when not that. */
int	 aim_unhex(const char *hex, unsigned char *bin, size_t len_bytes);

/* "SIGSEGV" for 11, or "SIG<n>"; in a static buffer. */
const char *aim_signame(int sig);

/* ---- ndjson.c: JSON Lines in and out ---- */

/*
 * A line reader over a file descriptor with its own buffer, usable both
 * blocking (aim_lines_next) and from a poll loop (aim_lines_fill when the fd
 * is readable, then aim_lines_get until it returns 0).  Lines longer than
 * max_line_bytes are not buffered: the reader returns their first bytes with
 * too_long set and skips the rest, so memory stays constant.  A UTF-8
 * byte-order mark at the very start is skipped (aim(7) "Records").
 */
struct aim_lines {
	int	 fd;
	char	*buf;
	size_t	 cap, start, end;
	size_t	 max_line_bytes;
	int	 eof, err, skipping;
	long	 lineno;	/* number of the line last returned, from 1 */
	int	 bom_seen;	/* the start was checked for a UTF-8 BOM */
};

struct aim_line {
	const char *text;	/* borrowed, valid until the next call; no '\n' */
	size_t	 len;
	long	 lineno;
	int	 too_long;	/* text holds only the first bytes */
};

void	 aim_lines_init(struct aim_lines *r, int fd, size_t max_line_bytes);
void	 aim_lines_free(struct aim_lines *r);
/* One read(2).  Returns bytes read, 0 at end of file, -1 with errno. */
ssize_t	 aim_lines_fill(struct aim_lines *r);
/* Next complete line from the buffer: 1 and *line set, or 0 if none yet. */
int	 aim_lines_get(struct aim_lines *r, struct aim_line *line);
/* Blocking: 1 with a line, 0 at end of input, -1 on read error (errno). */
int	 aim_lines_next(struct aim_lines *r, struct aim_line *line);

/*
 * Parse one input line as a JSON object, rejecting duplicate keys (jansson
 * JSON_REJECT_DUPLICATES).  Returns a new reference: the object, with
 * *is_error 0; or, with *is_error 1, the error record that stands for the
 * line (aim_bad_line_record): code "invalid_json" with "invalid JSON at
 * column C: <jansson's text>", or object_code with "<noun> must be a JSON
 * object" for valid JSON that is not an object.  noun: "a request",
 * "a record".
 */
json_t	*aim_parse_record(const struct aim_line *line, const char *stage,
	    const char *noun, const char *object_code, int *is_error);

/* Is the line empty or white space only?  Such lines carry no record. */
int	 aim_line_blank(const struct aim_line *line);

/*
 * Write rec as one compact line to out and flush it.  Returns 0, or -1 when
 * the write failed (the stream's error flag stays set for the final check).
 */
int	 aim_emit(FILE *out, const json_t *rec);

/*
 * Add an error object {"stage","code","message","line"} to rec (borrowed;
 * created as {} when NULL, in which case the new object is returned, else
 * rec itself) and, when it has none, an "id".  Seed: DESIGN.md "Records".
 */
json_t	*aim_error_record(json_t *rec, const char *stage, const char *code,
	    long lineno, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));

/* The error record for a line that is not a JSON object: {"id","input","error"}. */
json_t	*aim_bad_line_record(const struct aim_line *line, const char *stage,
	    const char *code, const char *message);

/*
 * Open an input operand ("-" is stdin) as a descriptor.  Returns the fd, or
 * -1 with errno set.
 */
int	 aim_open_input(const char *path);

/*
 * First thing in every main: make sure descriptors 0, 1 and 2 are open, so
 * that no file aim opens later lands on one of them (a head file taking a
 * closed fd 1 would receive the records).  A closed 0 or 2 becomes
 * /dev/null; a closed 1 becomes /dev/full, so every write to stdout fails
 * and aim_close_stdout() says "standard output is closed".  Returns 0, or
 * -1 when fd 1 was closed (a filter whose job is its output stops at once:
 * aim(7) EXIT STATUS); later calls give the same answer.  Exits 4 when no
 * stand-in can be opened.
 */
int	 aim_std_fds(void);

/*
 * Check stdout at exit (jq style; aim(7) EXIT STATUS): 0 when all was
 * written; -1 after "standard output is closed" (fd 1 was closed at start,
 * see aim_std_fds) or "writing output failed".  When the reader went away
 * (EPIPE: `| head -1`) it prints nothing and ends the process as SIGPIPE
 * at its default would: status 128 + 13 = 141.
 */
int	 aim_close_stdout(void);

/* ---- jsonpos.c ---- */

/*
 * Find where a value sits in the JSON text it was parsed from.  path is a
 * NULL-terminated list of object keys and array indexes (as decimal
 * strings).  With key_pos set, the position of the member's key is given
 * (for "duplicate"/"unknown" messages), else of its value.  The text must be
 * valid JSON (jansson parsed it).  Sets *line and *column (both from 1) and
 * returns 0, or -1 when the path is not there.
 */
int	 aim_json_locate(const char *text, size_t len, const char *const *path,
	    int key_pos, int *line, int *column);

/* ---- redact.c: secrets out of values (aim-audit(1) "Redaction") ---- */

/*
 * Replace secrets in v in place (issue 2): values under keys that name a
 * secret (api_key, token, password, secret, authorization, *_key, ...) and
 * substrings that look like provider keys (sk-..., sk-ant-..., AKIA...,
 * ghp_..., AIza..., "Bearer ...") become "[REDACTED]".  The values given
 * to aim_redact_register go first, whole, then the patterns, so a pattern
 * inside a secret never cuts it (aim-audit(1) "Redaction").  Returns how
 * many values it changed.
 */
size_t	 aim_redact(json_t *v);

/*
 * Hand the redaction the exact value of a vault secret (issue 4): from now
 * on aim_redact() and aim_redact_secrets() replace it, its JSON-escaped
 * form and its base64 forms (standard and URL-safe, with and without
 * padding) wherever they stand in a string.  Values under 4 bytes are not
 * taken (they would blank out ordinary text).  The copies live in
 * sodium_malloc memory.  Returns 0, or -1 when out of secure memory.
 */
int	 aim_redact_register(const unsigned char *value, size_t len_bytes);

/* Only the registered secret values of v, in place; returns how many. */
size_t	 aim_redact_secrets(json_t *v);

/* ---- registry.c: registry, coordination rules and config ---- */

/* One problem found in a registry, rules or config file. */
struct aim_problem {
	char	*file;
	int	 line, column;	/* 0 when unknown */
	char	*message;
};

struct aim_problems {
	struct aim_problem *v;
	size_t	 n, cap;
};

void	 aim_problems_add(struct aim_problems *p, const char *file, int line,
	    int column, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
/* Print each as "prog: file:line:column: message" on stderr. */
void	 aim_problems_print(const struct aim_problems *p);
void	 aim_problems_free(struct aim_problems *p);
/* Add a copy of every problem of from to to. */
void	 aim_problems_append(struct aim_problems *to,
	    const struct aim_problems *from);

/*
 * The word of known[0..n) nearest to word (Levenshtein distance, letters
 * compared without case) when it is close enough to be a misspelling: at
 * most 2 edits and at most a third of the longer word.  Borrowed from
 * known, or NULL.  For "did you mean 'x'?" (aim-registry(5) "Checking").
 */
const char *aim_closest(const char *word, const char *const *known,
	    size_t n);

/*
 * The circuit breaker of issue 6: after allowed_fails failures of a counting
 * class within window_ms a tool cools down for cooldown_ms, or
 * long_cooldown_ms when the failure that opened it was auth or quota.
 */
struct aim_cooldown_policy {
	int64_t	 allowed_fails;		/* 3 */
	int64_t	 window_ms;		/* 60000 */
	int64_t	 cooldown_ms;		/* 30000 */
	int64_t	 long_cooldown_ms;	/* 300000 */
};

/* aim_config.json with its defaults (issue 2; DESIGN.md "Files"). */
struct aim_config {
	char	*path;			/* the file read, or NULL: defaults */
	int64_t	 timeout_ms;		/* 30000 */
	int64_t	 max_payload_bytes;	/* 1048576 (seed 002 §10) */
	int64_t	 max_output_bytes;	/* 1048576 */
	int64_t	 stderr_tail_bytes;	/* 4096 */
	int64_t	 kill_grace_ms;		/* 1000 */
	int64_t	 audit_log_retention_days; /* 30 */
	char	*actor;			/* "pipeline" */
	char	*audit_dir;		/* NULL: <registry>/AIM_audit */
	/* routing policy (issue 6) */
	int64_t	 deadline_ms;		/* 0: no deadline */
	int64_t	 min_attempt_ms;	/* 1000: never start a tool with less */
	int64_t	 retry_base_ms;		/* 500: first back-off ceiling */
	int64_t	 retry_max_ms;		/* 30000: back-off ceiling cap */
	int64_t	 retry_after_max_ms;	/* 60000: cap on an adapter's wish */
	struct aim_cooldown_policy cooldown;
	/* aim-scan (issue 3); the arrays are jansson arrays of strings. */
	json_t	*scan_roots;		/* [] : the working directory */
	int64_t	 scan_min_size_bytes;	/* 102400 (original: min_size_kb 100) */
	json_t	*cache_patterns;	/* original-aim.md "Scanner" list */
	char	*central_cache;		/* NULL: $XDG_CACHE_HOME, else ~/.cache */
	json_t	*required_commands;	/* ["git"] */
	int64_t	 version_timeout_ms;	/* 5000 (original: 5 s limit) */
};

/* A loaded registry: the two files as jansson trees plus where they came from. */
struct aim_registry {
	char	*dir;		/* absolute registry directory */
	char	*registry_file, *rules_file;
	json_t	*tools;		/* borrowed from registry: "tools" object */
	json_t	*rules;		/* borrowed from rules_json: "capabilities" */
	json_t	*registry_json, *rules_json;
	json_t	*security;	/* borrowed, may be NULL */
	char	*registry_text, *rules_text;	/* for aim_json_locate */
	size_t	 registry_len, rules_len;
	/* members aim does not know: --check problems, routing warnings */
	struct aim_problems unknown;
};

/* Command-line choices every binary shares. */
struct aim_options {
	const char *registry;	/* -r DIR, or NULL */
	const char *config;	/* -c FILE, or NULL */
};

/*
 * Find the registry directory (DESIGN.md "contract": -r DIR >
 * $AIM_REGISTRY_PATH > nearest .AIM_ai-tools-registry walking up from the
 * working directory > $HOME/.AIM_ai-tools-registry).  Returns a malloc'd
 * canonical absolute path (realpath(3)), or NULL with a malloc'd "registry not found (looked in
 * ...)" in *why naming every place tried.
 */
char	*aim_registry_find(const struct aim_options *opt, char **why);

/*
 * Load aim_config.json (-c FILE > $AIM_CONFIG > <registry_dir>/aim_config.json
 * > $XDG_CONFIG_HOME/aim/aim_config.json; registry_dir may be NULL).  A
 * missing implicit file means defaults.  Returns 0, or -1 with every problem
 * (unreadable, parse error with line and column, wrong type) added to
 * probs; *cfg then holds defaults for what could not be read.
 */
int	 aim_config_load(struct aim_config *cfg, const struct aim_options *opt,
	    const char *registry_dir, struct aim_problems *probs);
void	 aim_config_free(struct aim_config *cfg);

/*
 * The original's cache patterns (original-aim.md) less .git/objects
 * (aim-scan(1) "caches"), a new array.
 */
json_t	*aim_default_cache_patterns(void);

/*
 * The audit directory (aim-audit(1) "Audit directory"): opt_dir >
 * $AIM_AUDIT_DIR > cfg->audit_dir > <registry_dir>/AIM_audit > with
 * fallback, $XDG_STATE_HOME/aim/AIM_audit.  cfg and registry_dir may be
 * NULL.  Malloc'd absolute path, or NULL when none applies.
 */
char	*aim_audit_dir_find(const char *opt_dir, const char *registry_dir,
	    const struct aim_config *cfg, int fallback);

/*
 * Load AIM_registry.json and the coordination rules from dir (seed 002 §2).
 * Structural problems (unreadable, parse error, duplicate key, wrong type)
 * are added to probs with file, line and column; returns 0 when the
 * registry is usable for routing, -1 otherwise.  Members aim does not know
 * (the tables of aim-registry(5); "x-" names excepted) go to reg->unknown
 * as "<where>unknown member 'k'; did you mean 'x'?": they do not stop
 * routing.
 */
int	 aim_registry_load(struct aim_registry *reg, const char *dir,
	    struct aim_problems *probs);
void	 aim_registry_free(struct aim_registry *reg);

/*
 * The deeper checks of aim-resolve --check, on a loaded registry: rules
 * naming tools the registry lacks, tools routed for a capability they do
 * not declare, adapters missing or not executable, tools without
 * detectCommands, and the unknown members of reg->unknown.  Adds to
 * probs; returns how many it added.
 */
size_t	 aim_registry_check(const struct aim_registry *reg,
	    struct aim_problems *probs);

/*
 * Why JSON text that jansson refused may have been meant as JSON with an
 * extension JSON lacks (RFC 8259 has no comments and no trailing commas):
 * the first comment ("//" or slash-star) or comma followed by '}' or ']' outside a
 * string, at or before byte limit (jansson's error position).  Returns a
 * static message ("comments are not allowed in JSON", "trailing comma
 * before '}' (JSON allows none)") with *line and *column (from 1,
 * characters as jansson counts them) of the comment or comma, or NULL.
 */
const char *aim_json_extension(const char *text, size_t len, size_t limit,
	    int *line, int *column);

/* Borrowed: the registry entry of a tool, or NULL. */
json_t	*aim_registry_tool(const struct aim_registry *reg, const char *tool_id);

/* ---- route.c: candidate lists (seed 002 §4) ---- */

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


struct aim_router {
	const struct aim_registry *reg;
	const struct aim_config *cfg;
	json_t	*lb_counters;	/* counters when the state file is unusable */
	json_t	*detect_cache;	/* command -> {path|reason, checked_ms} */
	char	*cwd;		/* payload.files are relative to it */
	struct aim_state state;	/* cooldowns and shared counters (issue 6) */
	int	 state_ok;
	json_t	*said;		/* state problems said already */
};

void	 aim_router_init(struct aim_router *rt, const struct aim_registry *reg,
	    const struct aim_config *cfg);
void	 aim_router_free(struct aim_router *rt);

/*
 * Route one request (borrowed; validated: "capability" string, "payload"
 * object).  On success adds "route" {capability, strategy, registry,
 * candidates[], and deadline_ms + min_attempt_ms when a deadline applies,
 * fallback: false when the rule turns fallback off} to req and returns 0.
 * strategy: ordered, direct, or a load-balancing strategy (round_robin,
 * weighted, least_recent_failure, cheapest; issue 6).  Candidate statuses:
 * ready, cooldown (with until, until_ms), not_installed, no_adapter,
 * unknown_tool; ready ones carry argv, timeout_ms (request > rules >
 * config), pass_env, secrets (the tool's {"ENV_NAME": "vault/name"}, issue
 * 4), max_retries (tool > rule) and max_concurrent + concurrency ("queue" or
 * "reject") from the rules' conflict_resolution.concurrent_access.
 * On a request that cannot be routed returns -1 with *code
 * ("unknown_capability", "unknown_tool", "missing_context",
 * "too_many_files", "forbidden_path", "file_not_allowed",
 * "invalid_request", "all_cooling_down") and a malloc'd *message; req is
 * untouched, and *details may hold fields for the error object (new
 * reference: retry_after_ms, until, tool_id for all_cooling_down).
 */
int	 aim_route(struct aim_router *rt, json_t *req, const char **code,
	    char **message, json_t **details);

/*
 * One tool's candidate as aim_route would list it ({tool_id, status,
 * reason?, until?, argv?...}), with no request: no limits checked, no
 * counter moved.  For aim-scan and aim status.  New reference.
 */
json_t	*aim_router_candidate(struct aim_router *rt, const char *tool_id);


/* ---- proc.c: child processes ---- */

/*
 * Limits of one child run.  Units: milliseconds and bytes.
 */
struct aim_proc_limits {
	int64_t	 timeout_ms;		/* SIGTERM to the group after this */
	int64_t	 kill_grace_ms;		/* SIGKILL this long after SIGTERM */
	size_t	 max_stdout_bytes;	/* more: the group is killed */
	size_t	 stderr_tail_bytes;	/* the last bytes of stderr kept */
};

enum aim_proc_state {
	AIM_PROC_RUNNING,	/* spawned, not finished */
	AIM_PROC_DONE		/* reaped, pipes closed, fields final */
};

/*
 * One child process.  Fields after "results" are final once state is
 * AIM_PROC_DONE.  The child runs in its own process group with stdin,
 * stdout and stderr on pipes, every other descriptor closed, SIGPIPE and
 * the other signals at their defaults, and no shell in between.
 */
struct aim_proc {
	enum aim_proc_state state;
	pid_t	 pid;
	int	 in_fd, out_fd, err_fd;	/* -1 once closed */
	const char *input;		/* borrowed until done */
	size_t	 input_len, input_off;
	struct aim_proc_limits lim;
	int64_t	 start_ms, deadline_ms, term_ms, reaped_ms;
	int	 exited_leader;
	void	*user;			/* the caller's, untouched */

	/* results */
	char	*out;			/* stdout, NUL-terminated */
	size_t	 out_len;
	char	*err;			/* stderr tail, a ring while running */
	size_t	 err_len, err_total;
	int	 status;		/* waitpid status */
	int	 spawn_errno;		/* exec failed: errno, else 0 */
	int	 timed_out;		/* the deadline passed */
	int	 out_overflow;		/* stdout passed max_stdout_bytes */
	int	 leftover;		/* processes kept the pipes open */
	int	 kill_signal;		/* last signal aim sent the group, or 0 */
	int64_t	 duration_ms;
};

/*
 * Install what the runner needs once per process: SIGPIPE ignored (a dead
 * adapter's stdin gives EPIPE, not death) and a SIGCHLD handler feeding a
 * self-pipe so poll wakes when a child exits.  Returns 0 or -1 (errno).
 */
int	 aim_proc_setup(void);

/*
 * Start argv (argv[0] absolute, or searched in envp's PATH) with envp and
 * the bytes of input on its stdin.  Returns 0 with the child running, or
 * -1 when it could not start: then p->state is AIM_PROC_DONE and
 * p->spawn_errno says why (ENOENT, EACCES, ENOEXEC, ...).
 */
int	 aim_proc_spawn(struct aim_proc *p, char *const argv[],
	    char *const envp[], const char *input, size_t input_len,
	    const struct aim_proc_limits *lim);

/*
 * One turn of the event loop over procs[0..n) plus the caller's extra
 * descriptors (their revents are filled in): poll until something happens
 * or max_wait_ms passes (-1: no limit), move every child on (write stdin,
 * read stdout and stderr, enforce deadlines: SIGTERM to the group, SIGKILL
 * after the grace, reap).  Children that finish turn AIM_PROC_DONE.
 * Returns the number that finished this turn, or -1 with errno (poll).
 */
int	 aim_proc_wait(struct aim_proc **procs, size_t n, struct pollfd *extra,
	    size_t nextra, int max_wait_ms);

/* Kill a running child's group now (SIGTERM, then SIGKILL after the grace). */
void	 aim_proc_cancel(struct aim_proc *p);

/* Run one child to completion (aim_proc_spawn + aim_proc_wait). */
int	 aim_proc_run(struct aim_proc *p, char *const argv[], char *const envp[],
	    const char *input, size_t input_len,
	    const struct aim_proc_limits *lim);

/* Free a done child's buffers. */
void	 aim_proc_free(struct aim_proc *p);


/* ---- adapter.c: the V1 adapter protocol (seed 002 §3, §7) ---- */

/*
 * The environment an adapter gets: an allowlist of this process's
 * variables (PATH HOME USER LOGNAME LANG LC_* TZ TMPDIR TERM and the proxy
 * variables), the names in pass_env (a JSON array, borrowed, may be NULL),
 * then AIM_CONTRACT, AIM_TOOL_ID, AIM_CAPABILITY, AIM_REQUEST_ID,
 * AIM_TIMEOUT_MS, AIM_REGISTRY_PATH.  Returns a malloc'd NULL-terminated
 * vector for aim_strv_free().
 */
char	**aim_adapter_env(json_t *pass_env, const char *tool_id,
	    const char *capability, const char *request_id, int64_t timeout_ms,
	    const char *registry_dir);
/* Wipes every string (it may hold a secret), then frees the vector. */
void	 aim_strv_free(char **v);

/*
 * Set name=value (len bytes, no NUL inside) in an environment vector from
 * aim_adapter_env, replacing an entry of that name.  Returns the vector,
 * which may have moved.
 */
char	**aim_env_put(char **env, const char *name, const char *value,
	    size_t len);

/*
 * The adapter's stdin: {"contract","id","capability","payload","timeout_ms"}
 * from a routed record (borrowed), one compact line ending in a newline.
 * Returns a malloc'd string, its length in *len.
 */
char	*aim_adapter_input(json_t *rec, int64_t timeout_ms, size_t *len);

/*
 * Judge a finished run (seed 002 §7): the attempt object {tool_id, outcome,
 * exit_code|signal, duration_ms, message, stderr, stdout, *_truncated} and,
 * for outcome success or failure, *output set to the adapter's JSON object
 * (new reference, else NULL).  Outcomes: success, failure, exit, signal,
 * timeout, bad_output, spawn_error.  Returns the attempt (new reference).
 */
json_t	*aim_adapter_attempt(const struct aim_proc *p, const char *tool_id,
	    const char *argv0, json_t **output);

/*
 * The command line that runs a tool's adapter (seed 002 §3; DESIGN.md
 * "contract"): adapterScript expanded and made absolute against
 * registry_dir (the absolute registry directory, also AIM_REGISTRY_PATH
 * in the expansion); a .ps1 runs as [pwsh, -NoProfile, -NonInteractive,
 * -File, script] with pwsh found on PATH.  Returns a new JSON array of
 * strings, or NULL with a malloc'd *why ("no adapterScript", "adapter
 * /x.sh: No such file or directory", "adapter /x.sh: not executable",
 * "adapter /x.sh: #! line ends in CR (CRLF line endings?)", "pwsh not
 * found on PATH for adapter /x.ps1").
 */
json_t	*aim_adapter_argv(const char *registry_dir, json_t *tool,
	    char **why);

/* The skipped attempt for a candidate that is not ready. */
json_t	*aim_adapter_skipped(json_t *candidate);

/*
 * The short reason an attempt failed, for the aggregated message
 * ("not installed", "timed out after 30 s", "exited with code 2: ...").
 * Returns a malloc'd string.
 */
char	*aim_attempt_summary(json_t *attempt);

/*
 * The result when every candidate failed: {"success":false,"message":
 * "All tools failed for capability 'X': a: why; b: why","content":null}
 * (seed 002 §4; original-aim.md "Behaviours").  New reference.
 */
json_t	*aim_all_failed(const char *capability, json_t *attempts);

/* ---- audit.c: audit entries (seed 002 §5) ---- */

/*
 * The audit entry of a record (borrowed): timestamp (iso), actor, tool_id
 * ("none" when the record has none), capability, payload, result, id,
 * attempts, contract, plus error for error records; redacted.  New ref.
 */
json_t	*aim_audit_entry(json_t *rec, const char *iso_timestamp,
	    const char *default_actor);

/*
 * A tool id or capability as the part of an audit file name it becomes
 * (seed 002 §5 layout): [A-Za-z0-9._-] only, others '-', a leading '.'
 * too, "none" for NULL or empty, at most AIM_NAME_PART_MAX bytes; out holds
 * AIM_NAME_PART_MAX + 1.  aim_chain_append names entries with it, and verify
 * checks names against it.
 */
#define AIM_NAME_PART_MAX	64
void	 aim_audit_name_part(char *out, const char *s);

/* ---- vault.c: the secret vault (issue 4) ---- */

#define AIM_VAULT_KEY_BYTES	32

/* What went wrong opening or saving a vault; aim_vault_strerror names it. */
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
 * Open and decrypt the vault at path (issue 4 format: 84-byte header, then
 * XChaCha20-Poly1305 over the content with the header as associated data).
 * With lock, first take the vault's flock, held until aim_vault_close.
 * Returns AIM_VAULT_OK or an enum aim_vault_error with a malloc'd *why; the
 * vault file is never changed.  Always aim_vault_close() afterwards.
 */
int	 aim_vault_open(struct aim_vault *v, const char *path,
	    const struct aim_unlock *u, int lock, char **why);

/* Create an empty vault at path (must not exist) for the key u gives. */
int	 aim_vault_create(struct aim_vault *v, const char *path,
	    const struct aim_unlock *u, char **why);

/* Take the vault's lock (<path>.lock, flock LOCK_EX). */
int	 aim_vault_lock(struct aim_vault *v, char **why);

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

/* The name of an enum aim_vault_error. */
const char *aim_vault_strerror(int code);

/* ---- policy.c: error classes, retries, limits (issue 6) ---- */

/*
 * Error classes (issue 6): auth, rate_limit, quota, context_too_long,
 * content_policy, bad_request, transient, not_installed, timeout,
 * unclassified (aim-invoke(1) Error classes).
 * _valid: one of them.  _retryable: worth another try of the same tool
 * (rate_limit, transient, timeout).  _counts: counts towards a cooldown
 * (transient, timeout, rate_limit, quota, auth).  _long_cooldown: cools a
 * tool down for the long period (auth, quota).  NULL is none of them.
 */
int	 aim_error_class_valid(const char *cls);
int	 aim_error_class_retryable(const char *cls);
int	 aim_error_class_counts(const char *cls);
int	 aim_error_class_long_cooldown(const char *cls);

/*
 * Give a failed attempt (borrowed) its "error_class": the adapter's own
 * (output's "error_class", with its "retry_after_ms" copied too) when it is
 * a known class, else derived from the outcome: timeout -> timeout;
 * spawn_error, exit 126 or 127, and skipped not_installed / no_adapter /
 * unknown_tool -> not_installed; skipped missing_secret -> auth; failure
 * without a known class -> unclassified (neither retried nor counted);
 * signal, bad_output, other exits -> transient.
 * Returns the class (borrowed from attempt), or NULL for a success and for
 * skips of policy (cooldown, deadline, ...), which get none.
 */
const char *aim_attempt_classify(json_t *attempt, json_t *output);

/*
 * The back-off before retry number retry (0 for the first retry), "full
 * jitter": uniform over [0, min(cap_ms, base_ms * 2^retry)], milliseconds.
 */
int64_t	 aim_backoff_ms(int retry, int64_t base_ms, int64_t cap_ms);

/*
 * The keys a capability's context_requirements ({"prompt": "required",
 * "files": "optional"}) marks required that payload lacks or has empty
 * ("", [], {}, null), as a malloc'd "prompt, files"; NULL when none.
 */
char	*aim_context_missing(json_t *payload, json_t *requirements);

/*
 * Check payload.files against the rules' security object (borrowed; may be
 * NULL): max_file_count, forbidden_paths (any match refuses) and
 * allowed_file_patterns (each file must match one).  Files are made
 * absolute against cwd, then symlinks and ".." are resolved (component by
 * component as realpath(3) does, the part that does not exist as text; no
 * recursion) before matching; "~/x" is also checked as $HOME/x, and is
 * "invalid_request" when HOME is not absolute (aim-resolve(1) "Context and
 * security checks").  A pattern without '/' matches a
 * name (for forbidden_paths, the name of the file or of any directory above
 * it); one with '/' is expanded (~, variables; registry_dir for
 * AIM_REGISTRY_PATH), made absolute against cwd and matched with
 * fnmatch(3) against the whole path (forbidden_paths: or a directory above
 * it); with "**" in it, "*" crosses '/'.  Returns 0, or -1 with *code
 * ("too_many_files", "forbidden_path", "file_not_allowed",
 * "invalid_request") and a malloc'd *message naming the file.
 */
int	 aim_security_check(json_t *payload, json_t *security,
	    const char *cwd, const char *registry_dir, const char **code,
	    char **message);

/* ---- state.c: cooldowns, counters and slots shared by processes (issue 6) ---- */


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

/* ---- semver.c: versions and version pins (issue 3) ---- */

/* A version: MAJOR.MINOR.PATCH[-PRERELEASE] (SemVer 2.0.0 §2, §9). */
struct aim_semver {
	long	 major, minor, patch;
	char	 pre[64];	/* prerelease identifiers, "" for none */
};

/*
 * Find the first version in text (len bytes; one line of a tool's
 * --version output): "aider 0.86.1" -> 0.86.1, "v2.1" -> 2.1.0,
 * "1.2.3-rc.1+b5" -> 1.2.3-rc.1 (build metadata dropped).  A number with a
 * dot is preferred to a lone number.  Sets *v and, when out is not NULL,
 * writes the version as written (without a leading v) to out.  Returns 0,
 * or -1 when the text holds no digits.
 */
int	 aim_semver_find(const char *text, size_t len, struct aim_semver *v,
	    char *out, size_t out_bytes);

/* SemVer §11 precedence: <0, 0 or >0 as a is lower, equal or higher. */
int	 aim_semver_cmp(const struct aim_semver *a, const struct aim_semver *b);

/*
 * Does v satisfy the pin?  A pin is comparators separated by spaces, all
 * of which must hold (npm node-semver "range" without ||): 1.2.3 or =1.2.3
 * (exact; a partial 1.2 means 1.2.x), >, >=, <, <= (partials widen as in
 * npm: >1.2 is >=1.3.0, <=1.2 is <1.3.0), ~1.2.3 (>=1.2.3 <1.3.0; ~1 is
 * 1.x), ^1.2.3 (>=1.2.3 <2.0.0; ^0.2.3 is <0.3.0, ^0.0.3 is <0.0.4), and x
 * or * as a wildcard part.  As in npm, a prerelease version satisfies only
 * when a comparator names the same MAJOR.MINOR.PATCH with a prerelease.
 * Returns 1 or 0, or -1 with a malloc'd *why for a pin that does not parse.
 */
int	 aim_semver_satisfies(const struct aim_semver *v, const char *pin,
	    char **why);

/* ---- walk.c: a directory walk that never follows symlinks (issue 3) ---- */

struct aim_walk_entry {
	const char *path;	/* root + "/" + names, as walked */
	int	 dirfd;		/* the directory holding it, for *at calls */
	const char *name;	/* its name in dirfd (the root: path itself) */
	const struct stat *st;	/* fstatat(AT_SYMLINK_NOFOLLOW) */
	int	 depth;		/* 0 for the root */
};

enum aim_walk_action {
	AIM_WALK_CONTINUE,	/* go on (into a directory) */
	AIM_WALK_PRUNE,		/* do not enter this directory */
	AIM_WALK_STOP		/* end the walk */
};

/*
 * A walk: visit is called for the root and every entry below it, a
 * directory before its contents; symlinks are reported, never followed
 * (openat O_NOFOLLOW; the root itself is followed, like find -H).
 * A directory whose (st_dev, st_ino) is already open above it (a bind
 * mount loop) is not entered.  Problems do not end the walk: each calls warn
 * with the path and a message ("can't open directory: Permission denied",
 * "vanished during the scan", "directory loop (already at /a)") and counts
 * in nwarn.
 */
struct aim_walk {
	int	(*visit)(const struct aim_walk_entry *e, void *arg);
	void	*visit_arg;
	void	(*warn)(const char *path, const char *message, void *arg);
	void	*arg;		/* for warn and tick */
	size_t	 nwarn;
	size_t	 nfiles;	/* entries visited so far */
	/* Called now and then (may be NULL): for a progress line. */
	void	(*tick)(struct aim_walk *w, const char *phase, size_t done,
		    size_t total);
};

/* Walk root.  Returns 0, or 1 when visit said AIM_WALK_STOP. */
int	 aim_walk(struct aim_walk *w, const char *root);

/* ---- dups.c: duplicate files by content (issue 3) ---- */

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
 * first path).  Problems go to w->warn (w->visit is set by this function);
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

/* ---- scan.c: tools, pins, health checks, caches (issue 3) ---- */

/*
 * Everything the scanner and `aim status` read: the registry found and
 * loaded with its config.  Problems of the config, of the registry and of
 * aim_registry_check() are in probs (registry_ok 0 when the registry could
 * not be loaded for routing).
 */
struct aim_scan_ctx {
	struct aim_options opt;
	char	*registry_dir;		/* NULL when not found */
	char	*not_found;		/* why, when not found */
	struct aim_config cfg;
	struct aim_registry reg;
	int	 registry_ok;
	struct aim_problems probs;
	size_t	 nconfig;	/* probs[0..nconfig): the config's */
	size_t	 nload;		/* probs[0..nload): config and loading */
};

/* Find and load the registry and the config (never fails; see probs). */
void	 aim_scan_load(struct aim_scan_ctx *c, const struct aim_options *opt);
void	 aim_scan_free(struct aim_scan_ctx *c);

/*
 * c->probs[from..to) as strings "file:line:column: message" (or "file:
 * message" without a position), as aim-scan(1) "health" check registry
 * and aim(1) "status" show them.  New array.
 */
json_t	*aim_scan_problems(const struct aim_scan_ctx *c, size_t from,
	    size_t to);

/*
 * One finding record per registry tool (aim-scan(1) "tools"):
 * {finding:"tool", tool_id, name, status (ready | not_installed |
 * no_adapter, as aim_route() gives it), command, path, shadowed[],
 * version, version_output, version_error, pin, pin_status (ok | drift |
 * missing | unpinned | invalid), adapter {status, argv | reason},
 * config_paths[{path, present}], log_paths[...], warnings[]}.  The
 * versionCommand of an installed tool runs through aim_proc_run() with
 * cfg.version_timeout_ms (seed: 5 s) and a 64 KiB stdout cap; its first
 * line (stdout, else stderr) is parsed with aim_semver_find().  New array.
 */
json_t	*aim_scan_tools(struct aim_scan_ctx *c);

/*
 * The health checks (original-aim.md "Health"; aim-scan(1) "health"):
 * required_commands, ai_tools, adapters, registry, pins, vault, secrets
 * (the vault secrets tools name, through aim_vault_open_unattended),
 * audit_dir, each
 * {finding:"health", name, status: pass|warn|fail, message, details};
 * tools is aim_scan_tools()'s array (borrowed).  New array.
 */
json_t	*aim_health_checks(struct aim_scan_ctx *c, json_t *tools);

/*
 * {finding:"health_summary", timestamp, overall_status: healthy |
 * degraded | unhealthy, summary {pass, warn, fail}}: any fail is
 * unhealthy, else any warn is degraded.  checks borrowed; new reference.
 */
json_t	*aim_health_summary(json_t *checks);

/*
 * Cache directories (and cache files such as .eslintcache) under roots
 * whose path ends in one of patterns (path components: "node_modules/.cache"
 * matches a/node_modules/.cache), outside central_cache (NULL: none; not
 * entered).  A match is not entered further; nothing inside a
 * version-control directory (aim_path_vcs) is matched or entered.  Returns
 * a new array of {finding:"cache", path, pattern, class (aim_cache_class),
 * kind, size_bytes, files}, largest first; problems go to w->warn.
 */
json_t	*aim_scan_caches(const char *const *roots, size_t nroots,
	    json_t *patterns, const char *central_cache, struct aim_walk *w);

/*
 * Does path end in pattern, path component by path component
 * ("a/node_modules/.cache" ends in "node_modules/.cache", "a/xdist" does
 * not end in "dist")?  Trailing slashes of path are ignored.  1 or 0.
 */
int	 aim_path_tail_matches(const char *path, const char *pattern);

/*
 * The version-control directory name (".git", ".hg", ".svn", ".jj" or
 * ".bzr", a static string) that is a path component of path, or NULL.
 * Nothing inside one is a cache or removable (aim-scan(1) "caches",
 * "clean"); the caller resolves symlinks first if it must.
 */
const char *aim_path_vcs(const char *path);

/*
 * "build" when the last component of a cache pattern names a build output
 * (dist, build, .venv), else "cache": the "class" of a cache finding;
 * clean removes builds only when asked (aim-scan(1) "caches").  Static.
 */
const char *aim_cache_class(const char *pattern);
/* ---- chain.c: the tamper-evident audit trail (issue 5) ---- */

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
void	 aim_chain_close(struct aim_chain *c);

/*
 * Take the head file's flock (exclusive: a writer; shared: a reader such as
 * verify) and read the head into c.  Exclusive, it also repairs: a missing
 * or damaged head is rebuilt from the entries (warning on stderr when
 * entries existed), and a write left pending by a killed writer is
 * finished: the entry is adopted when it reached its final name (warning
 * "<rel>: seq N: entry of an interrupted write adopted"), else forgotten,
 * and its temporary file removed.  0, or -1 with *why.
 */
int	 aim_chain_lock(struct aim_chain *c, int exclusive, char **why);
void	 aim_chain_unlock(struct aim_chain *c);

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
char	*aim_chain_append_locked(struct aim_chain *c, json_t *entry,
	    char **why);

/* Is kind one of the management event kinds below?  1 or 0. */
int	 aim_audit_event_kind(const char *kind);

/*
 * The management event kinds (the list of aim_audit_event below), in
 * static storage, NULL-terminated; for messages that name them all.
 */
const char *const *aim_audit_event_kinds(void);

/*
 * Append a management event to the chain of audit directory dir (issue 5,
 * original-aim.md "event log"): an entry {"timestamp", "kind", "actor"
 * (login name of the effective user), "program", "event": details,
 * "contract", "seq", "prev"} named <stamp>_aim_<kind>.json.  kind is one of
 * secret_set, secret_get, secret_delete, health_check, scan_execute,
 * config_update, error.  details (borrowed, may be NULL) is copied and
 * redacted like an entry (aim_redact); never put a secret value in it.
 * Returns 0, or -1 with errno (EINVAL: bad kind or dir NULL) and, when why
 * is not NULL, a malloc'd *why.
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

/* ---- setup.c: a command's registry, config and audit trail together ---- */

/*
 * aim_audit_event into the trail of this setup, for commands that manage
 * rather than route (aim-secret, aim-scan): the registry and config of opt
 * (-r, -c, else the usual search), then $AIM_AUDIT_DIR > config audit_dir
 * > <registry>/AIM_audit, with no fallback: a command used without any aim
 * setup leaves no trail.  Returns 0 logged, 1 when no audit directory
 * applies, -1 with a malloc'd *why, "<dir>: <reason>".
 */
int	 aim_audit_event_here(const struct aim_options *opt, const char *kind,
	    json_t *details, char **why);

#endif /* AIM_H */
