#!/bin/sh
# AIM_clang-format.sh - AIM_INTEGRATION_V1 adapter for clang-format (LLVM).
#
# formatting: clang-format -i FILES...
#   Formats payload.files in place with the nearest .clang-format (LLVM
#   style when there is none).  Only C-family files (C, C++, Objective-C,
#   CUDA, Java, C#, protobuf) are taken: anything else is refused as
#   bad_request so that the next formatter (prettier) gets the request.
#   files_modified comes from cksum before/after; lines from diff(1).
# version: clang-format --version
# Failures: a missing file or unsupported type -> bad_request; a non-zero
#   exit ("error: ...", e.g. an invalid .clang-format) -> bad_request with
#   the last lines of stderr; killed at the time budget -> timeout.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
case $0 in */*) . "${0%/*}/lib.sh" ;; *) . ./lib.sh ;; esac

aim_init clang-format
case $AIM_CAP in
version) aim_version clang-format --version ;;
formatting) ;;
*) aim_unknown_capability "formatting, version" ;;
esac
aim_require_command clang-format
aim_require_files '\.(c|h|cc|cpp|cxx|c\+\+|hh|hpp|hxx|h\+\+|inl|m|mm|cu|cuh|java|cs|proto)$' \
    "C, C++, Objective-C, CUDA, Java, C#, protobuf"
aim_snapshot
aim_run_files /dev/null clang-format -i
[ "$AIM_RC" -eq 0 ] || aim_fail_run "" bad_request
aim_changes "$AIM_TMP/content.json"
aim_reply_changes "formatted $(aim_nfiles) file(s)" \
    "$AIM_TMP/content.json"
