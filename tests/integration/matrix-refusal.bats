#!/usr/bin/env bats
# A content-policy refusal.
# Part of `make check-clis` (not of `make check`): the cells of the CLI x
# scenario matrix no other suite asserts, each as
# tests/fixtures/matrix/expected.tsv says (matrix.bash).  The files are
# groups of about 4-5 minutes each, run at once (check-clis).

load matrix

@test "matrix: a content-policy refusal" {
	matrix_chain '{"scenario":"refusal","text":"I cannot help with that."}' refusal
}
