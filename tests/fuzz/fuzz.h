/*
 * fuzz.h: what the libFuzzer harnesses of tests/fuzz/ share.  Each
 * fuzz-X.c defines LLVMFuzzerTestOneInput over one parser of untrusted
 * input; `make fuzz` runs them, `make fuzz-replay` replays the seeds and
 * tests/fuzz/regressions/X/.  FUZZ_TOP is the source tree (set by the
 * Makefile), for fixtures.
 */
#ifndef AIM_FUZZ_H
#define AIM_FUZZ_H

#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aim.h"

#ifndef FUZZ_TOP
#define FUZZ_TOP "."
#endif

/* Inputs with several parts separate them with this line. */
#define FUZZ_SEP	"\n@@\n"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[64];

static int
fuzz_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* At exit: the scratch directory goes, with all that is in it. */
static void
fuzz_cleanup(void)
{
	nftw(fuzz_dir, fuzz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* A private scratch directory, made once; HOME and XDG_* point into it. */
static inline const char *
fuzz_tmpdir(void)
{
	char *dir = fuzz_dir, path[128];

	if (dir[0] != '\0')
		return dir;
	snprintf(dir, sizeof(fuzz_dir), "/tmp/aim-fuzz-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(fuzz_cleanup);
	setenv("HOME", dir, 1);
	snprintf(path, sizeof(path), "%s/state", dir);
	setenv("XDG_STATE_HOME", path, 1);
	snprintf(path, sizeof(path), "%s/data", dir);
	setenv("XDG_DATA_HOME", path, 1);
	snprintf(path, sizeof(path), "%s/config", dir);
	setenv("XDG_CONFIG_HOME", path, 1);
	unsetenv("AIM_REGISTRY_PATH");
	unsetenv("AIM_CONFIG");
	unsetenv("AIM_AUDIT_DIR");
	unsetenv("AIM_VAULT");
	return dir;
}

/* Write len bytes to path (created 0600, truncated); abort on failure. */
static inline void
fuzz_write(const char *path, const void *buf, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd == -1 || (len > 0 && write(fd, buf, len) != (ssize_t)len))
		abort();
	close(fd);
}

/*
 * Split data at FUZZ_SEP into at most max parts (the last takes the rest);
 * returns how many.  Parts point into data; lens hold their lengths.
 */
static inline size_t
fuzz_split(const uint8_t *data, size_t size, const uint8_t **parts,
    size_t *lens, size_t max)
{
	size_t n = 0, sl = strlen(FUZZ_SEP);
	const uint8_t *p = data, *end = data + size, *q;

	while (n + 1 < max && (q = memmem(p, end - p, FUZZ_SEP, sl)) != NULL) {
		parts[n] = p;
		lens[n++] = q - p;
		p = q + sl;
	}
	parts[n] = p;
	lens[n++] = end - p;
	return n;
}

/* A malloc'd NUL-terminated copy of len bytes. */
static inline char *
fuzz_str(const uint8_t *p, size_t len)
{
	char *s = malloc(len + 1);

	if (s == NULL)
		abort();
	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

#endif
