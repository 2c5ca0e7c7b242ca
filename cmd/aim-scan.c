/*
 * aim-scan: the environment as finding records (issue 3): registry tools
 * with versions and pins, health checks, duplicate files, misplaced cache
 * directories, and the clean that removes what a scan found (lib/clean.c
 * does the removing; this file reads, confirms and reports).
 */
#include <err.h>
#include <errno.h>
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
	{ "no-cache", no_argument, NULL, 'N' },
	{ "registry", required_argument, NULL, 'r' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};
static const char global_help[] =
    "  -c, --config=FILE     read the configuration from FILE\n"
    "  -H, --human           a summary for people on stderr\n"
    "  -h, --help            print this help and exit\n"
    "      --no-cache        ask every tool its version, not the cache\n"
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
	unsigned scan_flags;	/* AIM_SCAN_NO_CACHE */
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
	tools = aim_scan_tools(&sc->ctx, sc->scan_flags);
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

	tools = aim_scan_tools(&sc->ctx, sc->scan_flags);
	checks = aim_health_checks(&sc->ctx, tools, sc->scan_flags);
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
			    aim_human_bytes(json_integer_value(json_object_get(g,
			    "wasted_bytes")), b1, sizeof(b1)),
			    json_array_size(json_object_get(g, "files")),
			    json_string_value(json_array_get(json_object_get(
			    g, "files"), 0)));
		}
		fprintf(stderr, "%zu duplicate groups, %zu files, %s wasted; "
		    "%zu entries walked, %zu warnings\n",
		    json_array_size(groups), nfiles, aim_human_bytes(wasted, b1,
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
			    aim_human_bytes(json_integer_value(json_object_get(c,
			    "size_bytes")), b1, sizeof(b1)),
			    (long long)json_integer_value(json_object_get(c,
			    "files")), json_string_value(json_object_get(c,
			    "path")));
	}
	if (sc->human)
		fprintf(stderr, "%zu cache directories outside %s, %s\n",
		    json_array_size(found), central ? central : "(none)",
		    aim_human_bytes(total, b1, sizeof(b1)));
	if (json_array_size(found) > 0)
		aim_exit_raise(&sc->status, AIM_EXIT_FAILED);
	if (w.nwarn > 0)
		aim_exit_raise(&sc->status, AIM_EXIT_IO);
	json_decref(found);
	free(central);
	free_roots(r, n);
}

/* ---- clean ---- */

/*
 * Ask on the terminal, after listing every path that would go with its
 * size.  1 yes, 0 no, -1 no terminal.
 */
static int
confirm(const struct aim_clean *c)
{
	char b1[32], answer[16], why[4200];
	const struct aim_clean_item *it;
	const char *p;
	json_t *files;
	FILE *tty;
	size_t i, j;
	int yes;

	if ((tty = fopen("/dev/tty", "r+")) == NULL)
		return -1;
	fprintf(tty, "%s: would remove:\n", progname);
	for (i = 0; i < c->n; i++) {
		it = &c->v[i];
		if (it->is_cache) {
			if (aim_clean_cache_verdict(c, it->rec, why,
			    sizeof(why)) == 0)
				fprintf(tty, "%12s  %s\n", aim_human_bytes(
				    json_integer_value(json_object_get(it->rec,
				    "size_bytes")), b1, sizeof(b1)),
				    json_string_value(json_object_get(it->rec,
				    "path")));
			continue;
		}
		files = json_object_get(it->rec, "files");
		for (j = 1; j < json_array_size(files); j++) {
			p = json_string_value(json_array_get(files, j));
			if (!aim_clean_vcs_guard(p, why, sizeof(why)))
				fprintf(tty, "%12s  %s (a copy of %s)\n",
				    aim_human_bytes(json_integer_value(
				    json_object_get(it->rec, "size_bytes")), b1,
				    sizeof(b1)), p, json_string_value(
				    json_array_get(files, 0)));
		}
	}
	fprintf(tty, "%s: remove %zu paths (%s)? [y/N] ", progname,
	    c->paths, aim_human_bytes(c->bytes, b1, sizeof(b1)));
	fflush(tty);
	yes = fgets(answer, sizeof(answer), tty) != NULL &&
	    (answer[0] == 'y' || answer[0] == 'Y');
	fclose(tty);
	return yes;
}

/* The scan's emit, for the clean's result records. */
static void
emit_clean(void *sc, json_t *rec)
{
	emit(sc, rec);
}

static void
cmd_clean(struct scan *sc, int argc, char **argv)
{
	struct aim_clean c;
	char b1[32];
	int ok;

	memset(&c, 0, sizeof(c));
	c.build = sc->build;
	c.dry_run = sc->dry_run;
	c.emit = emit_clean;
	c.arg = sc;
	if (aim_each_line(argv, argc, MAX_RECORD_BYTES, aim_clean_line, &c) ==
	    -1)
		aim_exit_raise(&sc->status, AIM_EXIT_IO);
	if (c.paths > 0 && !sc->dry_run && !sc->yes) {
		if ((ok = confirm(&c)) == -1) {
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
	aim_clean_run(&c);
	if (sc->human)
		fprintf(stderr, "%s %zu paths, %s\n", sc->dry_run ?
		    "would remove" : "asked to remove", c.paths,
		    aim_human_bytes(c.bytes, b1, sizeof(b1)));
out:
	aim_exit_raise(&sc->status, c.status);
	aim_clean_free(&c);
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
	case 'N':
		sc->scan_flags |= AIM_SCAN_NO_CACHE;
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
	    AIM_SETUP_CHECK | AIM_SETUP_AUDIT_DIR | AIM_SETUP_FALLBACK);
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
