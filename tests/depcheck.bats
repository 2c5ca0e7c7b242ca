#!/usr/bin/env bats
# aim-test: no-san
# tools/depcheck (make depcheck, part of make lint) holds lib/ to the layers
# of lib/LAYERS: a breach, by include or by call, is one line naming the
# file and the symbol, and exit 1.  Each test breaks a copy of the tree
# (sources in $BATS_TEST_TMPDIR/top, the build's objects in .../obj).

load helper

setup() {
	common_setup
	T=$BATS_TEST_TMPDIR/top
	O=$BATS_TEST_TMPDIR/obj
	mkdir -p "$T" "$O"
	cp -R "$TOP/lib" "$T/"
	cp "$AIM_TEST_BUILD"/*.o "$O/"
}

@test "depcheck: the tree as it is passes, silently" {
	run tools_depcheck "$TOP" "$AIM_TEST_BUILD"
	assert_success
	assert_output ""
}

@test "depcheck: a call into a higher layer is named with both files and exit 1" {
	cat >>"$T/lib/state.c" <<'C'
void depcheck_broken(void *c);
void aim_chain_close(void *c);
void depcheck_broken(void *c) { aim_chain_close(c); }
C
	cc -std=c11 -D_GNU_SOURCE -I"$T/lib" -c -o "$O/state.o" "$T/lib/state.c"
	run tools_depcheck "$T" "$O"
	assert_failure 1
	assert_output "depcheck: lib/state.c (layer 3) calls aim_chain_close from lib/chain.c (layer 4)"
}

@test "depcheck: a call within the layer or below passes" {
	cat >>"$T/lib/state.c" <<'C'
void depcheck_fine(struct aim_vault *v);
void depcheck_fine(struct aim_vault *v) { aim_vault_close(v); aim_walk(0, 0); }
C
	cc -std=c11 -D_GNU_SOURCE -I"$T/lib" -c -o "$O/state.o" "$T/lib/state.c"
	run tools_depcheck "$T" "$O"
	assert_success
	assert_output ""
}

@test "depcheck: a module or a header including a higher layer's header is named" {
	sed -i 's/^#include "aim-util.h"$/&\n#include "aim-setup.h"/' "$T/lib/util.c"
	sed -i 's/^#include "aim-util.h"$/&\n#include "aim-flow.h"/' "$T/lib/aim-data.h"
	run tools_depcheck "$T" "$O"
	assert_failure 1
	assert_output - <<'OUT'
depcheck: lib/aim-data.h (layer 1) includes aim-flow.h (layer 4)
depcheck: lib/util.c (layer 0) includes aim-setup.h (layer 5)
OUT
}

@test "depcheck: lib/aim.h, which holds every layer, is for cmd/ and tests/ only" {
	sed -i 's/^#include "aim-store.h"$/#include "aim.h"/' "$T/lib/vault.c"
	run tools_depcheck "$T" "$O"
	assert_failure 1
	assert_output "depcheck: lib/vault.c (layer 3) includes aim.h (no layer)"
}

@test "depcheck: a module missing from lib/LAYERS is named" {
	printf '#include "aim-util.h"\n' >"$T/lib/extra.c"
	run tools_depcheck "$T" "$O"
	assert_failure 1
	assert_output "depcheck: lib/extra.c is in no layer of lib/LAYERS"
}

@test "depcheck: a missing object is exit 2, not a pass" {
	rm "$O/chain.o"
	run --separate-stderr tools_depcheck "$T" "$O"
	assert_failure 2
	assert_output ""
	[ "$stderr" = "depcheck: $O/chain.o: can't read (build first)" ]
}

# tools_depcheck TOP OBJDIR
tools_depcheck() {
	"$TOP/tools/depcheck" -C "$1" "$2"
}
