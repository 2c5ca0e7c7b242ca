#!/usr/bin/env bats
# The stream: cut in the middle (opencode waits on a cut stream until
# killed: 30 s), and slower than the time budget (15 s: the tool gets 12,
# each event a minute late).
# Part of `make check-clis` (not of `make check`): the cells of the CLI x
# scenario matrix no other suite asserts, each as
# tests/fixtures/matrix/expected.tsv says (matrix.bash).  The files are
# groups of about 4-5 minutes each, run at once (check-clis).

load matrix

@test "matrix: a stream cut in the middle" {
	matrix_chain '{"scenario":"cut"}' cut
}

@test "matrix: a stream cut in the middle, a 30 s budget" {
	matrix_chain '{"scenario":"cut"}' cut/30s 30000
}

@test "matrix: a stream slower than the budget" {
	matrix_chain '{"scenario":"slow","delay_ms":60000}' slow 15000
}
