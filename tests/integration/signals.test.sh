#!/bin/sh
# Signals and reloads: a SIGHUP with a conf that does not load changes nothing (not even the log
# level); a reload names the server settings that only take effect at the next start; SIGTERM
# right after a SIGHUP does not wait for the reload's discovery; SIGTERM ends the server although
# the client stopped reading its stdout (writers blocked in write(2)); at the end of input the
# server does not wait for a discovery under way, and a SIGTERM ends the grace period for calls in
# flight, also when the client stopped reading.
: "${LMCP_BIN:?}" "${LMCP_PLUGIN_DIR:?}" "${LMCP_SRCDIR:?}" "${LMCP_PYTHON:?}"
exec "$LMCP_PYTHON" - <<'PY'
import json, os, signal, subprocess, sys, tempfile, time, urllib.request

BIN, PLUGINS, SRC = os.environ["LMCP_BIN"], os.environ["LMCP_PLUGIN_DIR"], os.environ["LMCP_SRCDIR"]
tmp = tempfile.mkdtemp(prefix="lmcp-signals-")
failed = 0
n = 0

def check(ok, what, detail=""):
    global failed, n
    n += 1
    print("%s %d - %s%s" % ("ok" if ok else "not ok", n, what, "" if ok else ": " + detail))
    failed += 0 if ok else 1

port_file = os.path.join(tmp, "emu.url")
emu = subprocess.Popen([sys.executable, os.path.join(SRC, "tests/emulator/emulator.py"), "--account",
                        os.path.join(SRC, "tests/emulator/accounts/demo.json"), "--port", "0", "--port-file", port_file],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
for _ in range(100):
    if os.path.exists(port_file) and open(port_file).read():
        break
    time.sleep(0.1)
url = open(port_file).read().strip()

def control(method, path, body=None):
    req = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    return json.load(urllib.request.urlopen(req, timeout=10))

env = {"PATH": os.environ["PATH"], "HOME": tmp, "AWS_ENDPOINT_URL": url, "AWS_REGION": "us-east-1",
       "AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "AKIAEMULATORDEMO0001",
       "AWS_SECRET_ACCESS_KEY": "emulatorDemoSecretKey/0000000000000000001"}
if os.environ.get("TSAN_OPTIONS"):  # a -fsanitize=thread build (README.md, Sanitizers)
    env["TSAN_OPTIONS"] = os.environ["TSAN_OPTIONS"]
conf = os.path.join(tmp, "lambda-mcp.conf")
def write_conf(text):
    with open(conf, "w") as f:
        f.write(text)

def start(stdout=subprocess.DEVNULL):
    err = open(os.path.join(tmp, "server.err"), "w")
    return subprocess.Popen([BIN, "--plugin-dir", PLUGINS, "--config", conf], stdin=subprocess.PIPE, stdout=stdout,
                            stderr=err, env=env)

def stderr_text():
    return open(os.path.join(tmp, "server.err")).read()

def wait_for(pred, secs=10):
    t = time.time() + secs
    while time.time() < t:
        if pred():
            return True
        time.sleep(0.05)
    return False

def ended(p, how, secs):
    """End p by `how` (a signal, or "eof": close stdin); (exit status or "still running", seconds)."""
    t0 = time.time()
    if how == "eof":
        p.stdin.close()
    else:
        p.send_signal(how)
    try:
        rc = p.wait(secs)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        rc = "still running"
    return rc, time.time() - t0

META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}

def big_calls(p, n=12):
    """n calls whose answers (30 KB each) fill a stdout pipe nobody reads."""
    for i in range(n):
        m = {"jsonrpc": "2.0", "id": i, "method": "tools/call",
             "params": {"name": "echo", "arguments": {"x": "y" * 30000}, "_meta": META}}
        p.stdin.write((json.dumps(m) + "\n").encode())
    p.stdin.flush()

try:
    # 1. a reload that fails changes nothing; 2. a changed restart-only setting is named
    write_conf('server = { log_level = "info"; page_size = 100; };\ncredentials = ( { plugin = "env"; } );\n')
    p = start()
    check(wait_for(lambda: "initial discovery" in stderr_text()), "the server starts")
    write_conf('server = { log_level = "debug"; };\ncredentials = ( { plugin = "env"; } );\n'
               'wrappers = ( { plugin = "nosuch"; } );\n')
    p.send_signal(signal.SIGHUP)
    check(wait_for(lambda: "reload failed, keeping the current configuration" in stderr_text()),
          "a conf that does not load is refused", stderr_text()[-500:])
    # a request the dispatcher logs at debug level: nothing may appear
    mark = len(stderr_text())
    p.stdin.write(b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n')
    p.stdin.flush()
    time.sleep(0.5)
    check(" debug " not in stderr_text()[mark:], "the failed reload did not change the log level",
          stderr_text()[mark:][:500])
    write_conf('server = { log_level = "info"; page_size = 5; };\ncredentials = ( { plugin = "env"; } );\n')
    p.send_signal(signal.SIGHUP)
    check(wait_for(lambda: "server.page_size changed" in stderr_text()),
          "a reload names server settings that take effect at the next start", stderr_text()[-500:])
    p.send_signal(signal.SIGTERM)
    check(p.wait(10) == 0, "SIGTERM: exit status 0")

    # 2b. a reload whose discovery fails (AWS unreachable for a moment) keeps the previous tools,
    #     and the new conf is retried until it takes effect: no second SIGHUP needed
    write_conf('credentials = ( { plugin = "env"; } );\naws = { max_attempts = 1; };\n'
               'discovery = { plugins = ( { plugin = "prefix"; prefix = "gr"; } ); };\n')
    p = start()
    check(wait_for(lambda: "initial discovery: 1 tool from" in stderr_text()), "the server starts with one tool",
          stderr_text()[-500:])
    write_conf('credentials = ( { plugin = "env"; } );\naws = { max_attempts = 1; };\n'
               'discovery = { refresh_interval = "1s"; plugins = ( { plugin = "prefix"; prefix = "s"; } ); };\n')
    control("POST", "/__emu/faults", {"faults": [{"operation": "ListFunctions", "status": 500, "count": 1}]})
    p.send_signal(signal.SIGHUP)
    check(wait_for(lambda: "its discovery failed: the previous configuration and tools stay" in stderr_text()),
          "the reload's failed discovery keeps the previous configuration", stderr_text()[-800:])
    check(wait_for(lambda: "reload (retry) discovery: 2 tools from" in stderr_text(), 10),
          "the new configuration is retried and installed without another SIGHUP", stderr_text()[-800:])
    p.send_signal(signal.SIGTERM)
    check(p.wait(10) == 0, "SIGTERM: exit status 0")
    control("POST", "/__emu/reset", {})

    # 3. SIGTERM right after SIGHUP does not wait for the reload's discovery (5 s per ListFunctions)
    p = start()
    check(wait_for(lambda: "initial discovery" in stderr_text()), "the server starts again")
    control("POST", "/__emu/latency", {"operations": {"ListFunctions": 5000}})
    p.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    rc, took = ended(p, signal.SIGTERM, 15)
    check(rc == 0 and took < 3, "SIGTERM during a reload's discovery exits promptly", "rc %s after %.1f s" % (rc, took))
    control("POST", "/__emu/reset", {})

    # 4. SIGTERM with the client no longer reading stdout: writers are blocked in write(2)
    p = start(stdout=subprocess.PIPE)
    check(wait_for(lambda: "initial discovery" in stderr_text()), "the server starts a third time")
    big_calls(p)
    time.sleep(1.5)  # the answers fill the stdout pipe, which nobody reads
    rc, took = ended(p, signal.SIGTERM, 10)
    check(rc == 0 and took < 5, "SIGTERM ends a server whose client stopped reading", "rc %s after %.1f s" % (rc, took))

    # The end of input (the stdio shutdown: close stdin, then SIGTERM if the server does not exit,
    # then SIGKILL). 5. during the first discovery (a client's short-lived probe) the server does
    # not wait for the discovery to end
    control("POST", "/__emu/latency", {"operations": {"ListFunctions": 6000}})
    p = start()
    check(wait_for(lambda: "lambda-mcp 0" in stderr_text() or "region" in stderr_text()), "the server starts a fourth time")
    p.stdin.write(b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n')
    p.stdin.flush()
    time.sleep(0.5)
    rc, took = ended(p, "eof", 15)
    check(rc == 0 and took < 3, "end of input during the first discovery: the server exits without waiting for it",
          "rc %s after %.1f s" % (rc, took))
    control("POST", "/__emu/reset", {})

    # 6. a call in flight at the end of input gets shutdown_grace (30 s here), but a SIGTERM ends
    # the grace period at once
    write_conf('server = { log_level = "info"; shutdown_grace = "30s"; };\ncredentials = ( { plugin = "env"; } );\n')
    control("POST", "/__emu/functions", {"put": [{"name": "slow-long", "handler": "slow", "timeout": 60}]})
    p = start(stdout=subprocess.PIPE)
    check(wait_for(lambda: "initial discovery" in stderr_text()), "the server starts a fifth time")
    m = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
         "params": {"name": "slow_long", "arguments": {"seconds": 20}, "_meta": META}}
    p.stdin.write((json.dumps(m) + "\n").encode())
    p.stdin.close()
    time.sleep(1.0)
    check(p.poll() is None and control("GET", "/__emu/stats").get("invocations_in_progress", {}).get("slow-long") == 1,
          "end of input: the server waits for the call in flight (grace 30 s)")
    rc, took = ended(p, signal.SIGTERM, 15)
    check(rc == 0 and took < 3, "SIGTERM during the grace period ends it at once", "rc %s after %.1f s" % (rc, took))
    check("SIGTERM during the shutdown" in stderr_text(), "and says so", stderr_text()[-500:])

    # 7. end of input, then the client stops reading stdout with answers pending: SIGTERM ends it
    write_conf('server = { log_level = "info"; };\ncredentials = ( { plugin = "env"; } );\n')
    p = start(stdout=subprocess.PIPE)
    check(wait_for(lambda: "initial discovery" in stderr_text()), "the server starts a sixth time")
    big_calls(p)
    p.stdin.close()
    time.sleep(1.5)  # the answers fill the stdout pipe, which nobody reads
    rc, took = ended(p, signal.SIGTERM, 10)
    check(rc == 0 and took < 5, "end of input, then SIGTERM, ends a server whose client stopped reading",
          "rc %s after %.1f s" % (rc, took))

    # 8. a client that writes all its requests before it reads any answer (a synchronous script):
    # 300 calls whose answers (30 KB each, 9 MB in all) and 20,000 pings, far more than the pipes
    # hold. The server must go on reading stdin while nobody reads its stdout (pings are answered
    # by the thread that reads), or both sides block on a full pipe for ever; then every answer
    # arrives, once.
    import threading
    p = start(stdout=subprocess.PIPE)
    check(wait_for(lambda: "initial discovery" in stderr_text()), "the server starts a seventh time")
    def send_all():
        try:
            big_calls(p, 300)
            for i in range(20000):
                p.stdin.write(b'{"jsonrpc":"2.0","id":"p%d","method":"ping","params":{"_meta":%s}}\n'
                              % (i, json.dumps(META).encode()))
            p.stdin.flush()
        except OSError:
            pass
    writer = threading.Thread(target=send_all, daemon=True)
    t0 = time.time()
    writer.start()
    writer.join(30)
    check(not writer.is_alive(), "a client that writes 300 calls and 20,000 pings before reading: its writes all go through",
          "still blocked writing after %.0f s: the server stopped reading stdin while its stdout was full" % (time.time() - t0))
    if writer.is_alive():
        p.kill()
        p.wait()
    else:
        p.stdin.close()
        ids = []
        for line in p.stdout:
            m = json.loads(line)
            if "id" in m:
                ids.append(m["id"])
        rc = p.wait(30)
        want = set(range(300)) | {"p%d" % i for i in range(20000)}
        check(len(ids) == len(want) and set(ids) == want and rc == 0,
              "then it reads every answer, once, and the server exits 0",
              "%d answers, %d distinct, exit %s" % (len(ids), len(set(ids)), rc))
finally:
    emu.terminate()
    emu.wait(10)

print("1..%d" % n)
sys.exit(1 if failed else 0)
PY
