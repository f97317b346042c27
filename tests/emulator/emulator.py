#!/usr/bin/python3
"""Local AWS-compatible emulator for lambda-mcp: Lambda, Resource Groups Tagging, EventBridge
Schemas, STS, SSO portal/OIDC, IMDS and container credentials on one 127.0.0.1 port.

    /usr/bin/python3 tests/emulator/emulator.py --account tests/emulator/accounts/demo.json \
        [--host 127.0.0.1] [--port 0] [--port-file PATH] [--latency-ms N] [--verbose]

Prints exactly one line to stdout once it accepts connections:  EMULATOR_READY http://127.0.0.1:PORT
See README.md next to this file.
"""
import argparse
import ipaddress
import os
import signal
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from emu.config import FUNCTIONS_DIR, load_account  # noqa: E402
from emu.model import ConfigError  # noqa: E402
from emu.runtime import Runtime, install_capture  # noqa: E402
from emu.server import App, EmuServer  # noqa: E402
from emu.state import State  # noqa: E402


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _write_port_file(path, url):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".emulator-port-", dir=d)
    with os.fdopen(fd, "w") as f:
        f.write(url + "\n")
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Local AWS-compatible emulator for lambda-mcp tests.")
    ap.add_argument("--account", required=True, help="account file (JSON), see README.md")
    ap.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (default)")
    ap.add_argument("--port-file", help="also write the base URL to this file (atomically)")
    ap.add_argument("--latency-ms", type=float, default=None,
                    help="latency added to every AWS API request (overrides the account file's latency_ms)")
    ap.add_argument("--verbose", action="store_true", help="log every request and handler output to stderr")
    args = ap.parse_args(argv)

    if not _is_loopback(args.host):
        sys.stderr.write("emulator: refusing to listen on %s: loopback addresses only\n" % args.host)
        return 2
    try:
        account = load_account(args.account)
    except ConfigError as e:
        sys.stderr.write("emulator: %s\n" % e)
        return 2

    state = State(account, os.path.abspath(args.account), args.latency_ms)
    runtime = Runtime(FUNCTIONS_DIR, verbose=args.verbose)
    host = "127.0.0.1" if args.host == "localhost" else args.host
    try:
        server = EmuServer((host, args.port), None, verbose=args.verbose)
    except OSError as e:
        sys.stderr.write("emulator: cannot listen on %s:%d: %s\n" % (host, args.port, e))
        return 2
    port = server.server_address[1]
    url = "http://%s:%d" % ("[%s]" % host if ":" in host else host, port)
    server.app = App(state, runtime, {"url": url}, verbose=args.verbose)

    def stop(signum, frame):
        try:
            sys.__stdout__.flush()
            sys.__stderr__.flush()
        finally:
            os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    install_capture()
    if args.port_file:
        _write_port_file(args.port_file, url)
    sys.__stderr__.write("emulator: account %s: %d functions, region %s, account %s; listening on %s\n"
                         % (args.account, len(state.functions), state.region, state.account_id, url))
    sys.__stdout__.write("EMULATOR_READY %s\n" % url)
    sys.__stdout__.flush()
    server.serve_forever(poll_interval=0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
