/*
 * aim-fanout: routed records in, one fan-out record out each.  Runs a
 * record's ready candidates at once, each in its own copy of the working
 * tree (lib/worktree.c) and its own process, verifies each, and names a
 * winner (aim-fanout(1)).
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "aim.h"

#define CANDS_MAX	64
/* The diffs a judge is shown, in all (aim-fanout(1) "The judge"). */
#define JUDGE_DIFFS_BYTES	65536

static const char *progname = "aim-fanout";

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: %s [-k] [-c config] [-n count] [-o order] [-r registry] "
	    "[-t tool,...]\n"
	    "                  [--copy=path] [--judge=capability] "
	    "[--link=path] [--setup=cmd]\n"
	    "                  [--verify=cmd] [file ...]\n", progname);
	if (status == 0)
		printf("  -c, --config=FILE        read the configuration from "
		    "FILE\n"
		    "      --copy=PATH          copy PATH into each worktree\n"
		    "  -h, --help               print this help and exit\n"
		    "      --judge=CAPABILITY   a judge of this capability "
		    "picks the winner\n"
		    "  -k, --keep               keep the worktrees\n"
		    "      --link=PATH          symlink PATH into each worktree\n"
		    "  -n, --count=N            run the first N ready "
		    "candidates\n"
		    "  -o, --order=ORDER        smallest-diff, lowest-cost, "
		    "fastest or judge\n"
		    "  -r, --registry=DIR       take aim_config.json from DIR\n"
		    "      --setup=CMD          run CMD in each worktree first\n"
		    "  -t, --tools=TOOL,...     run these candidates only\n"
		    "  -V, --version            print the version and exit\n"
		    "      --verify=CMD         run CMD in each worktree after "
		    "the tool\n"
		    "See aim-fanout(1).\n");
	exit(status);
}

/* The read end of the signals' pipe (aim_signals_catch). */
static int sig_fd = -1;

/* The catcher's actions, armed only while a record has worktrees. */
static const int caught[] = { SIGINT, SIGTERM, SIGHUP };
static struct sigaction catcher[3], inherited[3];

/*
 * Catch SIGINT, SIGTERM and SIGHUP (on) or give them back the actions we
 * were started with (off): between records there is nothing to clean
 * up, and a blocking read of the input must not outlive a ^C.
 */
static void
signals_arm(int on)
{
	size_t i;

	for (i = 0; i < 3; i++)
		sigaction(caught[i], on ? &catcher[i] : &inherited[i], NULL);
}

struct fan {
	const struct aim_config *cfg;
	struct aim_worktree_opts wo;
	const char *verify;	/* --verify, or NULL */
	const char *cmd;	/* this record's: --verify, else route.verify */
	json_t	*vroute;	/* else route.verify naming a capability */
	const char *order;	/* smallest-diff, lowest-cost, fastest */
	const char *judge;	/* the judge's capability, or NULL: none */
	struct aim_setup *set;	/* its registry and rules, to route it */
	struct aim_router router;
	int	 routing;	/* router set up */
	json_t	*tools;		/* -t: names, or NULL */
	long	 count;		/* -n, 0: all */
	int	 keep;
	int	 signal;	/* the one that cut us short, or 0 */
	int	 status;
};

/* One candidate at work: its copy, its process, what it answered. */
struct cand {
	json_t	*c;		/* the route's candidate (borrowed) */
	const char *tool_id;
	struct aim_worktree wt;
	int	 have_wt;
	pid_t	 pid;
	int	 fd;		/* the answer's pipe, -1 when read */
	char	*buf;
	size_t	 len, cap;
	json_t	*out;		/* the record's candidate object */
	int	 removed;	/* its process removed the copy */
	int	 state_fd;	/* the state's tree goes down it, or -1 */
};

/* ---- in the candidate's process ---- */

struct one {
	json_t	*rec;		/* the engine's record, or NULL */
};

static void
one_done(void *arg, json_t *rec, const char *source, long lineno)
{
	struct one *o = arg;

	(void)source, (void)lineno;
	o->rec = json_incref(rec);
}

/*
 * The record the engine runs here: the routed one with k's candidate
 * alone, payload files named absolutely inside the user's tree moved to
 * the same place in the copy.
 */
static json_t *
one_record(json_t *rec, struct cand *k, const struct aim_base *b)
{
	json_t *one = json_deep_copy(rec), *files, *f;
	size_t i, n = strlen(b->top);
	const char *s;

	json_object_set_new(json_object_get(one, "route"), "candidates",
	    json_pack("[O]", k->c));
	/* Verify runs here once, after the engine, to choose: no rounds. */
	json_object_del(json_object_get(one, "route"), "verify");
	files = json_object_get(json_object_get(one, "payload"), "files");
	json_array_foreach(files, i, f) {
		s = json_string_value(f);
		if (s != NULL && strncmp(s, b->top, n) == 0 && s[n] == '/')
			json_array_set_new(files, i, json_sprintf("%s%s",
			    k->wt.tree, s + n));
	}
	return one;
}

/* Run a routed record through the engine, here (stolen; strict: -s). */
static json_t *
engine_run(const struct fan *f, json_t *one, int strict)
{
	struct aim_invoke_opts io;
	struct aim_invoke *iv;
	struct pollfd pfd;
	struct one o = { NULL };
	int sig;

	memset(&io, 0, sizeof(io));
	io.jobs = 1;
	io.strict = strict;
	io.done = one_done;
	io.arg = &o;
	iv = aim_invoke_new(f->cfg, &io);
	aim_invoke_add(iv, one, "<fanout>", 1);
	for (;;) {
		aim_invoke_flush(iv);
		if (aim_invoke_pending(iv) == 0)
			break;
		pfd = (struct pollfd){ sig_fd, POLLIN, 0 };
		if (aim_invoke_poll(iv, &pfd, 1, -1) == -1 && errno != EINTR)
			break;
		if (pfd.revents && (sig = aim_signal_taken(sig_fd)) != 0 &&
		    !aim_invoke_interrupted(iv))
			aim_invoke_interrupt(iv, sig);
		aim_invoke_step(iv);
	}
	aim_invoke_free(iv);
	return o.rec;
}

/*
 * The check of f->cmd here on what r's tool changed (r borrowed), one
 * result shape with the engine's (aim_verify_result).
 */
static json_t *
verify_run(const struct fan *f, json_t *r)
{
	struct aim_proc_limits lim = { f->cfg->timeout_ms,
	    f->cfg->kill_grace_ms, AIM_VERIFY_TAIL_BYTES,
	    AIM_VERIFY_TAIL_BYTES };
	json_t *files = aim_verify_files(r, json_object_get(r, "result")), *v;
	char *script, **argv = aim_verify_argv(f->cmd, files, &script);
	extern char **environ;
	struct aim_proc p;

	aim_proc_run(&p, argv, environ, NULL, 0, &lim);
	v = aim_verify_result(&p, f->cmd);
	aim_proc_free(&p);
	free(argv);
	free(script);
	json_decref(files);
	return v;
}

/*
 * The check of f->vroute, a capability routed through aim, here on what
 * r's tool changed (r borrowed): through the engine, as aim-invoke's
 * rounds run it (aim_verify_request, aim_verify_routed).
 */
static json_t *
verify_routed_run(const struct fan *f, json_t *r)
{
	int64_t t0 = aim_now_ms();
	json_t *vr, *v;

	vr = engine_run(f, aim_verify_request(f->vroute, r, json_object_get(r,
	    "result")), 0);
	v = aim_verify_routed(vr, aim_now_ms() - t0);
	json_decref(vr);
	return v;
}

/* The diff of k's copy and its figures, into the candidate object o. */
static void
diff_add(struct cand *k, json_t *o)
{
	struct aim_diff_stat st;
	char *diff, *why = NULL;
	size_t len;

	if (aim_worktree_diff(&k->wt, &diff, &len, &why) == -1) {
		json_object_set_new(o, "diff_error", json_string(why));
		free(why);
		return;
	}
	aim_diff_stat(diff, len, &st);
	json_object_set_new(o, "diff", aim_json_text(diff, len, len, 0));
	json_object_set_new(o, "files_changed", json_integer(st.files));
	json_object_set_new(o, "lines_added", json_integer(st.lines_added));
	json_object_set_new(o, "lines_removed", json_integer(st.lines_removed));
	free(diff);
}

/* The candidate object from the engine's record r (borrowed). */
static json_t *
cand_object(struct cand *k, json_t *r, int64_t ms)
{
	json_t *res = json_object_get(r, "result"), *a, *content;
	const char *status = "failure";

	a = json_array_get(json_object_get(r, "attempts"),
	    json_array_size(json_object_get(r, "attempts")) - 1);
	if (json_is_true(json_object_get(res, "success")))
		status = "success";
	else if (json_is_string(json_object_get(a, "outcome")))
		status = json_string_value(json_object_get(a, "outcome"));
	else if (json_object_get(r, "error") != NULL)
		status = "error";
	content = json_object_get(res, "content");
	return json_pack("{s:s, s:s, s:O*, s:O*, s:O*, s:I, s:O*, s:O*}",
	    "tool_id", k->tool_id, "status", status, "result", res,
	    "attempts", json_object_get(r, "attempts"), "error",
	    json_object_get(r, "error"), "duration_ms", (json_int_t)ms,
	    "usage", json_object_get(content, "usage"), "cost_usd",
	    json_object_get(content, "cost_usd"));
}

/*
 * The state's tree id, from aim-fanout once it has written it (while the
 * copy was checked out), into b: 0, or -1 when it wrote none (it could
 * not, or a signal came).
 */
static int
state_read(int fd, struct aim_base *b)
{
	char buf[sizeof(b->tree) + 1];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) - 1 && memchr(buf, '\n', len) == NULL) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	len = strcspn(buf, "\n");
	if (len == 0 || len >= sizeof(b->tree))
		return -1;
	memcpy(b->tree, buf, len);
	b->tree[len] = '\0';
	return 0;
}

/*
 * A candidate's process: its copy made, then in it the tool through the
 * engine, verify and the diff; the candidate object down fd, then the
 * copy removed (not with --keep), while the other candidates may still
 * run.  Never returns: exit 0 when it answered and removed the copy,
 * else 1 (and the copy is aim-fanout's to remove).
 */
static void __attribute__((noreturn))
cand_child(struct fan *f, json_t *rec, struct cand *k,
    const struct aim_base *head, pid_t parent, int fd, int state_fd)
{
	struct aim_base b = *head;
	json_t *r, *o;
	int64_t t0;
	char *s, *why = NULL;

	/* Our parent gone (kill -9): stop the tool, leave the sweep the rest. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
	if (aim_proc_forked() == -1 || (sig_fd = aim_signals_catch()) == -1)
		_exit(1);
	/* HEAD checked out while aim-fanout writes the state's tree. */
	if (aim_worktree_checkout(&k->wt, &b, &why) == 0 &&
	    state_read(state_fd, &b) == -1)
		_exit(1);
	if (why != NULL || aim_worktree_fill(&k->wt, &b, &f->wo, &why) == -1 ||
	    chdir(k->wt.cwd) == -1) {
		o = json_pack("{s:s, s:s, s:s}", "tool_id", k->tool_id,
		    "status", "error", "message", why ? why : strerror(errno));
		s = json_dumps(o, JSON_COMPACT);
		if (s != NULL)
			(void)aim_write_full(fd, s, strlen(s));
		_exit(1);
	}
	t0 = aim_now_ms();
	r = engine_run(f, one_record(rec, k, &b), 1);
	/* Orphaned: the copy is the next sweep's; touch it no more. */
	if (getppid() != parent)
		_exit(1);
	o = cand_object(k, r, aim_now_ms() - t0);
	if (json_is_true(json_object_get(json_object_get(r, "result"),
	    "success")) && f->cmd != NULL)
		json_object_set_new(o, "verify", verify_run(f, r));
	else if (json_is_true(json_object_get(json_object_get(r, "result"),
	    "success")) && f->vroute != NULL)
		json_object_set_new(o, "verify", verify_routed_run(f, r));
	diff_add(k, o);
	/* The diff's walk took it; else a walk of its own, while cached. */
	json_object_set_new(o, "disk_bytes", json_integer(k->wt.disk_bytes >=
	    0 ? k->wt.disk_bytes : aim_disk_bytes(k->wt.dir)));
	s = json_dumps(o, JSON_COMPACT);
	if (s == NULL || aim_write_full(fd, s, strlen(s)) == -1 || f->keep ||
	    chdir("/") == -1 || aim_worktree_remove(&k->wt, NULL) == -1)
		_exit(1);
	_exit(0);
}

/* ---- in aim-fanout ---- */

/* Start k's process: 0, or -1 with errno (k->out says so). */
static int
cand_start(struct fan *f, json_t *rec, struct cand *ks, size_t i,
    const struct aim_base *b)
{
	struct cand *k = &ks[i];
	int p[2], st[2];
	pid_t me = getpid();
	size_t j;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	/* A socket, so that a send to a process gone is no SIGPIPE. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, st) == -1) {
		close(p[0]), close(p[1]);
		return -1;
	}
	fflush(NULL);
	if ((k->pid = fork()) == -1) {
		close(p[0]), close(p[1]), close(st[0]), close(st[1]);
		return -1;
	}
	if (k->pid == 0) {
		close(p[0]);
		close(st[1]);
		/* The others' state pipes end when aim-fanout closes them. */
		for (j = 0; j < i; j++)
			if (ks[j].state_fd != -1)
				close(ks[j].state_fd);
		cand_child(f, rec, k, b, me, p[1], st[0]);
	}
	close(p[1]);
	close(st[0]);
	k->fd = p[0];
	k->state_fd = st[1];
	return 0;
}

/*
 * The state's tree written (aim_base_state) while the candidates check
 * out HEAD, then sent down each one's state pipe; on failure or after a
 * signal, nothing is sent and each process ends without an answer.
 * 0, or -1 with a malloc'd *why.
 */
static int
state_send(struct fan *f, struct cand *ks, size_t n, struct aim_base *b,
    char **why)
{
	char line[sizeof(b->tree) + 1];
	int rc = f->signal ? 0 : aim_base_state(b, why);
	size_t i;

	snprintf(line, sizeof(line), "%s\n", b->tree);
	for (i = 0; i < n; i++) {
		if (ks[i].state_fd == -1)
			continue;
		if (rc == 0 && !f->signal)
			(void)send(ks[i].state_fd, line, strlen(line),
			    MSG_NOSIGNAL);
		close(ks[i].state_fd);
		ks[i].state_fd = -1;
	}
	return rc;
}

/* Read what k's process wrote so far; at its end, reap it. */
static void
cand_read(struct cand *k)
{
	ssize_t n;
	int st;

	if (k->cap - k->len < 65536) {
		k->cap = k->cap * 2 + 65536;
		k->buf = aim_xrealloc(k->buf, k->cap);
	}
	n = read(k->fd, k->buf + k->len, k->cap - k->len - 1);
	if (n > 0) {
		k->len += n;
		return;
	}
	if (n == -1 && errno == EINTR)
		return;
	close(k->fd);
	k->fd = -1;
	while (waitpid(k->pid, &st, 0) == -1 && errno == EINTR)
		;
	k->removed = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	k->buf = aim_xrealloc(k->buf, k->len + 1);
	k->buf[k->len] = '\0';
	if ((k->out = json_loads(k->buf, 0, NULL)) == NULL)
		k->out = json_pack("{s:s, s:s, s:s}", "tool_id", k->tool_id,
		    "status", "error", "message", WIFSIGNALED(st) ?
		    aim_signame(WTERMSIG(st)) : "its process gave no answer");
}

/* Wait for every candidate's answer, passing a signal on to them. */
static void
cands_wait(struct fan *f, struct cand *ks, size_t n)
{
	struct pollfd pfd[CANDS_MAX + 1];
	size_t i, m;
	int sig, told = 0;

	for (;;) {
		pfd[0] = (struct pollfd){ sig_fd, POLLIN, 0 };
		for (i = 0, m = 1; i < n; i++)
			if (ks[i].fd != -1)
				pfd[m++] = (struct pollfd){ ks[i].fd, POLLIN, 0 };
		if (m == 1)
			return;
		if (poll(pfd, m, -1) == -1 && errno != EINTR)
			err(AIM_EXIT_IO, "poll");
		if (pfd[0].revents && (sig = aim_signal_taken(sig_fd)) != 0 &&
		    f->signal == 0)
			f->signal = sig;
		if (f->signal && !told) {
			for (i = 0; i < n; i++)
				if (ks[i].fd != -1)
					kill(ks[i].pid, SIGTERM);
			told = 1;
		}
		for (i = 0, m = 1; i < n; i++)
			if (ks[i].fd != -1 && pfd[m++].revents)
				cand_read(&ks[i]);
	}
}

/* Is tool among -t's names (any when there is no -t)? */
static int
tool_wanted(const struct fan *f, const char *tool)
{
	json_t *v;
	size_t i;

	if (f->tools == NULL)
		return 1;
	json_array_foreach(f->tools, i, v)
		if (strcmp(json_string_value(v), tool) == 0)
			return 1;
	return 0;
}

/* The ready candidates of rec to run (-t, -n), into ks; how many. */
static size_t
cands_pick(const struct fan *f, json_t *rec, struct cand *ks)
{
	json_t *c, *list = json_object_get(json_object_get(rec, "route"),
	    "candidates");
	const char *tool;
	size_t i, n = 0;

	json_array_foreach(list, i, c) {
		tool = json_string_value(json_object_get(c, "tool_id"));
		if (tool == NULL || !json_is_array(json_object_get(c, "argv")) ||
		    strcmp(json_string_value(json_object_get(c, "status")) ?
		    json_string_value(json_object_get(c, "status")) : "",
		    "ready") != 0 || !tool_wanted(f, tool))
			continue;
		if ((f->count > 0 && (long)n == f->count) || n == CANDS_MAX)
			break;
		memset(&ks[n], 0, sizeof(ks[n]));
		ks[n].c = c;
		ks[n].tool_id = tool;
		ks[n].fd = ks[n].state_fd = -1;
		n++;
	}
	return n;
}

static int64_t
int_of(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* May a candidate win: it succeeded and, with --verify, passed. */
static int
may_win(json_t *o)
{
	json_t *v = json_object_get(o, "verify");

	return strcmp(json_string_value(json_object_get(o, "status")),
	    "success") == 0 && json_object_get(o, "diff") != NULL &&
	    (v == NULL || strcmp(json_string_value(json_object_get(v,
	    "status")), "passed") == 0);
}

/* a before b in -o's order (candidates that changed something first)? */
static int
better(const struct fan *f, json_t *a, json_t *b)
{
	int64_t da = int_of(a, "lines_added") + int_of(a, "lines_removed");
	int64_t db = int_of(b, "lines_added") + int_of(b, "lines_removed");
	json_t *ca = json_object_get(a, "cost_usd");
	json_t *cb = json_object_get(b, "cost_usd");

	if ((int_of(a, "files_changed") > 0) != (int_of(b, "files_changed") > 0))
		return int_of(a, "files_changed") > 0;
	if (strcmp(f->order, "lowest-cost") == 0 && json_is_number(ca) !=
	    json_is_number(cb))
		return json_is_number(ca);
	if (strcmp(f->order, "lowest-cost") == 0 && json_is_number(ca) &&
	    json_number_value(ca) != json_number_value(cb))
		return json_number_value(ca) < json_number_value(cb);
	if (strcmp(f->order, "fastest") == 0 &&
	    int_of(a, "duration_ms") != int_of(b, "duration_ms"))
		return int_of(a, "duration_ms") < int_of(b, "duration_ms");
	if (da != db)
		return da < db;
	return int_of(a, "duration_ms") < int_of(b, "duration_ms");
}

/* What made w the winner, among m that might win. */
static char *
why_won(const struct fan *f, json_t *w, size_t m)
{
	char d[32];
	const char *pass = f->cmd || f->vroute ? "passed verify" :
	    "succeeded";
	int64_t nl, nf;

	if (strcmp(f->order, "fastest") == 0) {
		aim_duration(d, sizeof(d), int_of(w, "duration_ms"));
		return aim_xsprintf("%s; fastest (%s) of %zu", pass, d, m);
	}
	if (strcmp(f->order, "lowest-cost") == 0 &&
	    json_is_number(json_object_get(w, "cost_usd")))
		return aim_xsprintf("%s; lowest cost ($%g) of %zu", pass,
		    json_number_value(json_object_get(w, "cost_usd")), m);
	nl = int_of(w, "lines_added") + int_of(w, "lines_removed");
	nf = int_of(w, "files_changed");
	return aim_xsprintf("%s; smallest diff (%lld line%s in %lld file%s) "
	    "of %zu", pass, (long long)nl, nl == 1 ? "" : "s", (long long)nf,
	    nf == 1 ? "" : "s", m);
}

/*
 * The judge's request: the task's prompt and the diff of each candidate
 * that may win, JUDGE_DIFFS_BYTES of diffs in all, a cut one marked.
 */
static json_t *
judge_request(json_t *rec, json_t *cands, size_t m)
{
	json_t *o, *req;
	const char *diff, *task;
	size_t i, len, room = JUDGE_DIFFS_BYTES / (m ? m : 1), blen;
	char *buf;
	FILE *fp;

	if ((fp = open_memstream(&buf, &blen)) == NULL)
		err(AIM_EXIT_IO, "open_memstream");
	task = json_string_value(json_object_get(json_object_get(rec,
	    "payload"), "prompt"));
	fprintf(fp, "You judge %zu candidate changes, each made by another "
	    "tool for the same task, and pick the best.\nThe task: %s\n"
	    "Each candidate's unified diff follows its line \"=== "
	    "candidate TOOL_ID ===\".\nAnswer with a JSON object alone: "
	    "{\"winner\": \"<tool_id>\", \"why\": \"<one sentence>\"}\n",
	    m, task ? task : "(none given)");
	json_array_foreach(cands, i, o) {
		if (!may_win(o))
			continue;
		diff = json_string_value(json_object_get(o, "diff"));
		len = json_string_length(json_object_get(o, "diff"));
		fprintf(fp, "\n=== candidate %s ===\n%.*s", json_string_value(
		    json_object_get(o, "tool_id")), (int)(len < room ? len :
		    room), diff);
		if (len > room)
			fprintf(fp, "\n[diff cut: %zu of its %zu bytes shown]\n",
			    room, len);
	}
	if (fclose(fp) != 0)
		err(AIM_EXIT_IO, "open_memstream");
	req = json_pack("{s:O*, s:s, s:{s:s%}}", "id", json_object_get(rec,
	    "id"), "capability", "judge", "payload", "prompt", buf, blen);
	free(buf);
	return req;
}

/* Route req (borrowed) to f->judge: 0, or -1 with a malloc'd *why. */
static int
judge_route(struct fan *f, json_t *req, char **why)
{
	json_t *details = NULL;
	const char *code;

	json_object_set_new(req, "capability", json_string(f->judge));
	if (!f->set->registry_ok) {
		*why = aim_xsprintf("no registry to route it: %s",
		    f->set->not_found ? f->set->not_found : "it did not load");
		return -1;
	}
	if (!f->routing) {
		aim_router_init(&f->router, &f->set->reg, &f->set->cfg);
		f->routing = 1;
	}
	if (aim_route(&f->router, req, &code, why, &details) == -1) {
		json_decref(details);
		return -1;
	}
	return 0;
}

/*
 * The candidate the judge's record r (borrowed, may be NULL) names in
 * its content.response, {"winner", "why"} perhaps in a ```json fence,
 * among cands, and its why in *jwhy (borrowed from *answer, new); else
 * NULL with a malloc'd *why.
 */
static json_t *
judge_answer(json_t *r, json_t *cands, json_t **answer, char **why)
{
	json_t *res = json_object_get(r, "result"), *o;
	const char *resp, *a, *z, *winner;
	size_t i;

	*answer = NULL;
	if (!json_is_true(json_object_get(res, "success"))) {
		*why = aim_xsprintf("it failed: %s", json_string_value(
		    json_object_get(res, "message")) ? json_string_value(
		    json_object_get(res, "message")) : "no answer");
		return NULL;
	}
	resp = json_string_value(json_object_get(json_object_get(res,
	    "content"), "response"));
	if (resp == NULL || (a = strchr(resp, '{')) == NULL ||
	    (z = strrchr(resp, '}')) == NULL ||
	    (*answer = json_loadb(a, z - a + 1, 0, NULL)) == NULL ||
	    !json_is_object(*answer)) {
		*why = aim_xstrdup("its response holds no JSON object");
		return NULL;
	}
	if ((winner = json_string_value(json_object_get(*answer,
	    "winner"))) == NULL) {
		*why = aim_xstrdup("its answer has no \"winner\" string");
		return NULL;
	}
	json_array_foreach(cands, i, o)
		if (may_win(o) && strcmp(json_string_value(json_object_get(o,
		    "tool_id")), winner) == 0)
			return o;
	*why = aim_xsprintf("it named '%s', not a candidate that may win",
	    winner);
	return NULL;
}

/*
 * Ask f->judge which of the m candidates that may win does (aim-fanout(1)
 * "The judge"): its pick, with *why saying so; else w, the order's, and
 * *why (the order's) says why the judge was not followed.  fo gains
 * "judge" {capability, tool_id, answer, error, attempts}.
 */
static json_t *
judged(struct fan *f, json_t *rec, json_t *fo, json_t *cands, size_t m,
    json_t *w, char **why)
{
	json_t *req = judge_request(rec, cands, m), *r = NULL, *pick = NULL;
	json_t *answer = NULL, *info;
	char *reason = NULL, *s;

	if (judge_route(f, req, &reason) == 0) {
		r = engine_run(f, req, 0);
		req = NULL;
		pick = judge_answer(r, cands, &answer, &reason);
	}
	json_decref(req);
	info = json_pack("{s:s, s:O*, s:O*, s:O*}", "capability", f->judge,
	    "tool_id", json_object_get(r, "tool_id"), "answer", answer,
	    "attempts", json_object_get(r, "attempts"));
	if (pick != NULL) {
		s = aim_xsprintf("judged by %s (capability '%s'): %s",
		    json_string_value(json_object_get(r, "tool_id")), f->judge,
		    json_string_value(json_object_get(answer, "why")) ?
		    json_string_value(json_object_get(answer, "why")) : "");
		w = pick;
	} else {
		json_object_set_new(info, "error", json_string(reason));
		s = aim_xsprintf("%s; the judge (capability '%s') was not "
		    "followed: %s", *why, f->judge, reason);
	}
	free(*why);
	*why = s;
	free(reason);
	json_decref(answer);
	json_decref(r);
	json_object_set_new(fo, "judge", info);
	return w;
}

/* Name the winner of cands (an array) in fo: "winner", "why". */
static json_t *
choose(struct fan *f, json_t *rec, json_t *fo, json_t *cands)
{
	json_t *o, *w = NULL;
	size_t i, m = 0, ok = 0;
	char *why;

	json_array_foreach(cands, i, o) {
		if (strcmp(json_string_value(json_object_get(o, "status")),
		    "success") == 0)
			ok++;
		if (!may_win(o))
			continue;
		m++;
		if (w == NULL || better(f, o, w))
			w = o;
	}
	if (w == NULL)
		why = ok == 0 ? aim_xstrdup("no candidate succeeded") :
		    aim_xsprintf("none of the %zu that succeeded passed verify",
		    ok);
	else
		why = why_won(f, w, m);
	/* A judge has a choice to make only between two or more. */
	if (f->judge != NULL && m > 1)
		w = judged(f, rec, fo, cands, m, w, &why);
	json_object_set_new(fo, "winner", w ? json_copy(json_object_get(w,
	    "tool_id")) : json_null());
	json_object_set_new(fo, "why", json_string(why));
	free(why);
	return w;
}

/*
 * The fan-out record: rec with tool_id and result the winner's, every
 * candidate's attempts, and "fanout" (aim-fanout(1) OUTPUT).
 */
static void
record_finish(struct fan *f, json_t *rec, json_t *fo)
{
	json_t *cands = json_object_get(fo, "candidates"), *o, *w, *all;
	size_t i;

	all = json_array();
	json_array_foreach(cands, i, o)
		json_array_extend(all, json_object_get(o, "attempts"));
	json_object_set_new(rec, "attempts", all);
	if ((w = choose(f, rec, fo, cands)) != NULL) {
		json_object_set(rec, "tool_id", json_object_get(w, "tool_id"));
		json_object_set(rec, "result", json_object_get(w, "result"));
	} else
		json_object_set_new(rec, "result", json_pack("{s:b, s:O, s:n}",
		    "success", 0, "message", json_object_get(fo, "why"),
		    "content"));
	json_object_set_new(rec, "fanout", fo);
}

/*
 * Each candidate's copy's place (the copy is its process's to make), or
 * the candidate ends with why not; none after a signal.
 */
static void
cands_prepare(struct fan *f, struct cand *ks, size_t n,
    const struct aim_base *b)
{
	size_t i;
	char *why;

	for (i = 0; i < n; i++) {
		if (f->signal == 0)
			f->signal = aim_signal_taken(sig_fd);
		if (f->signal)
			return;
		if (aim_worktree_new(&ks[i].wt, b, &why) == 0) {
			ks[i].have_wt = 1;
			continue;
		}
		ks[i].out = json_pack("{s:s, s:s, s:s}", "tool_id",
		    ks[i].tool_id, "status", "error", "message", why);
		free(why);
	}
}

/* The copies removed (unless --keep); the disk they took, in all. */
static int64_t
cands_clean(struct fan *f, struct cand *ks, size_t n)
{
	int64_t total = 0;
	size_t i;
	char *why = NULL;

	for (i = 0; i < n; i++) {
		if (!ks[i].have_wt)
			continue;
		total += json_integer_value(json_object_get(ks[i].out,
		    "disk_bytes"));
		if (ks[i].removed)
			aim_worktree_free(&ks[i].wt);
		else if (f->keep) {
			if (ks[i].out != NULL)
				json_object_set_new(ks[i].out, "worktree",
				    json_string(ks[i].wt.cwd));
			if (aim_worktree_keep(&ks[i].wt) == -1)
				warn("can't mark a worktree kept");
		} else if (aim_worktree_remove(&ks[i].wt, &why) == -1) {
			warnx("%s", why);
			free(why);
			why = NULL;
			aim_exit_raise(&f->status, AIM_EXIT_IO);
		}
	}
	return total;
}

/*
 * Run rec's candidates (there are n in ks) and fill the record: 0, or -1
 * with a malloc'd *why when the state's tree could not be written (the
 * copies removed, rec left alone).
 */
static int
fan_out(struct fan *f, json_t *rec, struct cand *ks, size_t n,
    struct aim_base *b, char **why)
{
	json_t *fo, *cands;
	int64_t t0 = aim_now_ms(), disk;
	size_t i;
	int rc;

	f->cmd = f->verify ? f->verify : json_string_value(json_object_get(
	    json_object_get(rec, "route"), "verify"));
	f->vroute = f->cmd ? NULL : json_object_get(json_object_get(rec,
	    "route"), "verify");
	if (!json_is_object(f->vroute))
		f->vroute = NULL;
	signals_arm(1);
	cands_prepare(f, ks, n, b);
	for (i = 0; i < n; i++)
		if (ks[i].have_wt && !f->signal &&
		    cand_start(f, rec, ks, i, b) == -1)
			ks[i].out = json_pack("{s:s, s:s, s:s}", "tool_id",
			    ks[i].tool_id, "status", "error", "message",
			    strerror(errno));
	rc = state_send(f, ks, n, b, why);
	cands_wait(f, ks, n);
	disk = cands_clean(f, ks, n);
	signals_arm(0);
	if (rc == -1) {
		for (i = 0; i < n; i++) {
			json_decref(ks[i].out);
			free(ks[i].buf);
		}
		return -1;
	}
	if (f->signal == 0)
		f->signal = aim_signal_taken(sig_fd);
	cands = json_array();
	for (i = 0; i < n; i++) {
		if (ks[i].out == NULL)
			ks[i].out = json_pack("{s:s, s:s, s:s}", "tool_id",
			    ks[i].tool_id, "status", "interrupted", "message",
			    aim_signame(f->signal));
		json_array_append_new(cands, ks[i].out);
		free(ks[i].buf);
	}
	fo = json_pack("{s:{s:s, s:s, s:s, s:s}, s:s, s:s?, s:o, s:I, s:I, "
	    "s:b}", "base", "top", b->top, "prefix", b->prefix, "head",
	    b->head, "tree", b->tree, "order", f->order, "verify", f->cmd,
	    "candidates", cands, "wall_ms", (json_int_t)(aim_now_ms() - t0),
	    "disk_bytes", (json_int_t)disk, "kept", f->keep);
	if (f->vroute != NULL)
		json_object_set_new(fo, "verify", json_pack("{s:O}",
		    "capability", json_object_get(f->vroute, "capability")));
	record_finish(f, rec, fo);
	return 0;
}

/* Say a record we could not fan out, and make it an error record. */
static void
bad_record(struct fan *f, json_t *rec, const char *source, long lineno,
    const char *code, const char *msg)
{
	warnx("%s:%ld: %s", source, lineno, msg);
	aim_error_record(rec, "fanout", code, lineno, "%s", msg);
	aim_exit_raise(&f->status, AIM_EXIT_FAILED);
}

/* One record in, one out (aim-fanout(1) DESCRIPTION). */
static int
on_line(void *arg, const struct aim_line *line, const char *source)
{
	struct fan *f = arg;
	struct cand ks[CANDS_MAX];
	struct aim_base b;
	json_t *rec;
	size_t n;
	char *why;
	int is_err, rc;

	if (f->signal)
		return 1;
	if (line->too_long) {
		is_err = 1;
		rec = aim_bad_line_record(line, "fanout", "invalid_record",
		    "record is longer than the line limit");
	} else
		rec = aim_parse_record(line, "fanout", "a record",
		    "invalid_record", &is_err);
	if (is_err) {
		warnx("%s:%ld: %s", source, line->lineno, json_string_value(
		    json_object_get(json_object_get(rec, "error"), "message")));
		aim_exit_raise(&f->status, AIM_EXIT_FAILED);
	} else if (json_object_get(rec, "error") != NULL)
		aim_exit_raise(&f->status, AIM_EXIT_FAILED);
	else if (!json_is_array(json_object_get(json_object_get(rec, "route"),
	    "candidates")))
		bad_record(f, rec, source, line->lineno, "invalid_record",
		    "no \"route.candidates\": pipe requests through "
		    "aim-resolve first");
	else if ((n = cands_pick(f, rec, ks)) == 0)
		bad_record(f, rec, source, line->lineno, "no_candidate",
		    "no ready candidate to fan out to");
	else if (aim_base_head(&b, ".", &why) == -1) {
		bad_record(f, rec, source, line->lineno, "no_worktree", why);
		free(why);
	} else if (fan_out(f, rec, ks, n, &b, &why) == -1) {
		aim_base_free(&b);
		bad_record(f, rec, source, line->lineno, "no_worktree", why);
		free(why);
	} else {
		aim_base_free(&b);
		if (!json_is_true(json_object_get(json_object_get(rec,
		    "result"), "success")))
			aim_exit_raise(&f->status, AIM_EXIT_FAILED);
	}
	rc = aim_emit(stdout, rec);
	json_decref(rec);
	if (rc == -1)
		aim_exit_raise(&f->status, AIM_EXIT_IO);
	return rc == -1 || f->signal;
}

/* -t's comma-separated list as a JSON array. */
static json_t *
tools_list(const char *s)
{
	json_t *a = json_array();
	size_t n;

	while (*s != '\0') {
		n = strcspn(s, ",");
		if (n > 0)
			json_array_append_new(a, json_stringn(s, n));
		s += n + (s[n] == ',');
	}
	return a;
}

/* -n's argument, or a usage error. */
static long
count_arg(const char *s)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || *end != '\0' || n < 1 || n > CANDS_MAX) {
		warnx("-n %s: want a number from 1 to %d", s, CANDS_MAX);
		usage(AIM_EXIT_USAGE);
	}
	return n;
}

/* -o's argument, or a usage error. */
static const char *
order_arg(const char *s)
{
	if (strcmp(s, "smallest-diff") != 0 && strcmp(s, "lowest-cost") != 0 &&
	    strcmp(s, "fastest") != 0) {
		warnx("-o %s: want smallest-diff, lowest-cost, fastest or "
		    "judge", s);
		usage(AIM_EXIT_USAGE);
	}
	return s;
}

/* The options into f and opt; returns optind. */
static int
parse(int argc, char *argv[], struct fan *f, struct aim_options *opt)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "copy", required_argument, NULL, 'C' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "judge", required_argument, NULL, 'J' },
		{ "keep", no_argument, NULL, 'k' },
		{ "link", required_argument, NULL, 'L' },
		{ "order", required_argument, NULL, 'o' },
		{ "registry", required_argument, NULL, 'r' },
		{ "setup", required_argument, NULL, 'S' },
		{ "tools", required_argument, NULL, 't' },
		{ "verify", required_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:hkn:o:r:t:V", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'C':
			json_array_append_new(f->wo.copy, json_string(optarg));
			break;
		case 'c':
			opt->config = optarg;
			break;
		case 'h':
			usage(0);
		case 'J':
			f->judge = optarg;
			break;
		case 'k':
			f->keep = 1;
			break;
		case 'L':
			json_array_append_new(f->wo.link, json_string(optarg));
			break;
		case 'n':
			f->count = count_arg(optarg);
			break;
		case 'o':
			if (strcmp(optarg, "judge") == 0 && f->judge == NULL)
				f->judge = "judge";
			else if (strcmp(optarg, "judge") != 0)
				f->order = order_arg(optarg);
			break;
		case 'r':
			opt->registry = optarg;
			break;
		case 'S':
			f->wo.setup = optarg;
			break;
		case 't':
			json_decref(f->tools);
			f->tools = tools_list(optarg);
			break;
		case 'V':
			printf("%s %s\n", progname, AIM_VERSION);
			exit(0);
		case 'v':
			f->verify = optarg;
			break;
		default:
			usage(AIM_EXIT_USAGE);
		}
	}
	return optind;
}

/*
 * The signals: caught (aim_signals_catch) only while a record has
 * worktrees (signals_arm).  A signal that came in the meantime: its exit
 * status, else 0.
 */
static int
signals_setup(void)
{
	int i;

	for (i = 0; i < 3; i++)
		sigaction(caught[i], NULL, &inherited[i]);
	if (aim_proc_setup() == -1 || (sig_fd = aim_signals_catch()) == -1)
		err(AIM_EXIT_IO, "setup");
	for (i = 0; i < 3; i++)
		sigaction(caught[i], NULL, &catcher[i]);
	signals_arm(0);
	i = aim_signal_taken(sig_fd);
	return i ? AIM_EXIT_SIGNAL + i : 0;
}

int
main(int argc, char *argv[])
{
	struct aim_options opt = { NULL, NULL };
	struct aim_setup set;
	struct fan f;
	char *why = NULL;
	int n;

	if (aim_std_fds() == -1)
		errx(AIM_EXIT_IO, "standard output is closed");
	memset(&f, 0, sizeof(f));
	f.order = "smallest-diff";
	f.wo.link = json_array();
	f.wo.copy = json_array();
	argv[0] = (char *)progname;
	n = parse(argc, argv, &f, &opt);
	argc -= n;
	argv += n;

	/* The registry and rules only for a judge, which is routed here. */
	aim_setup_load(&set, &opt, NULL, AIM_SETUP_WARN | (f.judge ?
	    AIM_SETUP_REGISTRY : 0));
	f.status = set.status;
	f.cfg = &set.cfg;
	f.set = &set;
	if (sodium_init() == -1)
		errx(AIM_EXIT_IO, "can't initialise libsodium");
	if ((n = signals_setup()) != 0)
		return n;
	/* A crashed run's copies go first (aim-fanout(1) "Worktrees"). */
	aim_worktree_sweep(&why);
	if (why != NULL) {
		warnx("%s", why);
		free(why);
	}
	if (aim_each_line(argv, argc, aim_invoke_line_max(&set.cfg), on_line,
	    &f) == -1)
		aim_exit_raise(&f.status, AIM_EXIT_IO);
	if (aim_close_stdout() == -1)
		aim_exit_raise(&f.status, AIM_EXIT_IO);
	json_decref(f.tools);
	json_decref(f.wo.link);
	json_decref(f.wo.copy);
	if (f.routing)
		aim_router_free(&f.router);
	aim_setup_free(&set);
	if (f.signal)
		return AIM_EXIT_SIGNAL + f.signal;
	return f.status;
}
