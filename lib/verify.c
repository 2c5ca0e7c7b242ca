/*
 * verify.c: checking an audit directory's chain (aim-audit(1) "Verify",
 * "Checkpoints"): every entry a link, no seq missing or doubled,
 * each prev the hash of the entry before, the head at the chain's end,
 * and a signed checkpoint still in the log.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <err.h>

#include <sodium.h>

#include "chain-int.h"

/* ---- verify ---- */

static void
problem(struct aim_verify *vr, const char *path, int64_t seq,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Say one problem on stderr: "<file>: seq N: message", the file of an
 * entry (path relative to the audit directory, not starting with '/' and
 * found in the scan) given in full.
 */
static void
problem(struct aim_verify *vr, const char *path, int64_t seq,
    const char *fmt, ...)
{
	va_list ap;
	char *msg, full[PATH_MAX * 2];

	if (path[0] != '/' && vr->dir != NULL && aim_chain_is_day_path(path)) {
		snprintf(full, sizeof(full), "%s/%s", vr->dir, path);
		path = full;
	}

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	if (seq > 0)
		warnx("%s: seq %lld: %s", path, (long long)seq, msg ? msg : "?");
	else
		warnx("%s: %s", path, msg ? msg : "?");
	free(msg);
	vr->problems++;
}

/* "seq 3" or "seq 3..5". */
static const char *
seqs(char buf[64], int64_t a, int64_t b)
{
	if (a == b)
		snprintf(buf, 64, "seq %lld", (long long)a);
	else
		snprintf(buf, 64, "seq %lld..%lld", (long long)a, (long long)b);
	return buf;
}

/* Index of the entry of seq in s (sorted; the first of duplicates), or -1. */
static ssize_t
find_seq(const struct aim_scan *s, int64_t seq)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && s->v[lo].seq == seq ? (ssize_t)lo : -1;
}

/*
 * Entries that are not links of the chain at all: said.  Returns the
 * newest prune entry (it says where the chain starts), or NULL.
 */
static struct aim_scan_entry *
verify_strays(struct aim_verify *vr)
{
	struct aim_scan *s = &vr->scan;
	struct aim_scan_entry *e, *pr = NULL;
	size_t i;

	for (i = 0; i < s->n; i++) {
		e = &s->v[i];
		if (e->bad != NULL)
			problem(vr, e->path, 0, "%s", e->bad);
		else if (e->misnamed)
			problem(vr, e->path, e->seq, "file name does not match "
			    "the entry's timestamp, tool and capability: "
			    "moved, renamed or swapped");
		if (e->is_prune && (pr == NULL || e->prune_seq > pr->prune_seq))
			pr = e;
	}
	return pr;
}

/*
 * The first link: seq 1 with a zero prev, or right after the prune entry
 * pr's through_seq with its through_hash as prev; entries the prune
 * removed but still here are said.  Returns its index in the scan (s->n:
 * none).
 */
static size_t
verify_first(struct aim_verify *vr, const struct aim_scan_entry *pr)
{
	struct aim_scan *s = &vr->scan;
	struct aim_scan_entry *e;
	size_t i, first = 0;
	int64_t start = 1;
	char rb[64];

	while (first < s->n && s->v[first].seq == 0)
		first++;
	vr->entries = s->n - first;
	if (pr != NULL) {
		start = pr->prune_seq + 1;
		for (i = first; i < s->n && s->v[i].seq < start; i++) {
			problem(vr, s->v[i].path, s->v[i].seq, "still here "
			    "although the prune entry %s removed seq 1..%lld",
			    pr->path, (long long)pr->prune_seq);
			first = i + 1;
		}
	}
	if (first >= s->n)
		return first;
	e = &s->v[first];
	vr->first_seq = e->seq;
	if (e->seq > start)
		problem(vr, e->path, e->seq, "%s missing before it: "
		    "deleted", seqs(rb, start, e->seq - 1));
	else if (pr != NULL && sodium_memcmp(e->prev, pr->prune_hash,
	    AIM_HASH_BYTES) != 0)
		problem(vr, e->path, e->seq, "prev does not match the "
		    "hash of seq %lld committed by the prune entry %s",
		    (long long)pr->prune_seq, pr->path);
	else if (pr == NULL && !sodium_is_zero(e->prev, AIM_HASH_BYTES))
		problem(vr, e->path, e->seq, "prev of the first entry "
		    "is not zero");
	return first;
}

/*
 * Each link after the first: no duplicate, no seq missing, prev the hash
 * of the one before.  Returns the last link.
 */
static struct aim_scan_entry *
verify_links(struct aim_verify *vr, size_t first)
{
	struct aim_scan *s = &vr->scan;
	struct aim_scan_entry *e, *last = &s->v[first];
	size_t i;
	char rb[64];

	for (i = first + 1; i < s->n; i++) {
		e = &s->v[i];
		if (e->seq == last->seq) {
			problem(vr, e->path, e->seq, "duplicate of %s: "
			    "inserted or copied", last->path);
			continue;
		}
		if (e->seq > last->seq + 1)
			problem(vr, e->path, e->seq, "%s missing before it: "
			    "deleted", seqs(rb, last->seq + 1, e->seq - 1));
		else if (sodium_memcmp(e->prev, last->hash,
		    AIM_HASH_BYTES) != 0)
			problem(vr, last->path, last->seq, "hash does not match "
			    "prev of seq %lld: entry edited or replaced",
			    (long long)e->seq);
		last = e;
	}
	return last;
}

/* The head c (read under the lock) against the chain's last link. */
static void
verify_head(struct aim_verify *vr, const struct aim_chain *c,
    const char *headname, const struct aim_scan_entry *last)
{
	struct aim_scan *s = &vr->scan;
	ssize_t next;
	char rb[64];

	if (vr->head_state == 0) {
		if (last != NULL)
			problem(vr, headname, 0, "missing, but the directory "
			    "holds entries up to seq %lld", (long long)last->seq);
	} else if (vr->head_state == -1) {
		problem(vr, headname, 0, "damaged: check does not match");
	} else if (last == NULL) {
		if (c->seq > 0)
			problem(vr, headname, 0, "says seq %lld, but the "
			    "directory holds no entry: deleted",
			    (long long)c->seq);
	} else if (c->pending_seq > 0 && last->seq == c->pending_seq &&
	    sodium_memcmp(last->hash, c->pending_hash,
	    AIM_HASH_BYTES) == 0) {
		/* An interrupted write that got its name: fine. */
	} else if (c->pending_seq > 0 && last->seq >= c->pending_first &&
	    last->seq < c->pending_seq) {
		/*
		 * Part of an interrupted group commit: its entries chain from
		 * the head (checked link by link above), and the next writer
		 * adopts them.
		 */
	} else if (last->seq > c->seq) {
		next = find_seq(s, c->seq + 1);
		problem(vr, s->v[next < 0 ? s->n - 1 : (size_t)next].path,
		    c->seq + 1, "%s beyond the head (seq %lld): inserted, or "
		    "left by an interrupted write", seqs(rb, c->seq + 1,
		    last->seq), (long long)c->seq);
	} else if (last->seq < c->seq) {
		problem(vr, headname, 0, "says seq %lld, but the chain ends "
		    "at seq %lld (%s): the newest entries were deleted",
		    (long long)c->seq, (long long)last->seq, last->path);
	} else if (sodium_memcmp(last->hash, c->hash,
	    AIM_HASH_BYTES) != 0) {
		problem(vr, last->path, last->seq, "hash does not match the "
		    "head: entry edited or replaced");
	}
}

int
aim_chain_verify(const char *dir, struct aim_verify *vr, char **why)
{
	struct aim_chain c;
	struct aim_scan_entry *pr, *last = NULL;
	char headname[PATH_MAX];
	size_t first;

	snprintf(headname, sizeof(headname), "%s/%s", dir, AIM_CHAIN_HEAD);
	vr->dir = dir;
	memset(&c, 0, sizeof(c));
	c.fd = open(headname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (c.fd == -1 && errno != ENOENT)
		return aim_chain_why(why, "can't open %s: %s", headname,
		    strerror(errno));
	c.dir = aim_xstrdup(dir);
	if (c.fd != -1 && aim_chain_lock(&c, 0, why) == -1) {
		aim_chain_close(&c);
		return -1;
	}
	vr->head_state = c.fd == -1 ? 0 : c.head_state;
	vr->head_seq = c.seq;
	memcpy(vr->head_hash, c.hash, AIM_HASH_BYTES);
	if (aim_chain_scan(dir, &vr->scan, NULL, NULL, 0, why) == -1) {
		aim_chain_close(&c);
		return -1;
	}
	pr = verify_strays(vr);
	if ((first = verify_first(vr, pr)) < vr->scan.n) {
		last = verify_links(vr, first);
		vr->last_seq = last->seq;
		memcpy(vr->last_hash, last->hash, AIM_HASH_BYTES);
	}
	verify_head(vr, &c, headname, last);
	aim_chain_close(&c);
	return 0;
}

void
aim_verify_free(struct aim_verify *vr)
{
	aim_chain_scan_free(&vr->scan);
	memset(vr, 0, sizeof(*vr));
}

int
aim_verify_checkpoint(struct aim_verify *vr, const char *name,
    const struct aim_checkpoint *cp)
{
	const struct aim_scan *s = &vr->scan;
	ssize_t i;
	size_t j;
	int64_t pruned = 0;

	for (j = 0; j < s->n; j++)
		if (s->v[j].is_prune && s->v[j].prune_seq > pruned)
			pruned = s->v[j].prune_seq;
	if (cp->seq == 0)
		return 0;
	if (cp->seq > vr->last_seq) {
		problem(vr, name, cp->seq, "the log ends at seq %lld: "
		    "truncated or rolled back", (long long)vr->last_seq);
		return -1;
	}
	if (cp->seq < pruned)
		return 1;	/* pruned away: nothing left to compare */
	if (cp->seq == pruned && (i = find_seq(s, cp->seq)) < 0) {
		for (j = 0; j < s->n; j++)
			if (s->v[j].is_prune && s->v[j].prune_seq == pruned)
				break;
		if (sodium_memcmp(s->v[j].prune_hash, cp->hash,
		    AIM_HASH_BYTES) != 0) {
			problem(vr, name, cp->seq, "hash does not match the "
			    "one the prune entry %s committed to",
			    s->v[j].path);
			return -1;
		}
		return 0;
	}
	if ((i = find_seq(s, cp->seq)) < 0) {
		problem(vr, name, cp->seq, "not in the log: deleted");
		return -1;
	}
	if (sodium_memcmp(s->v[i].hash, cp->hash, AIM_HASH_BYTES) != 0) {
		problem(vr, name, cp->seq, "hash does not match %s/%s: the log "
		    "was rewritten", vr->dir, s->v[i].path);
		return -1;
	}
	return 0;
}
