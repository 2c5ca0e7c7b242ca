/*
 * fuzz-findings: a linter's report through aim_findings_parse
 * (aim-registry(5) "The adapter object"): the findings spec (JSON) and
 * the report text, split at FUZZ_SEP.  A spec that is not JSON reads the
 * text as each of the four formats in turn.
 */
#include "fuzz.h"

static const char *const formats[] = { "gcc", "json", "sarif",
    "checkstyle", NULL };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

/* Every finding is an object; NULL comes with a why, and only then. */
static void
check(const char *text, size_t len, json_t *spec)
{
	char *why = NULL;
	json_t *f = aim_findings_parse(text, len, spec, &why), *x;
	size_t i;

	if ((f == NULL) != (why != NULL))
		abort();
	json_array_foreach(f, i, x)
		if (!json_is_object(x))
			abort();
	json_decref(f);
	free(why);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *parts[2];
	size_t lens[2], n;
	const char *const *fmt;
	json_t *spec;
	char *text;

	n = fuzz_split(data, size, parts, lens, 2);
	if (n < 2)
		return 0;
	/* An exact-size copy: a read past it is a heap overflow. */
	text = malloc(lens[1] > 0 ? lens[1] : 1);
	if (text == NULL)
		abort();
	memcpy(text, parts[1], lens[1]);
	spec = json_loadb((const char *)parts[0], lens[0], 0, NULL);
	if (spec != NULL) {
		check(text, lens[1], spec);
		json_decref(spec);
	} else
		for (fmt = formats; *fmt != NULL; fmt++) {
			spec = json_pack("{s:s}", "format", *fmt);
			check(text, lens[1], spec);
			json_decref(spec);
		}
	free(text);
	return 0;
}
