/* walk.c: a directory walk on *at calls that never follows a symlink. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aim-data.h"


/* The directories open from the root down to the one being read. */
struct level {
	dev_t	 dev;
	ino_t	 ino;
	const char *path;
};

struct walker {
	struct aim_walk *w;
	struct level stack[AIM_WALK_MAX_DEPTH + 1];
	int	 stop;
};

static void
warn_at(struct walker *k, const char *path, const char *what, int errnum)
{
	char msg[1024];

	if (errnum != 0)
		snprintf(msg, sizeof(msg), "%s: %s", what, strerror(errnum));
	else
		snprintf(msg, sizeof(msg), "%s", what);
	k->w->nwarn++;
	if (k->w->warn != NULL)
		k->w->warn(path, msg, k->w->arg);
}

/* Read the directory open on fd (path at depth), entering subdirectories. */
static void
walk_dir(struct walker *k, int fd, const char *path, int depth)
{
	struct aim_walk_entry e;
	struct dirent *d;
	struct stat st;
	size_t plen = strlen(path), cap = plen + 256;
	char *child = aim_xmalloc(cap);
	DIR *dir;
	int cfd, i, act;

	if ((dir = fdopendir(fd)) == NULL) {
		warn_at(k, path, "can't read directory", errno);
		close(fd);
		free(child);
		return;
	}
	for (;;) {
		errno = 0;
		if ((d = readdir(dir)) == NULL) {
			if (errno != 0)
				warn_at(k, path, "can't read directory", errno);
			break;
		}
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (plen + strlen(d->d_name) + 2 > cap) {
			cap = plen + strlen(d->d_name) + 256;
			child = aim_xrealloc(child, cap);
		}
		snprintf(child, cap, "%s%s%s", path,
		    path[plen - 1] == '/' ? "" : "/", d->d_name);
		if (fstatat(dirfd(dir), d->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1) {
			warn_at(k, child, errno == ENOENT ?
			    "vanished during the scan" : "can't stat",
			    errno == ENOENT ? 0 : errno);
			continue;
		}
		k->w->nfiles++;
		e.path = child;
		e.dirfd = dirfd(dir);
		e.name = d->d_name;
		e.st = &st;
		e.depth = depth + 1;
		act = k->w->visit(&e, k->w->visit_arg);
		if (act == AIM_WALK_STOP) {
			k->stop = 1;
			break;
		}
		if (act == AIM_WALK_PRUNE || !S_ISDIR(st.st_mode))
			continue;
		if (depth + 1 >= AIM_WALK_MAX_DEPTH) {
			warn_at(k, child, "too deep: not entered", 0);
			continue;
		}
		cfd = openat(dirfd(dir), d->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (cfd == -1) {
			warn_at(k, child, errno == ENOENT ?
			    "vanished during the scan" : "can't open directory",
			    errno == ENOENT ? 0 : errno);
			continue;
		}
		/* What we opened, not what we stat'ed: it may have been swapped. */
		if (fstat(cfd, &st) == -1) {
			warn_at(k, child, "can't stat", errno);
			close(cfd);
			continue;
		}
		for (i = 0; i <= depth; i++)
			if (k->stack[i].dev == st.st_dev &&
			    k->stack[i].ino == st.st_ino)
				break;
		if (i <= depth) {
			char msg[700];

			snprintf(msg, sizeof(msg), "directory loop (same "
			    "directory as %s): not entered", k->stack[i].path);
			warn_at(k, child, msg, 0);
			close(cfd);
			continue;
		}
		k->stack[depth + 1].dev = st.st_dev;
		k->stack[depth + 1].ino = st.st_ino;
		k->stack[depth + 1].path = child;
		walk_dir(k, cfd, child, depth + 1);
		if (k->stop)
			break;
	}
	closedir(dir);
	free(child);
}

int
aim_walk(struct aim_walk *w, const char *root)
{
	struct aim_walk_entry e;
	struct walker k;
	struct stat st;
	int fd, act;

	memset(&k, 0, sizeof(k));
	k.w = w;
	/* The root is followed (find -H): the user named it. */
	if (stat(root, &st) == -1) {
		warn_at(&k, root, "can't scan", errno);
		return 0;
	}
	w->nfiles++;
	e.path = root;
	e.dirfd = AT_FDCWD;
	e.name = root;
	e.st = &st;
	e.depth = 0;
	act = w->visit(&e, w->visit_arg);
	if (act == AIM_WALK_STOP)
		return 1;
	if (act == AIM_WALK_PRUNE || !S_ISDIR(st.st_mode))
		return 0;
	if ((fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		warn_at(&k, root, "can't open directory", errno);
		return 0;
	}
	if (fstat(fd, &st) == -1) {
		warn_at(&k, root, "can't stat", errno);
		close(fd);
		return 0;
	}
	k.stack[0].dev = st.st_dev;
	k.stack[0].ino = st.st_ino;
	k.stack[0].path = root;
	walk_dir(&k, fd, root, 0);
	return k.stop;
}
