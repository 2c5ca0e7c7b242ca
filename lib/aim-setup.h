/*
 * aim-setup.h: layer 5 of libaim, commands' set-up, the scanner and clean.
 * lib/LAYERS gives the table: a module includes its own layer's header,
 * which includes the lower ones, and calls nothing above it.
 */
#ifndef AIM_SETUP_H
#define AIM_SETUP_H

#include "aim-flow.h"

/* ---- setup.c: a command's registry, config and audit trail together ---- */

/*
 * What aim_setup_load() does beyond finding the registry and loading the
 * config, and how loud it is; a command's failure policy, spelt out.
 */
#define AIM_SETUP_REGISTRY	0x01	/* load the registry and rules found */
#define AIM_SETUP_CHECK		0x02	/* then aim_registry_check() them */
#define AIM_SETUP_NEED_CONFIG	0x04	/* ... only when the config loaded */
#define AIM_SETUP_AUDIT_DIR	0x08	/* resolve the audit directory */
#define AIM_SETUP_FALLBACK	0x10	/* ... down to $XDG_STATE_HOME */
#define AIM_SETUP_WARN		0x20	/* say what failed (see below) */

/*
 * A command's set-up.  Problems of the config, of loading the registry and
 * of aim_registry_check() are in probs, in that order: probs[0..nconfig)
 * the config's, probs[0..nload) the config's and the loading's.
 */
struct aim_setup {
	struct aim_options opt;		/* the caller's: strings borrowed */
	char	*registry_dir;		/* NULL when not found */
	char	*not_found;		/* why, when not found */
	struct aim_config cfg;		/* defaults where it failed */
	int	 config_ok;
	struct aim_registry reg;	/* with AIM_SETUP_REGISTRY */
	int	 registry_ok;		/* loaded, usable for routing */
	char	*audit_dir;		/* with AIM_SETUP_AUDIT_DIR; or NULL */
	struct aim_chain chain;		/* aim_setup_chain's, once opened */
	int	 chain_open;
	struct aim_problems probs;
	size_t	 nconfig, nload;
	int	 status;		/* AIM_EXIT_CONFIG when WARN warned */
};

/*
 * Fill s from the options (-r, -c; opt_dir is -d or NULL) as aim(7)
 * "Registry", "Configuration", ENVIRONMENT and FILES say they are found:
 * the registry (aim_registry_find), aim_config.json (aim_config_load),
 * then as flags ask the registry and rules (aim_registry_load; with
 * AIM_SETUP_NEED_CONFIG not when the config failed), its checks and the
 * audit directory (aim_audit_dir_find, with AIM_SETUP_FALLBACK its
 * $XDG_STATE_HOME fallback).  Never fails: what went wrong is in
 * not_found, config_ok, registry_ok, probs and a NULL audit_dir, for the
 * caller's policy.  AIM_SETUP_WARN is the filters' policy (aim-invoke(1),
 * aim-audit(1)): warn with not_found when -r named no registry and print
 * the config's problems, each raising status to AIM_EXIT_CONFIG.  Free
 * with aim_setup_free().
 */
void	 aim_setup_load(struct aim_setup *s, const struct aim_options *opt,
	    const char *opt_dir, int flags);
void	 aim_setup_free(struct aim_setup *s);

/*
 * The audit chain of s's audit directory, opened at the first call and
 * closed by aim_setup_free (aim-audit(1) "The chain").  NULL with a
 * malloc'd *why when there is none: "no audit directory: set
 * AIM_AUDIT_DIR or use -d", or aim_chain_open's reason.
 */
struct aim_chain *aim_setup_chain(struct aim_setup *s, char **why);

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
 * The scanner and `aim status` read an aim_setup loaded with
 * AIM_SETUP_REGISTRY | AIM_SETUP_CHECK | AIM_SETUP_AUDIT_DIR |
 * AIM_SETUP_FALLBACK (registry_ok 0 when the registry could not be loaded
 * for routing).
 */

/*
 * c->probs[from..to) as strings "file:line:column: message" (or "file:
 * message" without a position), as aim-scan(1) "health" check registry
 * and aim(1) "status" show them.  New array.
 */
json_t	*aim_scan_problems(const struct aim_setup *c, size_t from,
	    size_t to);

/*
 * One finding record per registry tool (aim-scan(1) "tools"):
 * {finding:"tool", tool_id, name, status (ready | not_installed |
 * no_adapter, as aim_route() gives it), command, path, shadowed[],
 * version, version_output, version_error, pin, pin_status (ok | drift |
 * missing | unpinned | invalid), adapter {status, argv | reason},
 * config_paths[{path, present}], log_paths[...], warnings[]}.  The
 * versionCommands of the installed tools run all at once (aim_proc_spawn)
 * with cfg.version_timeout_ms (seed: 5 s) and a 64 KiB stdout cap; the
 * first line (stdout, else stderr) that holds a version is parsed with
 * aim_semver_find().  An answer is cached in $XDG_CACHE_HOME/aim/
 * versions.json, keyed by the binary the command runs (path, device,
 * inode, size, change time) and the command, so a changed binary is asked
 * again (aim-scan(1) "Version cache"); AIM_SCAN_NO_CACHE asks every tool
 * and leaves the cache alone.  A timed-out or unstartable probe is never
 * cached.  A command that is an npm package's bin, of the package the
 * tool's install object names (or, without one, under the command's own
 * name), is not run: version comes from that package.json, whose path is
 * version_file; versionProbe "command" in the registry turns this off
 * (same section).  New array.
 */
#define AIM_SCAN_NO_CACHE	0x1
json_t	*aim_scan_tools(struct aim_setup *c, unsigned flags);

/*
 * One tool's versionCommand asked now, as aim_scan_tools asks it, but
 * with envp (whose PATH decides which binary answers: aim-install(1)
 * asks the version it has just installed, before it switches to it) and
 * never from or into the cache.  Returns a new {version (string or
 * null), version_output, version_error, pin, pin_status (ok | drift |
 * unpinned | invalid), warnings[]} as in a tool record; a tool without
 * a versionCommand gets version_error "no versionCommand".
 */
json_t	*aim_scan_version(struct aim_setup *c, json_t *tool,
	    char *const envp[]);

/*
 * The health checks (aim-scan(1) "health"):
 * required_commands, ai_tools, adapters, registry, pins, vault, secrets
 * (the vault secrets tools name, through aim_vault_open_unattended),
 * audit_dir, each
 * {finding:"health", name, status: pass|warn|fail, message, details};
 * tools is aim_scan_tools()'s array (borrowed).  With health_cache_ms
 * above 0 the checks are taken from $XDG_CACHE_HOME/aim/health.json when
 * made less than that long ago for the same registry, config and tools
 * (aim-scan(1) "Health cache"), and kept there when made; flags
 * AIM_SCAN_NO_CACHE makes them afresh and leaves the file alone.  New
 * array.
 */
json_t	*aim_health_checks(struct aim_setup *c, json_t *tools, unsigned flags);

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

/* "1.5 MiB": n bytes in binary units for the human view; buf returned. */
const char *aim_human_bytes(int64_t n, char *buf, size_t len);

/* ---- clean.c: removing what a scan found (aim-scan(1) "clean") ---- */

/* One finding to act on, as read. */
struct aim_clean_item {
	long	 line;
	const char *source;	/* borrowed: the input's name */
	int	 is_cache;	/* a cache finding, else a duplicate one */
	json_t	*rec;		/* the finding, owned */
};

/*
 * A clean: the findings read, what removing them would free, the caller's
 * choices and where the result records go.  Zero it, set build, dry_run,
 * emit and arg, then aim_clean_line for each line, aim_clean_run,
 * aim_clean_free.
 */
struct aim_clean {
	struct aim_clean_item *v;
	size_t	 n, cap;
	size_t	 paths;		/* paths that would be removed now */
	int64_t	 bytes;		/* and their size */
	int	 build;		/* --build: build outputs too */
	int	 dry_run;	/* --dry-run: would_remove, nothing removed */
	/* Each {finding:"clean", action, kind, path, bytes, reason?, ...}. */
	void	(*emit)(void *arg, json_t *rec);
	void	*arg;
	int	 status;	/* AIM_EXIT_FAILED: refused; AIM_EXIT_IO */
};

/*
 * aim_each_line's callback: take one line holding a cache or duplicate
 * finding (aim-scan(1) "caches", "dups") into the plan, counting what it
 * would remove; a line that is not one is refused: "S:L: why" on stderr,
 * a {action:"refused", kind:"unknown", line} record, status
 * AIM_EXIT_FAILED.  Returns 0: every line is read.
 */
int	 aim_clean_line(void *c, const struct aim_line *line,
	    const char *source);

/*
 * Remove what the plan holds, each path checked again first (aim-scan(1)
 * "clean"): a cache must still end in its pattern and not be a symlink; a
 * duplicate must still be a regular file of its size whose content is the
 * kept copy's (and its hash, when the finding has one), and the kept copy
 * must check out or nothing of its group goes.  One result record each:
 * removed, would_remove, skipped (a build output without build), refused
 * (AIM_EXIT_FAILED) or failed (AIM_EXIT_IO), said on stderr too.
 */
void	 aim_clean_run(struct aim_clean *c);

/*
 * rm -r of name in dirfd (AT_FDCWD or an open directory), never following
 * a symlink: a link inside goes, not what it points to.  0, or -1 with
 * the first errno (opendir(3), unlinkat(2)); what could go is gone.
 */
int	 aim_remove_tree(int dirfd, const char *name);
void	 aim_clean_free(struct aim_clean *c);

/*
 * What clean does with a cache finding now: 0 remove, 1 refuse, 2 skip (a
 * build output without c->build); why (len bytes) says it for 1 and 2.
 */
int	 aim_clean_cache_verdict(const struct aim_clean *c, json_t *rec,
	    char *why, size_t len);

/*
 * Nothing inside a version-control directory is ever removed, whatever the
 * record says (aim-scan(1) "clean"): path must not be in one, as written or
 * with the symlinks of its directory resolved, and a directory must not
 * hold one.  0 removable, or 1 with why (len bytes).
 */
int	 aim_clean_vcs_guard(const char *path, char *why, size_t len);

/* ---- install.c: tools installed from the registry (aim-install(1)) ---- */

#define AIM_INSTALL_DRY_RUN	0x1	/* -n: the plan, nothing changed */
#define AIM_INSTALL_LOCKED	0x2	/* --locked: aim.lock exactly */

/*
 * Where installs go and what aim.lock holds (aim-install(1) FILES, "The
 * lockfile"): npm tools under tools_dir/<tool>/<version>, with current
 * and previous symlinks beside them; their programs linked in bin_dir.
 */
struct aim_install {
	struct aim_setup *setup;	/* borrowed: a loaded registry */
	char	*tools_dir;		/* $XDG_DATA_HOME/aim/tools */
	char	*bin_dir;		/* --bin-dir > bin_dir > ~/.local/bin */
	char	*lock_path;		/* <registry>/aim.lock */
	json_t	*lock;			/* {version: 1, tools: {id: entry}} */
	json_t	*changes;		/* this run's: {id: entry, or null} */
	int	 dry_run, locked, lock_dirty;
};

/*
 * Set in up for s's registry (registry_ok), bin_dir (NULL: the config's,
 * else ~/.local/bin) and flags; aim.lock is read (missing: empty).
 * Returns 0, or -1 with a malloc'd *why: "<lock>:L:C: <parse error>",
 * "<lock>: no \"tools\" object", "HOME is not set: ...".  Free with
 * aim_install_close (after -1 too).
 */
int	 aim_install_open(struct aim_install *in, struct aim_setup *s,
	    const char *bin_dir, unsigned flags, char **why);
void	 aim_install_close(struct aim_install *in);

/*
 * Install tool id at the version its pin resolves to (aim-install(1)
 * "How a tool is installed"): with upgrade 0 an installed version that
 * satisfies the pin stays; with in->locked, aim.lock's version and
 * digest, or a failure.  npm: `npm install --prefix DIR PKG@VER`, its
 * versionCommand asked from there and checked against the pin, then the
 * stamp written and current switched (rename(2) of a new symlink): any
 * failure before leaves the old version active.  apt: `apt-get install
 * PKG=VER`, the previous version put back on a failed check when apt has
 * it.  Returns a new record {tool_id, action, source, package, pin,
 * version, previous, message, integrity | sha256, reported, bin[],
 * plan[], note, warnings[], duration_ms}; action: installed, upgraded,
 * unchanged, would_install, would_upgrade, kept (failed, the old version
 * still active), failed, skipped (no install object; a manager not on
 * PATH).  Nothing is written to aim.lock or the audit trail here:
 * aim_install_apply does that with the record.
 */
json_t	*aim_install_tool(struct aim_install *in, const char *id,
	    int upgrade);

/*
 * npm tools: make the previous version (the "previous" link) current
 * again.  A record as above: rolled_back, would_roll_back, or kept
 * ("no previous version to go back to").  New reference.
 */
json_t	*aim_install_rollback(struct aim_install *in, const char *id);

/*
 * Remove tool id: npm, its directory and aim's links in bin_dir; apt,
 * `apt-get remove -y PKG`.  A record: uninstalled, would_uninstall,
 * unchanged (not installed), failed, skipped (other managers).
 */
json_t	*aim_install_remove(struct aim_install *in, const char *id);

/*
 * The installed version against the pin and aim.lock, changing nothing:
 * a record {tool_id, action: in_sync | drift | skipped, version, pin,
 * locked, message} (aim-install(1) "sync").
 */
json_t	*aim_install_drift(struct aim_install *in, const char *id);

/*
 * What a record changed, kept: aim.lock's entry of the tool set
 * (installed, upgraded, rolled_back: {source, package, version,
 * integrity | sha256}) or removed (uninstalled), and a management event
 * on the audit trail (aim_audit_event_here): tool_install, tool_upgrade,
 * tool_rollback (kept, rolled_back), tool_uninstall, with {tool_id,
 * action, source, package, version, previous, message} (aim-audit(1)
 * "Events").  Returns 0, or -1 with a malloc'd *why when the event could
 * not be written.
 */
int	 aim_install_apply(struct aim_install *in, json_t *rec, char **why);

/*
 * The tools to install so that every capability of the rules has a ready
 * tool (aim-install(1) "bootstrap"): for each capability none of whose
 * chain (primary, then fallback) is "ready" in tools (aim_scan_tools'
 * records, borrowed), the first tool of the chain with an install
 * object, once each.  New array of tool ids (borrowed strings copied).
 */
json_t	*aim_install_lacking(struct aim_install *in, json_t *tools);

/*
 * Write aim.lock when a record changed it (aim-install(1) "The
 * lockfile"): under an flock(2) of <lock>.lock, aim.lock read afresh and
 * this run's changes (the tools its records name) applied over it, so
 * that concurrent aim-install runs keep each other's; sorted, indented
 * JSON through aim_write_atomic.  0, or -1 with a malloc'd *why ("can't
 * open|lock|write ...", or aim.lock's parse error as aim_install_open's).
 */
int	 aim_install_lock_write(struct aim_install *in, char **why);

#endif /* AIM_SETUP_H */
