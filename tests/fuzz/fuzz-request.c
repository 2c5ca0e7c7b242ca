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
	struct aim_options opt = { FUZZ_TOP "/tests/fixtures/registries/policy",
	    NULL };

	fuzz_tmpdir();
	/* The registry and config as aim-resolve loads them to route. */
	aim_setup_load(&rs.set, &opt, NULL, AIM_SETUP_REGISTRY |
	    AIM_SETUP_NEED_CONFIG);
	if (!rs.set.registry_ok || !rs.set.config_ok) {
		aim_problems_print(&rs.set.probs);
		abort();
	}
	rs.payload_limit = rs.set.cfg.max_payload_bytes;
	aim_router_init(&rs.router, &rs.set.reg, &rs.set.cfg);
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
