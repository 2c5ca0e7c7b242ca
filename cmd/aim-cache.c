/*
 * aim-cache: the result cache of aim-invoke and aim run (aim-cache(1)):
 * its figures, emptied, or pruned to its size.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aim.h"

static const char *progname = "aim-cache";

/*
 * The global options, then the commands and their own options (struct
 * aim_subcmd, cli.c), for the convention of aim(7) COMMAND LINES.
 */
#define GLOBALS_SYNOPSIS "[-c config] [-r registry] [--json]"
#define GLOBAL_SHORTS	"c:hr:V"
enum { O_JSON = 256, O_MAX_BYTES };
static const struct option global_longs[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, O_JSON },
	{ "registry", required_argument, NULL, 'r' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};
static const char global_help[] =
    "  -c, --config config      read cache_max_bytes from config\n"
    "  -h, --help               print this help and exit\n"
    "      --json               one JSON object, even on a terminal\n"
    "  -r, --registry registry  take aim_config.json from registry\n"
    "  -V, --version            print the version and exit\n";
static const struct option prune_longs[] = {
	{ "max-bytes", required_argument, NULL, O_MAX_BYTES },
	{ NULL, 0, NULL, 0 }
};
static const struct option no_longs[] = {
	{ NULL, 0, NULL, 0 }
};
static const struct aim_subcmd subcmds[] = {
	{ "stats", "", no_longs, "stats", "" },
	{ "clear", "", no_longs, "clear", "" },
	{ "prune", "", prune_longs, "prune [--max-bytes n]",
	    "  --max-bytes n            prune: to n bytes, not "
	    "cache_max_bytes\n" },
	{ NULL, NULL, NULL, NULL, NULL }
};

/*
 * The usage on stderr and exit status; with status 0 (-h, --help) on
 * stdout, followed by every option, one line each, and the manual page.
 */
static void __attribute__((noreturn))
usage(int status)
{
	FILE *f = status ? stderr : stdout;
	int i;

	fprintf(f, "usage: %s [-hV] " GLOBALS_SYNOPSIS " command\n", progname);
	for (i = 0; subcmds[i].name != NULL; i++)
		fprintf(f, "       %s %s\n", progname, subcmds[i].synopsis);
	if (status == 0) {
		fprintf(f, "\n%s", global_help);
		for (i = 0; subcmds[i].name != NULL; i++)
			fputs(subcmds[i].help, f);
		fprintf(f, "\nSee %s(1).\n", progname);
	}
	exit(status);
}

/* What the command line asks. */
struct ask {
	struct aim_options opt;
	const struct aim_subcmd *cmd;
	int	 json;
	int64_t	 max_bytes;	/* --max-bytes, -1: not given */
};

/* --max-bytes: a whole number of bytes, 0 or more. */
static int64_t
bytes_arg(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < 0) {
		warnx("--max-bytes %s: want a number of bytes, 0 or more", s);
		usage(AIM_EXIT_USAGE);
	}
	return v;
}

/*
 * One option of getopt_long into a: before the command (cur NULL) the
 * global ones, after it its own too; -h there is the command's help.
 */
static void
option(struct ask *a, const struct aim_subcmd *cur, char *argv[], int ch)
{
	switch (ch) {
	case 'c':
		a->opt.config = optarg;
		break;
	case 'h':
		if (cur != NULL)
			aim_subcmd_help(progname, GLOBALS_SYNOPSIS, cur,
			    global_help);
		usage(0);
	case 'r':
		a->opt.registry = optarg;
		break;
	case 'V':
		printf("%s %s\n", progname, AIM_VERSION);
		exit(0);
	case O_JSON:
		a->json = 1;
		break;
	case O_MAX_BYTES:
		a->max_bytes = bytes_arg(optarg);
		break;
	default:
		aim_subcmd_bad_option(progname, subcmds, cur, argv, ch);
		usage(AIM_EXIT_USAGE);
	}
}

static void
parse(struct ask *a, int argc, char *argv[])
{
	static struct option longs[8];
	size_t n = 0, i;
	int ch;

	a->max_bytes = -1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:" GLOBAL_SHORTS, global_longs,
	    NULL)) != -1)
		option(a, NULL, argv, ch);
	if (optind == argc) {
		warnx("no command: stats, clear or prune");
		usage(AIM_EXIT_USAGE);
	}
	if ((a->cmd = aim_subcmd_find(subcmds, argv[optind])) == NULL) {
		warnx("unknown command '%s'", argv[optind]);
		usage(AIM_EXIT_USAGE);
	}
	for (i = 0; global_longs[i].name != NULL; i++)
		longs[n++] = global_longs[i];
	for (i = 0; a->cmd->longs[i].name != NULL; i++)
		longs[n++] = a->cmd->longs[i];
	optind++;
	while ((ch = getopt_long(argc, argv, ":" GLOBAL_SHORTS, longs,
	    NULL)) != -1)
		option(a, a->cmd, argv, ch);
	if (optind < argc) {
		warnx("%s takes no operand: '%s'", a->cmd->name, argv[optind]);
		usage(AIM_EXIT_USAGE);
	}
}

/* stats in words: one "name  value" line each. */
static void
show_stats(json_t *s)
{
	char b1[32], b2[32];
	json_t *rate = json_object_get(s, "hit_rate");

	printf("cache     %s\n", json_string_value(json_object_get(s, "dir")));
	printf("entries   %lld (%lld files)\n",
	    (long long)json_integer_value(json_object_get(s, "entries")),
	    (long long)json_integer_value(json_object_get(s, "blobs")));
	printf("size      %s of %s\n", aim_human_bytes(json_integer_value(
	    json_object_get(s, "size_bytes")), b1, sizeof(b1)),
	    aim_human_bytes(json_integer_value(json_object_get(s,
	    "max_bytes")), b2, sizeof(b2)));
	printf("hits      %lld\nmisses    %lld\nstores    %lld\n",
	    (long long)json_integer_value(json_object_get(s, "hits")),
	    (long long)json_integer_value(json_object_get(s, "misses")),
	    (long long)json_integer_value(json_object_get(s, "stores")));
	if (json_is_real(rate))
		printf("hit rate  %.1f%%\n", json_real_value(rate) * 100);
	else
		printf("hit rate  -\n");
}

/* A prune's or clear's report in words. */
static void
show_removed(const char *verb, json_t *r)
{
	char b1[32], b2[32];

	printf("%s %lld entries, %lld files: %s freed; %lld entries, %s "
	    "left\n", verb,
	    (long long)json_integer_value(json_object_get(r,
	    "removed_entries")),
	    (long long)json_integer_value(json_object_get(r, "removed_blobs")),
	    aim_human_bytes(json_integer_value(json_object_get(r,
	    "freed_bytes")), b1, sizeof(b1)),
	    (long long)json_integer_value(json_object_get(r, "entries")),
	    aim_human_bytes(json_integer_value(json_object_get(r,
	    "size_bytes")), b2, sizeof(b2)));
}

int
main(int argc, char *argv[])
{
	struct aim_setup set;
	struct ask ask;
	json_t *out;
	char *dir, *why = NULL;
	int status, human;

	if (aim_std_fds() == -1)
		errx(AIM_EXIT_IO, "standard output is closed");
	memset(&ask, 0, sizeof(ask));
	argv[0] = (char *)progname;
	parse(&ask, argc, argv);
	/* The config only gives cache_max_bytes: without one, the default. */
	aim_setup_load(&set, &ask.opt, NULL, AIM_SETUP_WARN);
	status = set.status;
	if ((dir = aim_rcache_dir()) == NULL)
		errx(AIM_EXIT_IO, "no cache directory: set XDG_CACHE_HOME or "
		    "HOME");
	human = !ask.json && isatty(STDOUT_FILENO);
	if (strcmp(ask.cmd->name, "stats") == 0)
		out = aim_rcache_stats(dir, set.cfg.cache_max_bytes);
	else if (strcmp(ask.cmd->name, "clear") == 0) {
		if (aim_rcache_clear(dir, &out, &why) == -1) {
			warnx("%s", why);
			aim_exit_raise(&status, AIM_EXIT_IO);
		}
	} else
		(void)aim_rcache_prune(dir, ask.max_bytes != -1 ?
		    ask.max_bytes : set.cfg.cache_max_bytes, &out, NULL);
	if (!human)
		(void)aim_emit(stdout, out);
	else if (strcmp(ask.cmd->name, "stats") == 0)
		show_stats(out);
	else
		show_removed(strcmp(ask.cmd->name, "clear") == 0 ? "cleared" :
		    "pruned", out);
	json_decref(out);
	free(why);
	free(dir);
	aim_setup_free(&set);
	if (aim_close_stdout() == -1)
		aim_exit_raise(&status, AIM_EXIT_IO);
	return status;
}
