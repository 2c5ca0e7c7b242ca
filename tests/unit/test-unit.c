/* test-unit.c: unit tests of lib/, as TAP on stdout. */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "aim.h"
#include "tap.h"


static void
test_expand(void)
{
	char *s;

	setenv("AIM_T_VAR", "val", 1);
	setenv("HOME", "/home/u", 1);
	unsetenv("USERPROFILE");
	unsetenv("AIM_REGISTRY_PATH");
	unsetenv("AIM_T_UNSET");
#define EXPAND(in, want) do { \
	s = aim_expand(in, "/reg"); is_str(s, want, "expand " in); free(s); \
} while (0)
	EXPAND("%AIM_T_VAR%/x", "val/x");
	EXPAND("${AIM_T_VAR}/x", "val/x");
	EXPAND("$AIM_T_VAR/x", "val/x");
	EXPAND("~/bin", "/home/u/bin");
	EXPAND("a~/b", "a~/b");
	EXPAND("%USERPROFILE%/.aider", "/home/u/.aider");
	EXPAND("%AIM_REGISTRY_PATH%/AIM_adapters", "/reg/AIM_adapters");
	EXPAND("%AIM_T_UNSET%/x", "%AIM_T_UNSET%/x");
	EXPAND("$AIM_T_UNSET/x", "$AIM_T_UNSET/x");
	EXPAND("C:/Users/richg/.local/bin/aider.exe",
	    "C:/Users/richg/.local/bin/aider.exe");
	EXPAND("100%", "100%");
	EXPAND("$", "$");
#undef EXPAND
}

static void
test_locate(void)
{
	static const char text[] =
	    "{\n"
	    "  \"tools\": {\n"
	    "    \"a\": {\"detectCommands\": \"x\"},\n"
	    "    \"b\": [1, {\"k\": true}]\n"
	    "  }\n"
	    "}\n";
	const char *p1[] = { "tools", "a", "detectCommands", NULL };
	const char *p2[] = { "tools", "b", "1", "k", NULL };
	const char *p3[] = { "tools", "zz", NULL };
	int line = 0, col = 0;

	ok(aim_json_locate(text, strlen(text), p1, 0, &line, &col) == 0 &&
	    line == 3 && col == 29, "locate value of tools.a.detectCommands");
	ok(aim_json_locate(text, strlen(text), p1, 1, &line, &col) == 0 &&
	    line == 3 && col == 11, "locate key of tools.a.detectCommands");
	ok(aim_json_locate(text, strlen(text), p2, 0, &line, &col) == 0 &&
	    line == 4 && col == 20, "locate inside an array");
	ok(aim_json_locate(text, strlen(text), p3, 0, &line, &col) == -1,
	    "locate a missing member fails");
}

static const char *
redacted(const char *json)
{
	static char *last;
	json_t *v = json_loads(json, 0, NULL);

	aim_redact(v);
	free(last);
	last = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	return last;
}

static void
test_redact(void)
{
	is_str(redacted("{\"api_key\":\"abc\",\"max_tokens\":5}"),
	    "{\"api_key\":\"[REDACTED]\",\"max_tokens\":5}", "redact api_key, keep max_tokens");
	is_str(redacted("{\"apiKey\":\"abc\",\"X-Api-Key\":\"d\",\"key\":\"k\"}"),
	    "{\"apiKey\":\"[REDACTED]\",\"X-Api-Key\":\"[REDACTED]\",\"key\":\"k\"}",
	    "redact camelCase and dashed keys, keep a bare key");
	is_str(redacted("{\"GITHUB_TOKEN\":\"t\",\"password\":{\"a\":1},\"token\":null}"),
	    "{\"GITHUB_TOKEN\":\"[REDACTED]\",\"password\":\"[REDACTED]\",\"token\":null}",
	    "redact token and password values of any type, keep null");
	is_str(redacted("[\"use sk-ant-api03-ABCDEFGHIJKLMNOPQRST now\"]"),
	    "[\"use [REDACTED] now\"]", "redact an Anthropic key inside text");
	is_str(redacted("{\"m\":\"task-1234567890123456789 ok\"}"),
	    "{\"m\":\"task-1234567890123456789 ok\"}", "no redaction inside a word");
	is_str(redacted("{\"h\":\"Authorization: Bearer abcdefghij123\"}"),
	    "{\"h\":\"Authorization: Bearer [REDACTED]\"}", "redact a bearer token");
	is_str(redacted("{\"u\":\"https://x/?k=AKIAABCDEFGHIJKLMNOP&ghp_abcdefghijklmnopqrstuvwxyz0123\"}"),
	    "{\"u\":\"https://x/?k=[REDACTED]&[REDACTED]\"}", "redact AWS and GitHub keys");
	is_str(redacted("{\"s\":\"sk-short\"}"), "{\"s\":\"sk-short\"}",
	    "short sk- strings are not keys");
}

static void
test_uuid7(void)
{
	char a[37], b[37];
	int i, mono = 1;

	aim_uuid7(a);
	for (i = 0; i < 20000; i++) {
		aim_uuid7(b);
		if (strcmp(a, b) >= 0)
			mono = 0;
		memcpy(a, b, sizeof(a));
	}
	ok(mono, "uuid7: 20000 ids strictly increasing");
	ok(strlen(a) == 36 && a[14] == '7' && strchr("89ab", a[19]) != NULL,
	    "uuid7: version 7, RFC 9562 variant");
}

static void
test_text(void)
{
	json_t *j;

	j = aim_json_text("a\xffz", 3, 10, 0);
	is_str(json_string_value(j), "a\xef\xbf\xbdz", "invalid UTF-8 becomes U+FFFD");
	json_decref(j);
	j = aim_json_text("x\xc3\xa9y", 4, 2, 1);
	is_str(json_string_value(j), "y", "a tail starts on a character boundary");
	json_decref(j);
	j = aim_json_text("\xc3\xa9", 2, 1, 0);
	is_str(json_string_value(j), "\xef\xbf\xbd", "a head cut inside a character");
	json_decref(j);
}

static void
test_lines(void)
{
	struct aim_lines r;
	struct aim_line l;
	int p[2], n = 0, toolong = 0;
	char big[5000];

	if (pipe(p) == -1)
		return;
	memset(big, 'x', sizeof(big));
	(void)write(p[1], "{\"a\":1}\n", 8);
	(void)write(p[1], big, sizeof(big));
	(void)write(p[1], "\nlast", 5);
	close(p[1]);
	aim_lines_init(&r, p[0], 1000);
	while (aim_lines_next(&r, &l) == 1) {
		n++;
		if (l.too_long)
			toolong = l.lineno;
		if (n == 3)
			ok(l.len == 4 && memcmp(l.text, "last", 4) == 0,
			    "lines: a last line without newline");
	}
	ok(n == 3 && toolong == 2, "lines: a long line is one line, flagged");
	aim_lines_free(&r);
	close(p[0]);
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
test_proc(void)
{
	struct aim_proc_limits lim = { 5000, 100, 1 << 20, 256 };
	char *cat[] = { "/bin/cat", NULL };
	char *hold[] = { "/bin/sh", "-c", "sleep 30 & exec sleep 30", NULL };
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	struct aim_proc p;
	int before, i, good = 1;
	int64_t t0, took;

	aim_proc_setup();
	before = count_fds();
	for (i = 0; i < 2000; i++) {
		if (aim_proc_run(&p, cat, env, "hello", 5, &lim) == -1 ||
		    p.out_len != 5 || memcmp(p.out, "hello", 5) != 0 ||
		    !WIFEXITED(p.status) || WEXITSTATUS(p.status) != 0)
			good = 0;
		aim_proc_free(&p);
	}
	ok(good, "proc: 2000 runs of cat echo their input");
	ok(count_fds() == before, "proc: no descriptor growth over 2000 runs");
	ok(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD,
	    "proc: no zombies left");

	lim.timeout_ms = 200;
	t0 = aim_now_ms();
	aim_proc_run(&p, hold, env, NULL, 0, &lim);
	took = aim_now_ms() - t0;
	ok(p.timed_out && took < 2000,
	    "proc: a timeout returns though a grandchild holds the pipes");
	aim_proc_free(&p);
	ok(count_fds() == before, "proc: no descriptor left after a timeout");

	/* A process outside the group keeps stdout open after the exit. */
	lim.timeout_ms = 5000;
	t0 = aim_now_ms();
	aim_proc_run(&p, (char *[]){ "/bin/sh", "-c",
	    "setsid sleep 3 & echo done", NULL }, env, NULL, 0, &lim);
	took = aim_now_ms() - t0;
	ok(!p.timed_out && p.leftover && took < 1000 &&
	    strcmp(p.out, "done\n") == 0,
	    "proc: returns soon after the exit though an escaped process "
	    "holds stdout");
	aim_proc_free(&p);

	aim_proc_run(&p, (char *[]){ "/no/such/adapter", NULL }, env, NULL, 0,
	    &lim);
	ok(p.spawn_errno == ENOENT, "proc: a missing program is ENOENT");
	aim_proc_free(&p);
}

static void
test_vault(void)
{
	char dir[] = "/tmp/aim-unit-XXXXXX", key[64], path[64], *why = NULL;
	static unsigned char nonces[1000][24];
	struct aim_unlock u = { NULL, NULL, 0 };
	struct aim_vault v, w;
	const struct aim_vault_secret *s;
	int i, k, distinct = 1, saved = 1;

	if (mkdtemp(dir) == NULL || aim_vault_setup() == -1) {
		ok(0, "vault: setup");
		return;
	}
	snprintf(key, sizeof(key), "%s/key", dir);
	snprintf(path, sizeof(path), "%s/vault", dir);
	u.keyfile = key;
	ok(aim_vault_keyfile_create(key, &why) == AIM_VAULT_OK &&
	    aim_vault_create(&v, path, &u, &why) == AIM_VAULT_OK,
	    "vault: create with a key file");
	for (i = 0; i < 1000; i++) {
		aim_vault_set(&v, "a/b", NULL, (const unsigned char *)"v", 1, i);
		if (aim_vault_save(&v, &why) != AIM_VAULT_OK)
			saved = 0;
		memcpy(nonces[i], v.last_nonce, 24);
	}
	for (i = 0; i < 1000 && distinct; i++)
		for (k = i + 1; k < 1000; k++)
			if (memcmp(nonces[i], nonces[k], 24) == 0)
				distinct = 0;
	ok(saved && distinct, "vault: 1000 saves, 1000 distinct nonces");
	aim_vault_close(&v);
	ok(aim_vault_open(&w, path, &u, 0, &why) == AIM_VAULT_OK &&
	    (s = aim_vault_get(&w, "a/b")) != NULL && s->value_len == 1 &&
	    s->updated_at == 999, "vault: reopens with the last save");
	aim_vault_close(&w);
	free(why);
	unlink(key);
	unlink(path);
	snprintf(key, sizeof(key), "%s/vault.lock", dir);
	unlink(key);
	rmdir(dir);
}

static void
test_redact_secrets(void)
{
	const unsigned char canary[] = "c4n4ry\"v/+";
	json_t *j;
	char *out;

	aim_redact_register(canary, sizeof(canary) - 1);
	aim_redact_register((const unsigned char *)"abc", 3);
	/* plain, JSON-escaped, base64 (standard and URL-safe) */
	j = json_pack("{s:s, s:[s, s, s], s:s}", "a", "x c4n4ry\"v/+ y",
	    "b", "{\"k\":\"c4n4ry\\\"v/+\"}", "YzRuNHJ5InYvKw==",
	    "YzRuNHJ5InYvKw", "c", "abc stays");
	aim_redact_secrets(j);
	out = json_dumps(j, JSON_COMPACT);
	is_str(out, "{\"a\":\"x [REDACTED] y\",\"b\":[\"{\\\"k\\\":\\\"[REDACTED]\\\"}\","
	    "\"[REDACTED]\",\"[REDACTED]\"],\"c\":\"abc stays\"}",
	    "redact registered secrets: plain, JSON-escaped, base64; not under 4 bytes");
	free(out);
	json_decref(j);
}

static void
test_policy(void)
{
	json_t *a, *out, *p, *sec;
	const char *code, *cls;
	char *msg, dir[64], path[128];
	int64_t w, lo = INT64_MAX, hi = 0;
	int i, bounded = 1;

	/* classes: the adapter's own, else derived from the outcome */
	a = json_pack("{s:s}", "outcome", "failure");
	out = json_pack("{s:b, s:s, s:i}", "success", 0, "error_class",
	    "rate_limit", "retry_after_ms", 1500);
	cls = aim_attempt_classify(a, out);
	json_decref(out);	/* the class must outlive the output */
	ok(cls != NULL && strcmp(cls, "rate_limit") == 0 &&
	    json_integer_value(json_object_get(a, "retry_after_ms")) == 1500,
	    "classify: the adapter's class and retry_after_ms");
	json_decref(a);
	a = json_pack("{s:s}", "outcome", "failure");
	out = json_pack("{s:b, s:s}", "success", 0, "error_class", "bogus");
	ok((cls = aim_attempt_classify(a, out)) != NULL &&
	    strcmp(cls, "unclassified") == 0,
	    "classify: an unknown class is unclassified");
	json_decref(out);
	json_decref(a);
	a = json_pack("{s:s, s:i}", "outcome", "exit", "exit_code", 127);
	ok((cls = aim_attempt_classify(a, NULL)) != NULL &&
	    strcmp(cls, "not_installed") == 0, "classify: exit 127 is not_installed");
	json_decref(a);
	a = json_pack("{s:s, s:s}", "outcome", "skipped", "reason", "cooldown");
	ok(aim_attempt_classify(a, NULL) == NULL &&
	    json_object_get(a, "error_class") == NULL,
	    "classify: a policy skip has no class");
	json_decref(a);

	/* back-off: full jitter within the doubling ceiling and the cap */
	for (i = 0; i < 2000; i++) {
		w = aim_backoff_ms(3, 100, 500);
		bounded &= w >= 0 && w <= 500;
		lo = w < lo ? w : lo;
		hi = w > hi ? w : hi;
	}
	ok(bounded && lo < 50 && hi > 450, "backoff: uniform over [0, cap]");
	ok(aim_backoff_ms(0, 100, 10000) <= 100 &&
	    aim_backoff_ms(40, 100, 10000) <= 10000,
	    "backoff: first ceiling is base, no overflow at retry 40");

	/* security: .. and symlinks resolved before matching */
	snprintf(dir, sizeof(dir), "/tmp/aim-unit-%ld", (long)getpid());
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/link", dir);
	symlink("/etc", path);
	sec = json_pack("{s:[s], s:[s]}", "forbidden_paths", "/etc/*",
	    "allowed_file_patterns", "*.c");
	p = json_pack("{s:[s]}", "files", "link/sub/../x.c");
	ok(aim_security_check(p, sec, dir, NULL, &code, &msg) == -1 &&
	    strcmp(code, "forbidden_path") == 0 && strstr(msg, "/etc/x.c"),
	    "security: a symlink into /etc is caught");
	free(msg);
	json_decref(p);
	p = json_pack("{s:[s]}", "files", "a/b/../../../../etc/y.c");
	ok(aim_security_check(p, sec, dir, NULL, &code, &msg) == -1 &&
	    strstr(msg, "is /etc/y.c,") != NULL,
	    "security: .. past the root stays at the root");
	free(msg);
	json_decref(p);
	p = json_pack("{s:[s]}", "files", "new/dir/z.c");
	ok(aim_security_check(p, sec, dir, NULL, &code, &msg) == 0,
	    "security: a file that does not exist yet is allowed");
	json_decref(p);
	json_decref(sec);
	unlink(path);
	rmdir(dir);

	p = json_pack("{s:s, s:[]}", "prompt", "x", "files");
	a = json_pack("{s:s, s:s, s:s}", "prompt", "required", "files",
	    "required", "context", "optional");
	msg = aim_context_missing(p, a);
	is_str(msg, "files", "context: an empty array is missing");
	free(msg);
	json_decref(a);
	json_decref(p);
}

static void
test_chain(void)
{
	char dir[] = "/tmp/aim-unit-chain-XXXXXX", *why = NULL, *path;
	unsigned char bin[4], h[AIM_HASH_BYTES];
	char hex[AIM_HASH_HEX_BYTES + 1];
	struct aim_chain c;
	struct aim_verify vr;
	json_t *e, *d;
	int i, good = 1;

	ok(aim_unhex("00ff10Ab", bin, 4) == 0 && bin[1] == 0xff &&
	    bin[3] == 0xab, "chain: unhex takes both cases");
	ok(aim_unhex("00ff10a", bin, 4) == -1 && aim_unhex("00ff10ax", bin,
	    4) == -1 && aim_unhex(NULL, bin, 4) == -1,
	    "chain: unhex refuses short, non-hex and NULL");
	/* BLAKE2b-256 of "abc" (RFC 7693 gives BLAKE2b-512; b2sum -l 256). */
	aim_hash("abc", 3, h);
	aim_hex(h, sizeof(h), hex);
	is_str(hex, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319",
	    "chain: BLAKE2b-256 of abc");
	if (mkdtemp(dir) == NULL) {
		ok(0, "chain: mkdtemp");
		return;
	}
	errno = 0;
	ok(aim_audit_event(dir, "secret_peek", NULL, &why) == -1 &&
	    errno == EINVAL && why != NULL &&
	    strcmp(why, "unknown event kind secret_peek") == 0,
	    "chain: aim_audit_event refuses an unknown kind with EINVAL");
	free(why);
	why = NULL;
	ok(aim_audit_event(NULL, "error", NULL, NULL) == -1 && errno == EINVAL,
	    "chain: aim_audit_event refuses a NULL directory");
	d = json_pack("{s:s, s:s}", "message", "boom", "api_key", "sk-ant-abcdefghijklmnopqrstuv");
	for (i = 0; i < 50; i++)
		good &= aim_audit_event(dir, i % 2 ? "health_check" : "error",
		    d, NULL) == 0;
	json_decref(d);
	ok(good, "chain: 50 events appended");
	if (aim_chain_open(&c, dir, &why) == 0) {
		e = json_pack("{s:s, s:s, s:s}", "timestamp", "", "tool_id",
		    "t", "capability", "c");
		path = aim_chain_append(&c, e, &why);
		ok(path != NULL && c.seq == 51 &&
		    json_integer_value(json_object_get(e, "seq")) == 51,
		    "chain: aim_chain_append goes on at seq 51");
		free(path);
		json_decref(e);
	} else
		ok(0, "chain: open");
	aim_chain_close(&c);
	memset(&vr, 0, sizeof(vr));
	ok(aim_chain_verify(dir, &vr, &why) == 0 && vr.problems == 0 &&
	    vr.entries == 51 && vr.last_seq == 51 && vr.head_seq == 51,
	    "chain: verify holds over 51 entries");
	aim_verify_free(&vr);
	free(why);
	snprintf(hex, sizeof(hex), "rm -rf %s", dir);
	ok(system(hex) == 0, "chain: clean up");
}

/*
 * Registered secret values go before the key patterns: a secret holding a
 * pattern is replaced whole, its tail never left behind; a shorter secret
 * inside a longer one does not cut it either.
 */
static void
test_redact_order(void)
{
	static const char *const sec[] = {
		"sk-abcdefghijklmnop0123!tail-1", "AKIAABCDEFGHIJKLMNOP!tail-2",
		"ghp_abcdefghijklmnopqrst12!tail-3",
		"github_pat_abcdefghijklmnopqrstuv!tail-4",
		"AIzaabcdefghijklmnopqrstuvwxyz0123456!tail-5",
		"xoxb-1234567890-TOKENPART!tail-of-secret",
		"xoxp-1234567890-TOKENPART\"tail-7",
		"Bearer abcdefgh12345678!tail-8", "inner-secret-42", NULL
	};
	char in[256], *out;
	json_t *j;
	size_t i;
	int clean = 1;

	aim_redact_register((const unsigned char *)"secret-42", 9);
	for (i = 0; sec[i] != NULL; i++)
		aim_redact_register((const unsigned char *)sec[i],
		    strlen(sec[i]));
	for (i = 0; sec[i] != NULL; i++) {
		snprintf(in, sizeof(in), "got %s.", sec[i]);
		j = json_pack("{s:s}", "m", in);
		aim_redact(j);
		out = json_dumps(j, JSON_COMPACT);
		if (strcmp(out, "{\"m\":\"got [REDACTED].\"}") != 0) {
			printf("# %s\n", out);
			clean = 0;
		}
		free(out);
		json_decref(j);
	}
	ok(clean, "redact: registered secrets whole before key patterns");
}

/* Inputs that once crashed or hung a parser: each must end, whole. */
static void
test_hostile(void)
{
	static const char nul[] = "{\"x\":[1\0],\"y\":0}";
	const char *py[] = { "y", NULL }, *pa[] = { "a", "b", NULL };
	struct aim_semver v;
	char out[16], *s, *x, *want;
	size_t n = (size_t)4 << 20, k;
	int64_t t0, took;
	json_t *att, *r;
	int line = 0, col = 0;

	/* A NUL right after a number: the walk goes on (it looped for ever). */
	ok(aim_json_locate(nul, sizeof(nul) - 1, py, 0, &line, &col) >= 0,
	    "locate: a NUL after a number ends");
	/* A backslash as the last byte of an exact-size buffer: no overread. */
	x = aim_xmalloc(5);
	memcpy(x, "{\"a\\", 5);
	ok(aim_json_locate(x, 4, pa, 0, &line, &col) == -1,
	    "locate: a backslash at the end stops the string");
	free(x);

	/* semver: the digits after len are not read. */
	ok(aim_semver_find("12", 1, &v, out, sizeof(out)) == 0 &&
	    v.major == 1 && strcmp(out, "1") == 0,
	    "semver: the digit reader stops at len");

	/* aim_expand: 4 MiB of "${" and no '}': linear (it was quadratic). */
	x = aim_xmalloc(n + 1);
	for (k = 0; k < n; k += 2)
		memcpy(x + k, "${", 2);
	x[n] = '\0';
	t0 = aim_now_ms();
	s = aim_expand(x, NULL);
	took = aim_now_ms() - t0;
	ok(strcmp(s, x) == 0, "expand: unclosed ${ stays as written");
	ok(took < 20000, "expand: 4 MiB of unclosed ${ well under 20 s");
	if (took >= 20000)
		printf("#   took %lld ms\n", (long long)took);
	free(s);
	free(x);

	/* aim_all_failed: a 300-byte capability, one candidate. */
	x = aim_xmalloc(301);
	memset(x, 'c', 300);
	x[300] = '\0';
	att = json_pack("[{s:s, s:s, s:s}]", "tool_id", "a", "outcome",
	    "failure", "message", "boom");
	r = aim_all_failed(x, att);
	want = aim_xmalloc(400);
	snprintf(want, 400, "All tools failed for capability '%s': a: boom", x);
	is_str(json_string_value(json_object_get(r, "message")), want,
	    "all_failed: a 300-byte capability, whole and nothing more");
	json_decref(r);
	json_decref(att);
	free(want);
	free(x);
}

static void
test_duration(void)
{
	static const struct { int64_t ms; const char *want; } t[] = {
		{ -5, "0 ms" }, { 0, "0 ms" }, { 250, "250 ms" }, { 999, "999 ms" },
		{ 1000, "1 s" }, { 1500, "1.5 s" }, { 1549, "1.5 s" },
		{ 9949, "9.9 s" }, { 9950, "10 s" }, { 29818, "30 s" },
		{ 59499, "59 s" }, { 59500, "1 min" }, { 90000, "1 min 30 s" },
		{ 300000, "5 min" }, { 3600000, "1 h" }, { 7530000, "2 h 5 min" },
	};
	char buf[32];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		aim_duration(buf, sizeof(buf), t[i].ms);
		is_str(buf, t[i].want, "duration");
	}
}

/* The descriptor the next open(2) will get. */
static int
next_fd(void)
{
	int fd = dup(0);

	close(fd);
	return fd;
}

/* Is fd closed?  (The file a function opened got fd; it must not leak.) */
static int
closed_fd(int fd)
{
	return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

/*
 * Writes that fail part way (RLIMIT_FSIZE: EFBIG after a short write) say
 * why and close what they opened: the state file, the vault, a key file.
 */
static void
test_write_errors(void)
{
	char dir[] = "/tmp/aim-unit-XXXXXX", key[64], path[64], want[256];
	char big[4096], *why = NULL;
	struct aim_unlock u = { NULL, NULL, 0 };
	struct rlimit old, lim;
	struct aim_state st;
	struct aim_vault v;
	int fd0, rc;

	if (mkdtemp(dir) == NULL || aim_vault_setup() == -1 ||
	    getrlimit(RLIMIT_FSIZE, &old) == -1) {
		ok(0, "write errors: setup");
		return;
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(key, sizeof(key), "%s/key", dir);
	snprintf(path, sizeof(path), "%s/vault", dir);
	u.keyfile = key;
	setenv("XDG_STATE_HOME", dir, 1);
	ok(aim_state_init(&st, &why) == 0 && aim_state_lock(&st, &why) == 0 &&
	    aim_vault_keyfile_create(key, &why) == AIM_VAULT_OK &&
	    aim_vault_create(&v, path, &u, &why) == AIM_VAULT_OK,
	    "write errors: state locked, vault made");
	json_object_set_new(st.root, "big", json_string(big));
	aim_vault_set(&v, "a/b", NULL, (const unsigned char *)big,
	    sizeof(big) - 1, 1);
	unlink(key);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 16;
	setrlimit(RLIMIT_FSIZE, &lim);

	fd0 = next_fd();
	rc = aim_state_unlock(&st, 1, &why);
	snprintf(want, sizeof(want), "can't write %s: File too large", st.path);
	ok(rc == -1 && closed_fd(fd0), "write errors: state: -1, no fd left");
	is_str(why, want, "write errors: state: why");
	free(why);
	why = NULL;

	fd0 = next_fd();
	rc = aim_vault_save(&v, &why);
	snprintf(want, sizeof(want), "can't write %s.tmp-%ld: File too large",
	    path, (long)getpid());
	ok(rc == AIM_VAULT_IO && closed_fd(fd0),
	    "write errors: vault: AIM_VAULT_IO, no fd left");
	is_str(why, want, "write errors: vault: why");
	free(why);
	why = NULL;

	fd0 = next_fd();
	rc = aim_vault_keyfile_create(key, &why);
	snprintf(want, sizeof(want), "can't write key file %s: File too large",
	    key);
	ok(rc == AIM_VAULT_IO && closed_fd(fd0) && access(key, F_OK) == -1,
	    "write errors: key file: AIM_VAULT_IO, no fd, no file left");
	is_str(why, want, "write errors: key file: why");
	free(why);

	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	aim_vault_close(&v);
	aim_state_free(&st);
	unsetenv("XDG_STATE_HOME");
	unlink(path);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		ok(0, "write errors: clean up");
}

/* A file's content is want, exactly (whole, NUL-free). */
static int
holds(const char *path, const char *want)
{
	char *buf;
	size_t len;
	int same;

	if (aim_read_file(AT_FDCWD, path, 0, 1024, &buf, &len) == -1)
		return 0;
	same = len == strlen(want) && memcmp(buf, want, len) == 0;
	free(buf);
	return same;
}

/*
 * The whole-file reader and the two writers of util.c: a short write
 * (RLIMIT_FSIZE) leaves the old content and no temporary or new file;
 * the reader keeps to its limit and to regular files.
 */
static void
test_file_io(void)
{
	char dir[] = "/tmp/aim-unit-XXXXXX", path[64], tmp[96], link[64];
	char big[64], *buf;
	struct aim_write_fail f;
	struct rlimit old, lim;
	struct stat st;
	size_t len;
	int rc;

	if (mkdtemp(dir) == NULL || getrlimit(RLIMIT_FSIZE, &old) == -1) {
		ok(0, "file io: setup");
		return;
	}
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid());
	snprintf(link, sizeof(link), "%s/l", dir);
	ok(aim_write_file_new(path, "old\n", 4, 0600, 0, &f) == 0 &&
	    holds(path, "old\n") && stat(path, &st) == 0 &&
	    (st.st_mode & 07777) == 0600, "file io: new file, 0600");
	rc = aim_write_file_new(path, "x", 1, 0600, 0, &f);
	ok(rc == -1 && errno == EEXIST && f.step == AIM_WRITE_CREATE &&
	    holds(path, "old\n"), "file io: new file there already: EEXIST");
	ok(aim_write_atomic(path, "new\n", 4, 0600, 0, &f) == 0 &&
	    holds(path, "new\n") && access(tmp, F_OK) == -1,
	    "file io: atomic replace");

	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 16;
	setrlimit(RLIMIT_FSIZE, &lim);
	rc = aim_write_atomic(path, big, strlen(big), 0600, 0, &f);
	ok(rc == -1 && errno == EFBIG && f.step == AIM_WRITE_DATA &&
	    strcmp(f.tmp, tmp) == 0, "file io: atomic short write: EFBIG");
	ok(holds(path, "new\n") && access(tmp, F_OK) == -1,
	    "file io: atomic short write: old content, no temporary file");
	rc = aim_write_atomic(path, big, strlen(big), 0600, AIM_WRITE_NOSYNC |
	    AIM_WRITE_UMASK, NULL);
	ok(rc == -1 && holds(path, "new\n") && access(tmp, F_OK) == -1,
	    "file io: atomic short write, no sync: old content, no temporary");
	rc = aim_write_file_new(link, big, strlen(big), 0600, 0, &f);
	ok(rc == -1 && errno == EFBIG && f.step == AIM_WRITE_DATA &&
	    access(link, F_OK) == -1, "file io: new short write: no file");
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);

	ok(aim_read_file(AT_FDCWD, path, 0, 3, &buf, &len) == -1 &&
	    errno == EFBIG, "file io: read past the limit: EFBIG");
	ok(aim_read_file(AT_FDCWD, dir, 0, 1024, &buf, &len) == -1 &&
	    errno == EISDIR, "file io: read a directory: EISDIR");
	ok(symlink(path, link) == 0 && aim_read_file(AT_FDCWD, link,
	    AIM_READ_NOFOLLOW, 1024, &buf, &len) == -1 && errno == ELOOP,
	    "file io: read a symlink, no follow: ELOOP");
	rc = aim_read_file(AT_FDCWD, link, AIM_READ_SECRET, 1024, &buf, &len);
	ok(rc == 0 && len == 4 && strcmp(buf, "new\n") == 0,
	    "file io: read through a symlink into secure memory");
	if (rc == 0)
		sodium_free(buf);
	unlink(link);
	unlink(path);
	rmdir(dir);
}

/*
 * The result cache's key (aim-cache(1) "The key"): canonical payload,
 * the files by content, the tool; a symlink is not keyed.
 */
static void
test_rcache_key(void)
{
	unsigned char k1[AIM_HASH_BYTES], k2[AIM_HASH_BYTES];
	unsigned char k3[AIM_HASH_BYTES], k4[AIM_HASH_BYTES];
	char dir[] = "/tmp/aim-rcache-XXXXXX";
	json_t *r1, *r2, *r3, *cand, *f1, *f2;
	int top = open(".", O_RDONLY | O_DIRECTORY);

	if (top == -1 || mkdtemp(dir) == NULL || chdir(dir) == -1) {
		ok(0, "rcache: a directory to work in");
		return;
	}
	(void)aim_write_atomic("a.c", "x\n", 2, 0644, AIM_WRITE_NOSYNC, NULL);
	(void)symlink("a.c", "l.c");
	r1 = json_loads("{\"capability\": \"f\", \"payload\": {\"files\": "
	    "[\"a.c\"], \"b\": 1, \"a\": 2}}", 0, NULL);
	r2 = json_loads("{\"payload\": {\"a\": 2, \"b\": 1, \"files\": "
	    "[\"a.c\"]}, \"capability\": \"f\"}", 0, NULL);
	r3 = json_loads("{\"capability\": \"f\", \"payload\": {\"files\": "
	    "[\"l.c\"]}}", 0, NULL);
	cand = json_loads("{\"tool_id\": \"t\", \"argv\": [\"true\"], "
	    "\"adapter\": {\"argv\": [\"true\", \"{files}\"]}}", 0, NULL);
	ok(aim_rcache_key(r1, cand, k1, &f1) == 0 &&
	    aim_rcache_key(r2, cand, k2, &f2) == 0 &&
	    memcmp(k1, k2, sizeof(k1)) == 0,
	    "rcache: the payload's key order is not in the key");
	json_decref(f2);
	json_object_set_new(cand, "tool_id", json_string("u"));
	ok(aim_rcache_key(r1, cand, k4, &f2) == 0 &&
	    memcmp(k1, k4, sizeof(k1)) != 0, "rcache: another tool, another key");
	json_decref(f2);
	json_object_set_new(cand, "tool_id", json_string("t"));
	(void)aim_write_atomic("a.c", "y\n", 2, 0644, AIM_WRITE_NOSYNC, NULL);
	ok(aim_rcache_key(r1, cand, k3, &f2) == 0 &&
	    memcmp(k1, k3, sizeof(k1)) != 0 &&
	    json_string_length(json_object_get(json_array_get(f1, 0),
	    "hash")) == AIM_HASH_HEX_BYTES,
	    "rcache: a file's new content, a new key");
	json_decref(f2);
	ok(aim_rcache_key(r3, cand, k3, &f2) == -1 && f2 == NULL,
	    "rcache: a symlink in the payload is not keyed");
	json_decref(f1);
	json_decref(r1);
	json_decref(r2);
	json_decref(r3);
	json_decref(cand);
	unlink("a.c");
	unlink("l.c");
	(void)fchdir(top);
	close(top);
	rmdir(dir);
}

/* aim_diff_stat: what aim-fanout(1) OUTPUT counts of a diff. */
static void
test_diff_stat(void)
{
	static const char diff[] =
	    "diff --git a/a.c b/a.c\n"
	    "index 1..2 100644\n"
	    "--- a/a.c\n"
	    "+++ b/a.c\n"
	    "@@ -1,2 +1,2 @@\n"
	    " keep\n"
	    "-old\n"
	    "+new\n"
	    "+more\n"
	    "diff --git a/img.png b/img.png\n"
	    "new file mode 100644\n"
	    "GIT binary patch\n"
	    "literal 3\n"
	    "KcmZ?wU;qFB0RR91\n"
	    "\n"
	    "diff --git a/gone.c b/gone.c\n"
	    "deleted file mode 100644\n"
	    "--- a/gone.c\n"
	    "+++ /dev/null\n"
	    "@@ -1 +0,0 @@\n"
	    "--- a line that starts with two dashes\n";
	struct aim_diff_stat st;

	aim_diff_stat(diff, strlen(diff), &st);
	ok(st.files == 3 && st.lines_added == 2 && st.lines_removed == 2,
	    "diff stat: 3 files (one binary), 2 lines added, 2 removed");
	aim_diff_stat("", 0, &st);
	ok(st.files == 0 && st.lines_added == 0 && st.lines_removed == 0,
	    "diff stat: an empty diff changes nothing");
}

/* aim-invoke(1) "Cost": the adapter's cost first, else usage x price. */
static void
test_attempt_cost(void)
{
	json_t *price = json_pack("{s:i, s:i}", "input_per_mtok", 2,
	    "output_per_mtok", 10);
	json_t *usage = json_pack("{s:{s:i, s:i, s:i}}", "usage",
	    "input_tokens", 1000, "output_tokens", 100, "cached_input_tokens",
	    400);
	json_t *own = json_pack("{s:f, s:{s:i}}", "cost_usd", 0.5, "usage",
	    "input_tokens", 1);
	const char *from;
	double c;

	c = aim_attempt_cost(usage, price, &from);
	/* No cached price: the cached tokens cost what input does. */
	ok(c > 0.002999 && c < 0.003001 && strcmp(from, "price") == 0,
	    "cost: usage x price, cached at the input price");
	json_object_set_new(price, "cached_input_per_mtok", json_real(0.5));
	c = aim_attempt_cost(usage, price, &from);
	ok(c > 0.002399 && c < 0.002401, "cost: cached tokens at their price");
	c = aim_attempt_cost(own, price, &from);
	ok(c == 0.5 && strcmp(from, "adapter") == 0,
	    "cost: the adapter's cost_usd wins");
	ok(aim_attempt_cost(usage, NULL, &from) < 0 && from == NULL &&
	    aim_attempt_cost(NULL, price, &from) < 0,
	    "cost: none without a price or usage");
	json_decref(price);
	json_decref(usage);
	json_decref(own);
}

/* aim-registry(5) "State backend": what state_backend accepts. */
static void
test_state_url(void)
{
	struct aim_state_url u;
	char *why;

	ok(aim_state_url_parse("file", &u, &why) == 0 && why == NULL,
	    "state_backend: file");
	ok(aim_state_url_parse("redis://10.0.0.5:6380/2", &u, &why) == 1 &&
	    strcmp(u.host, "10.0.0.5") == 0 && u.port == 6380 && u.db == 2,
	    "state_backend: host, port and db");
	ok(aim_state_url_parse("redis://[::1]", &u, &why) == 1 &&
	    strcmp(u.host, "::1") == 0 && u.port == 6379 && u.db == 0,
	    "state_backend: [IPv6], the default port and db");
	ok(aim_state_url_parse("redis://u:pw@h", &u, &why) == -1 &&
	    strstr(why, "password") != NULL, "state_backend: no password");
	free(why);
	ok(aim_state_url_parse("redis://h:65536", &u, &why) == -1,
	    "state_backend: a port out of range");
	free(why);
	ok(aim_state_url_parse("redis://", &u, &why) == -1,
	    "state_backend: no host");
	free(why);
}

int
main(void)
{
	test_expand();
	test_locate();
	test_redact();
	test_uuid7();
	test_text();
	test_lines();
	test_proc();
	test_vault();
	test_redact_secrets();
	test_policy();
	test_chain();
	test_redact_order();
	test_hostile();
	test_duration();
	test_write_errors();
	test_file_io();
	test_rcache_key();
	test_diff_stat();
	test_attempt_cost();
	test_state_url();
	printf("1..%d\n", ntests);
	return nfailed != 0;
}
