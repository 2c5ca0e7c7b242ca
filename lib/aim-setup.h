/*
 * aim-setup.h: layer 5 of libaim, commands' set-up and the scanner.
 * lib/LAYERS gives the table: a module includes its own layer's header,
 * which includes the lower ones, and calls nothing above it.
 */
#ifndef AIM_SETUP_H
#define AIM_SETUP_H

#include "aim-flow.h"

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

/* ---- init.c: a project's first registry (aim-init(1)) ---- */

#define AIM_INIT_FORCE		0x1	/* rewrite an existing registry */
#define AIM_INIT_DRY_RUN	0x2	/* report, write nothing */

/*
 * Make dir/.AIM_ai-tools-registry from the template registry from (its
 * AIM_registry.json and coordination rules, aim-registry(5)), keeping the
 * tools whose detectCommands are found on PATH, endpoints excepted
 * (aim-init(1) DESCRIPTION):
 * their registry entries, their adapters when those lie inside the template
 * (copied to the same place), each capability's chain "primary" then
 * "fallback" through the tools kept (a capability none serves is left
 * out), the template's .gitignore, aim_config.json and AIM_adapters/lib.sh
 * (else kit, the installed adapter kit, when not NULL), and AIM_audit/ with
 * a .gitignore of "*".  Each file is written under a temporary name and
 * renamed.  AIM_INIT_FORCE rewrites those files of an existing registry
 * and leaves everything else (the audit trail) alone.
 * Returns 0 and *report: {registry, template, dry_run, tools: [{tool_id,
 * name, path, capabilities}], missing: [{tool_id, name, why}],
 * capabilities: {cap: [tool_id, ...]}, uncovered: [cap], written: [path]};
 * else an aim exit status with a malloc'd *why: AIM_EXIT_FAILED (the
 * registry exists, no AIM_INIT_FORCE), AIM_EXIT_USAGE (dir is not a
 * directory, or is where the template is), AIM_EXIT_CONFIG (the template
 * is missing or unusable: its first problem, file:line:column),
 * AIM_EXIT_IO (a file could not be written; what was written stays).
 */
int	 aim_init(const char *dir, const char *from, const char *kit,
	    unsigned flags, json_t **report, char **why);

/* ---- scan.c: tools, pins, health checks, caches (aim-scan(1)) ---- */

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
 * The health checks (aim-scan(1) "health"):
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

#endif /* AIM_SETUP_H */
