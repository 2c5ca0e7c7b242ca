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

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: %s [-hV] [-c config] [-r registry] [--json] stats\n"
	    "       %s [-hV] [-c config] [-r registry] [--json] clear\n"
	    "       %s [-hV] [-c config] [-r registry] [--json] prune "
	    "[--max-bytes n]\n", progname, progname, progname);
	if (status == 0)
		printf("  -c, --config=config      read cache_max_bytes from "
		    "config\n"
		    "  -h, --help               print this help and exit\n"
		    "      --json               one JSON object, even on a "
		    "terminal\n"
		    "      --max-bytes=n        prune: to n bytes, not "
		    "cache_max_bytes\n"
		    "  -r, --registry=registry  take aim_config.json from "
		    "registry\n"
		    "  -V, --version            print the version and exit\n"
		    "See aim-cache(1).\n");
	exit(status);
}

enum { O_JSON = 256, O_MAX_BYTES };

/* What the command line asks. */
struct ask {
	struct aim_options opt;
	const char *command;
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

/* One option of getopt_long into a. */
static void
option(struct ask *a, int ch)
{
	switch (ch) {
	case 'c':
		a->opt.config = optarg;
		break;
	case 'h':
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
		usage(AIM_EXIT_USAGE);
	}
}

static void
parse(struct ask *a, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, O_JSON },
		{ "max-bytes", required_argument, NULL, O_MAX_BYTES },
		{ "registry", required_argument, NULL, 'r' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	a->max_bytes = -1;
	while ((ch = getopt_long(argc, argv, "c:hr:V", longopts, NULL)) != -1)
		option(a, ch);
	argc -= optind;
	argv += optind;
	if (argc != 1) {
		warnx(argc == 0 ? "no command: stats, clear or prune" :
		    "one command only, not '%s'", argv[argc > 0]);
		usage(AIM_EXIT_USAGE);
	}
	a->command = argv[0];
	if (strcmp(a->command, "stats") != 0 &&
	    strcmp(a->command, "clear") != 0 &&
	    strcmp(a->command, "prune") != 0) {
		warnx("'%s' is not a command: stats, clear or prune",
		    a->command);
		usage(AIM_EXIT_USAGE);
	}
	if (a->max_bytes != -1 && strcmp(a->command, "prune") != 0) {
		warnx("--max-bytes is an option of prune");
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
	if (strcmp(ask.command, "stats") == 0)
		out = aim_rcache_stats(dir, set.cfg.cache_max_bytes);
	else if (strcmp(ask.command, "clear") == 0) {
		if (aim_rcache_clear(dir, &out, &why) == -1) {
			warnx("%s", why);
			aim_exit_raise(&status, AIM_EXIT_IO);
		}
	} else
		(void)aim_rcache_prune(dir, ask.max_bytes != -1 ?
		    ask.max_bytes : set.cfg.cache_max_bytes, &out, NULL);
	if (!human)
		(void)aim_emit(stdout, out);
	else if (strcmp(ask.command, "stats") == 0)
		show_stats(out);
	else
		show_removed(strcmp(ask.command, "clear") == 0 ? "cleared" :
		    "pruned", out);
	json_decref(out);
	free(why);
	free(dir);
	aim_setup_free(&set);
	if (aim_close_stdout() == -1)
		aim_exit_raise(&status, AIM_EXIT_IO);
	return status;
}
