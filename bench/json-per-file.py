#!/usr/bin/env python3
"""bench/json-per-file.py N DIR ID: the baseline of bench/audit-chain.

Writes N small JSON entries, one file each, into DIR/<day>/ with the same
durability as aim-audit: a temporary file, fsync, link to its final name
(never replacing), fsync of the directory.  No chain, no lock.  ID keeps
the names of concurrent writers apart.
"""
import json
import os
import sys
import time


def main():
    n, top, wid = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    day = os.path.join(top, time.strftime("%Y-%m-%d", time.gmtime()))
    os.makedirs(day, mode=0o700, exist_ok=True)
    dfd = os.open(day, os.O_RDONLY | os.O_DIRECTORY)
    for i in range(n):
        now = time.time()
        entry = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
            + ".%06dZ" % int((now % 1) * 1e6),
            "actor": "pipeline", "tool_id": "echo", "capability": "bench",
            "payload": {"prompt": "x" * 80}, "result": None,
            "id": "%s-%d" % (wid, i), "attempts": [],
            "contract": "AIM_INTEGRATION_V1",
        }
        data = (json.dumps(entry, indent=2) + "\n").encode()
        tmp = os.path.join(day, ".tmp-%s-%d" % (wid, i))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
        os.link(tmp, os.path.join(day, "%s_%s_echo_bench.json" % (wid, i)))
        os.unlink(tmp)
        os.fsync(dfd)
    os.close(dfd)


main()
