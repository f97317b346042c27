#!/usr/bin/python3
"""Helper of the credentials end-to-end tests (lib.sh): talks to the emulator's control API,
reads its request log, and drives lambda-mcp in MCP mode for the expiry/refresh scenario.

    credhelper.py ctl URL METHOD PATH [JSON]     control API call; prints the JSON answer
    credhelper.py seq URL                        the request log's last sequence number
    credhelper.py keys URL SINCE OPERATION       access keys (verified only) of OPERATION after SINCE
    credhelper.py ops URL SINCE                  "operation service key status" lines after SINCE
    credhelper.py secrets URL                    every secret key, session token, SSO token the emulator knows
    credhelper.py akids URL                      every access key id the emulator knows
    credhelper.py sha1 TEXT                      hex SHA-1 (the AWS CLI's SSO cache file name)
    credhelper.py json FILE KEY                  a top-level value of a JSON file
    credhelper.py script URL STEPS_JSON OUTDIR NAME -- SERVER ARGS...
                                                 an MCP session playing STEPS (see cmd_script)
    credhelper.py refresh URL LIFETIME OUTDIR -- SERVER ARGS...
                                                 the refresh scenario (see refresh.sh)
    credhelper.py blackhole FILE                 a loopback port where connect() never completes
                                                 (see cmd_blackhole); runs until killed

Only the standard library: it runs with the same Debian python3 as the emulator.
"""
import hashlib
import json
import os
import select
import subprocess
import sys
import time
import urllib.request


def ctl(url, method, path, body=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raise SystemExit("control %s %s: HTTP %d %s" % (method, path, e.code, e.read()[:300]))


def recent(url, since):
    return ctl(url, "GET", "/__emu/stats?since=%d" % since)["recent"]


def cmd_secrets(url):
    out = set()
    for c in ctl(url, "GET", "/__emu/credentials")["credentials"]:
        for k in ("secret_access_key", "session_token"):
            if c.get(k):
                out.add(c[k])
    sso = ctl(url, "GET", "/__emu/sso")
    out.update(sso.get("access_tokens") or {})   # including those CreateToken issued
    out.update(sso.get("refresh_tokens") or [])
    return sorted(out)


# ------------------------------------------------------------------------------ MCP session

class Server:
    def __init__(self, argv, stderr_path):
        self.err = open(stderr_path, "wb")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err)
        self.buf = b""
        self.next_id = 1
        self.stdout_log = []

    def send(self, msg):
        self.p.stdin.write((json.dumps(msg) + "\n").encode())
        self.p.stdin.flush()

    def read_line(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                return None
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if not r:
                return None
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        self.stdout_log.append(line.decode("utf-8", "replace"))
        return json.loads(line)

    def request(self, method, params, timeout=30):
        rid = self.next_id
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        deadline = time.time() + timeout
        while True:
            msg = self.read_line(deadline)
            if msg is None:
                raise RuntimeError("no answer to %s within %ss" % (method, timeout))
            if msg.get("id") == rid:
                return msg

    def close(self, timeout=10):
        try:
            rest, _ = self.p.communicate(timeout=timeout)  # closes stdin: the end of the session
            if rest:
                self.stdout_log.extend(rest.decode("utf-8", "replace").splitlines())
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.err.close()
        return self.p.returncode


def call_text(resp):
    res = resp.get("result") or {}
    parts = [c.get("text", "") for c in res.get("content") or [] if isinstance(c, dict)]
    if "error" in resp:
        parts.append(json.dumps(resp["error"]))
    return " ".join(parts)


def cmd_refresh(url, lifetime, outdir, argv):
    """Short-lived AssumeRole credentials, tools/call every 0.5 s:
    phase 1: the first key A is replaced by B before A expires, no call fails;
    phase 2: STS refuses from then on: B keeps being used until it expires, then calls fail
             with a clear error."""
    results = []
    checks = []

    def check(ok, what):
        checks.append((bool(ok), what))
        print("%s - %s" % ("ok" if ok else "not ok", what), flush=True)

    ctl(url, "POST", "/__emu/sts", {"max_lifetime_seconds": lifetime})
    seq0 = ctl(url, "GET", "/__emu/stats?recent=0")["last_seq"]
    srv = Server(argv, os.path.join(outdir, "refresh.err"))
    t_start = time.time()
    init = srv.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                      "clientInfo": {"name": "credhelper", "version": "1"}})
    check("result" in init, "initialize answered")
    srv.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    key_a = key_b = None
    t_b = None
    fault_at = None
    first_error = None
    errors_after = 0
    hard_stop = t_start + 3 * lifetime + 15
    n = 0
    while time.time() < hard_stop:
        n += 1
        t = time.time()
        resp = srv.request("tools/call", {"name": "echo", "arguments": {"n": n}}, timeout=lifetime + 10)
        is_err = "error" in resp or (resp.get("result") or {}).get("isError", False)
        results.append({"t": t, "n": n, "error": bool(is_err), "text": call_text(resp)[:600]})
        invokes = [e for e in recent(url, seq0) if e["operation"] == "Invoke"]
        keys = []
        for e in invokes:
            if e["access_key_id"] not in keys:
                keys.append(e["access_key_id"])
        if keys and key_a is None:
            key_a = keys[0]
        if len(keys) > 1 and key_b is None:
            key_b = keys[1]
            t_b = min(e["time"] for e in invokes if e["access_key_id"] == key_b)
            # phase 2: from now on STS says no
            ctl(url, "POST", "/__emu/faults", {"service": "sts", "operation": "AssumeRole", "status": 403,
                                                "code": "AccessDenied",
                                                "message": "injected by the test: trust removed"})
            fault_at = time.time()
        if is_err and first_error is None:
            first_error = results[-1]
        if first_error is not None:
            errors_after += 1
            if errors_after >= 3:
                break
        time.sleep(0.5)
    rc = srv.close()
    with open(os.path.join(outdir, "refresh.out"), "w") as f:
        f.write("\n".join(srv.stdout_log) + "\n")

    creds = {c["access_key_id"]: c for c in ctl(url, "GET", "/__emu/credentials")["credentials"]}
    log = recent(url, seq0)
    exp_a = creds.get(key_a, {}).get("expiration")
    exp_b = creds.get(key_b, {}).get("expiration")
    check(key_a and key_a.startswith("ASIA"), "the first calls were signed with AssumeRole credentials (%s)"
          % (key_a or "none")[-4:])
    check(key_b is not None, "a second set of credentials appeared")
    if key_a is None or key_b is None or exp_a is None or exp_b is None:
        print(json.dumps({"results": results}, indent=1))
        return 1
    check(exp_a - t_start < lifetime + 5, "the emulator capped the lifetime at %ds" % lifetime)
    assumes = [e for e in log if e["operation"] == "AssumeRole" and e["status"] == 200]
    check(len(assumes) >= 2 and assumes[1]["time"] < exp_a,
          "the refresh (AssumeRole) happened %.1fs before the first credentials expired"
          % (exp_a - assumes[1]["time"] if len(assumes) > 1 else -1))
    check(t_b < exp_a, "the new key was in use %.1fs before the old one expired" % (exp_a - t_b))
    before_fault = [r for r in results if r["t"] < fault_at]
    check(before_fault and not any(r["error"] for r in before_fault),
          "all %d calls before the refresh failure succeeded" % len(before_fault))
    ok_after_exp_a = [r for r in results if r["t"] > exp_a + 0.5 and not r["error"]]
    check(len(ok_after_exp_a) >= 3, "calls kept succeeding after the first credentials expired (%d)"
          % len(ok_after_exp_a))
    # after the fault: every Invoke was signed with B until B expired
    after = [e for e in log if e["operation"] == "Invoke" and e["time"] > fault_at + 0.2]
    signed_b = [e for e in after if e["access_key_id"] == key_b]
    check(after and all(e["access_key_id"] == key_b for e in after),
          "after STS started refusing, the server kept signing with the old (still valid) key: %d calls"
          % len(signed_b))
    last_ok = max(r["t"] for r in results if not r["error"])
    check(last_ok > exp_b - 3.0, "calls succeeded until %.1fs before the old key expired" % (exp_b - last_ok))
    check(first_error is not None and first_error["t"] > exp_b - 2.0,
          "calls failed only when the old key expired (the first failure %.1fs from its expiry; the server "
          "stops using credentials 1s early)" % ((first_error["t"] - exp_b) if first_error else float("nan")))
    text = first_error["text"] if first_error else ""
    check("AccessDenied" in text and "trust removed" in text and "could not be refreshed" in text,
          "the error says why: %s" % text[:400])
    with open(os.path.join(outdir, "refresh.err"), "rb") as f:
        err = f.read().decode("utf-8", "replace")
    check("refresh failed, still using the current credentials" in err,
          "the log says the refresh failed and the current credentials stay in use")
    check(rc == 0, "the server exited cleanly (%s)" % rc)
    bad = [w for ok, w in checks if not ok]
    if bad:
        print(json.dumps({"key_a": key_a[-4:], "key_b": key_b[-4:], "exp_a": exp_a, "exp_b": exp_b,
                          "fault_at": fault_at, "start": t_start, "results": results}, indent=1))
    return 1 if bad else 0


def cmd_script(url, steps, outdir, name, argv):
    """Run lambda-mcp in MCP mode and play steps (a JSON list) against it:
    {"call": TOOL, "args": {...}}  tools/call; prints "call N ok|error TEXT", then "took N SECONDS"
    {"sleep": SECONDS}
    {"mark": true}                  remember this moment (the session's start until then)
    {"until": SECONDS}              sleep until SECONDS after the mark
    {"write": [PATH, CONTENT]}      replace a file (atomically)
    {"ctl": [METHOD, PATH, BODY]}   emulator control call
    Then closes stdin and prints "closed SECONDS" (until the server exited; killed after 10 s).
    Exit status 0 when the session worked (calls may still have failed: the caller checks)."""
    srv = Server(argv, os.path.join(outdir, name + ".err"))
    rc = 0
    mark = time.time()
    try:
        init = srv.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                          "clientInfo": {"name": "credhelper", "version": "1"}})
        if "result" not in init:
            raise RuntimeError("initialize failed: %s" % init)
        srv.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        n = 0
        for st in steps:
            if "call" in st:
                n += 1
                t0 = time.time()
                resp = srv.request("tools/call", {"name": st["call"], "arguments": st.get("args", {})}, timeout=60)
                took = time.time() - t0
                is_err = "error" in resp or (resp.get("result") or {}).get("isError", False)
                print("call %d %s %s" % (n, "error" if is_err else "ok", call_text(resp)[:500].replace("\n", " ")),
                      flush=True)
                print("took %d %.3f" % (n, took), flush=True)
            elif "sleep" in st:
                time.sleep(st["sleep"])
            elif "mark" in st:
                mark = time.time()
            elif "until" in st:
                time.sleep(max(0.0, mark + st["until"] - time.time()))
            elif "write" in st:
                path, content = st["write"]
                tmp = path + ".tmp"
                with open(tmp, "w") as f:
                    f.write(content)
                os.replace(tmp, path)
            elif "ctl" in st:
                ctl(url, *st["ctl"])
    except Exception as e:  # noqa: BLE001 - report and fail
        print("session error: %s" % e, flush=True)
        rc = 1
    t_close = time.time()
    code = srv.close()
    print("closed %.3f" % (time.time() - t_close), flush=True)  # from closing stdin to the exit
    with open(os.path.join(outdir, name + ".out"), "w") as f:
        f.write("\n".join(srv.stdout_log) + "\n")
    if code != 0:
        print("server exit status %s" % code)
        rc = 1
    return rc


def cmd_blackhole(out):
    """A loopback TCP port whose accept queue is full: listen(fd, 0), never accept, a few
    connections to fill the queue. Linux then drops every new SYN, so a connect() to the port
    neither succeeds nor fails: it waits for its own timeout. Checked with a connect of our own
    before the port is written to FILE ("hang PORT", or "nohang PORT" when the kernel answers)."""
    import socket
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    held = []
    for _ in range(8):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        held.append(c)
    time.sleep(0.2)
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(("127.0.0.1", port))
        verdict = "nohang"
    except socket.timeout:
        verdict = "hang"
    probe.close()
    with open(out + ".tmp", "w") as f:
        f.write("%s %d\n" % (verdict, port))
    os.rename(out + ".tmp", out)
    while True:
        time.sleep(3600)


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd = argv[1]
    if cmd == "ctl":
        body = json.loads(argv[5]) if len(argv) > 5 else None
        print(json.dumps(ctl(argv[2], argv[3], argv[4], body)))
    elif cmd == "seq":
        print(ctl(argv[2], "GET", "/__emu/stats?recent=0")["last_seq"])
    elif cmd == "keys":
        for e in recent(argv[2], int(argv[3])):
            if e["operation"] == argv[4] and e["verified"]:
                print(e["access_key_id"])
    elif cmd == "ops":
        for e in recent(argv[2], int(argv[3])):
            print(e["operation"], e["service"], e["access_key_id"], e["status"])
    elif cmd == "secrets":
        for s in cmd_secrets(argv[2]):
            print(s)
    elif cmd == "akids":
        for c in ctl(argv[2], "GET", "/__emu/credentials")["credentials"]:
            print(c["access_key_id"])
    elif cmd == "sha1":
        print(hashlib.sha1(argv[2].encode()).hexdigest())
    elif cmd == "json":
        with open(argv[2]) as f:
            v = json.load(f).get(argv[3])
        print(v if isinstance(v, str) else json.dumps(v))
    elif cmd == "script":
        sep = argv.index("--")
        return cmd_script(argv[2], json.loads(argv[3]), argv[4], argv[5], argv[sep + 1:])
    elif cmd == "refresh":
        sep = argv.index("--")
        return cmd_refresh(argv[2], int(argv[3]), argv[4], argv[sep + 1:])
    elif cmd == "blackhole":
        cmd_blackhole(argv[2])
    else:
        raise SystemExit("unknown command %s" % cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
