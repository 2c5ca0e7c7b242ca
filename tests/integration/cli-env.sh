# cli-env.sh - sourced (bash or POSIX sh): aim_cli_env URL points the real
# claude, codex and gemini at the stand-in model provider at URL
# (tests/providers/stub-provider), with their configuration written under
# $HOME, which must be a private directory.  Recipes: tests/providers/README.md.
# Used by tests/integration/ai.bash and examples/demo.sh (act 2).

aim_cli_env()
{
	export ANTHROPIC_BASE_URL="$1" ANTHROPIC_API_KEY=sk-ant-test-0000 \
	    DISABLE_TELEMETRY=1 DISABLE_AUTOUPDATER=1 DISABLE_ERROR_REPORTING=1 \
	    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 CLAUDE_CODE_MAX_RETRIES=1
	export CODEX_HOME="$HOME/.codex" OPENAI_API_KEY=sk-test-0000
	mkdir -p "$CODEX_HOME" "$HOME/.gemini"
	cat >"$CODEX_HOME/config.toml" <<EOT
model_provider = "stub"
model = "gpt-5.5"
[model_providers.stub]
name = "stub"
base_url = "$1/v1"
env_key = "OPENAI_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
EOT
	# gemini: an API key as the auth method, a fixed model (no routing
	# call), two attempts per request instead of ten.
	export GEMINI_API_KEY=test-key GOOGLE_GEMINI_BASE_URL="$1" \
	    GEMINI_MODEL=gemini-2.5-flash
	echo '{"security":{"auth":{"selectedType":"gemini-api-key"}},
	    "general":{"maxAttempts":2},
	    "privacy":{"usageStatisticsEnabled":false},
	    "telemetry":{"enabled":false}}' >"$HOME/.gemini/settings.json"
}
