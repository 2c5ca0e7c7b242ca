/*
 * proc.c: running adapters.  No shell: posix_spawn, which reports exec
 * failures as its return value.  Each child gets its own process group so
 * a timeout kills everything it started (TERM, a grace, KILL, as GNU
 * timeout does); its stdin is written and its stdout and stderr read in one
 * poll loop, so no adapter can deadlock aim by writing before it reads.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aim-data.h"

/* After the adapter exits, how long its leftovers may hold the pipes. */
#define DRAIN_MS	100
#define CHUNK		65536

static int chld_pipe[2] = { -1, -1 };

static void
on_sigchld(int sig)
{
	int saved = errno;

	(void)sig;
	(void)write(chld_pipe[1], "", 1);
	errno = saved;
}

int
aim_proc_setup(void)
{
	struct sigaction sa;
	int fd;

	if (chld_pipe[0] != -1)
		return 0;
	/* A closed 0, 1 or 2 would let a pipe take its number. */
	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) == -1 &&
		    open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) == -1)
			return -1;
	if (pipe2(chld_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGCHLD, &sa, NULL);
}

int
aim_proc_forked(void)
{
	if (chld_pipe[0] != -1) {
		close(chld_pipe[0]);
		close(chld_pipe[1]);
		chld_pipe[0] = chld_pipe[1] = -1;
	}
	return aim_proc_setup();
}

static void
close_fd(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

/* PATH from an environment vector, for a relative argv[0]. */
static const char *
env_path(char *const envp[])
{
	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, "PATH=", 5) == 0)
			return *envp + 5;
	return NULL;
}

int
aim_proc_spawn(struct aim_proc *p, char *const argv[], char *const envp[],
    const char *input, size_t input_len, const struct aim_proc_limits *lim)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	int in[2], out[2], errp[2], rc, sig;
	char *path;

	memset(p, 0, sizeof(*p));
	p->in_fd = p->out_fd = p->err_fd = -1;
	p->input = input;
	p->input_len = input_len;
	p->lim = *lim;
	p->start_ms = aim_now_ms();
	p->state = AIM_PROC_DONE;
	p->out = aim_xmalloc(1);
	p->out[0] = '\0';
	p->err = aim_xmalloc(lim->stderr_tail_bytes * 2 + 1);

	if ((path = aim_which(argv[0], env_path(envp))) == NULL) {
		p->spawn_errno = errno;
		return -1;
	}
	if (pipe2(in, O_CLOEXEC) == -1) {
		p->spawn_errno = errno;
		free(path);
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) == -1) {
		p->spawn_errno = errno;
		close(in[0]), close(in[1]);
		free(path);
		return -1;
	}
	if (pipe2(errp, O_CLOEXEC) == -1) {
		p->spawn_errno = errno;
		close(in[0]), close(in[1]), close(out[0]), close(out[1]);
		free(path);
		return -1;
	}

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	/* Descriptors aim inherited without O_CLOEXEC must not leak either. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);

	posix_spawnattr_init(&attr);
	sigemptyset(&all);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaddset(&all, sig);
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

	rc = posix_spawn(&p->pid, path, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(path);
	close(in[0]);
	close(out[1]);
	close(errp[1]);
	if (rc != 0) {
		p->spawn_errno = rc;
		close(in[1]), close(out[0]), close(errp[0]);
		p->pid = 0;
		return -1;
	}
	p->in_fd = in[1];
	p->out_fd = out[0];
	p->err_fd = errp[0];
	fcntl(p->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
	if (input_len == 0)
		close_fd(&p->in_fd);
	p->deadline_ms = p->start_ms + lim->timeout_ms;
	p->state = AIM_PROC_RUNNING;
	return 0;
}

static void
signal_group(struct aim_proc *p, int sig)
{
	/* The group outlives its leader only while members remain. */
	if (kill(-p->pid, sig) == -1 && !p->exited_leader)
		kill(p->pid, sig);
	p->kill_signal = sig;
	if (sig == SIGTERM)
		p->term_ms = aim_now_ms();
}

void
aim_proc_cancel(struct aim_proc *p)
{
	if (p->state == AIM_PROC_RUNNING && p->kill_signal == 0 &&
	    !p->exited_leader)
		signal_group(p, SIGTERM);
}

static void
keep_tail(struct aim_proc *p, const char *b, size_t n)
{
	size_t tail = p->lim.stderr_tail_bytes, keep;

	p->err_total += n;
	if (tail == 0)
		return;
	if (n >= tail) {
		memcpy(p->err, b + n - tail, tail);
		p->err_len = tail;
		return;
	}
	if (p->err_len + n > tail * 2) {
		keep = tail - n;
		memmove(p->err, p->err + p->err_len - keep, keep);
		p->err_len = keep;
	}
	memcpy(p->err + p->err_len, b, n);
	p->err_len += n;
}

static void
read_stdout(struct aim_proc *p)
{
	char chunk[CHUNK];
	size_t room;
	ssize_t n;
	int rounds;

	for (rounds = 0; rounds < 16; rounds++) {
		n = read(p->out_fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close_fd(&p->out_fd);
			return;
		}
		if (p->out_overflow)
			continue;
		room = p->lim.max_stdout_bytes - p->out_len;
		if ((size_t)n > room) {
			/* Useless now: stop the flood instead of waiting it out. */
			p->out_overflow = 1;
			n = room;
			if (p->kill_signal == 0)
				signal_group(p, SIGTERM);
		}
		p->out = aim_xrealloc(p->out, p->out_len + n + 1);
		memcpy(p->out + p->out_len, chunk, n);
		p->out_len += n;
		p->out[p->out_len] = '\0';
	}
}

static void
read_stderr(struct aim_proc *p)
{
	char chunk[CHUNK];
	ssize_t n;
	int rounds;

	for (rounds = 0; rounds < 16; rounds++) {
		n = read(p->err_fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close_fd(&p->err_fd);
			return;
		}
		keep_tail(p, chunk, n);
	}
}

static void
write_stdin(struct aim_proc *p)
{
	size_t left = p->input_len - p->input_off;
	ssize_t n;

	n = write(p->in_fd, p->input + p->input_off, left < CHUNK ? left : CHUNK);
	if (n == -1) {
		/* EPIPE: the adapter does not read its stdin; not our error. */
		if (errno != EAGAIN && errno != EINTR)
			close_fd(&p->in_fd);
		return;
	}
	p->input_off += n;
	if (p->input_off == p->input_len)
		close_fd(&p->in_fd);
}

static void
finish(struct aim_proc *p, int64_t now)
{
	size_t tail = p->lim.stderr_tail_bytes;

	close_fd(&p->in_fd);
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
	if (p->err_len > tail) {
		memmove(p->err, p->err + p->err_len - tail, tail);
		p->err_len = tail;
	}
	p->err[p->err_len] = '\0';
	p->duration_ms = (p->reaped_ms ? p->reaped_ms : now) - p->start_ms;
	p->state = AIM_PROC_DONE;
}

/* Timers and reaping for one child; may finish it. */
static int
advance(struct aim_proc *p, int64_t now)
{
	pid_t r;

	if (!p->exited_leader) {
		do
			r = waitpid(p->pid, &p->status, WNOHANG);
		while (r == -1 && errno == EINTR);
		if (r == p->pid) {
			p->exited_leader = 1;
			p->reaped_ms = now;
			close_fd(&p->in_fd);
		}
	}
	if (!p->exited_leader) {
		if (p->kill_signal == 0 && now >= p->deadline_ms) {
			p->timed_out = 1;
			signal_group(p, SIGTERM);
		} else if (p->kill_signal == SIGTERM &&
		    now >= p->term_ms + p->lim.kill_grace_ms)
			signal_group(p, SIGKILL);
		return 0;
	}
	if (p->out_fd == -1 && p->err_fd == -1) {
		finish(p, now);
		return 1;
	}
	if (now >= p->reaped_ms + DRAIN_MS) {
		/* Something the adapter started holds its output open. */
		p->leftover = 1;
		kill(-p->pid, SIGKILL);
		if (p->out_fd != -1)
			read_stdout(p);
		if (p->err_fd != -1)
			read_stderr(p);
		finish(p, now);
		return 1;
	}
	return 0;
}

/* Milliseconds until the next timer of p, from now. */
static int64_t
next_timer(const struct aim_proc *p, int64_t now)
{
	int64_t t;

	if (p->exited_leader)
		t = p->reaped_ms + DRAIN_MS;
	else if (p->kill_signal == 0)
		t = p->deadline_ms;
	else if (p->kill_signal == SIGTERM)
		t = p->term_ms + p->lim.kill_grace_ms;
	else
		t = now + 50;	/* KILLed: poll until reaped */
	return t > now ? t - now : 0;
}

int
aim_proc_wait(struct aim_proc **procs, size_t n, struct pollfd *extra,
    size_t nextra, int max_wait_ms)
{
	struct pollfd stackfds[64], *fds;
	size_t i, k, nfds, cap;
	int64_t now, wait, t;
	int done = 0, rc;
	char drain[64];

	cap = 1 + nextra + 3 * n;
	fds = cap <= 64 ? stackfds : aim_xmalloc(cap * sizeof(*fds));
	nfds = 0;
	fds[nfds++] = (struct pollfd){ chld_pipe[0], POLLIN, 0 };
	for (i = 0; i < nextra; i++) {
		extra[i].revents = 0;
		fds[nfds++] = extra[i];
	}
	now = aim_now_ms();
	wait = max_wait_ms;
	for (k = 0; k < n; k++) {
		struct aim_proc *p = procs[k];

		if (p->state != AIM_PROC_RUNNING)
			continue;
		if (p->in_fd != -1)
			fds[nfds++] = (struct pollfd){ p->in_fd, POLLOUT, 0 };
		if (p->out_fd != -1)
			fds[nfds++] = (struct pollfd){ p->out_fd, POLLIN, 0 };
		if (p->err_fd != -1)
			fds[nfds++] = (struct pollfd){ p->err_fd, POLLIN, 0 };
		t = next_timer(p, now);
		if (wait < 0 || t < wait)
			wait = t;
	}
	rc = poll(fds, nfds, wait > INT32_MAX ? INT32_MAX : (int)wait);
	if (rc == -1 && errno != EINTR) {
		if (fds != stackfds)
			free(fds);
		return -1;
	}
	if (rc > 0 && fds[0].revents)
		while (read(chld_pipe[0], drain, sizeof(drain)) > 0)
			;
	for (i = 0; i < nextra; i++)
		extra[i].revents = fds[1 + i].revents;

	/* Descriptors were added in order; walk them again the same way. */
	nfds = 1 + nextra;
	now = aim_now_ms();
	for (k = 0; k < n; k++) {
		struct aim_proc *p = procs[k];
		short ev_in = 0, ev_out = 0, ev_err = 0;

		if (p->state != AIM_PROC_RUNNING)
			continue;
		if (p->in_fd != -1)
			ev_in = rc > 0 ? fds[nfds++].revents : 0;
		if (p->out_fd != -1)
			ev_out = rc > 0 ? fds[nfds++].revents : 0;
		if (p->err_fd != -1)
			ev_err = rc > 0 ? fds[nfds++].revents : 0;
		if (ev_in & (POLLERR | POLLHUP | POLLNVAL))
			close_fd(&p->in_fd);
		else if (ev_in & POLLOUT)
			write_stdin(p);
		if (ev_out)
			read_stdout(p);
		if (ev_err)
			read_stderr(p);
		done += advance(p, now);
	}
	if (fds != stackfds)
		free(fds);
	return done;
}

int
aim_proc_run(struct aim_proc *p, char *const argv[], char *const envp[],
    const char *input, size_t input_len, const struct aim_proc_limits *lim)
{
	if (aim_proc_spawn(p, argv, envp, input, input_len, lim) == -1)
		return -1;
	while (p->state == AIM_PROC_RUNNING)
		if (aim_proc_wait(&p, 1, NULL, 0, -1) == -1)
			return -1;
	return 0;
}

void
aim_proc_free(struct aim_proc *p)
{
	free(p->out);
	free(p->err);
	p->out = p->err = NULL;
}
