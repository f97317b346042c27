"""SigV4 verification, computed by botocore (an implementation independent of ours).

We rebuild the request as a botocore AWSRequest carrying exactly the headers the client
named in SignedHeaders, set request.context['timestamp'] from X-Amz-Date and let
botocore.auth.SigV4Auth produce the canonical request, the string to sign and the signature.
Like AWS for every service but S3, botocore URI-encodes the already-encoded path once more.
The query string is decoded and handed to botocore as parameters, which it re-encodes the
strict SigV4 way, so a client that sends '$LATEST' or '%24LATEST' is judged like AWS would.
"""
import hashlib
import hmac
import time
from urllib.parse import unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from .util import parse_sigv4_ts, sigv4_ts

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = 300.0
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

MSG_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method. Consult the service documentation "
                "for details.")
MSG_BAD_TOKEN = "The security token included in the request is invalid."
MSG_EXPIRED_TOKEN = "The security token included in the request is expired"
MSG_MISSING = "Missing Authentication Token"


class AuthError(Exception):
    """code is the Lambda/JSON-protocol name; protocols map it (STS: SignatureDoesNotMatch ...)."""

    def __init__(self, code, message, detail=None):
        Exception.__init__(self, message)
        self.code = code
        self.message = message
        self.detail = detail


class _Verifier(SigV4Auth):
    """botocore's signer, except that it signs exactly the headers it is given.

    Stock headers_to_sign() drops user-agent/expect/x-amzn-trace-id (it never signs them) and
    adds host when absent; AWS itself verifies whatever the client listed in SignedHeaders.
    """

    def headers_to_sign(self, request):
        header_map = HTTPHeaders()
        for name, value in request.headers.items():
            header_map[name.lower()] = value
        return header_map


class ParsedAuth:
    __slots__ = ("access_key_id", "date", "region", "service", "signed_headers", "signature")


def parse_authorization(value):
    """Parse 'AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...'."""
    algo, _, rest = value.strip().partition(" ")
    if algo != ALGORITHM:
        raise AuthError("IncompleteSignatureException", "Unsupported AWS 'algorithm': '%s'." % algo)
    fields = {}
    for part in rest.split(","):
        k, sep, v = part.strip().partition("=")
        if sep:
            fields[k.strip()] = v.strip()
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
    if missing:
        raise AuthError("IncompleteSignatureException",
                        " ".join("Authorization header requires '%s' parameter." % k for k in missing)
                        + " Authorization=" + value)
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise AuthError("IncompleteSignatureException",
                        "Credential should be scoped to a valid region, service and terminated by "
                        "'aws4_request'. Credential=" + fields["Credential"])
    p = ParsedAuth()
    p.access_key_id, p.date, p.region, p.service = scope[0], scope[1], scope[2], scope[3]
    p.signed_headers = [h.strip().lower() for h in fields["SignedHeaders"].split(";") if h.strip()]
    p.signature = fields["Signature"]
    return p


def _query_pairs(raw_query):
    pairs = []
    if raw_query:
        for item in raw_query.split("&"):
            if not item:
                continue
            k, _, v = item.partition("=")
            pairs.append((unquote(k), unquote(v)))
    return pairs


def verify(auth, creds, regions, method, raw_path, raw_query, headers, body, now=None):
    """Check a parsed Authorization against the request. Returns the Credential or raises AuthError.

    headers: an email.message.Message-like object (http.server's self.headers).
    regions: set of acceptable scope regions (None: any).
    """
    cred = creds.get(auth.access_key_id)
    if cred is None:
        raise AuthError("UnrecognizedClientException", MSG_BAD_TOKEN)
    token = headers.get("X-Amz-Security-Token")
    if (cred.session_token or None) != (token or None):
        raise AuthError("UnrecognizedClientException", MSG_BAD_TOKEN)
    now = time.time() if now is None else now
    if cred.expired(now):
        raise AuthError("ExpiredTokenException", MSG_EXPIRED_TOKEN)

    amz_date = headers.get("X-Amz-Date")
    if amz_date is None:
        raise AuthError("IncompleteSignatureException",
                        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                        "header. Authorization=" + headers.get("Authorization", ""))
    ts = parse_sigv4_ts(amz_date)
    if ts is None:
        raise AuthError("IncompleteSignatureException",
                        "Date must be in ISO-8601 'basic format'. Got '%s'. See "
                        "http://en.wikipedia.org/wiki/ISO_8601" % amz_date)
    if ts < now - MAX_SKEW:
        raise AuthError("InvalidSignatureException",
                        "Signature expired: %s is now earlier than %s (%s - 5 min.)"
                        % (amz_date, sigv4_ts(now - MAX_SKEW), sigv4_ts(now)), {"expired": True})
    if ts > now + MAX_SKEW:
        raise AuthError("InvalidSignatureException",
                        "Signature not yet current: %s is still later than %s (%s + 5 min.)"
                        % (amz_date, sigv4_ts(now + MAX_SKEW), sigv4_ts(now)), {"expired": True})
    if auth.date != amz_date[:8]:
        raise AuthError("InvalidSignatureException",
                        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                        "from HTTP: '%s' != '%s', from '%s'." % (auth.date, amz_date[:8], amz_date))
    if regions is not None and auth.region not in regions:
        raise AuthError("InvalidSignatureException",
                        "Credential should be scoped to a valid region, not '%s'. " % auth.region)
    if "host" not in auth.signed_headers:
        raise AuthError("InvalidSignatureException",
                        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")

    signed = {}
    for name in auth.signed_headers:
        values = headers.get_all(name)
        signed[name] = values if values else [""]
    claimed_hash = headers.get("X-Amz-Content-SHA256")
    if claimed_hash is not None and claimed_hash != "UNSIGNED-PAYLOAD":
        if claimed_hash != (hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256):
            raise AuthError("InvalidSignatureException",
                            "The provided 'x-amz-content-sha256' header does not match what was computed.")

    req = AWSRequest(method=method, url="http://" + (headers.get("Host") or "localhost") + raw_path,
                     data=body or b"", params=_query_pairs(raw_query))
    for name, values in signed.items():
        for v in values:
            req.headers[name] = v
    req.context["timestamp"] = amz_date
    signer = _Verifier(Credentials(cred.access_key_id, cred.secret_access_key, cred.session_token),
                       auth.service, auth.region)
    canonical = signer.canonical_request(req)
    string_to_sign = signer.string_to_sign(req, canonical)
    expected = signer.signature(string_to_sign, req)
    if not hmac.compare_digest(expected, auth.signature):
        raise AuthError("InvalidSignatureException", MSG_MISMATCH,
                        {"access_key_id": auth.access_key_id, "canonical_request": canonical,
                         "string_to_sign": string_to_sign, "expected_signature": expected,
                         "received_signature": auth.signature})
    return cred
