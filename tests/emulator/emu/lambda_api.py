"""AWS Lambda (REST-JSON, API version 2015-03-31; signing name "lambda")."""
import base64
import binascii
import bisect
import json
import re
from urllib.parse import unquote

from .protocols import ApiError, Response, lambda_error, json_response
from .runtime import log_result_header
from .util import b64url_decode, b64url_encode

MAX_REQUEST = 6291456
MAX_ASYNC_REQUEST = 262144
PAGE_MAX = 50

NAME_PATTERN = (r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?"
                r"([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?")
NAME_RE = re.compile("^" + NAME_PATTERN + "$")
ARN_PATTERN = (r"arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}(-gov)?-[a-z]+-\d{1}:\d{12}:function:[a-zA-Z0-9-_]+"
               r"(:(\$LATEST|[a-zA-Z0-9-_]+))?")
ARN_RE = re.compile("^" + ARN_PATTERN + "$")
QUALIFIER_RE = re.compile(r"^[a-zA-Z0-9$_-]{1,128}$")


def validation(value, field, pattern):
    return ApiError(400, "ValidationException",
                    "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: "
                    "Member must satisfy regular expression pattern: %s" % (value, field, pattern))


class LambdaService:
    name = "lambda"
    signing_name = "lambda"
    error = staticmethod(lambda_error)
    PREFIXES = ("/2015-03-31/", "/2017-03-31/", "/2014-11-13/", "/2016-08-19/", "/2018-10-31/",
                "/2019-09-25/", "/2019-09-30/", "/2020-04-22/", "/2020-06-30/", "/2021-10-31/")

    def __init__(self, state, runtime):
        self.state = state
        self.runtime = runtime

    @classmethod
    def claims(cls, req):
        return req.path.startswith(cls.PREFIXES)

    def requires_auth(self, op):
        return True

    # ---- routing ------------------------------------------------------------------------------
    def identify(self, req):
        """Sets req.operation / req.function_ref; raises ApiError for unknown routes."""
        segs = req.path.split("/")
        # ['', '2015-03-31', 'functions', '{name}', 'invocations']
        m = req.method
        if len(segs) >= 3 and segs[1] == "2015-03-31" and segs[2] == "functions":
            rest = segs[3:]
            if rest in ([], [""]) and m == "GET":
                return "ListFunctions", None
            if len(rest) == 1 and m == "GET":
                return "GetFunction", unquote(rest[0])
            if len(rest) == 2 and rest[1] == "configuration" and m == "GET":
                return "GetFunctionConfiguration", unquote(rest[0])
            if len(rest) == 2 and rest[1] == "invocations" and m == "POST":
                return "Invoke", unquote(rest[0])
        if len(segs) == 4 and segs[1] == "2017-03-31" and segs[2] == "tags" and m == "GET":
            return "ListTags", unquote(segs[3])
        raise ApiError(404, "UnknownOperationException", "Unknown operation %s %s" % (m, req.path))

    def function_label(self, op, ref):
        """Function name for stats/fault matching (best effort, before validation)."""
        if ref is None:
            return None
        parts = ref.split(":")
        if ref.startswith("arn:") and len(parts) >= 7:
            return parts[6]
        if len(parts) >= 3 and parts[1] == "function":
            return parts[2]
        return parts[0]

    # ---- helpers ------------------------------------------------------------------------------
    def _arn_for(self, name, qualifier=None):
        s = self.state
        base = "arn:aws:lambda:%s:%s:function:%s" % (s.region, s.account_id, name)
        return base + ":" + qualifier if qualifier else base

    def resolve(self, ref, query_qualifier=None, field="functionName"):
        """ref (name | name:qual | ARN | partial ARN) -> (Function, qualifier or None, version)."""
        if len(ref) > 170 or not NAME_RE.match(ref):
            raise validation(ref, field, NAME_PATTERN)
        s = self.state
        parts = ref.split(":")
        region, account, qual = s.region, s.account_id, None
        if ref.startswith("arn:"):
            if len(parts) not in (7, 8):
                raise validation(ref, field, NAME_PATTERN)
            region, account, name = parts[3], parts[4], parts[6]
            qual = parts[7] if len(parts) == 8 else None
        elif len(parts) >= 3 and parts[1] == "function":
            if len(parts) not in (3, 4):
                raise validation(ref, field, NAME_PATTERN)
            account, name = parts[0], parts[2]
            qual = parts[3] if len(parts) == 4 else None
        else:
            if len(parts) > 2:
                raise validation(ref, field, NAME_PATTERN)
            name = parts[0]
            qual = parts[1] if len(parts) == 2 else None
        if query_qualifier is not None:
            if not QUALIFIER_RE.match(query_qualifier):
                raise validation(query_qualifier, "qualifier", r"(|[a-zA-Z0-9$_-]+)")
            if qual is not None and qual != query_qualifier:
                raise ApiError(400, "InvalidParameterValueException",
                               "The derived qualifier from the function name does not match the specified "
                               "qualifier.")
            qual = query_qualifier
        fn = s.functions.get(name)
        if fn is None or account != s.account_id or region != s.region:
            arn = "arn:aws:lambda:%s:%s:function:%s" % (region, account, name)
            raise ApiError(404, "ResourceNotFoundException",
                           "Function not found: %s" % (arn + ":" + qual if qual else arn))
        version = fn.resolve(qual)
        if version is None:
            raise ApiError(404, "ResourceNotFoundException", "Function not found: %s" % fn.arn(qual))
        return fn, qual, version

    # ---- operations -----------------------------------------------------------------------------
    def handle(self, req):
        op = req.operation
        if op == "Invoke":
            return self.invoke(req)
        if op == "ListFunctions":
            return self.list_functions(req)
        if op == "GetFunction":
            return self.get_function(req)
        if op == "GetFunctionConfiguration":
            fn, qual, version = self.resolve(req.function_ref, req.params.get("Qualifier"))
            return json_response(fn.configuration(version, qual))
        if op == "ListTags":
            return self.list_tags(req)
        raise ApiError(404, "UnknownOperationException", "Unknown operation")

    def list_functions(self, req):
        p = req.params
        max_items = PAGE_MAX
        if "MaxItems" in p:
            try:
                max_items = int(p["MaxItems"])
            except ValueError:
                raise ApiError(400, "InvalidParameterValueException",
                               "1 validation error detected: Value '%s' at 'maxItems' failed to satisfy "
                               "constraint: Member must be an integer" % p["MaxItems"])
            if not 1 <= max_items <= 10000:
                raise ApiError(400, "InvalidParameterValueException",
                               "1 validation error detected: Value '%d' at 'maxItems' failed to satisfy "
                               "constraint: Member must have value %s" % (
                                   max_items, "greater than or equal to 1" if max_items < 1
                                   else "less than or equal to 10000"))
            max_items = min(max_items, PAGE_MAX)
        all_versions = False
        if "FunctionVersion" in p:
            if p["FunctionVersion"] != "ALL":
                raise ApiError(400, "InvalidParameterValueException",
                               "1 validation error detected: Value '%s' at 'functionVersion' failed to satisfy "
                               "constraint: Member must satisfy enum value set: [ALL]" % p["FunctionVersion"])
            all_versions = True
        s = self.state
        names = s.sorted_names
        after = None
        marker = p.get("Marker")
        if marker:
            try:
                decoded = json.loads(b64url_decode(marker))
                after = (str(decoded["n"]), int(decoded.get("v", -1)))
            except (ValueError, KeyError, TypeError):
                raise ApiError(400, "InvalidParameterValueException", "Invalid marker: %s" % marker)
        items, last = [], None
        more = False
        start = bisect.bisect_left(names, after[0]) if after else 0
        for i in range(start, len(names)):
            fn = s.functions.get(names[i])
            if fn is None:
                continue
            versions = ["$LATEST"] + list(fn.versions) if all_versions else ["$LATEST"]
            for v in versions:
                key = (fn.name, -1 if v == "$LATEST" else int(v))
                if after is not None and key <= after:
                    continue
                if len(items) == max_items:
                    more = True
                    break
                items.append(fn.configuration_json(v))
                last = key
            if more:
                break
        next_marker = None
        if more:
            next_marker = b64url_encode(json.dumps({"n": last[0], "v": last[1]}, separators=(",", ":")))
        body = '{"Functions":[' + ",".join(items) + '],"NextMarker":' + json.dumps(next_marker) + "}"
        return Response(200, body.encode("utf-8"))

    def get_function(self, req):
        fn, qual, version = self.resolve(req.function_ref, req.params.get("Qualifier"))
        s = self.state
        out = {
            "Configuration": fn.configuration(version, qual),
            "Code": {
                "RepositoryType": "S3",
                "Location": "https://awslambda-%s-tasks.s3.%s.amazonaws.com/snapshots/%s/%s-%s"
                            "?versionId=emulator&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=600"
                            % (s.region, s.region, s.account_id, fn.name, fn.revision_id),
            },
        }
        if s.list_tags_deny:
            # as AWS: GetFunction returns tags only to callers allowed lambda:ListTags
            out["TagsError"] = {"ErrorCode": "AccessDeniedException",
                                "Message": "%s is not authorized to perform: lambda:ListTags" % self._who(req)}
        elif fn.tags:
            out["Tags"] = dict(fn.tags)
        return json_response(out)

    def _who(self, req):
        s = self.state
        return "User: %s" % (req.cred.arn if req.cred is not None else "arn:aws:iam::%s:user/unknown" % s.account_id)

    def list_tags(self, req):
        ref = req.function_ref
        if not ARN_RE.match(ref):
            raise validation(ref, "resource", ARN_PATTERN)
        parts = ref.split(":")
        if len(parts) == 8:
            raise ApiError(400, "InvalidParameterValueException",
                           "Tags are not supported on function versions or aliases.")
        s = self.state
        if s.list_tags_deny:
            raise ApiError(403, "AccessDeniedException", "%s is not authorized to perform: lambda:ListTags on "
                           "resource: %s" % (self._who(req), ref))
        fn = s.functions.get(parts[6])
        if fn is None or parts[4] != s.account_id or parts[3] != s.region:
            raise ApiError(404, "ResourceNotFoundException", "Function not found: %s" % ref)
        return json_response({"Tags": dict(fn.tags)})

    def invoke(self, req):
        h = req.headers
        itype = h.get("X-Amz-Invocation-Type") or "RequestResponse"
        if itype not in ("RequestResponse", "Event", "DryRun"):
            raise ApiError(400, "InvalidParameterValueException",
                           "1 validation error detected: Value '%s' at 'invocationType' failed to satisfy "
                           "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
                           % itype)
        log_type = h.get("X-Amz-Log-Type") or "None"
        if log_type not in ("None", "Tail"):
            raise ApiError(400, "InvalidParameterValueException",
                           "1 validation error detected: Value '%s' at 'logType' failed to satisfy "
                           "constraint: Member must satisfy enum value set: [Tail, None]" % log_type)
        fn, qual, version = self.resolve(req.function_ref, req.params.get("Qualifier"))
        limit = MAX_ASYNC_REQUEST if itype == "Event" else MAX_REQUEST
        if len(req.body) > limit:
            raise ApiError(413, "RequestTooLargeException",
                           "Request must be smaller than %d bytes for the InvokeFunction operation" % limit)
        if req.body.strip():
            try:
                event = json.loads(req.body)
            except (ValueError, UnicodeDecodeError) as e:
                raise ApiError(400, "InvalidRequestContentException",
                               "Could not parse request body into json: Could not parse payload into json: %s"
                               % e)
        else:
            event = {}
        client_context = None
        raw_cc = h.get("X-Amz-Client-Context")
        if raw_cc:
            try:
                decoded = json.loads(base64.b64decode(raw_cc, validate=True))
                if not isinstance(decoded, dict):
                    raise ValueError("not an object")
            except (ValueError, binascii.Error, UnicodeDecodeError):
                raise ApiError(400, "InvalidRequestContentException",
                               "Client context must be a valid Base64-encoded JSON object.")
            from .runtime import ClientContext
            client_context = ClientContext(decoded)
        if itype == "DryRun":
            return Response(204, b"", None)
        invoked_arn = fn.arn(qual)
        stats = self.state.stats
        if itype == "Event":
            stats.count_invocation(fn.name, qual, asynchronous=True)
            self.runtime.invoke(fn, version, invoked_arn, req.request_id, event, client_context, wait=False)
            return Response(202, b"", None)
        stats.count_invocation(fn.name, qual)
        stats.invocation_started(fn.name)
        try:
            out = self.runtime.invoke(fn, version, invoked_arn, req.request_id, event, client_context)
        finally:
            stats.invocation_finished(fn.name)
        headers = [("X-Amz-Executed-Version", out.executed_version)]
        if out.function_error:
            headers.append(("X-Amz-Function-Error", out.function_error))
        if log_type == "Tail":
            headers.append(("X-Amz-Log-Result", log_result_header(out.log_result)))
        ctype = "application/json"
        if fn.runtime.startswith("provided") and not out.function_error:
            ctype = "application/octet-stream" if not _is_json(out.payload) else "application/json"
        r = Response(200, out.payload, ctype, headers)
        if out.function_error:
            r.error = "FunctionError:" + out.function_error
        return r


def _is_json(data):
    try:
        json.loads(data)
        return True
    except ValueError:
        return False
