/*
 * aim-run: the front door.  Builds the requests from the command line,
 * then routes, runs and audits them in this one process, through the
 * same library the three filters use (aim-resolve | aim-invoke |
 * aim-audit), and shows the results in words on a terminal, as JSON Lines
 * otherwise.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "aim.h"

#define JOBS_MAX	1024
/* How often the live line of running attempts is redrawn. */
#define LIVE_MS		200
/* Attempts quicker than this never show on the live line. */
#define LIVE_AFTER_MS	500

static const char *progname = "aim-run";

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: aim run [-ehnsV] [-c config] [-d audit-dir] [-j jobs] "
	    "[-p prompt]\n"
	    "               [-r registry] [-t tool] [--deadline=ms] "
	    "[--json]\n"
	    "               [--no-cache] [--timeout=ms] capability "
	    "[file ...]\n"
	    "       aim run [-ehnsV] [-c config] [-d audit-dir] [-j jobs] "
	    "[-p prompt]\n"
	    "               [-r registry] [--deadline=ms] [--json] "
	    "[--no-cache]\n"
	    "               [--timeout=ms] --steps=capability,... | "
	    "-w workflow [file ...]\n");
	if (status == 0)
		printf("  -c, --config=FILE        read the configuration from "
		    "FILE\n"
		    "  -d, --audit-dir=DIR      write the audit entries "
		    "into DIR\n"
		    "      --deadline=MS        the whole request within MS "
		    "milliseconds\n"
		    "  -e, --each               one request per file, not one "
		    "for all\n"
		    "  -h, --help               print this help and exit\n"
		    "  -j, --jobs=N             run up to N requests at once "
		    "(with --each)\n"
		    "      --json               JSON Lines even on a terminal\n"
		    "  -n, --dry-run            print the plan, run nothing\n"
		    "      --no-cache           neither use nor fill the result "
		    "cache\n"
		    "  -p, --prompt=TEXT        the prompt; - reads it from "
		    "the standard input\n"
		    "  -r, --registry=DIR       use the registry in DIR\n"
		    "  -s, --strict             no fallback: the first "
		    "candidate only\n"
		    "      --steps=CAP,...      run these capabilities one "
		    "after another\n"
		    "  -t, --tool=TOOL          ask TOOL, not the "
		    "capability's chain\n"
		    "      --timeout=MS         each attempt within MS "
		    "milliseconds\n"
		    "  -V, --version            print the version and exit\n"
		    "  -w, --workflow=NAME      run the rules' workflow NAME\n"
		    "See aim-run(1).\n");
	exit(status);
}

/* What the command line asks. */
struct ask {
	struct aim_options opt;	/* -r, -c */
	const char *audit_dir;	/* -d */
	const char *capability;	/* NULL with steps or a workflow */
	json_t	*steps;		/* --steps: [{capability}...], or NULL */
	const char *workflow;	/* -w */
	char	*prompt;	/* NULL: none */
	int	 prompt_stdin;	/* -p -: read it once the limit is known */
	const char *tool;
	char	**files;
	int	 nfiles;
	int	 each, json, dry_run, strict, no_cache;
	long	 jobs;
	int64_t	 deadline_ms, timeout_ms;	/* 0: not given */
};

/* One run of aim run: set-up, router, engine, audit chain, output. */
struct run {
	struct ask *ask;
	struct aim_setup set;
	struct aim_router router;
	struct aim_invoke *iv;
	size_t	 payload_limit;
	int	 human, color;	/* stdout in words, coloured */
	int	 live;		/* the running line on stderr */
	int	 live_shown;	/* it is on the screen now */
	int	 nreq, next;	/* requests to make, the next one */
	int	 status;
	json_t	**done;		/* records done, not yet audited and out */
	size_t	 ndone, capdone;
};

/* The read end of the signals' pipe (aim_signals_catch). */
static int sig_fd = -1;

/* The whole standard input as the prompt, at most limit bytes. */
static char *
prompt_stdin(size_t limit)
{
	size_t len = 0, cap = 4096;
	char *buf = aim_xmalloc(cap);
	ssize_t n;

	for (;;) {
		if (len > limit)
			errx(AIM_EXIT_USAGE, "-p -: the prompt is over the "
			    "payload limit of %zu bytes", limit);
		if (len + 1 == cap)
			buf = aim_xrealloc(buf, cap *= 2);
		n = read(STDIN_FILENO, buf + len, cap - len - 1);
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err(AIM_EXIT_IO, "-p -: standard input");
		}
		len += n;
	}
	buf[len] = '\0';
	return buf;
}

/* A whole number of milliseconds for option opt, 1 to a day. */
static int64_t
ms_arg(const char *opt, const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < 1 || v > 86400000LL) {
		warnx("%s %s: want milliseconds from 1 to 86400000", opt, s);
		usage(AIM_EXIT_USAGE);
	}
	return v;
}

enum { O_DEADLINE = 256, O_JSON, O_NO_CACHE, O_STEPS, O_TIMEOUT };

/*
 * --steps' comma-separated capabilities as a request's "steps"
 * (aim-resolve(1) "Workflows"); an empty one is a usage error.
 */
static json_t *
steps_arg(const char *s)
{
	json_t *a = json_array();
	size_t n;

	for (;;) {
		n = strcspn(s, ",");
		if (n == 0) {
			warnx("--steps %s: an empty capability", optarg);
			usage(AIM_EXIT_USAGE);
		}
		json_array_append_new(a, json_pack("{s:s%}", "capability", s,
		    n));
		if (s[n] == '\0')
			return a;
		s += n + 1;
	}
}

/* The value of -j: 1 to JOBS_MAX, else a usage error. */
static long
jobs_arg(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < 1 || v > JOBS_MAX) {
		warnx("-j %s: want a number from 1 to %d", s, JOBS_MAX);
		usage(AIM_EXIT_USAGE);
	}
	return v;
}

/* One option of getopt_long into a; the prompt's text into *prompt. */
static void
option(struct ask *a, int ch, const char **prompt)
{
	switch (ch) {
	case 'c':
		a->opt.config = optarg;
		break;
	case 'd':
		a->audit_dir = optarg;
		break;
	case 'e':
		a->each = 1;
		break;
	case 'h':
		usage(0);
	case 'j':
		a->jobs = jobs_arg(optarg);
		break;
	case 'n':
		a->dry_run = 1;
		break;
	case 'p':
		*prompt = optarg;
		break;
	case 'r':
		a->opt.registry = optarg;
		break;
	case 's':
		a->strict = 1;
		break;
	case 't':
		a->tool = optarg;
		break;
	case 'V':
		printf("%s %s\n", progname, AIM_VERSION);
		exit(0);
	case 'w':
		a->workflow = optarg;
		break;
	case O_STEPS:
		json_decref(a->steps);
		a->steps = steps_arg(optarg);
		break;
	case O_DEADLINE:
		a->deadline_ms = ms_arg("--deadline", optarg);
		break;
	case O_JSON:
		a->json = 1;
		break;
	case O_NO_CACHE:
		a->no_cache = 1;
		break;
	case O_TIMEOUT:
		a->timeout_ms = ms_arg("--timeout", optarg);
		break;
	default:
		usage(AIM_EXIT_USAGE);
	}
}

/* --steps, -w and -t: one of them at most. */
static void
steps_check(const struct ask *a)
{
	if (a->steps != NULL && a->workflow != NULL) {
		warnx("--steps and -w exclude each other");
		usage(AIM_EXIT_USAGE);
	}
	if ((a->steps != NULL || a->workflow != NULL) && a->tool != NULL) {
		warnx("-t is for a request without steps");
		usage(AIM_EXIT_USAGE);
	}
}

static void
parse(struct ask *a, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "audit-dir", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "deadline", required_argument, NULL, O_DEADLINE },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "each", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "json", no_argument, NULL, O_JSON },
		{ "no-cache", no_argument, NULL, O_NO_CACHE },
		{ "prompt", required_argument, NULL, 'p' },
		{ "registry", required_argument, NULL, 'r' },
		{ "steps", required_argument, NULL, O_STEPS },
		{ "strict", no_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "tool", required_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "workflow", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	const char *prompt = NULL;
	int ch;

	a->jobs = 1;
	while ((ch = getopt_long(argc, argv, "c:d:ehj:np:r:st:Vw:", longopts,
	    NULL)) != -1)
		option(a, ch, &prompt);
	steps_check(a);
	if (a->steps == NULL && a->workflow == NULL && optind == argc) {
		warnx("no capability: say what to do, e.g. 'aim run "
		    "formatting src/main.c'");
		usage(AIM_EXIT_USAGE);
	}
	/* With steps every word is a file: the steps name the capabilities. */
	if (a->steps == NULL && a->workflow == NULL)
		a->capability = argv[optind++];
	if (a->capability != NULL && *a->capability == '\0') {
		warnx("the capability is empty");
		usage(AIM_EXIT_USAGE);
	}
	a->files = argv + optind;
	a->nfiles = argc - optind;
	if (a->each && a->nfiles == 0) {
		warnx("--each: no files to take one by one");
		usage(AIM_EXIT_USAGE);
	}
	if (prompt != NULL && strcmp(prompt, "-") == 0)
		a->prompt_stdin = 1;
	else if (prompt != NULL)
		a->prompt = aim_xstrdup(prompt);
}

/* Request i of the run: one per file with --each, else one for all. */
static json_t *
request(struct run *r, int i)
{
	struct ask *a = r->ask;
	json_t *req, *payload = json_object(), *files = json_array();
	char id[37];
	int k;

	for (k = 0; k < a->nfiles; k++)
		if (!a->each || k == i)
			json_array_append_new(files, json_string(a->files[k]));
	if (json_array_size(files) > 0)
		json_object_set_new(payload, "files", files);
	else
		json_decref(files);
	if (a->prompt != NULL)
		json_object_set_new(payload, "prompt", json_string(a->prompt));
	aim_uuid7(id);
	req = json_pack("{s:s, s:o, s:s}", "id", id, "payload", payload,
	    "actor", r->set.cfg.actor);
	if (a->capability != NULL)
		json_object_set_new(req, "capability",
		    json_string(a->capability));
	if (a->steps != NULL)
		json_object_set(req, "steps", a->steps);
	if (a->workflow != NULL)
		json_object_set_new(req, "workflow", json_string(a->workflow));
	if (a->tool != NULL)
		json_object_set_new(req, "tool_id", json_string(a->tool));
	if (a->deadline_ms > 0)
		json_object_set_new(req, "deadline_ms",
		    json_integer(a->deadline_ms));
	if (a->timeout_ms > 0)
		json_object_set_new(req, "timeout_ms",
		    json_integer(a->timeout_ms));
	return req;
}

/* Request i routed, or made the error record aim-resolve would write. */
static json_t *
routed(struct run *r, int i)
{
	json_t *req = request(r, i), *details = NULL;
	const char *why, *code;
	char buf[256], *msg = NULL;

	if ((why = aim_request_invalid(req, r->payload_limit, buf,
	    sizeof(buf))) != NULL)
		return aim_error_record(req, "resolve",
		    strncmp(why, "payload is", 10) == 0 ?
		    "payload_too_large" : "invalid_request", i + 1, "%s", why);
	if (aim_route(&r->router, req, &code, &msg, &details) == 0)
		return req;
	aim_error_record(req, "resolve", code, i + 1, "%s", msg);
	if (details != NULL)
		json_object_update(json_object_get(req, "error"), details);
	json_decref(details);
	free(msg);
	return req;
}

/* The audit entry of rec, its path (or why not) put in rec.audit. */
static void
audit(struct run *r, json_t *rec)
{
	char iso[32], *path = NULL, *why = NULL;
	struct aim_chain *c;
	json_t *entry;

	aim_utc_stamp(iso, NULL, NULL);
	entry = aim_audit_entry(rec, iso, r->set.cfg.actor);
	if ((c = aim_setup_chain(&r->set, &why)) != NULL)
		path = aim_chain_append(c, entry, &why);
	json_decref(entry);
	if (path != NULL) {
		json_object_set_new(rec, "audit", json_pack("{s:s}", "path",
		    path));
		free(path);
		return;
	}
	warnx("%s", why);
	json_object_set_new(rec, "audit", json_pack("{s:s}", "error", why));
	free(why);
	aim_exit_raise(&r->status, AIM_EXIT_IO);
}

/* A live line needs a terminal on stderr that can erase a line. */
static int
live_ok(void)
{
	const char *term = getenv("TERM");

	return isatty(STDERR_FILENO) && term != NULL && *term != '\0' &&
	    strcmp(term, "dumb") != 0;
}

/* Take the live line off the terminal before anything else is written. */
static void
live_clear(struct run *r)
{
	if (r->live_shown) {
		fputs("\r\033[K", stderr);
		r->live_shown = 0;
	}
}

/* "claude 3.2 s", or with --each "claude on a.c 3.2 s", on the live line. */
static void
live_one(void *arg, json_t *rec, const char *tool_id, int64_t started_ms)
{
	struct run *r = arg;
	json_t *files = json_object_get(json_object_get(rec, "payload"),
	    "files");
	char dur[32];

	if (aim_now_ms() - started_ms < LIVE_AFTER_MS)
		return;
	aim_duration(dur, sizeof(dur), aim_now_ms() - started_ms);
	fprintf(stderr, "%s%s", r->live_shown ? ", " : "running ",
	    tool_id ? tool_id : "?");
	if (r->ask->each)
		fprintf(stderr, " on %s", json_string_value(json_array_get(
		    files, 0)));
	fprintf(stderr, " %s", dur);
	r->live_shown = 1;
}

/* "running claude 3.2 s, codex 1.0 s" on stderr, redrawn in place. */
static void
live_draw(struct run *r)
{
	if (!r->live)
		return;
	live_clear(r);
	aim_invoke_each_running(r->iv, live_one, r);
	fflush(stderr);
}

/* The files of a record for a message: "a.c b.c", or "-" for none. */
static char *
files_words(json_t *rec)
{
	json_t *files = json_object_get(json_object_get(rec, "payload"),
	    "files"), *f;
	char *s = NULL, *t;
	size_t i;

	json_array_foreach(files, i, f) {
		t = aim_xsprintf("%s%s%s", s ? s : "", s ? " " : "",
		    json_string_value(f));
		free(s);
		s = t;
	}
	return s != NULL ? s : aim_xstrdup("-");
}

/*
 * One line on stderr for a request that failed (aim-run(1)
 * DIAGNOSTICS): "aim-run: FILES: CAPABILITY: why".
 */
static void
say_failed(json_t *rec, const char *capability)
{
	json_t *e = json_object_get(rec, "error");
	const char *why;
	char *files = files_words(rec), *p, *m;

	why = json_string_value(json_object_get(e != NULL ? e :
	    json_object_get(rec, "result"), "message"));
	m = aim_xstrdup(why != NULL ? why : "failed");
	for (p = m; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	warnx("%s: %s: %s", files, capability, m);
	free(m);
	free(files);
}

/*
 * The audit entries of n records done together (cache hits end many at
 * once) as one group commit (aim-audit(1) "Group commit"); the part that
 * cannot commit together, and a group of one, one by one, as audit does.
 */
static void
audit_group(struct run *r, json_t **recs, size_t n)
{
	json_t **entries;
	struct aim_chain *c;
	char iso[32], **paths, *why = NULL;
	size_t i = 0, k;

	if (n == 1 || (c = aim_setup_chain(&r->set, &why)) == NULL) {
		free(why);
		for (; i < n; i++)
			audit(r, recs[i]);
		return;
	}
	entries = aim_xmalloc(n * sizeof(*entries));
	paths = aim_xmalloc(n * sizeof(*paths));
	aim_utc_stamp(iso, NULL, NULL);
	for (k = 0; k < n; k++)
		entries[k] = aim_audit_entry(recs[k], iso, r->set.cfg.actor);
	/* Each call commits the group, or its part before a new day. */
	while (i < n && (k = aim_chain_append_group(c, entries + i, n - i,
	    paths + i, &why)) > 0)
		for (; k > 0; k--, i++) {
			json_object_set_new(recs[i], "audit", json_pack(
			    "{s:s}", "path", paths[i]));
			free(paths[i]);
		}
	free(why);
	for (; i < n; i++)
		audit(r, recs[i]);
	for (k = 0; k < n; k++)
		json_decref(entries[k]);
	free(entries);
	free(paths);
}

/* The engine's done: kept, to be audited with the others done with it. */
static void
on_done(void *arg, json_t *rec, const char *source, long lineno)
{
	struct run *r = arg;

	(void)source;
	(void)lineno;
	if (r->ndone == r->capdone) {
		r->capdone = r->capdone * 2 + 16;
		r->done = aim_xrealloc(r->done, r->capdone * sizeof(*r->done));
	}
	r->done[r->ndone++] = json_incref(rec);
}

/* An audited record, shown in words or written as a line. */
static void
put(struct run *r, json_t *rec)
{
	json_t *res = json_object_get(rec, "result");
	int failed;

	failed = json_object_get(rec, "error") != NULL ||
	    (json_object_get(rec, "plan") == NULL &&
	    !json_is_true(json_object_get(res, "success")));
	if (r->human) {
		aim_show_record(stdout, rec, r->color);
		fflush(stdout);
	} else {
		if (failed && aim_invoke_interrupted(r->iv) != SIGPIPE)
			say_failed(rec, json_string_value(json_object_get(rec,
			    "capability")) ? json_string_value(json_object_get(
			    rec, "capability")) : "steps");
		if (aim_emit(stdout, rec) == -1)
			aim_exit_raise(&r->status, AIM_EXIT_IO);
	}
	if (failed)
		aim_exit_raise(&r->status, AIM_EXIT_FAILED);
}

/*
 * The records done since the last call: audited, at most audit_group_max
 * together, then put out, each only once its entry is durable.
 */
static void
drain(struct run *r)
{
	size_t i, k, n, max = r->set.cfg.audit_group_max;

	if (r->ndone > 0)
		live_clear(r);
	for (i = 0; i < r->ndone; i += n) {
		n = r->ndone - i < max ? r->ndone - i : max;
		if (!r->ask->dry_run)
			audit_group(r, r->done + i, n);
		for (k = i; k < i + n; k++) {
			put(r, r->done[k]);
			json_decref(r->done[k]);
		}
	}
	r->ndone = 0;
}

/* Wait for the engine, a signal or the next redraw; then step. */
static void
wait_and_step(struct run *r)
{
	struct pollfd sig = { sig_fd, POLLIN, 0 };
	int caught;

	if (aim_invoke_poll(r->iv, &sig, 1, r->live ? LIVE_MS : -1) == -1)
		err(AIM_EXIT_IO, "poll");
	if (sig.revents && (caught = aim_signal_taken(sig_fd)) != 0)
		aim_invoke_interrupt(r->iv, caught);
	aim_invoke_step(r->iv);
	live_draw(r);
}

/* Every request through to its result, in order. */
static void
run(struct run *r)
{
	for (;;) {
		while (r->next < r->nreq && aim_invoke_room(r->iv)) {
			aim_invoke_add(r->iv, routed(r, r->next), "aim run",
			    r->next + 1);
			r->next++;
		}
		aim_invoke_flush(r->iv);
		/*
		 * Requests that ended at once (cache hits) made room: take
		 * more before auditing, so that a warm pass commits as one
		 * group; what is done is audited before any wait.
		 */
		if (r->next < r->nreq && aim_invoke_room(r->iv) &&
		    r->ndone < (size_t)r->set.cfg.audit_group_max)
			continue;
		drain(r);
		if (ferror(stdout) && !aim_invoke_interrupted(r->iv))
			aim_invoke_interrupt(r->iv, SIGPIPE);
		if ((r->next == r->nreq || aim_invoke_interrupted(r->iv)) &&
		    aim_invoke_pending(r->iv) == 0)
			break;
		if (r->next < r->nreq && aim_invoke_room(r->iv))
			continue;
		wait_and_step(r);
	}
	live_clear(r);
}

/*
 * The registry, config and audit directory, or exit 3 saying what is
 * wrong: unlike the filters, a front door has no stream to keep going.
 */
static void
setup(struct run *r)
{
	struct aim_setup *s = &r->set;

	aim_setup_load(s, &r->ask->opt, r->ask->audit_dir, AIM_SETUP_REGISTRY |
	    AIM_SETUP_NEED_CONFIG | AIM_SETUP_AUDIT_DIR | AIM_SETUP_FALLBACK);
	if (s->registry_dir == NULL)
		errx(AIM_EXIT_CONFIG, "%s", s->not_found);
	if (!s->config_ok || !s->registry_ok) {
		aim_problems_print(&s->probs);
		exit(AIM_EXIT_CONFIG);
	}
	if (s->probs.n > 0)
		aim_problems_print(&s->probs);
	aim_problems_print(&s->reg.unknown);
	r->payload_limit = aim_payload_limit(s->reg.security, &s->cfg);
	aim_router_init(&r->router, &s->reg, &s->cfg);
}

int
main(int argc, char *argv[])
{
	struct aim_invoke_opts io;
	struct ask ask;
	struct run r;
	int status;

	if (aim_std_fds() == -1)
		errx(AIM_EXIT_IO, "standard output is closed");
	memset(&ask, 0, sizeof(ask));
	memset(&r, 0, sizeof(r));
	argv[0] = (char *)progname;	/* getopt's messages name us alike */
	parse(&ask, argc, argv);
	r.ask = &ask;
	setup(&r);
	if (ask.prompt_stdin)
		ask.prompt = prompt_stdin(r.payload_limit);
	r.human = !ask.json && isatty(STDOUT_FILENO);
	r.color = r.human && aim_show_color(STDOUT_FILENO);
	r.live = r.human && !ask.dry_run && live_ok();
	r.nreq = ask.each ? ask.nfiles : 1;

	if (sodium_init() == -1)
		errx(AIM_EXIT_IO, "can't initialise libsodium");
	if (aim_proc_setup() == -1 || (sig_fd = aim_signals_catch()) == -1)
		err(AIM_EXIT_IO, "setup");
	memset(&io, 0, sizeof(io));
	io.jobs = ask.jobs;
	io.strict = ask.strict;
	io.dry_run = ask.dry_run;
	io.no_cache = ask.no_cache;
	io.done = on_done;
	io.arg = &r;
	r.iv = aim_invoke_new(&r.set.cfg, &io);
	run(&r);

	if (aim_close_stdout() == -1)
		aim_exit_raise(&r.status, AIM_EXIT_IO);
	status = aim_invoke_exit(r.iv, r.status);
	aim_invoke_free(r.iv);
	free(r.done);
	aim_router_free(&r.router);
	aim_setup_free(&r.set);
	free(ask.prompt);
	json_decref(ask.steps);
	return status;
}
