#!/usr/bin/env bats
# aim-install: real npm installs of mkdirp 1.0.3 and 1.0.4 (a few kB, no
# dependencies, `mkdirp --version` prints its version) from the npm
# registry, npm-packed fixtures that fail (tests/fixtures/install), and
# apt, as root only: the small Debian package tree, and aim-test-dummy
# from a local repository the test builds, whose 2.0 fails to install.
# The npm cache is shared by every run (~/.cache/aim-test-tools/npm-cache),
# so a rerun asks the network for nothing.  Two worlds are made once, in
# setup_file: tpl1 (mkdirp 1.0.3 installed by aim-install) and tpl2 (then
# upgraded to 1.0.4); each test works on its own copy.

load helper

# Found now, before common_setup moves HOME.
NPM_CACHE=${AIM_TOOLS_CACHE:-$HOME/.cache/aim-test-tools}/npm-cache
AJV=${AJV:-${AIM_TOOLS_CACHE:-$HOME/.cache/aim-test-tools}/node_modules/.bin/ajv}
export npm_config_cache=$NPM_CACHE npm_config_prefer_offline=true \
    npm_config_update_notifier=false npm_config_fund=false

# relink W: the bin links of world W into W itself (a copy's point at
# the world it was copied from).
relink() {
	local t
	for t in "$1"/bin/*; do
		[ -L "$t" ] || continue
		ln -sfn "$1/data/aim/tools/mkdirp/current/node_modules/.bin/${t##*/}" "$t"
	done
}

# ai ARGS: aim-install on the world in $W.
ai() {
	aim-install -r "$W/reg" --bin-dir "$W/bin" "$@"
}

# pin VERSION [TOOL]: the tool's version pin in $W's registry.
pin() {
	local f=$W/reg/AIM_registry.json
	jq --arg v "$1" --arg t "${2:-mkdirp}" '.tools[$t].version = $v' "$f" >"$f.new" &&
		mv "$f.new" "$f"
}

# source_npm SPEC: mkdirp installed from SPEC (a package or a tarball).
source_npm() {
	local f=$W/reg/AIM_registry.json
	jq --arg s "$1" '.tools.mkdirp.install.npm = $s' "$f" >"$f.new" && mv "$f.new" "$f"
}

setup_file() {
	command -v npm >/dev/null 2>&1 || return 0
	local T=$BATS_FILE_TMPDIR W
	(
		set -e
		mkdir -p "$T/pkgs" "$T/tpl1/reg/AIM_audit" "$T/tpl1/bin"
		for d in bad-version bad-postinstall; do
			(cd "$FIX/install/$d" && npm pack --silent --pack-destination "$T/pkgs" >/dev/null)
		done
		cp -R "$FIX/install/registry/." "$T/tpl1/reg/"
		W=$T/tpl1
		XDG_DATA_HOME=$W/data HOME=$W ai install mkdirp >"$T/install.out"
		cp -a "$T/tpl1" "$T/tpl2"
		W=$T/tpl2
		relink "$W"
		pin '^1.0.3'
		XDG_DATA_HOME=$W/data HOME=$W ai upgrade mkdirp >"$T/upgrade.out"
	) >"$T/setup.log" 2>&1 || {
		# Offline with a cold npm cache is a skip, not a failure.
		if ! npm view mkdirp@1.0.4 version >/dev/null 2>&1; then
			: >"$T/offline"
			return 0
		fi
		echo "# making the worlds failed:" >&3
		sed 's/^/# /' "$T/setup.log" >&3
		return 1
	}
}

# use WORLD: a copy of tpl1 or tpl2 of our own in $W, its data there.
use() {
	[ ! -f "$BATS_FILE_TMPDIR/offline" ] || skip "the npm registry is unreachable and mkdirp is not in $NPM_CACHE"
	[ -f "$BATS_FILE_TMPDIR/$1/reg/aim.lock" ] || skip "npm is not installed"
	W=$BATS_TEST_TMPDIR/w
	cp -a "$BATS_FILE_TMPDIR/$1" "$W"
	relink "$W"
	export XDG_DATA_HOME=$W/data
	TOOLS=$W/data/aim/tools/mkdirp
}

setup() {
	common_setup
}

@test "install: mkdirp 1.0.3 from the npm registry, checked, linked in bin, locked with its integrity, audited" {
	use tpl1
	run jq -c '[.action, .version, .previous, .reported, (.integrity | startswith("sha512-")), (.bin | length)]' "$BATS_FILE_TMPDIR/install.out"
	assert_output '["installed","1.0.3",null,"1.0.3",true,1]'
	assert_equal "$(readlink "$TOOLS/current")" 1.0.3
	assert_file_exists "$TOOLS/1.0.3/.aim-complete"
	assert_equal "$("$W/bin/mkdirp" --version)" 1.0.3
	run jq -c '.tools.mkdirp | [.source, .package, .version, (.integrity | startswith("sha512-"))]' "$W/reg/aim.lock"
	assert_output '["npm","mkdirp","1.0.3",true]'
	run jq -c '[.kind, .program, .event.tool_id, .event.version]' "$W"/reg/AIM_audit/*/*_aim_tool_install.json
	assert_output '["tool_install","aim-install","mkdirp","1.0.3"]'
	# Again: the pin holds, nothing to do, and no npm is needed for it.
	mkdir nonpm && printf '#!/bin/sh\nexit 99\n' >nonpm/npm && chmod +x nonpm/npm
	PATH=$PWD/nonpm:$PATH run ai install mkdirp
	assert_success
	assert_output --partial '"action":"unchanged"'
}

@test "upgrade: the newest version the pin allows, the old one kept as previous; rollback switches back and forth" {
	use tpl2
	run jq -c '[.action, .version, .previous, .message]' "$BATS_FILE_TMPDIR/upgrade.out"
	assert_output '["upgraded","1.0.4","1.0.3","mkdirp 1.0.4, was 1.0.3"]'
	assert_equal "$(readlink "$TOOLS/current") $(readlink "$TOOLS/previous")" "1.0.4 1.0.3"
	assert_equal "$("$W/bin/mkdirp" --version)" 1.0.4
	run ai rollback mkdirp
	assert_success
	run jq -c '[.action, .version, .previous]' <<<"$output"
	assert_output '["rolled_back","1.0.3","1.0.4"]'
	assert_equal "$("$W/bin/mkdirp" --version)" 1.0.3
	assert_equal "$(jq -r .tools.mkdirp.version "$W/reg/aim.lock")" 1.0.3
	run ai rollback mkdirp
	assert_equal "$("$W/bin/mkdirp" --version)" 1.0.4
	run ls "$W"/reg/AIM_audit/*/
	assert_equal "$(grep -c _aim_tool_rollback.json <<<"$output") $(grep -c _aim_tool_upgrade.json <<<"$output")" "2 1"
}

@test "on a terminal: a line in words per tool, progress on stderr, colour unless NO_COLOR" {
	use tpl2
	script -qec "aim-install -r $W/reg --bin-dir $W/bin rollback mkdirp" /dev/null >screen.raw
	# The progress line, then its erasure, then the record in green.
	assert_equal "$(cat -v screen.raw)" "rollback mkdirp ...^M^[[K^[[32mrolled_back  ^[[0m mkdirp 1.0.3, was 1.0.4^M"
	run -1 env NO_COLOR=1 script -qec "aim-install -r $W/reg --bin-dir $W/bin sync -n" /dev/null
	assert_equal "$(printf '%s' "$output" | tr -d '\r' | sed 's/^.*\x1b\[K//')" "in_sync       mkdirp 1.0.3
drift         mkdirp-b is not installed"
}

@test "a version whose versionCommand does not satisfy the pin is rolled back: the old one stays active, exit 1" {
	use tpl2
	source_npm "$BATS_FILE_TMPDIR/pkgs/aim-fake-mkdirp-2.0.0.tgz"
	pin 2.0.0
	run ai install mkdirp
	assert_failure 1
	run jq -r '.action + ": " + .message' <<<"$output"
	assert_output 'kept: kept mkdirp 1.0.4: mkdirp 2.0.0 reports version 1.0.0, which does not satisfy the pin 2.0.0'
	assert_equal "$(readlink "$TOOLS/current")" 1.0.4
	assert_not_exists "$TOOLS/2.0.0"
	assert_equal "$("$W/bin/mkdirp" --version)" 1.0.4
	assert_equal "$(jq -r .tools.mkdirp.version "$W/reg/aim.lock")" 1.0.4
	run jq -r .event.message "$W"/reg/AIM_audit/*/*_aim_tool_rollback.json
	assert_output --partial 'kept mkdirp 1.0.4'
}

@test "a package whose install script fails leaves the old version active and says why" {
	use tpl2
	source_npm "$BATS_FILE_TMPDIR/pkgs/aim-fake-mkdirp-3.0.0.tgz"
	pin 3.0.0
	run ai install mkdirp
	assert_failure 1
	run jq -r .message <<<"$output"
	assert_output 'kept mkdirp 1.0.4: npm exited with code 3: npm error postinstall: cannot build the native part'
	assert_equal "$(readlink "$TOOLS/current")" 1.0.4
	assert_not_exists "$TOOLS/3.0.0"
	assert_equal "$("$W/bin/mkdirp" --version)" 1.0.4
}

@test "kill -9 in the middle of an install: the old version stays active; the next run removes the half install and redoes it" {
	use tpl1
	pin 1.0.4
	# An npm that starts the install, then kills aim-install, its parent.
	mkdir killer
	cat >killer/npm <<-EOF
	#!/bin/sh
	[ "\$1" = install ] || exec $(command -v npm) "\$@"
	mkdir -p "\$3/node_modules/mkdirp" && echo half >"\$3/node_modules/mkdirp/package.json"
	kill -9 \$PPID
	exit 1
	EOF
	chmod +x killer/npm
	PATH=$PWD/killer:$PATH run ai install mkdirp
	assert_equal "$status" 137
	assert_equal "$(readlink "$TOOLS/current")" 1.0.3
	assert_exists "$TOOLS/1.0.4/node_modules/mkdirp/package.json"
	assert_not_exists "$TOOLS/1.0.4/.aim-complete"
	assert_equal "$("$W/bin/mkdirp" --version)" 1.0.3
	run ai install mkdirp
	assert_success
	run jq -c '[.action, .version, .note]' <<<"$output"
	assert_output '["upgraded","1.0.4","removed a half install left by an interrupted run"]'
	assert_file_exists "$TOOLS/1.0.4/.aim-complete"
	assert_equal "$("$W/bin/mkdirp" --version)" 1.0.4
}

@test "--locked installs aim.lock's version exactly, and fails on an integrity or pin mismatch" {
	use tpl2
	lock=$W/reg/aim.lock
	good=$(jq -r .tools.mkdirp.integrity "$BATS_FILE_TMPDIR/tpl1/reg/aim.lock")
	jq '.tools.mkdirp += {version: "1.0.3", integrity: "sha512-bad"}' "$lock" >l && mv l "$lock"
	run ai install --locked mkdirp
	assert_failure 1
	run jq -r .message <<<"$output"
	assert_output "kept mkdirp 1.0.4: mkdirp 1.0.3: integrity $good differs from aim.lock's sha512-bad"
	assert_equal "$(readlink "$TOOLS/current")" 1.0.4
	jq --arg g "$good" '.tools.mkdirp.integrity = $g' "$lock" >l && mv l "$lock"
	pin '>=1.0.4'
	run ai install --locked mkdirp
	assert_failure 1
	assert_output --partial '"message":"kept mkdirp 1.0.4: aim.lock has mkdirp 1.0.3, which does not satisfy the pin >=1.0.4"'
	pin '^1.0.3'
	run ai install --locked mkdirp
	assert_success
	run jq -c '[.action, .version]' <<<"$output"
	assert_output '["downgraded","1.0.3"]'
	assert_equal "$("$W/bin/mkdirp" --version)" 1.0.3
}

@test "-n shows the plan, the npm command included, and changes nothing" {
	use tpl1
	pin 1.0.4
	before=$(cd "$W" && find . | sort | md5sum)
	run ai upgrade -n mkdirp
	assert_success
	run jq -c '[.action, .version, .plan]' <<<"$output"
	assert_output "[\"would_upgrade\",\"1.0.4\",[\"npm\",\"install\",\"--prefix\",\"$TOOLS/1.0.4\",\"--no-audit\",\"--no-fund\",\"--save-exact\",\"--loglevel=error\",\"mkdirp@1.0.4\"]]"
	assert_equal "$(cd "$W" && find . | sort | md5sum)" "$before"
}

@test "uninstall removes the tool's versions, aim's link in bin and its aim.lock entry" {
	use tpl2
	ln -s /bin/true "$W/bin/other"
	run ai uninstall mkdirp
	assert_success
	run jq -c '[.action, .version]' <<<"$output"
	assert_output '["uninstalled","1.0.4"]'
	assert_not_exists "$TOOLS"
	assert_not_exists "$W/bin/mkdirp"
	assert_exists "$W/bin/other"
	assert_equal "$(jq -c .tools "$W/reg/aim.lock")" '{}'
	assert_exists "$W"/reg/AIM_audit/*/*_aim_tool_uninstall.json
	run ai uninstall mkdirp
	assert_success
	assert_output --partial '"action":"unchanged"'
}

@test "sync -n reports drift from the pin and from aim.lock (exit 1); sync fixes it; then in sync, exit 0" {
	use tpl2
	pin 1.0.3
	run ai sync -n
	assert_failure 1
	assert_line --partial '"tool_id":"mkdirp","source":"npm","package":"mkdirp","pin":"1.0.3","version":"1.0.4","locked":"1.0.4","message":"mkdirp 1.0.4 does not satisfy the pin 1.0.3","action":"drift"'
	assert_line --partial '"message":"mkdirp-b is not installed","action":"drift"'
	pin '^1.0.3'
	jq '.tools.mkdirp.version = "1.0.3"' "$W/reg/aim.lock" >l && mv l "$W/reg/aim.lock"
	run ai sync -n
	assert_line --partial '"message":"mkdirp 1.0.4 is not aim.lock'"'"'s 1.0.3","action":"drift"'
	pin 1.0.3
	pin 1.0.3 mkdirp-b
	run ai -j 2 sync
	assert_success
	run jq -sc 'map([.tool_id, .action, .version]) | sort' <<<"$output"
	assert_output '[["mkdirp","downgraded","1.0.3"],["mkdirp-b","installed","1.0.3"]]'
	run ai sync -n
	assert_success
	assert_equal "$(grep -c '"action":"in_sync"' <<<"$output")" 2
	assert_equal "$(jq -c '.tools | keys' "$W/reg/aim.lock")" '["mkdirp","mkdirp-b"]'
}

@test "apt: tree installed at its pin, recorded with the .deb's sha256, removed (root only)" {
	[ "$(id -u)" = 0 ] || skip "apt-get install needs root"
	# apt-get's time, not aim's: the plain run covers it.
	[ -z "${AIM_TEST_SAN:-}" ] || skip "apt-get's own cost; run in the plain suite"
	apt-cache show tree >/dev/null 2>&1 || skip "apt has no tree package (apt-get update?)"
	dpkg-query -W -f '${db:Status-Abbrev}' tree 2>/dev/null | grep -q '^ii' &&
		skip "tree is installed already: not ours to remove"
	W=$BATS_TEST_TMPDIR/w
	mkdir -p "$W/reg/AIM_audit"
	cp -R "$FIX/install/apt/." "$W/reg/"
	run ai install -n tree
	assert_success
	assert_output --partial '"plan":["apt-get","install","-y","-q","--allow-downgrades","tree=2.1.0-1"]'
	run ai install tree
	assert_success
	run jq -c '[.action, .version, .reported, (.sha256 | length)]' <<<"$output"
	assert_output '["installed","2.1.0-1","2.1.0",64]'
	assert_equal "$(jq -r .tools.tree.sha256 "$W/reg/aim.lock")" \
	    "$(apt-cache show tree=2.1.0-1 | sed -n 's/^SHA256: //p' | head -1)"
	run ai sync -n
	assert_line --partial '"tool_id":"tree","source":"apt","package":"tree","pin":"2.1","version":"2.1.0-1","locked":"2.1.0-1","message":"tree 2.1.0-1","action":"in_sync"'
	run ai uninstall tree
	assert_success
	assert_output --partial '"action":"uninstalled"'
	run command -v tree
	assert_failure
}

# dummy_repo DIR: a local apt repository in DIR of aim-test-dummy 1.0
# and 2.0, whose /usr/bin/aim-test-dummy prints its version; 2.0's
# postinst fails.  APT_CONFIG, exported, makes apt read that repository
# alone, with lists and caches under DIR: apt-get update asks no network,
# and aim-install's apt-cache and apt-get inherit it.
dummy_repo() {
	local d v
	mkdir -p "$1/pool" "$1/lists/partial" "$1/cache/archives/partial"
	for v in 1.0:0 2.0:1; do
		d=$1/src-${v%:*}
		mkdir -p "$d/DEBIAN" "$d/usr/bin"
		printf 'Package: aim-test-dummy\nVersion: %s\nArchitecture: all\nMaintainer: aim tests <aim@example.invalid>\nDescription: a package the aim tests install\n' \
		    "${v%:*}" >"$d/DEBIAN/control"
		printf '#!/bin/sh\nexit %s\n' "${v#*:}" >"$d/DEBIAN/postinst"
		printf '#!/bin/sh\necho "aim-test-dummy %s"\n' "${v%:*}" >"$d/usr/bin/aim-test-dummy"
		chmod 755 "$d/DEBIAN/postinst" "$d/usr/bin/aim-test-dummy"
		dpkg-deb --build --root-owner-group "$d" "$1/pool/aim-test-dummy_${v%:*}_all.deb" >/dev/null
	done
	(cd "$1" && dpkg-scanpackages -m pool >Packages 2>/dev/null)
	echo "deb [trusted=yes] file:$1 ./" >"$1/sources.list"
	printf 'Dir::Etc::sourcelist "%s/sources.list";\nDir::Etc::sourceparts "-";\nDir::State::lists "%s/lists";\nDir::Cache "%s/cache";\n' \
	    "$1" "$1" "$1" >"$1/apt.conf"
	export APT_CONFIG=$1/apt.conf
	apt-get update -q >"$1/update.log" 2>&1
}

teardown() {
	# The dummy package is ours: purged whatever the test left.
	if [ -n "${DUMMY:-}" ]; then
		dpkg --purge aim-test-dummy >/dev/null 2>&1 || true
	fi
}

@test "apt: a version whose install fails puts the previous one back, says so, exit 1 (root only)" {
	[ "$(id -u)" = 0 ] || skip "apt-get install needs root"
	# apt-get's time, not aim's: the plain run covers it.
	[ -z "${AIM_TEST_SAN:-}" ] || skip "apt-get's own cost; run in the plain suite"
	local t
	for t in apt-get dpkg-deb dpkg-scanpackages; do
		command -v "$t" >/dev/null || skip "$t is not installed"
	done
	dpkg-query -W -f '${db:Status-Abbrev}' aim-test-dummy 2>/dev/null | grep -q '^.i' &&
		skip "aim-test-dummy is installed already: not ours to remove"
	W=$BATS_TEST_TMPDIR/w
	mkdir -p "$W/reg/AIM_audit"
	cp -R "$FIX/install/apt/AIM_cross-tool" "$FIX/install/apt-dummy/." "$W/reg/"
	dummy_repo "$BATS_TEST_TMPDIR/repo"
	DUMMY=1
	run -0 ai install dummy
	assert_equal "$(jq -c '[.action, .version, .reported]' <<<"$output")" '["installed","1.0","1.0"]'
	pin 2.0 dummy
	run -1 --separate-stderr ai upgrade dummy
	assert_equal "$(jq -c '[.action, .version, .previous]' <<<"$output")" '["kept","2.0","1.0"]'
	assert_equal "$(jq -r .message <<<"$output")" \
	    "kept dummy 1.0: apt-get exited with code 100: E: Sub-process /usr/bin/dpkg returned an error code (1)"
	assert_equal "$(dpkg-query -W -f '${db:Status-Abbrev}${Version}' aim-test-dummy)" 'ii 1.0'
	assert_equal "$(aim-test-dummy)" 'aim-test-dummy 1.0'
	assert_equal "$(jq -r .tools.dummy.version "$W/reg/aim.lock")" 1.0
	run jq -c '[.kind, .event.action, .event.version]' "$W"/reg/AIM_audit/*/*_aim_tool_rollback.json
	assert_output '["tool_rollback","kept","2.0"]'
}

@test "bootstrap: installs what a capability lacks, lists the missing secrets (--no-input: exit 1); a second run changes nothing, exit 0" {
	use tpl1
	rm -rf "$W"
	mkdir -p "$W/reg/AIM_audit" "$W/bin"
	cp -R "$FIX/install/registry/." "$W/reg/"
	f=$W/reg/AIM_registry.json
	jq '.tools.mkdirp.secrets = {MK_TOKEN: "mk/token"}' "$f" >r && mv r "$f"
	export XDG_DATA_HOME=$W/data PATH=$W/bin:$PATH AIM_VAULT=$W/vault AIM_VAULT_KEYFILE=$W/key
	# The bin directory from the configuration (aim-registry(5) bin_dir).
	echo '{"bin_dir": "%AIM_REGISTRY_PATH%/../bin"}' >"$W/reg/aim_config.json"
	aim-secret init --keyfile "$W/key"
	run aim bootstrap -r "$W/reg" --no-input
	assert_failure 1
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 --partial '"tool_id":"mkdirp","source":"npm","package":"mkdirp","pin":"1.0.3","previous":null,"version":"1.0.3"'
	assert_line --index 1 '{"tool_id":"mkdirp","action":"missing_secret","secret":"mk/token","message":"mk/token: not in the vault; aim secret set mk/token"}'
	run jq -c '[.action, .installed, .changed]' <<<"${lines[2]}"
	assert_output '["bootstrap",["mkdirp"],true]'
	assert_equal "$(mkdirp --version)" 1.0.3
	printf tok | aim-secret set mk/token
	run aim bootstrap -r "$W/reg" --no-input
	assert_success
	run jq -r '[.action, .changed, .message] | @tsv' <<<"$output"
	assert_output --regexp $'^bootstrap\tfalse\tnothing changed; health (healthy|degraded)$'
}

@test "aim.lock and the records are valid against schemas/lock.json and schemas/install.json" {
	use tpl2
	[ -x "$AJV" ] || skip "ajv-cli not installed: no $AJV"
	cp "$W/reg/aim.lock" lock.json
	cp "$BATS_FILE_TMPDIR/install.out" r1.json
	cp "$BATS_FILE_TMPDIR/upgrade.out" r2.json
	pin 1.0.3
	ai sync -n | split -l 1 -d --additional-suffix=.json - s || true
	ai upgrade -n mkdirp-b >r3.json
	echo '{"tool_id":"a","action":"missing_secret","secret":"a/b","message":"m"}' >r4.json
	echo '{"action":"bootstrap","health_before":"unhealthy","health_after":"degraded","installed":["a"],"failed":[],"secrets_set":0,"changed":true,"message":"m"}' >r5.json
	# One node for the three (tests/fixtures/ajv-batch.js).
	o=$'--spec=draft2020\t--strict-types=true\t--strict-tuples=true\t--errors=text'
	printf 'validate\t%s\t-s\t%s\t-d\t%s\n' \
	    "$o" "$TOP/schemas/lock.json" lock.json \
	    "$o" "$TOP/schemas/install.json" 'r*.json' \
	    "$o" "$TOP/schemas/install.json" 's*.json' >queue
	printf 'validate\t-s\t%s\t-d\tbad.json\n' "$TOP/schemas/lock.json" >>queue
	echo '{"version": 1, "tools": {"a": {"source": "brew", "package": "a", "version": "1"}}}' >bad.json
	run node "$FIX/ajv-batch.js" "$AJV" <queue
	assert_success
	run cut -f 1 <<<"$output"
	assert_output "$(printf '0\n0\n0\n1')"
}

@test "a bad install object is a registry problem at its file:line; exit 3" {
	run aim-install -r "$FIX/install/badreg" install a
	assert_failure 3
	assert_line "aim-install: $FIX/install/badreg/AIM_registry.json:6:7: tool 'a': install must name one of npm, apt, pipx, cargo, go (it names 2)"
	assert_line "aim-install: $FIX/install/badreg/AIM_registry.json:11:26: tool 'b': install.npm is empty"
}

@test "usage errors exit 2; a tool without an install object is skipped; a full stdout is exit 4" {
	run aim-install
	assert_failure 2
	run aim-install frobnicate
	assert_failure 2
	assert_line 'aim-install: unknown command '"'"'frobnicate'"'"''
	run aim-install -r "$FIX/install/registry" install
	assert_failure 2
	assert_line 'aim-install: install: name the tools, or --all'
	run aim-install -r "$FIX/install/registry" -j 0 sync
	assert_failure 2
	run aim-install -r "$FIX/install/registry" uninstall
	assert_failure 2
	run aim-install -r "$REGS/chain" install -n ok1
	assert_success
	assert_output --partial '"action":"skipped"'
	run aim-install -r "$FIX/install/registry" sync -n mkdirp
	assert_failure 2
	assert_line 'aim-install: sync: every tool, none named'
	run aim-install -r "$FIX/install/registry" install -a mkdirp
	assert_failure 2
	assert_line 'aim-install: install: tools or --all, not both'
	run -4 sh -c 'aim-install -r "$1" install -n ok1 >/dev/full' sh "$REGS/chain"
	run aim install --help
	assert_success
	assert_line --partial 'usage: aim-install install'
}

# others: $W a world for the pipx, cargo and go tools of
# tests/fixtures/install/others, whose managers are the stand-ins there
# (offline), their programs made in $W/bin, which is on PATH.
others() {
	W=$BATS_TEST_TMPDIR/o
	mkdir -p "$W/reg/AIM_audit" "$W/bin"
	cp -R "$FIX/install/others/AIM_registry.json" "$FIX/install/others/AIM_cross-tool" "$W/reg/"
	export PATH=$FIX/install/others/stubs:$W/bin:$PATH XDG_DATA_HOME=$W/data \
	    STUB_LOG=$W/log STUB_BIN=$W/bin STUB_MEET=$W
}

@test "-n plans of pipx, cargo and go: the command each would run, exact pin or newest; nothing run" {
	others
	run ai install -n pyt pyr rst rsr gt gtr
	assert_success
	run jq -c '[.tool_id, .action, .version, .plan]' <<<"$output"
	assert_output '["pyt","would_install","1.2.3",["pipx","install","--force","pyt==1.2.3"]]
["pyr","would_install",null,["pipx","install","--force","pyr"]]
["rst","would_install","0.4.0",["cargo","install","rst","--version","0.4.0"]]
["rsr","would_install",null,["cargo","install","rsr","--version","*"]]
["gt","would_install","1.0.0",["go","install","example.com/cmd/gt@v1.0.0"]]
["gtr","would_install",null,["go","install","example.com/cmd/gtr@latest"]]'
	[ ! -e "$W/log" ] || fail "a manager ran: $(cat "$W/log")"
	[ ! -e "$W/reg/aim.lock" ] || fail "aim.lock written"
}

@test "two aim-install runs at once on different tools both end up in aim.lock" {
	others
	mkfifo "$W/f1" "$W/f2"
	# Each run's manager waits for the other's: both read aim.lock first.
	STUB_ROLE=1 timeout 20 aim-install -r "$W/reg" --bin-dir "$W/bin" install pyt >a.out &
	STUB_ROLE=2 timeout 20 aim-install -r "$W/reg" --bin-dir "$W/bin" install rst >b.out
	wait $!
	run jq -sc '[.[] | [.tool_id, .action, .version]]' a.out b.out
	assert_output '[["pyt","installed","1.2.3"],["rst","installed","0.4.0"]]'
	run jq -c '.tools | map_values([.source, .package, .version])' "$W/reg/aim.lock"
	assert_output '{"pyt":["pipx","pyt","1.2.3"],"rst":["cargo","rst","0.4.0"]}'
	# A later run adds its own and keeps theirs.
	ai install gt >/dev/null
	run jq -c '.tools | map_values(.version)' "$W/reg/aim.lock"
	assert_output '{"gt":"1.0.0","pyt":"1.2.3","rst":"0.4.0"}'
}

# secret_world: the others world whose pyt names the vault secret
# pyt/token, with a configuration that puts bin_dir in $W/bin.
secret_world() {
	others
	local f=$W/reg/AIM_registry.json
	jq '.tools.pyt.secrets = {PYT_TOKEN: "pyt/token"}' "$f" >"$f.new" && mv "$f.new" "$f"
	echo '{"bin_dir": "%AIM_REGISTRY_PATH%/../bin"}' >"$W/reg/aim_config.json"
	export AIM_VAULT=$W/vault
}

@test "bootstrap on a terminal asks for a missing secret with aim-secret set and stores it" {
	secret_world
	export AIM_VAULT_KEYFILE=$W/key
	aim-secret init --keyfile "$W/key"
	coproc S { timeout 20 script -qec "aim bootstrap -r $W/reg" /dev/null; }
	# Typed once the prompt shows (read blocks: no polling).
	while IFS= read -r -d : -u "${S[0]}" chunk; do
		[[ $chunk != *"value for pyt/token" ]] || break
	done
	printf 'tok\n' >&"${S[1]}"
	screen=$(cat <&"${S[0]}")
	wait "$S_PID" || true
	[[ $screen == *"secret_set"*"pyt/token: stored in the vault"* ]] || fail "screen: $screen"
	run aim-secret get pyt/token
	assert_output tok
}

@test "bootstrap with a passphrase vault: unchecked_secret, and the message says why and how to look" {
	secret_world
	aim-secret init --passphrase-fd 3 3<<<"a passphrase"
	run aim bootstrap -r "$W/reg" --json
	assert_line --index 1 '{"tool_id":"pyt","action":"unchecked_secret","secret":"pyt/token","message":"pyt/token: not checked: the vault does not open unattended (a passphrase, or a key file without AIM_VAULT_KEYFILE); aim secret list asks and shows what it holds"}'
}

@test "pipx: a real PyPI package (pyflakes 3.2.0) into a pipx home of our own, checked and locked (needs pipx and PyPI)" {
	command -v pipx >/dev/null 2>&1 || skip "pipx is not installed (apt-get install pipx)"
	timeout 10 curl -sf -o /dev/null https://pypi.org/simple/pyflakes/ || skip "PyPI is unreachable"
	W=$BATS_TEST_TMPDIR/p
	mkdir -p "$W/reg/AIM_audit" "$W/reg/AIM_cross-tool" "$W/bin"
	echo '{"tools": {"pyflakes": {"name": "pyflakes", "detectCommands": ["pyflakes"],
	    "versionCommand": ["pyflakes", "--version"], "capabilities": ["linting"],
	    "install": {"pipx": "pyflakes"}, "version": "3.2.0",
	    "adapter": {"argv": ["pyflakes", "{files}"]}}}}' >"$W/reg/AIM_registry.json"
	echo '{"capabilities": {"linting": {"primary": "pyflakes"}}}' \
	    >"$W/reg/AIM_cross-tool/AIM_coordination-rules.json"
	export PIPX_HOME=$W/pipx PIPX_BIN_DIR=$W/bin PATH=$W/bin:$PATH
	run ai install pyflakes
	assert_success
	run jq -c '[.action, .version, .reported]' <<<"$output"
	assert_output '["installed","3.2.0","3.2.0"]'
	run jq -c '.tools.pyflakes | [.source, .package, .version]' "$W/reg/aim.lock"
	assert_output '["pipx","pyflakes","3.2.0"]'
}
