#!/bin/sh
# AIM_kilo.sh - AIM_INTEGRATION_V1 adapter for Kilo Code CLI (npm
# @kilocode/cli, command "kilo"; the binary is the package
# @kilocode/cli-linux-x64 or its kin).  kilo is a fork of opencode: the
# same "run --format json" and the same events, so AIM_opencode.sh serves
# it (see there), with --auto (kilo asks before its tools run otherwise),
# KILO_ for OPENCODE_ and ~/.config/kilo/kilo.json for opencode.json (a
# provider of one's own: {"npm": "@ai-sdk/openai-compatible", "options":
# {"baseURL": URL, "apiKey"}, "models": {...}}, no Kilo login needed).
AIM_OPENCODE_CLI=kilo
export AIM_OPENCODE_CLI
exec sh "$(dirname "$0")/AIM_opencode.sh"
