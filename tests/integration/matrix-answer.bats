#!/usr/bin/env bats
# Success: a plain answer without edits, one run a CLI.
# Part of `make check-clis` (not of `make check`): the cells of the CLI x
# scenario matrix no other suite asserts, each as
# tests/fixtures/matrix/expected.tsv says (matrix.bash).  The files are
# groups of about 4-5 minutes each, run at once (check-clis).

load matrix

@test "matrix: codex: a plain answer" {
	matrix_success codex answer
}

@test "matrix: gemini: a plain answer" {
	matrix_success gemini answer
}

@test "matrix: opencode: a plain answer" {
	matrix_success opencode answer
}

@test "matrix: qwen: a plain answer" {
	matrix_success qwen answer
}

@test "matrix: continue: a plain answer" {
	matrix_success continue answer
}

@test "matrix: pi: a plain answer" {
	matrix_success pi answer
}

@test "matrix: droid: a plain answer" {
	matrix_success droid answer
}

@test "matrix: kilo: a plain answer" {
	matrix_success kilo answer
}
