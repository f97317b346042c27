"""Resource Groups Tagging API (JSON 1.1, target prefix ResourceGroupsTaggingAPI_20170126;
signing name "tagging"). Only GetResources, over the account's Lambda functions."""
import bisect
import json

from .protocols import AMZ_JSON_11, ApiError, Response, json11_error
from .util import b64url_decode, b64url_encode, dumps

TARGET_PREFIX = "ResourceGroupsTaggingAPI_20170126."
OPERATIONS = {"GetResources", "GetTagKeys", "GetTagValues", "TagResources", "UntagResources",
              "GetComplianceSummary", "DescribeReportCreation", "StartReportCreation"}
LAMBDA_TYPES = {"lambda", "lambda:function"}


class TaggingService:
    name = "tagging"
    signing_name = "tagging"
    error = staticmethod(json11_error)

    def __init__(self, state):
        self.state = state

    @staticmethod
    def claims(req):
        return (req.headers.get("X-Amz-Target") or "").startswith(TARGET_PREFIX)

    def requires_auth(self, op):
        return True

    def identify(self, req):
        target = req.headers.get("X-Amz-Target") or ""
        if req.method != "POST" or not target.startswith(TARGET_PREFIX):
            raise ApiError(400, "UnknownOperationException", "")
        op = target[len(TARGET_PREFIX):]
        if op not in OPERATIONS:
            raise ApiError(400, "UnknownOperationException", "")
        return op, None

    def handle(self, req):
        if req.operation != "GetResources":
            raise ApiError(400, "UnknownOperationException",
                           "The emulator implements only GetResources of this API")
        s = self.state
        if s.tagging_deny:
            who = req.cred.arn if req.cred is not None else "arn:aws:iam::%s:user/unknown" % s.account_id
            raise ApiError(400, "AccessDeniedException",
                           "User: %s is not authorized to perform: tag:GetResources because no "
                           "identity-based policy allows the tag:GetResources action" % who)
        try:
            body = json.loads(req.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "SerializationException", "Start of structure or map found where not expected.")
        return self.get_resources(body)

    def get_resources(self, body):
        s = self.state
        per_page = body.get("ResourcesPerPage", 100)
        if not isinstance(per_page, int) or isinstance(per_page, bool) or not 1 <= per_page <= 100:
            raise ApiError(400, "InvalidParameterException",
                           "ResourcesPerPage must be between 1 and 100")
        tags_per_page = body.get("TagsPerPage")
        if tags_per_page is not None and (not isinstance(tags_per_page, int) or not 100 <= tags_per_page <= 500):
            raise ApiError(400, "InvalidParameterException", "TagsPerPage must be between 100 and 500")
        filters = body.get("TagFilters") or []
        arn_list = body.get("ResourceARNList")
        if not isinstance(filters, list) or len(filters) > 50:
            raise ApiError(400, "InvalidParameterException", "TagFilters must be a list of at most 50 filters")
        if arn_list is not None and (filters or body.get("ResourceTypeFilters")):
            raise ApiError(400, "InvalidParameterException",
                           "ResourceARNList can't be specified along with TagFilters or ResourceTypeFilters")
        parsed = []
        for f in filters:
            if not isinstance(f, dict) or not isinstance(f.get("Key"), str) or not f["Key"]:
                raise ApiError(400, "InvalidParameterException", "Each TagFilter needs a Key")
            values = f.get("Values")
            if values is not None and (not isinstance(values, list) or len(values) > 20):
                raise ApiError(400, "InvalidParameterException", "TagFilter Values must be a list of at most 20")
            parsed.append((f["Key"], set(values) if values else None))
        types = body.get("ResourceTypeFilters")
        want_lambda = True
        if types:
            if not isinstance(types, list):
                raise ApiError(400, "InvalidParameterException", "ResourceTypeFilters must be a list")
            for t in types:
                if not isinstance(t, str) or not t or t.count(":") > 1:
                    raise ApiError(400, "InvalidParameterException", "Unsupported resource type: %s" % t)
            want_lambda = any(t in LAMBDA_TYPES for t in types)

        after = None
        token = body.get("PaginationToken")
        if token:
            try:
                after = json.loads(b64url_decode(token))["after"]
            except (ValueError, KeyError, TypeError):
                raise ApiError(400, "InvalidParameterException", "The specified pagination token is not valid.")

        names = s.sorted_names
        if arn_list is not None:
            if not isinstance(arn_list, list) or not 1 <= len(arn_list) <= 100:
                raise ApiError(400, "InvalidParameterException", "ResourceARNList must hold 1 to 100 ARNs")
            prefix = "arn:aws:lambda:%s:%s:function:" % (s.region, s.account_id)
            wanted = sorted({a[len(prefix):] for a in arn_list if isinstance(a, str) and a.startswith(prefix)})
            names = [n for n in wanted if n in s.functions]
        start = bisect.bisect_right(names, after) if after is not None else 0
        out, last, more = [], None, False
        if want_lambda:
            for i in range(start, len(names)):
                fn = s.functions.get(names[i])
                if fn is None or not fn.tags:
                    continue
                if not all(k in fn.tags and (vals is None or fn.tags[k] in vals) for k, vals in parsed):
                    continue
                if len(out) == per_page:
                    more = True
                    break
                out.append({"ResourceARN": fn.arn(), "Tags": [{"Key": k, "Value": v} for k, v in fn.tags.items()]})
                last = fn.name
        next_token = b64url_encode(json.dumps({"after": last})) if more else ""
        return Response(200, dumps({"PaginationToken": next_token, "ResourceTagMappingList": out}), AMZ_JSON_11)
