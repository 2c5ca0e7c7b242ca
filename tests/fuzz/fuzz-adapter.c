/*
 * fuzz-adapter: judging a finished adapter run.  The first byte picks how
 * it ended (exit code or signal, timed out, stdout overflow, spawn error);
 * the rest is stdout, stderr and the capability split at FUZZ_SEP.  The
 * attempt goes through aim_adapter_attempt, aim_attempt_classify, and
 * with a skipped candidate (and with none) through aim_all_failed.
 */
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>

#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_tmpdir();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int sigs[] = { SIGSEGV, SIGKILL, SIGTERM, 0 };
	struct aim_proc p;
	const uint8_t *parts[3];
	size_t lens[3], n;
	json_t *a, *out = NULL, *cand, *attempts, *r;
	char *cap;
	uint8_t how;

	if (size == 0)
		return 0;
	how = data[0];
	n = fuzz_split(data + 1, size - 1, parts, lens, 3);
	memset(&p, 0, sizeof(p));
	p.state = AIM_PROC_DONE;
	p.pid = -1;
	p.in_fd = p.out_fd = p.err_fd = -1;
	p.lim.max_stdout_bytes = 1048576;
	p.lim.stderr_tail_bytes = 4096;
	p.out = fuzz_str(parts[0], lens[0]);
	p.out_len = lens[0];
	p.err = n > 1 ? fuzz_str(parts[1], lens[1]) : fuzz_str(data, 0);
	p.err_len = n > 1 ? lens[1] : 0;
	p.err_total = p.err_len + (how & 0x40 ? 100000 : 0);
	if (how & 0x80)
		p.status = sigs[how >> 4 & 3] ? sigs[how >> 4 & 3] : SIGABRT;
	else
		p.status = (how & 0x0f) << 8;	/* exited with that code */
	p.timed_out = (how & 0x30) == 0x30;
	p.out_overflow = (how & 0x3f) == 0x21;
	p.spawn_errno = (how & 0x3f) == 0x22 ? ENOEXEC : 0;
	p.kill_signal = p.timed_out ? SIGKILL : 0;
	p.duration_ms = how * 97;
	a = aim_adapter_attempt(&p, "t", "/bin/t", &out);
	aim_attempt_classify(a, out);
	json_decref(out);
	cap = n > 2 ? fuzz_str(parts[2], lens[2]) : fuzz_str(data, 0);
	cand = json_pack("{s:s, s:s, s:s}", "tool_id", cap, "status",
	    "cooldown", "reason", "rate_limit");
	attempts = json_pack("[o, o]", a, aim_adapter_skipped(cand));
	r = aim_all_failed(cap, attempts);
	json_decref(r);
	json_decref(attempts);
	attempts = json_array();	/* no candidates at all */
	r = aim_all_failed(cap, attempts);
	json_decref(r);
	json_decref(attempts);
	json_decref(cand);
	free(cap);
	free(p.out);
	free(p.err);
	return 0;
}
