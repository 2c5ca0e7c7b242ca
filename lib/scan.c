/*
 * scan.c: the environment side of aim (issue 3; original-aim.md "Health",
 * "Scanner", "Version control"): tool records with versions and pins, the
 * health checks, misplaced cache directories.  It only reads: removing
 * what it finds is clean.c's.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aim-setup.h"

extern char **environ;

#define VERSION_OUT_BYTES	(64 * 1024)
#define LINE_MAX_BYTES		200

const char *
aim_human_bytes(int64_t n, char *buf, size_t len)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)n;
	int u = 0;

	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lld B", (long long)n);
	else
		snprintf(buf, len, "%.1f %s", d, unit[u]);
	return buf;
}

static void
warning(json_t *rec, const char *fmt, const char *a)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), fmt, a);
	json_array_append_new(json_object_get(rec, "warnings"),
	    aim_json_text(buf, strlen(buf), sizeof(buf), 0));
}

/* Every other executable of that name on PATH (not the same file). */
static json_t *
shadowed(const char *cmd, const char *found)
{
	const char *p, *end, *path = getenv("PATH");
	json_t *out = json_array(), *seen = json_array();
	struct stat st, fs;
	char full[4096];
	size_t n, i;
	json_t *x;
	int dup;

	if (strchr(cmd, '/') != NULL || path == NULL ||
	    stat(found, &fs) == -1) {
		json_decref(seen);
		return out;
	}
	json_array_append_new(seen, json_pack("[I,I]", (json_int_t)fs.st_dev,
	    (json_int_t)fs.st_ino));
	for (p = path; ; p = end + 1) {
		end = strchr(p, ':');
		n = end ? (size_t)(end - p) : strlen(p);
		snprintf(full, sizeof(full), "%.*s/%s", (int)n, n ? p : ".",
		    cmd);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(full, X_OK) == 0) {
			dup = 0;
			json_array_foreach(seen, i, x)
				if (json_integer_value(json_array_get(x, 0)) ==
				    (json_int_t)st.st_dev &&
				    json_integer_value(json_array_get(x, 1)) ==
				    (json_int_t)st.st_ino)
					dup = 1;
			if (!dup) {
				char *abs = aim_abspath(full, NULL);

				json_array_append_new(out, json_string(abs));
				free(abs);
				json_array_append_new(seen, json_pack("[I,I]",
				    (json_int_t)st.st_dev,
				    (json_int_t)st.st_ino));
			}
		}
		if (end == NULL)
			break;
	}
	json_decref(seen);
	return out;
}

static json_t *
paths_present(struct aim_setup *c, json_t *list)
{
	json_t *out = json_array(), *x;
	struct stat st;
	size_t i;
	char *p;

	json_array_foreach(list, i, x) {
		if (!json_is_string(x))
			continue;
		p = aim_expand(json_string_value(x), c->reg.dir);
		json_array_append_new(out, json_pack("{s:s, s:b}", "path", p,
		    "present", lstat(p, &st) == 0));
		free(p);
	}
	return out;
}

/* ---- version probes: run at once, cached by the binary they run ---- */

/* One tool's versionCommand, under way or answered from the cache. */
struct probe {
	json_t	*tool;		/* its registry tool (borrowed) */
	json_t	*rec;		/* the tool record it fills (borrowed) */
	char	**argv;		/* expanded versionCommand, NULL-terminated */
	size_t	 argc;
	char	*key;		/* its cache key, or NULL: not cacheable */
	struct aim_proc p;
	int	 hit;		/* answered from the cache */
	int	 from_package;	/* answered by a package.json, not run */
};

/*
 * The cache key of a probe: the binary argv[0] resolves to, with the
 * device, inode, size and change time that tell a new one from the old,
 * and the whole versionCommand (aim-scan(1) "Version cache").  NULL when
 * argv[0] resolves to nothing: that probe's error is worth seeing anew.
 */
static char *
probe_key(struct probe *pr)
{
	struct stat sb;
	json_t *a;
	char *path, *cmd, *key;
	size_t i;

	if ((path = aim_which(pr->argv[0], NULL)) == NULL)
		return NULL;
	if (stat(path, &sb) == -1) {
		free(path);
		return NULL;
	}
	a = json_array();
	for (i = 0; i < pr->argc; i++)
		json_array_append_new(a, json_string(pr->argv[i]));
	cmd = json_dumps(a, JSON_COMPACT);
	key = aim_xsprintf("%s %ju:%ju %jd %jd.%09ld %s", path,
	    (uintmax_t)sb.st_dev, (uintmax_t)sb.st_ino, (intmax_t)sb.st_size,
	    (intmax_t)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec, cmd);
	free(cmd);
	json_decref(a);
	free(path);
	return key;
}

/* version, version_output and version_error of rec from a cache entry. */
static void
probe_from_cache(struct probe *pr, json_t *hit)
{
	json_t *err = json_object_get(hit, "version_error");

	json_object_set(pr->rec, "version", json_object_get(hit, "version") ?
	    json_object_get(hit, "version") : json_null());
	if (json_is_string(json_object_get(hit, "version_output")))
		json_object_set(pr->rec, "version_output",
		    json_object_get(hit, "version_output"));
	if (json_is_string(json_object_get(hit, "version_file")))
		json_object_set(pr->rec, "version_file",
		    json_object_get(hit, "version_file"));
	if (json_is_string(err)) {
		json_object_set(pr->rec, "version_error", err);
		warning(pr->rec, "%s", json_string_value(err));
	}
	pr->hit = 1;
}

/*
 * The answer of a finished probe into its record: the first line of
 * stdout (else of stderr: java -version) that holds a version, else the
 * first line, else why there is none.  Returns 1 when the answer is one
 * to cache (the command ran to its end), else 0.
 */
static int
probe_answer(struct probe *pr, int64_t timeout_ms)
{
	struct aim_proc *p = &pr->p;
	struct aim_semver v;
	char msg[512], ver[64], dur[32];
	const char *text, *first, *line;
	size_t flen, len = 0;
	int found = 0, nlines;

	msg[0] = '\0';
	if (p->spawn_errno != 0) {
		snprintf(msg, sizeof(msg), "can't run %s: %s", pr->argv[0],
		    strerror(p->spawn_errno));
	} else if (p->timed_out) {
		aim_duration(dur, sizeof(dur), timeout_ms);
		snprintf(msg, sizeof(msg), "version command timed out after %s",
		    dur);
	} else {
		text = p->out_len > 0 ? p->out : p->err_len > 0 ? p->err : "";
		while (*text == '\n' || *text == '\r' || *text == ' ')
			text++;
		first = text;
		flen = strcspn(text, "\r\n");
		for (line = text, nlines = 0; *line != '\0' && nlines < 10;
		    nlines++) {
			len = strcspn(line, "\r\n");
			if (len > 0 && aim_semver_find(line, len, &v, ver,
			    sizeof(ver)) == 0) {
				found = 1;
				break;
			}
			line += len;
			line += strspn(line, "\r\n");
		}
		if (found) {
			json_object_set_new(pr->rec, "version_output",
			    aim_json_text(line, len, LINE_MAX_BYTES, 0));
			json_object_set_new(pr->rec, "version", json_string(ver));
		} else if (flen > 0) {
			json_object_set_new(pr->rec, "version_output",
			    aim_json_text(first, flen, LINE_MAX_BYTES, 0));
			snprintf(msg, sizeof(msg), "no version number in the "
			    "version output");
		} else
			snprintf(msg, sizeof(msg), WIFEXITED(p->status) &&
			    WEXITSTATUS(p->status) != 0 ? "version command "
			    "exited with code %d and printed nothing" :
			    "version command printed nothing",
			    WEXITSTATUS(p->status));
	}
	if (msg[0] != '\0') {
		json_object_set_new(pr->rec, "version_error", json_string(msg));
		warning(pr->rec, "%s", msg);
	}
	return p->spawn_errno == 0 && !p->timed_out;
}

/* ---- the npm fast path: a package's own package.json ---- */

#define NPM_WALK_MAX		8		/* directories up from the bin */
#define PACKAGE_JSON_BYTES	(1 << 20)

/* Whether the tool has its versionCommand run always ("versionProbe"). */
static int
command_only(const struct probe *pr)
{
	const char *probe = json_string_value(json_object_get(pr->tool,
	    "versionProbe"));

	return probe != NULL && strcmp(probe, "command") == 0;
}

/* Whether rel, taken in dir, resolves to the file real. */
static int
same_file(const char *dir, const char *rel, const char *real)
{
	char *p = aim_xsprintf("%s/%s", dir, rel), *r = realpath(p, NULL);
	int same = r != NULL && strcmp(r, real) == 0;

	free(r);
	free(p);
	return same;
}

/*
 * Whether the "bin" of package pkg in dir names the file real (npm's
 * package.json "bin": an object of command names, or one string named
 * after the package, scope dropped); *as_cmd is set when one of the
 * names it goes by there is cmd.
 */
static int
bin_names(const char *dir, json_t *pkg, const char *real, const char *cmd,
    int *as_cmd)
{
	json_t *bin = json_object_get(pkg, "bin"), *v;
	const char *name = json_string_value(json_object_get(pkg, "name")), *k;
	int found = 0;

	*as_cmd = 0;
	if (json_is_string(bin)) {
		if (name == NULL || !same_file(dir, json_string_value(bin),
		    real))
			return 0;
		k = strrchr(name, '/');
		*as_cmd = strcmp(k != NULL ? k + 1 : name, cmd) == 0;
		return 1;
	}
	json_object_foreach(bin, k, v)
		if (json_is_string(v) && same_file(dir, json_string_value(v),
		    real)) {
			found = 1;
			*as_cmd |= strcmp(k, cmd) == 0;
		}
	return found;
}

/*
 * The nearest package.json above the file real whose "bin" names it, as
 * a new reference with its path in *pj_path (malloc'd); NULL when none
 * is within NPM_WALK_MAX directories.
 */
static json_t *
package_of(const char *real, const char *cmd, char **pj_path, int *as_cmd)
{
	char *dir = aim_xstrdup(real), *slash;
	json_t *pkg = NULL;
	int depth;

	*pj_path = NULL;
	for (depth = 0; depth < NPM_WALK_MAX &&
	    (slash = strrchr(dir, '/')) != NULL && slash != dir; depth++) {
		*slash = '\0';
		*pj_path = aim_xsprintf("%s/package.json", dir);
		pkg = aim_json_read(*pj_path, 0, PACKAGE_JSON_BYTES);
		if (pkg != NULL && bin_names(dir, pkg, real, cmd, as_cmd))
			break;
		json_decref(pkg);
		pkg = NULL;
		free(*pj_path);
		*pj_path = NULL;
	}
	free(dir);
	return pkg;
}

/*
 * Answer pr from the package.json of the npm package its command is a
 * bin of, without starting node (aim-scan(1) "Version cache"): the
 * package must be the one the tool's install object names, or with no
 * install object, list the command under its own name.  Returns 1 with
 * version and version_file set in the record, else 0 (the command runs).
 */
static int
probe_package(struct probe *pr)
{
	json_t *install = json_object_get(pr->tool, "install"), *pkg;
	const char *npm, *name, *ver, *cmd;
	char *path, *real, *pj = NULL, buf[64];
	struct aim_semver v;
	int as_cmd = 0, ok = 0;

	if (command_only(pr) ||
	    (install != NULL && json_object_get(install, "npm") == NULL) ||
	    (path = aim_which(pr->argv[0], NULL)) == NULL)
		return 0;
	cmd = strrchr(pr->argv[0], '/') != NULL ?
	    strrchr(pr->argv[0], '/') + 1 : pr->argv[0];
	real = realpath(path, NULL);
	pkg = real != NULL ? package_of(real, cmd, &pj, &as_cmd) : NULL;
	npm = json_string_value(json_object_get(install, "npm"));
	name = json_string_value(json_object_get(pkg, "name"));
	ver = json_string_value(json_object_get(pkg, "version"));
	if (ver != NULL && (npm != NULL ? name != NULL &&
	    strcmp(npm, name) == 0 : as_cmd) &&
	    aim_semver_find(ver, strlen(ver), &v, buf, sizeof(buf)) == 0) {
		json_object_set_new(pr->rec, "version", json_string(buf));
		json_object_set_new(pr->rec, "version_file", json_string(pj));
		ok = pr->from_package = 1;
	}
	json_decref(pkg);
	free(pj);
	free(real);
	free(path);
	return ok;
}

/* The cache as read ({"version":1,"probes":{key:{...,"at_ms"}}}), or {}. */
static json_t *
cache_read(const char *path)
{
	json_t *c = path != NULL ? aim_json_read(path, 0, 16 << 20) : NULL;

	if (!json_is_object(json_object_get(c, "probes")) ||
	    json_integer_value(json_object_get(c, "version")) != 1) {
		json_decref(c);
		c = json_pack("{s:i, s:{}}", "version", 1, "probes");
	}
	return c;
}

/*
 * Write the cache back, without entries unused for PROBE_CACHE_DAYS; a
 * cache is soft: no fsync, and a failure only costs the next probes.
 */
#define PROBE_CACHE_DAYS	30
static void
cache_write(const char *path, json_t *cache)
{
	json_t *probes = json_object_get(cache, "probes"), *e;
	int64_t old = aim_now_ms() - (int64_t)PROBE_CACHE_DAYS * 86400000;
	const char *key;
	char *text;
	void *next;

	json_object_foreach_safe(probes, next, key, e)
		if (json_integer_value(json_object_get(e, "at_ms")) < old)
			json_object_del(probes, key);
	(void)aim_mkdirs_parent(path, NULL);
	text = json_dumps(cache, JSON_COMPACT);
	(void)aim_write_atomic(path, text, strlen(text), 0600,
	    AIM_WRITE_NOSYNC, NULL);
	free(text);
}

/*
 * Whether the cache entry hit answered pr from a package.json that the
 * tool, since then, asks to be passed over ("versionProbe": "command").
 */
static int
stale(const struct probe *pr, json_t *hit)
{
	return json_object_get(hit, "version_file") != NULL &&
	    command_only(pr);
}

/*
 * Every probe at once: the cached ones answered, the npm ones read from
 * their package.json, the others started together and waited for, so a
 * cold scan takes about its slowest probe.
 */
static void
probes_run(struct aim_setup *c, struct probe *pv, size_t n, unsigned flags)
{
	struct aim_proc_limits lim;
	struct aim_proc **running;
	char *path = NULL;
	json_t *cache, *hit, *probes;
	size_t i, nrun = 0, left;
	int dirty = 0;

	cache = cache_read((flags & AIM_SCAN_NO_CACHE) ? NULL :
	    (path = aim_xdg_path("XDG_CACHE_HOME", ".cache", "versions.json")));
	probes = json_object_get(cache, "probes");
	memset(&lim, 0, sizeof(lim));
	lim.timeout_ms = c->cfg.version_timeout_ms;
	lim.kill_grace_ms = c->cfg.kill_grace_ms;
	lim.max_stdout_bytes = VERSION_OUT_BYTES;
	lim.stderr_tail_bytes = VERSION_OUT_BYTES;
	running = aim_xmalloc((n + 1) * sizeof(*running));
	for (i = 0; i < n; i++) {
		pv[i].key = probe_key(&pv[i]);
		if (pv[i].key != NULL && path != NULL &&
		    (hit = json_object_get(probes, pv[i].key)) != NULL &&
		    !stale(&pv[i], hit)) {
			probe_from_cache(&pv[i], hit);
			/* Its last use, to the day: a warm scan writes nothing. */
			if (aim_now_ms() - json_integer_value(json_object_get(
			    hit, "at_ms")) > 86400000) {
				json_object_set_new(hit, "at_ms",
				    json_integer(aim_now_ms()));
				dirty = 1;
			}
			continue;
		}
		if (probe_package(&pv[i]))
			continue;
		if (aim_proc_spawn(&pv[i].p, pv[i].argv, environ, "", 0,
		    &lim) == 0)
			running[nrun++] = &pv[i].p;
	}
	for (left = nrun; left > 0; ) {
		int k = aim_proc_wait(running, nrun, NULL, 0, -1);

		if (k == -1 && errno != EINTR)
			break;
		left -= k > 0 ? (size_t)k : 0;
	}
	for (i = 0; i < n; i++) {
		if (pv[i].hit || (!pv[i].from_package &&
		    !probe_answer(&pv[i], lim.timeout_ms)) ||
		    pv[i].key == NULL || path == NULL)
			continue;
		json_object_set_new(probes, pv[i].key, json_pack(
		    "{s:O, s:O?, s:O?, s:O?, s:I}", "version",
		    json_object_get(pv[i].rec, "version"), "version_output",
		    json_object_get(pv[i].rec, "version_output"),
		    "version_error", json_object_get(pv[i].rec,
		    "version_error"), "version_file", json_object_get(
		    pv[i].rec, "version_file"), "at_ms",
		    (json_int_t)aim_now_ms()));
		dirty = 1;
	}
	if (dirty && path != NULL)
		cache_write(path, cache);
	json_decref(cache);
	free(running);
	free(path);
}

/* pin and pin_status of rec from the tool's "version" pin. */
static void
pin_status(json_t *tool, json_t *rec)
{
	json_t *pin = json_object_get(tool, "version");
	const char *ver, *st;
	struct aim_semver v;
	char *why = NULL;
	int ok;

	json_object_set(rec, "pin", json_is_string(pin) ? pin : json_null());
	if (!json_is_string(pin)) {
		json_object_set_new(rec, "pin_status", json_string("unpinned"));
		return;
	}
	ver = json_string_value(json_object_get(rec, "version"));
	memset(&v, 0, sizeof(v));
	ok = aim_semver_satisfies(&v, json_string_value(pin), &why);
	if (ok == -1) {
		st = "invalid";
		warning(rec, "%s", why);
		free(why);
	} else if (strcmp(json_string_value(json_object_get(rec, "status")),
	    "not_installed") == 0)
		st = "missing";
	else if (ver == NULL ||
	    aim_semver_find(ver, strlen(ver), &v, NULL, 0) == -1)
		st = "drift";
	else
		st = aim_semver_satisfies(&v, json_string_value(pin),
		    &why) == 1 ? "ok" : "drift";
	json_object_set_new(rec, "pin_status", json_string(st));
}

static json_t *
tool_record(struct aim_setup *c, struct aim_router *rt, const char *id,
    json_t *tool)
{
	json_t *rec, *cand, *x, *caps, *argv;
	char *cmd, *found, *why = NULL;

	rec = json_pack("{s:s, s:s, s:O}", "finding", "tool", "tool_id", id,
	    "name", json_is_string(json_object_get(tool, "name")) ?
	    json_object_get(tool, "name") : json_null());
	json_object_set_new(rec, "warnings", json_array());
	caps = json_object_get(tool, "capabilities");
	cand = aim_router_candidate(rt, id);
	json_object_set(rec, "status", json_object_get(cand, "status"));
	if ((x = json_object_get(cand, "reason")) != NULL)
		json_object_set(rec, "reason", x);
	if ((x = json_object_get(cand, "until")) != NULL)
		json_object_set(rec, "until", x);
	json_decref(cand);

	/* Which detectCommands entry resolved, and what it shadows. */
	json_object_set_new(rec, "command", json_null());
	json_object_set_new(rec, "path", json_null());
	json_object_set_new(rec, "shadowed", json_array());
	if (json_array_size(json_object_get(tool, "detectCommands")) == 0)
		warning(rec, "%s", "no detectCommands: never detected");
	if ((found = aim_tool_detect(c->reg.dir, tool, id, &cmd, &why, NULL,
	    NULL)) != NULL) {
		json_object_set_new(rec, "command", json_string(cmd));
		json_object_set_new(rec, "path", json_string(found));
		json_object_set_new(rec, "shadowed", shadowed(cmd, found));
		free(found);
		free(cmd);
	}
	free(why);
	why = NULL;

	json_object_set_new(rec, "version", json_null());

	if ((argv = aim_adapter_argv(c->reg.dir, tool, &why)) != NULL)
		json_object_set_new(rec, "adapter", json_pack("{s:s, s:o}",
		    "status", "ready", "argv", argv));
	else {
		json_object_set_new(rec, "adapter", json_pack("{s:s, s:s}",
		    "status", "no_adapter", "reason", why));
		free(why);
	}
	json_object_set_new(rec, "capabilities", json_is_array(caps) ?
	    json_copy(caps) : json_array());
	json_object_set_new(rec, "config_paths", paths_present(c,
	    json_object_get(tool, "configPaths")));
	json_object_set_new(rec, "log_paths", paths_present(c,
	    json_object_get(tool, "logPaths")));
	return rec;
}

/* A probe for rec when its tool is installed and says how to ask. */
static int
probe_init(struct aim_setup *c, json_t *tool, json_t *rec, struct probe *pr)
{
	json_t *vc = json_object_get(tool, "versionCommand"), *x;
	size_t i;

	memset(pr, 0, sizeof(*pr));
	if (strcmp(json_string_value(json_object_get(rec, "status")),
	    "not_installed") == 0 || json_array_size(vc) == 0)
		return 0;
	pr->tool = tool;
	pr->rec = rec;
	pr->argc = json_array_size(vc);
	pr->argv = aim_xmalloc((pr->argc + 1) * sizeof(*pr->argv));
	json_array_foreach(vc, i, x)
		pr->argv[i] = aim_expand(json_string_value(x), c->reg.dir);
	pr->argv[pr->argc] = NULL;
	return 1;
}

static void
probe_free(struct probe *pr)
{
	size_t i;

	for (i = 0; i < pr->argc; i++)
		free(pr->argv[i]);
	free(pr->argv);
	free(pr->key);
	aim_proc_free(&pr->p);
}

json_t *
aim_scan_tools(struct aim_setup *c, unsigned flags)
{
	struct aim_router rt;
	struct probe *pv;
	json_t *out = json_array(), *tool, *rec;
	const char *id;
	size_t i, n = 0;

	if (!c->registry_ok)
		return out;
	pv = aim_xmalloc((json_object_size(c->reg.tools) + 1) * sizeof(*pv));
	aim_router_init(&rt, &c->reg, &c->cfg);
	json_object_foreach(c->reg.tools, id, tool) {
		if (!json_is_object(tool))
			continue;
		rec = tool_record(c, &rt, id, tool);
		json_array_append_new(out, rec);
		if (probe_init(c, tool, rec, &pv[n]))
			n++;
	}
	aim_router_free(&rt);
	probes_run(c, pv, n, flags);
	for (i = 0; i < n; i++)
		probe_free(&pv[i]);
	free(pv);
	/* The pins, once every version is known. */
	i = 0;
	json_object_foreach(c->reg.tools, id, tool)
		if (json_is_object(tool))
			pin_status(tool, json_array_get(out, i++));
	return out;
}

json_t *
aim_scan_version(struct aim_setup *c, json_t *tool, char *const envp[])
{
	struct aim_proc_limits lim;
	struct aim_proc *one;
	struct probe pr;
	json_t *rec;

	rec = json_pack("{s:s, s:n, s:[]}", "status", "ready", "version",
	    "warnings");
	if (!probe_init(c, tool, rec, &pr)) {
		json_object_set_new(rec, "version_error",
		    json_string("no versionCommand"));
		warning(rec, "%s", "no versionCommand");
	} else {
		memset(&lim, 0, sizeof(lim));
		lim.timeout_ms = c->cfg.version_timeout_ms;
		lim.kill_grace_ms = c->cfg.kill_grace_ms;
		lim.max_stdout_bytes = VERSION_OUT_BYTES;
		lim.stderr_tail_bytes = VERSION_OUT_BYTES;
		one = &pr.p;
		if (aim_proc_spawn(one, pr.argv, envp, "", 0, &lim) == 0)
			while (one->state != AIM_PROC_DONE)
				if (aim_proc_wait(&one, 1, NULL, 0, -1) == -1 &&
				    errno != EINTR)
					break;
		(void)probe_answer(&pr, lim.timeout_ms);
		probe_free(&pr);
	}
	pin_status(tool, rec);
	json_object_del(rec, "status");
	return rec;
}

/* ---- health ---- */

static json_t *
check(const char *name, const char *status, json_t *details,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static json_t *
check(const char *name, const char *status, json_t *details,
    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "finding", "health",
	    "name", name, "status", status, "message", msg, "details",
	    details ? details : json_object());
}

/* Original: pass if none missing, warn if fewer than half, else fail. */
static json_t *
check_commands(struct aim_setup *c)
{
	json_t *found = json_object(), *missing = json_array(), *x;
	size_t i, n = json_array_size(c->cfg.required_commands), nm;
	char *p;

	json_array_foreach(c->cfg.required_commands, i, x) {
		if ((p = aim_which(json_string_value(x), NULL)) != NULL)
			json_object_set_new(found, json_string_value(x),
			    json_string(p));
		else
			json_array_append(missing, x);
		free(p);
	}
	nm = json_array_size(missing);
	x = json_pack("{s:o, s:o}", "found", found, "missing", missing);
	if (nm == 0)
		return check("required_commands", "pass", x,
		    "all %zu required commands found", n);
	return check("required_commands", nm * 2 < n ? "warn" : "fail", x,
	    "%zu of %zu required commands missing", nm, n);
}

static json_t *
check_tools(json_t *tools)
{
	json_t *ready = json_array(), *t;
	size_t i;

	json_array_foreach(tools, i, t)
		if (strcmp(json_string_value(json_object_get(t, "status")),
		    "ready") == 0)
			json_array_append(ready, json_object_get(t, "tool_id"));
	i = json_array_size(ready);
	return check("ai_tools", i > 0 ? "pass" : "warn",
	    json_pack("{s:o, s:I}", "ready", ready, "total",
	    (json_int_t)json_array_size(tools)),
	    "%zu of %zu registered tools ready", i, json_array_size(tools));
}

/* Each capability of the rules routes to at least one ready tool. */
static json_t *
check_adapters(struct aim_setup *c)
{
	struct aim_router rt;
	json_t *bad = json_array(), *ids, *cand, *r, *x;
	const char *cap;
	size_t i, n = 0, ok;

	if (!c->registry_ok) {
		json_decref(bad);
		return check("adapters", "fail", NULL,
		    "no usable registry: nothing can be routed");
	}
	aim_router_init(&rt, &c->reg, &c->cfg);
	json_object_foreach(c->reg.rules, cap, r) {
		n++;
		ok = 0;
		/* The rule's tools, as routing sees them now (no request). */
		ids = json_array();
		if (json_is_string(json_object_get(r, "primary")))
			json_array_append(ids, json_object_get(r, "primary"));
		json_array_foreach(json_object_get(r, "fallback"), i, x)
			if (json_is_string(x))
				json_array_append(ids, x);
		json_array_foreach(ids, i, x) {
			cand = aim_router_candidate(&rt, json_string_value(x));
			if (strcmp(json_string_value(json_object_get(cand,
			    "status")), "ready") == 0)
				ok = 1;
			json_decref(cand);
		}
		json_decref(ids);
		if (!ok)
			json_array_append_new(bad, json_string(cap));
	}
	aim_router_free(&rt);
	i = json_array_size(bad);
	if (i == 0)
		return check("adapters", "pass", json_pack("{s:o}",
		    "unroutable", bad), "all %zu capabilities have a ready "
		    "tool", n);
	return check("adapters", i == n ? "fail" : "warn", json_pack("{s:o}",
	    "unroutable", bad), "%zu of %zu capabilities have no ready tool",
	    i, n);
}

json_t *
aim_scan_problems(const struct aim_setup *c, size_t from, size_t to)
{
	json_t *list = json_array();
	const struct aim_problem *pr;
	char buf[2048];
	size_t i;

	for (i = from; i < to && i < c->probs.n; i++) {
		pr = &c->probs.v[i];
		if (pr->line > 0)
			snprintf(buf, sizeof(buf), "%s:%d:%d: %s", pr->file,
			    pr->line, pr->column, pr->message);
		else
			snprintf(buf, sizeof(buf), "%s: %s", pr->file,
			    pr->message);
		json_array_append_new(list, aim_json_text(buf, strlen(buf),
		    sizeof(buf), 0));
	}
	return list;
}

static json_t *
check_registry(struct aim_setup *c)
{
	json_t *list;

	if (c->registry_dir == NULL) {
		list = json_array();
		json_array_append_new(list, json_string(c->not_found));
		return check("registry", "fail", json_pack("{s:n, s:o}",
		    "registry", "problems", list), "%s", c->not_found);
	}
	list = aim_scan_problems(c, 0, c->probs.n);
	if (c->probs.n == 0)
		return check("registry", "pass", json_pack("{s:s, s:o}",
		    "registry", c->registry_dir, "problems", list),
		    "registry, rules and config valid");
	return check("registry", "fail", json_pack("{s:s, s:o}", "registry",
	    c->registry_dir, "problems", list), "%zu problems in the "
	    "registry, rules or config", c->probs.n);
}

static json_t *
check_pins(json_t *tools)
{
	json_t *off = json_object(), *t;
	const char *st;
	size_t i, pinned = 0;

	json_array_foreach(tools, i, t) {
		st = json_string_value(json_object_get(t, "pin_status"));
		if (strcmp(st, "unpinned") == 0)
			continue;
		pinned++;
		if (strcmp(st, "ok") != 0)
			json_object_set_new(off, json_string_value(
			    json_object_get(t, "tool_id")), json_string(st));
	}
	i = json_object_size(off);
	if (i == 0)
		return check("pins", "pass", json_pack("{s:o}", "off", off),
		    "%zu pinned tools match their pins", pinned);
	return check("pins", "warn", json_pack("{s:o}", "off", off),
	    "%zu of %zu pinned tools off their pins", i, pinned);
}

static json_t *
check_vault(void)
{
	struct aim_vault v;
	const char *kf = getenv("AIM_VAULT_KEYFILE");
	char *path = aim_vault_default_path(), *why = NULL;
	json_t *d, *r;
	int rc;

	if (path == NULL)
		return check("vault", "warn", NULL,
		    "no vault path: set AIM_VAULT or HOME");
	d = json_pack("{s:s}", "path", path);
	if (aim_private_file(path, "vault", &why) == -1 && errno == ENOENT) {
		r = check("vault", "warn", d, "no vault at %s (aim-secret init "
		    "creates one)", path);
	} else if (why != NULL) {
		r = check("vault", "fail", d, "%s", why);
	} else if (kf == NULL || *kf == '\0') {
		r = check("vault", "pass", d, "vault %s present with safe "
		    "permissions (not opened: no AIM_VAULT_KEYFILE)", path);
	} else {
		free(why);
		why = NULL;
		memset(&v, 0, sizeof(v));
		rc = aim_vault_open_unattended(&v, &why);
		if (rc == AIM_VAULT_OK) {
			json_object_set_new(d, "secrets", json_integer(v.n));
			r = check("vault", "pass", d, "vault %s opens with "
			    "the key file", path);
		} else
			r = check("vault", "fail", d, "%s", why);
		aim_vault_close(&v);
	}
	free(why);
	free(path);
	return r;
}

/*
 * The seeds' API key verification: every vault secret a registry tool
 * names ({"secrets": {"ENV": "vault/name"}}) is in the vault, opened as a
 * filter opens it, with nobody to ask.  Pass when no tool names one; warn
 * when the vault does not open unattended (a passphrase, or no
 * AIM_VAULT_KEYFILE); fail when one is missing or the vault is absent or
 * does not open.
 */
static json_t *
check_secrets(struct aim_setup *c)
{
	const struct aim_vault_secret *sec;
	json_t *need = json_object(), *missing, *found, *tool, *x, *ids;
	const char *id, *var, *name;
	struct aim_vault v;
	char *why = NULL, list[512];
	size_t n, len;
	int rc;

	if (c->registry_ok)
		json_object_foreach(c->reg.tools, id, tool)
			json_object_foreach(json_object_get(tool, "secrets"),
			    var, x) {
				if (!json_is_string(x))
					continue;
				name = json_string_value(x);
				if ((ids = json_object_get(need, name)) == NULL)
					json_object_set_new(need, name,
					    ids = json_array());
				json_array_append_new(ids, json_string(id));
			}
	if ((n = json_object_size(need)) == 0) {
		json_decref(need);
		return check("secrets", "pass", NULL, "no registry tool names "
		    "a vault secret");
	}
	rc = aim_vault_open_unattended(&v, &why);
	if (rc == AIM_VAULT_NOKEY) {
		x = check("secrets", "warn", json_pack("{s:o}", "needed", need),
		    "%zu secrets the tools name not checked (health asks "
		    "nobody): %s", n, why);
		goto out;
	}
	if (rc != AIM_VAULT_OK && rc != AIM_VAULT_NOTFOUND) {
		x = check("secrets", "fail", json_pack("{s:o}", "needed", need),
		    "%zu secrets the tools name not checked: %s", n, why);
		goto out;
	}
	missing = json_object();
	found = json_array();
	list[0] = '\0';
	json_object_foreach(need, name, ids) {
		sec = rc == AIM_VAULT_OK ? aim_vault_get(&v, name) : NULL;
		/* As aim-invoke(1) injects it: no NUL in an environment. */
		if (sec != NULL && memchr(sec->value, '\0', sec->value_len) ==
		    NULL) {
			json_array_append_new(found, json_string(name));
			continue;
		}
		json_object_set(missing, name, ids);
		len = strlen(list);
		snprintf(list + len, sizeof(list) - len, "%s%s (", len ? ", " :
		    "", name);
		json_array_foreach(ids, n, tool) {
			len = strlen(list);
			snprintf(list + len, sizeof(list) - len, "%s%s", n ? ", " :
			    "", json_string_value(tool));
		}
		len = strlen(list);
		snprintf(list + len, sizeof(list) - len, ")");
	}
	n = json_object_size(need);
	if (json_object_size(missing) == 0)
		x = check("secrets", "pass", json_pack("{s:o, s:o}", "found",
		    found, "missing", missing), "all %zu secrets the tools "
		    "name are in the vault", n);
	else
		x = check("secrets", "fail", json_pack("{s:o, s:o}", "found",
		    found, "missing", missing), "%zu of %zu secrets the tools "
		    "name are missing (%s): %s", json_object_size(missing), n,
		    rc == AIM_VAULT_OK ? "not in the vault" : why, list);
	json_decref(need);
out:
	aim_vault_close(&v);
	free(why);
	return x;
}

static json_t *
check_audit(struct aim_setup *c)
{
	const char *dir = c->audit_dir;
	char *parent, *slash;
	struct stat st;
	json_t *d, *r;

	if (dir == NULL)
		return check("audit_dir", "fail", NULL,
		    "no audit directory: set AIM_AUDIT_DIR or HOME");
	d = json_pack("{s:s}", "path", dir);
	if (lstat(dir, &st) == -1) {
		/* aim-audit creates it (0700): its nearest parent must allow. */
		parent = aim_xstrdup(dir);
		while ((slash = strrchr(parent, '/')) != NULL && slash !=
		    parent) {
			*slash = '\0';
			if (access(parent, F_OK) == 0)
				break;
		}
		if (slash == parent)
			parent[1] = '\0';
		if (access(parent, W_OK | X_OK) == 0)
			r = check("audit_dir", "warn", d, "audit directory %s "
			    "does not exist yet (aim-audit creates it)", dir);
		else
			r = check("audit_dir", "fail", d, "audit directory %s "
			    "can't be created: %s: %s", dir, parent,
			    strerror(errno));
		free(parent);
	} else if (!S_ISDIR(st.st_mode)) {
		r = check("audit_dir", "fail", d, "audit directory %s is not "
		    "a directory", dir);
	} else if (access(dir, W_OK | X_OK) == -1) {
		r = check("audit_dir", "fail", d, "audit directory %s is not "
		    "writable: %s", dir, strerror(errno));
	} else if (st.st_mode & 022) {
		r = check("audit_dir", "fail", d, "audit directory %s is "
		    "writable by group or others (mode %03o): chmod 700 %s",
		    dir, (unsigned)(st.st_mode & 0777), dir);
	} else if (st.st_mode & 055) {
		r = check("audit_dir", "warn", d, "audit directory %s is "
		    "readable by group or others (mode %03o): chmod 700 %s",
		    dir, (unsigned)(st.st_mode & 0777), dir);
	} else
		r = check("audit_dir", "pass", d, "audit directory %s "
		    "writable, mode %03o", dir, (unsigned)(st.st_mode & 0777));
	return r;
}

/*
 * The key of a health cache entry: the registry, the config and the
 * tools as scanned (their versions, paths and statuses), hashed.
 */
static void
health_key(struct aim_setup *c, json_t *tools,
    char hex[AIM_HASH_HEX_BYTES + 1])
{
	unsigned char h[AIM_HASH_BYTES];
	json_t *k = json_pack("{s:s?, s:s?, s:O}", "registry", c->reg.dir,
	    "config", c->cfg.path, "tools", tools);
	char *s = json_dumps(k, JSON_SORT_KEYS | JSON_COMPACT);

	aim_hash(s, strlen(s), h);
	aim_hex(h, sizeof(h), hex);
	free(s);
	json_decref(k);
}

/* The checks kept at path for key, made less than ttl_ms ago, or NULL. */
static json_t *
health_cached(const char *path, const char *key, int64_t ttl_ms)
{
	json_t *e = aim_json_read(path, 0, 16 << 20), *checks = NULL;
	int64_t age_ms;

	age_ms = aim_wall_ms() - json_integer_value(json_object_get(e,
	    "at_ms"));
	if (json_is_array(json_object_get(e, "checks")) && age_ms >= 0 &&
	    age_ms < ttl_ms && json_is_string(json_object_get(e, "key")) &&
	    strcmp(json_string_value(json_object_get(e, "key")), key) == 0)
		checks = json_incref(json_object_get(e, "checks"));
	json_decref(e);
	return checks;
}

/* Keep checks for key at path: soft, so no fsync, and a failure is silent. */
static void
health_keep(const char *path, const char *key, json_t *checks)
{
	json_t *e = json_pack("{s:i, s:s, s:I, s:O}", "version", 1, "key", key,
	    "at_ms", (json_int_t)aim_wall_ms(), "checks", checks);
	char *text = json_dumps(e, JSON_COMPACT);

	(void)aim_mkdirs_parent(path, NULL);
	(void)aim_write_atomic(path, text, strlen(text), 0600,
	    AIM_WRITE_NOSYNC, NULL);
	free(text);
	json_decref(e);
}

static json_t *
health_run(struct aim_setup *c, json_t *tools)
{
	json_t *a = json_array();

	json_array_append_new(a, check_commands(c));
	json_array_append_new(a, check_tools(tools));
	json_array_append_new(a, check_adapters(c));
	json_array_append_new(a, check_registry(c));
	json_array_append_new(a, check_pins(tools));
	json_array_append_new(a, check_vault());
	json_array_append_new(a, check_secrets(c));
	json_array_append_new(a, check_audit(c));
	return a;
}

json_t *
aim_health_checks(struct aim_setup *c, json_t *tools, unsigned flags)
{
	char key[AIM_HASH_HEX_BYTES + 1], *path = NULL;
	json_t *checks = NULL;

	if (c->cfg.health_cache_ms > 0 && !(flags & AIM_SCAN_NO_CACHE) &&
	    (path = aim_xdg_path("XDG_CACHE_HOME", ".cache",
	    "health.json")) != NULL) {
		health_key(c, tools, key);
		checks = health_cached(path, key, c->cfg.health_cache_ms);
	}
	if (checks == NULL) {
		checks = health_run(c, tools);
		if (path != NULL)
			health_keep(path, key, checks);
	}
	free(path);
	return checks;
}

json_t *
aim_health_summary(json_t *checks)
{
	json_int_t pass = 0, warn = 0, fail = 0;
	const char *st;
	char iso[32];
	json_t *x;
	size_t i;

	json_array_foreach(checks, i, x) {
		st = json_string_value(json_object_get(x, "status"));
		if (strcmp(st, "pass") == 0)
			pass++;
		else if (strcmp(st, "warn") == 0)
			warn++;
		else
			fail++;
	}
	aim_utc_stamp(iso, NULL, NULL);
	return json_pack("{s:s, s:s, s:s, s:{s:I, s:I, s:I}}", "finding",
	    "health_summary", "timestamp", iso, "overall_status",
	    fail ? "unhealthy" : warn ? "degraded" : "healthy", "summary",
	    "pass", pass, "warn", warn, "fail", fail);
}

/* ---- caches ---- */

struct caches {
	json_t	*patterns, *out;
	int	 have_central;
	dev_t	 cdev;
	ino_t	 cino;
	struct aim_walk *w;
	int64_t	 size, files;	/* of the match being measured */
};

const char *
aim_path_vcs(const char *path)
{
	static const char *const vcs[] = { ".git", ".hg", ".svn", ".jj",
	    ".bzr", NULL };
	const char *p, *end;
	size_t i, n;

	for (p = path; *p != '\0'; p = end) {
		while (*p == '/')
			p++;
		end = p + strcspn(p, "/");
		n = end - p;
		for (i = 0; vcs[i] != NULL; i++)
			if (strlen(vcs[i]) == n && memcmp(p, vcs[i], n) == 0)
				return vcs[i];
	}
	return NULL;
}

const char *
aim_cache_class(const char *pattern)
{
	static const char *const build[] = { "dist", "build", ".venv", NULL };
	const char *last;
	size_t i, n = strlen(pattern);

	while (n > 1 && pattern[n - 1] == '/')
		n--;
	for (last = pattern + n; last > pattern && last[-1] != '/'; last--)
		;
	n -= last - pattern;
	for (i = 0; build[i] != NULL; i++)
		if (strlen(build[i]) == n && memcmp(last, build[i], n) == 0)
			return "build";
	return "cache";
}

int
aim_path_tail_matches(const char *path, const char *pat)
{
	size_t pl = strlen(path), tl = strlen(pat);

	while (pl > 1 && path[pl - 1] == '/')
		pl--;
	if (tl > pl || memcmp(path + pl - tl, pat, tl) != 0)
		return 0;
	return pl == tl || path[pl - tl - 1] == '/';
}

static int
measure_visit(const struct aim_walk_entry *e, void *arg)
{
	struct caches *k = arg;

	if (S_ISREG(e->st->st_mode)) {
		k->size += e->st->st_size;
		k->files++;
	}
	return AIM_WALK_CONTINUE;
}

static int
cache_visit(const struct aim_walk_entry *e, void *arg)
{
	struct caches *k = arg;
	struct aim_walk mw;
	const char *pat = NULL;
	size_t i;
	json_t *x;

	if (!S_ISDIR(e->st->st_mode) && !S_ISREG(e->st->st_mode))
		return AIM_WALK_CONTINUE;
	/* Nothing in a repository's own directory is a cache. */
	if (aim_path_vcs(e->path) != NULL)
		return AIM_WALK_PRUNE;
	if (k->have_central && S_ISDIR(e->st->st_mode) &&
	    e->st->st_dev == k->cdev && e->st->st_ino == k->cino)
		return AIM_WALK_PRUNE;
	json_array_foreach(k->patterns, i, x)
		if (aim_path_tail_matches(e->path, json_string_value(x))) {
			pat = json_string_value(x);
			break;
		}
	if (pat == NULL)
		return AIM_WALK_CONTINUE;
	k->size = k->files = 0;
	if (S_ISDIR(e->st->st_mode)) {
		memset(&mw, 0, sizeof(mw));
		mw.visit = measure_visit;
		mw.visit_arg = k;
		mw.warn = k->w->warn;
		mw.arg = k->w->arg;
		aim_walk(&mw, e->path);
		k->w->nwarn += mw.nwarn;
	} else {
		k->size = e->st->st_size;
		k->files = 1;
	}
	json_array_append_new(k->out, json_pack("{s:s, s:s, s:s, s:s, s:s, "
	    "s:I, s:I}", "finding", "cache", "path", e->path, "pattern", pat,
	    "class", aim_cache_class(pat),
	    "kind", S_ISDIR(e->st->st_mode) ? "directory" : "file",
	    "size_bytes", (json_int_t)k->size, "files", (json_int_t)k->files));
	return AIM_WALK_PRUNE;
}

static int
by_size_desc(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;
	json_int_t sx = json_integer_value(json_object_get(*x, "size_bytes"));
	json_int_t sy = json_integer_value(json_object_get(*y, "size_bytes"));

	if (sx != sy)
		return sx > sy ? -1 : 1;
	return strcmp(json_string_value(json_object_get(*x, "path")),
	    json_string_value(json_object_get(*y, "path")));
}

json_t *
aim_scan_caches(const char *const *roots, size_t nroots, json_t *patterns,
    const char *central_cache, struct aim_walk *w)
{
	struct caches k;
	struct stat st;
	json_t **v, *sorted;
	size_t i, n;

	memset(&k, 0, sizeof(k));
	k.patterns = patterns;
	k.out = json_array();
	k.w = w;
	if (central_cache != NULL && stat(central_cache, &st) == 0) {
		k.have_central = 1;
		k.cdev = st.st_dev;
		k.cino = st.st_ino;
	}
	w->visit = cache_visit;
	w->visit_arg = &k;
	for (i = 0; i < nroots; i++)
		aim_walk(w, roots[i]);
	n = json_array_size(k.out);
	v = aim_xmalloc((n ? n : 1) * sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = json_array_get(k.out, i);
	qsort(v, n, sizeof(*v), by_size_desc);
	sorted = json_array();
	for (i = 0; i < n; i++)
		json_array_append(sorted, v[i]);
	free(v);
	json_decref(k.out);
	return sorted;
}
