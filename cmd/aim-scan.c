/*
 * aim-scan: the environment as finding records (issue 3): registry tools
 * with versions and pins, health checks, duplicate files, misplaced cache
 * directories, and the clean that removes what a scan found.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "aim.h"

#define MAX_RECORD_BYTES	(16 * 1024 * 1024)

static const char *progname = "aim-scan";

/*
 * The global options, then the commands and their own options (struct
 * aim_subcmd, cli.c), for the convention of aim(7) COMMAND LINES:
 * global options before the command (or after it), a command's own
 * options after it.
 */
#define GLOBAL_SHORTS	"Hc:hr:V"
static const struct option global_longs[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ "human", no_argument, NULL, 'H' },
	{ "registry", required_argument, NULL, 'r' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};
static const char global_help[] =
    "  -c, --config=FILE     read the configuration from FILE\n"
    "  -H, --human           a summary for people on stderr\n"
    "  -h, --help            print this help and exit\n"
    "  -r, --registry=DIR    use the registry in DIR\n"
    "  -V, --version         print the version and exit\n";
static const struct option health_longs[] = {
	{ "warn-ok", no_argument, NULL, 'W' },
	{ NULL, 0, NULL, 0 }
};
static const struct option dups_longs[] = {
	{ "ext", required_argument, NULL, 'e' },
	{ "min-size", required_argument, NULL, 'm' },
	{ "no-hash", no_argument, NULL, 'B' },
	{ NULL, 0, NULL, 0 }
};
static const struct option clean_longs[] = {
	{ "build", no_argument, NULL, 'b' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "yes", no_argument, NULL, 'y' },
	{ NULL, 0, NULL, 0 }
};
static const struct option no_longs[] = {
	{ NULL, 0, NULL, 0 }
};
static const struct aim_subcmd subcmds[] = {
	{ "tools", "", no_longs,
	    "[-H] [-c config] [-r registry] [tools]", "" },
	{ "health", "W", health_longs,
	    "[-H] [-c config] [-r registry] health [-W]",
	    "  -W, --warn-ok         health: exit 0 when degraded too\n" },
	{ "dups", "e:m:", dups_longs,
	    "[-H] [-c config] dups [--no-hash] [-e ext] [-m bytes] "
	    "[root ...]",
	    "  -e, --ext=EXT         dups: only files ending in .EXT "
	    "(repeat for several)\n"
	    "  -m, --min-size=BYTES  dups: skip smaller files "
	    "(K, M, G: powers of 1024)\n"
	    "      --no-hash         dups: compare bytes only, hash nothing\n" },
	{ "caches", "", no_longs,
	    "[-H] [-c config] caches [root ...]", "" },
	{ "clean", "bny", clean_longs,
	    "[-H] clean [-bny] [file ...]",
	    "  -b, --build           clean: remove build outputs "
	    "(dist, build, .venv) too\n"
	    "  -n, --dry-run         clean: check everything, remove nothing\n"
	    "  -y, --yes             clean: remove without asking\n" },
	{ NULL, NULL, NULL, NULL, NULL }
};

/* The SYNOPSIS; with status 0 (--help) every option too. */
static void __attribute__((noreturn))
usage(int status)
{
	FILE *f = status ? stderr : stdout;
	int i;

	for (i = 0; subcmds[i].name != NULL; i++)
		fprintf(f, "%s %s %s\n", i == 0 ? "usage:" : "      ",
		    progname, subcmds[i].synopsis);
	if (status == 0) {
		fprintf(f, "\noptions:\n%s", global_help);
		for (i = 0; subcmds[i].name != NULL; i++)
			fputs(subcmds[i].help, f);
		fprintf(f, "\nSee %s(1).\n", progname);
	}
	exit(status);
}

/* PROG COMMAND --help: its synopsis, its options, the global ones. */
static void __attribute__((noreturn))
sub_usage(const struct aim_subcmd *sub)
{
	aim_subcmd_help(progname, "", sub, global_help);
}

static const struct aim_subcmd *
sub_find(const char *name)
{
	return aim_subcmd_find(subcmds, name);
}

/* A usage error from getopt_long (aim_subcmd_bad_option); exit 2. */
static void __attribute__((noreturn))
bad_option(const struct aim_subcmd *cur, char *argv[], int ch)
{
	aim_subcmd_bad_option(progname, subcmds, cur, argv, ch);
	usage(AIM_EXIT_USAGE);
}

struct scan {
	struct aim_options opt;
	struct aim_setup ctx;
	json_t	*exts;
	int64_t	 min_size;	/* -1: from the config */
	int	 human, warn_ok, dry_run, yes, no_hash;
	int	 build;		/* clean: build outputs too */
	int	 progress;	/* stderr is a terminal */
	int64_t	 last_tick_ms;
	int	 status;
	size_t	 emitted;	/* records written, for the audit event */
	json_t	*health;	/* health's summary, for the audit event */
};

static void
emit(struct scan *sc, json_t *rec)
{
	sc->emitted++;
	if (aim_emit(stdout, rec) == -1)
		aim_exit_raise(&sc->status, AIM_EXIT_IO);
}

/* "1.5 MiB" */
static const char *
human_bytes(int64_t n, char *buf, size_t len)
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
on_warn(const char *path, const char *message, void *arg)
{
	struct scan *sc = arg;

	if (sc->progress)
		fputs("\r\033[K", stderr);
	warnx("%s: %s", path, message);
}

static void
on_tick(struct aim_walk *w, const char *phase, size_t done, size_t total)
{
	struct scan *sc = w->arg;
	int64_t now = aim_now_ms();

	if (!sc->progress || now - sc->last_tick_ms < 200)
		return;
	sc->last_tick_ms = now;
	if (total > 0)
		fprintf(stderr, "\r\033[K%s: %s: %zu of %zu size groups",
		    progname, phase, done, total);
	else
		fprintf(stderr, "\r\033[K%s: %s: %zu files", progname, phase,
		    done);
}

static void
end_progress(struct scan *sc)
{
	if (sc->progress && sc->last_tick_ms != 0)
		fputs("\r\033[K", stderr);
}

/* Print the loading problems (config, registry) once; 1 when there were some. */
static int
load_problems(struct scan *sc, int config_only)
{
	struct aim_problems p = sc->ctx.probs;

	p.n = config_only ? sc->ctx.nconfig : sc->ctx.nload;
	aim_problems_print(&p);
	return p.n > 0;
}

/* ---- tools ---- */

static void
human_tool(json_t *t)
{
	const char *pin = json_string_value(json_object_get(t, "pin"));
	const char *ver = json_string_value(json_object_get(t, "version"));
	const char *path = json_string_value(json_object_get(t, "path"));
	json_t *x;
	size_t i;

	fprintf(stderr, "%-16s %-13s %-10s", json_string_value(
	    json_object_get(t, "tool_id")), json_string_value(
	    json_object_get(t, "status")), ver ? ver : "-");
	if (pin != NULL)
		fprintf(stderr, " pin %s: %s", pin, json_string_value(
		    json_object_get(t, "pin_status")));
	fprintf(stderr, " %s\n", path ? path : "");
	json_array_foreach(json_object_get(t, "shadowed"), i, x)
		fprintf(stderr, "%16s shadows %s\n", "", json_string_value(x));
}

static void
print_tool_warnings(struct scan *sc, json_t *tools)
{
	json_t *t, *w;
	size_t i, j;

	json_array_foreach(tools, i, t)
		json_array_foreach(json_object_get(t, "warnings"), j, w)
			warnx("%s: tool '%s': %s", sc->ctx.reg.registry_file,
			    json_string_value(json_object_get(t, "tool_id")),
			    json_string_value(w));
}

static void
cmd_tools(struct scan *sc)
{
	json_t *tools, *t;
	const char *st;
	size_t i, ready = 0, off = 0;

	if (load_problems(sc, 0))
		aim_exit_raise(&sc->status, AIM_EXIT_CONFIG);
	if (sc->ctx.registry_dir == NULL)
		warnx("%s", sc->ctx.not_found);
	if (!sc->ctx.registry_ok) {
		aim_exit_raise(&sc->status, AIM_EXIT_CONFIG);
		return;
	}
	tools = aim_scan_tools(&sc->ctx);
	print_tool_warnings(sc, tools);
	json_array_foreach(tools, i, t) {
		emit(sc, t);
		st = json_string_value(json_object_get(t, "pin_status"));
		if (strcmp(st, "ok") != 0 && strcmp(st, "unpinned") != 0) {
			off++;
			aim_exit_raise(&sc->status, AIM_EXIT_FAILED);
		}
		if (strcmp(json_string_value(json_object_get(t, "status")),
		    "ready") == 0)
			ready++;
		if (sc->human)
			human_tool(t);
	}
	if (sc->human)
		fprintf(stderr, "%zu of %zu tools ready, %zu off their pins\n",
		    ready, json_array_size(tools), off);
	json_decref(tools);
}

/* ---- health ---- */

static void
cmd_health(struct scan *sc)
{
	json_t *tools, *checks, *sum, *c;
	const char *overall;
	size_t i;

	tools = aim_scan_tools(&sc->ctx);
	checks = aim_health_checks(&sc->ctx, tools);
	sum = aim_health_summary(checks);
	json_array_foreach(checks, i, c) {
		emit(sc, c);
		if (sc->human)
			fprintf(stderr, "[%s] %-17s %s\n", json_string_value(
			    json_object_get(c, "status")), json_string_value(
			    json_object_get(c, "name")), json_string_value(
			    json_object_get(c, "message")));
	}
	emit(sc, sum);
	overall = json_string_value(json_object_get(sum, "overall_status"));
	if (sc->human)
		fprintf(stderr, "overall: %s (%lld pass, %lld warn, %lld "
		    "fail)\n", overall,
		    (long long)json_integer_value(json_object_get(
		    json_object_get(sum, "summary"), "pass")),
		    (long long)json_integer_value(json_object_get(
		    json_object_get(sum, "summary"), "warn")),
		    (long long)json_integer_value(json_object_get(
		    json_object_get(sum, "summary"), "fail")));
	if (strcmp(overall, "healthy") != 0 &&
	    !(sc->warn_ok && strcmp(overall, "degraded") == 0))
		aim_exit_raise(&sc->status, AIM_EXIT_FAILED);
	sc->health = sum;
	json_decref(checks);
	json_decref(tools);
}

/* ---- dups and caches ---- */

/* Operands, else the config's scan_roots, else the working directory. */
static char **
roots(struct scan *sc, int argc, char **argv, size_t *n)
{
	char **r;
	size_t i;
	json_t *x;

	if (argc > 0) {
		r = aim_xmalloc(argc * sizeof(*r));
		for (i = 0; i < (size_t)argc; i++)
			r[i] = aim_xstrdup(argv[i]);
		*n = argc;
		return r;
	}
	*n = json_array_size(sc->ctx.cfg.scan_roots);
	if (*n == 0) {
		r = aim_xmalloc(sizeof(*r));
		r[0] = aim_xstrdup(".");
		*n = 1;
		return r;
	}
	r = aim_xmalloc(*n * sizeof(*r));
	json_array_foreach(sc->ctx.cfg.scan_roots, i, x)
		r[i] = aim_expand(json_string_value(x), sc->ctx.registry_dir);
	return r;
}

static void
free_roots(char **r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(r[i]);
	free(r);
}

static void
cmd_dups(struct scan *sc, int argc, char **argv)
{
	struct aim_walk w;
	json_t *groups, *g;
	char **r, b1[32];
	size_t n, i, nfiles = 0;
	int64_t wasted = 0;

	if (load_problems(sc, 1))
		aim_exit_raise(&sc->status, AIM_EXIT_CONFIG);
	r = roots(sc, argc, argv, &n);
	memset(&w, 0, sizeof(w));
	w.warn = on_warn;
	w.tick = on_tick;
	w.arg = sc;
	groups = aim_dups_find((const char *const *)r, n, sc->min_size >= 0 ?
	    sc->min_size : sc->ctx.cfg.scan_min_size_bytes, sc->exts,
	    sc->no_hash ? AIM_DUPS_NO_HASH : 0, &w);
	end_progress(sc);
	json_array_foreach(groups, i, g) {
		emit(sc, g);
		wasted += json_integer_value(json_object_get(g, "wasted_bytes"));
		nfiles += json_array_size(json_object_get(g, "files"));
	}
	if (json_array_size(groups) > 0)
		aim_exit_raise(&sc->status, AIM_EXIT_FAILED);
	if (w.nwarn > 0)
		aim_exit_raise(&sc->status, AIM_EXIT_IO);
	if (sc->human) {
		json_array_foreach(groups, i, g) {
			if (i == 10)
				break;
			fprintf(stderr, "%10s wasted  %zu x %s\n",
			    human_bytes(json_integer_value(json_object_get(g,
			    "wasted_bytes")), b1, sizeof(b1)),
			    json_array_size(json_object_get(g, "files")),
			    json_string_value(json_array_get(json_object_get(
			    g, "files"), 0)));
		}
		fprintf(stderr, "%zu duplicate groups, %zu files, %s wasted; "
		    "%zu entries walked, %zu warnings\n",
		    json_array_size(groups), nfiles, human_bytes(wasted, b1,
		    sizeof(b1)), w.nfiles, w.nwarn);
	}
	json_decref(groups);
	free_roots(r, n);
}

/* The central cache: config, else $XDG_CACHE_HOME, else ~/.cache. */
static char *
central_cache(struct scan *sc)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char buf[4096];

	if (sc->ctx.cfg.central_cache != NULL)
		return aim_xstrdup(sc->ctx.cfg.central_cache);
	if (x != NULL && *x == '/')
		return aim_xstrdup(x);
	if (home == NULL || *home == '\0')
		return NULL;
	snprintf(buf, sizeof(buf), "%s/.cache", home);
	return aim_xstrdup(buf);
}

static void
cmd_caches(struct scan *sc, int argc, char **argv)
{
	struct aim_walk w;
	json_t *found, *c;
	char **r, *central, b1[32];
	size_t n, i;
	int64_t total = 0;

	if (load_problems(sc, 1))
		aim_exit_raise(&sc->status, AIM_EXIT_CONFIG);
	r = roots(sc, argc, argv, &n);
	central = central_cache(sc);
	memset(&w, 0, sizeof(w));
	w.warn = on_warn;
	w.arg = sc;
	found = aim_scan_caches((const char *const *)r, n,
	    sc->ctx.cfg.cache_patterns, central, &w);
	json_array_foreach(found, i, c) {
		emit(sc, c);
		total += json_integer_value(json_object_get(c, "size_bytes"));
		if (sc->human)
			fprintf(stderr, "%10s %6lld files  %s\n",
			    human_bytes(json_integer_value(json_object_get(c,
			    "size_bytes")), b1, sizeof(b1)),
			    (long long)json_integer_value(json_object_get(c,
			    "files")), json_string_value(json_object_get(c,
			    "path")));
	}
	if (sc->human)
		fprintf(stderr, "%zu cache directories outside %s, %s\n",
		    json_array_size(found), central ? central : "(none)",
		    human_bytes(total, b1, sizeof(b1)));
	if (json_array_size(found) > 0)
		aim_exit_raise(&sc->status, AIM_EXIT_FAILED);
	if (w.nwarn > 0)
		aim_exit_raise(&sc->status, AIM_EXIT_IO);
	json_decref(found);
	free(central);
	free_roots(r, n);
}

/* ---- clean ---- */

/* One thing to remove, from the records read. */
struct item {
	long	 line;
	const char *source;
	int	 is_cache;
	json_t	*rec;		/* the finding */
};

struct plan {
	struct item *v;
	size_t	 n, cap;
	size_t	 paths;
	int64_t	 bytes;
};

static json_t *
result(const char *action, const char *kind, const char *path, int64_t bytes,
    const char *reason)
{
	json_t *r = json_pack("{s:s, s:s, s:s, s:s?, s:I}", "finding", "clean",
	    "action", action, "kind", kind, "path", path, "bytes",
	    (json_int_t)bytes);

	if (reason != NULL)
		json_object_set_new(r, "reason", aim_json_text(reason,
		    strlen(reason), 4096, 0));
	return r;
}

/* A bad line or record: refused, said on stderr. */
static void
refuse_line(struct scan *sc, const char *source, long line, const char *why)
{
	char buf[4200];
	json_t *r;

	warnx("%s:%ld: %s", source, line, why);
	snprintf(buf, sizeof(buf), "%s:%ld: %s", source, line, why);
	r = result("refused", "unknown", NULL, 0, buf);
	json_object_set_new(r, "line", json_integer(line));
	emit(sc, r);
	json_decref(r);
	aim_exit_raise(&sc->status, AIM_EXIT_FAILED);
}

/* Is rec a cache or duplicate finding we can act on?  NULL, or why not. */
static const char *
cleanable(json_t *rec, int *is_cache)
{
	const char *f = json_string_value(json_object_get(rec, "finding"));
	json_t *files, *x;
	size_t i;

	if (f == NULL)
		return "not a finding record (no \"finding\")";
	if (strcmp(f, "cache") == 0) {
		*is_cache = 1;
		if (!json_is_string(json_object_get(rec, "path")) ||
		    !json_is_string(json_object_get(rec, "pattern")))
			return "cache finding without \"path\" and \"pattern\"";
		if (*json_string_value(json_object_get(rec, "pattern")) ==
		    '\0')
			return "cache finding with an empty \"pattern\"";
		x = json_object_get(rec, "class");
		if (x != NULL && (!json_is_string(x) ||
		    (strcmp(json_string_value(x), "cache") != 0 &&
		    strcmp(json_string_value(x), "build") != 0)))
			return "cache finding whose \"class\" is neither "
			    "\"cache\" nor \"build\"";
		return NULL;
	}
	if (strcmp(f, "duplicate") == 0) {
		*is_cache = 0;
		files = json_object_get(rec, "files");
		if (!json_is_array(files) || json_array_size(files) < 2)
			return "duplicate finding without two \"files\"";
		json_array_foreach(files, i, x)
			if (!json_is_string(x))
				return "duplicate finding with a file name "
				    "that is not a string";
		x = json_object_get(rec, "hash");
		if (!json_is_null(x) && (!json_is_string(x) ||
		    json_string_length(x) != 2 * AIM_HASH_BYTES))
			return "duplicate finding whose \"hash\" is neither "
			    "a BLAKE2b-256 nor null";
		if (!json_is_integer(json_object_get(rec, "size_bytes")))
			return "duplicate finding without \"size_bytes\"";
		return NULL;
	}
	return "nothing to clean in this finding (only cache and "
	    "duplicate findings)";
}

/*
 * The directory name under at, never through a symbolic link, with its
 * descriptor in *fd; NULL with errno.
 */
static DIR *
opendir_at(int at, const char *name, int *fd)
{
	DIR *dir;

	if ((*fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return NULL;
	if ((dir = fdopendir(*fd)) == NULL)
		close(*fd);
	return dir;
}

/*
 * Does the directory name in dirfd hold a version-control directory, at any
 * depth?  1 with its path in buf (which holds name's path on entry), 0, or
 * -1 (errno) with the directory that could not be read in buf: a tree that
 * can't be looked into is not known to be safe.  Symlinks are not followed.
 */
static int
holds_vcs(int dirfd, const char *name, char *buf, size_t len)
{
	struct dirent *d;
	struct stat st;
	size_t n = strlen(buf);
	DIR *dir;
	int fd, found = 0, saved;

	if ((dir = opendir_at(dirfd, name, &fd)) == NULL)
		return -1;
	while (!found && (d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		snprintf(buf + n, len - n, "/%s", d->d_name);
		if (aim_path_vcs(d->d_name) != NULL)
			found = 1;
		else if (fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode))
			found = holds_vcs(fd, d->d_name, buf, len);
	}
	saved = errno;
	closedir(dir);
	errno = saved;
	if (found == 0)
		buf[n] = '\0';
	return found;
}

/*
 * Nothing inside a version-control directory is ever removed, whatever the
 * record says (aim-scan(1) "clean"): path must not be in one, as written or
 * with the symlinks of its directory resolved, and a directory must not
 * hold one.  0, or 1 with why.
 */
static int
vcs_guard(const char *path, char *why, size_t len)
{
	char *parent, *real, *slash, found[4096];
	const char *v;
	struct stat st;

	if ((v = aim_path_vcs(path)) != NULL) {
		snprintf(why, len, "inside a version-control directory (%s): "
		    "never removed", v);
		return 1;
	}
	parent = aim_xstrdup(path);
	while ((slash = strrchr(parent, '/')) != NULL && slash[1] == '\0' &&
	    slash != parent)
		*slash = '\0';
	if ((slash = strrchr(parent, '/')) == NULL)
		strcpy(parent, ".");
	else
		slash[slash == parent] = '\0';
	real = realpath(parent, NULL);
	free(parent);
	if (real != NULL && (v = aim_path_vcs(real)) != NULL) {
		snprintf(why, len, "inside a version-control directory (%s, "
		    "in %s): never removed", v, real);
		free(real);
		return 1;
	}
	free(real);
	snprintf(found, sizeof(found), "%s", path);
	if (lstat(path, &st) == -1 || !S_ISDIR(st.st_mode))
		return 0;
	switch (holds_vcs(AT_FDCWD, path, found, sizeof(found))) {
	case 1:
		snprintf(why, len, "holds a version-control directory, %s: "
		    "never removed", found);
		return 1;
	case -1:
		snprintf(why, len, "can't look for a version-control directory "
		    "in %s: %s", found, strerror(errno));
		return 1;
	}
	return 0;
}

/* Is a cache finding a build output (its class or its pattern says so)? */
static int
is_build(json_t *rec)
{
	const char *c = json_string_value(json_object_get(rec, "class"));

	return (c != NULL && strcmp(c, "build") == 0) ||
	    strcmp(aim_cache_class(json_string_value(json_object_get(rec,
	    "pattern"))), "build") == 0;
}

/*
 * What clean does with a cache finding: 0 remove, 1 refuse, 2 skip (a
 * build output without --build); why says it for 1 and 2.
 */
static int
cache_verdict(struct scan *sc, json_t *rec, char *why, size_t len)
{
	const char *path = json_string_value(json_object_get(rec, "path"));
	const char *pat = json_string_value(json_object_get(rec, "pattern"));
	struct stat st;

	why[0] = '\0';
	if (vcs_guard(path, why, len))
		return 1;
	if (is_build(rec) && !sc->build) {
		snprintf(why, len, "a build output: removed only with --build");
		return 2;
	}
	if (!aim_path_tail_matches(path, pat))
		snprintf(why, len, "path does not end in its pattern %s", pat);
	else if (lstat(path, &st) == -1)
		snprintf(why, len, "%s", strerror(errno));
	else if (S_ISLNK(st.st_mode))
		snprintf(why, len, "is a symbolic link now");
	else if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		snprintf(why, len, "not a directory or file");
	return why[0] != '\0';
}

/* What will be removed of a planned record: for the confirmation. */
static void
plan_count(struct scan *sc, struct plan *pl, json_t *rec, int is_cache)
{
	json_t *files = json_object_get(rec, "files");
	char why[4200];
	size_t i;

	if (is_cache) {
		if (cache_verdict(sc, rec, why, sizeof(why)) == 0) {
			pl->paths++;
			pl->bytes += json_integer_value(
			    json_object_get(rec, "size_bytes"));
		}
	} else
		for (i = 1; i < json_array_size(files); i++)
			if (!vcs_guard(json_string_value(json_array_get(files,
			    i)), why, sizeof(why))) {
				pl->paths++;
				pl->bytes += json_integer_value(
				    json_object_get(rec, "size_bytes"));
			}
}

struct plan_reader {
	struct scan *sc;
	struct plan *pl;
};

/* aim_each_line's callback: one finding into the plan, or refused. */
static int
plan_line(void *arg, const struct aim_line *line, const char *source)
{
	struct plan_reader *pr = arg;
	struct plan *pl = pr->pl;
	const char *why;
	json_error_t e;
	json_t *rec;
	char buf[300];
	int is_cache = 0;

	if (line->too_long) {
		refuse_line(pr->sc, source, line->lineno, "record is too long");
		return 0;
	}
	rec = json_loadb(line->text, line->len, JSON_REJECT_DUPLICATES, &e);
	if (rec == NULL) {
		snprintf(buf, sizeof(buf), "invalid JSON at column %d: %s",
		    e.column, e.text);
		refuse_line(pr->sc, source, line->lineno, buf);
		return 0;
	}
	why = json_is_object(rec) ? cleanable(rec, &is_cache) :
	    "a record must be a JSON object";
	if (why != NULL) {
		refuse_line(pr->sc, source, line->lineno, why);
		json_decref(rec);
		return 0;
	}
	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? pl->cap * 2 : 16;
		pl->v = aim_xrealloc(pl->v, pl->cap * sizeof(*pl->v));
	}
	pl->v[pl->n].line = line->lineno;
	pl->v[pl->n].source = source;
	pl->v[pl->n].is_cache = is_cache;
	pl->v[pl->n].rec = rec;
	pl->n++;
	plan_count(pr->sc, pl, rec, is_cache);
	return 0;
}

/*
 * Ask on the terminal, after listing every path that would go with its
 * size.  1 yes, 0 no, -1 no terminal.
 */
static int
confirm(struct scan *sc, const struct plan *pl)
{
	char b1[32], answer[16], why[4200];
	const struct item *it;
	const char *p;
	json_t *files;
	FILE *tty;
	size_t i, j;
	int yes;

	if ((tty = fopen("/dev/tty", "r+")) == NULL)
		return -1;
	fprintf(tty, "%s: would remove:\n", progname);
	for (i = 0; i < pl->n; i++) {
		it = &pl->v[i];
		if (it->is_cache) {
			if (cache_verdict(sc, it->rec, why, sizeof(why)) == 0)
				fprintf(tty, "%12s  %s\n", human_bytes(
				    json_integer_value(json_object_get(it->rec,
				    "size_bytes")), b1, sizeof(b1)),
				    json_string_value(json_object_get(it->rec,
				    "path")));
			continue;
		}
		files = json_object_get(it->rec, "files");
		for (j = 1; j < json_array_size(files); j++) {
			p = json_string_value(json_array_get(files, j));
			if (!vcs_guard(p, why, sizeof(why)))
				fprintf(tty, "%12s  %s (a copy of %s)\n",
				    human_bytes(json_integer_value(
				    json_object_get(it->rec, "size_bytes")), b1,
				    sizeof(b1)), p, json_string_value(
				    json_array_get(files, 0)));
		}
	}
	fprintf(tty, "%s: remove %zu paths (%s)? [y/N] ", progname,
	    pl->paths, human_bytes(pl->bytes, b1, sizeof(b1)));
	fflush(tty);
	yes = fgets(answer, sizeof(answer), tty) != NULL &&
	    (answer[0] == 'y' || answer[0] == 'Y');
	fclose(tty);
	return yes;
}

/* rm -r of name in dirfd without following a symlink.  0 or -1 (errno). */
static int
remove_tree(int dirfd, const char *name)
{
	struct dirent *d;
	struct stat st;
	DIR *dir;
	int fd, rc = 0, saved = 0;

	if ((dir = opendir_at(dirfd, name, &fd)) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (S_ISDIR(st.st_mode) ? remove_tree(fd, d->d_name) :
		    unlinkat(fd, d->d_name, 0)) {
			if (!saved)
				saved = errno;
			rc = -1;
		}
	}
	closedir(dir);
	if (rc == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) == -1)
		return -1;
	errno = saved;
	return rc;
}

static void
clean_cache(struct scan *sc, struct item *it)
{
	const char *path = json_string_value(json_object_get(it->rec, "path"));
	int64_t bytes = json_integer_value(json_object_get(it->rec,
	    "size_bytes"));
	char why[4200], b1[32];
	struct stat st;
	json_t *r;
	int rc, verdict;

	verdict = cache_verdict(sc, it->rec, why, sizeof(why));
	if (verdict == 1) {
		warnx("%s:%ld: %s: refused: %s", it->source, it->line, path,
		    why);
		r = result("refused", "cache", path, 0, why);
		aim_exit_raise(&sc->status, AIM_EXIT_FAILED);
	} else if (verdict == 2) {
		warnx("%s:%ld: %s: skipped: %s", it->source, it->line, path,
		    why);
		r = result("skipped", "cache", path, 0, why);
	} else if (sc->dry_run) {
		r = result("would_remove", "cache", path, bytes, NULL);
	} else {
		rc = lstat(path, &st) == 0 && S_ISDIR(st.st_mode) ?
		    remove_tree(AT_FDCWD, path) : unlink(path);
		if (rc == -1) {
			snprintf(why, sizeof(why), "%s", strerror(errno));
			warnx("%s: can't remove: %s", path, why);
			r = result("failed", "cache", path, 0, why);
			aim_exit_raise(&sc->status, AIM_EXIT_IO);
		} else {
			warnx("removed %s (%s)", path, human_bytes(bytes, b1,
			    sizeof(b1)));
			r = result("removed", "cache", path, bytes, NULL);
		}
	}
	emit(sc, r);
	json_decref(r);
}

/*
 * Open path and check it still holds the content of the group: a regular
 * file (not through a final symlink) of size bytes whose BLAKE2b-256 is
 * hash (NULL: not checked).  Returns the fd and *st, or -1 with *why.
 */
static int
verify(const char *path, int64_t size, const char *hash, struct stat *st,
    char *why, size_t whylen)
{
	unsigned char h[AIM_HASH_BYTES];
	char hex[2 * AIM_HASH_BYTES + 1];
	int64_t len;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)) ==
	    -1) {
		snprintf(why, whylen, "%s", errno == ELOOP ?
		    "is a symbolic link now" : strerror(errno));
		return -1;
	}
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		snprintf(why, whylen, "not a regular file");
		close(fd);
		return -1;
	}
	if (st->st_size != size) {
		snprintf(why, whylen, "changed: %lld bytes, not %lld",
		    (long long)st->st_size, (long long)size);
		close(fd);
		return -1;
	}
	if (hash == NULL)
		return fd;
	if (aim_hash_fd(fd, h, &len) == -1) {
		snprintf(why, whylen, "read error: %s", strerror(errno));
		close(fd);
		return -1;
	}
	aim_hex(h, AIM_HASH_BYTES, hex);
	if (len != size || strcmp(hex, hash) != 0) {
		snprintf(why, whylen, "changed: content no longer matches the "
		    "group's hash");
		close(fd);
		return -1;
	}
	return fd;
}

/* Are the files open on a and b byte for byte the same?  1, 0, -1 (errno). */
static int
same_content(int a, int b, int64_t size)
{
	static unsigned char ba[65536], bb[65536];
	int64_t off;
	ssize_t ra, rb;
	size_t n;

	for (off = 0; off < size; off += n) {
		n = size - off < (int64_t)sizeof(ba) ? (size_t)(size - off) :
		    sizeof(ba);
		ra = pread(a, ba, n, off);
		rb = pread(b, bb, n, off);
		if (ra == -1 || rb == -1)
			return -1;
		if (ra != (ssize_t)n || rb != (ssize_t)n)
			return 0;
		if (memcmp(ba, bb, n) != 0)
			return 0;
	}
	return 1;
}

static void
clean_dups(struct scan *sc, struct item *it)
{
	json_t *files = json_object_get(it->rec, "files"), *r, *x;
	const char *hash = json_string_value(json_object_get(it->rec, "hash"));
	const char *keep = json_string_value(json_array_get(files, 0)), *path;
	int64_t size = json_integer_value(json_object_get(it->rec,
	    "size_bytes"));
	struct stat kst, st, now;
	char why[4200], b1[32];
	int kfd, fd, rc;
	size_t i;

	/* The kept copy first: never remove what might be the last one. */
	if ((kfd = verify(keep, size, hash, &kst, why, sizeof(why))) == -1) {
		warnx("%s:%ld: kept copy %s: %s: nothing removed from its group",
		    it->source, it->line, keep, why);
		json_array_foreach(files, i, x) {
			char msg[4400];

			if (i == 0)
				continue;
			snprintf(msg, sizeof(msg), "kept copy %s: %s", keep,
			    why);
			r = result("refused", "duplicate", json_string_value(x),
			    0, msg);
			json_object_set_new(r, "kept", json_string(keep));
			emit(sc, r);
			json_decref(r);
		}
		aim_exit_raise(&sc->status, AIM_EXIT_FAILED);
		return;
	}
	json_array_foreach(files, i, x) {
		if (i == 0)
			continue;
		path = json_string_value(x);
		why[0] = '\0';
		/* Byte for byte against the kept copy: no hash to trust. */
		if (vcs_guard(path, why, sizeof(why)))
			fd = -1;
		else
			fd = verify(path, size, NULL, &st, why, sizeof(why));
		if (fd != -1 && st.st_dev == kst.st_dev &&
		    st.st_ino == kst.st_ino)
			snprintf(why, sizeof(why), "same file as the kept "
			    "copy (a hard link or the same path)");
		else if (fd != -1 && (rc = same_content(kfd, fd, size)) != 1)
			snprintf(why, sizeof(why), "%s", rc == 0 ? "changed: "
			    "content differs from the kept copy" :
			    strerror(errno));
		if (fd != -1 && why[0] == '\0' && !sc->dry_run) {
			/* The name must still be the file we checked. */
			if (lstat(path, &now) == -1 || now.st_dev !=
			    st.st_dev || now.st_ino != st.st_ino)
				snprintf(why, sizeof(why), "replaced while "
				    "being checked");
			else if (unlink(path) == -1) {
				snprintf(why, sizeof(why), "%s",
				    strerror(errno));
				warnx("%s: can't remove: %s", path, why);
				r = result("failed", "duplicate", path, 0, why);
				json_object_set_new(r, "kept",
				    json_string(keep));
				emit(sc, r);
				json_decref(r);
				aim_exit_raise(&sc->status, AIM_EXIT_IO);
				close(fd);
				continue;
			}
			warnx("removed %s (%s)", path, human_bytes(size, b1,
			    sizeof(b1)));
		}
		if (fd != -1)
			close(fd);
		if (why[0] != '\0') {
			warnx("%s:%ld: %s: refused: %s", it->source, it->line,
			    path, why);
			r = result("refused", "duplicate", path, 0, why);
			aim_exit_raise(&sc->status, AIM_EXIT_FAILED);
		} else
			r = result(sc->dry_run ? "would_remove" : "removed",
			    "duplicate", path, size, NULL);
		json_object_set_new(r, "kept", json_string(keep));
		emit(sc, r);
		json_decref(r);
	}
	close(kfd);
}

static void
cmd_clean(struct scan *sc, int argc, char **argv)
{
	struct plan_reader pr;
	struct plan pl;
	size_t i;
	char b1[32];
	int ok;

	memset(&pl, 0, sizeof(pl));
	pr.sc = sc;
	pr.pl = &pl;
	if (aim_each_line(argv, argc, MAX_RECORD_BYTES, plan_line, &pr) == -1)
		aim_exit_raise(&sc->status, AIM_EXIT_IO);
	if (pl.paths > 0 && !sc->dry_run && !sc->yes) {
		if ((ok = confirm(sc, &pl)) == -1) {
			warnx("refusing to remove anything without --yes: no "
			    "terminal to confirm on");
			aim_exit_raise(&sc->status, AIM_EXIT_USAGE);
			goto out;
		}
		if (!ok) {
			warnx("nothing removed");
			aim_exit_raise(&sc->status, AIM_EXIT_FAILED);
			goto out;
		}
	}
	for (i = 0; i < pl.n; i++) {
		if (pl.v[i].is_cache)
			clean_cache(sc, &pl.v[i]);
		else
			clean_dups(sc, &pl.v[i]);
	}
	if (sc->human)
		fprintf(stderr, "%s %zu paths, %s\n", sc->dry_run ?
		    "would remove" : "asked to remove", pl.paths,
		    human_bytes(pl.bytes, b1, sizeof(b1)));
out:
	for (i = 0; i < pl.n; i++)
		json_decref(pl.v[i].rec);
	free(pl.v);
}

/* "100K", "1M", "1G" or plain bytes; -1 when it does not parse. */
static int64_t
parse_size(const char *s)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s || n < 0)
		return -1;
	switch (*end) {
	case '\0': return n;
	case 'k': case 'K': n *= 1024; end++; break;
	case 'm': case 'M': n *= 1024 * 1024; end++; break;
	case 'g': case 'G': n *= 1024LL * 1024 * 1024; end++; break;
	default: return -1;
	}
	return *end == '\0' ? n : -1;
}

/*
 * The management event of this run (issue 5 "Event log"): health_check
 * with the summary, or scan_execute with the command, its operands, the
 * records written and the exit status; into the audit trail of this setup
 * when there is one.  A failure to log is a warning only.
 */
static void
log_event(struct scan *sc, const char *sub, int argc, char **argv)
{
	json_t *d, *args = json_array();
	char *why = NULL;
	int i;

	for (i = 0; i < argc; i++)
		json_array_append_new(args, json_string(argv[i]));
	d = json_pack("{s:s, s:o, s:I, s:i}", "command", sub, "operands",
	    args, "records", (json_int_t)sc->emitted, "exit_status",
	    sc->status);
	if (sc->health != NULL) {
		json_object_set(d, "overall_status",
		    json_object_get(sc->health, "overall_status"));
		json_object_set(d, "summary", json_object_get(sc->health,
		    "summary"));
	}
	if (aim_audit_event_here(&sc->opt, sc->health != NULL ?
	    "health_check" : "scan_execute", d, &why) == -1)
		warnx("can't log %s in %s", sc->health != NULL ?
		    "health_check" : "scan_execute", why);
	json_decref(d);
	free(why);
}

/* One option of either pass into sc; 0 when it is not one. */
static int
take(struct scan *sc, int ch)
{
	switch (ch) {
	case 'B':
		sc->no_hash = 1;
		break;
	case 'b':
		sc->build = 1;
		break;
	case 'H':
		sc->human = 1;
		break;
	case 'c':
		sc->opt.config = optarg;
		break;
	case 'e':
		json_array_append_new(sc->exts, json_string(optarg));
		break;
	case 'm':
		if ((sc->min_size = parse_size(optarg)) == -1) {
			warnx("bad size for -m: %s", optarg);
			usage(AIM_EXIT_USAGE);
		}
		break;
	case 'n':
		sc->dry_run = 1;
		break;
	case 'r':
		sc->opt.registry = optarg;
		break;
	case 'V':
		printf("%s %s\n", progname, AIM_VERSION);
		exit(0);
	case 'W':
		sc->warn_ok = 1;
		break;
	case 'y':
		sc->yes = 1;
		break;
	default:
		return 0;
	}
	return 1;
}

int
main(int argc, char *argv[])
{
	struct option longs[16];
	char shorts[32];
	const struct aim_subcmd *cmd = &subcmds[0];	/* tools */
	struct scan sc;
	const char *sub;
	size_t n = 0, i;
	int ch;

	aim_std_fds();
	memset(&sc, 0, sizeof(sc));
	sc.min_size = -1;
	sc.exts = json_array();
	argv[0] = (char *)progname;
	opterr = 0;
	/* The global options, up to the command. */
	while ((ch = getopt_long(argc, argv, "+:" GLOBAL_SHORTS, global_longs,
	    NULL)) != -1) {
		if (ch == 'h')
			usage(0);
		if (!take(&sc, ch))
			bad_option(NULL, argv, ch);
	}
	argc -= optind;
	argv += optind;
	if (argc > 0 && (cmd = sub_find(argv[0])) == NULL) {
		warnx("unknown command '%s'", argv[0]);
		usage(AIM_EXIT_USAGE);
	}
	if (argc == 0) {
		argc = 1;
		argv--;
	}
	sub = cmd->name;
	/* Its own options and the global ones again, anywhere after it. */
	for (i = 0; global_longs[i].name != NULL; i++)
		longs[n++] = global_longs[i];
	for (i = 0; cmd->longs[i].name != NULL; i++)
		longs[n++] = cmd->longs[i];
	memset(&longs[n], 0, sizeof(longs[n]));
	snprintf(shorts, sizeof(shorts), ":%s%s", GLOBAL_SHORTS, cmd->shorts);
	optind = 0;
	while ((ch = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		if (ch == 'h')
			sub_usage(cmd);
		if (!take(&sc, ch))
			bad_option(cmd, argv, ch);
	}
	argc -= optind;
	argv += optind;
	if (isatty(STDOUT_FILENO))
		sc.human = 1;
	sc.progress = isatty(STDERR_FILENO);
	if (sodium_init() == -1)
		errx(AIM_EXIT_IO, "can't initialise libsodium");
	if (aim_proc_setup() == -1)
		err(AIM_EXIT_IO, "can't set up signals");

	if (strcmp(sub, "clean") == 0) {
		cmd_clean(&sc, argc, argv);
		goto out;
	}
	if ((strcmp(sub, "tools") == 0 || strcmp(sub, "health") == 0) &&
	    argc > 0)
		usage(AIM_EXIT_USAGE);
	aim_setup_load(&sc.ctx, &sc.opt, NULL, AIM_SETUP_REGISTRY |
	    AIM_SETUP_CHECK);
	if (strcmp(sub, "tools") == 0)
		cmd_tools(&sc);
	else if (strcmp(sub, "health") == 0)
		cmd_health(&sc);
	else if (strcmp(sub, "dups") == 0)
		cmd_dups(&sc, argc, argv);
	else
		cmd_caches(&sc, argc, argv);
	aim_setup_free(&sc.ctx);
out:
	log_event(&sc, sub, argc, argv);
	json_decref(sc.health);
	json_decref(sc.exts);
	if (aim_close_stdout() == -1)
		aim_exit_raise(&sc.status, AIM_EXIT_IO);
	return sc.status;
}
