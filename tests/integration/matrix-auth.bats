#!/usr/bin/env bats
# 401 and 403: one request a scenario down every CLI whose cell it is.
# Part of `make check-clis` (not of `make check`): the cells of the CLI x
# scenario matrix no other suite asserts, each as
# tests/fixtures/matrix/expected.tsv says (matrix.bash).  The files are
# groups of about 4-5 minutes each, run at once (check-clis).

load matrix

@test "matrix: 401" {
	matrix_chain '{"scenario":"http","status":401}' 401
}

@test "matrix: 403" {
	matrix_chain '{"scenario":"http","status":403}' 403
}
