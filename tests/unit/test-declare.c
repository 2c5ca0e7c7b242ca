/*
 * test-declare.c: lib/declare.c, declarative adapters (aim-registry(5)
 * "The adapter object"): the runs an argv template gives, the files a
 * run changed, and the adapter-protocol reply of the finished runs.
 */
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
put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd == -1 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		printf("# can't write %s\n", path);
	close(fd);
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
	    NULL), "{\"content\":{\"exit_code\":0,\"files_modified\":[]},"
	    "\"message\":\"killed by SIGSEGV\",\"success\":false}",
	    "output: a signal");
	is_str(output(fmt, "[{\"exit_code\":null,\"signal\":\"SIGTERM\","
	    "\"timed_out\":true}]", NULL), "{\"content\":{\"exit_code\":0,"
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

int
main(void)
{
	test_runs();
	test_refused();
	test_snapshot();
	test_output();
	printf("1..%d\n", ntests);
	return nfailed != 0;
}
