#!/usr/bin/env bats
# Quota exhausted: qwen and continue, each retrying the 429 for about a
# minute and a half.
# Part of `make check-clis` (not of `make check`): the cells of the CLI x
# scenario matrix no other suite asserts, each as
# tests/fixtures/matrix/expected.tsv says (matrix.bash).  The files are
# groups of about 4-5 minutes each, run at once (check-clis).

load matrix

@test "matrix: quota exhausted: qwen, continue" {
	matrix_chain '{"scenario":"quota"}' quota 240000 'qwen|continue'
}
