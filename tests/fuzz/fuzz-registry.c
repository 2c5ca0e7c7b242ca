/*
 * fuzz-registry: AIM_registry.json, the coordination rules and
 * aim_config.json (three parts split at FUZZ_SEP) loaded as aim-resolve
 * --check loads them, the --check checks, and a request routed for each
 * of the first capabilities when the registry loads.
 */
#include "fuzz.h"

static char dir[256], reg_file[300], rules_file[300], cfg_file[300];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[300];

	snprintf(dir, sizeof(dir), "%s/reg", fuzz_tmpdir());
	snprintf(path, sizeof(path), "%s/AIM_cross-tool", dir);
	if (aim_mkdirs(path) == -1)
		abort();
	snprintf(reg_file, sizeof(reg_file), "%s/AIM_registry.json", dir);
	snprintf(rules_file, sizeof(rules_file),
	    "%s/AIM_cross-tool/AIM_coordination-rules.json", dir);
	snprintf(cfg_file, sizeof(cfg_file), "%s/aim_config.json", dir);
	snprintf(path, sizeof(path), "%s/ok.sh", dir);
	fuzz_write(path, "#!/bin/sh\nexit 0\n", 17, 0755);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aim_problems probs = { NULL, 0, 0 };
	struct aim_options opt = { NULL, NULL };
	struct aim_config cfg;
	struct aim_registry reg;
	struct aim_router rt;
	const uint8_t *parts[3];
	size_t lens[3], n, i;
	const char *key, *code;
	json_t *v, *req, *details;
	char *msg;

	n = fuzz_split(data, size, parts, lens, 3);
	fuzz_write(reg_file, parts[0], lens[0], 0644);
	if (n > 1)
		fuzz_write(rules_file, parts[1], lens[1], 0644);
	else
		unlink(rules_file);
	if (n > 2)
		fuzz_write(cfg_file, parts[2], lens[2], 0644);
	else
		unlink(cfg_file);
	memset(&cfg, 0, sizeof(cfg));
	memset(&reg, 0, sizeof(reg));
	aim_config_load(&cfg, &opt, dir, &probs);
	if (aim_registry_load(&reg, dir, &probs) == 0) {
		aim_registry_check(&reg, &probs);
		aim_router_init(&rt, &reg, &cfg);
		i = 0;
		json_object_foreach(reg.rules, key, v) {
			if (i++ == 3)
				break;
			req = json_pack("{s:s, s:s, s:{s:s, s:[s]}}", "id", "f",
			    "capability", key, "payload", "prompt", "p",
			    "files", "a.c");
			msg = NULL;
			details = NULL;
			aim_route(&rt, req, &code, &msg, &details);
			free(msg);
			json_decref(details);
			json_decref(req);
		}
		aim_router_free(&rt);
	}
	aim_problems_print(&probs);
	aim_problems_free(&probs);
	aim_registry_free(&reg);
	aim_config_free(&cfg);
	return 0;
}
