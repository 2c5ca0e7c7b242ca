/*
 * worktree.c: isolated copies of a working tree, one per fan-out
 * candidate, under one directory of aim's (aim-fanout(1) "Worktrees"):
 * a git worktree at the state the user sees, or a plain copy outside git;
 * their diffs, their disk use, and the sweep of a crashed run's leftovers.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aim-store.h"

extern char **environ;

/* git and cp on a large tree: generous, but never forever. */
#define RUN_TIMEOUT_MS	600000
/* A diff or a listing larger than this is refused, not truncated. */
#define RUN_OUT_MAX	((size_t)256 << 20)
/* An index copied for the state's tree. */
#define INDEX_MAX	((size_t)1 << 30)

static unsigned worktree_seq;

/* environ with the NAME=value strings of add in place of their namesakes. */
static char **
env_with(char *const add[])
{
	size_t n = 0, k = 0, i, j, len;
	char **env;
	int dup;

	while (environ[n] != NULL)
		n++;
	for (j = 0; add != NULL && add[j] != NULL; j++)
		;
	env = aim_xmalloc((n + j + 1) * sizeof(char *));
	for (i = 0; i < n; i++) {
		dup = 0;
		for (j = 0; add != NULL && add[j] != NULL; j++) {
			len = strcspn(add[j], "=") + 1;
			if (strncmp(environ[i], add[j], len) == 0)
				dup = 1;
		}
		if (!dup)
			env[k++] = environ[i];
	}
	for (j = 0; add != NULL && add[j] != NULL; j++)
		env[k++] = add[j];
	env[k] = NULL;
	return env;
}

/*
 * Run argv with environ plus add and input on its stdin: its exit status
 * when it exited with at most ok_max, *out its stdout (malloc'd,
 * NUL-terminated) when out is not NULL; else -1 and *why "LABEL:
 * <stderr's last line>" ("exit status N" when it said nothing), LABEL
 * "git SUB" for git (SUB: argv[3], after -C dir), else argv[0].
 */
static int
run_upto(char *const argv[], char *const add[], const char *input,
    size_t input_len, char **out, size_t *out_len, int ok_max, char **why)
{
	struct aim_proc_limits lim = { RUN_TIMEOUT_MS, 2000, RUN_OUT_MAX, 2048 };
	struct aim_proc p;
	char **env = env_with(add), *e, *nl, label[64];
	int rc;

	rc = aim_proc_run(&p, argv, env, input, input_len, &lim);
	free(env);
	if (rc == 0 && WIFEXITED(p.status) && WEXITSTATUS(p.status) <= ok_max &&
	    !p.out_overflow) {
		if (out != NULL) {
			*out = p.out;
			p.out = NULL;
		}
		if (out_len != NULL)
			*out_len = p.out_len;
		rc = WEXITSTATUS(p.status);
		aim_proc_free(&p);
		return rc;
	}
	if (strcmp(argv[0], "git") == 0 && argv[1] && argv[2] && argv[3])
		snprintf(label, sizeof(label), "git %s", argv[3]);
	else
		snprintf(label, sizeof(label), "%s", argv[0]);
	e = p.err;
	while (p.err_len > 0 && (e[p.err_len - 1] == '\n' ||
	    e[p.err_len - 1] == ' '))
		e[--p.err_len] = '\0';
	if ((nl = strrchr(e, '\n')) != NULL)
		e = nl + 1;
	if (p.spawn_errno)
		*why = aim_xsprintf("%s: %s", label, strerror(p.spawn_errno));
	else if (p.out_overflow)
		*why = aim_xsprintf("%s: output over %zu bytes", label,
		    RUN_OUT_MAX);
	else if (*e != '\0')
		*why = aim_xsprintf("%s: %s", label, e);
	else
		*why = aim_xsprintf("%s: exit status %d", label,
		    WIFEXITED(p.status) ? WEXITSTATUS(p.status) : 128 +
		    WTERMSIG(p.status));
	aim_proc_free(&p);
	return -1;
}

/* run_upto for a command that must exit 0: 0 or -1. */
static int
run(char *const argv[], char *const add[], const char *input,
    size_t input_len, char **out, size_t *out_len, char **why)
{
	return run_upto(argv, add, input, input_len, out, out_len, 0, why);
}

char *
aim_worktree_root(void)
{
	return aim_xdg_path("XDG_STATE_HOME", ".local/state", "worktrees");
}

/*
 * Remove what the directory open on fd holds, never through a symlink:
 * readdir's d_type tells a directory without a stat (lstat only when
 * the filesystem does not say); fd is closed.  0, or -1 with errno
 * (what could be removed is).
 */
static int
rm_below(int fd)
{
	struct dirent *d;
	struct stat st;
	DIR *dir;
	int sub, isdir, fail = 0;

	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((errno = 0, d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		isdir = d->d_type == DT_DIR;
		if (d->d_type == DT_UNKNOWN)
			isdir = fstatat(fd, d->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
		if (isdir && ((sub = openat(fd, d->d_name, O_RDONLY |
		    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
		    rm_below(sub) == -1) && errno != ENOENT && fail == 0)
			fail = errno;
		if (unlinkat(fd, d->d_name, isdir ? AT_REMOVEDIR : 0) == -1 &&
		    errno != ENOENT && fail == 0)
			fail = errno;
	}
	if (errno != 0 && fail == 0)
		fail = errno;
	closedir(dir);
	errno = fail;
	return fail == 0 ? 0 : -1;
}

/* Remove path and everything below it, never through a symlink. */
static int
rm_tree(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		if (errno == ENOTDIR || errno == ELOOP)
			return unlink(path) == -1 && errno != ENOENT ? -1 : 0;
		return -1;
	}
	if (rm_below(fd) == -1)
		return -1;
	return rmdir(path) == -1 && errno != ENOENT ? -1 : 0;
}

/* The lines of s split in place: up to n, empty ones kept; how many. */
static size_t
split_lines(char *s, char **v, size_t n)
{
	size_t k = 0;
	char *nl;

	while (k < n && *s != '\0') {
		v[k++] = s;
		if ((nl = strchr(s, '\n')) == NULL)
			break;
		*nl = '\0';
		s = nl + 1;
	}
	return k;
}

/* ---- what a tree holds, by lstat ---- */

/* An entry below a tree's top. */
struct tree_entry {
	char		*path;		/* from the top, no leading '/' */
	mode_t		 mode;
	off_t		 size;
	struct timespec	 mtim;
	int		 changed;	/* for the diff: may have changed */
};

/* Entries, sorted by path once the walk is done. */
struct tree_list {
	struct tree_entry *v;
	size_t		 n, cap;
	size_t		 top_len;	/* the walk's top and its '/' */
};

/* A new entry at the end of l, zeroed but for its path. */
static struct tree_entry *
entry_add(struct tree_list *l, const char *path)
{
	struct tree_entry *t;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		l->v = aim_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	t = &l->v[l->n++];
	memset(t, 0, sizeof(*t));
	t->path = aim_xstrdup(path);
	return t;
}

static int
list_visit(const struct aim_walk_entry *e, void *arg)
{
	struct tree_list *l = arg;
	struct tree_entry *t;

	if (e->depth == 0)
		return AIM_WALK_CONTINUE;
	t = entry_add(l, e->path + l->top_len);
	t->mode = e->st->st_mode;
	t->size = e->st->st_size;
	t->mtim = e->st->st_mtim;
	return AIM_WALK_CONTINUE;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tree_entry *)a)->path,
	    ((const struct tree_entry *)b)->path);
}

/* Every entry below top, into l. */
static void
tree_list(const char *top, struct tree_list *l)
{
	struct aim_walk w;

	memset(l, 0, sizeof(*l));
	l->top_len = strlen(top);
	if (l->top_len == 0 || top[l->top_len - 1] != '/')
		l->top_len++;	/* aim_walk's '/' after it */
	memset(&w, 0, sizeof(w));
	w.visit = list_visit;
	w.visit_arg = l;
	aim_walk(&w, top);
	qsort(l->v, l->n, sizeof(*l->v), entry_cmp);
}

static void
tree_list_free(struct tree_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int
ts_cmp(struct timespec a, struct timespec b)
{
	if (a.tv_sec != b.tv_sec)
		return a.tv_sec < b.tv_sec ? -1 : 1;
	return a.tv_nsec < b.tv_nsec ? -1 : a.tv_nsec > b.tv_nsec;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The state of a directory outside git: a hash of every entry's name,
 * mode, size and modification time (content is not read: a change that
 * keeps the size and the mtime goes unseen).
 */
static void
stat_state(const char *top, char hex[AIM_HASH_HEX_BYTES + 1])
{
	struct tree_list l;
	unsigned char h[AIM_HASH_BYTES];
	size_t i, len = 0;
	char **line, *all, *p;

	tree_list(top, &l);
	line = aim_xmalloc((l.n + 1) * sizeof(char *));
	for (i = 0; i < l.n; i++) {
		line[i] = aim_xsprintf("/%s %o %lld %lld.%09ld", l.v[i].path,
		    (unsigned)l.v[i].mode, (long long)l.v[i].size,
		    (long long)l.v[i].mtim.tv_sec, l.v[i].mtim.tv_nsec);
		len += strlen(line[i]) + 1;
	}
	qsort(line, l.n, sizeof(char *), str_cmp);
	p = all = aim_xmalloc(len + 1);
	for (i = 0; i < l.n; i++) {
		p = stpcpy(p, line[i]);
		*p++ = '\n';
		free(line[i]);
	}
	free(line);
	tree_list_free(&l);
	aim_hash(all, len, h);
	free(all);
	aim_hex(h, AIM_HASH_BYTES, hex);
}

/* Copy file from to a new file to (mode 0600). */
static int
copy_file(const char *from, const char *to)
{
	char *buf;
	size_t len;
	int rc;

	if (aim_read_file(AT_FDCWD, from, 0, INDEX_MAX, &buf, &len) == -1)
		return -1;
	rc = aim_write_file_new(to, buf, len, 0600, AIM_WRITE_NOSYNC, NULL);
	free(buf);
	return rc;
}

/*
 * The tree id of the working tree of b as git add -A sees it (tracked
 * and untracked files, not ignored ones), through an index of our own
 * started from a copy of the real one, so that only changed files are
 * hashed and the user's index is left alone.
 */
static int
git_state(struct aim_base *b, const char *index, char **why)
{
	char *tmp, *root, *env[2], *out = NULL;
	char *add[] = { "git", "-C", b->top, "add", "-A", NULL };
	char *wt[] = { "git", "-C", b->top, "write-tree", NULL };
	int rc = -1;

	if ((root = aim_worktree_root()) == NULL) {
		*why = aim_xstrdup("no XDG_STATE_HOME nor HOME for the worktrees");
		return -1;
	}
	if (aim_mkdirs(root) == -1) {
		*why = aim_xsprintf("can't create %s: %s", root, strerror(errno));
		free(root);
		return -1;
	}
	tmp = aim_xsprintf("%s/%ld-index-%u", root, (long)getpid(),
	    worktree_seq++);
	free(root);
	unlink(tmp);
	if (copy_file(index, tmp) == -1 && errno != ENOENT) {
		*why = aim_xsprintf("can't copy %s: %s", index, strerror(errno));
		free(tmp);
		return -1;
	}
	env[0] = aim_xsprintf("GIT_INDEX_FILE=%s", tmp);
	env[1] = NULL;
	if (run(add, env, NULL, 0, NULL, NULL, why) == 0 &&
	    run(wt, env, NULL, 0, &out, NULL, why) == 0) {
		out[strcspn(out, "\n")] = '\0';
		snprintf(b->tree, sizeof(b->tree), "%s", out);
		rc = 0;
	}
	free(out);
	free(env[0]);
	unlink(tmp);
	free(tmp);
	return rc;
}

int
aim_base_head(struct aim_base *b, const char *dir, char **why)
{
	char *rp[] = { "git", "-C", NULL, "rev-parse", "--show-toplevel",
	    "--show-prefix", "--git-common-dir", "--git-path", "index", NULL };
	char *head[] = { "git", "-C", NULL, "rev-parse", "HEAD^{commit}",
	    "HEAD^{tree}", NULL };
	char *out = NULL, *line[4], *ignored = NULL;

	memset(b, 0, sizeof(*b));
	/* git names the directories from dir: absolute, so are they. */
	if ((rp[2] = realpath(dir, NULL)) == NULL) {
		*why = aim_xsprintf("%s: %s", dir, strerror(errno));
		return -1;
	}
	if (run(rp, NULL, NULL, 0, &out, NULL, &ignored) == -1 ||
	    split_lines(out, line, 4) != 4) {
		free(ignored);
		free(out);
		b->top = rp[2];
		b->prefix = aim_xstrdup("");
		stat_state(b->top, b->tree);
		return 0;
	}
	b->top = aim_xstrdup(line[0]);
	b->prefix = aim_xstrdup(line[1]);
	b->git_dir = aim_abspath(line[2], rp[2]);
	b->index = aim_abspath(line[3], rp[2]);
	free(rp[2]);
	free(out);
	head[2] = b->top;
	if (run(head, NULL, NULL, 0, &out, NULL, &ignored) == -1 ||
	    split_lines(out, line, 2) != 2) {
		free(ignored);
		free(out);
		*why = aim_xsprintf("%s: no commit yet: a worktree needs HEAD",
		    b->top);
		aim_base_free(b);
		return -1;
	}
	snprintf(b->head, sizeof(b->head), "%s", line[0]);
	snprintf(b->head_tree, sizeof(b->head_tree), "%s", line[1]);
	free(out);
	return 0;
}

int
aim_base_state(struct aim_base *b, char **why)
{
	return b->git_dir == NULL ? 0 : git_state(b, b->index, why);
}

int
aim_base_read(struct aim_base *b, const char *dir, char **why)
{
	if (aim_base_head(b, dir, why) == -1)
		return -1;
	if (aim_base_state(b, why) == 0)
		return 0;
	aim_base_free(b);
	return -1;
}

void
aim_base_free(struct aim_base *b)
{
	free(b->top);
	free(b->prefix);
	free(b->index);
	free(b->git_dir);
	memset(b, 0, sizeof(*b));
}

/* A path of the list a relative one staying inside the tree? */
static int
path_inside(const char *p)
{
	const char *s;

	if (*p == '\0' || *p == '/')
		return 0;
	for (s = p; (s = strstr(s, "..")) != NULL; s += 2)
		if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
			return 0;
	return 1;
}

/*
 * The ignored files a build needs (aim-fanout(1) --link, --copy): each
 * path of list that exists in the user's tree, symlinked (link) or
 * copied with cp -a --reflink=auto into the same place of the copy.
 */
static int
bring_in(struct aim_worktree *wt, const struct aim_base *b, json_t *list,
    int link, char **why)
{
	char *cp[] = { "cp", "-a", "--reflink=auto", "--", NULL, NULL, NULL };
	char *from, *to;
	struct stat st;
	json_t *v;
	size_t i;
	int rc = 0;

	json_array_foreach(list, i, v) {
		if (!path_inside(json_string_value(v))) {
			*why = aim_xsprintf("%s: not a path inside the tree",
			    json_string_value(v));
			return -1;
		}
		from = aim_xsprintf("%s/%s", b->top, json_string_value(v));
		to = aim_xsprintf("%s/%s", wt->tree, json_string_value(v));
		if (lstat(from, &st) == 0 && lstat(to, &st) == -1) {
			if (aim_mkdirs_parent(to, NULL) == -1)
				rc = -1;
			else if (link)
				rc = symlink(from, to);
			else {
				cp[4] = from, cp[5] = to;
				rc = run(cp, NULL, NULL, 0, NULL, NULL, why);
			}
			if (rc == -1 && *why == NULL)
				*why = aim_xsprintf("can't %s %s: %s", link ?
				    "link" : "copy", to, strerror(errno));
		}
		free(from);
		free(to);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/*
 * git reads and writes its list of worktrees with no lock of its own: a
 * `git worktree add` listing them while another makes its entry fails
 * ("failed to read .git/worktrees/tree/commondir"), as the candidates of
 * one fan-out did now and then.  aim's adds, removes and prunes take
 * turns on <root>.lock, beside the directory; the checkout, the
 * slow part, is outside it.  The lock's descriptor, or -1 (then no
 * turns: as before).
 */
static int
list_lock(void)
{
	char *root = aim_worktree_root(), *path;
	int fd;

	if (root == NULL)
		return -1;
	path = aim_xsprintf("%s.lock", root);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(path);
	free(root);
	if (fd != -1)
		while (flock(fd, LOCK_EX) == -1 && errno == EINTR)
			;
	return fd;
}

static void
list_unlock(int fd)
{
	if (fd != -1)
		close(fd);
}

/*
 * The copy of a git work tree, HEAD checked out: added with no checkout
 * under the lock (git's list of worktrees has none), checked out outside
 * it.
 */
static int
git_checkout(struct aim_worktree *wt, const struct aim_base *b, char **why)
{
	char *add[] = { "git", "-C", b->top, "worktree", "add", "--detach",
	    "--no-checkout", "-q", wt->tree, (char *)b->head, NULL };
	char *co[] = { "git", "-C", wt->tree, "reset", "-q", "--hard", NULL };
	int rc, lk;

	lk = list_lock();
	rc = run(add, NULL, NULL, 0, NULL, NULL, why);
	list_unlock(lk);
	return rc == -1 ? -1 : run(co, NULL, NULL, 0, NULL, NULL, why);
}

/*
 * The state's changes, HEAD's tree to the state's, applied to the
 * checked-out copy's working files only (untracked ones stay
 * untracked); nothing when the two are one.
 */
static int
git_state_apply(struct aim_worktree *wt, const struct aim_base *b,
    char **why)
{
	char *df[] = { "git", "-C", b->top, "diff", "--binary", "--no-color",
	    "--no-ext-diff", "--src-prefix=a/", "--dst-prefix=b/",
	    (char *)b->head_tree, (char *)b->tree, NULL };
	char *ap[] = { "git", "-C", wt->tree, "apply", "--whitespace=nowarn",
	    NULL };
	char *diff = NULL;
	size_t len = 0;
	int rc;

	snprintf(wt->base, sizeof(wt->base), "%s", b->tree);
	if (strcmp(b->head_tree, b->tree) == 0)
		return 0;
	rc = run(df, NULL, NULL, 0, &diff, &len, why) == 0 &&
	    (len == 0 || run(ap, NULL, diff, len, NULL, NULL, why) == 0) ? 0 : -1;
	free(diff);
	return rc;
}

/*
 * The copy of a directory outside git, and a git directory of its own
 * beside it (dir/git) holding its first state, for the diff.
 */
static int
plain_copy(struct aim_worktree *wt, const struct aim_base *b, char **why)
{
	char *src = aim_xsprintf("%s/.", b->top), *out = NULL;
	char *cp[] = { "cp", "-a", "--reflink=auto", "--", src, wt->tree, NULL };
	char *init[] = { "git", "init", "-q", NULL };
	char *add[] = { "git", "-C", wt->tree, "add", "-A", NULL };
	char *wtree[] = { "git", "-C", wt->tree, "write-tree", NULL };
	int rc;

	wt->git_env[0] = aim_xsprintf("GIT_DIR=%s/git", wt->dir);
	wt->git_env[1] = aim_xsprintf("GIT_WORK_TREE=%s", wt->tree);
	wt->git_env[2] = NULL;
	rc = run(cp, NULL, NULL, 0, NULL, NULL, why) == 0 &&
	    run(init, wt->git_env, NULL, 0, NULL, NULL, why) == 0 &&
	    run(add, wt->git_env, NULL, 0, NULL, NULL, why) == 0 &&
	    run(wtree, wt->git_env, NULL, 0, &out, NULL, why) == 0 ? 0 : -1;
	free(src);
	if (rc == 0) {
		out[strcspn(out, "\n")] = '\0';
		snprintf(wt->base, sizeof(wt->base), "%s", out);
	}
	free(out);
	return rc;
}

/* A new directory root/<pid>-<n> of ours; 0, or -1 with *why. */
static int
make_dir(struct aim_worktree *wt, char **why)
{
	char *root = aim_worktree_root();

	if (root == NULL) {
		*why = aim_xstrdup("no XDG_STATE_HOME nor HOME for the worktrees");
		return -1;
	}
	if (aim_mkdirs(root) == -1) {
		*why = aim_xsprintf("can't create %s: %s", root, strerror(errno));
		free(root);
		return -1;
	}
	for (;;) {
		wt->dir = aim_xsprintf("%s/%ld-%u", root, (long)getpid(),
		    worktree_seq++);
		if (mkdir(wt->dir, 0700) == 0)
			break;
		if (errno != EEXIST) {
			*why = aim_xsprintf("can't create %s: %s", wt->dir,
			    strerror(errno));
			free(wt->dir);
			wt->dir = NULL;
			free(root);
			return -1;
		}
		free(wt->dir);
	}
	free(root);
	wt->tree = aim_xsprintf("%s/tree", wt->dir);
	return 0;
}

/* Run the setup command with sh -c in the copy's working directory. */
static int
setup_run(struct aim_worktree *wt, const char *cmd, char **why)
{
	char *sh[] = { "sh", "-c", "cd \"$1\" && eval \"$2\"", "sh", wt->cwd,
	    (char *)cmd, NULL };
	char *w = NULL;

	if (run(sh, NULL, NULL, 0, NULL, NULL, &w) == 0)
		return 0;
	*why = aim_xsprintf("setup command failed: %s", w + 4);
	free(w);
	return -1;
}

/*
 * The filesystem's clock once wt's copy holds its base, into wt->filled:
 * the ctime of a file of its own, dir/filled.  A file changed later gets
 * a ctime no earlier than that (inode(7), "st_ctime").  Timestamps move
 * by the clock's tick, a few ms: the mark is touched until its ctime
 * has passed the one it was made with, so that what the fill wrote in
 * that tick is before it and does not look changed.  Left zero when the
 * mark cannot be made: the diff then asks git about every file.
 */
static void
mark_filled(struct aim_worktree *wt)
{
	struct timespec nap = { 0, 500000 };
	char *mark = aim_xsprintf("%s/filled", wt->dir);
	struct stat st;
	struct timespec made;
	int fd, i;

	fd = open(mark, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	free(mark);
	if (fd == -1)
		return;
	if (fstat(fd, &st) == 0) {
		made = wt->filled = st.st_ctim;
		/* At most 100 ms; else the tick's files are hashed again. */
		for (i = 0; i < 200 && ts_cmp(wt->filled, made) == 0; i++) {
			(void)nanosleep(&nap, NULL);
			if (futimens(fd, NULL) == -1 || fstat(fd, &st) == -1)
				break;
			wt->filled = st.st_ctim;
		}
	}
	close(fd);
}

int
aim_worktree_new(struct aim_worktree *wt, const struct aim_base *b,
    char **why)
{
	char *root = aim_worktree_root();
	size_t n;
	int inside;

	memset(wt, 0, sizeof(*wt));
	wt->disk_bytes = -1;
	*why = NULL;
	n = strlen(b->top);
	inside = root != NULL && strncmp(root, b->top, n) == 0 &&
	    (root[n] == '/' || n == 1) && b->git_dir == NULL;
	free(root);
	if (inside) {
		*why = aim_xsprintf("%s: the worktrees' directory is inside it",
		    b->top);
		return -1;
	}
	if (make_dir(wt, why) == -1)
		return -1;
	wt->git = b->git_dir != NULL;
	if (wt->git)
		wt->git_dir = aim_xstrdup(b->git_dir);
	wt->cwd = aim_xsprintf("%s/%s", wt->tree, b->prefix);
	return 0;
}

int
aim_worktree_checkout(struct aim_worktree *wt, const struct aim_base *b,
    char **why)
{
	*why = NULL;
	if ((wt->git ? git_checkout(wt, b, why) : plain_copy(wt, b, why)) ==
	    -1)
		return -1;
	wt->checked_out = 1;
	return 0;
}

int
aim_worktree_fill(struct aim_worktree *wt, const struct aim_base *b,
    const struct aim_worktree_opts *o, char **why)
{
	*why = NULL;
	if ((!wt->checked_out && aim_worktree_checkout(wt, b, why) == -1) ||
	    (wt->git && git_state_apply(wt, b, why) == -1))
		return -1;
	mark_filled(wt);
	/* A working directory git does not track (empty) is made too. */
	if (aim_mkdirs(wt->cwd) == -1) {
		*why = aim_xsprintf("can't create %s: %s", wt->cwd,
		    strerror(errno));
		return -1;
	}
	if (bring_in(wt, b, o->link, 1, why) == -1 ||
	    bring_in(wt, b, o->copy, 0, why) == -1 ||
	    (o->setup != NULL && setup_run(wt, o->setup, why) == -1))
		return -1;
	return 0;
}

/* git worktree prune in the repository whose common directory is gd. */
static void
prune(const char *gd)
{
	char *arg = aim_xsprintf("--git-dir=%s", gd), *why = NULL;
	char *pr[] = { "git", arg, "worktree", "prune", NULL };

	(void)run(pr, NULL, NULL, 0, NULL, NULL, &why);
	free(why);
	free(arg);
}

void
aim_worktree_free(struct aim_worktree *wt)
{
	free(wt->dir);
	free(wt->tree);
	free(wt->cwd);
	free(wt->git_dir);
	free(wt->git_env[0]);
	free(wt->git_env[1]);
	memset(wt, 0, sizeof(*wt));
	wt->disk_bytes = -1;
}

int
aim_worktree_keep(struct aim_worktree *wt)
{
	char *mark = aim_xsprintf("%s/keep", wt->dir);
	int rc = aim_write_file_new(mark, "", 0, 0600, AIM_WRITE_NOSYNC, NULL);

	free(mark);
	aim_worktree_free(wt);
	return rc;
}

int
aim_worktree_remove(struct aim_worktree *wt, char **why)
{
	char *rm[] = { "git", "-C", wt->git_dir, "worktree", "remove",
	    "--force", wt->tree, NULL };
	char *w = NULL;
	int rc = 0, lk;

	/*
	 * The files first, outside the lock: the slow part, which the other
	 * candidates need not wait for.  Then git's own remove forgets the
	 * worktree, gone or not, and needs no prune after.
	 */
	if (wt->dir != NULL && rm_tree(wt->dir) == -1) {
		rc = -1;
		if (why != NULL)
			*why = aim_xsprintf("can't remove %s: %s", wt->dir,
			    strerror(errno));
	}
	if (wt->git && wt->tree != NULL) {
		lk = list_lock();
		if (run(rm, NULL, NULL, 0, NULL, NULL, &w) == -1 && rc == 0)
			prune(wt->git_dir);
		list_unlock(lk);
	}
	free(w);
	aim_worktree_free(wt);
	return rc;
}

/* The diff of every file of wt, through git's index of the copy. */
static int
diff_all(struct aim_worktree *wt, char **diff, size_t *len, char **why)
{
	char *add[] = { "git", "-C", wt->tree, "add", "-A", NULL };
	char *df[] = { "git", "-C", wt->tree, "diff", "--cached", "--binary",
	    "--no-color", "--no-ext-diff", "--src-prefix=a/", "--dst-prefix=b/",
	    wt->base, NULL };
	char **env = wt->git ? NULL : wt->git_env;

	if (run(add, env, NULL, 0, NULL, NULL, why) == -1 ||
	    run(df, env, NULL, 0, diff, len, why) == -1)
		return -1;
	return 0;
}

/* Append path and its NUL to the list *buf of *len bytes (cap *cap). */
static void
path_add(char **buf, size_t *len, size_t *cap, const char *path)
{
	size_t n = strlen(path) + 1;

	if (*len + n > *cap) {
		*cap = (*len + n) * 2;
		*buf = aim_xrealloc(*buf, *cap);
	}
	memcpy(*buf + *len, path, n);
	*len += n;
}

/*
 * The walk of a copy for its diff: every entry below the tree (.git
 * left out), each file marked when it may have changed since the copy
 * held its base, and the disk of the whole directory.
 */
struct change_walk {
	struct tree_list l;		/* dirs too; changed: files only */
	const char *tree;
	size_t	 tree_len;
	struct timespec filled;
	unsigned char moved[AIM_WALK_MAX_DEPTH + 2];	/* by depth: dirs */
	int	 dir_moved;		/* some directory's entries changed */
	int64_t	 disk_bytes;
};

/* Was st's inode changed or touched since the copy held its base? */
static int
moved(const struct stat *st, struct timespec filled)
{
	return ts_cmp(st->st_ctim, filled) >= 0 ||
	    ts_cmp(st->st_mtim, filled) >= 0;
}

/*
 * A file may have changed when its ctime or mtime is not before the
 * mark (a write, a chmod, a rename onto it: within the clock's tick the
 * mark was made in, a change may share its time) or when its directory's
 * entries changed (a rename, which POSIX lets leave the file's ctime
 * alone: rename(2)).  A directory's mtime moves when an entry comes or
 * goes (unlink(2), rename(2)).
 */
static int
change_visit(const struct aim_walk_entry *e, void *arg)
{
	struct change_walk *c = arg;
	struct tree_entry *t;
	int below, m;

	c->disk_bytes += (int64_t)e->st->st_blocks * 512;
	if (strncmp(e->path, c->tree, c->tree_len - 1) != 0 ||
	    (e->path[c->tree_len - 1] != '/' && e->path[c->tree_len - 1] !=
	    '\0'))
		return AIM_WALK_CONTINUE;
	below = e->path[c->tree_len - 1] == '/';
	m = moved(e->st, c->filled);
	if (S_ISDIR(e->st->st_mode)) {
		if (below && strcmp(e->name, ".git") == 0)
			return AIM_WALK_PRUNE;
		c->moved[e->depth] = m;
		c->dir_moved |= m;
		if (!below)
			return AIM_WALK_CONTINUE;
	} else if (!below || strcmp(e->name, ".git") == 0)
		return AIM_WALK_CONTINUE;
	t = entry_add(&c->l, e->path + c->tree_len);
	t->changed = !S_ISDIR(e->st->st_mode) && (m || c->moved[e->depth - 1]);
	return AIM_WALK_CONTINUE;
}

/*
 * The walk of wt's directory into c: the entries below the tree, and the
 * directory's disk into wt->disk_bytes.  0, or -1 when some of it could
 * not be read.
 */
static int
change_walk(struct aim_worktree *wt, struct change_walk *c)
{
	struct aim_walk w;

	memset(c, 0, sizeof(*c));
	c->tree = wt->tree;
	c->tree_len = strlen(wt->tree) + 1;
	c->filled = wt->filled;
	memset(&w, 0, sizeof(w));
	w.visit = change_visit;
	w.visit_arg = c;
	aim_walk(&w, wt->dir);
	qsort(c->l.v, c->l.n, sizeof(*c->l.v), entry_cmp);
	wt->disk_bytes = c->disk_bytes;
	return w.nwarn == 0 ? 0 : -1;
}

/*
 * The paths of wt's files that may have changed, each with its NUL, into
 * *buf (malloc'd), *len bytes: those c marked, then, when an entry came
 * or went, the base's files that are not there now (git ls-files with
 * env's index of the base).  0, or -1 with a malloc'd *why.
 */
static int
files_changed(struct aim_worktree *wt, struct change_walk *c,
    char *const env[], char **buf, size_t *len, char **why)
{
	char *ls[] = { "git", "-C", wt->tree, "ls-files", "-z", NULL };
	char *base = NULL, *p, *end;
	size_t i, cap = 0, blen;
	int cmp;

	*buf = NULL;
	*len = 0;
	for (i = 0; i < c->l.n; i++)
		if (c->l.v[i].changed)
			path_add(buf, len, &cap, c->l.v[i].path);
	if (!c->dir_moved)
		return 0;
	if (run(ls, env, NULL, 0, &base, &blen, why) == -1)
		return -1;
	for (p = base, end = base + blen, i = 0; p < end; p += strlen(p) + 1) {
		cmp = 1;
		while (i < c->l.n && (cmp = strcmp(c->l.v[i].path, p)) < 0)
			i++;
		if (cmp != 0)
			path_add(buf, len, &cap, p);
	}
	free(base);
	return 0;
}

/*
 * The list of paths *buf (*len bytes) less those of drop, another such
 * list (drop_len bytes), in whatever order.
 */
static void
paths_drop(char *buf, size_t *len, char *drop, size_t drop_len)
{
	char *p = buf, *out = buf, *end = buf + *len, **v = NULL;
	size_t n = 0, cap = 0, k;

	for (p = drop; p < drop + drop_len; p += strlen(p) + 1) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = aim_xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = p;
	}
	qsort(v, n, sizeof(*v), str_cmp);
	for (p = buf; p < end; p += k) {
		k = strlen(p) + 1;
		if (n == 0 || bsearch(&p, v, n, sizeof(*v), str_cmp) == NULL) {
			memmove(out, p, k);
			out += k;
		}
	}
	*len = out - buf;
	free(v);
}

int
aim_worktree_diff(struct aim_worktree *wt, char **diff, size_t *len,
    char **why)
{
	char *index = NULL, *env[4] = { NULL }, *ignored = NULL;
	char *rt[] = { "git", "-C", wt->tree, "read-tree", wt->base, NULL };
	char *ci[] = { "git", "-C", wt->tree, "check-ignore", "-z", "--stdin",
	    NULL };
	char *ui[] = { "git", "-C", wt->tree, "update-index", "--add",
	    "--remove", "--replace", "-z", "--stdin", NULL };
	char *df[] = { "git", "-C", wt->tree, "diff", "--cached", "--binary",
	    "--no-color", "--no-ext-diff", "--src-prefix=a/", "--dst-prefix=b/",
	    wt->base, NULL };
	struct change_walk c;
	char *paths = NULL;
	size_t plen = 0, ilen = 0, i;
	int rc = -1, st = 1;

	*diff = NULL;
	if (wt->filled.tv_sec == 0 || change_walk(wt, &c) == -1) {
		tree_list_free(&c.l);
		return diff_all(wt, diff, len, why);
	}
	for (i = 0; i < c.l.n && !c.l.v[i].changed; i++)
		;
	if (i == c.l.n && !c.dir_moved) {
		tree_list_free(&c.l);
		*diff = aim_xstrdup("");
		*len = 0;
		return 0;
	}
	/*
	 * An index of the base alone, with no stat data: git trusts none of
	 * it and hashes each path it is given, and only those.
	 */
	index = aim_xsprintf("%s/diff-index", wt->dir);
	(void)unlink(index);
	env[0] = aim_xsprintf("GIT_INDEX_FILE=%s", index);
	env[1] = wt->git ? NULL : wt->git_env[0];
	env[2] = wt->git ? NULL : wt->git_env[1];
	if (run(rt, env, NULL, 0, NULL, NULL, why) == 0 &&
	    files_changed(wt, &c, env, &paths, &plen, why) == 0 &&
	    (plen == 0 || (st = run_upto(ci, env, paths, plen, &ignored, &ilen,
	    1, why)) != -1)) {
		if (plen > 0 && st == 0)
			paths_drop(paths, &plen, ignored, ilen);
		if (plen == 0) {
			*diff = aim_xstrdup("");
			*len = 0;
			rc = 0;
		} else if (run(ui, env, paths, plen, NULL, NULL, why) == 0 &&
		    run(df, env, NULL, 0, diff, len, why) == 0)
			rc = 0;
	}
	tree_list_free(&c.l);
	(void)unlink(index);
	free(env[0]);
	free(index);
	free(ignored);
	free(paths);
	return rc;
}

void
aim_diff_stat(const char *diff, size_t len, struct aim_diff_stat *st)
{
	const char *p = diff, *end = diff + len, *nl;
	int hunk = 0;

	memset(st, 0, sizeof(*st));
	for (; p < end; p = nl + (nl < end)) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;	/* the last line, without its newline */
		if (nl - p >= 11 && memcmp(p, "diff --git ", 11) == 0) {
			st->files++;
			hunk = 0;
		} else if (nl - p >= 2 && p[0] == '@' && p[1] == '@')
			hunk = 1;
		else if (hunk && *p == '+')
			st->lines_added++;
		else if (hunk && *p == '-')
			st->lines_removed++;
	}
}

static int
du_visit(const struct aim_walk_entry *e, void *arg)
{
	*(int64_t *)arg += (int64_t)e->st->st_blocks * 512;
	return AIM_WALK_CONTINUE;
}

int64_t
aim_disk_bytes(const char *path)
{
	struct aim_walk w;
	int64_t n = 0;

	memset(&w, 0, sizeof(w));
	w.visit = du_visit;
	w.visit_arg = &n;
	aim_walk(&w, path);
	return n;
}

/* The common git directory a worktree at tree belongs to, or NULL. */
static char *
owner_git_dir(const char *tree)
{
	char *dotgit = aim_xsprintf("%s/.git", tree), *buf = NULL, *p, *gd;
	size_t len;

	if (aim_read_file(AT_FDCWD, dotgit, AIM_READ_NOFOLLOW, 65536, &buf,
	    &len) == -1 || strncmp(buf, "gitdir: ", 8) != 0) {
		free(dotgit);
		free(buf);
		return NULL;
	}
	free(dotgit);
	buf[strcspn(buf, "\n")] = '\0';
	/* <common>/worktrees/<name>: the common directory is two up. */
	if ((p = strrchr(buf, '/')) != NULL)
		*p = '\0';
	if ((p = strrchr(buf, '/')) != NULL)
		*p = '\0';
	gd = aim_xstrdup(buf + 8);
	free(buf);
	return gd;
}

int
aim_worktree_sweep(char **why)
{
	char *root = aim_worktree_root(), *path, *tree, *gd;
	struct dirent *e;
	DIR *d;
	long pid;
	char *end;
	int n = 0, lk;

	*why = NULL;
	if (root == NULL || (d = opendir(root)) == NULL) {
		free(root);
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		pid = strtol(e->d_name, &end, 10);
		if (end == e->d_name || *end != '-' || pid <= 0 ||
		    pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		path = aim_xsprintf("%s/%s", root, e->d_name);
		tree = aim_xsprintf("%s/keep", path);
		if (access(tree, F_OK) == 0) {
			free(tree);
			free(path);
			continue;
		}
		free(tree);
		tree = aim_xsprintf("%s/tree", path);
		gd = owner_git_dir(tree);
		if (rm_tree(path) == -1 && *why == NULL)
			*why = aim_xsprintf("can't remove %s: %s", path,
			    strerror(errno));
		else
			n++;
		if (gd != NULL) {
			lk = list_lock();
			prune(gd);
			list_unlock(lk);
		}
		free(gd);
		free(tree);
		free(path);
	}
	closedir(d);
	free(root);
	return n;
}

json_t *
aim_base_changes(const struct aim_base *b, const char *tree, char **why)
{
	char *df[] = { "git", "-C", b->top, "diff", "--name-only", "-z",
	    "--no-renames", (char *)b->tree, (char *)tree, NULL };
	json_t *files;
	char *out, *p;
	size_t len;

	if (b->git_dir == NULL)
		return json_array();
	if (run(df, NULL, NULL, 0, &out, &len, why) == -1)
		return NULL;
	files = json_array();
	for (p = out; p < out + len; p += strlen(p) + 1)
		json_array_append_new(files, json_string(p));
	free(out);
	return files;
}

json_t *
aim_diff_files(const char *top, const char *diff, size_t len, char **why)
{
	char *ns[] = { "git", "-C", (char *)top, "apply", "--numstat", "-z",
	    NULL };
	json_t *files;
	char *out, *p, *tab;
	size_t n;

	if (len == 0)
		return json_array();
	if (run(ns, NULL, diff, len, &out, &n, why) == -1)
		return NULL;
	files = json_array();
	/* "added\tremoved\tpath\0", a rename "added\tremoved\t\0from\0to\0". */
	for (p = out; p < out + n; p += strlen(p) + 1) {
		if ((tab = strrchr(p, '\t')) == NULL)
			continue;
		if (tab[1] == '\0') {
			p += strlen(p) + 1;	/* from */
			if (p >= out + n)
				break;
			p += strlen(p) + 1;	/* to */
			if (p >= out + n)
				break;
			json_array_append_new(files, json_string(p));
		} else
			json_array_append_new(files, json_string(tab + 1));
	}
	free(out);
	return files;
}

int
aim_diff_apply(const char *top, const char *diff, size_t len, int check_only,
    char **why)
{
	char *check[] = { "git", "-C", (char *)top, "apply", "--check", NULL };
	char *apply[] = { "git", "-C", (char *)top, "apply", NULL };

	if (len == 0)
		return 0;
	if (run(check, NULL, diff, len, NULL, NULL, why) == -1)
		return -1;
	return check_only ? 0 : run(apply, NULL, diff, len, NULL, NULL, why);
}
