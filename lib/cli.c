/*
 * cli.c: the subcommand convention of aim-audit, aim-scan and aim-secret
 * (aim(7) COMMAND LINES): global options before the command (or after
 * it), a command's own options after it, PROG COMMAND --help.  Each
 * program keeps its table of commands; this file finds a command, prints
 * its help and says where a misplaced option goes.  Also where the running
 * program is, for the front commands.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "aim-util.h"

const struct aim_subcmd *
aim_subcmd_find(const struct aim_subcmd *cmds, const char *name)
{
	for (; cmds->name != NULL; cmds++)
		if (strcmp(cmds->name, name) == 0)
			return cmds;
	return NULL;
}

void
aim_subcmd_help(const char *progname, const char *globals_synopsis,
    const struct aim_subcmd *sub, const char *global_help)
{
	printf("usage: %s%s%s %s\n\n", progname, *globals_synopsis ? " " : "",
	    globals_synopsis, sub->synopsis);
	if (*sub->help != '\0')
		printf("%s options:\n%s\n", sub->name, sub->help);
	printf("global options:\n%s\nSee %s(1).\n", global_help, progname);
	exit(0);
}

/*
 * The command whose own option opt is ("-W", "--warn": its first len
 * bytes), or NULL; *name is then the long option's full name.
 */
static const struct aim_subcmd *
opt_owner(const struct aim_subcmd *cmds, const char *opt, size_t len,
    const char **name)
{
	const struct option *o;

	for (; cmds->name != NULL; cmds++) {
		if (len == 2 && opt[1] != ':' &&
		    strchr(cmds->shorts, opt[1]) != NULL)
			return cmds;
		if (len > 2 && opt[1] == '-')
			for (o = cmds->longs; o->name != NULL; o++)
				if (strncmp(o->name, opt + 2, len - 2) == 0) {
					*name = o->name;
					return cmds;
				}
	}
	return NULL;
}

void
aim_subcmd_bad_option(const char *progname, const struct aim_subcmd *cmds,
    const struct aim_subcmd *cur, char *argv[], int ch)
{
	const struct aim_subcmd *owner;
	const char *arg = argv[optind - 1], *name = NULL;
	char shopt[3] = { '-', (char)optopt, '\0' };
	int islong = optind > 0 && strncmp(arg, "--", 2) == 0 &&
	    (optopt == 0 || ch == ':' || strchr(arg, '=') != NULL);
	const char *opt = islong ? arg : shopt;
	size_t len = islong ? strcspn(arg, "=") : 2;

	if ((owner = opt_owner(cmds, opt, len, &name)) != NULL &&
	    owner != cur) {
		if (name != NULL)
			errx(AIM_EXIT_USAGE, "--%s is an option of %s: %s %s "
			    "--%s", name, owner->name, progname, owner->name,
			    name);
		errx(AIM_EXIT_USAGE, "%s is an option of %s: %s %s %s", opt,
		    owner->name, progname, owner->name, opt);
	}
	if (ch == ':' && islong)
		warnx("option '%s' requires an argument", arg);
	else if (ch == ':')
		warnx("option requires an argument -- '%c'", optopt);
	else if (islong && optopt != 0)
		warnx("option '%.*s' doesn't allow an argument", (int)len,
		    arg);
	else if (islong)
		warnx("unrecognized option '%s'", arg);
	else
		warnx("invalid option -- '%c'", optopt);
}

char *
aim_self_dir(void)
{
	char buf[PATH_MAX], *slash;
	ssize_t n;

	if ((n = readlink("/proc/self/exe", buf, sizeof(buf) - 1)) <= 0)
		return NULL;
	buf[n] = '\0';
	if ((slash = strrchr(buf, '/')) == NULL)
		return NULL;
	*slash = '\0';
	return aim_xstrdup(*buf ? buf : "/");
}
