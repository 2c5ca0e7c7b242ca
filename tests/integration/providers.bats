#!/usr/bin/env bats
# tests/providers/stub-provider, the loopback model provider, driven with
# curl: each protocol's answer, tool-call and error shapes, the request log.

load ../helper
load ../providers/providers
# Real jq, not the helper's gojq: these suites compare records with the
# key order the CLIs and the stand-in provider write, and start jq seldom
# beside what the CLIs cost.
unset -f jq

setup_file() {
	# One provider for the file: its tests take turns.
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	provider_start
}

teardown_file() {
	provider_stop
}

setup() {
	common_setup
	: >"$PROVIDER_LOG"
	provider_scenario '{"scenario":"answer"}'
}

# post PATH JSON [CURL-ARGS...]: POST JSON to the provider; body in out,
# "STATUS" on the last line of $output.
post() {
	local path=$1 body=$2
	shift 2
	run curl -sS -o out -w '%{http_code}' "$@" -H 'content-type: application/json' \
	    --data-binary "$body" "$PROVIDER_URL$path"
}

# sse_data: the JSON of every "data:" line of out, one a line.
sse_data() {
	sed -n 's/^data: //p' out | grep -v '^\[DONE\]$'
}

@test "provider_start writes the port, exports the URL and listens on 127.0.0.1 only" {
	[[ $PROVIDER_URL == "http://127.0.0.1:$PROVIDER_PORT" ]]
	[ "$PROVIDER_PORT" -gt 0 ]
	run sh -c "ss -ltnH 'sport = :$PROVIDER_PORT' | awk '{print \$4}'"
	assert_output "127.0.0.1:$PROVIDER_PORT"
}

@test "chat completions: a plain answer, non-stream, with usage" {
	provider_scenario '{"scenario":"answer","text":"hello from the stub"}'
	post /v1/chat/completions '{"model":"gpt-x","messages":[{"role":"user","content":"hi"}]}'
	assert_output 200
	run jq -c '[.object, .model, .choices[0].message.content, .choices[0].finish_reason, .usage.prompt_tokens, .usage.completion_tokens]' out
	assert_output '["chat.completion","gpt-x","hello from the stub","stop",100,20]'
}

@test "chat completions: a streamed answer ends with finish_reason, usage and [DONE]" {
	provider_scenario '{"scenario":"answer","text":"hello from the stub","usage":{"input_tokens":7,"output_tokens":3}}'
	post /v1/chat/completions '{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}'
	assert_output 200
	run sh -c "sed -n 's/^data: //p' out | tail -1"
	assert_output '[DONE]'
	run sh -c "sed -n 's/^data: //p' out | grep -v DONE | jq -sc '[([.[].choices[0].delta.content // empty] | add), ([.[].choices[0].finish_reason // empty] | add), (.[-1].usage | [.prompt_tokens, .completion_tokens])]'"
	assert_output '["hello from the stub","stop",[7,3]]'
}

@test "chat completions: create asks for the generic write_file tool, then answers once the tool result is back" {
	provider_scenario '{"scenario":"create","file":"NEW.md","content":"# new\n"}'
	tools='[{"type":"function","function":{"name":"write_file","parameters":{}}}]'
	post /v1/chat/completions '{"model":"m","tools":'"$tools"',"messages":[{"role":"user","content":"make it"}]}'
	assert_output 200
	run jq -c '.choices[0] | [.finish_reason, .message.tool_calls[0].function.name, (.message.tool_calls[0].function.arguments | fromjson)]' out
	assert_output '["tool_calls","write_file",{"path":"NEW.md","content":"# new\n"}]'
	post /v1/chat/completions '{"model":"m","tools":'"$tools"',"messages":[{"role":"user","content":"make it"},{"role":"assistant","tool_calls":[]},{"role":"tool","tool_call_id":"c","content":"ok"}]}'
	run jq -c '.choices[0] | [.finish_reason, .message.content]' out
	assert_output '["stop","Done: made 1 tool call."]'
}

@test "chat completions: a streamed tool call comes in argument pieces that add up to the arguments" {
	provider_scenario '{"scenario":"edit","file":"src/a.c","old":"x","new":"y"}'
	post /v1/chat/completions '{"model":"m","stream":true,"tools":[{"type":"function","function":{"name":"edit_file"}}],"messages":[{"role":"user","content":"go"}]}'
	assert_output 200
	run sh -c "sed -n 's/^data: //p' out | grep -v DONE | jq -sc '[([.[].choices[0].delta.tool_calls[0]?.function.name // empty] | add), ([.[].choices[0].delta.tool_calls[0]?.function.arguments // empty] | add | fromjson), ([.[].choices[0].finish_reason // empty] | add)]'"
	assert_output '["edit_file",{"path":"src/a.c","old_string":"x","new_string":"y"},"tool_calls"]'
}

@test "models: GET /v1/models lists models" {
	run curl -sS "$PROVIDER_URL/v1/models"
	assert_success
	run jq -r '.object, (.data | length > 0)' <<<"$output"
	assert_output $'list\ntrue'
}

@test "anthropic messages: a plain answer, non-stream" {
	provider_scenario '{"scenario":"answer","text":"hi there"}'
	post /v1/messages '{"model":"claude-x","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}'
	assert_output 200
	run jq -c '[.type, .role, .model, .content, .stop_reason, .usage.input_tokens, .usage.output_tokens]' out
	assert_output '["message","assistant","claude-x",[{"type":"text","text":"hi there"}],"end_turn",100,20]'
}

@test "anthropic messages: the stream has the events in the API's order" {
	provider_scenario '{"scenario":"answer","text":"hello from the stub"}'
	post /v1/messages '{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}'
	assert_output 200
	run sh -c "sed -n 's/^event: //p' out | uniq | tr '\n' ' '"
	assert_output 'message_start content_block_start ping content_block_delta content_block_stop message_delta message_stop '
	run sh -c "sed -n 's/^data: //p' out | jq -sr '[.[] | select(.type == \"content_block_delta\") | .delta.text] | add'"
	assert_output 'hello from the stub'
}

@test "anthropic messages: edit (Claude dialect) reads, then edits the absolute path, then answers" {
	mkdir -p w/src && echo 'int x;' >w/src/a.c
	provider_scenario '{"scenario":"edit","file":"src/a.c","old":"x","new":"y"}'
	tools='[{"name":"Read"},{"name":"Write"},{"name":"Edit"},{"name":"Bash"}]'
	sys='"system":[{"type":"text","text":"Primary working directory: '"$PWD"'/w\n"}]'
	user='{"role":"user","content":"edit"}'
	result='{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"ok"}]}'
	post /v1/messages '{"model":"m",'"$sys"',"tools":'"$tools"',"messages":['"$user"']}'
	run jq -c '[.stop_reason, (.content[] | select(.type == "tool_use") | [.name, .input])]' out
	assert_output '["tool_use",["Read",{"file_path":"'"$PWD"'/w/src/a.c"}]]'
	post /v1/messages '{"model":"m",'"$sys"',"tools":'"$tools"',"messages":['"$user"',{"role":"assistant","content":[]},'"$result"']}'
	run jq -c '[.stop_reason, (.content[] | select(.type == "tool_use") | [.name, .input])]' out
	assert_output '["tool_use",["Edit",{"file_path":"'"$PWD"'/w/src/a.c","old_string":"x","new_string":"y"}]]'
	post /v1/messages '{"model":"m",'"$sys"',"tools":'"$tools"',"messages":['"$user"',{"role":"assistant","content":[]},'"$result"',{"role":"assistant","content":[]},'"$result"']}'
	run jq -c '[.stop_reason, .content[0].text]' out
	assert_output '["end_turn","Done: made 2 tool calls."]'
}

@test "anthropic messages: a streamed tool_use carries its input as input_json_delta pieces" {
	provider_scenario '{"scenario":"create","file":"NEW.md","content":"new\n","cwd":"/w"}'
	post /v1/messages '{"model":"m","stream":true,"tools":[{"name":"Write"},{"name":"Edit"},{"name":"Bash"}],"messages":[{"role":"user","content":"go"}]}'
	assert_output 200
	run sh -c "sed -n 's/^data: //p' out | jq -sc '[(.[] | select(.type == \"content_block_start\" and .content_block.type == \"tool_use\") | .content_block.name), ([.[] | select(.delta.type? == \"input_json_delta\") | .delta.partial_json] | add | fromjson), (.[] | select(.type == \"message_delta\") | .delta.stop_reason)]'"
	assert_output '["Write",{"file_path":"/w/NEW.md","content":"new\n"},"tool_use"]'
}

@test "anthropic count_tokens answers input_tokens" {
	post /v1/messages/count_tokens '{"model":"m","messages":[{"role":"user","content":"hi"}]}'
	assert_output 200
	run jq -c 'keys' out
	assert_output '["input_tokens"]'
}

@test "the request log has one line per request with the key headers redacted" {
	post /v1/messages '{"model":"m","messages":[]}' -H 'x-api-key: sk-ant-secret' -H 'authorization: Bearer sk-secret'
	post /v1/chat/completions '{"model":"m","messages":[]}' -H 'api-key: sk-secret2'
	run provider_requests
	assert_equal "${#lines[@]}" 2
	refute_output --partial secret
	run jq -c '[.method, .path, .headers["x-api-key"], .headers.authorization, .headers["api-key"], .body.model, (.time | test("^[0-9-]+T[0-9:.]+Z$"))]' "$PROVIDER_LOG"
	assert_line --index 0 '["POST","/v1/messages","[redacted]","[redacted]",null,"m",true]'
	assert_line --index 1 '["POST","/v1/chat/completions",null,null,"[redacted]","m",true]'
}

@test "an unknown path is a logged 404, not a crash" {
	post /v1/nothing '{}'
	assert_output 404
	run jq -r '.error.message' out
	assert_output 'stub-provider: no route for POST /v1/nothing'
	run jq -r '.path' "$PROVIDER_LOG"
	assert_output /v1/nothing
}

@test "a scenario file that is not a scenario is a 500 naming the file, and the server goes on" {
	provider_scenario '["edit"]'
	post /v1/messages '{"model":"m","messages":[]}'
	assert_output 500
	run jq -r '.error.message' out
	assert_output "stub-provider: bad scenario: $PROVIDER_SCENARIO: not an object with a string \"scenario\""
	provider_scenario '{"scenario":"answer","text":"back"}'
	post /v1/messages '{"model":"m","messages":[]}'
	assert_output 200
	assert_equal "$(jq -r '.content[0].text' out)" back
}

@test "responses: a streamed answer is created ... output_text deltas ... completed with usage" {
	provider_scenario '{"scenario":"answer","text":"hello from the stub","usage":{"input_tokens":9,"output_tokens":4,"cached_input_tokens":2}}'
	post /v1/responses '{"model":"gpt-5.5","stream":true,"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}]}'
	assert_output 200
	run sh -c "sed -n 's/^event: //p' out | uniq | tr '\n' ' '"
	assert_output 'response.created response.in_progress response.output_item.added response.content_part.added response.output_text.delta response.output_text.done response.content_part.done response.output_item.done response.completed '
	run sh -c "sed -n 's/^data: //p' out | jq -sc '[([.[] | select(.type == \"response.output_text.delta\") | .delta] | add), (.[-1].response | [.status, .model, .output[0].content[0].text, .usage.input_tokens, .usage.output_tokens, .usage.input_tokens_details.cached_tokens]), ([.[].sequence_number] == [range(length)])]'"
	assert_output '["hello from the stub",["completed","gpt-5.5","hello from the stub",9,4,2],true]'
}

@test "responses: the Codex dialect edits through apply_patch, a custom tool call with a patch of whole lines" {
	mkdir w && printf 'int x = 1;\nint y;\n' >w/a.c
	provider_scenario '{"scenario":"edit","file":"a.c","old":"x = 1","new":"x = 2"}'
	tools='[{"type":"function","name":"exec_command"},{"type":"custom","name":"apply_patch"}]'
	user='{"type":"message","role":"user","content":[{"type":"input_text","text":"<environment_context><cwd>'"$PWD"'/w</cwd></environment_context>"}]}'
	post /v1/responses '{"model":"m","stream":true,"tools":'"$tools"',"input":['"$user"']}'
	run sh -c "sed -n 's/^data: //p' out | jq -c 'select(.type == \"response.output_item.done\") | .item | [.type, .name, .input, (.call_id | startswith(\"call_\"))]'"
	assert_output '["custom_tool_call","apply_patch","*** Begin Patch\n*** Update File: a.c\n@@\n-int x = 1;\n+int x = 2;\n*** End Patch\n",true]'
	post /v1/responses '{"model":"m","stream":true,"tools":'"$tools"',"input":['"$user"',{"type":"custom_tool_call","call_id":"c","name":"apply_patch","input":""},{"type":"custom_tool_call_output","call_id":"c","output":"Success"}]}'
	run sh -c "sed -n 's/^data: //p' out | jq -r 'select(.type == \"response.completed\") | .response.output[0].content[0].text'"
	assert_output 'Done: made 1 tool call.'
}

@test "responses: the Codex dialect creates and deletes with apply_patch, shell edits with exec_command" {
	tools='[{"type":"function","name":"exec_command"},{"type":"custom","name":"apply_patch"}]'
	req='{"model":"m","tools":'"$tools"',"input":[{"type":"message","role":"user","content":"<cwd>/w</cwd>"}]}'
	provider_scenario '{"scenario":"create","file":"NEW.md","content":"a\nb\n"}'
	post /v1/responses "$req"
	assert_equal "$(jq -r '.output[0].input' out)" $'*** Begin Patch\n*** Add File: NEW.md\n+a\n+b\n*** End Patch'
	provider_scenario '{"scenario":"delete","file":"old.txt"}'
	post /v1/responses "$req"
	assert_equal "$(jq -r '.output[0].input' out)" $'*** Begin Patch\n*** Delete File: old.txt\n*** End Patch'
	provider_scenario '{"scenario":"shell_edit","command":"echo z >>a.c"}'
	post /v1/responses "$req"
	run jq -c '.output[0] | [.type, .name, (.arguments | fromjson)]' out
	assert_output '["function_call","exec_command",{"cmd":"echo z >>a.c"}]'
}

@test "gemini: streamGenerateContent streams text chunks, the last with finishReason and usageMetadata" {
	provider_scenario '{"scenario":"answer","text":"hello from the stub"}'
	post '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse' '{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}' -H 'x-goog-api-key: k'
	assert_output 200
	run sh -c "sed -n 's/^data: //p' out | jq -sc '[([.[].candidates[0].content.parts[].text] | add), .[-1].candidates[0].finishReason, .[-1].modelVersion, (.[-1].usageMetadata | [.promptTokenCount, .candidatesTokenCount, .totalTokenCount])]'"
	assert_output '["hello from the stub","STOP","gemini-2.5-flash",[100,20,120]]'
}

@test "gemini: generateContent answers whole; countTokens counts" {
	provider_scenario '{"scenario":"answer","text":"hello from the stub"}'
	post /v1beta/models/g:generateContent '{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}'
	assert_output 200
	run jq -c '[.candidates[0].content.parts[0].text, .candidates[0].finishReason]' out
	assert_output '["hello from the stub","STOP"]'
	post /v1beta/models/g:countTokens '{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}'
	assert_output 200
	run jq -c '[keys, (.totalTokens > 0)]' out
	assert_output '[["totalTokens"],true]'
}

@test "gemini: the Gemini dialect edits with replace on the absolute path, then answers after the functionResponse" {
	provider_scenario '{"scenario":"edit","file":"src/a.c","old":"x","new":"y"}'
	tools='[{"functionDeclarations":[{"name":"write_file"},{"name":"replace"},{"name":"run_shell_command"}]}]'
	ctx='{"role":"user","parts":[{"text":"- **Workspace Directories:**\n  - /w\n"}]}'
	post '/v1beta/models/g:streamGenerateContent?alt=sse' '{"tools":'"$tools"',"contents":['"$ctx"']}'
	run sh -c "sed -n 's/^data: //p' out | jq -c '.candidates[0].content.parts[0].functionCall // empty'"
	assert_output '{"name":"replace","args":{"file_path":"/w/src/a.c","old_string":"x","new_string":"y","instruction":"Replace x by y"}}'
	post '/v1beta/models/g:streamGenerateContent?alt=sse' '{"tools":'"$tools"',"contents":['"$ctx"',{"role":"model","parts":[{"functionCall":{"name":"replace","args":{}}}]},{"role":"user","parts":[{"functionResponse":{"name":"replace","response":{"output":"ok"}}}]}]}'
	run sh -c "sed -n 's/^data: //p' out | jq -sr '[.[].candidates[0].content.parts[].text] | add'"
	assert_output 'Done: made 1 tool call.'
}

@test "structured output: a request with a JSON schema gets a JSON value that fits it" {
	post /v1beta/models/g:generateContent '{"contents":[],"generationConfig":{"responseMimeType":"application/json","responseJsonSchema":{"type":"OBJECT","properties":{"why":{"type":"STRING"},"score":{"type":"INTEGER"},"kind":{"type":"STRING","enum":["a","b"]}},"required":["why","score","kind"]}}}'
	run jq -c '.candidates[0].content.parts[0].text | fromjson' out
	assert_output '{"why":"stub","score":1,"kind":"a"}'
	post /v1/chat/completions '{"model":"m","messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}}}}'
	run jq -c '.choices[0].message.content | fromjson' out
	assert_output '{"ok":false}'
}

@test "steps: several tool calls in turn, one per tool result sent back" {
	provider_scenario '{"scenario":"steps","steps":[{"scenario":"create","file":"a","content":"1"},{"scenario":"shell_edit","command":"true"}],"text":"all done"}'
	tools='[{"type":"function","function":{"name":"write_file"}},{"type":"function","function":{"name":"bash"}}]'
	msgs='{"role":"user","content":"go"}'
	for want in write_file bash; do
		post /v1/chat/completions '{"model":"m","tools":'"$tools"',"messages":['"$msgs"']}'
		assert_equal "$(jq -r '.choices[0].message.tool_calls[0].function.name' out)" "$want"
		msgs+=',{"role":"assistant","content":null},{"role":"tool","tool_call_id":"c","content":"ok"}'
	done
	post /v1/chat/completions '{"model":"m","tools":'"$tools"',"messages":['"$msgs"']}'
	assert_equal "$(jq -r '.choices[0].message.content' out)" 'all done'
}

@test "edit_fails: the edit call targets a file that does not exist" {
	provider_scenario '{"scenario":"edit_fails"}'
	post /v1/messages '{"model":"m","tools":[{"name":"Read"},{"name":"Write"},{"name":"Edit"},{"name":"Bash"}],"system":"Primary working directory: /w","messages":[{"role":"user","content":"go"}]}'
	run jq -r '.content[] | select(.type == "tool_use") | .input.file_path' out
	assert_output /w/aim-stub-missing/no-such-dir/missing.txt
	[ ! -e /w/aim-stub-missing ]
}

@test "times: the scenario holds for N model requests, then its then" {
	provider_scenario '{"scenario":"http","status":529,"times":2,"then":{"scenario":"answer","text":"recovered"}}'
	for want in 529 529 200 200; do
		post /v1/messages '{"model":"m","messages":[]}'
		assert_output "$want"
	done
	assert_equal "$(jq -r '.content[0].text' out)" recovered
	# Writing the same scenario again starts the count again.
	provider_scenario '{"scenario":"http","status":529,"times":2,"then":{"scenario":"answer","text":"recovered"}}'
	post /v1/messages '{"model":"m","messages":[]}'
	assert_output 529
}

# error_of PATH BODY: status, Retry-After and the error body of one request.
error_of() {
	run curl -sS -D hdr -o out -w '%{http_code}' -H 'content-type: application/json' \
	    --data-binary "$2" "$PROVIDER_URL$1"
	echo "$output $(sed -n 's/^[Rr]etry-[Aa]fter: *\([^[:space:]]*\).*/\1/p' hdr) $(jq -c . out)"
}

@test "http errors in the Anthropic shape, Retry-After in the header only" {
	for st in 400 401 403 429 503 529; do
		provider_scenario '{"scenario":"http","status":'"$st"',"retry_after":"7"}'
		error_of /v1/messages '{"model":"m","stream":true,"messages":[]}'
	done >got
	run cat got
	assert_output - <<-'OUT'
	400 7 {"type":"error","error":{"type":"invalid_request_error","message":"Invalid request"},"request_id":"req_stub"}
	401 7 {"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_stub"}
	403 7 {"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission to use the specified resource."},"request_id":"req_stub"}
	429 7 {"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization of 50 requests per minute."},"request_id":"req_stub"}
	503 7 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_stub"}
	529 7 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_stub"}
	OUT
	provider_scenario '{"scenario":"http","status":429,"body":{"type":"error","error":{"type":"rate_limit_error","message":"mine"}}}'
	run error_of /v1/messages '{"model":"m","messages":[]}'
	assert_output '429  {"type":"error","error":{"type":"rate_limit_error","message":"mine"}}'
}

@test "prompt_too_long, quota and refusal in the Anthropic shape" {
	provider_scenario '{"scenario":"prompt_too_long"}'
	run error_of /v1/messages '{"model":"m","messages":[]}'
	assert_output '400  {"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 250000 tokens > 200000 maximum"},"request_id":"req_stub"}'
	provider_scenario '{"scenario":"quota"}'
	run error_of /v1/messages '{"model":"m","messages":[]}'
	assert_output --regexp '^400  \{"type":"error","error":\{"type":"invalid_request_error","message":"Your credit balance is too low'
	provider_scenario '{"scenario":"refusal"}'
	post /v1/messages '{"model":"m","messages":[]}'
	run jq -c '[.stop_reason, .content[0].text]' out
	assert_output '["refusal","I can'"'"'t help with that."]'
}

@test "errors in the OpenAI shape, for Chat Completions and Responses alike" {
	for path in /v1/chat/completions /v1/responses; do
		for sc in '"http","status":401' '"http","status":429,"retry_after":"7"' '"http","status":503' '"prompt_too_long"' '"quota"'; do
			provider_scenario '{"scenario":'"$sc"'}'
			error_of "$path" '{"model":"m","stream":true,"messages":[],"input":[]}' |
			    jq -Rr 'split(" ") as $w | [$w[0], $w[1], ($w[2:] | join(" ") | fromjson | .error | .type, .code)] | join(" ")'
		done
	done >got
	run cat got
	assert_output - <<-'OUT'
	401  invalid_request_error invalid_api_key
	429 7 requests rate_limit_exceeded
	503  server_error 
	400  invalid_request_error context_length_exceeded
	429  insufficient_quota insufficient_quota
	401  invalid_request_error invalid_api_key
	429 7 requests rate_limit_exceeded
	503  server_error 
	400  invalid_request_error context_length_exceeded
	429  insufficient_quota insufficient_quota
	OUT
}

@test "refusals in the OpenAI shapes: a refusal field, content_filter, a refusal part" {
	provider_scenario '{"scenario":"refusal","text":"no"}'
	post /v1/chat/completions '{"model":"m","messages":[]}'
	run jq -c '.choices[0] | [.finish_reason, .message.refusal, .message.content]' out
	assert_output '["content_filter","no",null]'
	post /v1/responses '{"model":"m","input":[]}'
	run jq -c '.output[0].content[0]' out
	assert_output '{"type":"refusal","refusal":"no"}'
}

@test "errors in the Gemini shape: code, message, status" {
	for sc in '"http","status":401' '"http","status":403' '"http","status":429' '"http","status":503' '"prompt_too_long"' '"quota"'; do
		provider_scenario '{"scenario":'"$sc"'}'
		error_of '/v1beta/models/g:streamGenerateContent?alt=sse' '{"contents":[]}' |
		    jq -Rr 'split(" ") as $w | [$w[0], ($w[2:] | join(" ") | fromjson | .error | .code, .status)] | join(" ")'
	done >got
	run cat got
	assert_output - <<-'OUT'
	401 401 UNAUTHENTICATED
	403 403 PERMISSION_DENIED
	429 429 RESOURCE_EXHAUSTED
	503 503 UNAVAILABLE
	400 400 INVALID_ARGUMENT
	429 429 RESOURCE_EXHAUSTED
	OUT
	provider_scenario '{"scenario":"refusal"}'
	post /v1beta/models/g:generateContent '{"contents":[]}'
	run jq -c '.candidates[0] | [.finishReason, .content.parts]' out
	assert_output '["SAFETY",[]]'
}

@test "cut: every protocol's stream stops in the middle, without its last event" {
	provider_scenario '{"scenario":"cut"}'
	post /v1/messages '{"model":"m","stream":true,"messages":[]}'
	grep -q '^event: message_start' out
	run grep -c '^event: message_stop' out
	assert_output 0
	post /v1/responses '{"model":"m","stream":true,"input":[]}'
	grep -q 'response.created' out
	run grep -c 'response.completed' out
	assert_output 0
	post /v1/chat/completions '{"model":"m","stream":true,"messages":[]}'
	run grep -c 'DONE' out
	assert_output 0
	post /v1beta/models/g:streamGenerateContent?alt=sse '{"contents":[]}'
	run grep -c finishReason out
	assert_output 0
	grep -q '"text": "This' out
	# Not streamed: half a body, shorter than its Content-Length.
	run curl -sS -o out -H 'content-type: application/json' --data-binary '{"messages":[]}' "$PROVIDER_URL/v1/messages"
	assert_failure 18
}

@test "slow: the stream outlasts a client deadline, yet ends when given the time" {
	provider_scenario '{"scenario":"slow","delay_ms":4000}'
	run curl -sS -m 1 -o out -w '%{http_code}' -H 'content-type: application/json' \
	    --data-binary '{"model":"m","stream":true,"messages":[]}' "$PROVIDER_URL/v1/messages"
	assert_failure 28
	assert_output --partial 200
	run grep -qs '^event: message_stop' out
	assert_failure
	provider_scenario '{"scenario":"slow","delay_ms":10}'
	post /v1/messages '{"model":"m","stream":true,"messages":[]}'
	assert_output 200
	grep -q '^event: message_stop' out
}

@test "provider_stop stops it and closes the port; it is safe when none runs" {
	provider_start '{"scenario":"answer","text":"own"}'
	[ "$PROVIDER_DIR" = "$BATS_TEST_TMPDIR/provider" ]
	pid=$(cat "$PROVIDER_DIR/pid")
	run curl -sS -H 'content-type: application/json' --data-binary '{"messages":[]}' "$PROVIDER_URL/v1/messages"
	assert_equal "$(jq -r '.content[0].text' <<<"$output")" own
	provider_stop
	run kill -0 "$pid"
	assert_failure
	run curl -sS "$PROVIDER_URL/v1/models"
	assert_failure 7
	run provider_stop
	assert_success
	PROVIDER_DIR='' run provider_stop
	assert_success
}

@test "a tool scenario whose action has no tool among those offered answers and says why on stderr" {
	provider_scenario '{"scenario":"create","file":"a","content":"1"}'
	post /v1/chat/completions '{"model":"m","tools":[{"type":"function","function":{"name":"lookup"}}],"messages":[{"role":"user","content":"go"}]}'
	run jq -c '.choices[0] | [.finish_reason, .message.content]' out
	assert_output '["stop","Stub answer."]'
	run tail -1 "$PROVIDER_DIR/stderr"
	assert_output 'stub-provider: dialect generic has no tool for create among the offered ["lookup"]'
}

@test "a request body the stub cannot read is a 500 saying so, and the server goes on" {
	post /v1/messages '{"model":"m","messages":[1]}'
	assert_output 500
	run jq -r '.error.message' out
	assert_output "stub-provider: cannot answer: AttributeError(\"'int' object has no attribute 'get'\")"
	post /v1/messages 'not json at all'
	assert_output 200
	run jq -r '.path' "$PROVIDER_LOG"
	assert_output $'/v1/messages\n/v1/messages'
}

@test "a provider whose test ends without provider_stop goes away with the test's process" {
	# The parent: a shell of our own that ends when we say.
	mkfifo go
	sh -c 'read -r x <go' &
	parent=$!
	mkdir d
	"$PROVIDER_BIN" --port-file d/port --log d/log --parent "$parent" 3>&- &
	pid=$!
	for ((i = 0; i < 400; i++)); do [ -s d/port ] && break; sleep 0.05; done
	[ -s d/port ]
	kill -0 "$pid"
	echo >go
	wait "$parent"
	for ((i = 0; i < 600; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	run kill -0 "$pid"
	assert_failure
}

@test "provider_start twice in one place stops the first" {
	provider_start
	first=$(cat "$PROVIDER_DIR/pid")
	provider_start
	run kill -0 "$first"
	assert_failure
	[ "$(cat "$PROVIDER_DIR/pid")" != "$first" ]
	provider_stop
}
