#!/usr/bin/env bats
# AIM_openai-compat.sh, the adapter for any OpenAI-compatible endpoint
# (Ollama, llama.cpp, vLLM, LM Studio), as the registry's "ollama" entry
# pointed at tests/providers/stub-provider: the files go to the model as
# chat messages with curl, the unified diff it answers is checked, then
# applied.

load clis

CLI=ollama
CLI_TIMEOUT_MS=60000

cli_env() {
	recipe_ollama
}

# answer TEXT: the stand-in's answer is TEXT.
answer() {
	provider_scenario "$(jq -nc --arg t "$1" '{scenario: "answer", text: $t}')"
}

@test "openai-compat: version lists the endpoint's models" {
	cli_version
	assert_success
	run result '[.result.success, .result.content.endpoint == env.PROVIDER_URL + "/v1", (.result.content.models | length > 0), (.result.content.version | test("^[0-9]+\\."))]'
	assert_output '[true,true,true,true]'
	run jq -r '[.method, .path] | @tsv' "$PROVIDER_LOG"
	assert_output "GET	/v1/models"
}

@test "openai-compat: the answer's diff is checked, applied, and its files reported" {
	answer 'Declared and documented:

```diff
--- a/src/main.c
+++ b/src/main.c
@@ -5,3 +5,3 @@
 int main(int argc,char **argv){
-int i;int total=0;
+int i; int total = 0;
     for(i=1;i<argc;i++){ total+=parse_count(argv[i]);
--- /dev/null
+++ b/NOTES.md
@@ -0,0 +1,2 @@
+# Notes
+main.c sums its arguments.
```
'
	ask "space the declarations and write NOTES.md" '["src/main.c"]'
	assert_success
	run result '[.result.success, .result.message, .result.content.files_modified, .result.content.files_created, .result.content.lines_added, .result.content.lines_removed, .result.content.patch_applied, .result.content.model, .result.content.usage.input_tokens]'
	assert_output '[true,"diff applied (1 modified, 1 created; +3 -1 lines)",["src/main.c"],["NOTES.md"],3,1,true,"coder-7b",100]'
	grep -qxF 'int i; int total = 0;' src/main.c
	assert_equal "$(sed -n 2p NOTES.md)" "main.c sums its arguments."
	# One request: the registry's model, the file's content in the prompt.
	run jq -r '[.path, .body.model, .body.stream, (.body.messages[1].content | contains("File src/main.c:\n```\n/* main.c"))] | @tsv' "$PROVIDER_LOG"
	assert_output "/v1/chat/completions	coder-7b	false	true"
}

@test "openai-compat: an answer without a diff is a response only" {
	answer "main.c adds up its arguments."
	ask "what does src/main.c do?" '["src/main.c"]'
	assert_success
	run result '[.result.success, .result.message, .result.content.response, .result.content.patch_applied, .result.content.files_modified]'
	assert_output '[true,"answered, no diff (0 modified, 0 created; +0 -0 lines)","main.c adds up its arguments.",false,[]]'
	run git status --porcelain
	assert_output ''
}

@test "openai-compat: a diff that does not apply is bad_request and writes nothing" {
	answer '```diff
--- a/src/main.c
+++ b/src/main.c
@@ -1,1 +1,1 @@
-this line is not in the file
+nor is this one
--- /dev/null
+++ b/NEW.txt
@@ -0,0 +1 @@
+new
```'
	ask "edit" '["src/main.c"]'
	assert_failure 1
	run result '[.attempts[0].error_class, (.attempts[0].message | test("does not apply, nothing written"))]'
	assert_output '["bad_request",true]'
	run git status --porcelain
	assert_output ''
}

@test "openai-compat: HTTP 401 is auth, 429 rate_limit with Retry-After, 503 transient" {
	provider_scenario '{"scenario":"http","status":401}'
	ask "hi"
	assert_failure 1
	run result '[(.attempts | length), .attempts[0].error_class, (.attempts[0].message | test("HTTP 401: Incorrect API key"))]'
	assert_output '[1,"auth",true]'
	provider_scenario '{"scenario":"http","status":429,"retry_after":"7"}'
	ask "hi"
	assert_failure 1
	run result '[.attempts[0].error_class, .attempts[0].retry_after_ms]'
	assert_output '["rate_limit",7000]'
	provider_scenario '{"scenario":"http","status":503}'
	ask "hi"
	assert_failure 1
	run result '[.attempts[0].error_class, (.attempts[0].message | test("HTTP 503"))]'
	assert_output '["transient",true]'
}

@test "openai-compat: nothing listening at the endpoint is transient" {
	jq '.tools.ollama.endpoint = "http://127.0.0.1:9/v1"' ../reg/AIM_registry.json \
	    >../reg/r.json && mv ../reg/r.json ../reg/AIM_registry.json
	ask "hi"
	assert_failure 1
	run result '[.attempts[0].error_class, (.attempts[0].message | test("POST http://127.0.0.1:9/v1/chat/completions: .*[Cc]onnect"))]'
	assert_output '["transient",true]'
}
