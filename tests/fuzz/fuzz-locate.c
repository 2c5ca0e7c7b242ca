/*
 * fuzz-locate: aim_json_locate, which names file:line:column in config,
 * registry and rules messages, over any text (not only what jansson
 * accepted) and a path of up to 8 keys or indexes: text, then the path's
 * parts, split at FUZZ_SEP.  The text is an exact-size copy.
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
	const uint8_t *parts[9];
	size_t lens[9], n, i;
	char *text, *path[9];
	int line, col;

	n = fuzz_split(data, size, parts, lens, 9);
	text = malloc(lens[0] > 0 ? lens[0] : 1);
	if (text == NULL)
		abort();
	memcpy(text, parts[0], lens[0]);
	for (i = 1; i < n; i++)
		path[i - 1] = fuzz_str(parts[i], lens[i]);
	path[n - 1] = NULL;
	aim_json_locate(text, lens[0], (const char *const *)path, 0, &line,
	    &col);
	aim_json_locate(text, lens[0], (const char *const *)path, 1, &line,
	    &col);
	for (i = 0; i + 1 < n; i++)
		free(path[i]);
	free(text);
	return 0;
}
