#!/usr/bin/env bats
# A run whose every edit call fails.
# Part of `make check-clis` (not of `make check`): the cells of the CLI x
# scenario matrix no other suite asserts, each as
# tests/fixtures/matrix/expected.tsv says (matrix.bash).  The files are
# groups of about 4-5 minutes each, run at once (check-clis).

load matrix

@test "matrix: every edit call failing" {
	matrix_chain '{"scenario":"edit_fails"}' edit_fails
}
