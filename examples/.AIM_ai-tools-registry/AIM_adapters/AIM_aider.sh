#!/bin/sh
# AIM_aider.sh - AIM_INTEGRATION_V1 adapter for Aider
# (PyPI aider-chat, command "aider").
#
# code_generation, refactoring:
#   aider --yes-always --no-auto-commits --no-gitignore --no-pretty
#       --no-stream --no-check-update --no-show-release-notes --no-analytics
#       --no-suggest-shell-commands [--no-git] --message-file PROMPT FILES...
#   The original AIM ran "aider --yes --no-auto-commits --message <prompt>
#   <files...>"; --yes-always is today's name for --yes; the prompt goes
#   through a file (no argv size limit); --no-git outside a git work tree
#   (else --yes-always would "git init" the user's directory).
#   Without a model or API key aider offers an OpenRouter login in the
#   browser, which --yes-always would accept and then wait for: so no key
#   variable and no .aider.conf.yml / .env at all fails at once as auth.
# version: aider --version
# Failures: aider may report API errors and still exit 0, so its output is
#   searched for litellm's exception names: AuthenticationError,
#   PermissionDeniedError -> auth; RateLimitError -> quota when its text
#   says quota or billing, else rate_limit; ContextWindowExceededError ->
#   context_too_long; ContentPolicyViolationError -> content_policy;
#   APIConnectionError, ServiceUnavailableError, InternalServerError,
#   Timeout -> transient; BadRequestError, NotFoundError -> bad_request
#   (after a look at the text: a BadRequestError may be about the context
#   or the policy); killed at the time budget -> timeout.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
case $0 in */*) . "${0%/*}/lib.sh" ;; *) . ./lib.sh ;; esac

aim_init aider
case $AIM_CAP in
version) aim_version aider --version ;;
code_generation | refactoring) ;;
*) aim_unknown_capability "code_generation, refactoring, version" ;;
esac
aim_require_command aider
aim_prompt

keys=${AIDER_MODEL:-}${OPENAI_API_KEY:-}${ANTHROPIC_API_KEY:-}${GEMINI_API_KEY:-}
keys=$keys${DEEPSEEK_API_KEY:-}${OPENROUTER_API_KEY:-}${VERTEXAI_PROJECT:-}
if [ -z "$keys" ] && [ ! -f "${HOME:-/nonexistent}/.aider.conf.yml" ] &&
    [ ! -f .aider.conf.yml ] && [ ! -f .env ] &&
    [ ! -f "${HOME:-/nonexistent}/.env" ]; then
	aim_fail auth "authentication failed: no model or API key configured (set AIDER_MODEL and the provider's key, e.g. ANTHROPIC_API_KEY)"
fi

set -- aider --yes-always --no-auto-commits --no-gitignore --no-pretty \
    --no-stream --no-check-update --no-show-release-notes --no-analytics \
    --no-suggest-shell-commands
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	set -- "$@" --no-git
fi
aim_snapshot
aim_run_files /dev/null "$@" --message-file "$AIM_TMP/prompt.txt"

pattern='litellm\.[A-Za-z]*Error|Login to OpenRouter|No LLM model was specified'
detail=$(grep -Eh "$pattern" "$AIM_OUT" "$AIM_ERR" | tail -n 1)
if [ "$AIM_RC" -ne 0 ] || [ -n "$detail" ]; then
	printf '%s\n' "$detail" >"$AIM_TMP/litellm"
	case $detail in
	*AuthenticationError* | *PermissionDeniedError* | *OpenRouter* | \
	    *"No LLM model"*)
		class=auth ;;
	*ContextWindowExceededError*) class=context_too_long ;;
	*ContentPolicyViolationError*) class=content_policy ;;
	*RateLimitError*)
		class=$(aim_classify "$AIM_TMP/litellm")
		[ "$class" = quota ] || class=rate_limit
		;;
	*APIConnectionError* | *ServiceUnavailableError* | \
	    *InternalServerError* | *Timeout*)
		class=transient ;;
	*BadRequestError* | *NotFoundError*)
		class=$(aim_classify "$AIM_TMP/litellm")
		case $class in
		context_too_long | content_policy | quota) ;;
		*) class=bad_request ;;
		esac
		;;
	*) class= ;;
	esac
	aim_fail_run "$(aim_flat "$detail")" "$class"
fi
aim_changes "$AIM_TMP/content.json"
aim_reply_changes "done" "$AIM_TMP/content.json"
