/*
 * aim-data.h: layer 1 of libaim, data and processes: records, JSON
 * positions, versions, walks, policy, error patterns, redaction, children.  lib/LAYERS
 * gives the table: a module includes its own layer's header, which includes
 * the lower ones, and calls nothing above it.
 */
#ifndef AIM_DATA_H
#define AIM_DATA_H

#include "aim-util.h"

/* ---- ndjson.c: JSON Lines in and out (aim(7) "Records") ---- */

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
 * rec itself) and, when it has none, an "id".  See aim(7) "Records".
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
 * Called by aim_each_line with each line that is not blank (aim_line_blank)
 * and the name of its source (aim_input_name: "<stdin>" or the operand).
 * Returns 0 to go on, non-zero to leave the rest of this source unread
 * (the output failed); the next operand is still opened.
 */
typedef int (*aim_line_fn)(void *arg, const struct aim_line *line,
	    const char *source);

/*
 * The filters' input loop (aim(7) "Streams"): each of operands[0..n) in
 * order, or the standard input when n is 0 ("-" is the standard input too),
 * read through aim_lines_next with max_line_bytes (constant memory; longer
 * lines come with too_long set), blank lines skipped.  An operand that
 * can't be opened ("prog: can't open F: reason") or read ("prog: S: read
 * error: reason") is said on stderr and the next one is read.  Returns 0,
 * or -1 when any could not be opened or read: the caller's exit status 4
 * (AIM_EXIT_IO).
 */
int	 aim_each_line(char *const *operands, int n, size_t max_line_bytes,
	    aim_line_fn fn, void *arg);

/*
 * aim_each_line, telling idle(arg) whenever every line at hand has been
 * given to fn and the next would have to be waited for (the input has no
 * data ready now: poll(2) with no timeout), and at the end of each
 * operand; for a filter that works on what has arrived together
 * (aim-audit(1) "Group commit").
 */
typedef void (*aim_idle_fn)(void *arg);
int	 aim_each_line_idle(char *const *operands, int n,
	    size_t max_line_bytes, aim_line_fn fn, aim_idle_fn idle, void *arg);

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

/* ---- jsonpos.c: where a value sits in its JSON text ---- */

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

/* ---- semver.c: versions and version pins (aim-scan(1)) ---- */

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

/* ---- walk.c: a directory walk that never follows symlinks ---- */

/* Deeper than this is reported and not entered (one descriptor a level). */
#define AIM_WALK_MAX_DEPTH	256

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

/* ---- policy.c: error classes, retries, limits (aim-invoke(1)) ---- */

/*
 * Error classes: auth, rate_limit, quota, context_too_long,
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

/*
 * The path p names once symlinks and ".." are resolved, as
 * aim_security_check resolves a payload's files (aim-resolve(1) "Context
 * and security checks"): a dangling symlink is followed too (it names the
 * file a tool would create); past the first component that does not exist
 * the rest is taken as written, ".." still taking one off.  A relative p
 * is taken against the working directory.  A malloc'd absolute path;
 * never fails (aborts on memory exhaustion).
 */
char	*aim_path_resolve(const char *p);

/*
 * Is p, resolved (aim_path_resolve), dir or below it, dir resolved too?
 * 1 or 0.  For the files a workflow's step hands on (aim-invoke(1)
 * "Workflows").
 */
int	 aim_path_within(const char *p, const char *dir);

/* ---- patterns.c: error patterns (aim-adapter(7) ERROR PATTERNS) ---- */

/*
 * A registry's error patterns, compiled: the rules of an
 * AIM_adapters/error-patterns file, CLASS<TAB>FLAGS<TAB>ERE lines, tried
 * in file order (aim-adapter(7) ERROR PATTERNS).
 */
struct aim_patterns;

/*
 * Read and compile the rules of fp; name says where they come from in
 * messages.  Returns them (aim_patterns_free), or NULL with errno EINVAL
 * and a malloc'd *why "NAME:LINE: what is wrong" (a missing field, an
 * unknown flag or class, a condition or strip line out of place, an ERE
 * regcomp(3) refuses, a NUL byte).
 */
struct aim_patterns *aim_patterns_parse(FILE *fp, const char *name,
	    char **why);

/*
 * aim_patterns_parse of the file path.  NULL with errno and *why as
 * there, or fopen(3)'s errno (ENOENT: no file) and *why "PATH: reason".
 */
struct aim_patterns *aim_patterns_load(const char *path, char **why);

/*
 * The error class the first rule text matches gives (borrowed from p), or
 * NULL when none does; NULL p or text: NULL.
 */
const char *aim_patterns_classify(const struct aim_patterns *p,
	    const char *text);

/* The number of rules of p (0 for NULL). */
size_t	 aim_patterns_count(const struct aim_patterns *p);

/* Free p and all its rules; NULL is nothing. */
void	 aim_patterns_free(struct aim_patterns *p);

/* ---- redact.c: secrets out of values (aim-audit(1) "Redaction") ---- */

/*
 * Replace secrets in v in place: values under keys that name a
 * secret (api_key, token, password, secret, authorization, *_key, ...) and
 * substrings that look like provider keys (sk-..., sk-ant-..., AKIA...,
 * ghp_..., AIza..., "Bearer ...") become "[REDACTED]".  The values given
 * to aim_redact_register go first, whole, then the patterns, so a pattern
 * inside a secret never cuts it (aim-audit(1) "Redaction").  Returns how
 * many values it changed.
 */
size_t	 aim_redact(json_t *v);

/*
 * Hand the redaction the exact value of a vault secret: from now
 * on aim_redact() and aim_redact_secrets() replace it, its JSON-escaped
 * form and its base64 forms (standard and URL-safe, with and without
 * padding) wherever they stand in a string.  Values under 4 bytes are not
 * taken (they would blank out ordinary text).  The copies live in
 * sodium_malloc memory.  Returns 0, or -1 when out of secure memory.
 */
int	 aim_redact_register(const unsigned char *value, size_t len_bytes);

/* Only the registered secret values of v, in place; returns how many. */
size_t	 aim_redact_secrets(json_t *v);

/* ---- findings.c: a linter's report read (aim-registry(5) Findings) ---- */

/*
 * The findings of a tool's report text (len bytes, any bytes) as spec
 * (borrowed: the "findings" member of an adapter object, aim-registry(5)
 * "The adapter object") reads them: "format" "json" (through the field
 * map "fields": "list", a dotted path to the array whose "[]" steps take
 * every element of an array; "file", "line", "column", "severity",
 * "rule", "message", dotted paths in an element (a number step indexes an
 * array), or with a leading '^' in the element of the last "[]";
 * "severities", an object mapping values to severities; "rule_prefix"),
 * "sarif" (SARIF 2.1.0 runs[].results[]), "checkstyle" (XML <file
 * name><error line column severity message source>), "gcc"
 * ("file:line[:column]: [severity: ]message[ [rule]]" lines, or
 * yamllint's "... [severity] message (rule)"; others skipped).  Text that is empty or only white space has no
 * findings.
 * Returns a new array of {file, line, column, severity, rule, message}
 * (line and column integers from 1, the others strings; a member the
 * report lacks is left out), or NULL with a malloc'd *why ("json: ...
 * at line L, column C", "unknown findings format 'x'") when the text is
 * not a report of that format.
 */
json_t	*aim_findings_parse(const char *text, size_t len, json_t *spec,
	    char **why);

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
 * In a child of fork(2) that runs children of its own (aim-install(1) -j:
 * one process per tool; aim-fanout(1) DESCRIPTION: one per candidate): a
 * SIGCHLD self-pipe of its own in place of the one inherited, so that its
 * siblings' exits neither wake it nor are drained by it.  Returns
 * aim_proc_setup's answer: 0 or -1 (errno).
 */
int	 aim_proc_forked(void);

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

/* ---- show.c: a record in words (aim-run(1) "Terminal output") ---- */

/*
 * Whether to colour what goes to fd: a terminal, TERM not "dumb", NO_COLOR
 * unset or empty (aim-run(1) ENVIRONMENT).
 */
int	 aim_show_color(int fd);

/*
 * rec for a person, on fp: a heading (capability, files, how it ended,
 * who served it, how long, "from the cache" for result.cached), the
 * attempts when more than one ran or it
 * failed (outcome, tool, class or reason, time, message), the plan of a
 * dry run, then from result.content the files (files_modified,
 * files_created, files_deleted, lines_added/lines_removed), findings (a
 * count or [{file, line, column, severity, message}]), usage
 * {input_tokens, output_tokens, cached_input_tokens}, cost_usd, the
 * response and stdout texts (their first 20 lines), and audit.path or
 * audit.error.  Error records get their code and message.  Control
 * characters of the tools' texts print as spaces; colour is SGR escapes
 * when color is non-zero.  Write errors are fp's (ferror).
 */
void	 aim_show_record(FILE *fp, json_t *rec, int color);

#endif /* AIM_DATA_H */
