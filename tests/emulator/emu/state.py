"""Mutable emulator state shared by all request threads.

One lock (State.lock) guards structural changes; hot-path reads (credential lookup, function
lookup) are plain dict reads, which are atomic under the GIL, and writers replace values
instead of mutating them.
"""
import bisect
import collections
import random
import threading
import time

from .util import random_access_key, random_secret, random_token


class Credential:
    __slots__ = ("access_key_id", "secret_access_key", "session_token", "expiration", "arn", "source",
                 "role_arn", "issued")

    def __init__(self, access_key_id, secret_access_key, session_token=None, expiration=None, arn=None,
                 source="account", role_arn=None):
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.session_token = session_token
        self.expiration = expiration
        self.arn = arn
        self.source = source
        self.role_arn = role_arn
        self.issued = time.time()

    def expired(self, now=None):
        return self.expiration is not None and (now or time.time()) >= self.expiration

    def public(self):
        return {
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "session_token": self.session_token,
            "expiration": self.expiration,
            "arn": self.arn,
            "source": self.source,
            "role_arn": self.role_arn,
        }


class CredentialStore:
    """Access keys accepted for SigV4: the account's plus every one the emulator issued."""

    MAX_ISSUED = 100000

    def __init__(self):
        self._by_key = {}
        self._issued = collections.deque()
        self._lock = threading.Lock()
        self.global_max_lifetime = None   # control API: cap on every issued credential

    def get(self, akid):
        return self._by_key.get(akid)

    def add(self, cred):
        with self._lock:
            self._by_key[cred.access_key_id] = cred

    def remove(self, akid):
        with self._lock:
            return self._by_key.pop(akid, None)

    def issue(self, lifetime, arn, source, role_arn=None):
        """New temporary credentials (ASIA...), accepted until they expire."""
        if self.global_max_lifetime is not None:
            lifetime = min(lifetime, self.global_max_lifetime)
        cred = Credential(random_access_key("ASIA"), random_secret(), random_token(),
                          time.time() + lifetime, arn, source, role_arn)
        with self._lock:
            self._by_key[cred.access_key_id] = cred
            self._issued.append(cred.access_key_id)
            while len(self._issued) > self.MAX_ISSUED:
                self._by_key.pop(self._issued.popleft(), None)
        return cred

    def expire(self, akid):
        cred = self._by_key.get(akid)
        if cred is None:
            return False
        cred.expiration = time.time() - 1
        return True

    def all(self):
        return list(self._by_key.values())


class Stats:
    TIMINGS_LIMIT = 200000

    def __init__(self, recent_limit=1000):
        self.lock = threading.Lock()
        self.recent_limit = recent_limit
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.started = time.time()
            self.seq = 0
            self.requests = 0
            self.operations = collections.Counter()
            self.operation_errors = collections.Counter()
            self.services = collections.Counter()
            self.statuses = collections.Counter()
            self.access_keys = collections.Counter()
            self.invocations = collections.Counter()
            self.invocations_by_qualifier = collections.Counter()
            self.async_invocations = collections.Counter()
            self.signature_failures = 0
            self.auth_failures = collections.Counter()
            self.faults_injected = 0
            self.imds = collections.Counter()
            self.recent = collections.deque(maxlen=self.recent_limit)
            self.last_signature_failure = None
            self.in_progress = collections.Counter()   # RequestResponse invocations running now
            self.client_gone = 0                       # answers not sent: the caller had hung up
            self.timings = collections.deque(maxlen=self.TIMINGS_LIMIT)

    def record(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.requests += 1
            op = entry.get("operation") or "Unknown"
            self.operations[op] += 1
            status = entry.get("status")
            if status is None or status >= 400 or entry.get("error"):
                self.operation_errors[op] += 1
            if entry.get("service"):
                self.services[entry["service"]] += 1
            self.statuses[str(status)] += 1
            if entry.get("access_key_id"):
                self.access_keys[entry["access_key_id"]] += 1
            if entry.get("fault"):
                self.faults_injected += 1
            self.recent.append(entry)

    def count_invocation(self, name, qualifier, asynchronous=False):
        with self.lock:
            self.invocations[name] += 1
            self.invocations_by_qualifier["%s:%s" % (name, qualifier or "$LATEST")] += 1
            if asynchronous:
                self.async_invocations[name] += 1

    def invocation_started(self, name):
        with self.lock:
            self.in_progress[name] += 1

    def invocation_finished(self, name):
        with self.lock:
            self.in_progress[name] -= 1
            if self.in_progress[name] <= 0:
                del self.in_progress[name]

    def caller_gone(self, entry):
        with self.lock:
            self.client_gone += 1
            if entry is not None:
                entry["client_gone"] = True

    def record_timing(self, handling_us, reading_us, operation=None):
        self.timings.append((handling_us, reading_us, operation))   # deque.append is atomic under the GIL

    def timings_snapshot(self, clear=False):
        """[(handling_us, reading_us, operation)] in the order the answers were written."""
        with self.lock:
            out = list(self.timings)
            if clear:
                self.timings.clear()
            return out

    def auth_failure(self, code, detail=None):
        with self.lock:
            self.auth_failures[code] += 1
            if code == "InvalidSignatureException" and (detail is None or not detail.get("expired")):
                self.signature_failures += 1
                if detail:
                    self.last_signature_failure = detail

    def imds_count(self, key):
        with self.lock:
            self.imds[key] += 1

    def snapshot(self, recent=None, since=None):
        with self.lock:
            items = list(self.recent)
            if since is not None:
                items = [e for e in items if e["seq"] > since]
            if recent is not None:
                items = items[-recent:] if recent > 0 else []
            return {
                "started": self.started,
                "uptime_seconds": round(time.time() - self.started, 3),
                "requests": self.requests,
                "last_seq": self.seq,
                "operations": dict(self.operations),
                "operation_errors": dict(self.operation_errors),
                "services": dict(self.services),
                "status_codes": dict(self.statuses),
                "access_keys": dict(self.access_keys),
                "invocations": dict(self.invocations),
                "invocations_by_qualifier": dict(self.invocations_by_qualifier),
                "async_invocations": dict(self.async_invocations),
                "signature_failures": self.signature_failures,
                "auth_failures": dict(self.auth_failures),
                "faults_injected": self.faults_injected,
                "imds": dict(self.imds),
                "last_signature_failure": self.last_signature_failure,
                "invocations_in_progress": {k: v for k, v in self.in_progress.items() if v > 0},
                "client_gone": self.client_gone,
                "recent": [dict(e) for e in items],
            }


class Fault:
    FIELDS = {"operation", "service", "function", "access_key_id", "status", "code", "message", "count",
              "ratio", "drop", "latency_ms", "retry_after", "body", "id"}

    def __init__(self, spec, fid):
        unknown = set(spec) - self.FIELDS
        if unknown:
            raise ValueError("unknown fault fields %s" % sorted(unknown))
        self.id = fid
        self.operation = spec.get("operation", "*")
        self.service = spec.get("service")
        self.function = spec.get("function")
        self.access_key_id = spec.get("access_key_id")
        self.status = spec.get("status")
        self.code = spec.get("code")
        self.message = spec.get("message")
        self.count = spec.get("count")
        self.ratio = spec.get("ratio")
        self.drop = bool(spec.get("drop", False))
        self.latency_ms = float(spec.get("latency_ms") or 0)
        self.retry_after = spec.get("retry_after")
        self.body = spec.get("body")
        self.fired = 0
        if self.status is not None and not (isinstance(self.status, int) and 100 <= self.status <= 599):
            raise ValueError("status must be an HTTP status code")
        if self.count is not None and (not isinstance(self.count, int) or self.count < 1):
            raise ValueError("count must be a positive integer")
        if self.ratio is not None and not (isinstance(self.ratio, (int, float)) and 0 <= self.ratio <= 1):
            raise ValueError("ratio must be in 0..1")
        if not (self.drop or self.status or self.latency_ms):
            raise ValueError("a fault needs status, drop or latency_ms")

    def matches(self, op, service, function, akid):
        if self.operation not in ("*", op):
            return False
        if self.service is not None and self.service != service:
            return False
        if self.function is not None and self.function != function:
            return False
        if self.access_key_id is not None and self.access_key_id != akid:
            return False
        return True

    def public(self):
        return {k: getattr(self, k) for k in ("id", "operation", "service", "function", "access_key_id",
                                              "status", "code", "message", "count", "ratio", "drop",
                                              "latency_ms", "retry_after", "body", "fired")}


class FaultTable:
    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []
        self._next = 1
        self._rng = random.Random()

    def add(self, spec):
        with self._lock:
            f = Fault(spec, self._next)
            self._next += 1
            self._faults.append(f)
            return f

    def clear(self):
        with self._lock:
            self._faults = []

    def remove(self, fid):
        with self._lock:
            n = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fid]
            return len(self._faults) != n

    def seed(self, seed):
        with self._lock:
            self._rng.seed(seed)

    def list(self):
        with self._lock:
            return [f.public() for f in self._faults]

    def take(self, op, service, function, akid):
        """The first matching fault that fires for this request (consuming one count), or None."""
        if not self._faults:
            return None
        with self._lock:
            for f in self._faults:
                if not f.matches(op, service, function, akid):
                    continue
                if f.ratio is not None and self._rng.random() >= f.ratio:
                    continue
                f.fired += 1
                if f.count is not None:
                    f.count -= 1
                    if f.count <= 0:
                        self._faults.remove(f)
                return f
        return None


class State:
    """Everything mutable. Built from an Account; reset(reload=True) rebuilds it."""

    def __init__(self, account, account_path=None, latency_ms=None):
        self.account_path = account_path
        self.lock = threading.RLock()
        self.cli_latency_ms = latency_ms
        self.stats = Stats(account.recent_limit)
        self.faults = FaultTable()
        self.load(account)

    def load(self, account):
        with self.lock:
            self.account = account
            self.region = account.region
            self.regions = {account.region, *account.additional_regions}
            self.account_id = account.account_id
            self.functions = dict(account.functions)
            self.sorted_names = sorted(self.functions)
            self.registries = {k: {"description": v["description"], "schemas": dict(v["schemas"])}
                               for k, v in account.registries.items()}
            self.creds = CredentialStore()
            for c in account.credentials:
                self.creds.add(Credential(c["access_key_id"], c["secret_access_key"], c["session_token"],
                                          c["expiration"], c["arn"], "account"))
            self.roles = dict(account.roles)
            self.sts_max_lifetime = account.sts_max_lifetime
            self.sso_role_lifetime = account.sso_role_lifetime
            self.sso_access_tokens = {k: dict(v) for k, v in account.sso_access_tokens.items()}
            self.sso_clients = dict(account.sso_clients)
            self.sso_refresh_tokens = {k: dict(v) for k, v in account.sso_refresh_tokens.items()}
            self.imds = dict(account.imds)
            self.imds_tokens = {}
            self.imds_cred = None
            self.container = dict(account.container)
            self.container_cred = None
            self.reset_knobs()

    def reset_knobs(self):
        """Settings the control API may change, back to the account file's values."""
        a = self.account
        self.tagging_deny = a.tagging_deny
        self.list_tags_deny = a.list_tags_deny
        self.sts_max_lifetime = a.sts_max_lifetime
        self.sso_role_lifetime = a.sso_role_lifetime
        self.imds = dict(a.imds)
        self.container = dict(a.container)
        self.creds.global_max_lifetime = None
        self.latency_ms = self.cli_latency_ms if self.cli_latency_ms is not None else a.latency_ms
        self.operation_latency_ms = dict(a.operation_latency_ms)

    # ---- functions --------------------------------------------------------------------------
    def put_function(self, fn):
        with self.lock:
            if fn.name not in self.functions:
                names = list(self.sorted_names)
                bisect.insort(names, fn.name)
                self.sorted_names = names
            self.functions[fn.name] = fn

    def remove_function(self, name):
        with self.lock:
            if self.functions.pop(name, None) is None:
                return False
            self.sorted_names = [n for n in self.sorted_names if n != name]
            return True

    def latency_for(self, op):
        return self.operation_latency_ms.get(op, 0.0) + (self.latency_ms or 0.0)
