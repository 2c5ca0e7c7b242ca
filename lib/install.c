/*
 * install.c: tools installed from their registry entry's install object
 * (aim-install(1)): npm packages into versioned directories that an
 * atomic symlink switches between, apt packages at a pinned version, the
 * other managers when they are on PATH, and aim.lock.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aim-setup.h"

extern char **environ;

#define RUN_TIMEOUT_MS		600000	/* one npm or apt-get run */
#define RUN_OUT_BYTES		(16 << 20)
#define LOCK_MAX_BYTES		(4 << 20)
#define STAMP			".aim-complete"	/* written last: complete */
#define VERSION_BYTES		128

static const char *const sources[] = { "npm", "apt", "pipx", "cargo", "go",
    NULL };

/* One tool's install as it goes. */
struct job {
	struct aim_install *in;
	const char *id, *source, *pkg, *pin;
	json_t	*tool, *rec;
	char	*dir;			/* tools_dir/id */
	int	 lockfd;		/* dir/.lock, flock'ed; or -1 */
	char	 current[VERSION_BYTES];	/* active version, or "" */
	char	 version[VERSION_BYTES];	/* the one wanted */
	char	 why[1024];
};

/* ---- small helpers ---- */

static void
say(struct job *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->why, sizeof(j->why), fmt, ap);
	va_end(ap);
}

static int
is_tarball(const char *pkg)
{
	size_t n = strlen(pkg);

	return n > 4 && (strcmp(pkg + n - 4, ".tgz") == 0 ||
	    (n > 7 && strcmp(pkg + n - 7, ".tar.gz") == 0));
}

/*
 * The last line of a finished child's stderr that says something: not
 * blank, not npm's pointer to its debug log.
 */
static void
last_line(const struct aim_proc *p, char *buf, size_t n)
{
	const char *s = p->err != NULL ? p->err : "", *e = s + p->err_len, *b;

	for (;;) {
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' ||
		    e[-1] == ' '))
			e--;
		for (b = e; b > s && b[-1] != '\n'; b--)
			;
		if (b == s || memmem(b, e - b, "complete log of this run",
		    24) == NULL)
			break;
		e = b;
	}
	snprintf(buf, n, "%.*s", (int)(e - b), b);
}

/*
 * Run argv to its end with envp.  0 when it exited 0; else -1 with j->why
 * "npm exited with code 1: <its last stderr line>", "npm killed by
 * SIGKILL", "can't run npm: No such file or directory".
 */
static int
run(struct job *j, char *const argv[], char *const envp[], struct aim_proc *p)
{
	struct aim_proc_limits lim;
	char line[512];

	memset(&lim, 0, sizeof(lim));
	lim.timeout_ms = RUN_TIMEOUT_MS;
	lim.kill_grace_ms = j->in->setup->cfg.kill_grace_ms;
	lim.max_stdout_bytes = RUN_OUT_BYTES;
	lim.stderr_tail_bytes = 4096;
	memset(p, 0, sizeof(*p));
	if (aim_proc_run(p, argv, envp, "", 0, &lim) == -1 ||
	    p->spawn_errno != 0) {
		say(j, "can't run %s: %s", argv[0], strerror(p->spawn_errno ?
		    p->spawn_errno : errno));
		return -1;
	}
	if (WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0 &&
	    !p->timed_out)
		return 0;
	last_line(p, line, sizeof(line));
	if (p->timed_out)
		say(j, "%s timed out", argv[0]);
	else if (WIFSIGNALED(p->status))
		say(j, "%s killed by %s", argv[0],
		    aim_signame(WTERMSIG(p->status)));
	else
		say(j, "%s exited with code %d%s%s", argv[0],
		    WEXITSTATUS(p->status), *line ? ": " : "", line);
	return -1;
}

/* The command line of argv as one string, for a plan and for messages. */
static json_t *
plan_of(char *const argv[])
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; argv[i] != NULL; i++)
		json_array_append_new(a, json_string(argv[i]));
	return a;
}

/*
 * The upstream part of a Debian version (deb-version(7)): without its
 * epoch ("1:") and its Debian revision (from the last '-'), so that
 * 2.1.0-1 reads as 2.1.0, not as a prerelease.
 */
static void
upstream(const char *text, char *buf, size_t n)
{
	const char *colon = strchr(text, ':');
	char *dash;

	if (colon != NULL && strspn(text, "0123456789") == (size_t)(colon -
	    text))
		text = colon + 1;
	snprintf(buf, n, "%s", text);
	if ((dash = strrchr(buf, '-')) != NULL)
		*dash = '\0';
}

/*
 * Is text (a version; a Debian one when deb) the highest so far that
 * satisfies pin (NULL: any)?  best holds the best's text, *bv its parse.
 */
static void
consider(const char *text, const char *pin, int deb, struct aim_semver *bv,
    char *best, size_t n)
{
	struct aim_semver v;
	char up[VERSION_BYTES];

	if (deb)
		upstream(text, up, sizeof(up));
	else
		snprintf(up, sizeof(up), "%s", text);
	if (aim_semver_find(up, strlen(up), &v, NULL, 0) == -1)
		return;
	if (aim_semver_satisfies(&v, pin ? pin : "*", NULL) != 1)
		return;
	if (*best == '\0' || aim_semver_cmp(&v, bv) > 0) {
		*bv = v;
		snprintf(best, n, "%s", text);
	}
}

/*
 * The action of a change from j->current to j->version: installed
 * (nothing before), upgraded (newer), downgraded.
 */
static const char *
change(struct job *j, int deb)
{
	struct aim_semver a, b;
	char x[VERSION_BYTES] = "", y[VERSION_BYTES] = "";

	if (*j->current == '\0')
		return "installed";
	consider(j->current, NULL, deb, &a, x, sizeof(x));
	consider(j->version, NULL, deb, &b, y, sizeof(y));
	return *x && *y && aim_semver_cmp(&b, &a) < 0 ? "downgraded" :
	    "upgraded";
}

/* A copy of the environment with PATH starting with dir. */
static char **
env_with_path(const char *dir)
{
	const char *path = getenv("PATH");
	char **env, *p;
	size_t n;

	for (n = 0; environ[n] != NULL; n++)
		;
	env = aim_xmalloc((n + 1) * sizeof(*env));
	for (n = 0; environ[n] != NULL; n++)
		env[n] = aim_xstrdup(environ[n]);
	env[n] = NULL;
	p = aim_xsprintf("%s%s%s", dir, path ? ":" : "", path ? path : "");
	env = aim_env_put(env, "PATH", p, strlen(p));
	free(p);
	return env;
}

/* A symlink name -> target made under a temporary name, then renamed. */
static int
switch_link(const char *name, const char *target)
{
	char *tmp = aim_xsprintf("%s.tmp-%ld", name, (long)getpid());
	int rc = -1;

	(void)unlink(tmp);
	if (symlink(target, tmp) == 0 && rename(tmp, name) == 0)
		rc = 0;
	else
		(void)unlink(tmp);
	free(tmp);
	return rc;
}

/* The version a link of dir (current, previous) names, else "". */
static void
link_version(const char *dir, const char *name, char *out, size_t n)
{
	char *path = aim_xsprintf("%s/%s", dir, name), buf[PATH_MAX];
	ssize_t len = readlink(path, buf, sizeof(buf) - 1);

	free(path);
	*out = '\0';
	if (len > 0 && (size_t)len < n) {
		memcpy(out, buf, len);
		out[len] = '\0';
	}
}

/* Is dir/version a complete install (its stamp there)? */
static int
complete(const char *dir, const char *version)
{
	char *stamp = aim_xsprintf("%s/%s/" STAMP, dir, version);
	int ok = access(stamp, F_OK) == 0;

	free(stamp);
	return ok;
}

/* ---- the record ---- */

static void
rec_set(struct job *j, const char *key, const char *value)
{
	json_object_set_new(j->rec, key, value != NULL && *value != '\0' ?
	    json_string(value) : json_null());
}

/* The end of a job: action, message (j->why unless msg), record back. */
static json_t *
done(struct job *j, const char *action, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;

	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		rec_set(j, "message", msg);
	}
	rec_set(j, "action", action);
	return j->rec;
}

/* A failure: the old version kept when there is one ("kept"). */
static json_t *
fail(struct job *j)
{
	/* A first install that failed leaves no directory behind. */
	if (j->dir != NULL && *j->current == '\0' && j->lockfd != -1) {
		char *lk = aim_xsprintf("%s/.lock", j->dir);

		(void)unlink(lk);
		free(lk);
		(void)rmdir(j->dir);
	}
	if (*j->current != '\0')
		return done(j, "kept", "kept %s %s: %s", j->id, j->current,
		    j->why);
	return done(j, "failed", "%s not installed: %s", j->id, j->why);
}

/* ---- the lock (aim-install(1) "The lockfile") ---- */

static json_t *
lock_entry(struct aim_install *in, const char *id)
{
	return json_object_get(json_object_get(in->lock, "tools"), id);
}

/*
 * With --locked, the version the lock holds for this tool, which must
 * be from the same source and package and satisfy the pin.  0 or -1.
 */
static int
locked_version(struct job *j)
{
	json_t *e = lock_entry(j->in, j->id);
	const char *v = json_string_value(json_object_get(e, "version"));
	struct aim_semver sv;

	if (e == NULL || v == NULL) {
		say(j, "aim.lock has no entry for %s", j->id);
		return -1;
	}
	if (strcmp(json_string_value(json_object_get(e, "source")) ?
	    json_string_value(json_object_get(e, "source")) : "",
	    j->source) != 0 || !json_equal(json_object_get(e, "package"),
	    json_object_get(j->rec, "package"))) {
		say(j, "aim.lock has %s from %s %s, the registry says %s %s",
		    j->id, json_string_value(json_object_get(e, "source")),
		    json_string_value(json_object_get(e, "package")),
		    j->source, j->pkg);
		return -1;
	}
	if (j->pin != NULL && (aim_semver_find(v, strlen(v), &sv, NULL,
	    0) == -1 || aim_semver_satisfies(&sv, j->pin, NULL) != 1)) {
		say(j, "aim.lock has %s %s, which does not satisfy the pin %s",
		    j->id, v, j->pin);
		return -1;
	}
	snprintf(j->version, sizeof(j->version), "%s", v);
	return 0;
}

/* With --locked, does the digest (name: integrity, sha256) match? */
static int
locked_digest(struct job *j, const char *name, const char *got)
{
	const char *want = json_string_value(json_object_get(lock_entry(j->in,
	    j->id), name));

	if (!j->in->locked || (want != NULL && got != NULL &&
	    strcmp(want, got) == 0))
		return 0;
	say(j, "%s %s: %s %s differs from aim.lock's %s", j->id, j->version,
	    name, got ? got : "(none)", want ? want : "(none)");
	return -1;
}

/* ---- the version check after an install ---- */

/*
 * Ask the tool its version with envp (the new install first on PATH):
 * it must answer, and satisfy the pin when there is one.  0 or -1.
 */
static int
check_version(struct job *j, char **envp)
{
	json_t *r = aim_scan_version(j->in->setup, j->tool, envp);
	const char *st = json_string_value(json_object_get(r, "pin_status"));
	const char *v = json_string_value(json_object_get(r, "version"));
	const char *err = json_string_value(json_object_get(r,
	    "version_error"));
	int rc = -1;

	if (v == NULL)
		say(j, "%s %s does not run: %s", j->id, j->version,
		    err ? err : "no version");
	else if (strcmp(st, "ok") != 0 && strcmp(st, "unpinned") != 0)
		say(j, "%s %s reports version %s, which does not satisfy "
		    "the pin %s", j->id, j->version, v, j->pin);
	else {
		rec_set(j, "reported", v);
		rc = 0;
	}
	json_decref(r);
	return rc;
}

/* ---- npm ---- */

/*
 * The highest version of the package that satisfies the pin, from `npm
 * view PKG versions --json` (a list, or one string for one version).
 */
static int
npm_resolve(struct job *j)
{
	char *argv[] = { "npm", "view", (char *)j->pkg, "versions", "--json",
	    NULL };
	struct aim_semver bv;
	struct aim_proc p;
	json_t *vs, *x;
	size_t i;
	int rc = -1;

	if (run(j, argv, environ, &p) == -1) {
		aim_proc_free(&p);
		return -1;
	}
	vs = json_loadb(p.out, p.out_len, JSON_DECODE_ANY, NULL);
	*j->version = '\0';
	if (json_is_string(vs))
		consider(json_string_value(vs), j->pin, 0, &bv, j->version,
		    sizeof(j->version));
	json_array_foreach(vs, i, x)
		if (json_is_string(x))
			consider(json_string_value(x), j->pin, 0, &bv,
			    j->version, sizeof(j->version));
	if (*j->version != '\0')
		rc = 0;
	else if (vs == NULL)
		say(j, "npm view %s: not a JSON list of versions", j->pkg);
	else
		say(j, "no version of %s satisfies the pin %s", j->pkg,
		    j->pin);
	json_decref(vs);
	aim_proc_free(&p);
	return rc;
}

/*
 * An exact pin, MAJOR.MINOR.PATCH with nothing else (npm's "1.2.3"), into
 * j->version: it names one version, so none need be looked up.  1 or 0.
 */
static int
exact_pin(struct job *j)
{
	struct aim_semver v;
	const char *p = j->pin;

	if (p == NULL || strspn(p, "0123456789.") != strlen(p) ||
	    aim_semver_find(p, strlen(p), &v, NULL, 0) == -1 ||
	    strchr(p, '.') == NULL || strchr(strchr(p, '.') + 1, '.') == NULL) {
		*j->version = '\0';
		return 0;
	}
	snprintf(j->version, sizeof(j->version), "%s", p);
	return 1;
}

/* The version to install: the lock's, an exact pin, or resolved. */
static int
npm_target(struct job *j)
{
	if (j->in->locked)
		return locked_version(j);
	if (exact_pin(j))
		return 0;
	if (!is_tarball(j->pkg))
		return npm_resolve(j);
	say(j, "a tarball needs an exact version pin, not %s",
	    j->pin ? j->pin : "none");
	return -1;
}

/*
 * npm install of the version into verdir (argv[3]) of spec (argv[8]):
 * the same command for a run and for a plan.
 */
#define NPM_ARGV(verdir, spec) { "npm", "install", "--prefix", \
	(char *)(verdir), "--no-audit", "--no-fund", "--save-exact", \
	"--loglevel=error", (spec), NULL }

/* The package spec npm installs: PKG@VER, or the tarball's path. */
static char *
npm_spec(struct job *j)
{
	char *x, *spec;

	if (!is_tarball(j->pkg))
		return aim_xsprintf("%s@%s", j->pkg, j->version);
	x = aim_expand(j->pkg, j->in->setup->registry_dir);
	spec = aim_abspath(x, j->in->setup->registry_dir);
	free(x);
	return spec;
}

/* The integrity npm recorded for the package in the prefix's lock. */
static char *
npm_integrity(const char *verdir)
{
	char *path = aim_xsprintf("%s/package-lock.json", verdir);
	char *key, *out = NULL;
	const char *name, *s;
	json_t *lock = aim_json_read(path, 0, LOCK_MAX_BYTES), *deps, *x;

	free(path);
	deps = json_object_get(json_object_get(json_object_get(lock,
	    "packages"), ""), "dependencies");
	json_object_foreach(deps, name, x) {
		key = aim_xsprintf("node_modules/%s", name);
		s = json_string_value(json_object_get(json_object_get(
		    json_object_get(lock, "packages"), key), "integrity"));
		free(key);
		if (s != NULL)
			out = aim_xstrdup(s);
		break;
	}
	json_decref(lock);
	return out;
}

/*
 * Link bin_dir/<command> to tools/<tool>/current/node_modules/.bin/
 * <command> for each detectCommands name the package has, through
 * current so that a switch needs no new link.  A file there that is not
 * aim's is left alone, with a warning.
 */
static void
npm_link_bins(struct job *j, const char *verdir)
{
	json_t *dc = json_object_get(j->tool, "detectCommands"), *x;
	json_t *linked = json_array(), *warn = json_array();
	char *have, *name, *target, buf[PATH_MAX];
	const char *cmd;
	ssize_t n;
	size_t i;

	(void)aim_mkdirs(j->in->bin_dir);
	json_array_foreach(dc, i, x) {
		cmd = json_string_value(x);
		if (cmd == NULL || strchr(cmd, '/') != NULL)
			continue;
		have = verdir != NULL ? aim_xsprintf("%s/node_modules/.bin/%s",
		    verdir, cmd) : aim_xsprintf("%s/current/node_modules/.bin/%s",
		    j->dir, cmd);
		name = aim_xsprintf("%s/%s", j->in->bin_dir, cmd);
		target = aim_xsprintf("%s/current/node_modules/.bin/%s",
		    j->dir, cmd);
		n = readlink(name, buf, sizeof(buf) - 1);
		if (n >= 0)
			buf[n] = '\0';
		if (access(have, F_OK) == -1)
			;	/* not a program of this package */
		else if ((n >= 0 && strcmp(buf, target) == 0) || (n < 0 &&
		    access(name, F_OK) == -1 && errno == ENOENT &&
		    switch_link(name, target) == 0))
			json_array_append_new(linked, json_string(name));
		else
			json_array_append_new(warn, json_sprintf("%s is not "
			    "aim's: left alone", name));
		free(have);
		free(name);
		free(target);
	}
	json_object_set_new(j->rec, "bin", linked);
	if (json_array_size(warn) > 0)
		json_object_set_new(j->rec, "warnings", warn);
	else
		json_decref(warn);
}

/* Versions of dir other than the current and previous ones go. */
static void
npm_prune(struct job *j)
{
	char prev[VERSION_BYTES], cur[VERSION_BYTES];
	struct dirent *d;
	DIR *dp;
	int fd;

	link_version(j->dir, "current", cur, sizeof(cur));
	link_version(j->dir, "previous", prev, sizeof(prev));
	if ((fd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.' || strcmp(d->d_name, "current") == 0 ||
		    strcmp(d->d_name, "previous") == 0 ||
		    strcmp(d->d_name, cur) == 0 || strcmp(d->d_name, prev) == 0)
			continue;
		if (d->d_type == DT_DIR)
			(void)aim_remove_tree(fd, d->d_name);
		else if (strstr(d->d_name, ".tmp-") != NULL)
			(void)unlinkat(fd, d->d_name, 0);
	}
	closedir(dp);
}

/*
 * Make dir/version complete: npm install into it (a half one left by a
 * crash removed first), its integrity checked, its version asked.  On
 * failure what this run made is removed.  0 or -1.
 */
static int
npm_fetch(struct job *j, const char *verdir)
{
	char *spec, *integ = NULL, **envp, *bin;
	struct aim_proc p;
	int rc = -1;

	if (access(verdir, F_OK) == 0) {
		(void)aim_remove_tree(AT_FDCWD, verdir);
		rec_set(j, "note", "removed a half install left by an "
		    "interrupted run");
	}
	if (aim_mkdirs(verdir) == -1) {
		say(j, "can't create %s: %s", verdir, strerror(errno));
		return -1;
	}
	spec = npm_spec(j);
	{
		char *argv[] = NPM_ARGV(verdir, spec);

		rc = run(j, argv, environ, &p);
		aim_proc_free(&p);
	}
	free(spec);
	if (rc == 0) {
		integ = npm_integrity(verdir);
		rec_set(j, "integrity", integ);
		rc = locked_digest(j, "integrity", integ);
	}
	if (rc == 0) {
		bin = aim_xsprintf("%s/node_modules/.bin", verdir);
		envp = env_with_path(bin);
		rc = check_version(j, envp);
		aim_strv_free(envp);
		free(bin);
	}
	free(integ);
	if (rc == -1)
		(void)aim_remove_tree(AT_FDCWD, verdir);
	return rc;
}

/* The stamp, then previous and current switched: the version is active. */
static int
npm_activate(struct job *j, const char *verdir)
{
	char *stamp = aim_xsprintf("%s/" STAMP, verdir), *text, *cur;
	json_t *st;
	int rc;

	st = json_pack("{s:s, s:s, s:O}", "tool_id", j->id, "version",
	    j->version, "integrity", json_object_get(j->rec, "integrity"));
	text = json_dumps(st, JSON_COMPACT);
	rc = aim_write_atomic(stamp, text, strlen(text), 0644, 0, NULL);
	free(text);
	json_decref(st);
	free(stamp);
	if (rc == 0 && *j->current != '\0' &&
	    strcmp(j->current, j->version) != 0) {
		cur = aim_xsprintf("%s/previous", j->dir);
		rc = switch_link(cur, j->current);
		free(cur);
	}
	cur = aim_xsprintf("%s/current", j->dir);
	if (rc == 0)
		rc = switch_link(cur, j->version);
	free(cur);
	if (rc == 0)
		(void)aim_fsync_dir(j->dir);
	else
		say(j, "can't switch %s/current: %s", j->dir, strerror(errno));
	return rc;
}

/* The integrity kept in a complete version's stamp. */
static void
stamp_integrity(struct job *j, const char *version)
{
	char *path = aim_xsprintf("%s/%s/" STAMP, j->dir, version);
	json_t *st = aim_json_read(path, 0, LOCK_MAX_BYTES);

	free(path);
	json_object_set(j->rec, "integrity", json_object_get(st,
	    "integrity") ? json_object_get(st, "integrity") : json_null());
	json_decref(st);
}

/* An exclusive flock(2) of fd, waited for: 0, or -1 with errno. */
static int
flock_wait(int fd)
{
	int rc;

	while ((rc = flock(fd, LOCK_EX)) == -1 && errno == EINTR)
		;
	return rc;
}

/*
 * One aim-install at a time on a tool: an exclusive flock(2) of
 * tools/<tool>/.lock, held until the job ends, so that two runs never
 * switch or prune the same tool at once.  0, or -1 with j->why.
 */
static int
job_lock(struct job *j)
{
	char *path = aim_xsprintf("%s/.lock", j->dir);
	int rc = -1;

	if (aim_mkdirs(j->dir) == -1)
		say(j, "can't create %s: %s", j->dir, strerror(errno));
	else if ((j->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC,
	    0600)) == -1)
		say(j, "can't open %s: %s", path, strerror(errno));
	else if ((rc = flock_wait(j->lockfd)) == -1)
		say(j, "can't lock %s: %s", path, strerror(errno));
	free(path);
	return rc;
}

/* Does the active version satisfy the pin (any, without one)? */
static int
current_fits(struct job *j)
{
	struct aim_semver v;

	return *j->current != '\0' && (j->pin == NULL ||
	    (aim_semver_find(j->current, strlen(j->current), &v, NULL,
	    0) == 0 && aim_semver_satisfies(&v, j->pin, NULL) == 1));
}

/* -n: the npm command that would run, in the record's "plan". */
static json_t *
npm_plan(struct job *j, const char *verdir)
{
	char *spec = npm_spec(j);
	char *argv[] = NPM_ARGV(verdir, spec);

	json_object_set_new(j->rec, "plan", plan_of(argv));
	free(spec);
	return done(j, *j->current ? "would_upgrade" : "would_install",
	    "would %s %s %s", *j->current ? "upgrade" : "install", j->id,
	    j->version);
}

/*
 * Make dir/version complete and active: a complete one (an earlier
 * upgrade's, kept as previous) is checked against --locked, else fetched.
 */
static int
npm_switch(struct job *j, const char *verdir)
{
	if (complete(j->dir, j->version)) {
		stamp_integrity(j, j->version);
		if (locked_digest(j, "integrity", json_string_value(
		    json_object_get(j->rec, "integrity"))) == -1)
			return -1;
	} else if (npm_fetch(j, verdir) == -1)
		return -1;
	if (npm_activate(j, verdir) == -1)
		return -1;
	npm_link_bins(j, verdir);
	npm_prune(j);
	return 0;
}

static json_t *
npm_job(struct job *j, int upgrade)
{
	char *verdir;
	json_t *r;

	j->dir = aim_xsprintf("%s/%s", j->in->tools_dir, j->id);
	if (!j->in->dry_run && job_lock(j) == -1)
		return fail(j);
	link_version(j->dir, "current", j->current, sizeof(j->current));
	if (*j->current != '\0' && !complete(j->dir, j->current))
		*j->current = '\0';
	rec_set(j, "previous", j->current);
	/* install leaves a version that satisfies the pin as it is. */
	if (!upgrade && !j->in->locked && current_fits(j)) {
		rec_set(j, "version", j->current);
		stamp_integrity(j, j->current);
		if (!j->in->dry_run)
			npm_link_bins(j, NULL);	/* a link gone is made again */
		return done(j, "unchanged", "%s %s satisfies %s", j->id,
		    j->current, j->pin ? j->pin : "no pin");
	}
	if (npm_target(j) == -1)
		return fail(j);
	rec_set(j, "version", j->version);
	if (strcmp(j->current, j->version) == 0) {
		stamp_integrity(j, j->current);
		if (locked_digest(j, "integrity", json_string_value(
		    json_object_get(j->rec, "integrity"))) == -1)
			return fail(j);
		return done(j, "unchanged", "%s %s is the version wanted",
		    j->id, j->current);
	}
	verdir = aim_xsprintf("%s/%s", j->dir, j->version);
	if (j->in->dry_run)
		r = npm_plan(j, verdir);
	else if (npm_switch(j, verdir) == -1)
		r = fail(j);
	else
		r = done(j, change(j, 0), "%s %s%s%s", j->id, j->version,
		    *j->current ? ", was " : "", j->current);
	free(verdir);
	return r;
}

/* ---- apt ---- */

/*
 * The versions apt can install, from `apt-cache show PKG`: [{version,
 * sha256}], its order (newest first as apt lists them).  NULL on failure.
 */
static json_t *
apt_versions(struct job *j)
{
	char *argv[] = { "apt-cache", "show", (char *)j->pkg, NULL };
	char ver[VERSION_BYTES] = "", *line, *save = NULL;
	struct aim_proc p;
	json_t *out = NULL, *cur = NULL;

	if (run(j, argv, environ, &p) == 0) {
		out = json_array();
		for (line = strtok_r(p.out, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			if (strncmp(line, "Version: ", 9) == 0) {
				snprintf(ver, sizeof(ver), "%s", line + 9);
				cur = json_pack("{s:s, s:n}", "version", ver,
				    "sha256");
				json_array_append_new(out, cur);
			} else if (strncmp(line, "SHA256: ", 8) == 0 &&
			    cur != NULL)
				json_object_set_new(cur, "sha256",
				    json_string(line + 8));
		}
	}
	aim_proc_free(&p);
	return out;
}

/* The installed version (dpkg-query), else "". */
static void
apt_current(struct job *j)
{
	char *argv[] = { "dpkg-query", "-W", "-f", "${db:Status-Abbrev} "
	    "${Version}", (char *)j->pkg, NULL };
	struct aim_proc p;

	*j->current = '\0';
	if (run(j, argv, environ, &p) == 0 && strncmp(p.out, "ii ", 3) == 0)
		snprintf(j->current, sizeof(j->current), "%s",
		    p.out + 3 + strspn(p.out + 3, " "));
	aim_proc_free(&p);
	j->why[0] = '\0';
}

/* The sha256 apt has for version, borrowed, or NULL. */
static const char *
apt_sha256(json_t *vs, const char *version)
{
	json_t *x;
	size_t i;

	json_array_foreach(vs, i, x)
		if (strcmp(json_string_value(json_object_get(x, "version")),
		    version) == 0)
			return json_string_value(json_object_get(x, "sha256"));
	return NULL;
}

/* apt-get install -y PKG=VERSION, as root.  0 or -1. */
static int
apt_get(struct job *j, const char *version, json_t *plan_to)
{
	char *spec = aim_xsprintf("%s=%s", j->pkg, version), **envp;
	char *argv[] = { "apt-get", "install", "-y", "-q",
	    "--allow-downgrades", spec, NULL };
	struct aim_proc p;
	int rc = -1;

	if (plan_to != NULL)
		json_object_set_new(plan_to, "plan", plan_of(argv));
	else if (geteuid() != 0)
		say(j, "apt-get install needs root");
	else {
		envp = env_with_path("/usr/sbin");
		envp = aim_env_put(envp, "DEBIAN_FRONTEND", "noninteractive",
		    14);
		rc = run(j, argv, envp, &p);
		aim_proc_free(&p);
		aim_strv_free(envp);
	}
	free(spec);
	return rc;
}

/*
 * The version to install: the lock's, else the highest apt has that
 * satisfies the pin (the installed one counts too, for install).  0, or
 * -1 with j->why.
 */
static int
apt_target(struct job *j, json_t *vs, int upgrade)
{
	struct aim_semver bv;
	json_t *x;
	size_t i;

	if (j->in->locked)
		return locked_version(j);
	*j->version = '\0';
	json_array_foreach(vs, i, x)
		consider(json_string_value(json_object_get(x, "version")),
		    j->pin, 1, &bv, j->version, sizeof(j->version));
	if (!upgrade && *j->current != '\0')
		consider(j->current, j->pin, 1, &bv, j->version,
		    sizeof(j->version));
	if (*j->version != '\0')
		return 0;
	say(j, "apt has no version of %s that satisfies the pin %s", j->pkg,
	    j->pin ? j->pin : "*");
	return -1;
}

/*
 * apt's rollback after a failed check: the previous version installed
 * again, if apt still has it ("kept"); else "failed", saying so.
 */
static json_t *
apt_put_back(struct job *j, json_t *vs)
{
	char kept[sizeof(j->why)];

	snprintf(kept, sizeof(kept), "%s", j->why);
	if (*j->current != '\0' && apt_sha256(vs, j->current) != NULL &&
	    apt_get(j, j->current, NULL) == 0) {
		snprintf(j->why, sizeof(j->why), "%s", kept);
		return fail(j);
	}
	if (*j->current != '\0')
		say(j, "%s; apt no longer has %s %s to put back", kept,
		    j->pkg, j->current);
	return done(j, "failed", "%s %s: %s", j->id, j->version, j->why);
}

static json_t *
apt_job(struct job *j, int upgrade)
{
	json_t *vs = apt_versions(j), *r;
	const char *sha;

	if (vs == NULL)
		return fail(j);
	apt_current(j);
	rec_set(j, "previous", j->current);
	if (apt_target(j, vs, upgrade) == -1) {
		json_decref(vs);
		return fail(j);
	}
	sha = apt_sha256(vs, j->version);
	rec_set(j, "version", j->version);
	rec_set(j, "sha256", sha);
	if (locked_digest(j, "sha256", sha) == -1)
		r = fail(j);
	else if (strcmp(j->current, j->version) == 0)
		r = done(j, "unchanged", "%s %s is the version wanted", j->id,
		    j->current);
	else if (j->in->dry_run) {
		(void)apt_get(j, j->version, j->rec);
		r = done(j, *j->current ? "would_upgrade" : "would_install",
		    "would %s %s %s", *j->current ? "upgrade" : "install",
		    j->id, j->version);
	} else if (apt_get(j, j->version, NULL) == 0 &&
	    check_version(j, environ) == 0)
		r = done(j, change(j, 1), "%s %s%s%s", j->id, j->version,
		    *j->current ? ", was " : "", j->current);
	else
		r = apt_put_back(j, vs);
	json_decref(vs);
	return r;
}

/* ---- pipx, cargo, go: run when on PATH, no rollback ---- */

static json_t *
other_job(struct job *j)
{
	char *which = aim_which(j->source, NULL), *spec, **envp = environ;
	char *argv[6] = { (char *)j->source, "install", NULL, NULL, NULL,
	    NULL };
	struct aim_proc p;
	int exact;

	free(which);
	if (which == NULL)
		return done(j, "skipped", "%s is not on PATH", j->source);
	exact = exact_pin(j);
	if (strcmp(j->source, "pipx") == 0) {
		spec = exact ? aim_xsprintf("%s==%s", j->pkg, j->version) :
		    aim_xstrdup(j->pkg);
		argv[2] = "--force";
		argv[3] = spec;
	} else if (strcmp(j->source, "cargo") == 0) {
		spec = aim_xstrdup(exact ? j->version : "*");
		argv[2] = (char *)j->pkg;
		argv[3] = "--version";
		argv[4] = spec;
	} else {
		spec = aim_xsprintf("%s@%s%s", j->pkg, exact ? "v" : "",
		    exact ? j->version : "latest");
		argv[2] = spec;
	}
	rec_set(j, "version", j->version);
	if (j->in->dry_run) {
		json_object_set_new(j->rec, "plan", plan_of(argv));
		free(spec);
		return done(j, "would_install", "would install %s", j->id);
	}
	if (run(j, argv, envp, &p) == -1 || check_version(j, environ) == -1) {
		aim_proc_free(&p);
		free(spec);
		return done(j, "failed", "%s: %s", j->id, j->why);
	}
	aim_proc_free(&p);
	free(spec);
	if (*j->version == '\0')
		rec_set(j, "version", json_string_value(json_object_get(j->rec,
		    "reported")));
	return done(j, "installed", "%s %s", j->id, j->version);
}

/* ---- the library's face ---- */

/*
 * aim.lock into in->lock, afresh (missing: empty).  0, or -1 with a
 * malloc'd *why: "<lock>: <errno>", "<lock>:L:C: <parse error>" or
 * "<lock>: no \"tools\" object".
 */
static int
lock_read(struct aim_install *in, char **why)
{
	json_error_t e;
	char *text;
	size_t len;

	json_decref(in->lock);
	in->lock = NULL;
	if (aim_read_file(AT_FDCWD, in->lock_path, 0, LOCK_MAX_BYTES, &text,
	    &len) == -1) {
		if (errno != ENOENT) {
			*why = aim_xsprintf("%s: %s", in->lock_path,
			    strerror(errno));
			return -1;
		}
		in->lock = json_pack("{s:i, s:{}}", "version", 1, "tools");
		return 0;
	}
	in->lock = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
	free(text);
	if (in->lock == NULL) {
		*why = aim_xsprintf("%s:%d:%d: %s", in->lock_path, e.line,
		    e.column, e.text);
		return -1;
	}
	if (!json_is_object(json_object_get(in->lock, "tools"))) {
		*why = aim_xsprintf("%s: no \"tools\" object", in->lock_path);
		return -1;
	}
	return 0;
}

int
aim_install_open(struct aim_install *in, struct aim_setup *s,
    const char *bin_dir, unsigned flags, char **why)
{
	const char *home = getenv("HOME");

	memset(in, 0, sizeof(*in));
	in->setup = s;
	in->dry_run = (flags & AIM_INSTALL_DRY_RUN) != 0;
	in->locked = (flags & AIM_INSTALL_LOCKED) != 0;
	in->tools_dir = aim_xdg_path("XDG_DATA_HOME", ".local/share",
	    "tools");
	if (bin_dir != NULL)
		in->bin_dir = aim_abspath(bin_dir, NULL);
	else if (s->cfg.bin_dir != NULL)
		in->bin_dir = aim_xstrdup(s->cfg.bin_dir);
	else if (home != NULL && *home == '/')
		in->bin_dir = aim_xsprintf("%s/.local/bin", home);
	if (in->tools_dir == NULL || in->bin_dir == NULL) {
		*why = aim_xstrdup("HOME is not set: no tools or bin "
		    "directory");
		return -1;
	}
	in->lock_path = aim_xsprintf("%s/aim.lock", s->registry_dir);
	in->changes = json_object();
	return lock_read(in, why);
}

void
aim_install_close(struct aim_install *in)
{
	free(in->tools_dir);
	free(in->bin_dir);
	free(in->lock_path);
	json_decref(in->lock);
	json_decref(in->changes);
	memset(in, 0, sizeof(*in));
}

/* Fill j for tool id; NULL, or the record that ends it already. */
static json_t *
job_init(struct job *j, struct aim_install *in, const char *id)
{
	const char *const *s;
	json_t *install;

	memset(j, 0, sizeof(*j));
	j->lockfd = -1;
	j->in = in;
	j->id = id;
	j->rec = json_pack("{s:s}", "tool_id", id);
	j->tool = aim_registry_tool(&in->setup->reg, id);
	if (j->tool == NULL)
		return done(j, "failed", "no tool '%s' in the registry", id);
	j->pin = json_string_value(json_object_get(j->tool, "version"));
	install = json_object_get(j->tool, "install");
	for (s = sources; *s != NULL; s++)
		if ((j->pkg = json_string_value(json_object_get(install,
		    *s))) != NULL)
			break;
	if (*s == NULL)
		return done(j, "skipped", "%s has no install object", id);
	j->source = *s;
	json_object_set_new(j->rec, "source", json_string(j->source));
	json_object_set_new(j->rec, "package", json_string(j->pkg));
	rec_set(j, "pin", j->pin);
	return NULL;
}

json_t *
aim_install_tool(struct aim_install *in, const char *id, int upgrade)
{
	int64_t t0 = aim_now_ms();
	struct job j;
	json_t *r;

	if ((r = job_init(&j, in, id)) == NULL) {
		if (strcmp(j.source, "npm") == 0)
			r = npm_job(&j, upgrade);
		else if (strcmp(j.source, "apt") == 0)
			r = apt_job(&j, upgrade);
		else
			r = other_job(&j);
	}
	if (j.lockfd != -1)
		close(j.lockfd);
	free(j.dir);
	json_object_set_new(r, "duration_ms", json_integer(aim_now_ms() - t0));
	return r;
}

json_t *
aim_install_rollback(struct aim_install *in, const char *id)
{
	char prev[VERSION_BYTES], *link;
	struct job j;
	json_t *r;

	if ((r = job_init(&j, in, id)) != NULL)
		return r;
	if (strcmp(j.source, "npm") != 0)
		return done(&j, "failed", "%s: rollback is for npm tools; "
		    "install the version wanted", id);
	j.dir = aim_xsprintf("%s/%s", in->tools_dir, id);
	link_version(j.dir, "current", j.current, sizeof(j.current));
	link_version(j.dir, "previous", prev, sizeof(prev));
	rec_set(&j, "previous", j.current);
	if (*prev == '\0' || !complete(j.dir, prev)) {
		say(&j, "no previous version to go back to");
		r = fail(&j);
	} else if (in->dry_run) {
		rec_set(&j, "version", prev);
		r = done(&j, "would_roll_back", "would roll %s back to %s", id,
		    prev);
	} else {
		snprintf(j.version, sizeof(j.version), "%s", prev);
		link = aim_xsprintf("%s/%s", j.dir, prev);
		rec_set(&j, "version", prev);
		stamp_integrity(&j, prev);
		if (npm_activate(&j, link) == -1)
			r = fail(&j);
		else {
			npm_link_bins(&j, link);
			r = done(&j, "rolled_back", "%s %s, was %s", id, prev,
			    j.current);
		}
		free(link);
	}
	free(j.dir);
	return r;
}

/* Remove bin_dir's links into dir (only aim's links). */
static void
unlink_bins(struct job *j)
{
	json_t *dc = json_object_get(j->tool, "detectCommands"), *x;
	char *name, buf[PATH_MAX];
	size_t i, n = strlen(j->dir);
	ssize_t len;

	json_array_foreach(dc, i, x) {
		if (!json_is_string(x) || strchr(json_string_value(x), '/'))
			continue;
		name = aim_xsprintf("%s/%s", j->in->bin_dir,
		    json_string_value(x));
		len = readlink(name, buf, sizeof(buf) - 1);
		if (len > 0 && (size_t)len > n && strncmp(buf, j->dir, n) == 0
		    && buf[n] == '/')
			(void)unlink(name);
		free(name);
	}
}

json_t *
aim_install_remove(struct aim_install *in, const char *id)
{
	char *argv[] = { "apt-get", "remove", "-y", "-q", NULL, NULL };
	struct aim_proc p;
	struct job j;
	json_t *r;

	if ((r = job_init(&j, in, id)) != NULL)
		return r;
	j.dir = aim_xsprintf("%s/%s", in->tools_dir, id);
	if (strcmp(j.source, "npm") == 0) {
		link_version(j.dir, "current", j.current, sizeof(j.current));
		rec_set(&j, "version", j.current);
		if (access(j.dir, F_OK) == -1)
			r = done(&j, "unchanged", "%s is not installed", id);
		else if (in->dry_run)
			r = done(&j, "would_uninstall", "would remove %s", j.dir);
		else {
			unlink_bins(&j);
			r = aim_remove_tree(AT_FDCWD, j.dir) == 0 ?
			    done(&j, "uninstalled", "%s %s removed", id,
			    j.current) : done(&j, "failed", "can't remove %s: "
			    "%s", j.dir, strerror(errno));
		}
	} else if (strcmp(j.source, "apt") == 0) {
		apt_current(&j);
		rec_set(&j, "version", j.current);
		argv[4] = (char *)j.pkg;
		json_object_set_new(j.rec, "plan", plan_of(argv));
		if (*j.current == '\0')
			r = done(&j, "unchanged", "%s is not installed", id);
		else if (in->dry_run)
			r = done(&j, "would_uninstall", "would remove %s",
			    j.pkg);
		else {
			r = run(&j, argv, environ, &p) == 0 ? done(&j,
			    "uninstalled", "%s %s removed", id, j.current) :
			    done(&j, "failed", "%s", j.why);
			aim_proc_free(&p);
		}
	} else
		r = done(&j, "skipped", "uninstall %s with %s itself", id,
		    j.source);
	free(j.dir);
	return r;
}

json_t *
aim_install_drift(struct aim_install *in, const char *id)
{
	char up[VERSION_BYTES];
	struct aim_semver v;
	struct job j;
	json_t *r, *e;
	const char *lv;

	if ((r = job_init(&j, in, id)) != NULL)
		return r;
	j.dir = aim_xsprintf("%s/%s", in->tools_dir, id);
	if (strcmp(j.source, "npm") == 0) {
		link_version(j.dir, "current", j.current, sizeof(j.current));
		if (*j.current && !complete(j.dir, j.current))
			*j.current = '\0';
	} else if (strcmp(j.source, "apt") == 0)
		apt_current(&j);
	free(j.dir);
	rec_set(&j, "version", j.current);
	e = lock_entry(in, id);
	lv = json_string_value(json_object_get(e, "version"));
	rec_set(&j, "locked", lv);
	if (strcmp(j.source, "npm") != 0 && strcmp(j.source, "apt") != 0)
		return done(&j, "skipped", "%s: drift is checked for npm and "
		    "apt tools", id);
	if (*j.current == '\0')
		return done(&j, "drift", "%s is not installed", id);
	if (strcmp(j.source, "apt") == 0)
		upstream(j.current, up, sizeof(up));
	else
		snprintf(up, sizeof(up), "%s", j.current);
	if (j.pin != NULL && (aim_semver_find(up, strlen(up), &v, NULL,
	    0) == -1 || aim_semver_satisfies(&v, j.pin, NULL) != 1))
		return done(&j, "drift", "%s %s does not satisfy the pin %s",
		    id, j.current, j.pin);
	if (lv != NULL && strcmp(lv, j.current) != 0)
		return done(&j, "drift", "%s %s is not aim.lock's %s", id,
		    j.current, lv);
	return done(&j, "in_sync", "%s %s", id, j.current);
}

/* The audit event kind of a record's action, or NULL: none. */
static const char *
event_kind(const char *action)
{
	static const char *const map[][2] = {
		{ "installed", "tool_install" }, { "failed", "tool_install" },
		{ "upgraded", "tool_upgrade" },
		{ "downgraded", "tool_upgrade" }, { "kept", "tool_rollback" },
		{ "rolled_back", "tool_rollback" },
		{ "uninstalled", "tool_uninstall" },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(action, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

int
aim_install_apply(struct aim_install *in, json_t *rec, char **why)
{
	const char *action = json_string_value(json_object_get(rec, "action"));
	const char *id = json_string_value(json_object_get(rec, "tool_id"));
	const char *kind;
	json_t *tools = json_object_get(in->lock, "tools"), *d;
	int rc;

	*why = NULL;
	/* A tool the registry lacks or cannot install changed nothing. */
	if (action == NULL || id == NULL || json_object_get(rec,
	    "source") == NULL || (kind = event_kind(action)) == NULL)
		return 0;
	if (strcmp(action, "uninstalled") == 0) {
		json_object_del(tools, id);
		json_object_set_new(in->changes, id, json_null());
	} else if (strcmp(action, "installed") == 0 ||
	    strcmp(action, "upgraded") == 0 ||
	    strcmp(action, "downgraded") == 0 ||
	    strcmp(action, "rolled_back") == 0) {
		d = json_pack("{s:O, s:O, s:O, s:O*, s:O*}", "source",
		    json_object_get(rec, "source"), "package",
		    json_object_get(rec, "package"), "version",
		    json_object_get(rec, "version"), "integrity",
		    json_object_get(rec, "integrity"), "sha256",
		    json_object_get(rec, "sha256"));
		json_object_set(tools, id, d);
		json_object_set_new(in->changes, id, d);
	}
	d = json_pack("{s:s, s:s, s:O?, s:O?, s:O?, s:O?, s:O?}", "tool_id",
	    id, "action", action, "source", json_object_get(rec, "source"),
	    "package", json_object_get(rec, "package"), "version",
	    json_object_get(rec, "version"), "previous", json_object_get(rec,
	    "previous"), "message", json_object_get(rec, "message"));
	rc = aim_audit_event_here(&in->setup->opt, kind, d, why);
	json_decref(d);
	in->lock_dirty = 1;
	return rc == -1 ? -1 : 0;
}

/* in->lock written whole through aim_write_atomic; 0, or -1 with *why. */
static int
lock_store(struct aim_install *in, char **why)
{
	struct aim_write_fail f;
	char *text;
	int rc;

	text = json_dumps(in->lock, JSON_INDENT(2) | JSON_SORT_KEYS);
	text = aim_xrealloc(text, strlen(text) + 2);
	strcat(text, "\n");
	rc = aim_write_atomic(in->lock_path, text, strlen(text), 0644,
	    AIM_WRITE_UMASK, &f);
	if (rc == -1)
		*why = aim_xsprintf("can't write %s: %s", in->lock_path,
		    strerror(errno));
	free(text);
	return rc;
}

/*
 * Under aim.lock.lock's flock(2): aim.lock read afresh, so that another
 * aim-install's changes since this one began stay, then this run's
 * changes (the tools it touched) over it, written whole.
 */
int
aim_install_lock_write(struct aim_install *in, char **why)
{
	const char *id;
	json_t *tools, *e;
	char *lk;
	int fd, rc = -1;

	*why = NULL;
	if (!in->lock_dirty)
		return 0;
	lk = aim_xsprintf("%s.lock", in->lock_path);
	if ((fd = open(lk, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0644)) == -1)
		*why = aim_xsprintf("can't open %s: %s", lk, strerror(errno));
	else if (flock_wait(fd) == -1)
		*why = aim_xsprintf("can't lock %s: %s", lk, strerror(errno));
	else if (lock_read(in, why) == 0) {
		tools = json_object_get(in->lock, "tools");
		json_object_foreach(in->changes, id, e) {
			if (json_is_null(e))
				json_object_del(tools, id);
			else
				json_object_set(tools, id, e);
		}
		rc = lock_store(in, why);
	}
	if (fd != -1)
		close(fd);	/* the flock goes with it */
	free(lk);
	return rc;
}

json_t *
aim_install_lacking(struct aim_install *in, json_t *tools)
{
	json_t *rules = in->setup->reg.rules, *r, *chain, *x, *t, *out;
	const char *cap, *id, *pick, *st;
	size_t i, k;

	out = json_array();
	json_object_foreach(rules, cap, r) {
		chain = json_array();
		if (json_is_string(json_object_get(r, "primary")))
			json_array_append(chain, json_object_get(r, "primary"));
		json_array_foreach(json_object_get(r, "fallback"), i, x)
			if (json_is_string(x))
				json_array_append(chain, x);
		pick = NULL;
		json_array_foreach(chain, i, x) {
			id = json_string_value(x);
			json_array_foreach(tools, k, t) {
				st = json_string_value(json_object_get(t,
				    "status"));
				if (strcmp(json_string_value(json_object_get(t,
				    "tool_id")), id) == 0 && st != NULL &&
				    strcmp(st, "ready") == 0)
					break;
			}
			if (k < json_array_size(tools))
				break;		/* served */
			if (pick == NULL && json_is_object(json_object_get(
			    aim_registry_tool(&in->setup->reg, id), "install")))
				pick = id;
		}
		if (i == json_array_size(chain) && pick != NULL) {
			json_array_foreach(out, k, x)
				if (strcmp(json_string_value(x), pick) == 0)
					break;
			if (k == json_array_size(out))
				json_array_append_new(out, json_string(pick));
		}
		json_decref(chain);
	}
	return out;
}
