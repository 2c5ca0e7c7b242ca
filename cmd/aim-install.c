/*
 * aim-install: install, upgrade, roll back, uninstall and sync the
 * registry's tools at their pinned versions (issue 14), one record per
 * tool; lib/install.c does the work, this file reads the command line,
 * runs the tools' jobs (-j at once) and reports.
 */
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "aim.h"

#define MAX_JOBS		64
#define RECORD_MAX_BYTES	(1 << 20)

static const char *progname = "aim-install";

static const struct option longs[] = {
	{ "all", no_argument, NULL, 'a' },
	{ "bin-dir", required_argument, NULL, 'b' },
	{ "config", required_argument, NULL, 'c' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "json", no_argument, NULL, 'J' },
	{ "locked", no_argument, NULL, 'L' },
	{ "no-input", no_argument, NULL, 'I' },
	{ "registry", required_argument, NULL, 'r' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

enum what { INSTALL, UPGRADE, UNINSTALL, ROLLBACK, SYNC, BOOTSTRAP };
static const char *const commands[] = { "install", "upgrade", "uninstall",
    "rollback", "sync", "bootstrap", NULL };

struct cli {
	struct aim_options opt;
	struct aim_setup ctx;
	struct aim_install in;
	enum what what;
	const char *bin_dir;
	unsigned flags;
	int	 all, jobs, json, color, status, no_input;
	int	 progress;		/* stderr is a terminal, words out */
	json_t	*installed, *failed;	/* bootstrap's tool ids */
};

static void __attribute__((noreturn))
usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f, "usage: %s install [-anL] [-j jobs] [--bin-dir dir] "
	    "[--json] [-c config] [-r registry] [tool ...]\n"
	    "       %s upgrade [-nL] [-j jobs] [--bin-dir dir] [--json] "
	    "[tool ...]\n"
	    "       %s uninstall [-n] [--bin-dir dir] [--json] tool ...\n"
	    "       %s rollback [-n] [--bin-dir dir] [--json] tool ...\n"
	    "       %s sync [-nL] [-j jobs] [--bin-dir dir] [--json]\n"
	    "       %s bootstrap [-nL] [-j jobs] [--bin-dir dir] [--json] "
	    "[--no-input]\n",
	    progname, progname, progname, progname, progname, progname);
	if (status == 0)
		fprintf(f, "\noptions:\n"
		    "  -a, --all             install: every tool with an "
		    "install object\n"
		    "      --bin-dir=DIR     link the tools' programs in DIR\n"
		    "  -c, --config=FILE     read the configuration from FILE\n"
		    "  -h, --help            print this help and exit\n"
		    "  -j, --jobs=N          N tools at once (default 1)\n"
		    "      --json            JSON Lines even on a terminal\n"
		    "  -L, --locked          install aim.lock's versions "
		    "exactly\n"
		    "  -n, --dry-run         the plan only: change nothing\n"
		    "      --no-input        bootstrap: list missing secrets, "
		    "ask nothing\n"
		    "  -r, --registry=DIR    use the registry in DIR\n"
		    "  -V, --version         print the version and exit\n"
		    "\nSee %s(1).\n", progname);
	exit(status);
}

static void
take(struct cli *c, int ch)
{
	char *end;
	long n;

	switch (ch) {
	case 'a': c->all = 1; break;
	case 'b': c->bin_dir = optarg; break;
	case 'c': c->opt.config = optarg; break;
	case 'h': usage(0);
	case 'j':
		n = strtol(optarg, &end, 10);
		if (*optarg == '\0' || *end != '\0' || n < 1 || n > MAX_JOBS) {
			warnx("-j %s: a number from 1 to %d", optarg,
			    MAX_JOBS);
			usage(AIM_EXIT_USAGE);
		}
		c->jobs = (int)n;
		break;
	case 'I': c->no_input = 1; break;
	case 'J': c->json = 1; break;
	case 'L': c->flags |= AIM_INSTALL_LOCKED; break;
	case 'n': c->flags |= AIM_INSTALL_DRY_RUN; break;
	case 'r': c->opt.registry = optarg; break;
	case 'V':
		printf("%s %s\n", progname, AIM_VERSION);
		exit(0);
	case ':':
		warnx("option %s needs an argument", optarg ? optarg :
		    "");
		usage(AIM_EXIT_USAGE);
	default:
		warnx("unknown option %s", optopt ? (char[]){ '-', optopt,
		    0 } : "");
		usage(AIM_EXIT_USAGE);
	}
}

/* ---- a record out ---- */

/*
 * Actions that fail the run (exit 1); drift only when sync -n reports; a
 * secret still missing after bootstrap.
 */
static int
is_failure(struct cli *c, const char *action)
{
	return strcmp(action, "failed") == 0 || strcmp(action, "kept") == 0 ||
	    strcmp(action, "missing_secret") == 0 ||
	    strcmp(action, "unchecked_secret") == 0 ||
	    (strcmp(action, "drift") == 0 &&
	    (c->flags & AIM_INSTALL_DRY_RUN));
}

/* One record in words: its action, its message, how long it took. */
static void
show(struct cli *c, json_t *rec)
{
	const char *a = json_string_value(json_object_get(rec, "action"));
	const char *m = json_string_value(json_object_get(rec, "message"));
	int64_t ms = json_integer_value(json_object_get(rec, "duration_ms"));
	const char *col = "";
	json_t *w;
	char dur[32];
	size_t i;

	if (c->color)
		col = is_failure(c, a) ? "\033[31m" : strncmp(a, "would", 5)
		    == 0 || strcmp(a, "drift") == 0 ? "\033[33m" :
		    strcmp(a, "unchanged") == 0 || strcmp(a, "in_sync") == 0 ||
		    strcmp(a, "skipped") == 0 ? "" : "\033[32m";
	aim_duration(dur, sizeof(dur), ms);
	printf("%s%-13s%s %s", col, a, *col ? "\033[0m" : "", m ? m : "");
	if (ms >= 100)
		printf(" (%s)", dur);
	putchar('\n');
	json_array_foreach(json_object_get(rec, "warnings"), i, w)
		printf("              warning: %s\n", json_string_value(w));
}

/* Keep what the record changed (lock, audit), then write it out. */
static void
report(struct cli *c, json_t *rec)
{
	const char *a = json_string_value(json_object_get(rec, "action"));
	char *why = NULL;

	if (aim_install_apply(&c->in, rec, &why) == -1)
		warnx("can't log %s of %s in %s", a, json_string_value(
		    json_object_get(rec, "tool_id")), why);
	free(why);
	if (a != NULL && is_failure(c, a))
		aim_exit_raise(&c->status, AIM_EXIT_FAILED);
	if (c->what == BOOTSTRAP && a != NULL && json_object_get(rec,
	    "source") != NULL && (strcmp(a, "failed") == 0 ||
	    strcmp(a, "kept") == 0))
		json_array_append(c->failed, json_object_get(rec, "tool_id"));
	else if (c->what == BOOTSTRAP && a != NULL && (strcmp(a,
	    "installed") == 0 || strcmp(a, "upgraded") == 0 ||
	    strcmp(a, "downgraded") == 0))
		json_array_append(c->installed, json_object_get(rec,
		    "tool_id"));
	if (c->json)
		aim_emit(stdout, rec);
	else
		show(c, rec);
	fflush(stdout);
}

/* ---- the jobs ---- */

static json_t *
one(struct cli *c, const char *id)
{
	switch (c->what) {
	case INSTALL: return aim_install_tool(&c->in, id, 0);
	case UPGRADE: return aim_install_tool(&c->in, id, 1);
	case UNINSTALL: return aim_install_remove(&c->in, id);
	case ROLLBACK: return aim_install_rollback(&c->in, id);
	case BOOTSTRAP: return aim_install_tool(&c->in, id, 0);
	default:
		if (c->flags & AIM_INSTALL_DRY_RUN)
			return aim_install_drift(&c->in, id);
		return aim_install_tool(&c->in, id, 0);
	}
}

/*
 * A worker for one tool: its record, as one JSON line, on fd.  Each
 * worker has its own SIGCHLD self-pipe (aim_proc_forked), so that two
 * workers never take each other's wake-ups.
 */
static void __attribute__((noreturn))
worker(struct cli *c, const char *id, int fd)
{
	json_t *rec;
	char *text;

	if (aim_proc_forked() == -1)
		_exit(AIM_EXIT_IO);
	rec = one(c, id);
	text = json_dumps(rec, JSON_COMPACT);
	(void)aim_write_full(fd, text, strlen(text));
	_exit(0);
}

struct running {
	pid_t	 pid;
	int	 fd;
	const char *id;
};

/* Read a finished worker's record and report it. */
static void
collect(struct cli *c, struct running *r)
{
	char *buf = aim_xmalloc(RECORD_MAX_BYTES);
	ssize_t n = aim_read_full(r->fd, buf, RECORD_MAX_BYTES - 1);
	json_t *rec;

	close(r->fd);
	rec = n > 0 ? json_loadb(buf, (size_t)n, 0, NULL) : NULL;
	if (rec == NULL)
		rec = json_pack("{s:s, s:s, s:s}", "tool_id", r->id, "action",
		    "failed", "message", "its worker died without a record");
	report(c, rec);
	json_decref(rec);
	free(buf);
}

/*
 * The tools' jobs, c->jobs at a time: each in a forked worker that
 * writes its record on a pipe, read whole once it is done; records,
 * aim.lock and the audit trail are this process's alone.
 */
static void
run_parallel(struct cli *c, const char **ids, size_t n)
{
	struct running *r = aim_xmalloc(c->jobs * sizeof(*r));
	size_t next = 0, nrun = 0, i;
	int fds[2], st;
	pid_t pid;

	fflush(stdout);
	while (next < n || nrun > 0) {
		while (next < n && nrun < (size_t)c->jobs) {
			if (pipe(fds) == -1 || (pid = fork()) == -1)
				err(AIM_EXIT_IO, "can't start a worker");
			if (pid == 0) {
				close(fds[0]);
				worker(c, ids[next], fds[1]);
			}
			close(fds[1]);
			r[nrun].pid = pid;
			r[nrun].fd = fds[0];
			r[nrun++].id = ids[next++];
		}
		/* Drain every pipe first: a worker may block on a full one. */
		if ((pid = waitpid(-1, &st, 0)) == -1) {
			if (errno == EINTR)
				continue;
			err(AIM_EXIT_IO, "waitpid");
		}
		for (i = 0; i < nrun && r[i].pid != pid; i++)
			;
		if (i == nrun)
			continue;
		if (c->progress)
			fprintf(stderr, "\r\033[K");
		collect(c, &r[i]);
		r[i] = r[--nrun];
		if (c->progress && (next < n || nrun > 0))
			fprintf(stderr, "%zu of %zu done ...", next - nrun,
			    n);
	}
	free(r);
}

static void
run_jobs(struct cli *c, const char **ids, size_t n)
{
	json_t *rec;
	size_t i;

	if (c->jobs > 1 && n > 1) {
		run_parallel(c, ids, n);
		return;
	}
	if (aim_proc_setup() == -1)
		err(AIM_EXIT_IO, "can't set up signals");
	for (i = 0; i < n; i++) {
		/* Progress on a terminal: the line goes when the record comes. */
		if (c->progress)
			fprintf(stderr, "%s %s ...", commands[c->what], ids[i]);
		rec = one(c, ids[i]);
		if (c->progress)
			fprintf(stderr, "\r\033[K");
		report(c, rec);
		json_decref(rec);
	}
}

/* The tools named, or every tool with an install object. */
static const char **
tools_wanted(struct cli *c, int argc, char *argv[], size_t *n)
{
	const char **ids;
	const char *id;
	json_t *t;
	int i;

	*n = 0;
	if (argc > 0) {
		ids = aim_xmalloc(argc * sizeof(*ids));
		for (i = 0; i < argc; i++)
			ids[(*n)++] = argv[i];
		return ids;
	}
	ids = aim_xmalloc((json_object_size(c->ctx.reg.tools) + 1) *
	    sizeof(*ids));
	json_object_foreach(c->ctx.reg.tools, id, t)
		if (json_is_object(json_object_get(t, "install")))
			ids[(*n)++] = id;
	return ids;
}

/* ---- bootstrap ---- */

/*
 * The health checks (aim-scan(1) "health") with the tools' records in
 * *tools; returns the summary's overall_status, and the checks in
 * *checks (new references); checked afresh, never from the health cache.
 */
static const char *
health(struct cli *c, json_t **tools, json_t **checks)
{
	static char status[32];
	json_t *sum;

	*tools = aim_scan_tools(&c->ctx, 0);
	*checks = aim_health_checks(&c->ctx, *tools, AIM_SCAN_NO_CACHE);
	sum = aim_health_summary(*checks);
	snprintf(status, sizeof(status), "%s", json_string_value(
	    json_object_get(sum, "overall_status")));
	json_decref(sum);
	return status;
}

/* aim-secret set NAME, on this terminal: 0 when it stored it. */
static int
ask_secret(const char *name)
{
	char *dir = aim_self_dir(), *prog = NULL;
	char *argv[] = { "aim-secret", "set", (char *)name, NULL };
	pid_t pid;
	int st;

	if (dir != NULL)
		prog = aim_xsprintf("%s/aim-secret", dir);
	free(dir);
	if (prog != NULL && access(prog, X_OK) == -1) {
		free(prog);
		prog = NULL;
	}
	fflush(stdout);
	if ((pid = fork()) == 0) {
		execvp(prog ? prog : "aim-secret", argv);
		_exit(127);
	}
	free(prog);
	while (pid > 0 && waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	return pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/*
 * The vault secrets the registry's tools name and the vault lacks (the
 * health check "secrets"): asked for on a terminal unless --no-input or
 * -n, else listed.  Records missing_secret, secret_set or, when the
 * vault cannot be opened unattended, unchecked_secret.  Returns how many
 * were set.
 */
static int
secrets(struct cli *c, json_t *checks)
{
	json_t *d = NULL, *x, *ids, *rec, *sec;
	const char *name, *kind = "missing_secret";
	int ask, set = 0;
	size_t i;

	json_array_foreach(checks, i, x)
		if (strcmp(json_string_value(json_object_get(x, "name")),
		    "secrets") == 0)
			d = json_object_get(x, "details");
	sec = json_object_get(d, "missing");
	if (sec == NULL && (sec = json_object_get(d, "needed")) != NULL)
		kind = "unchecked_secret";
	ask = !c->no_input && !(c->flags & AIM_INSTALL_DRY_RUN) &&
	    isatty(STDIN_FILENO) && isatty(STDERR_FILENO) &&
	    strcmp(kind, "missing_secret") == 0;
	json_object_foreach(sec, name, ids) {
		rec = json_pack("{s:O, s:s, s:s}", "tool_id", json_array_get(ids,
		    0), "action", kind, "secret", name);
		if (ask && ask_secret(name) == 0) {
			json_object_set_new(rec, "action",
			    json_string("secret_set"));
			set++;
		}
		json_object_set_new(rec, "message", json_sprintf("%s: %s%s",
		    name, strcmp(json_string_value(json_object_get(rec,
		    "action")), "secret_set") == 0 ? "stored in the vault" :
		    strcmp(kind, "unchecked_secret") == 0 ? "not checked: the "
		    "vault does not open unattended (a passphrase, or a key "
		    "file without AIM_VAULT_KEYFILE); aim secret list asks "
		    "and shows what it holds" : "not in the vault; "
		    "aim secret set ", strcmp(json_string_value(
		    json_object_get(rec, "action")), "missing_secret") == 0 ?
		    name : ""));
		report(c, rec);
		json_decref(rec);
	}
	return set;
}

/*
 * aim-install(1) "bootstrap": health, the tools the capabilities lack,
 * the secrets, health again, a summary record.
 */
static void
bootstrap(struct cli *c)
{
	json_t *tools, *checks, *want, *x, *sum;
	const char *before, **ids;
	char after[32];
	size_t i, n;
	int set;

	c->installed = json_array();
	c->failed = json_array();
	before = health(c, &tools, &checks);
	json_decref(checks);
	want = aim_install_lacking(&c->in, tools);
	json_decref(tools);
	n = json_array_size(want);
	ids = aim_xmalloc((n + 1) * sizeof(*ids));
	json_array_foreach(want, i, x)
		ids[i] = json_string_value(x);
	sum = json_pack("{s:s, s:s}", "action", "bootstrap", "health_before",
	    before);
	run_jobs(c, ids, n);
	free(ids);
	json_decref(want);
	snprintf(after, sizeof(after), "%s", health(c, &tools, &checks));
	set = secrets(c, checks);
	json_decref(checks);
	json_decref(tools);
	if (set > 0) {
		snprintf(after, sizeof(after), "%s", health(c, &tools,
		    &checks));
		json_decref(checks);
		json_decref(tools);
	}
	json_object_set_new(sum, "health_after", json_string(after));
	json_object_set(sum, "installed", c->installed);
	json_object_set(sum, "failed", c->failed);
	json_object_set_new(sum, "secrets_set", json_integer(set));
	json_object_set_new(sum, "changed", json_boolean(
	    json_array_size(c->installed) > 0 || set > 0));
	json_object_set_new(sum, "message", json_array_size(c->installed) ==
	    0 && set == 0 ? json_sprintf("nothing changed; health %s", after) :
	    json_sprintf("%zu installed, %d secrets stored; health %s, was %s",
	    json_array_size(c->installed), set, after, before));
	report(c, sum);
	json_decref(sum);
	json_decref(c->installed);
	json_decref(c->failed);
}

/*
 * The command line: options before the command and anywhere after it
 * (aim(7) COMMAND LINES); the command's operands from argv[*ind].
 */
static void
parse(struct cli *c, int argc, char *argv[], int *ind)
{
	const char *cmd;
	size_t k;
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:ab:c:hj:LnJIr:V", longs,
	    NULL)) != -1)
		take(c, ch);
	if (optind == argc)
		usage(AIM_EXIT_USAGE);
	cmd = argv[optind];
	for (k = 0; commands[k] != NULL && strcmp(commands[k], cmd) != 0; k++)
		;
	if (commands[k] == NULL) {
		warnx("unknown command '%s'", cmd);
		usage(AIM_EXIT_USAGE);
	}
	c->what = (enum what)k;
	argc -= optind;
	argv += optind;
	*ind = optind;
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":ab:c:hj:LnJIr:V", longs,
	    NULL)) != -1)
		take(c, ch);
	*ind += optind;
	argc -= optind;
	if ((c->what == UNINSTALL || c->what == ROLLBACK) && argc == 0) {
		warnx("%s: name the tools", cmd);
		usage(AIM_EXIT_USAGE);
	}
	if (c->what == INSTALL && argc == 0 && !c->all) {
		warnx("install: name the tools, or --all");
		usage(AIM_EXIT_USAGE);
	}
	if ((c->what == SYNC || c->what == BOOTSTRAP) && argc > 0) {
		warnx("%s: every tool, none named", cmd);
		usage(AIM_EXIT_USAGE);
	}
	if (c->all && argc > 0) {
		warnx("%s: tools or --all, not both", cmd);
		usage(AIM_EXIT_USAGE);
	}
}

int
main(int argc, char *argv[])
{
	struct cli c;
	const char **ids;
	char *why = NULL;
	size_t n;
	int ind;

	aim_std_fds();
	memset(&c, 0, sizeof(c));
	c.jobs = 1;
	argv[0] = (char *)progname;
	parse(&c, argc, argv, &ind);
	argc -= ind;
	argv += ind;
	if (!isatty(STDOUT_FILENO))
		c.json = 1;
	c.color = !c.json && aim_show_color(STDOUT_FILENO);
	c.progress = !c.json && isatty(STDERR_FILENO);
	if (sodium_init() == -1)
		errx(AIM_EXIT_IO, "can't initialise libsodium");
	aim_setup_load(&c.ctx, &c.opt, NULL, c.what == BOOTSTRAP ?
	    AIM_SETUP_REGISTRY | AIM_SETUP_CHECK | AIM_SETUP_AUDIT_DIR |
	    AIM_SETUP_FALLBACK : AIM_SETUP_REGISTRY);
	if (c.ctx.registry_dir == NULL)
		errx(AIM_EXIT_CONFIG, "%s", c.ctx.not_found);
	if (!c.ctx.config_ok || !c.ctx.registry_ok) {
		aim_problems_print(&c.ctx.probs);
		exit(AIM_EXIT_CONFIG);
	}
	if (aim_install_open(&c.in, &c.ctx, c.bin_dir, c.flags, &why) == -1)
		errx(AIM_EXIT_CONFIG, "%s", why);
	if (c.what == BOOTSTRAP) {
		if (aim_proc_setup() == -1)
			err(AIM_EXIT_IO, "can't set up signals");
		bootstrap(&c);
	} else {
		ids = tools_wanted(&c, argc, argv, &n);
		run_jobs(&c, ids, n);
		free(ids);
	}
	if (aim_install_lock_write(&c.in, &why) == -1) {
		warnx("%s", why);
		aim_exit_raise(&c.status, AIM_EXIT_IO);
	}
	free(why);
	aim_install_close(&c.in);
	aim_setup_free(&c.ctx);
	if (aim_close_stdout() == -1)
		aim_exit_raise(&c.status, AIM_EXIT_IO);
	return c.status;
}
