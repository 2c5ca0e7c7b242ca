# shellcheck shell=sh
# cli-env.sh - sourced (bash or POSIX sh): the environment of the real
# coding CLIs run against the stand-in model provider
# (tests/providers/stub-provider), the one place it is written.  Recipes
# and what each setting spares: tests/providers/README.md.  Used by
# tests/integration/clis.bash, tests/integration/providers.bats and
# examples/demo.sh (act 2).
#
# aim_offline       every proxy variable on a closed loopback port,
#     127.0.0.1 and localhost exempt: nothing leaves the machine
# aim_cli_env URL   claude, codex and gemini pointed at the stand-in at URL,
#     their configuration written under $HOME, which must be a private
#     directory; each CLI retries as little as it can

aim_offline()
{
	export HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 \
	    https_proxy=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 \
	    ALL_PROXY=http://127.0.0.1:9 all_proxy=http://127.0.0.1:9 \
	    NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
}

aim_cli_env()
{
	# claude: one retry, not none: the wait of a 429 (retry_after_ms)
	# is only in the api_retry event of a retry (AIM_claude.sh).
	export ANTHROPIC_BASE_URL="$1" ANTHROPIC_API_KEY=sk-ant-test-0000 \
	    DISABLE_TELEMETRY=1 DISABLE_AUTOUPDATER=1 DISABLE_ERROR_REPORTING=1 \
	    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 CLAUDE_CODE_MAX_RETRIES=1
	export CODEX_HOME="$HOME/.codex" OPENAI_API_KEY=sk-test-0000
	# No key of the caller's own wins over these.
	unset CODEX_API_KEY GOOGLE_API_KEY GOOGLE_GENAI_USE_VERTEXAI
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
	# call), a trusted workspace when run by hand (AIM_gemini.sh passes
	# --skip-trust), one attempt per request instead of ten.
	export GEMINI_API_KEY=test-key GOOGLE_GEMINI_BASE_URL="$1" \
	    GEMINI_MODEL=gemini-2.5-flash GEMINI_CLI_TRUST_WORKSPACE=true
	echo '{"security":{"auth":{"selectedType":"gemini-api-key"}},
	    "general":{"maxAttempts":1},
	    "privacy":{"usageStatisticsEnabled":false},
	    "telemetry":{"enabled":false}}' >"$HOME/.gemini/settings.json"
}
