#!/usr/bin/env bats
# 503 overloaded: qwen and continue retry it with their own back-off
# before they give up; droid does not give up within 4 minutes, so it gets
# 30 s and is asserted to time out.
# Part of `make check-clis` (not of `make check`): the cells of the CLI x
# scenario matrix no other suite asserts, each as
# tests/fixtures/matrix/expected.tsv says (matrix.bash).  The files are
# groups of about 4-5 minutes each, run at once (check-clis).

load matrix

@test "matrix: 503 overloaded: qwen, continue" {
	matrix_chain '{"scenario":"http","status":503}' 503 240000 'qwen|continue'
}

@test "matrix: 503 overloaded, a 30 s budget: droid" {
	matrix_chain '{"scenario":"http","status":503}' 503/30s 30000
}
