#!/usr/bin/env bats
# 429 with Retry-After in the header only, 400 prompt too long, and 503
# through pi and kilo.
# Part of `make check-clis` (not of `make check`): the cells of the CLI x
# scenario matrix no other suite asserts, each as
# tests/fixtures/matrix/expected.tsv says (matrix.bash).  The files are
# groups of about 4-5 minutes each, run at once (check-clis).

load matrix

@test "matrix: 429, Retry-After: 1 in the header only" {
	matrix_chain '{"scenario":"http","status":429,"retry_after":1}' 429
}

@test "matrix: 400 prompt too long" {
	matrix_chain '{"scenario":"prompt_too_long"}' prompt_too_long
}

@test "matrix: 503 overloaded: pi, kilo" {
	matrix_chain '{"scenario":"http","status":503}' 503 240000 'pi|kilo'
}
