#!/usr/bin/python3
"""Measures the emulator's Invoke throughput.

    /usr/bin/python3 tests/emulator/throughput.py [--sequential 5000] [--threads 64] [--concurrent-calls 3200]

1. sequential: one keep-alive http.client connection replays a request signed once (by
   botocore) to Invoke `echo`, --sequential times; reports round trips per second.
2. concurrent: --threads threads, each with its own keep-alive connection, invoke
   `sleep-100ms` (a 100 ms handler) until --concurrent-calls calls are done; reports calls/s
   (the ceiling is threads / 0.1 s = 640/s for 64 threads).
Every answer is checked (HTTP 200, no X-Amz-Function-Error). Exits 1 if any call failed.
"""
import argparse
import http.client
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emuclient import Emulator, sign  # noqa: E402

ACCOUNT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "accounts", "bench.json")
AK, SK = "AKIAEMULATORDEMO0001", "emulatorDemoSecretKey/0000000000000000001"


def signed_invoke(emu, function, payload):
    path, headers = sign("POST", emu.url + "/2015-03-31/functions/%s/invocations" % function, payload, AK, SK,
                         "lambda", headers={"Content-Type": "application/json"})
    return path, headers


def call(conn, path, payload, headers):
    conn.request("POST", path, body=payload, headers=headers)
    r = conn.getresponse()
    body = r.read()
    return r.status == 200 and r.getheader("X-Amz-Function-Error") is None, body


def sequential(emu, n):
    payload = b'{"message": "hello", "n": 1}'
    path, headers = signed_invoke(emu, "echo", payload)
    conn = http.client.HTTPConnection(emu.host, emu.port, timeout=30)
    for _ in range(200):   # warm-up
        call(conn, path, payload, headers)
    bad = 0
    t0 = time.perf_counter()
    for _ in range(n):
        ok, body = call(conn, path, payload, headers)
        if not ok or body != b'{"message": "hello", "n": 1}':
            bad += 1
    dt = time.perf_counter() - t0
    conn.close()
    return n / dt, dt, bad


def concurrent(emu, threads, total):
    payload = b"{}"
    path, headers = signed_invoke(emu, "sleep-100ms", payload)
    lock = threading.Lock()
    state = {"left": total, "bad": 0, "done": 0}
    start = threading.Barrier(threads + 1)

    def worker():
        conn = http.client.HTTPConnection(emu.host, emu.port, timeout=30)
        call(conn, path, payload, headers)   # connect + warm
        start.wait()
        while True:
            with lock:
                if state["left"] <= 0:
                    break
                state["left"] -= 1
            ok, _ = call(conn, path, payload, headers)
            with lock:
                state["done"] += 1
                if not ok:
                    state["bad"] += 1
        conn.close()

    ts = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in ts:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in ts:
        t.join()
    dt = time.perf_counter() - t0
    return state["done"] / dt, dt, state["bad"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sequential", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=64)
    ap.add_argument("--concurrent-calls", type=int, default=3200)
    ap.add_argument("--url", help="use a running emulator (with accounts/bench.json) instead of starting one")
    args = ap.parse_args()
    if args.url:
        from urllib.parse import urlsplit

        class Running:
            url = args.url
            host, port = urlsplit(args.url).hostname, urlsplit(args.url).port
        emu, ctx = Running(), None
    else:
        ctx = Emulator(ACCOUNT, stderr=open(os.devnull, "w"))
        emu = ctx.start()
    try:
        bad1 = bad2 = 0
        if args.sequential > 0:
            rate, dt, bad1 = sequential(emu, args.sequential)
            print("sequential: %d Invoke calls of echo on one keep-alive connection in %.2fs: %.0f calls/s "
                  "(%.3f ms per round trip), %d bad" % (args.sequential, dt, rate, 1000.0 * dt / args.sequential,
                                                        bad1))
        if args.concurrent_calls > 0:
            rate, dt, bad2 = concurrent(emu, args.threads, args.concurrent_calls)
            print("concurrent: %d Invoke calls of sleep-100ms from %d threads in %.2fs: %.0f calls/s "
                  "(ceiling %.0f/s), %d bad" % (args.concurrent_calls, args.threads, dt, rate, args.threads / 0.1,
                                                bad2))
        if ctx is not None:
            stats = ctx.control("GET", "/__emu/stats?recent=0")
            print("emulator counted %d requests, %d signature failures" % (stats["requests"],
                                                                          stats["signature_failures"]))
    finally:
        if ctx is not None:
            ctx.stop()
    return 1 if (bad1 or bad2) else 0


if __name__ == "__main__":
    sys.exit(main())
