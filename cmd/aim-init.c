/*
 * aim-init: make a project's registry (aim-init(1)).  `aim init` runs it.
 * The template is --from, else the example registry of the source tree this
 * binary was built in, else the installed one under AIM_DATADIR.
 */
#include <err.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aim.h"

#ifndef AIM_DATADIR
#define AIM_DATADIR	"/usr/local/share/aim"
#endif
#define EXAMPLES	"examples/" AIM_REGISTRY_DIRNAME

static const char *progname = "aim-init";

static void __attribute__((noreturn))
usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f, "usage: %s [-fhjnV] [--from=DIR] [DIR]\n", progname);
	if (status == 0)
		fprintf(f, "\nMake DIR/%s (DIR: the current directory) for the "
		    "tools found on PATH.\n\noptions:\n"
		    "  -f, --force       rewrite an existing registry's "
		    "registry, rules, config and adapters\n"
		    "      --from=DIR    the template registry (default: the "
		    "example registry,\n"
		    "                    %s/%s)\n"
		    "  -h, --help        print this help and exit\n"
		    "  -j, --json        one JSON object instead of the summary\n"
		    "  -n, --dry-run     say what would be made, write nothing\n"
		    "  -V, --version     print the version and exit\n"
		    "\nSee aim-init(1).\n", AIM_REGISTRY_DIRNAME, AIM_DATADIR,
		    EXAMPLES);
	exit(status);
}

/*
 * The example registry: in the source tree when this binary is a build of
 * it (build/aim-init next to lib/aim.h), else the installed one.  Malloc'd.
 */
static char *
default_template(void)
{
	char *dir = aim_self_dir(), *p;

	if (dir != NULL) {
		p = aim_xsprintf("%s/../lib/aim.h", dir);
		if (access(p, F_OK) == 0) {
			free(p);
			p = aim_xsprintf("%s/../%s", dir, EXAMPLES);
			free(dir);
			return p;
		}
		free(p);
		free(dir);
	}
	return aim_xstrdup(AIM_DATADIR "/" EXAMPLES);
}

/* "a, b, c" of the strings of array a (a JSON array of strings, or objects
 * whose member key is the string), on one line. */
static void
print_list(const json_t *a, const char *key)
{
	const json_t *v;
	size_t i;

	json_array_foreach(a, i, v) {
		if (key != NULL)
			v = json_object_get(v, key);
		printf("%s%s", i ? ", " : "", json_string_value(v));
	}
	printf("\n");
}

static void
print_summary(const json_t *r)
{
	const json_t *tools = json_object_get(r, "tools"), *t, *chain;
	const json_t *missing = json_object_get(r, "missing");
	const char *cap;
	size_t i, ntools = json_array_size(tools);

	printf("%s %s\n  from %s\n", json_is_true(json_object_get(r,
	    "dry_run")) ? "would make" : "made",
	    json_string_value(json_object_get(r, "registry")),
	    json_string_value(json_object_get(r, "template")));
	printf("tools found: %zu of %zu\n", ntools,
	    ntools + json_array_size(missing));
	json_array_foreach(tools, i, t) {
		printf("  %-14s %-40s ", json_string_value(json_object_get(t,
		    "tool_id")), json_string_value(json_object_get(t, "path")));
		print_list(json_object_get(t, "capabilities"), NULL);
	}
	if (json_array_size(missing) > 0) {
		printf("not found: ");
		print_list(missing, "tool_id");
	}
	printf("fallback chains:\n");
	json_object_foreach((json_t *)json_object_get(r, "capabilities"), cap,
	    chain) {
		printf("  %-16s", cap);
		json_array_foreach(chain, i, t)
			printf("%s%s", i ? " -> " : "", json_string_value(t));
		printf("\n");
	}
	if (json_array_size(json_object_get(r, "uncovered")) > 0) {
		printf("no tool found for: ");
		print_list(json_object_get(r, "uncovered"), NULL);
	}
	printf("next:\n"
	    "  aim status                 what aim sees: tools, chains, health\n"
	    "  aim-secret set NAME        keep an API key in the vault\n"
	    "  log in to each AI coding CLI once, or give it its key "
	    "(aim-adapter(7))\n"
	    "  aim run CAPABILITY FILE... route, run and audit a request, "
	    "e.g. aim run linting src/main.c\n");
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "from", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	char *from = NULL, *why;
	unsigned flags = 0;
	json_t *report;
	int ch, json = 0, rc;

	aim_std_fds();
	while ((ch = getopt_long(argc, argv, "fhjnV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			flags |= AIM_INIT_FORCE;
			break;
		case 'F':
			free(from);
			from = aim_xstrdup(optarg);
			break;
		case 'h':
			usage(0);
		case 'j':
			json = 1;
			break;
		case 'n':
			flags |= AIM_INIT_DRY_RUN;
			break;
		case 'V':
			printf("%s %s\n", progname, AIM_VERSION);
			return 0;
		default:
			usage(AIM_EXIT_USAGE);
		}
	}
	if (argc - optind > 1)
		usage(AIM_EXIT_USAGE);
	if (from == NULL)
		from = default_template();
	rc = aim_init(optind < argc ? argv[optind] : ".", from,
	    AIM_DATADIR "/adapter.sh", flags, &report, &why);
	free(from);
	if (rc != 0) {
		warnx("%s", why);
		free(why);
		return rc;
	}
	if (json)
		aim_emit(stdout, report);
	else
		print_summary(report);
	json_decref(report);
	return aim_close_stdout() == -1 ? AIM_EXIT_IO : AIM_EXIT_OK;
}
