/*
 * aim-invoke: routed records in, result records out.  Runs each record's
 * ready candidates in order until one succeeds (seed 002 §4), up to -j
 * records at once, all children served by one poll loop.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aim.h"

#define JOBS_MAX	1024

static const char *progname = "aim-invoke";

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: %s [-u] [-c config] [-j jobs] [-r registry] [file ...]\n",
	    progname);
	exit(status);
}

/* One input record on its way through its candidates. */
struct job {
	json_t	*rec;		/* owned; gains tool_id, attempts, result */
	json_t	*attempts;	/* borrowed from rec */
	json_t	*cands;		/* borrowed from rec.route */
	size_t	 next;		/* next candidate to consider */
	const char *tool_id;	/* of the running candidate */
	const char *argv0;
	struct aim_proc proc;
	char	*input, **env;
	char	**argv;		/* its strings are borrowed from rec */
	int	 running, done;
};

struct invoke {
	struct aim_config cfg;
	struct job **queue;	/* input order; a ring of qcap */
	size_t	 qhead, qlen, qcap;
	size_t	 jobs, running;
	int	 unordered;
	int	 status;
	int	 interrupted;	/* the signal, once one came */
	struct aim_vault vault;	/* opened at the first candidate needing it */
	int	 vault_state;	/* 0 not tried, 1 open, -1 unusable */
	char	*vault_why;	/* why it is unusable */
};

static int sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	int saved = errno;

	got_signal = sig;
	(void)write(sig_pipe[1], "", 1);
	errno = saved;
}

/* Is v the string s? */
static int
str_is(json_t *v, const char *s)
{
	return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

static void
job_free(struct job *j)
{
	json_decref(j->rec);
	free(j->input);
	aim_strv_free(j->env);
	free(j->argv);
	free(j);
}

static void
finish_job(struct job *j, json_t *tool_id, json_t *result)
{
	json_object_set_new(j->rec, "tool_id", tool_id);
	json_object_set_new(j->rec, "result", result);
	j->done = 1;
}

/*
 * Open the vault once per run, with the key file of $AIM_VAULT_KEYFILE
 * (issue 4); every value it holds is handed to the redaction.
 */
static int
vault_ready(struct invoke *iv)
{
	if (iv->vault_state == 0) {
		iv->vault_state = aim_vault_open_unattended(&iv->vault,
		    &iv->vault_why) == AIM_VAULT_OK ? 1 : -1;
		if (iv->vault_state == -1)
			warnx("%s", iv->vault_why);
	}
	return iv->vault_state == 1;
}

/*
 * Put the candidate's secrets ({"ENV": "vault/name"}) into its adapter's
 * environment only.  NULL, or the malloc'd reason it cannot run.
 */
static char *
inject_secrets(struct invoke *iv, char ***env, json_t *secrets)
{
	const struct aim_vault_secret *s;
	const char *var;
	char buf[512];
	json_t *name;

	json_object_foreach(secrets, var, name) {
		if (!vault_ready(iv)) {
			snprintf(buf, sizeof(buf), "missing_secret: %s (%s)",
			    json_string_value(name), iv->vault_why);
			return aim_xstrdup(buf);
		}
		s = aim_vault_get(&iv->vault, json_string_value(name));
		if (s == NULL || memchr(s->value, '\0', s->value_len) != NULL) {
			snprintf(buf, sizeof(buf), "missing_secret: %s%s",
			    json_string_value(name), s == NULL ? "" :
			    " (holds a NUL byte: not for an environment)");
			return aim_xstrdup(buf);
		}
		*env = aim_env_put(*env, var, (const char *)s->value,
		    s->value_len);
	}
	return NULL;
}

/* Start the next ready candidate, recording skipped ones; or finish. */
static void
start_next(struct invoke *iv, struct job *j)
{
	struct aim_proc_limits lim;
	const char *cap, *id, *registry;
	json_t *c, *argv, *x, *route, *t;
	char *missing;
	size_t n, i;
	int64_t timeout_ms;
	int rc;

	route = json_object_get(j->rec, "route");
	cap = json_string_value(json_object_get(route, "capability"));
	if (cap == NULL)
		cap = json_string_value(json_object_get(j->rec, "capability"));
	id = json_string_value(json_object_get(j->rec, "id"));
	registry = json_string_value(json_object_get(route, "registry"));
	n = json_array_size(j->cands);
	while (j->next < n) {
		c = json_array_get(j->cands, j->next++);
		if (!str_is(json_object_get(c, "status"), "ready")) {
			json_array_append_new(j->attempts,
			    aim_adapter_skipped(c));
			continue;
		}
		j->tool_id = json_string_value(json_object_get(c, "tool_id"));
		argv = json_object_get(c, "argv");
		t = json_object_get(c, "timeout_ms");
		timeout_ms = json_is_integer(t) && json_integer_value(t) > 0 ?
		    json_integer_value(t) : iv->cfg.timeout_ms;

		free(j->argv);
		j->argv = aim_xmalloc((json_array_size(argv) + 1) *
		    sizeof(char *));
		json_array_foreach(argv, i, x)
			j->argv[i] = (char *)json_string_value(x);
		j->argv[json_array_size(argv)] = NULL;
		j->argv0 = j->argv[0] ? j->argv[0] : "(none)";

		aim_strv_free(j->env);
		j->env = aim_adapter_env(json_object_get(c, "pass_env"),
		    j->tool_id, cap, id, timeout_ms, registry);
		if ((missing = inject_secrets(iv, &j->env,
		    json_object_get(c, "secrets"))) != NULL) {
			json_array_append_new(j->attempts, json_pack(
			    "{s:s, s:s, s:s, s:s}", "tool_id", j->tool_id,
			    "outcome", "skipped", "reason", "missing_secret",
			    "message", missing));
			free(missing);
			continue;
		}
		free(j->input);
		j->input = aim_adapter_input(j->rec, timeout_ms, &i);

		lim.timeout_ms = timeout_ms;
		lim.kill_grace_ms = iv->cfg.kill_grace_ms;
		lim.max_stdout_bytes = iv->cfg.max_output_bytes;
		lim.stderr_tail_bytes = iv->cfg.stderr_tail_bytes;
		rc = aim_proc_spawn(&j->proc, j->argv, j->env, j->input, i,
		    &lim);
		/* The child has its copy: secrets leave our memory now. */
		aim_strv_free(j->env);
		j->env = NULL;
		if (rc == 0) {
			j->running = 1;
			iv->running++;
			return;
		}
		json_array_append_new(j->attempts, aim_adapter_attempt(&j->proc,
		    j->tool_id, j->argv0, &x));
		aim_proc_free(&j->proc);
	}
	finish_job(j, json_null(), aim_all_failed(cap ? cap : "?",
	    j->attempts));
}

/* A candidate's child finished: judge it, then succeed or move on. */
static void
child_done(struct invoke *iv, struct job *j)
{
	json_t *attempt, *output, *content;
	char msg[64];

	j->running = 0;
	iv->running--;
	attempt = aim_adapter_attempt(&j->proc, j->tool_id, j->argv0, &output);
	aim_proc_free(&j->proc);
	if (iv->interrupted &&
	    !str_is(json_object_get(attempt, "outcome"), "success")) {
		snprintf(msg, sizeof(msg), "interrupted by %s",
		    aim_signame(iv->interrupted));
		json_object_set_new(attempt, "outcome",
		    json_string("interrupted"));
		json_object_set_new(attempt, "message", json_string(msg));
		json_array_append_new(j->attempts, attempt);
		json_decref(output);
		finish_job(j, json_null(), json_pack("{s:b, s:s, s:n}",
		    "success", 0, "message", msg, "content"));
		return;
	}
	if (output != NULL && json_is_true(json_object_get(output, "success"))) {
		json_array_append_new(j->attempts, attempt);
		finish_job(j, json_string(j->tool_id), output);
		return;
	}
	content = json_object_get(output, "content");
	if (content != NULL && !json_is_null(content))
		json_object_set(attempt, "content", content);
	json_decref(output);
	json_array_append_new(j->attempts, attempt);
	start_next(iv, j);
}

/* What to do with one input line: a job, running or already done. */
static struct job *
new_job(struct invoke *iv, const struct aim_line *line, const char *source)
{
	struct job *j;
	json_t *rec, *route;
	char buf[256];
	const char *why = NULL;
	int is_error;

	j = aim_xmalloc(sizeof(*j));
	memset(j, 0, sizeof(*j));
	if (line->too_long) {
		snprintf(buf, sizeof(buf), "record is longer than %zu bytes",
		    (size_t)iv->cfg.max_payload_bytes * 4 + 1048576);
		j->rec = aim_bad_line_record(line, "invoke", "invalid_record",
		    buf);
		goto bad;
	}
	rec = aim_parse_record(line, "invoke", "a record", "invalid_record",
	    &is_error);
	if (is_error) {
		j->rec = rec;
		goto bad;
	}
	j->rec = rec;
	/* Error records and finished results flow on untouched. */
	if (json_object_get(rec, "error") != NULL ||
	    json_object_get(rec, "result") != NULL) {
		j->done = 1;
		return j;
	}
	route = json_object_get(rec, "route");
	if (route == NULL)
		why = "no \"route\": pipe requests through aim-resolve first";
	else if (!json_is_array(json_object_get(route, "candidates")))
		why = "\"route.candidates\" must be an array";
	else {
		size_t i, k;
		json_t *c, *a, *x;

		json_array_foreach(json_object_get(route, "candidates"), i, c) {
			if (!json_is_string(json_object_get(c, "tool_id")))
				why = "a candidate has no \"tool_id\"";
			if (!str_is(json_object_get(c, "status"), "ready"))
				continue;
			a = json_object_get(c, "argv");
			if (json_array_size(a) == 0)
				why = "a ready candidate has no \"argv\"";
			json_array_foreach(a, k, x)
				if (!json_is_string(x))
					why = "\"argv\" must hold strings";
		}
	}
	if (why != NULL) {
		aim_error_record(rec, "invoke", "invalid_record", line->lineno,
		    "%s", why);
		goto bad;
	}
	j->cands = json_object_get(route, "candidates");
	j->attempts = json_array();
	json_object_set_new(rec, "attempts", j->attempts);
	start_next(iv, j);
	return j;
bad:
	aim_redact_secrets(j->rec);
	warnx("%s:%ld: %s", source, line->lineno, json_string_value(
	    json_object_get(json_object_get(j->rec, "error"), "message")));
	j->done = 1;
	return j;
}

static void
emit_job(struct invoke *iv, struct job *j)
{
	json_t *r = json_object_get(j->rec, "result");

	if (json_object_get(j->rec, "error") != NULL ||
	    !json_is_true(json_object_get(r, "success")))
		aim_exit_raise(&iv->status, AIM_EXIT_FAILED);
	/* An adapter may echo its secrets: they never reach our output. */
	aim_redact_secrets(j->rec);
	if (aim_emit(stdout, j->rec) == -1)
		aim_exit_raise(&iv->status, AIM_EXIT_IO);
	job_free(j);
}

/* Write what is finished: the done head in order, or anything with -u. */
static void
emit_done(struct invoke *iv)
{
	size_t i, k;
	struct job *j;

	if (!iv->unordered) {
		while (iv->qlen > 0 && iv->queue[iv->qhead]->done) {
			emit_job(iv, iv->queue[iv->qhead]);
			iv->qhead = (iv->qhead + 1) % iv->qcap;
			iv->qlen--;
		}
		return;
	}
	for (i = 0, k = 0; i < iv->qlen; i++) {
		j = iv->queue[(iv->qhead + i) % iv->qcap];
		if (j->done)
			emit_job(iv, j);
		else
			iv->queue[(iv->qhead + k++) % iv->qcap] = j;
	}
	iv->qlen = k;
}

static void
interrupt(struct invoke *iv)
{
	size_t i;

	iv->interrupted = got_signal;
	for (i = 0; i < iv->qlen; i++) {
		struct job *j = iv->queue[(iv->qhead + i) % iv->qcap];

		if (j->running)
			aim_proc_cancel(&j->proc);
	}
}

static void
run(struct invoke *iv, char **files, int nfiles)
{
	static char *std_input[] = { "-" };
	struct aim_lines r;
	struct aim_line line;
	struct aim_proc **procs;
	struct pollfd extra[2];
	const char *source = "<stdin>";
	size_t i, n, nextra;
	int fi = 0, fd = -1, input_done = 0, rc;
	char drain[64];

	if (nfiles == 0) {
		files = std_input;
		nfiles = 1;
	}
	procs = aim_xmalloc(iv->qcap * sizeof(*procs));
	memset(&r, 0, sizeof(r));
	for (;;) {
		/* Take in records while there is room. */
		while (!input_done && !iv->interrupted &&
		    iv->qlen < iv->qcap && iv->running < iv->jobs) {
			if (fd == -1) {
				if (fi == nfiles) {
					input_done = 1;
					break;
				}
				source = aim_input_name(files[fi]);
				if ((fd = aim_open_input(files[fi++])) == -1) {
					warn("can't open %s", files[fi - 1]);
					aim_exit_raise(&iv->status, AIM_EXIT_IO);
					continue;
				}
				aim_lines_init(&r, fd, iv->cfg.max_payload_bytes
				    * 4 + 1048576);
			}
			if (aim_lines_get(&r, &line)) {
				if (aim_line_blank(&line))
					continue;
				iv->queue[(iv->qhead + iv->qlen++) % iv->qcap] =
				    new_job(iv, &line, source);
				continue;
			}
			if (r.eof || r.err) {
				if (r.err) {
					warnx("%s: read error: %s", source,
					    strerror(r.err));
					aim_exit_raise(&iv->status, AIM_EXIT_IO);
				}
				aim_lines_free(&r);
				if (fd != STDIN_FILENO)
					close(fd);
				fd = -1;
				continue;
			}
			break;	/* wait for more input */
		}
		emit_done(iv);
		if (ferror(stdout) && !iv->interrupted) {
			/* Nobody reads us any more: stop cleanly. */
			got_signal = SIGPIPE;
			interrupt(iv);
		}
		if ((input_done || iv->interrupted) && iv->qlen == 0)
			break;

		nextra = 0;
		extra[nextra++] = (struct pollfd){ sig_pipe[0], POLLIN, 0 };
		if (fd != -1 && !iv->interrupted && iv->qlen < iv->qcap &&
		    iv->running < iv->jobs)
			extra[nextra++] = (struct pollfd){ fd, POLLIN, 0 };
		for (i = 0, n = 0; i < iv->qlen; i++) {
			struct job *j = iv->queue[(iv->qhead + i) % iv->qcap];

			if (j->running)
				procs[n++] = &j->proc;
		}
		rc = aim_proc_wait(procs, n, extra, nextra, -1);
		if (rc == -1)
			err(AIM_EXIT_IO, "poll");
		if (extra[0].revents) {
			while (read(sig_pipe[0], drain, sizeof(drain)) > 0)
				;
			if (got_signal && !iv->interrupted)
				interrupt(iv);
		}
		if (nextra > 1 && extra[1].revents)
			aim_lines_fill(&r);
		if (rc > 0)
			for (i = 0; i < iv->qlen; i++) {
				struct job *j =
				    iv->queue[(iv->qhead + i) % iv->qcap];

				if (j->running && j->proc.state == AIM_PROC_DONE)
					child_done(iv, j);
			}
	}
	if (fd != -1) {
		aim_lines_free(&r);
		if (fd != STDIN_FILENO)
			close(fd);
	}
	free(procs);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "registry", required_argument, NULL, 'r' },
		{ "unordered", no_argument, NULL, 'u' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct aim_problems probs = { NULL, 0, 0 };
	struct aim_options opt = { NULL, NULL };
	struct sigaction sa;
	struct invoke iv;
	char *dir, *why = NULL, *end;
	long jobs = 1;
	int ch;

	memset(&iv, 0, sizeof(iv));
	argv[0] = (char *)progname;	/* getopt's messages name us alike */
	while ((ch = getopt_long(argc, argv, "c:hj:r:u", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opt.config = optarg;
			break;
		case 'h':
			usage(0);
		case 'j':
			errno = 0;
			jobs = strtol(optarg, &end, 10);
			if (errno || *end != '\0' || jobs < 1 || jobs > JOBS_MAX) {
				warnx("-j %s: want a number from 1 to %d",
				    optarg, JOBS_MAX);
				usage(AIM_EXIT_USAGE);
			}
			break;
		case 'r':
			opt.registry = optarg;
			break;
		case 'u':
			iv.unordered = 1;
			break;
		case 'V':
			printf("%s %s\n", progname, AIM_VERSION);
			return 0;
		default:
			usage(AIM_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	/*
	 * The config only tunes limits: without a registry, defaults do.  A
	 * bad one is reported, and the records still run on the defaults.
	 */
	dir = aim_registry_find(&opt, &why);
	if (dir == NULL && opt.registry != NULL) {
		warnx("%s", why);
		aim_exit_raise(&iv.status, AIM_EXIT_CONFIG);
	}
	if (aim_config_load(&iv.cfg, &opt, dir, &probs) == -1) {
		aim_problems_print(&probs);
		aim_exit_raise(&iv.status, AIM_EXIT_CONFIG);
	}
	aim_problems_free(&probs);
	free(dir);
	free(why);

	if (aim_proc_setup() == -1 ||
	    pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		err(AIM_EXIT_IO, "setup");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	iv.jobs = jobs;
	/* Room for finished records waiting behind a slow one. */
	iv.qcap = jobs * 4 + 16;
	iv.queue = aim_xmalloc(iv.qcap * sizeof(*iv.queue));
	run(&iv, argv, argc);

	if (aim_close_stdout() == -1)
		aim_exit_raise(&iv.status, AIM_EXIT_IO);
	free(iv.queue);
	aim_config_free(&iv.cfg);
	if (iv.vault_state != 0)
		aim_vault_close(&iv.vault);
	free(iv.vault_why);
	if (iv.interrupted && iv.interrupted != SIGPIPE)
		return AIM_EXIT_SIGNAL + iv.interrupted;
	return iv.status;
}
