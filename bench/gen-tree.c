/*
 * gen-tree.c: the tree of bench/dups.  gen-tree DIR NFILES SEED writes
 * NFILES files under DIR/dNN/eN/, sizes about log-uniform from 1 KiB to 512 KiB
 * (about 85 KiB a file), a third of them copies of an earlier file; one
 * original in ten has the size of another original and differs from it
 * only in its last byte, the worst case for every finder.  No empty
 * files, hard links or symlinks, so every tool counts the same set.
 */
#include <sys/stat.h>

#include <err.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t state;

static uint64_t
next(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

struct orig {
	size_t	 size;
	uint64_t seed;
	int	 last;	/* XOR into the last byte */
};

static void
write_file(const char *path, const struct orig *o, unsigned char *buf)
{
	uint64_t s = o->seed;
	size_t i;
	int fd;

	for (i = 0; i < o->size; i += 8) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		memcpy(buf + i, &s, o->size - i < 8 ? o->size - i : 8);
	}
	buf[o->size - 1] ^= (unsigned char)o->last;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		err(1, "%s", path);
	if (write(fd, buf, o->size) != (ssize_t)o->size)
		err(1, "%s", path);
	close(fd);
}

int
main(int argc, char *argv[])
{
	struct orig *origs;
	unsigned char *buf;
	char path[4096];
	size_t n, i, norig = 0, k;
	struct orig o;

	if (argc != 4)
		errx(2, "usage: gen-tree dir nfiles seed");
	n = strtoul(argv[2], NULL, 10);
	state = strtoull(argv[3], NULL, 10) | 1;
	origs = calloc(n, sizeof(*origs));
	buf = malloc(1024 * 1024 + 8);
	if (origs == NULL || buf == NULL)
		err(1, "malloc");
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/d%02zu", argv[1], i % 40);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/d%02zu/e%zu", argv[1], i % 40,
		    (i / 40) % 5);
		mkdir(path, 0755);
		snprintf(path + strlen(path), sizeof(path) - strlen(path),
		    "/f%05zu.bin", i);
		if (norig > 0 && next() % 3 == 0) {
			/* A duplicate of an earlier original. */
			o = origs[next() % norig];
		} else {
			/* Log-uniform, near enough: an octave, then within it. */
			o.size = (size_t)1024 << (next() % 9);
			o.size += next() % o.size;
			o.seed = next() | 1;
			o.last = 0;
			if (norig > 0 && next() % 10 == 0) {
				k = next() % norig;
				o = origs[k];
				o.last = 1 + (int)(next() % 255);
			}
			origs[norig++] = o;
		}
		write_file(path, &o, buf);
	}
	return 0;
}
