#!/usr/bin/env bats
# The bash and zsh completion of completion/: the bash functions called as
# bash calls them (COMP_WORDS, COMP_CWORD, the command, the current and the
# previous word), COMPREPLY compared exactly; zsh through a pseudo-terminal
# (tests/fixtures/completion/zcomplete).

load helper

CFX=$FIX/completion
REG=$CFX/reg

setup() {
	common_setup
	unset AIM_VAULT AIM_VAULT_KEYFILE
	# Only our programs: no aim-* of the machine, no developer's jq.
	PATH=$AIM_TEST_BUILD:/usr/bin:/bin
	# shellcheck source=../completion/aim.bash
	. "$TOP/completion/aim.bash"
}

# comp FUNCTION WORD...: complete the last WORD (the cursor at its end) of
# the line made of the WORDs, as bash would with FUNCTION; print COMPREPLY
# one a line.
comp() {
	local f=$1
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	# bash gives "" as the current word right after "--opt=".
	[[ $cur == = ]] && cur= prev=${COMP_WORDS[COMP_CWORD - 1]}
	"$f" "$1" "$cur" "$prev" || return
	[[ ${#COMPREPLY[@]} -eq 0 ]] || printf '%s\n' "${COMPREPLY[@]}"
}

# comp_sorted FUNCTION WORD...: comp, sorted (file names come in the
# order of the directory).
comp_sorted() {
	comp "$@" | LC_ALL=C sort
}

# comp_nojq FUNCTION WORD...: comp with a PATH that has no jq.
comp_nojq() {
	local PATH=$AIM_TEST_BUILD:$BATS_TEST_TMPDIR/nojq
	comp "$@"
}

# lines WORD...: the WORDs one a line (what `run comp` should print).
lines() {
	printf '%s\n' "$@"
}

@test "bash: aim completes its commands, from aim --help and aim-* on PATH" {
	run comp _aim aim ''
	assert_success
	assert_output "$(lines apply audit bootstrap cache fanout health init install invoke \
	    metrics resolve rollback run scan secret status sync uninstall upgrade)"
	PATH=$CFX/bin:$PATH
	run comp _aim aim s
	assert_output "$(lines scan secret status sync)"
	run comp _aim aim f
	assert_output "$(lines fanout fx)"
}

@test "bash: aim completes its options, and those of status" {
	run comp _aim aim -
	assert_output "$(lines -h --help -V --version)"
	run comp _aim aim --
	assert_output "$(lines --help --version)"
	run comp _aim aim status -
	assert_output "$(lines -c --config -j --json --no-cache -r --registry -h --help)"
	run comp _aim aim -V status --j
	assert_output --json
}

@test "bash: aim-init and aim init: options, a directory for --from and the operand" {
	mkdir -p tpl proj
	touch afile
	run comp _aim_init aim-init -
	assert_output "$(lines -f --force --from -j --json -n --dry-run -h --help -V --version)"
	run comp _aim aim init --f
	assert_output "$(lines --force --from)"
	# Directories come in readdir(3) order, which is the file system's.
	run comp _aim_init aim-init --from ''
	assert_equal "$(sort <<<"$output")" "$(lines home proj tpl)"
	run comp _aim_init aim-init -n p
	assert_output proj
}

@test "bash: aim run and aim-run: capabilities, then files; tool ids after -t" {
	mkdir w && cd w
	touch main.c Makefile
	# aim run <TAB>: the capabilities of the registry found.
	AIM_REGISTRY_PATH=$REG run comp _aim aim run ''
	assert_success
	assert_output "$(lines code_generation formatting linting refactoring \
	    review version)"
	run comp _aim aim run -r "$REG" f
	assert_output formatting
	# aim run -t <TAB>: the tool ids; the capability comes after.
	AIM_REGISTRY_PATH=$REG run comp _aim aim run -t ''
	assert_output "$(lines alpha beta-lint gamma)"
	run comp _aim_run aim-run --registry = "$REG" --tool = b
	assert_output beta-lint
	run comp _aim_run aim-run -r "$REG" -t gamma l
	assert_output linting
	# -p takes its word, - included: the capability is still first.
	run comp _aim_run aim-run -r "$REG" -p - r
	assert_output "$(lines refactoring review)"
	# After the capability, files.
	run comp_sorted _aim aim run -r "$REG" formatting ''
	assert_output "$(lines Makefile main.c)"
	run comp _aim_run aim-run --each -j 4 formatting m
	assert_output main.c
	# With steps or a workflow, every word is a file.
	run comp _aim_run aim-run --steps formatting,linting m
	assert_output main.c
	run comp _aim aim run -w tidy m
	assert_output main.c
	# -d wants a directory: no files.
	run comp _aim_run aim-run -d ''
	assert_output ''
	# Numbers and prompts get nothing.
	run comp _aim_run aim-run --timeout ''
	assert_success
	assert_output ''
}

@test "bash: aim-run --<TAB>: its options, as --help lists them" {
	run comp _aim_run aim-run --
	assert_success
	assert_output "$(lines --config --audit-dir --deadline --each --jobs \
	    --json --dry-run --no-cache --prompt --registry --strict --steps \
	    --tool --timeout --workflow --help --version)"
	run comp _aim aim run -
	assert_output "$(lines -c --config -d --audit-dir --deadline -e --each \
	    -j --jobs --json -n --dry-run --no-cache -p --prompt -r --registry \
	    -s --strict --steps -t --tool --timeout -w --workflow -h --help \
	    -V --version)"
	# The same words as aim-run --help lists.
	assert_equal "$(comp _aim_run aim-run - | LC_ALL=C sort -u)" \
	    "$(_aim_help_opts aim-run | LC_ALL=C sort -u)"
}

@test "bash and zsh: aim-install and aim install: the commands, the options --help lists, tool ids" {
	run comp _aim_install aim-install ''
	assert_output "$(lines install upgrade uninstall rollback sync bootstrap)"
	run comp _aim aim upgrade -r "$REG" ''
	assert_output "$(lines alpha beta-lint gamma)"
	run comp _aim_install aim-install -r "$REG" uninstall g
	assert_output gamma
	run comp _aim_install aim-install sync ''
	assert_output ''
	assert_equal "$(comp _aim_install aim-install install - | LC_ALL=C sort -u)" \
	    "$(_aim_help_opts aim-install | LC_ALL=C sort -u)"
	command -v zsh >/dev/null || skip "zsh not installed"
	run zcomp 'aim-install '
	assert_output "$(lines bootstrap install rollback sync uninstall upgrade)"
	run zcomp "aim-install install -r $REG a"
	assert_output alpha
	run zcomp 'aim upgrade --l'
	assert_output --locked
}

@test "bash: aim-fanout and aim-apply: their options as --help lists them; -o's orders" {
	assert_equal "$(comp _aim_fanout aim-fanout - | LC_ALL=C sort -u)" \
	    "$(_aim_help_opts aim-fanout | LC_ALL=C sort -u)"
	assert_equal "$(comp _aim_apply aim-apply - | LC_ALL=C sort -u)" \
	    "$(_aim_help_opts aim-apply | LC_ALL=C sort -u)"
	run comp _aim aim fanout -o l
	assert_output lowest-cost
	run comp _aim aim fanout -o j
	assert_output judge
	run comp _aim aim fanout -r "$REG" --judge r
	assert_output "$(lines refactoring review)"
}

@test "bash: aim passes its subcommands' words to their completion" {
	run comp _aim aim resolve --c
	assert_output "$(lines --config --check)"
	run comp _aim aim invoke -
	assert_output "$(lines -c --config -j --jobs -n --dry-run --no-cache \
	    -r --registry -s --strict -u --unordered -h --help -V --version)"
	run comp _aim aim health -
	assert_output "$(lines -H --human --no-cache -W --warn-ok -c --config -r --registry)"
	run comp _aim aim secrets ''
	assert_output "$(lines init set get list rm rekey path)"
	run comp _aim aim scan d
	assert_output dups
	run comp _aim aim audit query --kind i
	assert_output invocation
}

@test "bash: aim NAME completes the options aim-NAME --help lists" {
	PATH=$CFX/bin:$PATH
	run comp _aim aim fx -
	assert_success
	assert_output "$(lines --help --level --quiet -h -q)"
	run comp _aim aim fx --l
	assert_output --level
}

@test "bash: aim-resolve: options; tool ids after --reset-cooldown" {
	run comp _aim_resolve aim-resolve -
	assert_output "$(lines -c --config -r --registry --check \
	    --reset-cooldown -h --help -V --version)"
	run comp _aim_resolve aim-resolve -r "$REG" --reset-cooldown ''
	assert_output "$(lines alpha beta-lint gamma)"
	run comp _aim_resolve aim-resolve --registry = "$REG" --reset-cooldown alpha b
	assert_output beta-lint
}

@test "bash: files and directories for the arguments that name them" {
	mkdir -p w/dir1 w/dir2 && touch w/file1 w/file2
	cd w
	run comp_sorted _aim_invoke aim-invoke ''
	assert_output "$(lines dir1 dir2 file1 file2)"
	run comp_sorted _aim_invoke aim-invoke -r d
	assert_output "$(lines dir1 dir2)"
	run comp_sorted _aim_invoke aim-invoke --registry = d
	assert_output "$(lines dir1 dir2)"
	run comp_sorted _aim_invoke aim-invoke --registry =
	assert_output "$(lines dir1 dir2)"
	run comp_sorted _aim_invoke aim-invoke --config = f
	assert_output "$(lines file1 file2)"
	run comp_sorted _aim_scan aim-scan dups ''
	assert_output "$(lines dir1 dir2)"
	run comp_sorted _aim_audit aim-audit -d ''
	assert_output "$(lines dir1 dir2)"
	# An option that takes a number gets nothing.
	run comp _aim_invoke aim-invoke -j ''
	assert_success
	assert_output ''
}

@test "bash: aim-audit: subcommands and files first, then each one's options" {
	mkdir w && cd w
	touch records.jsonl
	run comp _aim_audit aim-audit ''
	assert_output "$(lines keygen checkpoint verify prune query stats \
	    metrics records.jsonl)"
	run comp _aim_audit aim-audit -r "$REG" ''
	assert_output "$(lines keygen checkpoint verify prune query stats \
	    metrics records.jsonl)"
	run comp _aim_audit aim-audit -
	assert_output "$(lines -c --config -d --dir -r --registry -h --help \
	    -V --version)"
	run comp _aim_audit aim-audit keygen -
	assert_output -s
	run comp _aim_audit aim-audit verify --
	assert_output "$(lines --config --dir --registry --checkpoint)"
	run comp _aim_audit aim-audit prune --d
	assert_output "$(lines --dir --days --dry-run)"
	run comp _aim_audit aim-audit -d /tmp query -
	assert_output "$(lines -c --config -d --dir -r --registry --capability \
	    --csv --failed --id --kind -n --since --tool --until)"
	run comp _aim_audit aim-audit stats --
	assert_output "$(lines --config --dir --registry)"
	run comp _aim_audit aim-audit metrics --
	assert_output "$(lines --config --dir --registry --textfile)"
	run comp _aim aim metrics --t
	assert_output --textfile
	# After a record file, no subcommand any more.
	run comp _aim_audit aim-audit records.jsonl q
	assert_output ''
}

@test "bash: aim-audit query: the kinds, the dates, tools and capabilities" {
	run comp _aim_audit aim-audit query --kind ''
	assert_output "$(lines invocation prune secret_set secret_get \
	    secret_delete health_check scan_execute config_update error)"
	run comp _aim_audit aim-audit query --kind = secret_
	assert_output "$(lines secret_set secret_get secret_delete)"
	run comp _aim_audit aim-audit query --since y
	assert_output yesterday
	run comp _aim_audit aim-audit query --until = t
	assert_output today
	run comp _aim_audit aim-audit -r "$REG" query --tool ''
	assert_output "$(lines alpha beta-lint gamma)"
	# The capabilities of the tools and of the coordination rules.
	run comp _aim_audit aim-audit query -r "$REG" --capability ''
	assert_output "$(lines code_generation formatting linting refactoring \
	    review version)"
	run comp _aim_audit aim-audit query --registry "$REG" --capability = r
	assert_output "$(lines refactoring review)"
}

@test "bash: the registry is found as the programs find it" {
	# AIM_REGISTRY_PATH
	AIM_REGISTRY_PATH=$REG run comp _aim_audit aim-audit query --tool g
	assert_output gamma
	# -r wins over AIM_REGISTRY_PATH.
	mkdir -p other/AIM_cross-tool
	echo '{"tools":{"omega":{"capabilities":["x"]}}}' >other/AIM_registry.json
	AIM_REGISTRY_PATH=$REG run comp _aim_audit aim-audit -r other query --tool ''
	assert_output omega
	# The nearest .AIM_ai-tools-registry up from the working directory.
	mkdir -p proj/src/deep
	cp -R "$REG" proj/.AIM_ai-tools-registry
	(cd proj/src/deep && comp _aim_resolve aim-resolve --reset-cooldown a) >out
	assert_equal "$(cat out)" alpha
	# Else the one in HOME.
	cp -R other "$HOME/.AIM_ai-tools-registry"
	run comp _aim_resolve aim-resolve --reset-cooldown ''
	assert_output omega
	# A -r starting with ~/ is HOME's.
	run comp _aim_resolve aim-resolve -r '~/.AIM_ai-tools-registry' --reset-cooldown o
	assert_output omega
}

@test "bash: no registry, a broken one or no jq: no words, quietly" {
	run --separate-stderr comp _aim_resolve aim-resolve --reset-cooldown ''
	assert_success
	assert_output ''
	assert_equal "$stderr" ''
	mkdir broken
	echo '{"tools": [' >broken/AIM_registry.json
	run --separate-stderr comp _aim_resolve aim-resolve -r broken --reset-cooldown ''
	assert_success
	assert_output ''
	assert_equal "$stderr" ''
	# Without jq on PATH.
	mkdir nojq
	for c in sed sort grep tr setsid; do
		ln -s "$(command -v "$c")" nojq/
	done
	run --separate-stderr comp_nojq _aim_resolve aim-resolve -r "$REG" --reset-cooldown ''
	assert_success
	assert_output ''
	assert_equal "$stderr" ''
}

@test "bash: aim-secret: commands, options, secret names from the vault" {
	aim-secret -f v init --keyfile k
	printf 'value-one' | aim-secret -f v -k k set -d "the first" anthropic/api_key
	printf 'value-two' | aim-secret -f v -k k set OPENAI_API_KEY
	run comp _aim_secret aim-secret ''
	assert_output "$(lines init set get list rm rekey path)"
	run comp _aim_secret aim-secret -
	assert_output "$(lines -f -k --passphrase-fd -h --help -V --version)"
	run comp _aim_secret aim-secret -f v set -
	assert_output "$(lines --allow-empty -d)"
	run comp _aim_secret aim-secret init --
	assert_output --keyfile
	run comp _aim_secret aim-secret -f v -k k get ''
	assert_output "$(lines anthropic/api_key OPENAI_API_KEY)"
	run comp _aim_secret aim-secret -f v -k k rm O
	assert_output OPENAI_API_KEY
	# Replacing a secret: set completes the names too, once.
	run comp _aim_secret aim-secret -f v -k k set -d x a
	assert_output anthropic/api_key
	run comp _aim_secret aim-secret -f v -k k get OPENAI_API_KEY ''
	assert_output ''
	# From AIM_VAULT and AIM_VAULT_KEYFILE, through aim secrets.
	AIM_VAULT=$PWD/v AIM_VAULT_KEYFILE=$PWD/k run comp _aim aim secrets rm ''
	assert_output "$(lines anthropic/api_key OPENAI_API_KEY)"
	refute_output --partial value-
	# aim typed with its directory: the aim-secret next to it.
	PATH=/usr/bin:/bin
	AIM_VAULT=$PWD/v AIM_VAULT_KEYFILE=$PWD/k run comp _aim "$AIM_TEST_BUILD/aim" secret get ''
	assert_output "$(lines anthropic/api_key OPENAI_API_KEY)"
	AIM_VAULT=$PWD/v AIM_VAULT_KEYFILE=$PWD/k run comp _aim aim secret get ''
	assert_output ''
}

@test "bash: aim-secret: a vault that needs a passphrase gives no names, asks nothing" {
	echo pass | aim-secret -f v --passphrase-fd 0 init
	run --separate-stderr comp _aim_secret aim-secret -f v get ''
	assert_success
	assert_output ''
	assert_equal "$stderr" ''
	# No key at all: no names.
	run comp _aim_secret aim-secret -f nonexistent get ''
	assert_success
	assert_output ''
}

@test "bash: aim-scan: subcommands and the options of each" {
	run comp _aim_scan aim-scan ''
	assert_output "$(lines tools health dups caches clean)"
	run comp _aim_scan aim-scan -
	assert_output "$(lines -c --config -H --human --no-cache -r --registry \
	    -h --help -V --version)"
	run comp _aim_scan aim-scan tools -
	assert_output "$(lines -H --human --no-cache -c --config -r --registry)"
	run comp _aim_scan aim-scan -H dups -
	assert_output "$(lines -H --human --no-hash -c --config -e --ext -m \
	    --min-size)"
	run comp _aim_scan aim-scan caches --
	assert_output "$(lines --human --config)"
	run comp _aim_scan aim-scan clean -
	assert_output "$(lines -b --build -H --human -n --dry-run -y --yes)"
	run comp _aim_scan aim-scan -m ''
	assert_output ''
}

@test "bash: the completions are registered for each command" {
	run complete -p aim aim-resolve aim-invoke aim-audit aim-secret aim-scan \
	    aim-init aim-run aim-install aim-cache
	assert_success
	assert_output "$(lines 'complete -F _aim aim' \
	    'complete -F _aim_resolve aim-resolve' \
	    'complete -F _aim_invoke aim-invoke' \
	    'complete -F _aim_audit aim-audit' \
	    'complete -F _aim_secret aim-secret' \
	    'complete -F _aim_scan aim-scan' \
	    'complete -F _aim_init aim-init' \
	    'complete -F _aim_run aim-run' \
	    'complete -F _aim_install aim-install' \
	    'complete -F _aim_cache aim-cache')"
}

@test "bash: aim.bash is shellcheck-clean" {
	command -v shellcheck >/dev/null || skip "shellcheck not installed"
	run shellcheck "$TOP/completion/aim.bash"
	assert_success
	assert_output ''
}

@test "zsh: _aim parses" {
	command -v zsh >/dev/null || skip "zsh not installed"
	run zsh -n "$TOP/completion/_aim"
	assert_success
	assert_output ''
}

# zcomp LINE: the matches zsh offers at the end of LINE (a stuck
# pseudo-terminal fails the test instead of hanging the suite).
zcomp() {
	timeout 120 "$CFX/zcomplete" "$TOP/completion" "$1"
}

@test "zsh: commands, options and their arguments" {
	command -v zsh >/dev/null || skip "zsh not installed"
	run zcomp 'aim '
	assert_output "$(lines apply audit bootstrap cache fanout health init install invoke \
	    metrics resolve rollback run scan secret status sync uninstall upgrade)"
	run zcomp 'aim-scan '
	assert_output "$(lines caches clean dups health tools)"
	run zcomp 'aim health -'
	assert_output "$(lines --config --human --no-cache --registry --warn-ok -H -W -c -r)"
	run zcomp 'aim-audit query --kind s'
	assert_output "$(lines scan_execute secret_delete secret_get secret_set)"
	run zcomp 'aim-secret '
	assert_output "$(lines get init list path rekey rm set)"
	run zcomp 'aim-audit query --kind=secret_'
	assert_output "$(lines secret_delete secret_get secret_set)"
	mkdir -p w/dir1 && touch w/file1 && cd w
	run zcomp 'aim-invoke --registry='
	assert_output dir1
	run zcomp 'aim-invoke -c '
	assert_output "$(lines dir1 file1)"
	PATH=$CFX/bin:$PATH
	run zcomp 'aim fx -'
	assert_output "$(lines --help --level --quiet -h -q)"
}

@test "zsh: tool ids, capabilities and secret names" {
	command -v zsh >/dev/null || skip "zsh not installed"
	run zcomp "aim-resolve -r $REG --reset-cooldown "
	assert_output "$(lines alpha beta-lint gamma)"
	run zcomp "aim audit -r $REG query --capability "
	assert_output "$(lines code_generation formatting linting refactoring \
	    review version)"
	run zcomp "aim-fanout -r $REG --judge=r"
	assert_output "$(lines refactoring review)"
	cp -R "$REG" .AIM_ai-tools-registry
	run zcomp 'aim-audit query --tool '
	assert_output "$(lines alpha beta-lint gamma)"
	aim-secret -f v init --keyfile k
	printf 'value-one' | aim-secret -f v -k k set anthropic/api_key
	run zcomp 'aim-secret -f v -k k get '
	assert_output anthropic/api_key
	# aim typed with its directory: the aim-secret next to it.
	export AIM_VAULT=$PWD/v AIM_VAULT_KEYFILE=$PWD/k
	PATH=/usr/bin:/bin run zcomp "$AIM_TEST_BUILD/aim secret get "
	assert_output anthropic/api_key
	PATH=/usr/bin:/bin run zcomp 'aim secret get '
	assert_output ''
}

@test "zsh: aim run and aim-run: capabilities, tool ids, options, files" {
	command -v zsh >/dev/null || skip "zsh not installed"
	run zcomp "aim run -r $REG "
	assert_output "$(lines code_generation formatting linting refactoring \
	    review version)"
	run zcomp "aim-run -r $REG -t "
	assert_output "$(lines alpha beta-lint gamma)"
	run zcomp 'aim-run --'
	assert_output "$(lines --audit-dir --config --deadline --dry-run --each \
	    --help --jobs --json --no-cache --prompt --registry --steps \
	    --strict --timeout --tool --version --workflow)"
	mkdir w && touch w/main.c && cd w
	run zcomp "aim run -r $REG formatting "
	assert_output main.c
	# --steps: capabilities, one after a comma too.
	run zcomp "aim-run -r $REG --steps=formatting,l"
	assert_output linting
	# With steps or a workflow, every word is a file.
	run zcomp "aim run -r $REG --steps=formatting,linting "
	assert_output main.c
	run zcomp "aim run -r $REG -w tidy "
	assert_output main.c
}
