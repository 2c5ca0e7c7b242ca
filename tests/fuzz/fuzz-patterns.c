/*
 * fuzz-patterns: error patterns (aim-adapter(7) ERROR PATTERNS) through
 * aim_patterns_parse, then a text through aim_patterns_classify; the two
 * parts are split at FUZZ_SEP.  Inputs past 4096 bytes are skipped:
 * regcomp(3) of a long counted repeat is slow by design, not a bug here.
 */
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aim_patterns *p;
	const uint8_t *parts[2];
	size_t lens[2], n;
	char *rules, *text, *why = NULL;
	FILE *fp;

	if (size > 4096)
		return 0;
	n = fuzz_split(data, size, parts, lens, 2);
	/* An exact-size copy: a read past it is a heap overflow. */
	rules = malloc(lens[0] > 0 ? lens[0] : 1);
	if (rules == NULL)
		abort();
	memcpy(rules, parts[0], lens[0]);
	p = NULL;
	if (lens[0] > 0) {
		if ((fp = fmemopen(rules, lens[0], "r")) == NULL)
			abort();
		p = aim_patterns_parse(fp, "fuzz", &why);
		fclose(fp);
		/* An error always names its place. */
		if (p == NULL && (why == NULL || strncmp(why, "fuzz:", 5) != 0))
			abort();
		free(why);
	}
	text = n > 1 ? fuzz_str(parts[1], lens[1]) : fuzz_str(data, 0);
	aim_patterns_classify(p, text);
	aim_patterns_free(p);
	free(text);
	free(rules);
	return 0;
}
