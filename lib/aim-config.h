/*
 * aim-config.h: layer 2 of libaim, configuration: the registry, the rules,
 * aim_config.json, the adapter protocol.  lib/LAYERS gives the table: a
 * module includes its own layer's header, which includes the lower ones,
 * and calls nothing above it.
 */
#ifndef AIM_CONFIG_H
#define AIM_CONFIG_H

#include "aim-data.h"

/* ---- registry.c: registry, rules and config (aim-registry(5)) ---- */

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
 * The circuit breaker (aim-invoke(1) "Cooldowns"): after allowed_fails
 * failures of a counting class within window_ms a tool cools down for
 * cooldown_ms, or long_cooldown_ms when the failure that opened it was auth
 * or quota.
 */
struct aim_cooldown_policy {
	int64_t	 allowed_fails;		/* 3 */
	int64_t	 window_ms;		/* 60000 */
	int64_t	 cooldown_ms;		/* 30000 */
	int64_t	 long_cooldown_ms;	/* 300000 */
};

/*
 * aim_config.json with its defaults (aim-registry(5) "aim_config.json").
 * A key is a member here, a row of config_keys in registry.c (its type,
 * bounds and default) and its entry in aim-registry(5).
 */
struct aim_config {
	char	*path;			/* the file read, or NULL: defaults */
	int64_t	 timeout_ms;		/* 30000 */
	int64_t	 max_payload_bytes;	/* 1048576 */
	int64_t	 max_output_bytes;	/* 1048576 */
	int64_t	 stderr_tail_bytes;	/* 4096 */
	int64_t	 kill_grace_ms;		/* 1000 */
	int64_t	 audit_log_retention_days; /* 30 */
	int64_t	 audit_group_max;	/* 256: entries per group commit */
	char	*actor;			/* "pipeline" */
	char	*audit_dir;		/* NULL: <registry>/AIM_audit */
	/* routing policy (aim-invoke(1)) */
	int64_t	 deadline_ms;		/* 0: no deadline */
	int64_t	 min_attempt_ms;	/* 1000: never start a tool with less */
	int64_t	 retry_base_ms;		/* 500: first back-off ceiling */
	int64_t	 retry_max_ms;		/* 30000: back-off ceiling cap */
	int64_t	 retry_after_max_ms;	/* 60000: cap on an adapter's wish */
	struct aim_cooldown_policy cooldown;
	/* aim-scan(1); the arrays are jansson arrays of strings. */
	json_t	*scan_roots;		/* [] : the working directory */
	int64_t	 scan_min_size_bytes;	/* 102400 (original: min_size_kb 100) */
	json_t	*cache_patterns;	/* aim-scan(1) "caches" */
	char	*central_cache;		/* NULL: $XDG_CACHE_HOME, else ~/.cache */
	json_t	*required_commands;	/* ["git"] */
	int64_t	 version_timeout_ms;	/* 5000 (original: 5 s limit) */
	char	*bin_dir;		/* aim-install(1): NULL: ~/.local/bin */
	int64_t	 cache_max_bytes;	/* 512 MiB: aim-cache(1) "Size" */
	int64_t	 health_cache_ms;	/* 0: aim-scan(1) "Health cache" */
	json_t	*budgets;		/* {}: {"<tool>": {"usd_per_day": N}} */
	/* aim-registry(5) "State backend" */
	char	*state_backend;		/* "file", or "redis://host:port/db" */
	char	*state_password_secret;	/* NULL, or a vault secret's name */
	int64_t	 state_lease_ttl_ms;	/* 30000: a max_concurrent lease */
};

/* A parsed "redis://host[:port][/db]" (aim-registry(5) "State backend"). */
struct aim_state_url {
	char	 host[256];	/* a name, an IPv4 address or [IPv6] bare */
	int	 port;		/* 1-65535, 6379 when not given */
	int	 db;		/* 0-65535, 0 when not given */
};

/*
 * Read a state_backend value: "file" returns 0; "redis://host[:port][/db]"
 * fills *u and returns 1; anything else, and every URL with user
 * information (a password belongs in the vault, state_password_secret),
 * returns -1 with a malloc'd *why saying what is wrong.
 */
int	 aim_state_url_parse(const char *s, struct aim_state_url *u,
	    char **why);

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
 * Find the registry directory (aim(7) "Registry": -r DIR >
 * $AIM_REGISTRY_PATH > nearest .AIM_ai-tools-registry walking up from the
 * working directory > $HOME/.AIM_ai-tools-registry).  Returns a malloc'd
 * canonical absolute path (realpath(3)), or NULL with a malloc'd "registry
 * not found (looked in ...)" in *why naming every place tried.
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
 * The audit directory (aim-audit(1) "Audit directory"): opt_dir >
 * $AIM_AUDIT_DIR > cfg->audit_dir > <registry_dir>/AIM_audit > with
 * fallback, $XDG_STATE_HOME/aim/AIM_audit.  cfg and registry_dir may be
 * NULL.  Malloc'd absolute path, or NULL when none applies.
 */
char	*aim_audit_dir_find(const char *opt_dir, const char *registry_dir,
	    const struct aim_config *cfg, int fallback);

/*
 * Load AIM_registry.json and the coordination rules from dir (aim-registry(5)).
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
 * Why steps, a workflow's steps (aim-registry(5) "workflows", a request's
 * "steps", aim-resolve(1) "Workflows"), cannot run, or NULL: an array of
 * at least one {capability: a non-empty string, prompt: a string,
 * continue_on_failure: a boolean}, each capability a member of caps (the
 * rules' capabilities; NULL: not looked up).  The message (malloc'd)
 * names the step by its index from 0, "steps[1]: ..."; *unknown is 1
 * when it is an unknown capability's.
 */
char	*aim_steps_invalid(json_t *steps, json_t *caps, int *unknown);

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

/* ---- adapter.c: the V1 adapter protocol (aim-adapter(7)) ---- */

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
 * Judge a finished run (aim-adapter(7) "How an attempt is judged"): the
 * attempt object {tool_id, outcome, exit_code|signal, duration_ms, message,
 * stderr, stdout, *_truncated} and, for outcome success or failure, *output
 * set to the adapter's JSON object (new reference, else NULL).  Outcomes:
 * success, failure, exit, signal, timeout, bad_output, spawn_error.
 * Returns the attempt (new reference).
 */
json_t	*aim_adapter_attempt(const struct aim_proc *p, const char *tool_id,
	    const char *argv0, json_t **output);

/*
 * Where a tool is installed (aim-registry(5) "AIM_registry.json"): the
 * first of its detectCommands found, each expanded against registry_dir
 * and looked up as execvp(3) would (aim_which), or through which(arg,
 * command) when which is not NULL (a cache: it returns a malloc'd path or
 * NULL with errno).  Returns the malloc'd absolute path, and the command
 * as expanded in *cmd when cmd is not NULL; else NULL with a malloc'd
 * *why: each command's reason joined by "; " ("claude: not found on
 * PATH", "/opt/x: no such file", "x: not executable"), or "TOOL_ID: no
 * detectCommands".
 */
char	*aim_tool_detect(const char *registry_dir, json_t *tool,
	    const char *tool_id, char **cmd, char **why,
	    char *(*which)(void *arg, const char *command), void *arg);

/*
 * The command line that runs a tool's adapter (aim-registry(5)
 * "AIM_registry.json", "Expansion"): adapterScript expanded and made
 * absolute against registry_dir (the absolute registry directory, also
 * AIM_REGISTRY_PATH in the expansion); a .ps1 runs as [pwsh, -NoProfile,
 * -NonInteractive, -File, script] with pwsh found on PATH.  Returns a new
 * JSON array of strings, or NULL with a malloc'd *why ("no adapterScript",
 * "adapter /x.sh: No such file or directory", "adapter /x.sh: not
 * executable", "adapter /x.sh: #! line ends in CR (CRLF line endings?)",
 * "pwsh not found on PATH for adapter /x.ps1").  A tool with an adapter
 * object (aim-registry(5) "The adapter object") gets that object's argv,
 * its command expanded and found as execvp(3) would ("adapter command
 * shellcheck: not found on PATH"), the rest as written.
 */
json_t	*aim_adapter_argv(const char *registry_dir, json_t *tool,
	    char **why);

/* The skipped attempt for a candidate that is not ready. */
json_t	*aim_adapter_skipped(json_t *candidate);

/*
 * What an attempt cost in US dollars (aim-invoke(1) "Cost"): content's
 * "cost_usd" when the adapter gave one (*from "adapter"), else its
 * "usage" tokens ({"input_tokens", "output_tokens",
 * "cached_input_tokens"}, input counting the cached ones) times the
 * tool's "price" ({"input_per_mtok", "output_per_mtok",
 * "cached_input_per_mtok"}, aim-registry(5) "The price object"; *from
 * "price").  Both borrowed, either may be NULL.  -1 when neither says.
 */
double	 aim_attempt_cost(json_t *content, json_t *price, const char **from);

/*
 * The result when every candidate failed: {"success":false,"message":
 * "All tools failed for capability 'X': a: why; b: why","content":null}
 * (aim-invoke(1) "Results").  New reference.
 */
json_t	*aim_all_failed(const char *capability, json_t *attempts);

/* ---- declare.c: declarative adapters (aim-registry(5)) ---- */

/*
 * The placeholders an adapter object's argv strings may hold: "{files}",
 * "{file}", "{prompt}", "{cwd}"; a NULL-terminated static list.
 */
const char *const *aim_declare_placeholders(void);

/*
 * The runs of one attempt of a tool whose registry entry has an adapter
 * object (adapter, borrowed) for the routed record rec (borrowed): an
 * array of {argv: [strings], stdin: string|null}.  In each argv string
 * {prompt} is rec.payload.prompt ("" without one), {cwd} the working
 * directory, {file} one file of rec.payload.files (one run per file when
 * an argv string holds it), and a string holding {files} becomes one
 * string per file; stdin is the prompt when the adapter's "stdin" is
 * "prompt".  Returns a new array, or NULL with a malloc'd *why: "bad_request:
 * ..." when the request does not suit the tool (a file that is not there,
 * "a.c: No such file or directory", or not of its "file_types", no files for an argv that names them, a file that is not
 * a string), else what is wrong with the adapter object.
 */
json_t	*aim_declare_runs(json_t *adapter, json_t *rec, char **why);

/*
 * The content hashes (BLAKE2b-256, libsodium crypto_generichash) of the
 * files a run may change: the strings of files (borrowed; others are
 * skipped), as paths relative to the working directory; a file that
 * cannot be read is recorded as missing.  aim_snapshot_changed reads
 * them again: a new array of the paths, as given, whose content changed
 * or that appeared or went (aim-adapter(7) "Content of an AI coding
 * tool", files_modified); NULL s gives [].  aim_snapshot_free(NULL) does
 * nothing.
 */
struct aim_snapshot;
struct aim_snapshot *aim_snapshot_take(json_t *files);
json_t	*aim_snapshot_changed(struct aim_snapshot *s);
void	 aim_snapshot_free(struct aim_snapshot *s);

/*
 * The adapter-protocol reply (aim-adapter(7) "Standard output") of the
 * runs of an attempt: done (borrowed) is the array of finished runs
 * {exit_code: int|null, signal, timed_out, stdout, stderr}, changed
 * (borrowed, may be NULL) the files they changed (aim_snapshot_changed).
 * When every run exited with a code of "success_exit" (default [0]) or
 * "findings_exit": {success: true, message: "N finding(s), M file(s)
 * modified", content: {findings (when the adapter has a "findings" spec,
 * aim_findings_parse of each run's stream; a file the tool gave as an
 * absolute path under the working directory made relative to it),
 * files_modified, exit_code (the highest; null when a run never exited)}}.  Else, for the first run that did not:
 * {success: false, message: its last stderr line (else "exited with code
 * N", "killed by SIGX", "timed out"), content: {files_modified,
 * exit_code}}, with error_class "timeout" for a timed out run and none
 * otherwise, for the caller to classify (aim-invoke(1) Error classes).  A
 * report that cannot be read is a failure without a class too ("can't
 * read the tool's findings: ...").  New reference.
 */
json_t	*aim_declare_output(json_t *adapter, json_t *done, json_t *changed);

#endif /* AIM_CONFIG_H */
