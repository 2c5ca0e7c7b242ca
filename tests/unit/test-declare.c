/*
 * test-declare.c: lib/declare.c, declarative adapters (aim-registry(5)
 * "The adapter object"): the runs an argv template gives, the files a
 * run changed, and the adapter-protocol reply of the finished runs.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "aim.h"
#include "tap.h"

#ifndef TOP
#define TOP "."
#endif

/* v compact with sorted keys, in a static buffer, for is_str. */
static const char *
dump(json_t *v)
{
	static char buf[4096];
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENCODE_ANY) : NULL;

	snprintf(buf, sizeof(buf), "%s", s ? s : "(null)");
	free(s);
	return buf;
}

static json_t *
j(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

	if (v == NULL)
		printf("# bad test JSON: %s: %s\n", text, e.text);
	return v;
}

/* The runs of adapter for rec (JSON texts), compact; why into *why. */
static const char *
runs(const char *adapter, const char *rec, char **why)
{
	json_t *a = j(adapter), *r = j(rec), *out;
	const char *s;

	out = aim_declare_runs(a, r, why);
	s = dump(out);
	json_decref(out);
	json_decref(a);
	json_decref(r);
	return s;
}

static void
put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd == -1 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		printf("# can't write %s\n", path);
	close(fd);
}

/*
 * A scratch directory holding the files the requests name (the runs
 * refuse a file that is not there), made the working directory; the old
 * one (malloc'd) for scratch_leave, or NULL when it could not be made.
 */
static char *
scratch_enter(void)
{
	static const char *const names[] = { "a.sh", "b c.bash", "x.py",
	    "a.py", "b.pyi", NULL };
	char dir[] = "/tmp/aim-test-declare-XXXXXX", *old = getcwd(NULL, 0);
	int i;

	if (mkdtemp(dir) == NULL || chdir(dir) == -1) {
		ok(0, "a scratch directory");
		free(old);
		return NULL;
	}
	for (i = 0; names[i] != NULL; i++)
		put(names[i], "x\n");
	return old;
}

static void
scratch_leave(char *old)
{
	if (old != NULL && chdir(old) == -1)
		printf("# can't go back to %s\n", old);
	free(old);
}

static void
test_runs(void)
{
	const char *rec = "{\"payload\":{\"prompt\":\"fix it\","
	    "\"files\":[\"a.sh\",\"b c.bash\"]}}";
	char *why, *cwd = getcwd(NULL, 0), want[8192];

	is_str(runs("{\"argv\":[\"shellcheck\",\"-f\",\"json1\",\"{files}\"]}",
	    rec, &why), "[{\"argv\":[\"shellcheck\",\"-f\",\"json1\",\"a.sh\","
	    "\"b c.bash\"],\"stdin\":null}]",
	    "runs: {files} is one argument per file, one run");
	is_str(runs("{\"argv\":[\"t\",\"--file={files}\"]}", rec, &why),
	    "[{\"argv\":[\"t\",\"--file=a.sh\",\"--file=b c.bash\"],"
	    "\"stdin\":null}]", "runs: {files} inside a string: one each");
	is_str(runs("{\"argv\":[\"fmt\",\"-i\",\"{file}\"],\"stdin\":"
	    "\"prompt\"}", rec, &why), "[{\"argv\":[\"fmt\",\"-i\",\"a.sh\"],"
	    "\"stdin\":\"fix it\"},{\"argv\":[\"fmt\",\"-i\",\"b c.bash\"],"
	    "\"stdin\":\"fix it\"}]", "runs: {file} is one run per file, "
	    "stdin the prompt");
	snprintf(want, sizeof(want), "[{\"argv\":[\"ai\",\"-p\",\"fix it\","
	    "\"--dir=%s\",\"{\\\"a\\\":1}\",\"{other}\"],\"stdin\":null}]", cwd);
	is_str(runs("{\"argv\":[\"ai\",\"-p\",\"{prompt}\",\"--dir={cwd}\","
	    "\"{\\\"a\\\":1}\",\"{other}\"]}", rec, &why), want,
	    "runs: {prompt} and {cwd}; other braces stay");
	is_str(runs("{\"argv\":[\"ai\",\"{prompt}\"]}", "{\"payload\":{}}",
	    &why), "[{\"argv\":[\"ai\",\"\"],\"stdin\":null}]",
	    "runs: no prompt is empty; no files are fine without {files}");
	is_str(runs("{\"argv\":[\"t\",\"{files}\"],\"file_types\":[\".sh\","
	    "\".BASH\"]}", rec, &why), "[{\"argv\":[\"t\",\"a.sh\","
	    "\"b c.bash\"],\"stdin\":null}]", "runs: file_types, case ignored");
	free(cwd);
}

/* adapter for rec gives NULL, and why is want. */
static void
is_refused(const char *adapter, const char *rec, const char *want,
    const char *name)
{
	char *why = NULL;

	is_str(runs(adapter, rec, &why), "(null)", name);
	is_str(why, want, name);
	free(why);
}

static void
test_refused(void)
{
	const char *rec = "{\"payload\":{\"files\":[\"a.sh\",\"x.py\"]}}";

	is_refused("{\"argv\":[\"t\",\"{files}\"],\"file_types\":[\".sh\"]}",
	    rec, "bad_request: not a file of the tool's types: x.py",
	    "refused: file_types");
	is_refused("{\"argv\":[\"t\",\"{file}\"]}", "{\"payload\":"
	    "{\"files\":[]}}", "bad_request: no files in the request",
	    "refused: {file} without files");
	is_refused("{\"argv\":[\"t\",\"{files}\"]}", "{\"payload\":"
	    "{\"files\":[1]}}", "bad_request: payload.files holds a value "
	    "that is not a string", "refused: a file not a string");
	is_refused("{\"argv\":[]}", rec, "the adapter has no argv",
	    "refused: empty argv");
	is_refused("{\"argv\":[\"t\",2]}", rec, "the adapter's argv holds a "
	    "value that is not a string", "refused: argv not strings");
}

static void
test_snapshot(void)
{
	char dir[] = "/tmp/aim-test-declare-XXXXXX", *old = getcwd(NULL, 0);
	struct aim_snapshot *s;
	json_t *files, *ch;

	if (mkdtemp(dir) == NULL || chdir(dir) == -1) {
		ok(0, "snapshot: a scratch directory");
		free(old);
		return;
	}
	put("a", "one\n");
	put("b", "two\n");
	put("d", "gone soon\n");
	files = j("[\"a\",\"b\",\"c\",\"d\",7,\"./a\"]");
	s = aim_snapshot_take(files);
	ch = aim_snapshot_changed(s);
	is_str(dump(ch), "[]", "snapshot: nothing changed yet");
	json_decref(ch);
	put("a", "ONE\n");
	put("b", "two\n");	/* written again, the same */
	put("c", "new\n");
	unlink("d");
	ch = aim_snapshot_changed(s);
	is_str(dump(ch), "[\"a\",\"c\",\"d\",\"./a\"]", "snapshot: changed, "
	    "made and removed, as given; rewritten alike is not");
	json_decref(ch);
	aim_snapshot_free(s);
	ch = aim_snapshot_changed(NULL);
	is_str(dump(ch), "[]", "snapshot: NULL changed nothing");
	json_decref(ch);
	aim_snapshot_free(NULL);
	json_decref(files);
	unlink("a");
	unlink("b");
	unlink("c");
	if (chdir(old) == 0)
		rmdir(dir);
	free(old);
}

/* The reply of adapter for the runs done (JSON texts), compact. */
static const char *
output(const char *adapter, const char *done, const char *changed)
{
	json_t *a = j(adapter), *d = j(done), *c = changed ? j(changed) : NULL;
	json_t *out = aim_declare_output(a, d, c);
	const char *s = dump(out);

	json_decref(out);
	json_decref(a);
	json_decref(d);
	json_decref(c);
	return s;
}

static void
test_output(void)
{
	const char *lint = "{\"argv\":[\"l\"],\"findings_exit\":[1],"
	    "\"findings\":{\"format\":\"gcc\"}}";
	const char *fmt = "{\"argv\":[\"f\"]}";

	is_str(output(lint, "[{\"exit_code\":1,\"stdout\":\"a.sh:3:10: error: "
	    "bad [SC2045]\\n\",\"stderr\":\"\"},{\"exit_code\":0,\"stdout\":"
	    "\"\"}]", NULL), "{\"content\":{\"exit_code\":1,\"files_modified\":"
	    "[],\"findings\":[{\"column\":10,\"file\":\"a.sh\",\"line\":3,"
	    "\"message\":\"bad\",\"rule\":\"SC2045\",\"severity\":\"error\"}]},"
	    "\"message\":\"1 finding(s), 0 file(s) modified\",\"success\":true}",
	    "output: findings_exit is success, findings of every run");
	is_str(output(fmt, "[{\"exit_code\":0}]", "[\"a.c\"]"), "{\"content\":"
	    "{\"exit_code\":0,\"files_modified\":[\"a.c\"]},\"message\":"
	    "\"1 file(s) modified\",\"success\":true}",
	    "output: a formatter, success_exit [0] by default, no findings");
	is_str(output("{\"argv\":[\"x\"],\"success_exit\":[0,3]}",
	    "[{\"exit_code\":3}]", "[]"), "{\"content\":{\"exit_code\":3,"
	    "\"files_modified\":[]},\"message\":\"0 file(s) modified\","
	    "\"success\":true}", "output: success_exit named");
	is_str(output(lint, "[{\"exit_code\":0},{\"exit_code\":2,\"stderr\":"
	    "\"x\\nno such file: q\\n\\n\"}]", NULL), "{\"content\":"
	    "{\"exit_code\":2,\"files_modified\":[]},\"message\":\"no such "
	    "file: q\",\"success\":false}",
	    "output: another exit fails, the last stderr line, no class");
	is_str(output(fmt, "[{\"exit_code\":4,\"stderr\":\"\"}]", NULL),
	    "{\"content\":{\"exit_code\":4,\"files_modified\":[]},\"message\":"
	    "\"exited with code 4\",\"success\":false}",
	    "output: no stderr: the exit code");
	is_str(output(fmt, "[{\"exit_code\":null,\"signal\":\"SIGSEGV\"}]",
	    NULL), "{\"content\":{\"exit_code\":null,\"files_modified\":[]},"
	    "\"message\":\"killed by SIGSEGV\",\"success\":false}",
	    "output: a signal");
	is_str(output(fmt, "[{\"exit_code\":null,\"signal\":\"SIGTERM\","
	    "\"timed_out\":true}]", NULL), "{\"content\":{\"exit_code\":null,"
	    "\"files_modified\":[]},\"error_class\":\"timeout\",\"message\":"
	    "\"timed out\",\"success\":false}", "output: timed out: timeout");
	is_str(output("{\"argv\":[\"l\"],\"findings\":{\"format\":\"json\","
	    "\"from\":\"stderr\",\"fields\":{}}}", "[{\"exit_code\":0,"
	    "\"stdout\":\"[]\",\"stderr\":\"{oops\"}]", NULL),
	    "{\"content\":{\"exit_code\":0,\"files_modified\":[]},"
	    "\"message\":\"can't read the tool's findings: json: "
	    "string or '}' expected near 'oops' at line 1, column 5\","
	    "\"success\":false}",
	    "output: from stderr; a report not read is a failure");
}

/* ---- examples/declarative-registry.json on the real tools' output ---- */

#define FIX	TOP "/tests/fixtures/findings/"

static json_t *declarative;

/* The adapter object of tool in the declarative registry (borrowed). */
static json_t *
adapter_of(const char *tool)
{
	return json_object_get(json_object_get(json_object_get(declarative,
	    "tools"), tool), "adapter");
}

/*
 * One linter's real run: its report (fixture) on the stream it wrote it
 * to, its exit code; the reply has n findings, the first one first.
 */
static void
real_run(const char *tool, const char *fixture, const char *stream,
    int exit_code, size_t n, const char *first)
{
	json_t *done, *out, *findings;
	char *text = NULL, name[128];
	size_t len = 0;

	snprintf(name, sizeof(name), "declarative: %s", tool);
	if (aim_read_file(AT_FDCWD, fixture, 0, 1 << 20, &text, &len) == -1) {
		ok(0, name);
		return;
	}
	done = json_pack("[{s:i,s:o,s:b}]", "exit_code", exit_code, stream,
	    json_stringn(text, len), "timed_out", 0);
	out = aim_declare_output(adapter_of(tool), done, NULL);
	findings = json_object_get(json_object_get(out, "content"),
	    "findings");
	ok(json_is_true(json_object_get(out, "success")) &&
	    json_array_size(findings) == n, name);
	if (json_array_size(findings) != n)
		printf("#   %s\n", dump(out));
	is_str(dump(json_array_get(findings, 0)), first, name);
	json_decref(out);
	json_decref(done);
	free(text);
}

/* The registry loads clean: no problem, no unknown member. */
static void
test_declarative_loads(void)
{
	char dir[] = "/tmp/aim-test-declare-XXXXXX", path[128];
	struct aim_problems probs = { NULL, 0, 0 };
	struct aim_registry reg;
	char *text;
	size_t len;
	int rc = -1;

	memset(&reg, 0, sizeof(reg));
	if (mkdtemp(dir) != NULL && aim_read_file(AT_FDCWD, TOP
	    "/examples/declarative-registry.json", 0, 1 << 20, &text,
	    &len) == 0) {
		snprintf(path, sizeof(path), "%s/AIM_registry.json", dir);
		put(path, text);
		free(text);
		snprintf(path, sizeof(path), "%s/AIM_cross-tool", dir);
		mkdir(path, 0700);
		snprintf(path, sizeof(path), "%s/AIM_cross-tool/"
		    "AIM_coordination-rules.json", dir);
		put(path, "{\"capabilities\":{\"linting\":{\"primary\":"
		    "\"shellcheck\"}}}\n");
		rc = aim_registry_load(&reg, dir, &probs);
	}
	ok(rc == 0 && probs.n == 0 && reg.unknown.n == 0,
	    "declarative: the registry loads, no problem, no unknown member");
	aim_problems_print(&probs);
	aim_problems_print(&reg.unknown);
	ok(json_object_size(reg.tools) == 10, "declarative: 10 tools");
	aim_problems_free(&probs);
	aim_registry_free(&reg);
	snprintf(path, sizeof(path), "%s/AIM_cross-tool/"
	    "AIM_coordination-rules.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/AIM_cross-tool", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/AIM_registry.json", dir);
	unlink(path);
	rmdir(dir);
}

static void
test_declarative(void)
{
	json_t *rec, *runs;
	char *why, *old;

	declarative = json_load_file(TOP "/examples/declarative-registry.json",
	    0, NULL);
	ok(declarative != NULL, "declarative: the file is JSON");
	test_declarative_loads();
	real_run("shellcheck", FIX "shellcheck.json1", "stdout", 1, 9,
	    "{\"column\":10,\"file\":\"bad.sh\",\"line\":3,\"message\":"
	    "\"Iterating over ls output is fragile. Use globs.\",\"rule\":"
	    "\"SC2045\",\"severity\":\"error\"}");
	real_run("cppcheck", FIX "cppcheck-template.gcc", "stderr", 0, 5,
	    "{\"column\":5,\"file\":\"bad.c\",\"line\":8,\"message\":\"Array "
	    "'buf[4]' accessed at index 4, which is out of bounds.\",\"rule\":"
	    "\"arrayIndexOutOfBounds\",\"severity\":\"warning\"}");
	real_run("eslint", FIX "eslint.json", "stdout", 1, 3,
	    "{\"column\":5,\"file\":\"/work/wt/declare/tests/fixtures/findings/"
	    "bad.js\",\"line\":2,\"message\":\"'unused' is assigned a value but "
	    "never used.\",\"rule\":\"no-unused-vars\",\"severity\":"
	    "\"warning\"}");
	real_run("yamllint", FIX "yamllint.txt", "stdout", 1, 4,
	    "{\"column\":1,\"file\":\"bad.yaml\",\"line\":2,\"message\":"
	    "\"missing document start \\\"---\\\"\",\"rule\":\"document-start\","
	    "\"severity\":\"warning\"}");
	real_run("stylelint", FIX "stylelint.json", "stderr", 2, 3,
	    "{\"column\":3,\"file\":\"/work/wt/declare/tests/fixtures/findings/"
	    "bad.css\",\"line\":3,\"message\":\"Empty block (block-no-empty)\","
	    "\"rule\":\"block-no-empty\",\"severity\":\"error\"}");
	real_run("markdownlint", FIX "markdownlint.json", "stderr", 1, 5,
	    "{\"file\":\"bad.md\",\"line\":1,\"message\":\"Headings should be "
	    "surrounded by blank lines\",\"rule\":\"MD022\",\"severity\":"
	    "\"error\"}");
	/* The formatters: their runs, and the files they refuse. */
	old = scratch_enter();
	rec = j("{\"payload\":{\"files\":[\"a.py\",\"b.pyi\"]}}");
	runs = aim_declare_runs(adapter_of("black"), rec, &why);
	is_str(dump(runs), "[{\"argv\":[\"black\",\"--quiet\",\"a.py\","
	    "\"b.pyi\"],\"stdin\":null}]", "declarative: black's run");
	json_decref(runs);
	runs = aim_declare_runs(adapter_of("clang-format"), rec, &why);
	is_str(why, "bad_request: not a file of the tool's types: a.py",
	    "declarative: clang-format refuses Python");
	free(why);
	json_decref(runs);
	json_decref(rec);
	scratch_leave(old);
	json_decref(declarative);
}

int
main(void)
{
	char *old = scratch_enter();

	test_runs();
	test_refused();
	scratch_leave(old);
	test_snapshot();
	test_output();
	test_declarative();
	printf("1..%d\n", ntests);
	return nfailed != 0;
}
