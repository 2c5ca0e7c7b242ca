#!/usr/bin/env bats
# Success: the changes each CLI's own suite does not make (edit, create,
# delete, edit through the shell tool), one run a CLI.
# Part of `make check-clis` (not of `make check`): the cells of the CLI x
# scenario matrix no other suite asserts, each as
# tests/fixtures/matrix/expected.tsv says (matrix.bash).  The files are
# groups of about 4-5 minutes each, run at once (check-clis).

load matrix

@test "matrix: copilot: delete shell_edit" {
	matrix_success copilot delete shell_edit
}

@test "matrix: opencode: delete shell_edit" {
	matrix_success opencode delete shell_edit
}

@test "matrix: qwen: delete shell_edit" {
	matrix_success qwen delete shell_edit
}

@test "matrix: continue: create delete shell_edit" {
	matrix_success continue create delete shell_edit
}

@test "matrix: pi: create delete shell_edit" {
	matrix_success pi create delete shell_edit
}

@test "matrix: droid: create delete shell_edit" {
	matrix_success droid create delete shell_edit
}

@test "matrix: kilo: create delete shell_edit" {
	matrix_success kilo create delete shell_edit
}

@test "matrix: ollama (openai-compat): delete" {
	matrix_success ollama delete
}
