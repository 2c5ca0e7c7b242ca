/*
 * fuzz-checkpoint: a checkpoint's text through aim_checkpoint_parse, as an
 * exact-size buffer, against the fixture's public key.
 */
#include "fuzz.h"

static unsigned char pk[AIM_PUBKEY_BYTES];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *why = NULL;

	if (aim_vault_setup() == -1 || aim_audit_pubkey_read(FUZZ_TOP
	    "/tests/fixtures/audit-chain/fixture.key.pub", pk, &why) == -1)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aim_checkpoint cp;
	char *text, *why = NULL;

	text = malloc(size > 0 ? size : 1);
	if (text == NULL)
		abort();
	memcpy(text, data, size);
	aim_checkpoint_parse(text, size, pk, &cp, &why);
	free(why);
	free(text);
	return 0;
}
