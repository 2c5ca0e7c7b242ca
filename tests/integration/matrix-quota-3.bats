#!/usr/bin/env bats
# Quota exhausted: crush (stand-in), ollama, pi, droid and kilo.
# Part of `make check-clis` (not of `make check`): the cells of the CLI x
# scenario matrix no other suite asserts, each as
# tests/fixtures/matrix/expected.tsv says (matrix.bash).  The files are
# groups of about 4-5 minutes each, run at once (check-clis).

load matrix

@test "matrix: quota exhausted: crush, ollama, pi, droid, kilo" {
	matrix_chain '{"scenario":"quota"}' quota 240000 'crush|ollama|pi|droid|kilo'
}
