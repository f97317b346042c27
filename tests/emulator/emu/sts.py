"""AWS STS (query protocol, 2011-06-15; signing name "sts"): AssumeRole,
AssumeRoleWithWebIdentity (unsigned) and GetCallerIdentity."""
import fnmatch
import re
import time
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from .protocols import STS_NS, XML, ApiError, Response, sts_error
from .util import iso_z

SESSION_NAME_RE = re.compile(r"^[\w+=,.@-]{2,64}$")
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
UNSIGNED_ACTIONS = {"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"}
ACTIONS = {"AssumeRole", "AssumeRoleWithWebIdentity", "GetCallerIdentity", "AssumeRoleWithSAML",
           "GetSessionToken", "GetFederationToken", "DecodeAuthorizationMessage", "GetAccessKeyInfo"}


def _role_id(arn):
    """A stable AROA... id for a role ARN."""
    import hashlib
    digest = hashlib.sha1(arn.encode()).hexdigest().upper()
    return "AROA" + "".join(c if c.isalpha() else chr(ord("A") + int(c)) for c in digest[:17])


def _validation(value, field, constraint):
    return ApiError(400, "ValidationError",
                    "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: "
                    "Member must %s" % (value, field, constraint))


class StsService:
    name = "sts"
    signing_name = "sts"
    error = staticmethod(sts_error)

    def __init__(self, state):
        self.state = state

    @staticmethod
    def claims(req):
        if req.path != "/":
            return False
        return "Action" in req.params or "Action" in req.form()

    def requires_auth(self, op):
        return op not in UNSIGNED_ACTIONS

    def identify(self, req):
        params = dict(req.params)
        params.update(req.form())
        req.route_args = params
        action = params.get("Action")
        if req.method not in ("POST", "GET") or req.path != "/" or not action:
            raise ApiError(400, "InvalidAction", "Could not find operation for version 2011-06-15")
        if action not in ACTIONS:
            raise ApiError(400, "InvalidAction", "Could not find operation %s for version %s"
                           % (action, params.get("Version", "2011-06-15")))
        return action, None

    def handle(self, req):
        op = req.operation
        if op == "AssumeRole":
            return self.assume_role(req)
        if op == "AssumeRoleWithWebIdentity":
            return self.assume_role_web_identity(req)
        if op == "GetCallerIdentity":
            return self.get_caller_identity(req)
        raise ApiError(400, "InvalidAction", "The emulator does not implement %s" % op)

    # ---- helpers ------------------------------------------------------------------------------
    def _common(self, p, role_max):
        role_arn = p.get("RoleArn")
        if not role_arn:
            raise _validation("null", "roleArn", "not be null")
        if len(role_arn) < 20:
            raise _validation(role_arn, "roleArn", "have length greater than or equal to 20")
        session = p.get("RoleSessionName")
        if not session:
            raise _validation("null", "roleSessionName", "not be null")
        if not SESSION_NAME_RE.match(session):
            raise _validation(session, "roleSessionName", "satisfy regular expression pattern: [\\w+=,.@-]*")
        duration = 3600
        if p.get("DurationSeconds"):
            try:
                duration = int(p["DurationSeconds"])
            except ValueError:
                raise ApiError(400, "ValidationError", "Invalid value for DurationSeconds")
            if duration < 900:
                raise _validation(duration, "durationSeconds", "have value greater than or equal to 900")
            if duration > 43200:
                raise _validation(duration, "durationSeconds", "have value less than or equal to 43200")
        return role_arn, session, duration

    def _issue(self, role, session, duration, source):
        s = self.state
        if duration > role["max_session_duration"]:
            raise ApiError(400, "ValidationError",
                           "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        lifetime = duration
        if s.sts_max_lifetime is not None:
            lifetime = min(lifetime, s.sts_max_lifetime)
        role_name = role["arn"].split(":role/", 1)[1].split("/")[-1]
        assumed_arn = "arn:aws:sts::%s:assumed-role/%s/%s" % (role["arn"].split(":")[4], role_name, session)
        cred = s.creds.issue(lifetime, assumed_arn, source, role_arn=role["arn"])
        return cred, assumed_arn, "%s:%s" % (_role_id(role["arn"]), session)

    @staticmethod
    def _credentials_xml(cred):
        return ("    <Credentials>\n      <AccessKeyId>%s</AccessKeyId>\n      <SecretAccessKey>%s</SecretAccessKey>\n"
                "      <SessionToken>%s</SessionToken>\n      <Expiration>%s</Expiration>\n    </Credentials>\n"
                % (cred.access_key_id, escape(cred.secret_access_key), escape(cred.session_token),
                   iso_z(cred.expiration)))

    def _respond(self, action, inner, request_id):
        body = ('<%sResponse xmlns="%s">\n  <%sResult>\n%s  </%sResult>\n  <ResponseMetadata>\n'
                '    <RequestId>%s</RequestId>\n  </ResponseMetadata>\n</%sResponse>\n'
                % (action, STS_NS, action, inner, action, request_id, action))
        return Response(200, body, XML)

    # ---- operations -----------------------------------------------------------------------------
    def assume_role(self, req):
        s = self.state
        p = req.route_args
        role_arn, session, duration = self._common(p, None)
        caller = req.cred
        role = s.roles.get(role_arn)
        denied = ApiError(403, "AccessDenied",
                          "User: %s is not authorized to perform: sts:AssumeRole on resource: %s"
                          % (caller.arn, role_arn))
        if role is None:
            raise denied
        trusted = "*" in role["trusted_access_keys"] or caller.access_key_id in role["trusted_access_keys"]
        if not trusted and caller.role_arn:
            trusted = any(fnmatch.fnmatchcase(caller.role_arn, pat) for pat in role["trusted_roles"])
        if not trusted:
            raise denied
        ext = p.get("ExternalId")
        if ext is not None and not EXTERNAL_ID_RE.match(ext):
            raise _validation(ext, "externalId", "satisfy regular expression pattern: [\\w+=,.@:\\/-]*")
        if role["external_id"] is not None and ext != role["external_id"]:
            raise denied
        cred, arn, role_id = self._issue(role, session, duration, "sts:AssumeRole")
        inner = (self._credentials_xml(cred) +
                 "    <AssumedRoleUser>\n      <AssumedRoleId>%s</AssumedRoleId>\n      <Arn>%s</Arn>\n"
                 "    </AssumedRoleUser>\n" % (escape(role_id), escape(arn)))
        return self._respond("AssumeRole", inner, req.request_id)

    def assume_role_web_identity(self, req):
        s = self.state
        p = req.route_args
        token = (p.get("WebIdentityToken") or "").strip()
        if not token:
            raise _validation("null", "webIdentityToken", "not be null")
        role_arn, session, duration = self._common(p, None)
        role = s.roles.get(role_arn)
        info = role["web_identity_tokens"].get(token) if role else None
        if info is None:
            known = any(token in r["web_identity_tokens"] for r in s.roles.values())
            if known:
                raise ApiError(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
            raise ApiError(400, "InvalidIdentityToken", "The web identity token that was passed could not be "
                                                        "validated by AWS. Get a new identity token from the "
                                                        "identity provider and then retry the request.")
        if info["expires"] is not None and time.time() >= info["expires"]:
            raise ApiError(400, "ExpiredTokenException", "Token expired: current date/time %s must be before "
                                                         "the expiration date/time %s"
                           % (iso_z(time.time()), iso_z(info["expires"])))
        cred, arn, role_id = self._issue(role, session, duration, "sts:AssumeRoleWithWebIdentity")
        inner = (self._credentials_xml(cred) +
                 "    <SubjectFromWebIdentityToken>%s</SubjectFromWebIdentityToken>\n"
                 "    <AssumedRoleUser>\n      <AssumedRoleId>%s</AssumedRoleId>\n      <Arn>%s</Arn>\n"
                 "    </AssumedRoleUser>\n    <Provider>%s</Provider>\n    <Audience>%s</Audience>\n"
                 % (escape(info["subject"]), escape(role_id), escape(arn), escape(info["provider"]),
                    escape(info["audience"])))
        return self._respond("AssumeRoleWithWebIdentity", inner, req.request_id)

    def get_caller_identity(self, req):
        cred = req.cred
        arn = cred.arn or "arn:aws:iam::%s:user/unknown" % self.state.account_id
        if cred.role_arn:
            user_id = "%s:%s" % (_role_id(cred.role_arn), arn.rsplit("/", 1)[-1])
        else:
            user_id = "AIDA" + cred.access_key_id[4:20].ljust(17, "X")
        inner = ("    <Arn>%s</Arn>\n    <UserId>%s</UserId>\n    <Account>%s</Account>\n"
                 % (escape(arn), escape(user_id), self.state.account_id))
        return self._respond("GetCallerIdentity", inner, req.request_id)


def parse_form(body, content_type):
    if not body or "x-www-form-urlencoded" not in (content_type or ""):
        return {}
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return {}
