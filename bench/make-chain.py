#!/usr/bin/env python3
"""bench/make-chain.py N DIR: an audit directory of N chained entries, fast.

Writes the format of aim-audit(1) "The chain" independently of aim (no
fsync, Python's hashlib BLAKE2b): entries named after their timestamp,
tool and capability, seq 1..N, prev the BLAKE2b-256 of the previous file,
and .aim-chain-head with its BLAKE2b-128 check, so that `aim-audit verify`
has N entries to walk and must find them all intact.
"""
import hashlib
import json
import os
import sys


def main():
    n, top = int(sys.argv[1]), sys.argv[2]
    prev = "0" * 64
    path = "-"
    per_day = 20000
    for i in range(n):
        day = "2026-01-%02d" % (1 + i // per_day)
        us = i % per_day
        stamp = "%sT00-00-%02d-%06d" % (day, us // 1000000, us % 1000000)
        iso = "%sT00:00:%02d.%06dZ" % (day, us // 1000000, us % 1000000)
        entry = {
            "timestamp": iso, "actor": "pipeline", "tool_id": "echo",
            "capability": "bench", "payload": {"prompt": "x" * 80},
            "result": {"success": True, "message": "ok", "content": None},
            "id": "b-%d" % i,
            "attempts": [{"tool_id": "echo", "outcome": "success",
                          "exit_code": 0, "duration_ms": 3}],
            "contract": "AIM_INTEGRATION_V1", "seq": i + 1, "prev": prev,
        }
        data = (json.dumps(entry, indent=2) + "\n").encode()
        os.makedirs(os.path.join(top, day), mode=0o700, exist_ok=True)
        path = "%s/%s_echo_bench.json" % (day, stamp)
        with open(os.path.join(top, path), "wb") as f:
            f.write(data)
        prev = hashlib.blake2b(data, digest_size=32).hexdigest()
    body = ("aim-audit-head 1\nseq %d\nhash %s\npath %s\npending -\n"
            % (n, prev, path)).encode()
    check = hashlib.blake2b(body, digest_size=16).hexdigest()
    head = body + ("check %s\n" % check).encode()
    head += b" " * (1023 - len(head)) + b"\n"
    with open(os.path.join(top, ".aim-chain-head"), "wb") as f:
        f.write(head)


main()
