/*
 * aim-invoke: routed records in, result records out.  Runs each record's
 * ready candidates in order until one succeeds (seed 002 §4), up to -j
 * records at once, all children served by one poll loop.
 */
#include <sys/resource.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "aim.h"

#define JOBS_MAX	1024

enum { O_NO_CACHE = 256 };

static const char *progname = "aim-invoke";

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: %s [-Hnsu] [-c config] [-j jobs] [-r registry] "
	    "[--no-cache] [file ...]\n",
	    progname);
	if (status == 0)
		printf("  -c, --config=config      read the configuration from "
		    "config\n"
		    "  -H, --human              each record in words on "
		    "stderr too\n"
		    "  -h, --help               print this help and exit\n"
		    "  -j, --jobs=jobs          work on up to jobs records at "
		    "once (1 to %d)\n"
		    "  -n, --dry-run            print the plan, run nothing\n"
		    "      --no-cache           neither use nor fill the result "
		    "cache\n"
		    "  -r, --registry=registry  take aim_config.json from "
		    "registry\n"
		    "  -s, --strict             no fallback: the first "
		    "candidate only\n"
		    "  -u, --unordered          write records as they finish\n"
		    "  -V, --version            print the version and exit\n"
		    "See aim-invoke(1).\n", JOBS_MAX);
	exit(status);
}


/* Descriptors a running adapter holds: three pipe ends and a slot lock. */
#define FDS_PER_CHILD	4
/*
 * Descriptors kept free besides those open at start: an input file, the
 * state file, the vault, the signal and child pipes, the three pipes of
 * a spawn under way, stdio's own.
 */
#define FDS_SPARE	32


/* The read end of the signals' pipe (aim_signals_catch). */
static int sig_fd = -1;

/* The record stream: the operands (or stdin) one after the other. */
struct input {
	char	**files;
	int	 nfiles, fi;
	int	 fd;		/* the file being read, or -1 */
	int	 done;		/* every file read */
	struct aim_lines r;
	const char *source;	/* its name in messages */
	size_t	 line_max;	/* the longest line read whole */
	int	*status;
};

/* Stop reading the current file. */
static void
input_close(struct input *in)
{
	if (in->fd == -1)
		return;
	aim_lines_free(&in->r);
	if (in->fd != STDIN_FILENO)
		close(in->fd);
	in->fd = -1;
}

/* Open the next operand: 1 open, 0 none left, -1 it can't be opened. */
static int
input_next(struct input *in)
{
	if (in->fi == in->nfiles) {
		in->done = 1;
		return 0;
	}
	in->source = aim_input_name(in->files[in->fi]);
	if ((in->fd = aim_open_input(in->files[in->fi++])) == -1) {
		warn("can't open %s", in->files[in->fi - 1]);
		aim_exit_raise(in->status, AIM_EXIT_IO);
		return -1;
	}
	aim_lines_init(&in->r, in->fd, in->line_max);
	return 1;
}

/*
 * Take in records while the engine has room.  Not aim_each_line: that
 * loop blocks in read(2) and owns the whole stream, while this one takes
 * lines only as the engine has room, between polls that also serve the
 * children and signals.  Returns 1 when the engine is full, 0 when the
 * input is done or the current file has no whole line yet.
 */
static int
input_take(struct aim_invoke *iv, struct input *in)
{
	struct aim_line line;

	while (!in->done) {
		if (!aim_invoke_room(iv))
			return 1;
		if (in->fd == -1 && input_next(in) != 1)
			continue;
		if (aim_lines_get(&in->r, &line)) {
			if (!aim_line_blank(&line))
				aim_invoke_line(iv, &line, in->source);
			continue;
		}
		if (in->r.eof || in->r.err) {
			if (in->r.err) {
				warnx("%s: read error: %s", in->source,
				    strerror(in->r.err));
				aim_exit_raise(in->status, AIM_EXIT_IO);
			}
			input_close(in);
			continue;
		}
		break;	/* wait for more input */
	}
	return 0;
}

/*
 * Say why a record that ran failed, on one line (aim-invoke(1)
 * DIAGNOSTICS): "source:line: id: message", control characters of the
 * adapters' messages made spaces.
 */
static void
say_failed(json_t *rec, const char *source, long lineno)
{
	const char *id = json_string_value(json_object_get(rec, "id"));
	const char *msg = json_string_value(json_object_get(json_object_get(
	    rec, "result"), "message"));
	char *m, *p;

	m = aim_xstrdup(msg != NULL ? msg : "failed");
	for (p = m; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (id != NULL)
		warnx("%s:%ld: %s: %s", source, lineno, id, m);
	else
		warnx("%s:%ld: %s", source, lineno, m);
	free(m);
}

/* A run of aim-invoke: the engine, and our own exit status. */
struct run {
	struct aim_invoke *iv;
	int	 human;		/* -H: words on stderr */
	int	 status;
};

/* The engine's done: write the record, saying first why it failed. */
static void
on_done(void *arg, json_t *rec, const char *source, long lineno)
{
	struct run *r = arg;
	json_t *res = json_object_get(rec, "result");

	if (r->human)
		aim_show_record(stderr, rec, aim_show_color(STDERR_FILENO));
	/* Nobody reads us any more: no line per record cut short. */
	else if (json_object_get(rec, "attempts") != NULL &&
	    !json_is_true(json_object_get(res, "success")) &&
	    aim_invoke_interrupted(r->iv) != SIGPIPE)
		say_failed(rec, source, lineno);
	if (aim_emit(stdout, rec) == -1)
		aim_exit_raise(&r->status, AIM_EXIT_IO);
}

/*
 * Wait for a child, a signal, more input (when there is room for it) or
 * the first back-off or slot wait to end, whichever comes first; then
 * move each record on that can.
 */
static void
wait_and_step(struct run *r, struct input *in)
{
	struct pollfd extra[2];
	size_t nextra = 0;
	int sig;

	extra[nextra++] = (struct pollfd){ sig_fd, POLLIN, 0 };
	if (in->fd != -1 && aim_invoke_room(r->iv))
		extra[nextra++] = (struct pollfd){ in->fd, POLLIN, 0 };
	if (aim_invoke_poll(r->iv, extra, nextra, -1) == -1)
		err(AIM_EXIT_IO, "poll");
	if (extra[0].revents && (sig = aim_signal_taken(sig_fd)) != 0)
		aim_invoke_interrupt(r->iv, sig);
	if (nextra > 1 && extra[1].revents)
		aim_lines_fill(&in->r);
	aim_invoke_step(r->iv);
}

/* The records of files (none: stdin), through to their results, in order. */
static void
run(struct run *r, char **files, int nfiles, size_t line_max)
{
	static char *std_input[] = { "-" };
	struct input in;
	int full;

	memset(&in, 0, sizeof(in));
	in.files = nfiles > 0 ? files : std_input;
	in.nfiles = nfiles > 0 ? nfiles : 1;
	in.fd = -1;
	in.source = "<stdin>";
	in.line_max = line_max;
	in.status = &r->status;
	for (;;) {
		full = input_take(r->iv, &in);
		aim_invoke_flush(r->iv);
		if (ferror(stdout) && !aim_invoke_interrupted(r->iv))
			/* Nobody reads us any more: stop cleanly. */
			aim_invoke_interrupt(r->iv, SIGPIPE);
		if ((in.done || aim_invoke_interrupted(r->iv)) &&
		    aim_invoke_pending(r->iv) == 0)
			break;
		/* Records that ended at once (cache hits) made room: take more. */
		if (full && aim_invoke_room(r->iv))
			continue;
		wait_and_step(r, &in);
	}
	input_close(&in);
}

/* How many descriptors are open now; FDS_SPARE when it cannot tell. */
static size_t
fds_open(void)
{
	DIR *d;
	struct dirent *e;
	size_t n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return FDS_SPARE;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0;	/* not the directory's own */
}

/*
 * -j as the descriptors allow (aim-invoke(1) -j): the soft RLIMIT_NOFILE
 * raised to the hard one, then no more adapters at once than
 * FDS_PER_CHILD each leaves room for, at least one.
 */
static size_t
jobs_fds_allow(size_t jobs)
{
	struct rlimit rl;
	rlim_t want;
	size_t used, room;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return jobs;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rl.rlim_max) {
		want = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			rl.rlim_cur = want;
	}
	if (rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= (rlim_t)(jobs * FDS_PER_CHILD) + 4096)
		return jobs;
	used = fds_open() + FDS_SPARE;
	room = rl.rlim_cur > used ? (rl.rlim_cur - used) / FDS_PER_CHILD : 0;
	return room < 1 ? 1 : room < jobs ? room : jobs;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "human", no_argument, NULL, 'H' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "no-cache", no_argument, NULL, O_NO_CACHE },
		{ "registry", required_argument, NULL, 'r' },
		{ "strict", no_argument, NULL, 's' },
		{ "unordered", no_argument, NULL, 'u' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct aim_options opt = { NULL, NULL };
	struct aim_invoke_opts io;
	struct aim_setup set;
	struct run r;
	char *end;
	long jobs = 1;
	int ch, status;

	if (aim_std_fds() == -1)
		errx(AIM_EXIT_IO, "standard output is closed");
	memset(&io, 0, sizeof(io));
	memset(&r, 0, sizeof(r));
	argv[0] = (char *)progname;	/* getopt's messages name us alike */
	while ((ch = getopt_long(argc, argv, "c:Hhj:nr:suV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opt.config = optarg;
			break;
		case 'H':
			r.human = 1;
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
		case 'n':
			io.dry_run = 1;
			break;
		case 'r':
			opt.registry = optarg;
			break;
		case 's':
			io.strict = 1;
			break;
		case 'u':
			io.unordered = 1;
			break;
		case 'V':
			printf("%s %s\n", progname, AIM_VERSION);
			return 0;
		case O_NO_CACHE:
			io.no_cache = 1;
			break;
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
	aim_setup_load(&set, &opt, NULL, AIM_SETUP_WARN);
	r.status = set.status;
	if (sodium_init() == -1)
		errx(AIM_EXIT_IO, "can't initialise libsodium");
	if (aim_proc_setup() == -1 || (sig_fd = aim_signals_catch()) == -1)
		err(AIM_EXIT_IO, "setup");

	io.jobs = jobs_fds_allow(jobs);
	io.done = on_done;
	io.arg = &r;
	r.iv = aim_invoke_new(&set.cfg, &io);
	run(&r, argv, argc, aim_invoke_line_max(&set.cfg));

	if (aim_close_stdout() == -1)
		aim_exit_raise(&r.status, AIM_EXIT_IO);
	status = aim_invoke_exit(r.iv, r.status);
	aim_invoke_free(r.iv);
	aim_setup_free(&set);
	return status;
}
