#!/usr/bin/env bats
# Quota exhausted (Anthropic 400 credit balance, OpenAI 429
# insufficient_quota): claude, copilot and opencode (copilot and opencode
# wait out their own retries of the 429).
# Part of `make check-clis` (not of `make check`): the cells of the CLI x
# scenario matrix no other suite asserts, each as
# tests/fixtures/matrix/expected.tsv says (matrix.bash).  The files are
# groups of about 4-5 minutes each, run at once (check-clis).

load matrix

@test "matrix: quota exhausted: claude, copilot, opencode" {
	matrix_chain '{"scenario":"quota"}' quota 240000 'claude|copilot|opencode'
}
