/*
 * fuzz-chain: aim-audit verify over an audit directory made of the input:
 * the head file, then up to six entries of one day, split at FUZZ_SEP;
 * when a part is left over, its bytes are a checkpoint (seq, hash) held
 * against the verified chain with aim_verify_checkpoint.
 */
#include "fuzz.h"

static char dir[256], day[300];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(dir, sizeof(dir), "%s/audit", fuzz_tmpdir());
	snprintf(day, sizeof(day), "%s/2026-11-18", dir);
	if (aim_mkdirs(day) == -1)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *parts[8];
	size_t lens[8], n, i;
	struct aim_verify vr;
	struct aim_checkpoint cp;
	char path[400], *why = NULL;

	n = fuzz_split(data, size, parts, lens, 8);
	snprintf(path, sizeof(path), "%s/%s", dir, AIM_CHAIN_HEAD);
	fuzz_write(path, parts[0], lens[0], 0600);
	for (i = 1; i < 7; i++) {
		if (i == 1)
			snprintf(path, sizeof(path), "%s/2026-11-18T11-06-40-"
			    "123456_t_c.json", day);
		else
			snprintf(path, sizeof(path), "%s/2026-11-18T11-06-40-"
			    "123456_t_c-%zu.json", day, i);
		if (i < n && i < 7)
			fuzz_write(path, parts[i], lens[i], 0600);
		else
			unlink(path);
	}
	memset(&vr, 0, sizeof(vr));
	if (aim_chain_verify(dir, &vr, &why) == 0 && n == 8 &&
	    lens[7] >= 8 + AIM_HASH_BYTES) {
		memset(&cp, 0, sizeof(cp));
		memcpy(&cp.seq, parts[7], 8);
		memcpy(cp.hash, parts[7] + 8, AIM_HASH_BYTES);
		aim_verify_checkpoint(&vr, "checkpoint", &cp);
	}
	aim_verify_free(&vr);
	free(why);
	return 0;
}
