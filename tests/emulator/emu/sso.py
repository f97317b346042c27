"""IAM Identity Center: the SSO portal's GetRoleCredentials and SSO-OIDC's CreateToken
(both REST-JSON and unsigned: authtype none)."""
import json
import time

from .protocols import ApiError, json_response, oidc_error, sso_error
from .util import random_token


class SsoPortalService:
    name = "sso"
    signing_name = "awsssoportal"
    error = staticmethod(sso_error)

    def __init__(self, state):
        self.state = state

    @staticmethod
    def claims(req):
        return req.path == "/federation/credentials"

    def requires_auth(self, op):
        return False

    def identify(self, req):
        if req.method != "GET":
            raise ApiError(404, "NotFoundException", "Unknown operation")
        return "GetRoleCredentials", None

    def handle(self, req):
        s = self.state
        role_name = req.params.get("role_name")
        account_id = req.params.get("account_id")
        token = req.headers.get("x-amz-sso_bearer_token")
        if not role_name or not account_id:
            raise ApiError(400, "InvalidRequestException", "role_name and account_id are required")
        info = s.sso_access_tokens.get(token) if token else None
        if info is None or (info["expires"] is not None and time.time() >= info["expires"]):
            raise ApiError(401, "UnauthorizedException", "Session token not found or invalid")
        if (account_id, role_name) not in info["roles"]:
            raise ApiError(403, "ForbiddenException", "No access")
        arn = "arn:aws:sts::%s:assumed-role/AWSReservedSSO_%s/sso-user" % (account_id, role_name)
        role_arn = "arn:aws:iam::%s:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_%s" % (account_id, role_name)
        cred = s.creds.issue(s.sso_role_lifetime, arn, "sso:GetRoleCredentials", role_arn=role_arn)
        return json_response({"roleCredentials": {
            "accessKeyId": cred.access_key_id,
            "secretAccessKey": cred.secret_access_key,
            "sessionToken": cred.session_token,
            "expiration": int(cred.expiration * 1000),
        }})


class SsoOidcService:
    name = "sso-oidc"
    signing_name = "awsssooidc"
    error = staticmethod(oidc_error)

    def __init__(self, state):
        self.state = state

    @staticmethod
    def claims(req):
        return req.path == "/token"

    def requires_auth(self, op):
        return False

    def identify(self, req):
        if req.method != "POST":
            raise ApiError(404, "InvalidRequestException", "Unknown operation")
        return "CreateToken", None

    def handle(self, req):
        s = self.state
        try:
            body = json.loads(req.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError()
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "InvalidRequestException", "Invalid request body")
        for k in ("clientId", "clientSecret", "grantType"):
            if not isinstance(body.get(k), str) or not body[k]:
                raise ApiError(400, "InvalidRequestException", "%s is required" % k)
        client_id, secret = body["clientId"], body["clientSecret"]
        if s.sso_clients and s.sso_clients.get(client_id) != secret:
            raise ApiError(401, "InvalidClientException", "Invalid client")
        if body["grantType"] != "refresh_token":
            raise ApiError(400, "UnsupportedGrantTypeException",
                           "The emulator supports only grantType refresh_token")
        rt = body.get("refreshToken")
        info = s.sso_refresh_tokens.get(rt) if isinstance(rt, str) else None
        if info is None:
            raise ApiError(400, "InvalidGrantException", "Invalid refresh token provided")
        if info.get("client_id") and info["client_id"] != client_id:
            raise ApiError(400, "InvalidGrantException", "Refresh token was issued to another client")
        access = "aoa" + random_token(48).replace("/", "_").replace("+", "-").rstrip("=")
        new_rt = "aor" + random_token(48).replace("/", "_").replace("+", "-").rstrip("=")
        lifetime = info["lifetime"]
        with s.lock:
            s.sso_access_tokens[access] = {"expires": time.time() + lifetime, "roles": set(info["roles"])}
            s.sso_refresh_tokens[new_rt] = dict(info)   # the old one stays valid too
        return json_response({"accessToken": access, "expiresIn": lifetime, "refreshToken": new_rt,
                              "tokenType": "Bearer"})
