"""Responses and the error wire format of each AWS protocol we speak.

rest-json (Lambda, Schemas, SSO, SSO-OIDC): status + header x-amzn-ErrorType + JSON body.
json 1.1 (Resource Groups Tagging API): {"__type": code, "message"|"Message": ...}.
query (STS): <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>.
"""
import json
from xml.sax.saxutils import escape

from .util import dumps

JSON = "application/json"
AMZ_JSON_11 = "application/x-amz-json-1.1"
XML = "text/xml"
TEXT = "text/plain"


class ApiError(Exception):
    def __init__(self, status, code, message, headers=None, fields=None):
        Exception.__init__(self, message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers
        self.fields = fields


class Response:
    __slots__ = ("status", "headers", "body", "error", "drop")

    def __init__(self, status=200, body=b"", content_type=JSON, headers=None, error=None):
        self.status = status
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, (bytes, bytearray)):
            body = dumps(body)
        self.body = body
        self.headers = list(headers or [])
        if content_type and (body or status not in (202, 204)):
            self.headers.insert(0, ("Content-Type", content_type))
        self.error = error          # error code, for stats
        self.drop = False

    @classmethod
    def dropped(cls):
        r = cls(0, b"", None)
        r.drop = True
        return r


def json_response(obj, status=200, headers=None, content_type=JSON):
    return Response(status, dumps(obj), content_type, headers)


# ---- per-protocol error renderers ---------------------------------------------------------------
# Lambda's own error shapes name the message field "Message" for some errors and "message"
# for others (service-2.json); the Type field is "User" for 4xx and "Service" for 5xx.
LAMBDA_CAPITAL_MESSAGE = {"ResourceNotFoundException", "ServiceException", "ResourceNotReadyException"}
AUTH_CODES = {"InvalidSignatureException", "UnrecognizedClientException", "ExpiredTokenException",
              "MissingAuthenticationTokenException", "IncompleteSignatureException",
              "AccessDeniedException"}


def lambda_error(status, code, message, request_id="", extra_headers=None, extra_fields=None):
    headers = [("x-amzn-ErrorType", code)] + list(extra_headers or [])
    if code in AUTH_CODES:
        body = {"message": message}
    else:
        body = {"Type": "User" if status < 500 else "Service",
                ("Message" if code in LAMBDA_CAPITAL_MESSAGE else "message"): message}
    if extra_fields:
        body.update(extra_fields)
    return Response(status, dumps(body), JSON, headers, error=code)


def schemas_error(status, code, message, request_id="", extra_headers=None, extra_fields=None):
    headers = [("x-amzn-ErrorType", code)] + list(extra_headers or [])
    if code in AUTH_CODES:
        body = {"message": message}
    else:
        body = {"Code": code, "Message": message}
    return Response(status, dumps(body), JSON, headers, error=code)


def json11_error(status, code, message, request_id="", extra_headers=None, extra_fields=None):
    key = "message" if code in AUTH_CODES and code != "AccessDeniedException" else "Message"
    body = {"__type": code, key: message}
    return Response(status, dumps(body), AMZ_JSON_11, [("x-amzn-ErrorType", code)] + list(extra_headers or []),
                    error=code)


def sso_error(status, code, message, request_id="", extra_headers=None, extra_fields=None):
    return Response(status, dumps({"message": message}), JSON,
                    [("x-amzn-ErrorType", code)] + list(extra_headers or []), error=code)


OIDC_ERROR_NAMES = {
    "InvalidRequestException": "invalid_request", "InvalidClientException": "invalid_client",
    "InvalidGrantException": "invalid_grant", "UnauthorizedClientException": "unauthorized_client",
    "UnsupportedGrantTypeException": "unsupported_grant_type", "InvalidScopeException": "invalid_scope",
    "AuthorizationPendingException": "authorization_pending", "SlowDownException": "slow_down",
    "AccessDeniedException": "access_denied", "ExpiredTokenException": "expired_token",
    "InternalServerException": "server_error",
}


def oidc_error(status, code, message, request_id="", extra_headers=None, extra_fields=None):
    body = {"error": OIDC_ERROR_NAMES.get(code, code), "error_description": message}
    return Response(status, dumps(body), JSON, [("x-amzn-ErrorType", code)] + list(extra_headers or []),
                    error=code)


STS_AUTH_CODES = {
    "InvalidSignatureException": "SignatureDoesNotMatch",
    "UnrecognizedClientException": "InvalidClientTokenId",
    "ExpiredTokenException": "ExpiredToken",
    "MissingAuthenticationTokenException": "MissingAuthenticationToken",
    "IncompleteSignatureException": "IncompleteSignature",
}
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


def sts_error(status, code, message, request_id="", extra_headers=None, extra_fields=None):
    kind = "Receiver" if status >= 500 else "Sender"
    body = ('<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n    <Code>%s</Code>\n'
            '    <Message>%s</Message>\n  </Error>\n  <RequestId>%s</RequestId>\n</ErrorResponse>\n'
            % (STS_NS, kind, escape(code), escape(message), request_id))
    return Response(status, body, XML, list(extra_headers or []), error=code)


def plain_error(status, code, message, request_id="", extra_headers=None, extra_fields=None):
    """IMDS / container endpoint style: plain text."""
    return Response(status, message + "\n", TEXT, list(extra_headers or []), error=code)


def control_error(status, message):
    return Response(status, dumps({"error": message}), JSON, error="ControlError")


def parse_json_body(body):
    if not body:
        return {}
    return json.loads(body.decode("utf-8"))
