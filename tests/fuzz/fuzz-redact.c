/*
 * fuzz-redact: the audit redaction.  The input as JSON (when it parses)
 * and as one JSON string through aim_redact and aim_redact_secrets, with
 * two vault secrets registered.
 */
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char s1[] = "fuzz-canary-secret", s2[] = "q\"\\/\x01z";

	fuzz_tmpdir();
	if (aim_vault_setup() == -1 ||
	    aim_redact_register((const unsigned char *)s1, sizeof(s1) - 1) ||
	    aim_redact_register((const unsigned char *)s2, sizeof(s2) - 1))
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t e;
	json_t *j, *s;

	j = json_loadb((const char *)data, size, JSON_DECODE_ANY |
	    JSON_ALLOW_NUL, &e);
	if (j != NULL) {
		aim_redact(j);
		aim_redact_secrets(j);
		json_decref(j);
	}
	s = json_pack("{s:o}", "message", aim_json_text((const char *)data,
	    size, size, 0));
	aim_redact(s);
	aim_redact_secrets(s);
	json_decref(s);
	return 0;
}
