/* test-scan.c: unit tests of the scanner's lib/ parts (semver.c), as TAP. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "aim.h"
#include "tap.h"


static void
no_warn(const char *path, const char *message, void *arg)
{
}

/* aim_dups_find leaves the caller's walk no pointer into its stack. */
static void
dups_walk(void)
{
	char dir[] = "/tmp/aim-unit-XXXXXX";
	const char *roots[1] = { dir };
	struct aim_walk w;
	json_t *groups;

	memset(&w, 0, sizeof(w));
	w.warn = no_warn;
	if (mkdtemp(dir) == NULL) {
		ok(0, "dups: setup");
		return;
	}
	groups = aim_dups_find(roots, 1, 1, NULL, 0, &w);
	ok(json_array_size(groups) == 0 && w.visit == NULL &&
	    w.visit_arg == NULL, "dups: no groups, and no visit left in the walk");
	json_decref(groups);
	rmdir(dir);
}

/* find TEXT -> WANT ("" when none) */
static void
find(const char *text, const char *want)
{
	struct aim_semver v;
	char out[64], name[256];
	int rc = aim_semver_find(text, strlen(text), &v, out, sizeof(out));

	snprintf(name, sizeof(name), "version in \"%s\" is \"%s\"", text, want);
	ok(*want == '\0' ? rc == -1 : rc == 0 && strcmp(out, want) == 0, name);
	if (rc == 0 && strcmp(out, want) != 0)
		printf("#   got '%s'\n", out);
}

/* sat VERSION PIN -> WANT (1, 0, -1) */
static void
sat(const char *version, const char *pin, int want)
{
	struct aim_semver v;
	char name[256], *why = NULL;
	int got;

	aim_semver_find(version, strlen(version), &v, NULL, 0);
	got = aim_semver_satisfies(&v, pin, &why);
	snprintf(name, sizeof(name), "%s %s \"%s\"", version,
	    want == 1 ? "satisfies" : want == 0 ? "does not satisfy" :
	    "against bad pin", pin);
	ok(got == want, name);
	if (got != want)
		printf("#   got %d\n", got);
	free(why);
}

int
main(void)
{
	struct aim_semver a, b;

	find("aider 0.86.1", "0.86.1");
	find("v2.1", "2.1");
	find("git version 2.39.5", "2.39.5");
	find("tool 1.2.3-rc.1+build.5", "1.2.3-rc.1");
	find("release 7, build 1.4.2", "1.4.2");
	find("version 12", "12");
	find("no digits here", "");
	find("Python 3.11.2.", "3.11.2");

	sat("1.2.3", "1.2.3", 1);
	sat("1.2.4", "1.2.3", 0);
	sat("1.2.4", "=1.2", 1);
	sat("1.3.0", "1.2", 0);
	sat("1.2.3", ">=1.2.3", 1);
	sat("1.2.2", ">=1.2.3", 0);
	sat("1.2.3", ">1.2.3", 0);
	sat("1.3.0", ">1.2", 1);
	sat("1.2.9", ">1.2", 0);
	sat("1.2.9", "<=1.2", 1);
	sat("1.3.0", "<=1.2", 0);
	sat("1.1.9", "<1.2", 1);
	sat("1.2.0", "<1.2", 0);
	sat("1.2.3", ">=1.2.3 <1.3.0", 1);
	sat("1.3.0", ">=1.2.3 <1.3.0", 0);
	sat("1.2.3", ">= 1.2.3 < 2", 1);
	sat("1.2.9", "~1.2.3", 1);
	sat("1.3.0", "~1.2.3", 0);
	sat("1.2.2", "~1.2.3", 0);
	sat("1.9.0", "~1", 1);
	sat("2.0.0", "~1", 0);
	sat("1.9.9", "^1.2.3", 1);
	sat("2.0.0", "^1.2.3", 0);
	sat("0.2.9", "^0.2.3", 1);
	sat("0.3.0", "^0.2.3", 0);
	sat("0.0.3", "^0.0.3", 1);
	sat("0.0.4", "^0.0.3", 0);
	sat("0.0.9", "^0.0", 1);
	sat("0.1.0", "^0.0", 0);
	sat("0.9.0", "^0", 1);
	sat("1.0.0", "^0", 0);
	sat("1.5.0", "1.x", 1);
	sat("2.0.0", "1.x", 0);
	sat("9.9.9", "*", 1);
	sat("1.3.0-beta.1", ">=1.2.0", 0);
	sat("1.3.0-beta.2", ">=1.3.0-beta.1", 1);
	sat("1.3.0-alpha", ">=1.3.0-beta.1", 0);
	sat("1.3.0", ">=1.3.0-beta.1", 1);
	sat("1.2.3", "", -1);
	sat("1.2.3", "latest", -1);
	sat("1.2.3", ">=1.2.3 || <1", -1);
	sat("1.2.3", "!1.2.3", -1);

	aim_semver_find("1.0.0-alpha", 11, &a, NULL, 0);
	aim_semver_find("1.0.0-alpha.1", 13, &b, NULL, 0);
	ok(aim_semver_cmp(&a, &b) < 0, "1.0.0-alpha < 1.0.0-alpha.1 (SemVer 11.4.4)");
	aim_semver_find("1.0.0-alpha.beta", 16, &a, NULL, 0);
	aim_semver_find("1.0.0-beta.2", 12, &b, NULL, 0);
	ok(aim_semver_cmp(&a, &b) < 0, "1.0.0-alpha.beta < 1.0.0-beta.2");
	aim_semver_find("1.0.0-beta.11", 13, &a, NULL, 0);
	aim_semver_find("1.0.0-rc.1", 10, &b, NULL, 0);
	ok(aim_semver_cmp(&a, &b) < 0, "1.0.0-beta.11 < 1.0.0-rc.1");
	aim_semver_find("1.0.0-beta.2", 12, &a, NULL, 0);
	aim_semver_find("1.0.0-beta.11", 13, &b, NULL, 0);
	ok(aim_semver_cmp(&a, &b) < 0, "1.0.0-beta.2 < 1.0.0-beta.11 (numeric)");
	aim_semver_find("1.0.0-rc.1", 10, &a, NULL, 0);
	aim_semver_find("1.0.0", 5, &b, NULL, 0);
	ok(aim_semver_cmp(&a, &b) < 0, "1.0.0-rc.1 < 1.0.0");
	ok(aim_path_tail_matches("a/node_modules/.cache", "node_modules/.cache"),
	    "a/node_modules/.cache ends in node_modules/.cache");
	ok(!aim_path_tail_matches("a/xnode_modules/.cache", "node_modules/.cache"),
	    "a/xnode_modules/.cache does not");
	ok(aim_path_tail_matches("dist/", "dist"), "dist/ ends in dist");
	ok(!aim_path_tail_matches("a/xdist", "dist"), "a/xdist does not end in dist");
	dups_walk();
	printf("1..%d\n", ntests);
	return nfailed != 0;
}
