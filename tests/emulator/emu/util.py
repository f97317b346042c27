"""Small helpers shared by every module: time formats, identifiers, JSON."""
import base64
import calendar
import datetime
import json
import os
import time
import uuid

ISO_Z = "%Y-%m-%dT%H:%M:%SZ"
SIGV4_TS = "%Y%m%dT%H%M%SZ"


def new_request_id():
    return str(uuid.uuid4())


def iso_z(epoch):
    """2026-01-02T03:04:05Z (STS, IMDS, container credentials)."""
    return time.strftime(ISO_Z, time.gmtime(epoch))


def iso_z_ms(epoch):
    """2026-01-02T03:04:05.678Z (Lambda log lines)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + ".%03dZ" % int((epoch % 1) * 1000)


def lambda_ts(epoch):
    """2026-01-02T03:04:05.678+0000 (Lambda LastModified)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + ".%03d+0000" % int((epoch % 1) * 1000)


def parse_time(value, field="time"):
    """Accept epoch seconds (int/float) or an ISO-8601 string; return epoch seconds or None."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        s = value.strip()
        if s.endswith("Z"):
            s = s[:-1] + "+00:00"
        try:
            dt = datetime.datetime.fromisoformat(s)
        except ValueError:
            raise ValueError("%s: not an ISO-8601 time: %r" % (field, value))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=datetime.timezone.utc)
        return dt.timestamp()
    raise ValueError("%s: expected epoch seconds or ISO-8601 string, got %r" % (field, value))


def parse_sigv4_ts(value):
    """20260102T030405Z -> epoch seconds, or None when malformed."""
    if not isinstance(value, str) or len(value) != 16 or value[8] != "T" or value[15] != "Z":
        return None
    try:
        parts = (int(value[0:4]), int(value[4:6]), int(value[6:8]), int(value[9:11]), int(value[11:13]),
                 int(value[13:15]))
        datetime.datetime(*parts)   # range check
    except ValueError:
        return None
    return float(calendar.timegm(parts + (0, 0, 0)))


class Headers:
    """Request headers as a case-insensitive multimap (faster than email.message for lookups)."""

    __slots__ = ("_d", "_items")

    def __init__(self, items):
        self._items = list(items)
        d = {}
        for k, v in self._items:
            d.setdefault(k.lower(), []).append(v)
        self._d = d

    def get(self, name, default=None):
        v = self._d.get(name.lower())
        return v[0] if v else default

    def get_all(self, name, default=None):
        return self._d.get(name.lower(), default)

    def __contains__(self, name):
        return name.lower() in self._d

    def __getitem__(self, name):
        return self.get(name)

    def items(self):
        return list(self._items)


def sigv4_ts(epoch):
    return time.strftime(SIGV4_TS, time.gmtime(epoch))


def random_access_key(prefix="ASIA"):
    return prefix + base64.b32encode(os.urandom(10)).decode("ascii")


def random_secret():
    return base64.b64encode(os.urandom(30)).decode("ascii")


def random_token(nbytes=96):
    return base64.b64encode(os.urandom(nbytes)).decode("ascii")


def random_hex(nbytes=16):
    return os.urandom(nbytes).hex()


def dumps(obj):
    """Compact JSON as bytes."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def b64url_encode(text):
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def b64url_decode(token):
    """Inverse of b64url_encode; raises ValueError on garbage."""
    if not isinstance(token, str):
        raise ValueError("token is not a string")
    pad = "=" * (-len(token) % 4)
    try:
        return base64.urlsafe_b64decode(token + pad).decode("utf-8")
    except Exception as e:  # binascii.Error, UnicodeDecodeError
        raise ValueError(str(e))
