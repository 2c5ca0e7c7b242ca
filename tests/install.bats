#!/usr/bin/env bats
# aim-test: no-san
# make install and make uninstall into a DESTDIR: the exact files, their
# modes, and nothing of ours left after uninstall.  make runs with -o all
# and B set to the build under test, so that it copies what is built and
# never rebuilds it (a PREFIX other than the build's would rebuild aim).

load helper

setup() {
	common_setup
	DEST=$BATS_TEST_TMPDIR/dest
}

# mk TARGET [VAR=VALUE...]: make TARGET into DEST.
mk() {
	make -s -C "$TOP" -o all B="$AIM_TEST_BUILD" DESTDIR="$DEST" "$@"
}

# tree: "mode type path" of everything under DEST (files and links).
tree() {
	(cd "$DEST" && find . \( -type f -o -type l \) -printf '%m %y %P\n') |
	    LC_ALL=C sort -k 3
}

# expected PREFIX: what install puts under PREFIX (without its leading /),
# from the source tree's lists.
expected() {
	local p=$1 f
	for f in aim-resolve aim-invoke aim-audit aim-secret aim-scan aim-init aim-run \
	    aim-install aim-cache aim-fanout aim-apply aim; do
		echo "755 f $p/bin/$f"
	done
	for f in "$TOP"/man/*.[157]; do
		echo "644 f $p/share/man/man${f##*.}/${f##*/}"
	done
	echo "644 f $p/share/bash-completion/completions/aim"
	for f in aim-resolve aim-invoke aim-audit aim-secret aim-scan aim-init aim-run \
	    aim-install aim-cache aim-fanout aim-apply; do
		echo "777 l $p/share/bash-completion/completions/$f"
	done
	echo "644 f $p/share/zsh/site-functions/_aim"
	echo "644 f $p/share/aim/adapter.sh"
	echo "644 f $p/share/aim/error-patterns"
	for f in "$TOP"/schemas/*.json; do
		echo "644 f $p/share/aim/schemas/${f##*/}"
	done
	local r=$p/share/aim/examples/.AIM_ai-tools-registry
	for f in .gitignore AIM_registry.json aim_config.json \
	    AIM_cross-tool/AIM_coordination-rules.json AIM_adapters/lib.sh \
	    AIM_adapters/error-patterns; do
		echo "644 f $r/$f"
	done
	for f in "$TOP"/examples/.AIM_ai-tools-registry/AIM_adapters/AIM_*.sh; do
		echo "755 f $r/AIM_adapters/${f##*/}"
	done
}

@test "make install: the exact files and modes under PREFIX in DESTDIR" {
	run mk install PREFIX=/opt/aim
	assert_success
	run tree
	assert_output "$(expected opt/aim | LC_ALL=C sort -k 3)"
	# The completion symlinks name the one file, relatively.
	run readlink "$DEST/opt/aim/share/bash-completion/completions/aim-audit"
	assert_output aim
}

@test "make install: the default PREFIX is /usr/local" {
	run mk install
	assert_success
	run tree
	assert_output "$(expected usr/local | LC_ALL=C sort -k 3)"
}

@test "make install: what is installed is the source's, and works" {
	mk install PREFIX=/opt/aim
	local s=$DEST/opt/aim/share
	cmp "$TOP/completion/aim.bash" "$s/bash-completion/completions/aim"
	cmp "$TOP/completion/_aim" "$s/zsh/site-functions/_aim"
	cmp "$TOP/examples/.AIM_ai-tools-registry/AIM_adapters/lib.sh" "$s/aim/adapter.sh"
	cmp "$TOP/examples/.AIM_ai-tools-registry/AIM_adapters/error-patterns" "$s/aim/error-patterns"
	cmp "$TOP/schemas/routed.json" "$s/aim/schemas/routed.json"
	# The kit says its version: the programs'.
	run sh -c '. "$1"; echo "$AIM_KIT_VERSION"' sh "$s/aim/adapter.sh"
	assert_output "$(aim --version | awk '{ print $NF }')"
	# Loading the completion of one command (bash-completion sources the
	# file named after it) registers all of them.
	run bash -c '. "$1"; complete -p aim aim-scan' bash \
	    "$s/bash-completion/completions/aim-secret"
	assert_output "$(printf '%s\n' 'complete -F _aim aim' \
	    'complete -F _aim_scan aim-scan')"
	# The example registry checks clean where it is installed.
	run aim-resolve --check -r "$s/aim/examples/.AIM_ai-tools-registry"
	assert_success
	assert_output ''
}

@test "make uninstall: nothing of ours is left" {
	mk install PREFIX=/opt/aim
	run mk uninstall PREFIX=/opt/aim
	assert_success
	assert_output ''
	run tree
	assert_output ''
	assert_not_exist "$DEST/opt/aim/share/aim"
	# Twice is harmless.
	run mk uninstall PREFIX=/opt/aim
	assert_success
	assert_output ''
}

@test "make uninstall leaves what is not ours" {
	mk install PREFIX=/opt/aim
	local s=$DEST/opt/aim/share
	touch "$s/bash-completion/completions/other" "$s/aim/mine"
	mk uninstall PREFIX=/opt/aim
	run tree
	assert_output "$(printf '%s\n' '644 f opt/aim/share/aim/mine' \
	    '644 f opt/aim/share/bash-completion/completions/other')"
}
