#!/usr/bin/env bats
# tests/providers/stub-provider, the loopback model provider, driven with
# curl: each protocol's answer, tool-call and error shapes, the request log.

load helper
load providers/providers

setup_file() {
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
