"""HTTP/1.1 keep-alive server (a thread per connection) and the router in front of every emulated API.

Routing: /__emu/ -> control; IMDS (/latest/), container credential paths, the SSO portal
(/federation/credentials) and SSO-OIDC (/token) by path; requests with a SigV4 Authorization
header by the service named in its credential scope; anything else by its shape (Lambda's
dated paths, the tagging X-Amz-Target, /v1/registries, STS's Action=) so an unsigned call to a
signed API gets the protocol's MissingAuthenticationToken answer.
"""
import select
import socket
import socketserver
import sys
import time
import traceback
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import parse_qsl

from . import sigv4
from .control import Control
from .lambda_api import LambdaService
from .metadata import ContainerService, ImdsService
from .protocols import STS_AUTH_CODES, ApiError, Response, json_response, lambda_error
from .schemas_api import SchemasService
from .sso import SsoOidcService, SsoPortalService
from .sts import StsService, parse_form
from .tagging import TaggingService
from .util import Headers, dumps, new_request_id

MAX_BODY = 6291456
MAX_DRAIN = 64 * 1024 * 1024

_REASONS = {s.value: s.phrase for s in HTTPStatus}

FAULT_CODES = {
    "lambda": {429: "TooManyRequestsException", 500: "ServiceException", 502: "BadGatewayException",
               503: "ServiceUnavailableException", 400: "InvalidParameterValueException",
               404: "ResourceNotFoundException"},
    "tagging": {429: "ThrottledException", 400: "ThrottledException", 500: "InternalServiceException",
                503: "ServiceUnavailableException"},
    "schemas": {429: "TooManyRequestsException", 500: "InternalServerErrorException",
                503: "ServiceUnavailableException", 404: "NotFoundException"},
    "sts": {400: "Throttling", 429: "Throttling", 500: "InternalFailure", 503: "ServiceUnavailable"},
    "sso": {429: "TooManyRequestsException", 401: "UnauthorizedException", 500: "InternalServerException"},
    "sso-oidc": {429: "SlowDownException", 400: "InvalidRequestException", 500: "InternalServerException"},
}


class Request:
    __slots__ = ("method", "path", "query", "params", "headers", "body", "request_id", "cred", "operation",
                 "function", "function_ref", "route_args", "too_large", "_form", "entry")

    def __init__(self, method, path, query, headers, body, too_large=False):
        self.method = method
        self.path = path
        self.query = query
        self.params = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
        self.headers = headers
        self.body = body
        self.request_id = new_request_id()
        self.cred = None
        self.operation = None
        self.function = None
        self.function_ref = None
        self.route_args = None
        self.too_large = too_large
        self._form = None
        self.entry = None          # its stats log entry, once recorded

    def form(self):
        if self._form is None:
            self._form = parse_form(self.body, self.headers.get("Content-Type"))
        return self._form


class App:
    def __init__(self, state, runtime, info, verbose=False):
        self.state = state
        self.verbose = verbose
        self.lambda_ = LambdaService(state, runtime)
        self.tagging = TaggingService(state)
        self.schemas = SchemasService(state)
        self.sts = StsService(state)
        self.sso = SsoPortalService(state)
        self.oidc = SsoOidcService(state)
        self.imds = ImdsService(state)
        self.container = ContainerService(state)
        self.control = Control(state, runtime, info)
        self.by_signing_name = {s.signing_name: s for s in (self.lambda_, self.tagging, self.schemas, self.sts)}

    def _guess(self, req):
        for svc in (self.tagging, self.lambda_, self.schemas, self.sts):
            if svc.claims(req):
                return svc
        return None

    def route(self, req):
        """-> (service or None, ParsedAuth or AuthError or None)"""
        if ImdsService.claims(req):
            return self.imds, None
        if self.container.claims_path(req):
            return self.container, None
        if SsoPortalService.claims(req):
            return self.sso, None
        if SsoOidcService.claims(req) and req.method == "POST":
            return self.oidc, None
        authz = req.headers.get("Authorization")
        if authz and authz.startswith("AWS4-"):
            try:
                auth = sigv4.parse_authorization(authz)
            except sigv4.AuthError as e:
                return (self._guess(req) or self.lambda_), e
            svc = self.by_signing_name.get(auth.service)
            if svc is None:
                svc = self._guess(req) or self.lambda_
                return svc, sigv4.AuthError("InvalidSignatureException",
                                            "Credential should be scoped to correct service: '%s'. "
                                            % svc.signing_name)
            return svc, auth
        svc = self._guess(req)
        if svc is None and self.state.container["any_path"] and self.state.container["enabled"] \
                and req.method == "GET":
            return self.container, None
        return svc, None

    def handle(self, req):
        if req.path.startswith("/__emu"):
            return self.control.handle(req)
        t0 = time.monotonic()
        state = self.state
        svc, auth = self.route(req)
        fault = None
        if svc is None:
            resp = Response(404, dumps({"message": "No emulated AWS API at %s %s" % (req.method, req.path)}),
                            "application/json", [("x-amzn-ErrorType", "UnknownOperationException")],
                            error="UnknownOperationException")
            self._record(req, None, auth, resp, t0, False)
            return resp
        try:
            op, ref = svc.identify(req)
            req.operation = op
            req.function_ref = ref
            if ref is not None:
                req.function = svc.function_label(op, ref)
            if req.too_large:
                raise ApiError(413, "RequestTooLargeException",
                               "Request must be smaller than %d bytes for the InvokeFunction operation" % MAX_BODY)
            if isinstance(auth, sigv4.AuthError):
                raise auth
            if auth is not None:
                req.cred = sigv4.verify(auth, state.creds, state.regions | {"us-east-1"} if svc.name == "sts"
                                        else state.regions, req.method, req.path, req.query, req.headers,
                                        req.body)
            elif svc.requires_auth(op):
                raise sigv4.AuthError("MissingAuthenticationTokenException",
                                      "Request is missing Authentication Token" if svc.name in ("sts", "tagging")
                                      else sigv4.MSG_MISSING)
            delay = state.latency_for(op)
            if delay > 0:
                time.sleep(delay / 1000.0)
            fault = state.faults.take(op, svc.name, req.function, req.cred.access_key_id if req.cred else None)
            if fault is not None:
                if fault.latency_ms:
                    time.sleep(fault.latency_ms / 1000.0)
                if fault.drop:
                    resp = Response.dropped()
                    self._record(req, svc, auth, resp, t0, True)
                    return resp
                if fault.status:
                    resp = self._fault_response(svc, req, fault)
                    self._record(req, svc, auth, resp, t0, True)
                    return resp
            resp = svc.handle(req)
        except ApiError as e:
            resp = svc.error(e.status, e.code, e.message, req.request_id, e.headers, e.fields)
        except sigv4.AuthError as e:
            state.stats.auth_failure(e.code, e.detail)
            if e.detail and "canonical_request" in e.detail:
                sys.__stderr__.write("emulator: signature mismatch for %s %s (key %s)\n--- canonical request "
                                     "(ours, via botocore) ---\n%s\n--- string to sign ---\n%s\n---\n"
                                     % (req.method, req.path, e.detail["access_key_id"],
                                        e.detail["canonical_request"], e.detail["string_to_sign"]))
            resp = svc.error(403, STS_AUTH_CODES.get(e.code, e.code) if svc.name == "sts" else e.code,
                             e.message, req.request_id)
        except Exception as e:
            traceback.print_exc(file=sys.__stderr__)
            resp = svc.error(500, "ServiceException" if svc.name == "lambda" else "InternalFailure",
                             "emulator internal error: %s" % e, req.request_id)
        self._record(req, svc, auth, resp, t0, fault is not None)
        return resp

    def _fault_response(self, svc, req, fault):
        code = fault.code or FAULT_CODES.get(svc.name, {}).get(fault.status) or "InjectedFault"
        message = fault.message or ("Rate exceeded" if fault.status == 429 else
                                    "Fault injected by the emulator (HTTP %d)" % fault.status)
        headers = []
        if fault.retry_after is not None:
            headers.append(("Retry-After", str(fault.retry_after)))
        if fault.body is not None:
            # a raw body is what a proxy or a load balancer in front of the service sends: no
            # x-amzn-ErrorType unless the fault names a code
            if fault.code:
                headers.append(("x-amzn-ErrorType", fault.code))
            return Response(fault.status, fault.body, "text/html" if fault.body.lstrip().startswith("<")
                            else "application/json", headers, error=code)
        fields = None
        if svc.name == "lambda" and code == "TooManyRequestsException":
            fields = {"Reason": "CallerRateLimitExceeded"}
        return svc.error(fault.status, code, message, req.request_id, headers, fields)

    def _record(self, req, svc, auth, resp, t0, fault):
        akid = None
        if req.cred is not None:
            akid = req.cred.access_key_id
        elif isinstance(auth, sigv4.ParsedAuth):
            akid = auth.access_key_id
        entry = {
            "time": round(time.time(), 6),
            "request_id": req.request_id,
            "service": svc.name if svc is not None else None,
            "operation": req.operation or "Unknown",
            "method": req.method,
            "path": req.path,
            "query": req.query or "",
            "access_key_id": akid,
            "verified": req.cred is not None,
            "function": req.function,
            "qualifier": req.params.get("Qualifier") if svc is self.lambda_ else None,
            "status": None if resp.drop else resp.status,
            "error": resp.error,
            "fault": fault,
            "dropped": resp.drop,
            "duration_ms": round((time.monotonic() - t0) * 1000.0, 3),
            "client_gone": False,      # set when the caller hung up before the answer was sent
        }
        req.entry = entry
        self.state.stats.record(entry)
        if self.verbose:
            sys.__stderr__.write("emulator: %s %s -> %s %s op=%s key=%s fn=%s %.1fms\n" % (
                req.method, req.path, entry["status"], resp.error or "", entry["operation"], akid,
                req.function, entry["duration_ms"]))


class _DateCache:
    sec = -1
    value = ""

    @classmethod
    def get(cls):
        now = int(time.time())
        if now != cls.sec:
            cls.value = formatdate(now, usegmt=True)
            cls.sec = now
        return cls.value


class _BadRequest(Exception):
    def __init__(self, status, message):
        Exception.__init__(self, message)
        self.status = status
        self.message = message


class EmuHandler(socketserver.StreamRequestHandler):
    """A lean HTTP/1.1 server side: keep-alive, Expect: 100-continue, Content-Length or chunked
    request bodies. Each response is written with one send (headers + body)."""

    MAX_LINE = 65536
    MAX_HEADERS = 200

    def setup(self):
        socketserver.StreamRequestHandler.setup(self)
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def handle(self):
        self.close_connection = False
        try:
            while not self.close_connection:
                if not self._one_request():
                    break
        except (ConnectionError, TimeoutError, OSError):
            pass

    def _read_head(self):
        """-> (method, target, version, Headers) or None at EOF; raises _BadRequest."""
        rfile = self.rfile
        line = rfile.readline(self.MAX_LINE + 1)
        while line in (b"\r\n", b"\n"):          # tolerate empty lines between requests
            line = rfile.readline(self.MAX_LINE + 1)
        self._t_first = time.perf_counter_ns()    # the request line has arrived
        if not line:
            return None
        if len(line) > self.MAX_LINE:
            raise _BadRequest(414, "Request-URI Too Long")
        parts = line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _BadRequest(400, "Bad request line")
        items = []
        while True:
            h = rfile.readline(self.MAX_LINE + 1)
            if not h:
                return None
            if h in (b"\r\n", b"\n"):
                break
            if len(h) > self.MAX_LINE or len(items) >= self.MAX_HEADERS:
                raise _BadRequest(431, "Request Header Fields Too Large")
            text = h.decode("latin-1").rstrip("\r\n")
            if text[:1] in (" ", "\t") and items:       # obsolete line folding
                items[-1] = (items[-1][0], items[-1][1] + " " + text.strip())
                continue
            name, sep, value = text.partition(":")
            if not sep or not name or name != name.strip():
                raise _BadRequest(400, "Bad header line")
            items.append((name, value.strip()))
        return parts[0], parts[1], parts[2], Headers(items)

    def _one_request(self):
        try:
            head = self._read_head()
        except _BadRequest as e:
            self.close_connection = True
            self.command = "GET"
            self._write(new_request_id(), json_response({"message": e.message}, e.status))
            return False
        if head is None:
            return False
        method, target, version, headers = head
        self.command = method
        conn = (headers.get("Connection") or "").lower()
        if version == "HTTP/1.0":
            self.close_connection = "keep-alive" not in conn
        else:
            self.close_connection = "close" in conn
        if (headers.get("Expect") or "").lower() == "100-continue" and version != "HTTP/1.0":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if target.startswith(("http://", "https://")):
            target = "/" + target.split("://", 1)[1].partition("/")[2]
        path, _, query = target.partition("?")
        try:
            body, too_large = self._read_body(headers)
        except (ValueError, OSError):
            self.close_connection = True
            self._write(new_request_id(), json_response({"message": "Malformed request body framing"}, 400))
            return False
        t_read = time.perf_counter_ns()           # the request has been read
        req = Request(method, path, query, headers, body, too_large)
        try:
            resp = self.server.app.handle(req)
        except Exception as e:
            traceback.print_exc(file=sys.__stderr__)
            resp = lambda_error(500, "ServiceException", "emulator internal error: %s" % e)
        if resp.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return False
        control = path.startswith("/__emu")
        if not control and self._peer_closed():
            # the caller hung up while we worked (a client aborting a transfer): nobody to answer
            self.server.app.state.stats.caller_gone(req.entry)
            self.close_connection = True
            return False
        self._write(req.request_id, resp)
        if not control:
            self.server.app.state.stats.record_timing((time.perf_counter_ns() - t_read) / 1000.0,
                                                      (t_read - self._t_first) / 1000.0, req.operation)
        return True

    def _peer_closed(self):
        """True when the peer has closed its side (EOF is readable) or reset the connection."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _read_body(self, headers):
        """-> (body, too_large); raises ValueError for a malformed framing."""
        te = headers.get("Transfer-Encoding")
        if te is not None:
            if te.strip().lower() != "chunked":
                raise ValueError("unsupported Transfer-Encoding")
            parts, total = [], 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"x", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunk = self.rfile.read(size)
                self.rfile.readline(3)
                total += size
                if total <= MAX_BODY:
                    parts.append(chunk)
                elif total > MAX_DRAIN:
                    self.close_connection = True
                    return b"", True
            return (b"", True) if total > MAX_BODY else (b"".join(parts), False)
        cl = headers.get("Content-Length")
        if not cl:
            return b"", False
        n = int(cl)
        if n < 0:
            raise ValueError("negative Content-Length")
        if n > MAX_BODY:
            if n > MAX_DRAIN:
                self.close_connection = True
            else:
                left = n
                while left > 0:
                    got = self.rfile.read(min(left, 1 << 20))
                    if not got:
                        break
                    left -= len(got)
            return b"", True
        body = self.rfile.read(n) if n else b""
        if len(body) != n:
            raise ValueError("short body")
        return body, False

    def _write(self, request_id, resp):
        body = resp.body
        lines = ["HTTP/1.1 %d %s\r\n" % (resp.status, _REASONS.get(resp.status, "Status")),
                 "x-amzn-RequestId: %s\r\n" % request_id,
                 "Date: %s\r\n" % _DateCache.get()]
        for k, v in resp.headers:
            lines.append("%s: %s\r\n" % (k, v))
        lines.append("Content-Length: %d\r\n" % len(body))
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1", "replace")
        try:
            if self.command == "HEAD":
                self.wfile.write(head)
            elif len(body) < 65536:
                self.wfile.write(head + body)
            else:
                self.wfile.write(head)
                self.wfile.write(body)
        except OSError:
            self.close_connection = True


class EmuServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, address, app_factory=None, verbose=False):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        socketserver.TCPServer.__init__(self, address, EmuHandler)
        self.verbose = verbose
        self.app = None

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        if self.verbose:
            socketserver.TCPServer.handle_error(self, request, client_address)
