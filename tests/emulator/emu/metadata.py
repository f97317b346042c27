"""EC2 instance metadata (IMDSv1/v2) and the ECS/EKS container credentials endpoint."""
import json
import time

from .protocols import TEXT, ApiError, Response, json_response, plain_error
from .util import iso_z, random_token

TOKEN_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"


def _not_found():
    return ApiError(404, "NotFound", "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n<!DOCTYPE html>\n"
                                     "<html><head><title>404 - Not Found</title></head>\n"
                                     "<body><h1>404 - Not Found</h1></body></html>")


class ImdsService:
    name = "imds"
    signing_name = None
    error = staticmethod(plain_error)

    def __init__(self, state):
        self.state = state

    @staticmethod
    def claims(req):
        return req.path.startswith("/latest/")

    def requires_auth(self, op):
        return False

    def identify(self, req):
        p = req.path
        if p == "/latest/api/token":
            return "ImdsGetToken", None
        if p.startswith("/latest/meta-data/iam/security-credentials"):
            rest = p[len("/latest/meta-data/iam/security-credentials"):].strip("/")
            return ("ImdsGetCredentials" if rest else "ImdsListRoles"), None
        return "ImdsGetMetadata", None

    def handle(self, req):
        s = self.state
        if not s.imds["enabled"]:
            raise ApiError(404, "NotFound", "IMDS is disabled in this account")
        if req.operation == "ImdsGetToken":
            return self.put_token(req)
        if req.method != "GET":
            raise ApiError(405, "MethodNotAllowed", "Method not allowed")
        token = req.headers.get(TOKEN_HEADER)
        if token is not None:
            exp = s.imds_tokens.get(token)
            if exp is None or time.time() >= exp:
                s.stats.imds_count("v2_rejected")
                raise ApiError(401, "Unauthorized", "Unauthorized")
            s.stats.imds_count("v2_requests")
        else:
            if not s.imds["allow_v1"]:
                s.stats.imds_count("v1_rejected")
                raise ApiError(401, "Unauthorized", "Unauthorized")
            s.stats.imds_count("v1_requests")
        return self.get(req)

    def put_token(self, req):
        s = self.state
        if req.method != "PUT":
            raise ApiError(405, "MethodNotAllowed", "Method not allowed")
        if req.headers.get("X-Forwarded-For"):
            raise ApiError(403, "Forbidden", "Forbidden")
        ttl = req.headers.get(TOKEN_TTL_HEADER)
        try:
            ttl = int(ttl)
        except (TypeError, ValueError):
            ttl = None
        if ttl is None or not 1 <= ttl <= 21600:
            s.stats.imds_count("token_rejected")
            raise ApiError(400, "BadRequest", "Bad Request")
        token = random_token(42)
        now = time.time()
        with s.lock:
            s.imds_tokens = {t: e for t, e in s.imds_tokens.items() if e > now}
            s.imds_tokens[token] = now + ttl
        s.stats.imds_count("tokens_issued")
        s.stats.imds_count("tokens_issued_ttl_%d" % ttl)
        return Response(200, token, TEXT, [(TOKEN_TTL_HEADER, str(ttl))])

    def _credentials(self):
        """The instance role's credentials; a new set once half the lifetime has passed."""
        s = self.state
        with s.lock:
            cred = s.imds_cred
            life = s.imds["lifetime"]
            now = time.time()
            if cred is None or now >= cred.expiration or now - cred.issued >= life / 2.0:
                role = s.imds["role"]
                cred = s.creds.issue(life, "arn:aws:sts::%s:assumed-role/%s/%s"
                                     % (s.account_id, role, s.imds["instance_id"]), "imds",
                                     role_arn="arn:aws:iam::%s:role/%s" % (s.account_id, role))
                s.imds_cred = cred
            return cred

    def get(self, req):
        s = self.state
        imds = s.imds
        p = req.path
        role = imds["role"]
        if p in ("/latest/meta-data/iam/security-credentials", "/latest/meta-data/iam/security-credentials/"):
            if not role:
                raise _not_found()
            return Response(200, role, TEXT)
        if p.startswith("/latest/meta-data/iam/security-credentials/"):
            name = p[len("/latest/meta-data/iam/security-credentials/"):].rstrip("/")
            if not role or name != role:
                raise _not_found()
            cred = self._credentials()
            body = {"Code": "Success", "LastUpdated": iso_z(cred.issued), "Type": "AWS-HMAC",
                    "AccessKeyId": cred.access_key_id, "SecretAccessKey": cred.secret_access_key,
                    "Token": cred.session_token, "Expiration": iso_z(cred.expiration)}
            return Response(200, json.dumps(body, indent=2), TEXT)
        if p == "/latest/meta-data/iam/info":
            return Response(200, json.dumps({
                "Code": "Success", "LastUpdated": iso_z(time.time()),
                "InstanceProfileArn": "arn:aws:iam::%s:instance-profile/%s" % (s.account_id, role),
                "InstanceProfileId": "AIPAEMULATOREXAMPLE00"}, indent=2), TEXT)
        simple = {
            "/latest/meta-data/placement/region": s.region,
            "/latest/meta-data/placement/availability-zone": imds["availability_zone"],
            "/latest/meta-data/instance-id": imds["instance_id"],
            "/latest/meta-data/instance-type": imds["instance_type"],
            "/latest/meta-data/": "ami-id\nhostname\niam/\ninstance-id\ninstance-type\nplacement/\n",
            "/latest/meta-data/placement/": "availability-zone\nregion",
            "/latest/meta-data/iam/": "info\nsecurity-credentials/",
        }
        if p in simple:
            return Response(200, simple[p], TEXT)
        if p == "/latest/dynamic/instance-identity/document":
            return Response(200, json.dumps({
                "accountId": s.account_id, "architecture": "x86_64",
                "availabilityZone": imds["availability_zone"], "billingProducts": None,
                "devpayProductCodes": None, "marketplaceProductCodes": None, "imageId": "ami-0123456789abcdef0",
                "instanceId": imds["instance_id"], "instanceType": imds["instance_type"], "kernelId": None,
                "pendingTime": iso_z(s.stats.started), "privateIp": "10.0.0.10", "ramdiskId": None,
                "region": s.region, "version": "2017-09-30"}, indent=2), TEXT)
        raise _not_found()


class ContainerService:
    """AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI endpoint (ECS task role, EKS pod identity)."""
    name = "container"
    signing_name = None
    error = staticmethod(lambda status, code, message, request_id="", extra_headers=None, extra_fields=None:
                         json_response({"code": code, "message": message}, status))

    def __init__(self, state):
        self.state = state

    def claims_path(self, req):
        c = self.state.container
        if not c["enabled"] or req.method != "GET":
            return False
        for p in c["paths"]:
            if (p.endswith("/") and req.path.startswith(p)) or req.path == p:
                return True
        return False

    def requires_auth(self, op):
        return False

    def identify(self, req):
        return "ContainerCredentials", None

    def handle(self, req):
        s = self.state
        c = s.container
        expected = c["authorization_token"]
        if expected is not None:
            got = req.headers.get("Authorization")
            if got is None:
                raise ApiError(401, "InvalidTokenException", "Authorization header is missing")
            if got.strip() != expected:
                raise ApiError(401, "InvalidTokenException", "Authorization token is invalid")
        with s.lock:
            cred = s.container_cred
            now = time.time()
            if cred is None or now >= cred.expiration or now - cred.issued >= c["lifetime"] / 2.0:
                role_arn = c["role_arn"]
                arn = "arn:aws:sts::%s:assumed-role/%s/emulator-task" % (s.account_id, role_arn.rsplit("/", 1)[-1])
                cred = s.creds.issue(c["lifetime"], arn, "container", role_arn=role_arn)
                s.container_cred = cred
        return json_response({"AccessKeyId": cred.access_key_id, "SecretAccessKey": cred.secret_access_key,
                              "Token": cred.session_token, "Expiration": iso_z(cred.expiration),
                              "RoleArn": cred.role_arn})
