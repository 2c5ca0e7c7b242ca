/*
 * init.c: a project's first registry (aim(1) "init"), made from a template
 * registry (the example one) by keeping the tools found on PATH and the
 * fallback chains through them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aim-setup.h"

#define RULES_REL	"AIM_cross-tool/AIM_coordination-rules.json"
#define KIT_REL		"AIM_adapters/lib.sh"

/* What one aim_init call works on. */
struct init {
	const char *from;	/* the template registry directory */
	char	*to;		/* DIR/.AIM_ai-tools-registry */
	unsigned flags;
	struct aim_registry tpl;
	json_t	*report;
	json_t	*written;	/* report.written */
	char	*why;
};

static int
fail(struct init *in, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct init *in, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(in->why);
	in->why = aim_vxsprintf(fmt, ap);
	va_end(ap);
	return status;
}

/*
 * Write len bytes to in->to/rel with mode, atomically (aim_write_atomic),
 * making its directory first; the name goes to report.written.  0, or
 * AIM_EXIT_IO with in->why.
 */
static int
put(struct init *in, const char *rel, const void *data, size_t len,
    mode_t mode)
{
	char *path = aim_xsprintf("%s/%s", in->to, rel), *dir;
	int rc = 0;

	if (aim_mkdirs_parent(path, &dir) == -1) {
		rc = fail(in, AIM_EXIT_IO, "%s: %s", dir, strerror(errno));
		free(dir);
	}
	if (rc == 0 && aim_write_atomic(path, data, len, mode, 0, NULL) == -1)
		rc = fail(in, AIM_EXIT_IO, "%s: %s", path, strerror(errno));
	if (rc == 0)
		json_array_append_new(in->written, json_string(path));
	free(path);
	return rc;
}

/* put() of a JSON document, indented as the example registry is. */
static int
put_json(struct init *in, const char *rel, const json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2));
	size_t len = strlen(text);
	int rc;

	text = aim_xrealloc(text, len + 2);
	memcpy(text + len, "\n", 2);
	rc = put(in, rel, text, len + 1, 0644);
	free(text);
	return rc;
}

/* put() of a copy of the file src, mode kept executable or not. */
static int
put_copy(struct init *in, const char *rel, const char *src)
{
	struct stat sb;
	char *buf;
	size_t len;
	int rc;

	if (stat(src, &sb) == -1 ||
	    aim_read_file(AT_FDCWD, src, 0, SIZE_MAX, &buf, &len) == -1)
		return fail(in, AIM_EXIT_CONFIG, "%s: %s", src,
		    strerror(errno));
	rc = put(in, rel, buf, len, sb.st_mode & 0111 ? 0755 : 0644);
	free(buf);
	return rc;
}

/*
 * The first detectCommands entry of tool found on PATH (malloc'd), or
 * NULL with *why "claude: not found on PATH" (malloc'd; aim_tool_detect).  An endpoint
 * tool (aim-registry(5) "endpoint") is never taken as found.
 */
static char *
detect(struct init *in, json_t *tool, const char *tool_id, char **why)
{
	*why = NULL;
	/* Its command (curl) says nothing of whether the server runs. */
	if (json_is_string(json_object_get(tool, "endpoint"))) {
		*why = aim_xsprintf("an endpoint (%s): add it when it serves "
		    "(aim-registry(5))", json_string_value(json_object_get(tool,
		    "endpoint")));
		return NULL;
	}
	return aim_tool_detect(in->from, tool, tool_id, NULL, why, NULL, NULL);
}

/*
 * The tools of the template found on PATH, their adapters copied: the new
 * registry's "tools", with report.tools and report.missing filled.
 */
static int
keep_tools(struct init *in, json_t *tools)
{
	json_t *found = json_object_get(in->report, "tools");
	json_t *missing = json_object_get(in->report, "missing");
	json_t *tool, *copy;
	const char *id, *script;
	char *path, *why, *src;
	size_t fromlen = strlen(in->from);
	int rc = 0;

	json_object_foreach(in->tpl.tools, id, tool) {
		if ((path = detect(in, tool, id, &why)) == NULL) {
			json_array_append_new(missing, json_pack("{s:s, s:o, s:s}",
			    "tool_id", id, "name", json_deep_copy(
			    json_object_get(tool, "name")), "why", why));
			free(why);
			continue;
		}
		json_array_append_new(found, json_pack("{s:s, s:O, s:s, s:O}",
		    "tool_id", id, "name", json_object_get(tool, "name"),
		    "path", path, "capabilities",
		    json_object_get(tool, "capabilities")));
		free(path);
		copy = json_deep_copy(tool);
		json_object_set_new(tools, id, copy);
		/* An adapter inside the template is copied to the same place. */
		script = json_string_value(json_object_get(tool,
		    "adapterScript"));
		if (script == NULL || rc != 0 || in->flags & AIM_INIT_DRY_RUN)
			continue;
		src = aim_expand(script, in->from);
		if (strncmp(src, in->from, fromlen) == 0 && src[fromlen] == '/')
			rc = put_copy(in, src + fromlen + 1, src);
		free(src);
	}
	return rc;
}

/*
 * The template's fallback chains through the tools kept, primary first;
 * a capability no kept tool serves goes to report.uncovered.
 */
static json_t *
keep_rules(struct init *in, json_t *tools)
{
	json_t *rules = json_deep_copy(in->tpl.rules_json);
	json_t *caps = json_object_get(rules, "capabilities");
	json_t *chains = json_object_get(in->report, "capabilities");
	json_t *uncovered = json_object_get(in->report, "uncovered");
	json_t *rule, *chain, *fb, *t;
	const char *cap;
	void *next;
	size_t i;

	json_object_foreach_safe(caps, next, cap, rule) {
		chain = json_array();
		if (json_is_string(json_object_get(rule, "primary")))
			json_array_append(chain, json_object_get(rule,
			    "primary"));
		json_array_foreach(json_object_get(rule, "fallback"), i, t)
			json_array_append(chain, t);
		fb = json_array();
		json_array_foreach(chain, i, t) {
			if (json_object_get(tools, json_string_value(t)) !=
			    NULL)
				json_array_append(fb, t);
		}
		json_decref(chain);
		if (json_array_size(fb) == 0) {
			json_array_append_new(uncovered, json_string(cap));
			json_object_del(caps, cap);
			json_decref(fb);
			continue;
		}
		json_object_set_new(chains, cap, json_deep_copy(fb));
		json_object_set(rule, "primary", json_array_get(fb, 0));
		/* fallback false (no fallback) stays false. */
		if (json_is_array(json_object_get(rule, "fallback"))) {
			json_t *rest = json_array();

			for (i = 1; i < json_array_size(fb); i++)
				json_array_append(rest, json_array_get(fb, i));
			json_object_set_new(rule, "fallback", rest);
		}
		json_decref(fb);
	}
	return rules;
}

/* Files of the template copied as they are, when it has them. */
static int
copy_extras(struct init *in, const char *kit)
{
	static const char *const extras[] = { ".gitignore", "aim_config.json",
	    "AIM_adapters/error-patterns", NULL };
	char *src;
	int rc = 0;
	size_t i;

	for (i = 0; rc == 0 && extras[i] != NULL; i++) {
		src = aim_xsprintf("%s/%s", in->from, extras[i]);
		if (access(src, F_OK) == 0)
			rc = put_copy(in, extras[i], src);
		free(src);
	}
	src = aim_xsprintf("%s/%s", in->from, KIT_REL);
	if (rc == 0 && access(src, F_OK) == 0)
		rc = put_copy(in, KIT_REL, src);
	else if (rc == 0 && kit != NULL && access(kit, F_OK) == 0)
		rc = put_copy(in, KIT_REL, kit);
	free(src);
	return rc;
}

/*
 * The audit directory with the .gitignore aim-audit gives a new one
 * (aim_audit_gitignore), so that entries are never committed by accident.
 * An existing .gitignore is left as it is.
 */
static int
audit_dir(struct init *in)
{
	char *dir = aim_xsprintf("%s/AIM_audit", in->to);
	char *ign = aim_xsprintf("%s/.gitignore", dir), *why = NULL;
	int rc = 0;

	if (aim_mkdirs(dir) == -1)
		rc = fail(in, AIM_EXIT_IO, "%s: %s", dir, strerror(errno));
	else if (access(ign, F_OK) == -1) {
		if (aim_audit_gitignore(dir, &why) == -1)
			rc = fail(in, AIM_EXIT_IO, "%s", why);
		else
			json_array_append_new(in->written, json_string(ign));
		free(why);
	}
	free(ign);
	free(dir);
	return rc;
}

static int
make_registry(struct init *in, const char *kit)
{
	struct aim_problems probs = { NULL, 0, 0 };
	json_t *reg, *tools, *rules;
	int rc;

	if (aim_registry_load(&in->tpl, in->from, &probs) == -1) {
		if (probs.n == 0)
			rc = fail(in, AIM_EXIT_CONFIG, "template %s: unusable",
			    in->from);
		else
			rc = fail(in, AIM_EXIT_CONFIG, "template %s:%d:%d: %s",
			    probs.v[0].file, probs.v[0].line,
			    probs.v[0].column, probs.v[0].message);
		aim_problems_free(&probs);
		return rc;
	}
	aim_problems_free(&probs);
	reg = json_deep_copy(in->tpl.registry_json);
	json_object_del(reg, "crossToolRulesPath");
	tools = json_object();
	json_object_set_new(reg, "tools", tools);
	rc = keep_tools(in, tools);
	rules = keep_rules(in, tools);
	if (rc == 0 && !(in->flags & AIM_INIT_DRY_RUN))
		rc = put_json(in, "AIM_registry.json", reg);
	if (rc == 0 && !(in->flags & AIM_INIT_DRY_RUN))
		rc = put_json(in, RULES_REL, rules);
	if (rc == 0 && !(in->flags & AIM_INIT_DRY_RUN))
		rc = copy_extras(in, kit);
	if (rc == 0 && !(in->flags & AIM_INIT_DRY_RUN))
		rc = audit_dir(in);
	json_decref(reg);
	json_decref(rules);
	return rc;
}

int
aim_init(const char *dir, const char *from, const char *kit, unsigned flags,
    json_t **report, char **why)
{
	struct init in;
	char real[PATH_MAX], to[PATH_MAX];
	struct stat sb;
	int rc;

	memset(&in, 0, sizeof(in));
	*report = NULL;
	*why = NULL;
	in.flags = flags;
	in.to = aim_xsprintf("%s/%s", dir, AIM_REGISTRY_DIRNAME);
	in.written = json_array();
	in.report = json_pack("{s:s, s:s, s:b, s:[], s:[], s:{}, s:[], s:o}",
	    "registry", in.to, "template", from, "dry_run",
	    (flags & AIM_INIT_DRY_RUN) != 0, "tools", "missing",
	    "capabilities", "uncovered", "written", in.written);
	if (stat(dir, &sb) == -1)
		rc = fail(&in, AIM_EXIT_USAGE, "%s: %s", dir, strerror(errno));
	else if (!S_ISDIR(sb.st_mode))
		rc = fail(&in, AIM_EXIT_USAGE, "%s: not a directory", dir);
	else if (realpath(from, real) == NULL)
		rc = fail(&in, AIM_EXIT_CONFIG, "template %s: %s", from,
		    strerror(errno));
	else if (lstat(in.to, &sb) == 0 && !(flags & AIM_INIT_FORCE))
		rc = fail(&in, AIM_EXIT_FAILED, "%s already exists: --force "
		    "rewrites its registry, rules, config and adapters", in.to);
	else if (realpath(in.to, to) != NULL && strcmp(to, real) == 0)
		rc = fail(&in, AIM_EXIT_USAGE, "%s is the template itself",
		    in.to);
	else {
		in.from = real;
		json_object_set_new(in.report, "template", json_string(real));
		rc = make_registry(&in, kit);
	}
	if (in.tpl.dir != NULL)
		aim_registry_free(&in.tpl);
	free(in.to);
	if (rc != 0) {
		json_decref(in.report);
		*why = in.why;
		return rc;
	}
	*report = in.report;
	return 0;
}
