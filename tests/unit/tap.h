/* tap.h: the TAP output the unit tests of lib/ share (one per program). */
#ifndef AIM_TAP_H
#define AIM_TAP_H

#include <stdio.h>
#include <string.h>

static int ntests, nfailed;

/* One test: "ok N - name" or "not ok N - name". */
static inline void
ok(int cond, const char *name)
{
	ntests++;
	if (!cond)
		nfailed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", ntests, name);
}

/* A string test that shows both sides when they differ. */
static inline void
is_str(const char *got, const char *want, const char *name)
{
	int same = got != NULL && strcmp(got, want) == 0;

	ok(same, name);
	if (!same)
		printf("#   got  '%s'\n#   want '%s'\n", got ? got : "(null)",
		    want);
}

#endif /* AIM_TAP_H */
