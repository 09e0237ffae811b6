#!/usr/bin/env python3
"""Latency of one synced 4 KiB write (O_DIRECT|O_DSYNC, like apitrail's group commit) in DIR.

    sync_write_latency.py DIR [N]

Prints one line: p50/p90 in microseconds and what that allows at most per connection. Under
durability `response` a request's answer waits for its commit, so when this latency is high
(a busy host flushing its cache) the gateway's requests/s is bounded by
connections / latency whatever the CPU does; benches print it so their ratios can be read.
"""
import mmap
import os
import sys
import time


def main():
    d = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    path = os.path.join(d, ".sync-write-probe")
    buf = mmap.mmap(-1, 4096)  # page-aligned, as O_DIRECT needs
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_DIRECT | os.O_DSYNC, 0o600)
    except OSError:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_DSYNC, 0o600)  # tmpfs: no O_DIRECT
    try:
        os.pwrite(fd, buf, 0)
        ts = []
        for i in range(n):
            t = time.perf_counter()
            os.pwrite(fd, buf, 4096 * (i % 16))
            ts.append((time.perf_counter() - t) * 1e6)
    finally:
        os.close(fd)
        os.unlink(path)
    ts.sort()
    p50, p90 = ts[len(ts) // 2], ts[len(ts) * 9 // 10]
    print(f"synced 4 KiB write: p50 {p50:.0f} us, p90 {p90:.0f} us "
          f"(one commit at a time: at most {1e6 / p50:.0f} commits/s)")


if __name__ == "__main__":
    main()
