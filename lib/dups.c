/*
 * dups.c: duplicate files by content.  Size first, then the first block,
 * then the rest compared in lock step with one BLAKE2b state per group of
 * files still equal, so a pair costs two reads and one hash.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "aim-store.h"

#define FIRST_BYTES	4096
#define CHUNK_BYTES	(128 * 1024)
#define LOCKSTEP_MAX	64	/* larger groups are hashed file by file */
#define MAX_THREADS	8

/* Warnings come from every comparing thread: one at a time. */
static pthread_mutex_t warn_mu = PTHREAD_MUTEX_INITIALIZER;

struct file {
	char	*path;
	int64_t	 size;
	dev_t	 dev;
	ino_t	 ino;
	size_t	 order;		/* walk order */
	int	 fd;
	unsigned char hash[AIM_HASH_BYTES];
};

struct collect {
	struct file *v;
	size_t	 n, cap;
	int64_t	 min;
	json_t	*exts;
	struct aim_walk *w;
};

static int
ext_ok(json_t *exts, const char *name)
{
	const char *e;
	size_t i, nl = strlen(name), el;
	json_t *x;

	if (json_array_size(exts) == 0)
		return 1;
	json_array_foreach(exts, i, x) {
		e = json_string_value(x);
		if (*e == '.')
			e++;
		el = strlen(e);
		if (nl > el + 1 && name[nl - el - 1] == '.' &&
		    strcasecmp(name + nl - el, e) == 0)
			return 1;
	}
	return 0;
}

static int
collect_visit(const struct aim_walk_entry *e, void *arg)
{
	struct collect *c = arg;
	struct file *f;

	if (c->w->tick != NULL && (c->w->nfiles & 1023) == 0)
		c->w->tick(c->w, "walking", c->w->nfiles, 0);
	if (!S_ISREG(e->st->st_mode) || e->st->st_size == 0 ||
	    e->st->st_size < c->min || !ext_ok(c->exts, e->name))
		return AIM_WALK_CONTINUE;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->v = aim_xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	f = &c->v[c->n];
	f->path = aim_xstrdup(e->path);
	f->size = e->st->st_size;
	f->dev = e->st->st_dev;
	f->ino = e->st->st_ino;
	f->order = c->n++;
	f->fd = -1;
	return AIM_WALK_CONTINUE;
}

static int
by_path(const void *a, const void *b)
{
	const struct file *x = a, *y = b;

	return strcmp(x->path, y->path);
}

static int
by_inode(const void *a, const void *b)
{
	const struct file *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int
by_size(const void *a, const void *b)
{
	const struct file *x = a, *y = b;

	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void
dwarn(struct aim_walk *w, const char *path, const char *what, int errnum)
{
	char msg[1024];

	if (errnum)
		snprintf(msg, sizeof(msg), "%s: %s", what, strerror(errnum));
	else
		snprintf(msg, sizeof(msg), "%s", what);
	pthread_mutex_lock(&warn_mu);
	w->nwarn++;
	if (w->warn != NULL)
		w->warn(path, msg, w->arg);
	pthread_mutex_unlock(&warn_mu);
}

/* Open f and check it is still the file walked; -1 (warned) if not. */
static int
open_file(struct aim_walk *w, struct file *f)
{
	struct stat st;

	f->fd = open(f->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (f->fd == -1) {
		dwarn(w, f->path, errno == ENOENT ? "vanished during the scan" :
		    "can't open", errno == ENOENT ? 0 : errno);
		return -1;
	}
	if (fstat(f->fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size != f->size || st.st_ino != f->ino) {
		dwarn(w, f->path, "changed during the scan: left out", 0);
		close(f->fd);
		f->fd = -1;
		return -1;
	}
	posix_fadvise(f->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return 0;
}

static void
close_file(struct file *f)
{
	if (f->fd != -1)
		close(f->fd);
	f->fd = -1;
}

/* pread exactly n bytes at off; -1 (warned) on error or short file. */
static int
read_at(struct aim_walk *w, struct file *f, void *buf, size_t n, int64_t off)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = pread(f->fd, (char *)buf + got, n - got, off + got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			dwarn(w, f->path, r == 0 ? "changed during the scan: "
			    "left out" : "read error", r == 0 ? 0 : errno);
			return -1;
		}
		got += r;
	}
	return 0;
}

static json_t *
group_record(struct file **m, size_t n, const unsigned char *hash)
{
	char hex[2 * AIM_HASH_BYTES + 1];
	json_t *files = json_array();
	size_t i, j;
	struct file *t;

	/* Path order, so the first path is the one a clean keeps. */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && m[j - 1]->order > m[j]->order; j--) {
			t = m[j];
			m[j] = m[j - 1];
			m[j - 1] = t;
		}
	for (i = 0; i < n; i++)
		json_array_append_new(files, json_string(m[i]->path));
	if (hash != NULL)
		aim_hex(hash, AIM_HASH_BYTES, hex);
	return json_pack("{s:s, s:s?, s:I, s:o, s:I}", "finding", "duplicate",
	    "hash", hash ? hex : NULL, "size_bytes", (json_int_t)m[0]->size, "files", files,
	    "wasted_bytes", (json_int_t)(m[0]->size * (int64_t)(n - 1)));
}

/* A group of files still equal so far, and the hash of what was read. */
struct cls {
	struct file **m;
	size_t	 n;
	crypto_generichash_state st;
};

/*
 * Read the chunk [off, off + len) of each member of c, member j's into
 * bufs + j * CHUNK_BYTES.  A member that cannot be read is closed and left
 * out.  Returns the members left, now first in c->m.
 */
static size_t
chunk_read(struct aim_walk *w, struct cls *c, unsigned char *bufs,
    size_t len, int64_t off)
{
	size_t j, nm = 0;

	for (j = 0; j < c->n; j++) {
		if (read_at(w, c->m[j], bufs + nm * CHUNK_BYTES, len,
		    off) == -1) {
			close_file(c->m[j]);
			continue;
		}
		c->m[nm++] = c->m[j];
	}
	return nm;
}

/* Singletons are unique: close and drop them from sub[0..*nsub). */
static void
drop_singletons(struct cls *sub, size_t *nsub)
{
	size_t k;

	for (k = 0; k < *nsub; ) {
		if (sub[k].n >= 2) {
			k++;
			continue;
		}
		if (sub[k].n == 1)
			close_file(sub[k].m[0]);
		free(sub[k].m);
		sub[k] = sub[--*nsub];
	}
}

/*
 * The split-by-chunk step of lockstep: read the chunk [off, off + len) of
 * every member of c and part c by its content into subgroups appended at
 * next[*nnext], each starting from c's hash state and hashing the chunk
 * once.  Subgroups left with one file are dropped, so what is appended
 * keeps lockstep's invariant at off + len.  Frees c->m.
 */
static void
split_by_chunk(struct aim_walk *w, struct cls *c, unsigned char *bufs,
    size_t len, int64_t off, struct cls *next, size_t *nnext, int hash)
{
	struct cls *sub = next + *nnext;
	size_t nm, nsub = 0, j, k, *first;

	/* first[k]: the buffer of subgroup k's first member, which rules. */
	first = aim_xmalloc(c->n * sizeof(*first));
	nm = chunk_read(w, c, bufs, len, off);
	for (j = 0; j < nm; j++) {
		for (k = 0; k < nsub; k++)
			if (memcmp(bufs + first[k] * CHUNK_BYTES,
			    bufs + j * CHUNK_BYTES, len) == 0)
				break;
		if (k == nsub) {
			sub[k].m = aim_xmalloc(nm * sizeof(*sub[k].m));
			sub[k].n = 0;
			sub[k].st = c->st;
			first[k] = j;
			nsub++;
		}
		sub[k].m[sub[k].n++] = c->m[j];
	}
	/*
	 * Hash only what is still a group: two files that part in this
	 * chunk cost no hashing of it.
	 */
	for (k = 0; k < nsub; k++)
		if (hash && sub[k].n >= 2)
			crypto_generichash_update(&sub[k].st,
			    bufs + first[k] * CHUNK_BYTES, len);
	free(first);
	free(c->m);
	drop_singletons(sub, &nsub);
	*nnext += nsub;
}

/* Record each group of cl[0..ncl), finished, and close its files. */
static void
groups_emit(struct cls *cl, size_t ncl, json_t *out, int hash)
{
	unsigned char h[AIM_HASH_BYTES];
	size_t i, j;

	for (i = 0; i < ncl; i++) {
		crypto_generichash_final(&cl[i].st, h, sizeof(h));
		json_array_append_new(out, group_record(cl[i].m, cl[i].n,
		    hash ? h : NULL));
		for (j = 0; j < cl[i].n; j++)
			close_file(cl[i].m[j]);
		free(cl[i].m);
	}
}

/*
 * Compare the n open files of m (all size bytes, equal in their first
 * `from` bytes, whose hash is in st) chunk by chunk; append records.
 */
static void
lockstep(struct aim_walk *w, struct file **m, size_t n,
    crypto_generichash_state *st, int64_t from, json_t *out,
    unsigned char *bufs, int hash)
{
	struct cls *cl, *next;
	size_t ncl, nnext, i, len;
	int64_t off, size = m[0]->size;

	cl = aim_xmalloc(n * sizeof(*cl));
	next = aim_xmalloc(n * sizeof(*next));
	cl[0].m = aim_xmalloc(n * sizeof(*m));
	memcpy(cl[0].m, m, n * sizeof(*m));
	cl[0].n = n;
	cl[0].st = *st;
	ncl = 1;
	for (off = from; off < size && ncl > 0; off += len) {
		/*
		 * The invariant: each group of cl[0..ncl) holds two files or
		 * more, open and equal in their first off bytes, and (when
		 * hashing) its st is the hash of those bytes.  A file leaves
		 * a group only closed.
		 */
		len = size - off < CHUNK_BYTES ? size - off : CHUNK_BYTES;
		nnext = 0;
		for (i = 0; i < ncl; i++)
			split_by_chunk(w, &cl[i], bufs, len, off, next, &nnext,
			    hash);
		memcpy(cl, next, nnext * sizeof(*cl));
		ncl = nnext;
	}
	/* off is size: each group left is a set of duplicates. */
	groups_emit(cl, ncl, out, hash);
	free(cl);
	free(next);
}

static int
by_hash(const void *a, const void *b)
{
	const struct file *const *x = a, *const *y = b;
	int c = memcmp((*x)->hash, (*y)->hash, AIM_HASH_BYTES);

	if (c != 0)
		return c;
	return (*x)->order < (*y)->order ? -1 : (*x)->order > (*y)->order;
}

/* Too many to keep open at once: hash each whole file, group by hash. */
static void
hash_each(struct aim_walk *w, struct file **m, size_t n, json_t *out,
    int hash)
{
	size_t i, j, nm = 0;
	int64_t len;

	for (i = 0; i < n; i++) {
		if (lseek(m[i]->fd, 0, SEEK_SET) == -1 ||
		    aim_hash_fd(m[i]->fd, m[i]->hash, &len) == -1) {
			dwarn(w, m[i]->path, "read error", errno);
			close_file(m[i]);
			continue;
		}
		close_file(m[i]);
		if (len != m[i]->size) {
			dwarn(w, m[i]->path, "changed during the scan: left out",
			    0);
			continue;
		}
		m[nm++] = m[i];
	}
	qsort(m, nm, sizeof(*m), by_hash);
	for (i = 0; i < nm; i = j) {
		for (j = i + 1; j < nm && memcmp(m[i]->hash, m[j]->hash,
		    AIM_HASH_BYTES) == 0; j++)
			;
		if (j - i >= 2)
			json_array_append_new(out, group_record(m + i, j - i,
			    hash ? m[i]->hash : NULL));
	}
}

/* One size group: split by first block, then lock step or hash. */
static void
size_group(struct aim_walk *w, struct file *g, size_t n, json_t *out,
    unsigned char *bufs, unsigned char *firsts, int hash)
{
	struct file **m = aim_xmalloc(n * sizeof(*m)), **sub;
	size_t nm = 0, i, j, nsub, blen;
	unsigned char *fb = NULL;
	int64_t size = g[0].size;
	crypto_generichash_state st;
	char *used;

	blen = size < FIRST_BYTES ? (size_t)size : FIRST_BYTES;
	if (n > LOCKSTEP_MAX)
		fb = aim_xmalloc(n * FIRST_BYTES);
	else
		fb = firsts;
	for (i = 0; i < n; i++) {
		if (open_file(w, &g[i]) == -1)
			continue;
		if (read_at(w, &g[i], fb + nm * FIRST_BYTES, blen, 0) == -1) {
			close_file(&g[i]);
			continue;
		}
		/* Keep each file's block at its slot: nm indexes both. */
		m[nm++] = &g[i];
	}
	used = calloc(nm ? nm : 1, 1);
	sub = aim_xmalloc((nm ? nm : 1) * sizeof(*sub));
	for (i = 0; i < nm; i++) {
		if (used[i])
			continue;
		nsub = 0;
		sub[nsub++] = m[i];
		for (j = i + 1; j < nm; j++)
			if (!used[j] && memcmp(fb + i * FIRST_BYTES,
			    fb + j * FIRST_BYTES, blen) == 0) {
				used[j] = 1;
				sub[nsub++] = m[j];
			}
		if (nsub < 2) {
			close_file(m[i]);
			continue;
		}
		if (nsub > LOCKSTEP_MAX) {
			hash_each(w, sub, nsub, out, hash);
			continue;
		}
		crypto_generichash_init(&st, NULL, 0, AIM_HASH_BYTES);
		crypto_generichash_update(&st, fb + i * FIRST_BYTES, blen);
		if ((int64_t)blen == size) {
			unsigned char h[AIM_HASH_BYTES];

			crypto_generichash_final(&st, h, sizeof(h));
			json_array_append_new(out, group_record(sub, nsub,
			    hash ? h : NULL));
			for (j = 0; j < nsub; j++)
				close_file(sub[j]);
			continue;
		}
		lockstep(w, sub, nsub, &st, blen, out, bufs, hash);
	}
	free(used);
	free(sub);
	free(m);
	if (fb != firsts)
		free(fb);
}

/* The size groups to compare, and what the threads found. */
struct span {
	size_t	 start, n;
};

struct pool {
	struct aim_walk *w;
	struct file *v;
	struct span *spans;
	size_t	 nspans, next, done;
	int	 hash;
	pthread_mutex_t mu;
	json_t	*out;
};

/* A comparing thread: take size groups until none is left. */
static void *
worker(void *arg)
{
	struct pool *p = arg;
	unsigned char *bufs, *firsts;
	json_t *out = json_array();
	size_t i;

	bufs = aim_xmalloc((size_t)LOCKSTEP_MAX * CHUNK_BYTES);
	firsts = aim_xmalloc((size_t)LOCKSTEP_MAX * FIRST_BYTES);
	for (;;) {
		pthread_mutex_lock(&p->mu);
		i = p->next++;
		pthread_mutex_unlock(&p->mu);
		if (i >= p->nspans)
			break;
		size_group(p->w, p->v + p->spans[i].start, p->spans[i].n, out,
		    bufs, firsts, p->hash);
		pthread_mutex_lock(&p->mu);
		p->done++;
		if (p->w->tick != NULL)
			p->w->tick(p->w, "comparing", p->done, p->nspans);
		pthread_mutex_unlock(&p->mu);
	}
	pthread_mutex_lock(&p->mu);
	json_array_extend(p->out, out);
	pthread_mutex_unlock(&p->mu);
	json_decref(out);
	free(bufs);
	free(firsts);
	return NULL;
}

static int
by_waste(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;
	json_int_t wx = json_integer_value(json_object_get(*x, "wasted_bytes"));
	json_int_t wy = json_integer_value(json_object_get(*y, "wasted_bytes"));

	if (wx != wy)
		return wx > wy ? -1 : 1;
	return strcmp(json_string_value(json_array_get(json_object_get(*x,
	    "files"), 0)), json_string_value(json_array_get(json_object_get(
	    *y, "files"), 0)));
}

json_t *
aim_dups_find(const char *const *roots, size_t nroots,
    int64_t min_size_bytes, json_t *exts, int flags, struct aim_walk *w)
{
	struct collect c;
	struct pool pool;
	pthread_t tid[MAX_THREADS];
	json_t *out, *sorted, **v;
	size_t i, j, n, groups = 0;
	long ncpu;
	int t, nthreads;

	memset(&c, 0, sizeof(c));
	c.min = min_size_bytes;
	c.exts = exts;
	c.w = w;
	w->visit = collect_visit;
	w->visit_arg = &c;
	for (i = 0; i < nroots; i++)
		aim_walk(w, roots[i]);
	/* c dies with this call: leave the caller's walk no pointer to it. */
	w->visit = NULL;
	w->visit_arg = NULL;
	if (c.n == 0)
		c.v = aim_xmalloc(sizeof(*c.v));	/* qsort wants a pointer */
	/* Path order, not readdir's: the same answer on every file system. */
	qsort(c.v, c.n, sizeof(*c.v), by_path);
	for (i = 0; i < c.n; i++)
		c.v[i].order = i;
	/* Hard links: one path per inode, the first in path order. */
	qsort(c.v, c.n, sizeof(*c.v), by_inode);
	for (i = j = 0; i < c.n; i++) {
		if (j > 0 && c.v[j - 1].dev == c.v[i].dev &&
		    c.v[j - 1].ino == c.v[i].ino) {
			free(c.v[i].path);
			continue;
		}
		c.v[j++] = c.v[i];
	}
	n = j;
	qsort(c.v, n, sizeof(*c.v), by_size);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && c.v[j].size == c.v[i].size; j++)
			;
		if (j - i >= 2)
			groups++;
	}

	/* The size groups, largest files first, shared out among threads. */
	memset(&pool, 0, sizeof(pool));
	pool.w = w;
	pool.v = c.v;
	pool.hash = !(flags & AIM_DUPS_NO_HASH);
	pool.spans = aim_xmalloc((groups ? groups : 1) * sizeof(*pool.spans));
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && c.v[j].size == c.v[i].size; j++)
			;
		if (j - i < 2)
			continue;
		pool.spans[pool.nspans].start = i;
		pool.spans[pool.nspans++].n = j - i;
	}
	pool.out = out = json_array();
	pthread_mutex_init(&pool.mu, NULL);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	nthreads = ncpu < 1 ? 1 : ncpu > MAX_THREADS ? MAX_THREADS : ncpu;
	if ((size_t)nthreads > pool.nspans)
		nthreads = pool.nspans ? pool.nspans : 1;
	for (t = 1; t < nthreads; t++)
		if (pthread_create(&tid[t], NULL, worker, &pool) != 0)
			break;
	nthreads = t;
	worker(&pool);
	for (t = 1; t < nthreads; t++)
		pthread_join(tid[t], NULL);
	pthread_mutex_destroy(&pool.mu);
	free(pool.spans);
	for (i = 0; i < n; i++)
		free(c.v[i].path);
	free(c.v);

	n = json_array_size(out);
	v = aim_xmalloc((n ? n : 1) * sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = json_array_get(out, i);
	qsort(v, n, sizeof(*v), by_waste);
	sorted = json_array();
	for (i = 0; i < n; i++)
		json_array_append(sorted, v[i]);
	free(v);
	json_decref(out);
	return sorted;
}

int
aim_hash_fd(int fd, unsigned char out[AIM_HASH_BYTES], int64_t *len_bytes)
{
	crypto_generichash_state st;
	unsigned char *buf = aim_xmalloc(CHUNK_BYTES);
	ssize_t r;
	int64_t total = 0;

	crypto_generichash_init(&st, NULL, 0, AIM_HASH_BYTES);
	for (;;) {
		r = read(fd, buf, CHUNK_BYTES);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		crypto_generichash_update(&st, buf, r);
		total += r;
	}
	crypto_generichash_final(&st, out, AIM_HASH_BYTES);
	free(buf);
	*len_bytes = total;
	return 0;
}
