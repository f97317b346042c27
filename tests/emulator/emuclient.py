"""Helpers for tests that drive the emulator from Python (selftest.py, throughput.py).

    with Emulator(account_dict_or_path) as emu:
        emu.url, emu.control("POST", "/__emu/faults", {...})
"""
import datetime
import http.client
import json
import os
import select
import subprocess
import tempfile
import time
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(HERE, "emulator.py")
PYTHON = "/usr/bin/python3"


class Emulator:
    """Starts emulator.py on a free port and reads the EMULATOR_READY line."""

    def __init__(self, account, extra_args=(), verbose=False, startup_timeout=30.0, stderr=None):
        self._tmpdir = None
        if isinstance(account, dict):
            self._tmpdir = tempfile.TemporaryDirectory(prefix="emu-account-")
            path = os.path.join(self._tmpdir.name, "account.json")
            with open(path, "w") as f:
                json.dump(account, f)
            account = path
        self.account_path = account
        self.args = [PYTHON, EMULATOR, "--account", account, "--port", "0"] + list(extra_args)
        if verbose:
            self.args.append("--verbose")
        self.startup_timeout = startup_timeout
        self.stderr = stderr
        self.proc = None
        self.url = None

    def start(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.time() + self.startup_timeout
        line = b""
        while time.time() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                line = self.proc.stdout.readline()
                break
            if self.proc.poll() is not None:
                break
        text = line.decode().strip()
        if not text.startswith("EMULATOR_READY "):
            self.stop()
            raise RuntimeError("emulator did not start (got %r)" % text)
        self.url = text.split(" ", 1)[1]
        u = urlsplit(self.url)
        self.host, self.port = u.hostname, u.port
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def control(self, method, path, body=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            resp = conn.getresponse()
            out = resp.read()
            if resp.status >= 300:
                raise RuntimeError("control %s %s -> %d %s" % (method, path, resp.status, out))
            return json.loads(out)
        finally:
            conn.close()


def sign(method, url, body, access_key, secret_key, service, region="us-east-1", token=None, headers=None,
         when=None, sign_all_headers=False):
    """SigV4 headers for a request, computed by botocore, optionally at another time (clock skew tests).
    sign_all_headers: also sign User-Agent etc., which botocore itself never signs but other clients may.
    Returns (path_with_query, headers dict) ready for http.client."""
    from botocore.auth import SigV4Auth
    from botocore.compat import HTTPHeaders
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(method=method, url=url, data=body or b"", headers=dict(headers or {}))
    u = urlsplit(url)
    req.headers["Host"] = u.netloc
    ts = (when or datetime.datetime.utcnow()).strftime("%Y%m%dT%H%M%SZ")
    req.context["timestamp"] = ts
    req.headers["X-Amz-Date"] = ts
    if token:
        req.headers["X-Amz-Security-Token"] = token
    signer = SigV4Auth(Credentials(access_key, secret_key, token), service, region)
    if sign_all_headers:
        def headers_to_sign(request):
            hm = HTTPHeaders()
            for k, v in request.headers.items():
                hm[k.lower()] = v
            return hm
        signer.headers_to_sign = headers_to_sign
    canonical = signer.canonical_request(req)
    sts = signer.string_to_sign(req, canonical)
    sig = signer.signature(sts, req)
    signer._inject_signature_to_request(req, sig)
    path = u.path + ("?" + u.query if u.query else "")
    return path, dict(req.headers.items())

