/*
 * spawn-loop.c: the floor of `make bench`: N times, posix_spawn an adapter,
 * write it a request, read its answer, reap it; nothing else.
 */
#include <sys/wait.h>

#include <err.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int
main(int argc, char *argv[])
{
	static const char request[] = "{\"contract\":\"AIM_INTEGRATION_V1\","
	    "\"capability\":\"bench\",\"payload\":{\"prompt\":\"xxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"},"
	    "\"timeout_ms\":30000}";
	posix_spawn_file_actions_t fa;
	char buf[65536], *child[] = { NULL, NULL };
	int in[2], out[2], status;
	long i, n;
	pid_t pid;

	if (argc != 3)
		errx(2, "usage: spawn-loop count adapter");
	n = strtol(argv[1], NULL, 10);
	child[0] = argv[2];
	for (i = 0; i < n; i++) {
		if (pipe(in) == -1 || pipe(out) == -1)
			err(1, "pipe");
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, in[0], 0);
		posix_spawn_file_actions_adddup2(&fa, out[1], 1);
		posix_spawn_file_actions_addclose(&fa, in[1]);
		posix_spawn_file_actions_addclose(&fa, out[0]);
		if (posix_spawn(&pid, child[0], &fa, NULL, child, environ) != 0)
			err(1, "posix_spawn");
		posix_spawn_file_actions_destroy(&fa);
		close(in[0]);
		close(out[1]);
		if (write(in[1], request, sizeof(request) - 1) < 0)
			err(1, "write");
		close(in[1]);
		while (read(out[0], buf, sizeof(buf)) > 0)
			;
		close(out[0]);
		waitpid(pid, &status, 0);
	}
	return 0;
}
