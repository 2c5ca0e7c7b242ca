/*
 * fuzz-request: one request line through aim-resolve's own resolve_line:
 * aim_parse_record, the field checks and aim_route (context, security
 * check on payload.files, strategies) on tests/fixtures/registries/policy.
 */
#define main aim_resolve_main
#include "../../cmd/aim-resolve.c"
#undef main

#include "fuzz.h"

static struct resolve rs;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct aim_problems probs = { NULL, 0, 0 };
	const char *dir = FUZZ_TOP "/tests/fixtures/registries/policy";

	fuzz_tmpdir();
	if (aim_config_load(&rs.cfg, &rs.opt, dir, &probs) == -1 ||
	    aim_registry_load(&rs.reg, dir, &probs) == -1) {
		aim_problems_print(&probs);
		abort();
	}
	aim_problems_free(&probs);
	rs.payload_limit = rs.cfg.max_payload_bytes;
	aim_router_init(&rs.router, &rs.reg, &rs.cfg);
	if (freopen("/dev/null", "w", stdout) == NULL)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aim_line line;

	line.text = (const char *)data;
	line.len = size;
	line.lineno = 1;
	line.too_long = 0;
	resolve_line(&rs, &line, "<fuzz>");
	rs.status = 0;
	return 0;
}
