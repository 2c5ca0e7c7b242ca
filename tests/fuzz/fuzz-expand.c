/*
 * fuzz-expand: path expansion and the security check on payload.files:
 * aim_expand, aim_abspath and aim_security_check (resolve, glob_match)
 * with one file name from the input and patterns of every kind.
 */
#include "fuzz.h"

static json_t *security;
static char cwd[256];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(cwd, sizeof(cwd), "%s/work", fuzz_tmpdir());
	aim_mkdirs(cwd);
	setenv("AIM_FUZZ_VAR", "val/ue", 1);
	security = json_pack("{s:[s, s, s, s], s:[s, s, s, s, s]}",
	    "allowed_file_patterns", "*.c", "src/**", "~/proj/*.h",
	    "${AIM_FUZZ_VAR}/x",
	    "forbidden_paths", "/etc", "secret", "~/.ssh", "$HOME/private",
	    "%AIM_REGISTRY_PATH%/keys");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *x, *msg = NULL;
	const char *code;
	json_t *payload;

	s = fuzz_str(data, size);
	x = aim_expand(s, "/reg");
	free(x);
	x = aim_abspath(s, cwd);
	free(x);
	payload = json_pack("{s:[s]}", "files", s);
	if (payload != NULL) {	/* NULL: not UTF-8 */
		aim_security_check(payload, security, cwd, "/reg", &code,
		    &msg);
		free(msg);
		json_decref(payload);
	}
	free(s);
	return 0;
}
