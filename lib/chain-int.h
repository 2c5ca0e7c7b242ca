/*
 * chain-int.h: what the three modules of the audit chain share and
 * nothing else sees: chain.c (the writer, the head, recovery, scanning),
 * verify.c (verify, checkpoints checked) and keys.c (signing keys,
 * checkpoints, prune).  Layer 4 with aim-flow.h (lib/LAYERS); cmd/ and
 * the other modules use aim-flow.h only.
 */
#ifndef AIM_CHAIN_INT_H
#define AIM_CHAIN_INT_H

#include "aim-flow.h"

/* An entry or key file is read whole (aim_read_file) up to this size. */
#define AIM_CHAIN_ENTRY_MAX_BYTES	(256 * 1024 * 1024)

/*
 * Set *why (when why is not NULL; an earlier one is freed) to the
 * formatted message, keeping errno.  Returns -1, for "return
 * aim_chain_why(why, ...)".
 */
int	 aim_chain_why(char **why, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Take the head file's flock(2), exclusive (a writer, which also repairs
 * the head and finishes an interrupted write: aim-audit(1) "The chain")
 * or shared (a reader), and read the head into c.  0, or -1 with *why.
 */
int	 aim_chain_lock(struct aim_chain *c, int exclusive, char **why);
void	 aim_chain_unlock(struct aim_chain *c);

/* aim_chain_append (aim-flow.h) with the exclusive lock already held. */
char	*aim_chain_append_locked(struct aim_chain *c, json_t *entry,
	    char **why);

/*
 * The day directories ("YYYY-MM-DD", aim-audit(1) "Audit directory") of
 * dir, sorted, NULL-terminated, malloc'd (aim_strv_free); NULL with
 * *err an errno when dir can't be read.
 */
char	**aim_chain_days(const char *dir, int *err);

/* Does path start with "YYYY-MM-DD/", as a scanned entry's does?  1 or 0. */
int	 aim_chain_is_day_path(const char *path);

/*
 * Who is acting, for an entry's "actor" (aim-audit(1) "Entries"): the
 * login name of the effective user, else "uid N".  New reference.
 */
json_t	*aim_chain_actor(void);

#endif /* AIM_CHAIN_INT_H */
