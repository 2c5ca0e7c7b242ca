#!/usr/bin/env bats
# aim-fanout and aim-apply: a routed record's candidates run at once, each
# in its own worktree; the one that passes verify wins; its diff is
# applied, all or nothing, to a tree that has not changed since.  The
# project is tests/fixtures/fanout/repo (its test.sh fails until add
# adds); the tools are the stand-ins of tests/fixtures/fanout/tool.sh.

load helper

setup() {
	common_setup
	export XDG_STATE_HOME=$BATS_TEST_TMPDIR/state
	export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t.invalid \
	    GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t.invalid
	WT=$XDG_STATE_HOME/aim/worktrees
	TOOL=$FIX/fanout/tool.sh
	cp -R "$FIX/fanout/repo" p
	cd p || return 1
	git init -q && git add . && git commit -qm base
}

# rec TIMEOUT_MS TOOL[:MS]...: one routed record whose candidates are
# TOOLs, each with timeout_ms MS, else TIMEOUT_MS.
rec() {
	local ms=$1 sep= t
	shift
	printf '{"id":"r1","capability":"fix","payload":{"prompt":"fix add"},'
	printf '"route":{"capability":"fix","strategy":"ordered",'
	printf '"registry":"/nonexistent","candidates":['
	for t in "$@"; do
		[[ $t == *:* ]] || t=$t:$ms
		printf '%s{"tool_id":"%s","status":"ready","argv":["%s"],"timeout_ms":%s,"pass_env":["FANOUT_MARK"]}' \
		    "$sep" "${t%:*}" "$TOOL" "${t#*:}"
		sep=,
	done
	printf ']}}\n'
}

# worktrees_left: the entries under the worktrees' directory, and the
# repository's worktrees besides its own.
worktrees_left() {
	echo "$(find "$WT" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" \
	    "$(($(git worktree list | wc -l) - 1))"
}

@test "--help and -V: usage on stdout, exit 0; bad options exit 2" {
	run -0 aim-fanout --help
	assert_line --index 0 "usage: aim-fanout [-k] [-c config] [-n count] [-o order] [-r registry] [-t tool,...]"
	assert_line "See aim-fanout(1)."
	run -0 aim-apply --help
	assert_line --index 0 "usage: aim-apply [-n] [-t tool] [file ...]"
	run -0 aim-apply -V
	assert_output --regexp '^aim-apply [0-9]+\.[0-9]+\.[0-9]+$'
	run -2 --separate-stderr aim-fanout -o biggest
	assert_equal "${stderr_lines[0]}" "aim-fanout: -o biggest: want smallest-diff, lowest-cost, fastest or judge"
	run -2 --separate-stderr aim-fanout -n 0
	assert_equal "${stderr_lines[0]}" "aim-fanout: -n 0: want a number from 1 to 64"
	run -2 --separate-stderr aim-apply -x
	assert_equal "${stderr_lines[0]}" "aim-apply: invalid option -- 'x'"
}

@test "the fixing tool wins over the breaking and the timed-out one; apply leaves exactly its diff; no worktree left" {
	rec 10000 breaker fixer sleeper:300 >../in.jsonl
	run -0 --separate-stderr aim-fanout --verify 'sh test.sh' ../in.jsonl
	echo "$output" >../fan.jsonl
	run -0 jq -r '.fanout | .winner, .why,
	    (.candidates[] | [.tool_id, .status, (.verify.status | tostring),
	      .files_changed, .lines_added, .lines_removed] | join(" ")),
	    (.disk_bytes > 0), .kept' ../fan.jsonl
	assert_output "fixer
passed verify; smallest diff (2 lines in 1 file) of 1
breaker success failed 2 2 2
fixer success passed 1 1 1
sleeper timeout null 0 0 0
true
false"
	assert_equal "$(worktrees_left)" "0 0"
	run -0 --separate-stderr aim-apply ../fan.jsonl
	assert_equal "$(jq -c -S .apply <<<"$output")" '{"applied":true,"files":["calc.sh"],"tool_id":"fixer"}'
	assert_equal "$(git status --porcelain)" " M calc.sh"
	assert_equal "$(git diff)" "$(jq -r '.fanout.candidates[1].diff' ../fan.jsonl | sed '$d')"
	run -0 sh test.sh
}

@test "each worktree holds the user's uncommitted and untracked files, not the ignored ones; apply keeps them" {
	echo '# wip' >>test.sh
	echo note >notes.txt
	echo secret >.env
	echo .env >.gitignore
	rec 10000 peek fixer >../in.jsonl
	run -0 --separate-stderr aim-fanout --verify 'sh test.sh' ../in.jsonl
	echo "$output" >../fan.jsonl
	run -0 jq -r '.fanout.candidates[0].result.message, .fanout.winner' ../fan.jsonl
	assert_output " M test.sh ?? .gitignore ?? notes.txt | note
fixer"
	run -0 aim-apply ../fan.jsonl
	assert_equal "$(git status --porcelain | tr '\n' ' ')" " M calc.sh  M test.sh ?? .gitignore ?? notes.txt "
	run -0 sh test.sh
}

@test "a candidate's diff is what git add -A sees there: files gone, moved, re-moded, linked, rewritten at the same size and mtime, made; ignored ones left out" {
	printf '*.log\n' >.gitignore
	printf 'aaaa\n' >same.txt
	git add .gitignore same.txt && git commit -qm more
	echo wip >>calc.sh
	echo mine >u.txt
	rec 10000 shuffler peek >../in.jsonl
	run -0 --separate-stderr aim-fanout ../in.jsonl
	jq -j '.fanout.candidates[0].diff' <<<"$output" >../got.diff
	assert_equal "$(jq -c '[.fanout.candidates[1].diff]' <<<"$output")" '[""]'
	# The same changes in a copy of the tree, and git add -A there with a
	# new index, which hashes every file.
	cp -a . ../ref && cd ../ref
	git add -A && base=$(git write-tree)
	AIM_TOOL_ID=shuffler sh "$TOOL" </dev/null >/dev/null
	rm .git/index && git add -A
	git diff --cached --binary --src-prefix=a/ --dst-prefix=b/ "$base" >../want.diff
	run -0 grep '^diff --git' ../got.diff
	assert_output "diff --git a/calc.sh b/calc2.sh
diff --git a/link.sh b/link.sh
diff --git a/new/deep/n.txt b/new/deep/n.txt
diff --git a/same.txt b/same.txt
diff --git a/test.sh b/test.sh
diff --git a/u.txt b/u.txt"
	run -0 cmp ../want.diff ../got.diff
}

@test "a state's tree git cannot write: the copies checked out meanwhile are removed, the record is no_worktree, exit 1" {
	echo wip >>calc.sh
	rec 10000 fixer peek >../in.jsonl
	# A git whose add into aim's own index fails, as on a full disk.
	mkdir ../bin
	printf '#!/bin/sh\ncase "$GIT_INDEX_FILE $*" in\n*-index-*" add -A"*) echo "fatal: disk full" >&2; exit 128 ;;\nesac\nexec %s "$@"\n' \
	    "$(command -v git)" >../bin/git
	chmod +x ../bin/git
	PATH=$PWD/../bin:$PATH run -1 --separate-stderr aim-fanout ../in.jsonl
	assert_equal "$stderr" "aim-fanout: ../in.jsonl:1: git add: fatal: disk full"
	assert_equal "$(jq -c '.error | [.code, .message]' <<<"$output")" '["no_worktree","git add: fatal: disk full"]'
	assert_equal "$(worktrees_left)" "0 0"
}

@test "--link and --copy bring ignored files in, --setup runs first, --keep keeps the worktree" {
	printf 'node_modules\n.env\n' >.gitignore
	mkdir node_modules && echo lib >node_modules/m.js
	echo KEY=1 >.env
	git add .gitignore && git commit -qm ignore
	rec 10000 peek >../in.jsonl
	run -0 --separate-stderr aim-fanout -k --link node_modules --copy .env \
	    --copy missing --setup 'echo set-up >notes.txt' ../in.jsonl
	d=$(jq -r '.fanout.candidates[0].worktree' <<<"$output")
	assert_equal "$(jq -r '.fanout.candidates[0].result.message' <<<"$output")" "?? notes.txt | set-up"
	assert [ -L "$d/node_modules" ]
	assert_equal "$(cat "$d/node_modules/m.js" "$d/.env")" "lib
KEY=1"
	assert_equal "$(worktrees_left)" "1 1"
	# A later run sweeps what dead runs left, never what was kept.
	run -0 aim-fanout </dev/null
	assert_equal "$(worktrees_left)" "1 1"
}

@test "from a directory below the top (untracked, empty): the tool runs in the same place of its copy" {
	rec 10000 peek >../in.jsonl
	mkdir -p sub/dir && cd sub/dir
	run -0 --separate-stderr aim-fanout ../../../in.jsonl
	assert_equal "$(jq -c '.fanout | [.base.prefix, .candidates[0].status]' <<<"$output")" '["sub/dir/","success"]'
}

@test "a failing --setup: the candidate is an error, its worktree gone" {
	rec 10000 fixer >in.jsonl
	run -1 --separate-stderr aim-fanout --setup 'echo no >&2; exit 3' in.jsonl
	assert_equal "$(jq -c '.fanout.candidates[0] | [.status, .message]' <<<"$output")" '["error","setup command failed: no"]'
	assert_equal "$(worktrees_left)" "0 0"
}

@test "apply refuses when the tree changed since the fan-out, naming the files; nothing is applied" {
	rec 10000 fixer >in.jsonl
	aim-fanout in.jsonl >../fan.jsonl
	echo '# mine' >>calc.sh
	run -1 --separate-stderr aim-apply ../fan.jsonl
	assert_equal "$stderr" "aim-apply: ../fan.jsonl:1: conflict: the tree changed since the fan-out: calc.sh"
	assert_equal "$(jq -c -S .apply <<<"$output")" '{"applied":false,"conflicts":["calc.sh"],"message":"the tree changed since the fan-out: calc.sh","reason":"conflict","tool_id":"fixer"}'
	assert_equal "$(git diff --stat | tail -1)" " 1 file changed, 1 insertion(+)"
	git checkout -q calc.sh
	echo new >new.txt
	run -1 --separate-stderr aim-apply ../fan.jsonl
	assert_equal "$stderr" "aim-apply: ../fan.jsonl:1: base_changed: the tree changed since the fan-out: new.txt"
	rm new.txt
	git commit -q --allow-empty -m moved
	run -1 --separate-stderr aim-apply ../fan.jsonl
	assert_equal "$(jq -r .apply.reason <<<"$output")" base_changed
	assert_equal "$(git status --porcelain)" "?? in.jsonl"
}

@test "apply: -n checks only, -t picks another candidate, no winner and bad records are errors (exit 1)" {
	rec 10000 fixer breaker >in.jsonl
	aim-fanout --verify 'sh test.sh' in.jsonl >../fan.jsonl
	run -0 aim-apply -n ../fan.jsonl
	assert_equal "$(jq -c -S .apply <<<"$output")" '{"applied":false,"files":["calc.sh"],"tool_id":"fixer"}'
	assert_equal "$(git status --porcelain)" "?? in.jsonl"
	run -0 aim-apply -t breaker ../fan.jsonl
	assert_equal "$(git status --porcelain | tr '\n' ' ')" " M calc.sh ?? extra.txt ?? in.jsonl "
	git checkout -q . && rm extra.txt
	rec 200 sleeper >in.jsonl
	aim-fanout in.jsonl >../none.jsonl || true
	printf '%s\n' 'nope' '{"id":"x"}' '{"id":"e","error":{"code":"c"}}' >>../none.jsonl
	run -1 --separate-stderr aim-apply ../none.jsonl
	assert_equal "$stderr" 'aim-apply: ../none.jsonl:1: no_winner: no candidate succeeded
aim-apply: ../none.jsonl:2: invalid JSON at column 4: '"'[' or '{' expected near 'nope'"'
aim-apply: ../none.jsonl:3: no "fanout": pipe records through aim-fanout first'
	assert_equal "$(jq -c '[.apply.reason, .error.code]' <<<"$output" | tr '\n' ' ')" '["no_winner",null] [null,"invalid_json"] [null,"invalid_record"] [null,"c"] '
}

@test "fanout: bad records become error records (exit 1); -t and -n choose the candidates; -o orders" {
	{ echo '[1]'; echo '{"id":"a"}'; rec 10000 fixer | sed 's/"ready"/"not_installed"/'
	  echo '{"id":"e","error":{"code":"c"}}'; } >in.jsonl
	run -1 --separate-stderr aim-fanout in.jsonl
	assert_equal "$stderr" 'aim-fanout: in.jsonl:1: a record must be a JSON object
aim-fanout: in.jsonl:2: no "route.candidates": pipe requests through aim-resolve first
aim-fanout: in.jsonl:3: no ready candidate to fan out to'
	assert_equal "$(jq -r .error.code <<<"$output" | tr '\n' ' ')" "invalid_record invalid_record no_candidate c "
	rec 10000 fixer breaker peek >in.jsonl
	run -0 aim-fanout -t peek,breaker in.jsonl
	assert_equal "$(jq -c '[.fanout.candidates[].tool_id], .fanout.winner' <<<"$output" | tr '\n' ' ')" '["breaker","peek"] "breaker" '
	run -0 aim-fanout -n 1 in.jsonl
	assert_equal "$(jq -c '[.fanout.candidates[].tool_id]' <<<"$output")" '["fixer"]'
	run -0 aim-fanout -o lowest-cost -n 2 in.jsonl
	assert_equal "$(jq -r .fanout.why <<<"$output")" 'succeeded; lowest cost ($0.01) of 2'
	# The capability rule's verify, through the route.
	sed 's/"strategy"/"verify":"sh test.sh","strategy"/' in.jsonl >v.jsonl
	run -0 aim-fanout -o lowest-cost -n 2 v.jsonl
	assert_equal "$(jq -r .fanout.why <<<"$output")" 'passed verify; lowest cost ($0.02) of 1'
	# A verify naming a capability: its route's tool runs in each copy.
	sed 's|"strategy"|"verify":{"capability":"testing","route":{"capability":"testing","strategy":"ordered","registry":"/nonexistent","candidates":[{"tool_id":"tests","status":"ready","argv":["sh","test.sh"],"adapter":{"argv":["sh","test.sh"]}}]}},"strategy"|' in.jsonl >c.jsonl
	run -0 aim-fanout -n 2 c.jsonl
	assert_equal "$(jq -c '.fanout | [.verify, .why, [.candidates[].verify | .capability, .tool_id, .status, .exit]]' <<<"$output")" \
	    '[{"capability":"testing"},"passed verify; smallest diff (2 lines in 1 file) of 1",["testing","tests","passed",0,"testing","tests","failed",1]]'
	assert_equal "$(worktrees_left)" "0 0"
}

# judge_says RESPONSE: the stand-in judge's reply, RESPONSE its content.response.
judge_says() {
	jq -nc --arg r "$1" '{success: true, message: "judged", content: {response: $r}}' >../reg/reply.json
}

@test "--judge: a judge routed through aim picks the winner; a bad answer, a failed or a missing judge falls back to the order" {
	(cd .. && fixture_registry "$FIX/fanout/judge")
	rec 10000 fixer breaker bulky >in.jsonl
	judge_says $'Breaker is bolder.\n```json\n{"winner": "breaker", "why": "bolder"}\n```'
	run -0 aim-fanout -r ../reg -o judge in.jsonl
	assert_equal "$(jq -c '.tool_id, (.fanout | .order, .winner, .why, .judge.tool_id, .judge.answer)' <<<"$output" | tr '\n' ' ')" \
	    '"breaker" "smallest-diff" "breaker" "judged by referee (capability '"'judge'"'): bolder" "referee" {"why":"bolder","winner":"breaker"} '
	# It was shown each diff, 64 KiB of them in all, a cut one marked.
	assert_equal "$(jq -r .payload.prompt ../reg/judged.json | grep -E '^(===|-#|\[diff cut)')" \
	    "=== candidate fixer ===
=== candidate breaker ===
-# calc.sh: the arithmetic of the sample project.
=== candidate bulky ===
[diff cut: 21845 of its 129017 bytes shown]"
	# An answer naming no candidate, none at all, a failed judge, none
	# (two candidates will do).
	local order="succeeded; smallest diff (2 lines in 1 file) of 2; the judge (capability 'judge') was not followed"
	judge_says '{"winner": "nobody"}'
	run -0 aim-fanout -n 2 -r ../reg -o judge in.jsonl
	assert_equal "$(jq -r '.fanout | .winner + " " + .why' <<<"$output")" "fixer $order: it named 'nobody', not a candidate that may win"
	judge_says 'I cannot decide.'
	run -0 aim-fanout -n 2 -r ../reg --judge judge in.jsonl
	assert_equal "$(jq -r '.fanout | .winner + " " + .why + " " + .judge.error' <<<"$output")" "fixer $order: its response holds no JSON object its response holds no JSON object"
	echo '{"success": false, "message": "no opinion", "content": null}' >../reg/reply.json
	run -0 aim-fanout -n 2 -r ../reg -o judge in.jsonl
	assert_equal "$(jq -r .fanout.why <<<"$output")" "$order: it failed: All tools failed for capability 'judge': referee: no opinion"
	run -0 aim-fanout -n 2 -r ../reg --judge umpire in.jsonl
	assert_equal "$(jq -r .fanout.why <<<"$output")" "${order/\'judge\'/\'umpire\'}: unknown capability 'umpire'; known: judge"
}

@test "outside git: a plain copy per candidate, the diff against it, applied" {
	rm -rf .git
	rec 10000 fixer >in.jsonl
	run -0 --separate-stderr aim-fanout --verify 'sh test.sh' in.jsonl
	echo "$output" >../fan.jsonl
	assert_equal "$(jq -r '.fanout | .winner + " [" + .base.head + "]"' ../fan.jsonl)" "fixer []"
	assert_equal "$(worktrees_left 2>/dev/null | cut -d' ' -f1)" 0
	run -0 aim-apply ../fan.jsonl
	run -0 sh test.sh
	run -1 --separate-stderr aim-apply ../fan.jsonl
	assert_equal "$stderr" "aim-apply: ../fan.jsonl:1: base_changed: the tree changed since the fan-out"
}

@test "SIGTERM: the candidates are cut short, the worktrees removed, the record written, exit 143" {
	rec 30000 sleeper >in.jsonl
	FANOUT_MARK=$PWD/../mark aim-fanout in.jsonl >../out.jsonl 2>/dev/null &
	pid=$!
	for _ in $(seq 200); do [ -e ../mark ] && break; sleep 0.02; done
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	assert_equal "$(jq -c '[.fanout.candidates[].status], .fanout.winner' ../out.jsonl | tr '\n' ' ')" '["interrupted"] null '
	assert_equal "$(worktrees_left)" "0 0"
}

@test "SIGTERM while waiting for input: exit 143 at once" {
	mkfifo ../in
	aim-fanout ../in >/dev/null 2>&1 &
	pid=$!
	exec 7>../in
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	exec 7>&-
	assert_equal "$st" 143
}

@test "kill -9 leaves worktrees; the next run sweeps them, never a live run's" {
	rec 30000 sleeper >in.jsonl
	FANOUT_MARK=$PWD/../mark aim-fanout in.jsonl >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 200); do [ -e ../mark ] && break; sleep 0.02; done
	kill -KILL "$pid"
	wait "$pid" || true
	# The orphaned candidate stops its tool (the sleeper removes the mark).
	for _ in $(seq 200); do [ -e ../mark ] || break; sleep 0.02; done
	assert_equal "$(worktrees_left)" "1 1"
	run -0 aim-fanout </dev/null
	assert_equal "$(worktrees_left)" "0 0"
}

@test "audit: the fan-out record's entry carries the candidates, the winner and why" {
	rec 10000 fixer >in.jsonl
	run -0 sh -c 'aim-fanout in.jsonl | aim-audit -d ../audit'
	run -0 jq -r '[.tool_id, .fanout.winner, .fanout.candidates[0].files_changed] | join(" ")' ../audit/*/*.json
	assert_output "fixer fixer 1"
}

@test "a closed or full stdout is exit 4" {
	rec 10000 fixer >in.jsonl
	run -4 --separate-stderr sh -c 'aim-fanout in.jsonl >/dev/full'
	run -4 --separate-stderr sh -c 'aim-apply in.jsonl >&-'
	assert_equal "$stderr" "aim-apply: standard output is closed"
}
