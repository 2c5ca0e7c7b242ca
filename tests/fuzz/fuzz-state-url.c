/*
 * fuzz-state-url: aim_state_url_parse, the reader of aim_config.json's
 * state_backend (aim-registry(5) "State backend"), on any string: it
 * accepts, or says why not, and an accepted URL has a host, a port and
 * a database in range.
 */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aim_state_url u;
	char *s, *why;
	int rc;

	s = fuzz_str(data, size);
	rc = aim_state_url_parse(s, &u, &why);
	if (rc == -1 && why == NULL)
		abort();
	if (rc == 1 && (u.host[0] == '\0' || u.port < 1 || u.port > 65535 ||
	    u.db < 0 || u.db > 65535 || strchr(s, '@') != NULL))
		abort();
	free(why);
	free(s);
	return 0;
}
