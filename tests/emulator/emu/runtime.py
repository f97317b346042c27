"""Runs handler modules from functions/ the way the AWS Lambda Python runtime would.

* Each handler runs on a pooled daemon worker thread; the request thread waits up to the
  function's timeout and answers "Task timed out" if it is exceeded (the handler keeps running
  in the background, as nothing can stop a Python thread).
* print() and logging output is captured per invocation without touching other threads:
  sys.stdout/sys.stderr are replaced once, at start-up, by proxies that write to the log buffer
  of the invocation running on the current thread (a contextvar) and to the real stream
  otherwise. Lambda's root-logger handler is mimicked the same way.
"""
import base64
import contextvars
import importlib.util
import io
import json
import logging
import math
import os
import queue
import sys
import threading
import time
import traceback

from .util import iso_z_ms, random_hex

MAX_RESPONSE = 6291456
LOG_TAIL_BYTES = 4096

_current_log = contextvars.ContextVar("emu_invocation_log", default=None)


class LogBuffer:
    def __init__(self):
        self._parts = []
        self._lock = threading.Lock()

    def write(self, s):
        with self._lock:
            self._parts.append(s)

    def text(self):
        with self._lock:
            return "".join(self._parts)


class _StreamProxy(io.TextIOBase):
    """Stands in for sys.stdout / sys.stderr: per-invocation capture, passthrough otherwise."""

    def __init__(self, real):
        self._real = real

    def write(self, s):
        buf = _current_log.get()
        if buf is None:
            return self._real.write(s)
        buf.write(s)
        return len(s)

    def flush(self):
        if _current_log.get() is None:
            self._real.flush()

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        return self._real.fileno()

    @property
    def encoding(self):
        return getattr(self._real, "encoding", "utf-8")

    @property
    def buffer(self):
        return self._real.buffer


class _LambdaLogHandler(logging.Handler):
    """Formats records like the Lambda Python runtime: [LEVEL]\\t<time>\\t<request id>\\t<message>."""

    def emit(self, record):
        buf = _current_log.get()
        if buf is None:
            if record.levelno >= logging.WARNING:   # not from a handler: the emulator's stderr
                sys.__stderr__.write("emulator: %s: %s\n" % (record.name, record.getMessage()))
            return
        try:
            msg = record.getMessage()
            if record.exc_info:
                msg += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            rid = getattr(_current_request, "rid", None) or ""
            buf.write("[%s]\t%s\t%s\t%s\n" % (record.levelname, iso_z_ms(record.created), rid,
                                              msg.replace("\n", "\r")))
        except Exception:
            pass


class _RequestLocal(threading.local):
    rid = None


_current_request = _RequestLocal()
_installed = False


def install_capture():
    """Called once at start-up."""
    global _installed
    if _installed:
        return
    _installed = True
    # Outside an invocation both go to stderr: stdout carries only the EMULATOR_READY line.
    sys.stdout = _StreamProxy(sys.__stderr__)
    sys.stderr = _StreamProxy(sys.__stderr__)
    root = logging.getLogger()
    root.addHandler(_LambdaLogHandler())


class WorkerPool:
    """Grows on demand (never blocks a submit); idle workers leave after a minute."""

    def __init__(self, idle_seconds=60.0):
        self._q = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._count = 0
        self._idle_seconds = idle_seconds

    def submit(self, fn):
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
                spawn = False
            else:
                self._count += 1
                spawn = True
        self._q.put(fn)
        if spawn:
            threading.Thread(target=self._work, name="emu-handler-%d" % self._count, daemon=True).start()

    def _work(self):
        while True:
            try:
                fn = self._q.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:
                        self._idle -= 1
                        self._count -= 1
                        return
                continue   # a submit reserved us just now: its task is on the way
            try:
                fn()
            except BaseException:
                traceback.print_exc(file=sys.__stderr__)
            with self._lock:
                self._idle += 1

    def size(self):
        return self._count


class ClientContext:
    def __init__(self, data):
        self.client = data.get("client")
        self.custom = data.get("custom")
        self.env = data.get("env")


class LambdaContext:
    """What a Python handler receives as its second argument."""

    def __init__(self, fn, version, invoked_arn, request_id, deadline, client_context):
        self.function_name = fn.name
        self.function_version = version
        self.invoked_function_arn = invoked_arn
        self.memory_limit_in_mb = str(fn.memory)   # a string in the real runtime, too
        self.aws_request_id = request_id
        self.log_group_name = "/aws/lambda/" + fn.name
        self.log_stream_name = time.strftime("%Y/%m/%d/", time.gmtime()) + "[%s]%s" % (version, random_hex(16))
        self.identity = None
        self.client_context = client_context
        self._deadline = deadline

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.time()) * 1000))

    def log(self, msg):
        sys.stdout.write(msg)


class HandlerLoader:
    """Imports functions/<module>.py once (own module name, so nothing shadows the stdlib)."""

    def __init__(self, functions_dir):
        self.dir = functions_dir
        self._mods = {}
        self._lock = threading.Lock()

    def get(self, module, attr):
        """Returns (callable, init_seconds or None) or raises _InitError."""
        mod = self._mods.get(module)
        init = None
        if mod is None:
            with self._lock:
                mod = self._mods.get(module)
                if mod is None:
                    t0 = time.monotonic()
                    path = os.path.join(self.dir, module + ".py")
                    try:
                        spec = importlib.util.spec_from_file_location("emu_lambda_fn_" + module, path)
                        mod = importlib.util.module_from_spec(spec)
                        spec.loader.exec_module(mod)
                    except FileNotFoundError:
                        raise _InitError("Runtime.ImportModuleError",
                                         "Unable to import module '%s': No module named '%s'" % (module, module))
                    except Exception as e:
                        raise _InitError("Runtime.ImportModuleError",
                                         "Unable to import module '%s': %s" % (module, e))
                    self._mods[module] = mod
                    init = time.monotonic() - t0
        fn = getattr(mod, attr, None)
        if not callable(fn):
            raise _InitError("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (attr, module))
        return fn, init

    def reload(self, module=None):
        with self._lock:
            if module is None:
                self._mods.clear()
            else:
                self._mods.pop(module, None)


class _InitError(Exception):
    def __init__(self, error_type, message):
        Exception.__init__(self, message)
        self.error_type = error_type
        self.message = message


class Outcome:
    """What the Invoke API sends back."""
    __slots__ = ("payload", "function_error", "log_result", "executed_version")

    def __init__(self, payload, function_error, log, executed_version):
        self.payload = payload
        self.function_error = function_error
        self.log_result = log
        self.executed_version = executed_version


def _frames_from_handler(tb, functions_dir):
    """Stack frames starting at the handler file, in the runtime's stackTrace format."""
    frames = traceback.extract_tb(tb)
    for i, fr in enumerate(frames):
        if os.path.dirname(os.path.abspath(fr.filename)) == functions_dir:
            frames = frames[i:]
            break
    out = []
    for line in traceback.format_list(frames):
        out.append(line.replace(functions_dir + os.sep, "/var/task/"))
    return out


class Runtime:
    def __init__(self, functions_dir, verbose=False):
        self.functions_dir = os.path.abspath(functions_dir)
        self.loader = HandlerLoader(self.functions_dir)
        self.pool = WorkerPool()
        self.verbose = verbose
        self._warm = set()
        self._warm_lock = threading.Lock()

    def invoke(self, fn, version, invoked_arn, request_id, event, client_context=None, wait=True):
        """Run fn; wait=False (Event invocation) returns at once."""
        run = _Invocation(self, fn, version, invoked_arn, request_id, event, client_context)
        self.pool.submit(run.run)
        if not wait:
            return None
        finished = run.done.wait(fn.timeout)
        return run.outcome(timed_out=not finished)


class _Invocation:
    def __init__(self, rt, fn, version, invoked_arn, request_id, event, client_context):
        self.rt = rt
        self.fn = fn
        self.version = version
        self.invoked_arn = invoked_arn
        self.request_id = request_id
        self.event = event
        self.client_context = client_context
        self.log = LogBuffer()
        self.done = threading.Event()
        self.result = None
        self.error = None     # dict: errorMessage/errorType/stackTrace
        self.duration = 0.0
        self.init = None
        self.start_wall = time.time()

    def run(self):
        fn = self.fn
        token = _current_log.set(self.log)
        _current_request.rid = self.request_id
        self.log.write("START RequestId: %s Version: %s\n" % (self.request_id, self.version))
        t0 = time.monotonic()
        try:
            try:
                handler, init = self.rt.loader.get(fn.module, fn.attr)
                key = (fn.name, self.version)
                if key not in self.rt._warm:
                    with self.rt._warm_lock:
                        self.rt._warm.add(key)
                    self.init = init if init is not None else 0.0
                    t0 = time.monotonic()
                ctx = LambdaContext(fn, self.version, self.invoked_arn, self.request_id,
                                    self.start_wall + fn.timeout, self.client_context)
                self.result = handler(self.event, ctx)
            except _InitError as e:
                self.error = {"errorMessage": e.message, "errorType": e.error_type, "requestId": "",
                              "stackTrace": []}
                self.log.write("[ERROR] %s: %s\n" % (e.error_type, e.message))
            except SystemExit as e:
                self.error = {"errorMessage": "RequestId: %s Error: Runtime exited with error: exit status %s"
                              % (self.request_id, e.code if isinstance(e.code, int) else 1),
                              "errorType": "Runtime.ExitError"}
                self.log.write("RequestId: %s Error: Runtime exited with error: exit status %s\n"
                               "Runtime.ExitError\n" % (self.request_id, e.code))
            except Exception as e:
                stack = _frames_from_handler(e.__traceback__, self.rt.functions_dir)
                self.error = {"errorMessage": str(e), "errorType": type(e).__name__,
                              "requestId": self.request_id, "stackTrace": stack}
                self.log.write("[ERROR] %s: %s\nTraceback (most recent call last):\n%s" % (
                    type(e).__name__, str(e), "".join(stack)))
        finally:
            self.duration = time.monotonic() - t0
            _current_log.reset(token)
            _current_request.rid = None
            self.done.set()
            if self.rt.verbose:
                sys.__stderr__.write("[%s] %s" % (fn.name, self.log.text()))

    def _report(self, duration_ms):
        rid = self.request_id
        line = ("END RequestId: %s\nREPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\t"
                "Memory Size: %d MB\tMax Memory Used: %d MB\t" % (
                    rid, rid, duration_ms, max(1, math.ceil(duration_ms)), self.fn.memory,
                    min(self.fn.memory, 42)))
        if self.init is not None:
            line += "Init Duration: %.2f ms\t" % (self.init * 1000.0 + 80.0)
        return line + "\n"

    def outcome(self, timed_out=False):
        fn = self.fn
        if timed_out:
            msg = "%s %s Task timed out after %.2f seconds" % (iso_z_ms(time.time()), self.request_id,
                                                               float(fn.timeout))
            log = self.log.text() + msg + "\n\n" + self._report(fn.timeout * 1000.0)
            return Outcome(json.dumps({"errorMessage": msg}).encode("utf-8"), "Unhandled", log, self.version)
        function_error = None
        if self.error is not None:
            payload = json.dumps(self.error).encode("utf-8")
            function_error = "Unhandled"
        else:
            payload, err = self._marshal(self.result)
            if err is not None:
                payload = json.dumps(err).encode("utf-8")
                function_error = "Unhandled"
                self.log.write("[ERROR] %s: %s\n" % (err["errorType"], err["errorMessage"]))
        if function_error is None and len(payload) > MAX_RESPONSE:
            payload = json.dumps({
                "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
                "errorType": "Function.ResponseSizeTooLarge"}).encode("utf-8")
            function_error = "Unhandled"
        log = self.log.text() + self._report(self.duration * 1000.0)
        return Outcome(payload, function_error, log, self.version)

    def _marshal(self, result):
        """Python runtimes JSON-encode whatever the handler returns (a str becomes a JSON string).
        Custom runtimes (provided*) post raw bytes; we treat bytes/str results of such functions as
        the raw response body."""
        if self.fn.runtime.startswith("provided"):
            if isinstance(result, (bytes, bytearray)):
                return bytes(result), None
            if isinstance(result, str):
                return result.encode("utf-8"), None
        try:
            return json.dumps(result).encode("utf-8"), None
        except (TypeError, ValueError) as e:
            return None, {"errorMessage": "Unable to marshal response: %s" % e,
                          "errorType": "Runtime.MarshalError", "requestId": self.request_id,
                          "stackTrace": []}


def log_result_header(log_text):
    """X-Amz-Log-Result: base64 of the last 4 KB of the invocation log."""
    data = log_text.encode("utf-8")[-LOG_TAIL_BYTES:]
    return base64.b64encode(data).decode("ascii")
