/*
 * aim: the front command.  `aim status` sums up the installation; `aim
 * health` and `aim scan` run aim-scan; `aim <sub> args` runs aim-<sub>
 * (git-style), found next to this binary, then in the install's bin
 * directory, then on PATH.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "aim.h"

#ifndef AIM_BINDIR
#define AIM_BINDIR	"/usr/local/bin"
#endif

static const char *progname = "aim";

static const struct {
	const char *name, *what;
} subs[] = {
	{ "run", "route, run and audit a request, shown in words (aim-run)" },
	{ "status", "registry, tools, capabilities, health, cooldowns and audit at a glance" },
	{ "health", "the health checks (aim-scan health)" },
	{ "scan", "tools, pins, duplicate files, caches, clean (aim-scan)" },
	{ "resolve", "requests to routed records (aim-resolve)" },
	{ "invoke", "routed records to results (aim-invoke)" },
	{ "fanout", "routed records to all candidates at once, a winner (aim-fanout)" },
	{ "apply", "a fan-out's winning diff to the working tree (aim-apply)" },
	{ "audit", "one audit entry per record (aim-audit)" },
	{ "secret", "the encrypted secret vault (aim-secret; also secrets)" },
	{ "init", "a registry for this project, from the tools found (aim-init)" },
	{ "metrics", "the audit trail as Prometheus metrics (aim-audit metrics)" },
	{ "install", "install the registry's tools at their pins (aim-install)" },
	{ "upgrade", "the newest versions the pins allow (aim-install upgrade)" },
	{ "uninstall", "remove tools aim installed (aim-install uninstall)" },
	{ "rollback", "back to a tool's previous version (aim-install rollback)" },
	{ "sync", "installed versions made to match the pins (aim-install sync)" },
	{ "bootstrap", "health, missing tools and secrets, health again (aim-install bootstrap)" },
	{ "cache", "the result cache: stats, clear, prune (aim-cache)" },
};

static void __attribute__((noreturn))
usage(int status)
{
	FILE *f = status ? stderr : stdout;
	size_t i;

	fprintf(f, "usage: %s [-hV] command [argument ...]\n"
	    "       %s status [-j] [--no-cache] [-c config] [-r registry]\n",
	    progname, progname);
	if (status == 0) {
		fprintf(f, "\noptions:\n"
		    "  -h, --help           print this help and exit\n"
		    "  -V, --version        print the version and exit\n"
		    "\noptions of status:\n"
		    "  -c, --config=FILE    read the configuration from FILE\n"
		    "  -j, --json           one JSON object instead of the "
		    "table\n"
		    "      --no-cache       ask every tool its version, not the "
		    "cache\n"
		    "  -r, --registry=DIR   use the registry in DIR\n"
		    "\ncommands:\n");
		for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
			fprintf(f, "  %-8s %s\n", subs[i].name, subs[i].what);
		fprintf(f, "  NAME     any other aim-NAME program "
		    "(next to aim, in %s, or on PATH)\n"
		    "\nSee aim(1).\n", AIM_BINDIR);
	}
	exit(status);
}

/* ---- dispatch ---- */

/* Try dir/prog: 0 not there, else exec (no return) or remember errno. */
static void
try_exec(const char *dir, const char *prog, char **argv, int *not_runnable,
    char *where, size_t wlen)
{
	char path[PATH_MAX];
	struct stat st;

	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, prog);
	if (stat(path, &st) == -1)
		return;
	if (!S_ISREG(st.st_mode) || access(path, X_OK) == -1) {
		if (!*not_runnable)
			snprintf(where, wlen, "%s", path);
		*not_runnable = 1;
		return;
	}
	execv(path, argv);
	if (!*not_runnable)
		snprintf(where, wlen, "%s: %s", path, strerror(errno));
	*not_runnable = 1;
}

/*
 * Edits (insert, delete, substitute, swap two neighbours) from a to b, at
 * most 63 characters of each; longer counts as far.
 */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, c, d[64][64];

	if (la > 63 || lb > 63)
		return (size_t)-1;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c)
				c = d[i - 2][j - 2] + 1;
			d[i][j] = c;
		}
	return d[la][lb];
}

/*
 * The command nearest to sub, as git suggests one (aim(1) "EXIT STATUS"):
 * at most 2 edits and fewer than half of sub's letters; NULL when none is,
 * or two are equally near.
 */
static const char *
nearest(const char *sub)
{
	const char *best = NULL;
	size_t i, d, bestd = (size_t)-1;
	int tie = 0;

	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		d = distance(sub, subs[i].name);
		if (d < bestd) {
			bestd = d;
			best = subs[i].name;
			tie = 0;
		} else if (d == bestd)
			tie = 1;
	}
	if (best == NULL || tie || bestd > 2 || bestd * 2 >= strlen(sub))
		return NULL;
	return best;
}

static void __attribute__((noreturn))
dispatch(const char *sub, int argc, char **argv)
{
	char prog[256], where[PATH_MAX + 128], *dir, *list, *p, *save;
	char **nargv;
	int not_runnable = 0, i;
	const char *env;

	if (*sub == '\0' || strchr(sub, '/') != NULL || *sub == '.' ||
	    strlen(sub) > 200) {
		warnx("'%s' is not an aim command", sub);
		exit(AIM_EXIT_NOTFOUND);
	}
	snprintf(prog, sizeof(prog), "aim-%s", sub);
	nargv = aim_xmalloc((argc + 2) * sizeof(*nargv));
	nargv[0] = prog;
	for (i = 0; i < argc; i++)
		nargv[i + 1] = argv[i];
	nargv[argc + 1] = NULL;
	where[0] = '\0';

	dir = aim_self_dir();
	try_exec(dir, prog, nargv, &not_runnable, where, sizeof(where));
	free(dir);
	try_exec(AIM_BINDIR, prog, nargv, &not_runnable, where, sizeof(where));
	if ((env = getenv("PATH")) != NULL) {
		list = aim_xstrdup(env);
		for (p = strtok_r(list, ":", &save); p != NULL;
		    p = strtok_r(NULL, ":", &save))
			try_exec(p, prog, nargv, &not_runnable, where,
			    sizeof(where));
		free(list);
	}
	if (not_runnable) {
		warnx("%s: not runnable: %s", prog, where);
		exit(AIM_EXIT_NOTRUN);
	}
	if (nearest(sub) != NULL)
		warnx("'%s' is not an aim command (no %s next to aim, in %s or "
		    "on PATH); did you mean '%s'?", sub, prog, AIM_BINDIR,
		    nearest(sub));
	else
		warnx("'%s' is not an aim command (no %s next to aim, in %s or "
		    "on PATH); see aim --help", sub, prog, AIM_BINDIR);
	exit(AIM_EXIT_NOTFOUND);
}

/* ---- status ---- */

/*
 * One section of `aim status`: fill adds its member to the JSON object,
 * print writes its lines.  A new section is one more row in the table.
 */
struct status {
	struct aim_setup ctx;
	json_t	*tools, *checks;
};

/*
 * The first of the problems [from, to) of the context as *member (with
 * "member_more" the count of the others), when there are any.
 */
static void
fill_problem(struct status *st, json_t *out, const char *member, size_t from,
    size_t to)
{
	json_t *list = aim_scan_problems(&st->ctx, from, to);
	char more[64];

	if (json_array_size(list) > 0) {
		json_object_set(out, member, json_array_get(list, 0));
		if (json_array_size(list) > 1) {
			snprintf(more, sizeof(more), "%s_more", member);
			json_object_set_new(out, more, json_integer(
			    json_array_size(list) - 1));
		}
	}
	json_decref(list);
}

static void
fill_registry(struct status *st, json_t *out)
{
	json_object_set_new(out, "registry", st->ctx.registry_dir ?
	    json_string(st->ctx.registry_dir) : json_null());
	if (st->ctx.registry_dir == NULL)
		json_object_set_new(out, "registry_error",
		    json_string(st->ctx.not_found));
	else
		fill_problem(st, out, "registry_error", st->ctx.nconfig,
		    st->ctx.nload);
	if (st->ctx.registry_dir != NULL)
		json_object_set_new(out, "registry_usable",
		    json_boolean(st->ctx.registry_ok));
	fill_problem(st, out, "config_error", 0, st->ctx.nconfig);
}

/* "LABEL  error (and N more; aim health lists them)" */
static void
print_problem(json_t *out, const char *label, const char *member)
{
	char more[64];
	json_int_t n;

	snprintf(more, sizeof(more), "%s_more", member);
	n = json_integer_value(json_object_get(out, more));
	printf("%-13s %s", label, json_string_value(json_object_get(out,
	    member)));
	if (n > 0)
		printf(" (and %lld more; aim health lists them)", (long long)n);
	printf("\n");
}

static void
print_registry(json_t *out)
{
	const char *r = json_string_value(json_object_get(out, "registry"));
	int usable = json_is_true(json_object_get(out, "registry_usable"));

	if (r == NULL)
		printf("%-13s %s\n", "registry", json_string_value(
		    json_object_get(out, "registry_error")));
	else if (json_object_get(out, "registry_error") == NULL)
		printf("%-13s %s\n", "registry", r);
	else {
		printf("%-13s %s: %s\n", "registry", r, usable ?
		    "loaded with problems" : "unusable");
		print_problem(out, "", "registry_error");
	}
	if (json_object_get(out, "config_error") != NULL)
		print_problem(out, "config", "config_error");
}

static void
fill_tools(struct status *st, json_t *out)
{
	json_t *t;
	size_t i, ready = 0;

	json_array_foreach(st->tools, i, t)
		if (strcmp(json_string_value(json_object_get(t, "status")),
		    "ready") == 0)
			ready++;
	json_object_set_new(out, "tools", json_pack("{s:I, s:I}", "ready",
	    (json_int_t)ready, "total", (json_int_t)json_array_size(st->tools)));
}

static void
print_tools(json_t *out)
{
	json_t *t = json_object_get(out, "tools");

	printf("%-13s %lld of %lld ready\n", "tools",
	    (long long)json_integer_value(json_object_get(t, "ready")),
	    (long long)json_integer_value(json_object_get(t, "total")));
}

static void
fill_capabilities(struct status *st, json_t *out)
{
	json_t *c, *bad = NULL;
	size_t i, total = st->ctx.registry_ok ?
	    json_object_size(st->ctx.reg.rules) : 0;

	json_array_foreach(st->checks, i, c)
		if (strcmp(json_string_value(json_object_get(c, "name")),
		    "adapters") == 0)
			bad = json_object_get(json_object_get(c, "details"),
			    "unroutable");
	json_object_set_new(out, "capabilities", json_pack("{s:I, s:I, s:o}",
	    "routable", (json_int_t)(total - json_array_size(bad)), "total",
	    (json_int_t)total, "unroutable", bad ? json_incref(bad) :
	    json_array()));
}

static void
print_capabilities(json_t *out)
{
	json_t *c = json_object_get(out, "capabilities"), *x;
	size_t i;

	printf("%-13s %lld of %lld routable", "capabilities",
	    (long long)json_integer_value(json_object_get(c, "routable")),
	    (long long)json_integer_value(json_object_get(c, "total")));
	json_array_foreach(json_object_get(c, "unroutable"), i, x)
		printf("%s%s", i ? ", " : " (no ready tool: ",
		    json_string_value(x));
	printf("%s\n", json_array_size(json_object_get(c, "unroutable")) ?
	    ")" : "");
}

static void
fill_health(struct status *st, json_t *out)
{
	json_t *sum = aim_health_summary(st->checks);

	json_object_set_new(out, "health", json_pack("{s:O, s:O}",
	    "overall_status", json_object_get(sum, "overall_status"),
	    "summary", json_object_get(sum, "summary")));
	json_decref(sum);
}

static void
print_health(json_t *out)
{
	json_t *h = json_object_get(out, "health"),
	    *s = json_object_get(h, "summary");

	printf("%-13s %s (%lld pass, %lld warn, %lld fail; aim health for "
	    "details)\n", "health", json_string_value(json_object_get(h,
	    "overall_status")),
	    (long long)json_integer_value(json_object_get(s, "pass")),
	    (long long)json_integer_value(json_object_get(s, "warn")),
	    (long long)json_integer_value(json_object_get(s, "fail")));
}

/* Audit entries of one day: the *.json files in <dir>/<day>/. */
static long
count_entries(const char *dir, const char *day)
{
	char path[PATH_MAX];
	struct dirent *d;
	size_t n;
	long count = 0;
	DIR *dp;

	snprintf(path, sizeof(path), "%s/%s", dir, day);
	if ((dp = opendir(path)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((d = readdir(dp)) != NULL) {
		n = strlen(d->d_name);
		if (n > 5 && d->d_name[0] != '.' &&
		    strcmp(d->d_name + n - 5, ".json") == 0)
			count++;
	}
	closedir(dp);
	return count;
}

static void
fill_audit(struct status *st, json_t *out)
{
	const char *dir = st->ctx.audit_dir;
	char day[16];
	long n;

	aim_utc_stamp(NULL, NULL, day);
	n = dir ? count_entries(dir, day) : -1;
	json_object_set_new(out, "audit", json_pack("{s:s?, s:s, s:o}", "dir",
	    dir, "day", day, "entries_today", n >= 0 ? json_integer(n) :
	    json_null()));
}

static void
print_audit(json_t *out)
{
	json_t *a = json_object_get(out, "audit"),
	    *n = json_object_get(a, "entries_today");
	const char *dir = json_string_value(json_object_get(a, "dir"));

	if (json_is_integer(n))
		printf("%-13s %s: %lld entries today (%s UTC)\n", "audit",
		    dir, (long long)json_integer_value(n), json_string_value(
		    json_object_get(a, "day")));
	else
		printf("%-13s %s: can't read today's entries\n", "audit",
		    dir ? dir : "(none)");
}

/* Tools cooling down now (issue 6), from the shared state file. */
static void
fill_cooldowns(struct status *st, json_t *out)
{
	struct aim_state state;
	json_t *list = json_array(), *t;
	size_t i;
	char *why = NULL;
	int64_t now = aim_wall_ms();

	/* The cooldowns of the registry in use (keyed by its directory). */
	if (aim_state_open(&state, &st->ctx.cfg, &why) == 0 &&
	    aim_state_refresh(&state, &why) == 0) {
		json_decref(list);
		list = aim_state_cooldowns(&state, st->ctx.registry_dir, now);
		json_array_foreach(list, i, t)
			json_object_set_new(t, "retry_in_ms", json_integer(
			    json_integer_value(json_object_get(t, "until_ms")) -
			    now));
		json_array_foreach(list, i, t)
			json_object_del(t, "until_ms");
	}
	json_object_set_new(out, "cooldowns", list);
	if (why != NULL)
		json_object_set_new(out, "cooldowns_error", json_string(why));
	free(why);
	aim_state_free(&state);
}

static void
print_cooldowns(json_t *out)
{
	json_t *list = json_object_get(out, "cooldowns"), *c;
	const char *err = json_string_value(json_object_get(out,
	    "cooldowns_error"));
	size_t i;

	if (json_array_size(list) == 0)
		printf("%-13s %s\n", "cooldowns", err ? err : "none");
	json_array_foreach(list, i, c)
		printf("%-13s %s until %s (%s, %lld s left; aim-resolve "
		    "--reset-cooldown %s)\n", i ? "" : "cooldowns",
		    json_string_value(json_object_get(c, "tool_id")),
		    json_string_value(json_object_get(c, "until")),
		    json_is_string(json_object_get(c, "class")) ?
		    json_string_value(json_object_get(c, "class")) : "?",
		    (long long)(json_integer_value(json_object_get(c,
		    "retry_in_ms")) + 999) / 1000,
		    json_string_value(json_object_get(c, "tool_id")));
}

/* Add tool_id's line to list: what it spent today against its budget. */
static void
spend_line(json_t *list, struct aim_state *state, const char *registry_dir,
    json_t *budgets, const char *tool_id, int64_t now)
{
	double spent, limit;

	(void)aim_state_budget_exhausted(state, registry_dir, budgets, tool_id,
	    now, &spent, &limit);
	if (limit < 0)
		spent = aim_state_spent(state, registry_dir, tool_id, now);
	if (spent == 0 && limit < 0)
		return;
	json_array_append_new(list, json_pack("{s:s, s:f, s:o, s:o}",
	    "tool_id", tool_id, "spent_usd", spent, "usd_per_day", limit < 0 ?
	    json_null() : json_real(limit), "left_usd", limit < 0 ?
	    json_null() : json_real(spent < limit ? limit - spent : 0)));
}

/*
 * Spend today against the budgets (aim-invoke(1) "Budgets"): the tools
 * with a budget, then the registry's others that spent today.
 */
static void
fill_spend(struct status *st, json_t *out)
{
	struct aim_state state;
	json_t *list = json_array(), *budgets = st->ctx.cfg.budgets, *v;
	const char *id;
	char *why = NULL;
	int64_t now = aim_wall_ms();

	if (aim_state_open(&state, &st->ctx.cfg, &why) == 0 &&
	    aim_state_refresh(&state, &why) == 0) {
		json_object_foreach(budgets, id, v)
			spend_line(list, &state, st->ctx.registry_dir, budgets,
			    id, now);
		json_object_foreach(st->ctx.reg.tools, id, v)
			if (json_object_get(budgets, id) == NULL)
				spend_line(list, &state, st->ctx.registry_dir,
				    budgets, id, now);
	}
	json_object_set_new(out, "spend", list);
	if (why != NULL)
		json_object_set_new(out, "spend_error", json_string(why));
	free(why);
	aim_state_free(&state);
}

static void
print_spend(json_t *out)
{
	json_t *list = json_object_get(out, "spend"), *c, *limit;
	const char *err = json_string_value(json_object_get(out,
	    "spend_error"));
	size_t i;

	/* No budget and nothing spent: no line, as before budgets. */
	if (err != NULL)
		printf("%-13s %s\n", "spend", err);
	json_array_foreach(list, i, c) {
		printf("%-13s %s $%.2f today", i ? "" : "spend",
		    json_string_value(json_object_get(c, "tool_id")),
		    json_number_value(json_object_get(c, "spent_usd")));
		if (json_is_number(limit = json_object_get(c, "usd_per_day")))
			printf(" of $%.2f ($%.2f left)", json_number_value(limit),
			    json_number_value(json_object_get(c, "left_usd")));
		printf("\n");
	}
}

static const struct {
	void	(*fill)(struct status *, json_t *);
	void	(*print)(json_t *);
} sections[] = {
	{ fill_registry, print_registry },
	{ fill_tools, print_tools },
	{ fill_capabilities, print_capabilities },
	{ fill_health, print_health },
	{ fill_cooldowns, print_cooldowns },
	{ fill_spend, print_spend },
	{ fill_audit, print_audit },
};

static int
cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "no-cache", no_argument, NULL, 'N' },
		{ "registry", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct aim_options opt;
	struct status st;
	json_t *out;
	size_t i;
	int ch, json = 0, status = AIM_EXIT_OK;
	unsigned flags = 0;

	memset(&opt, 0, sizeof(opt));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:hjr:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opt.config = optarg;
			break;
		case 'h':
			usage(0);
		case 'j':
			json = 1;
			break;
		case 'N':
			flags |= AIM_SCAN_NO_CACHE;
			break;
		case 'r':
			opt.registry = optarg;
			break;
		default:
			usage(AIM_EXIT_USAGE);
		}
	}
	if (optind < argc)
		usage(AIM_EXIT_USAGE);
	if (sodium_init() == -1)
		errx(AIM_EXIT_IO, "can't initialise libsodium");
	if (aim_proc_setup() == -1)
		err(AIM_EXIT_IO, "can't set up signals");
	aim_setup_load(&st.ctx, &opt, NULL, AIM_SETUP_REGISTRY |
	    AIM_SETUP_CHECK | AIM_SETUP_AUDIT_DIR | AIM_SETUP_FALLBACK);
	st.tools = aim_scan_tools(&st.ctx, flags);
	st.checks = aim_health_checks(&st.ctx, st.tools, flags);
	out = json_object();
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		sections[i].fill(&st, out);
	if (json)
		aim_emit(stdout, out);
	else
		for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
			sections[i].print(out);
	if (!st.ctx.registry_ok || st.ctx.nload > 0)
		status = AIM_EXIT_CONFIG;
	json_decref(out);
	json_decref(st.checks);
	json_decref(st.tools);
	aim_setup_free(&st.ctx);
	if (aim_close_stdout() == -1)
		status = AIM_EXIT_IO;
	return status;
}

/* Commands that are a command of another program, of the same name. */
static const struct {
	const char *name, *program;
} aliases[] = {
	{ "health", "scan" },
	{ "metrics", "audit" },
	{ "install", "install" },
	{ "upgrade", "install" },
	{ "uninstall", "install" },
	{ "rollback", "install" },
	{ "sync", "install" },
	{ "bootstrap", "install" },
};

int
main(int argc, char *argv[])
{
	const char *sub;
	size_t i;

	aim_std_fds();
	if (argc < 2)
		usage(AIM_EXIT_USAGE);
	sub = argv[1];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 ||
	    strcmp(sub, "help") == 0)
		usage(0);
	if (strcmp(sub, "-V") == 0 || strcmp(sub, "--version") == 0) {
		printf("%s %s\n", progname, AIM_VERSION);
		return 0;
	}
	if (*sub == '-') {
		warnx("unknown option %s", sub);
		usage(AIM_EXIT_USAGE);
	}
	if (strcmp(sub, "status") == 0) {
		argv[1] = "aim status";
		return cmd_status(argc - 1, argv + 1);
	}
	/* aim health ARGS = aim-scan health ARGS, and so on. */
	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		char **v;
		int j;

		if (strcmp(sub, aliases[i].name) != 0)
			continue;
		v = aim_xmalloc((argc + 1) * sizeof(*v));
		v[0] = (char *)aliases[i].name;
		for (j = 2; j < argc; j++)
			v[j - 1] = argv[j];
		v[argc - 1] = NULL;
		dispatch(aliases[i].program, argc - 1, v);
	}
	/* The seeds' name of the vault command (aim(1)). */
	dispatch(strcmp(sub, "secrets") == 0 ? "secret" : sub, argc - 2,
	    argv + 2);
}
