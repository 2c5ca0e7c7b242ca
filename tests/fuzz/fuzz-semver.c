/*
 * fuzz-semver: a --version line through aim_semver_find (with its exact
 * length, no NUL after it) and a pin through aim_semver_satisfies; the
 * two parts are split at FUZZ_SEP.
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
	struct aim_semver v, w;
	const uint8_t *parts[2];
	size_t lens[2], n;
	char out[32], *text, *pin, *why = NULL;

	n = fuzz_split(data, size, parts, lens, 2);
	/* An exact-size copy: a read past len is a heap overflow. */
	text = malloc(lens[0] > 0 ? lens[0] : 1);
	if (text == NULL)
		abort();
	memcpy(text, parts[0], lens[0]);
	if (aim_semver_find(text, lens[0], &v, out, sizeof(out)) == -1)
		memset(&v, 0, sizeof(v));
	pin = n > 1 ? fuzz_str(parts[1], lens[1]) : fuzz_str(data, 0);
	if (aim_semver_satisfies(&v, pin, &why) == -1)
		free(why);
	if (aim_semver_find(pin, strlen(pin), &w, NULL, 0) == 0)
		aim_semver_cmp(&v, &w);
	free(pin);
	free(text);
	return 0;
}
