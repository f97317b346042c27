#!/usr/bin/python3
"""Self-test of the emulator, driven by Debian's boto3/botocore (an independent AWS client)
plus raw http.client for IMDS, the container endpoint, keep-alive and signing edge cases.

    /usr/bin/python3 tests/emulator/selftest.py [-v] [-k SUBSTRING]

Starts the emulator on a free port with a temporary account file, runs every check, prints
one PASS/FAIL line per check and a final "N passed, N failed" line; exits 1 on any failure.
"""
import argparse
import base64
import concurrent.futures
import datetime
import http.client
import json
import os
import re
import sys
import time
import traceback

os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["AWS_CONFIG_FILE"] = "/nonexistent/emulator-selftest"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/emulator-selftest"
for _k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    os.environ.pop(_k, None)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import boto3  # noqa: E402
import botocore  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from emuclient import Emulator, sign  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "123456789012"
AK1, SK1 = "AKIASELFTEST00000001", "selftestSecretKey/000000000000000000000001"
AK2, SK2 = "AKIASELFTEST00000002", "selftestSecretKey/000000000000000000000002"
N_GENERATED = 130
SCHEMA_REG = "selftest-registry"
SCHEMA_TAG = "lambda-mcp:input-schema"
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

ACCOUNT_FILE = {
    "region": REGION,
    "account_id": ACCOUNT,
    "credentials": [
        {"access_key_id": AK1, "secret_access_key": SK1, "arn": "arn:aws:iam::%s:user/selftest" % ACCOUNT},
        {"access_key_id": AK2, "secret_access_key": SK2},
    ],
    "functions": [
        {"name": "greet", "handler": "greet", "description": "Greets someone.",
         "tags": {"team": "blue", "lambda-mcp:expose": "true"}, "versions": ["1", "2"], "aliases": {"live": "1"}},
        {"name": "fail", "handler": "fail", "description": "Always fails.", "tags": {"team": "red"}},
        {"name": "slow", "handler": "slow", "description": "Sleeps.", "timeout": 1},
        {"name": "sleeper", "handler": "slow", "timeout": 5},
        {"name": "logs", "handler": "logs"},
        {"name": "echo", "handler": "echo", "tags": {"team": "blue", SCHEMA_TAG:
                                                    "arn:aws:schemas:%s:%s:schema/%s/draft4" % (REGION, ACCOUNT, SCHEMA_REG)}},
        {"name": "text", "handler": "text"},
        {"name": "text-raw", "handler": "text.raw", "runtime": "provided.al2023"},
        {"name": "context-info", "handler": "context_info", "memory": 256},
        {"generate": {"count": N_GENERATED, "name": "gen-{i:03d}", "handler": "echo",
                      "description": "Generated {i}", "tags": {"kind": "generated"}, "tag_every": 2,
                      "schema_every": 5, "schema": {"tag_key": SCHEMA_TAG, "registry": "generated",
                                                    "type": ["JSONSchemaDraft4", "OpenApi3"]}}},
    ],
    "schemas": {"registries": [{"name": SCHEMA_REG, "schemas": [
        {"name": "draft4", "type": "JSONSchemaDraft4", "description": "a draft-4 schema", "tags": {"k": "v"},
         "versions": [{"content": {"type": "object"}}, {"content": "{\"type\": \"object\", \"required\": [\"a\"]}"}]},
        {"name": "openapi", "type": "OpenApi3", "content": {"openapi": "3.0.0", "info": {"title": "T", "version": "1"},
                                                           "paths": {}, "components": {"schemas": {"T": {}}}}},
    ]}]},
    "roles": [
        {"arn": "arn:aws:iam::%s:role/invoker" % ACCOUNT, "trusted_access_keys": [AK1],
         "web_identity_tokens": ["selftest-web-token",
                                 {"token": "expired-web-token", "expires": "2020-01-01T00:00:00Z"}]},
        {"arn": "arn:aws:iam::%s:role/external" % ACCOUNT, "trusted_access_keys": ["*"], "external_id": "ext-123"},
        {"arn": "arn:aws:iam::%s:role/chained" % ACCOUNT, "trusted_roles": ["arn:aws:iam::%s:role/invoker" % ACCOUNT]},
    ],
    "sso": {
        "access_tokens": [{"token": "sso-token-1", "roles": [{"account_id": ACCOUNT, "role_name": "ReadOnly"}]}],
        "clients": [{"client_id": "cid", "client_secret": "csecret"}],
        "refresh_tokens": [{"token": "refresh-1", "client_id": "cid",
                            "roles": [{"account_id": ACCOUNT, "role_name": "ReadOnly"}]}],
    },
    "imds": {"role": "selftest-instance-role"},
    "container": {"paths": ["/v2/credentials/"], "authorization_token": "container-secret"},
}
N_FUNCTIONS = 9 + N_GENERATED

CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


class Ctx:
    def __init__(self, emu):
        self.emu = emu
        self.url = emu.url

    def client(self, service, ak=AK1, sk=SK1, token=None, retries=0, **kw):
        cfg = Config(retries={"max_attempts": retries}, read_timeout=30, connect_timeout=5,
                     signature_version=botocore.UNSIGNED if kw.pop("unsigned", False) else None)
        return boto3.client(service, region_name=kw.pop("region", REGION), endpoint_url=self.url,
                            aws_access_key_id=ak, aws_secret_access_key=sk, aws_session_token=token,
                            config=cfg, **kw)

    def raw(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(self.emu.host, self.emu.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            conn.close()

    def ctl(self, method, path, body=None):
        return self.emu.control(method, path, body)


def expect_error(fn, code, status=None, message=None):
    try:
        fn()
    except ClientError as e:
        got = e.response["Error"]["Code"]
        st = e.response["ResponseMetadata"]["HTTPStatusCode"]
        assert got == code, "expected %s, got %s (%s)" % (code, got, e)
        if status is not None:
            assert st == status, "expected HTTP %s, got %s" % (status, st)
        if message is not None:
            msg = e.response["Error"].get("Message", "")
            assert re.search(message, msg), "message %r does not match %r" % (msg, message)
        return e
    raise AssertionError("expected %s, but the call succeeded" % code)


# ---------------------------------------------------------------------------------- Lambda ----
@check
def list_functions_paginator(c):
    lam = c.client("lambda")
    pages = list(lam.get_paginator("list_functions").paginate())
    names = [f["FunctionName"] for p in pages for f in p["Functions"]]
    assert len(names) == N_FUNCTIONS, len(names)
    assert names == sorted(names) and len(set(names)) == len(names)
    sizes = [len(p["Functions"]) for p in pages]
    assert sizes[:-1] == [50] * (len(sizes) - 1) and len(pages) == 3, sizes
    assert "NextMarker" not in pages[-1] or pages[-1]["NextMarker"] is None
    f = pages[0]["Functions"][0]
    for k in ("FunctionName", "FunctionArn", "Runtime", "Role", "Handler", "CodeSize", "Description", "Timeout",
              "MemorySize", "LastModified", "CodeSha256", "Version", "PackageType", "Architectures"):
        assert k in f, k
    assert f["FunctionArn"] == "arn:aws:lambda:%s:%s:function:%s" % (REGION, ACCOUNT, f["FunctionName"])
    assert f["Version"] == "$LATEST"
    small = list(lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 7}))
    assert [len(p["Functions"]) for p in small][0] == 7
    assert sum(len(p["Functions"]) for p in small) == N_FUNCTIONS
    assert len(lam.list_functions(MaxItems=500)["Functions"]) == 50
    allv = [(f["FunctionName"], f["Version"]) for p in lam.get_paginator("list_functions").paginate(
        FunctionVersion="ALL", PaginationConfig={"PageSize": 2}) for f in p["Functions"]]
    assert ("greet", "1") in allv and ("greet", "2") in allv and len(allv) == N_FUNCTIONS + 2, len(allv)


@check
def list_functions_raw_shape(c):
    # NextMarker is null on the last page, like AWS; MaxItems/Marker are query parameters
    path, h = sign("GET", c.url + "/2015-03-31/functions/?MaxItems=2", b"", AK1, SK1, "lambda")
    st, hd, body = c.raw("GET", path, headers=h)
    doc = json.loads(body)
    assert st == 200 and len(doc["Functions"]) == 2 and doc["NextMarker"]
    assert re.match(UUID_RE, hd["x-amzn-requestid"])
    path, h = sign("GET", c.url + "/2015-03-31/functions/?MaxItems=0", b"", AK1, SK1, "lambda")
    st, hd, body = c.raw("GET", path, headers=h)
    assert st == 400 and hd["x-amzn-errortype"] == "InvalidParameterValueException", (st, body)


@check
def invoke_ok(c):
    lam = c.client("lambda")
    r = lam.invoke(FunctionName="greet", Payload=b'{"name": "Ada"}')
    assert r["StatusCode"] == 200 and "FunctionError" not in r
    assert r["ExecutedVersion"] == "$LATEST"
    assert json.loads(r["Payload"].read()) == {"greeting": "Hello, Ada!"}
    arn = "arn:aws:lambda:%s:%s:function:greet" % (REGION, ACCOUNT)
    for name, q, ver in ((arn, None, "$LATEST"), ("%s:function:greet" % ACCOUNT, None, "$LATEST"),
                         ("greet:live", None, "1"), ("greet", "2", "2"), (arn + ":live", None, "1"),
                         ("greet", "live", "1")):
        kw = {"Qualifier": q} if q else {}
        r = lam.invoke(FunctionName=name, Payload=b"{}", **kw)
        assert r["StatusCode"] == 200 and r["ExecutedVersion"] == ver, (name, q, r.get("ExecutedVersion"))
        assert json.loads(r["Payload"].read()) == {"greeting": "Hello, world!"}
    r = lam.invoke(FunctionName="context-info", Qualifier="$LATEST", Payload=b'{"a": [1, 2]}',
                   ClientContext=base64.b64encode(b'{"custom": {"k": "v"}}').decode())
    info = json.loads(r["Payload"].read())
    assert info["invoked_function_arn"].endswith(":function:context-info:$LATEST"), info
    assert info["memory_limit_in_mb"] == "256" and info["event"] == {"a": [1, 2]}
    assert info["client_context"]["custom"] == {"k": "v"}
    assert info["aws_request_id"] == r["ResponseMetadata"]["RequestId"]
    assert 0 < info["remaining_ms"] <= 3000
    expect_error(lambda: lam.invoke(FunctionName="greet:live", Qualifier="1"), "InvalidParameterValueException", 400)
    expect_error(lambda: lam.invoke(FunctionName="greet", Qualifier="nope"), "ResourceNotFoundException", 404,
                 "Function not found: arn:aws:lambda:us-east-1:123456789012:function:greet:nope")


@check
def invoke_function_error(c):
    lam = c.client("lambda")
    r = lam.invoke(FunctionName="fail", Payload=b'{"order_id": 42}')
    assert r["StatusCode"] == 200 and r["FunctionError"] == "Unhandled", r
    err = json.loads(r["Payload"].read())
    assert err["errorMessage"] == "order 42 not found" and err["errorType"] == "ValueError", err
    assert isinstance(err["stackTrace"], list) and any("fail.py" in s for s in err["stackTrace"])
    assert err["requestId"] == r["ResponseMetadata"]["RequestId"]
    r = c.client("lambda").invoke(FunctionName="text", Payload=b'{"name": "Bo"}')
    assert json.loads(r["Payload"].read()) == "Hello, Bo! This is plain text."
    r = c.client("lambda").invoke(FunctionName="text-raw")
    assert r["Payload"].read() == b"plain text, not JSON\nsecond line\n" and "FunctionError" not in r


@check
def invoke_timeout(c):
    lam = c.client("lambda")
    t0 = time.time()
    r = lam.invoke(FunctionName="slow", Payload=b'{"seconds": 3}')
    took = time.time() - t0
    assert r["FunctionError"] == "Unhandled"
    err = json.loads(r["Payload"].read())
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z %s Task timed out after 1\.00 seconds$" % UUID_RE,
                    err["errorMessage"]), err
    assert 0.9 < took < 2.5, took


@check
def invoke_log_tail(c):
    lam = c.client("lambda")
    r = lam.invoke(FunctionName="logs", LogType="Tail", Payload=b'{"lines": 3}')
    log = base64.b64decode(r["LogResult"]).decode()
    rid = r["ResponseMetadata"]["RequestId"]
    assert log.startswith("START RequestId: %s Version: $LATEST\n" % rid), log
    for line in ("log line 1 of 3\n", "log line 3 of 3\n", "a line on stderr\n", "END RequestId: %s\n" % rid):
        assert line in log, (line, log)
    assert re.search(r"\[INFO\]\t\S+Z\t%s\tlogging.info from request" % rid, log), log
    assert re.search(r"REPORT RequestId: %s\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms" % rid, log), log
    r = lam.invoke(FunctionName="logs", LogType="Tail", Payload=b'{"lines": 400}')
    tail = base64.b64decode(r["LogResult"])
    assert len(tail) <= 4096 and tail.rstrip().splitlines()[-1].startswith(b"REPORT")
    r = lam.invoke(FunctionName="logs", Payload=b'{}')
    assert "LogResult" not in r


@check
def invoke_event_dryrun_and_errors(c):
    lam = c.client("lambda")
    before = c.ctl("GET", "/__emu/stats")["async_invocations"].get("echo", 0)
    r = lam.invoke(FunctionName="echo", InvocationType="Event", Payload=b'{"x": 1}')
    assert r["StatusCode"] == 202
    assert c.ctl("GET", "/__emu/stats")["async_invocations"]["echo"] == before + 1
    r = lam.invoke(FunctionName="echo", InvocationType="DryRun")
    assert r["StatusCode"] == 204
    expect_error(lambda: lam.invoke(FunctionName="nope"), "ResourceNotFoundException", 404,
                 r"^Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope$")
    expect_error(lambda: lam.invoke(FunctionName="echo", Payload=b"not json"), "InvalidRequestContentException", 400)
    expect_error(lambda: lam.invoke(FunctionName="echo", Payload=b'"' + b"x" * 6291460 + b'"'),
                 "RequestTooLargeException", 413)
    # an unsigned request to Lambda
    st, hd, body = c.raw("GET", "/2015-03-31/functions/")
    assert st == 403 and hd["x-amzn-errortype"] == "MissingAuthenticationTokenException", (st, hd)


@check
def get_function_and_tags(c):
    lam = c.client("lambda")
    r = lam.get_function(FunctionName="greet")
    assert r["Configuration"]["FunctionName"] == "greet" and r["Configuration"]["Description"] == "Greets someone."
    assert r["Code"]["RepositoryType"] == "S3" and r["Code"]["Location"].startswith("https://")
    assert r["Tags"] == {"team": "blue", "lambda-mcp:expose": "true"}
    r = lam.get_function(FunctionName="greet", Qualifier="live")
    assert r["Configuration"]["Version"] == "1"
    cfg = lam.get_function_configuration(FunctionName="arn:aws:lambda:%s:%s:function:slow" % (REGION, ACCOUNT))
    assert cfg["Timeout"] == 1 and cfg["Handler"] == "slow.handler" and cfg["Description"] == "Sleeps."
    assert lam.get_function_configuration(FunctionName="sleeper")["Description"] == ""
    arn = "arn:aws:lambda:%s:%s:function:echo" % (REGION, ACCOUNT)
    assert lam.list_tags(Resource=arn)["Tags"]["team"] == "blue"
    assert lam.list_tags(Resource=arn.replace("echo", "logs"))["Tags"] == {}
    expect_error(lambda: lam.list_tags(Resource=arn + "x"), "ResourceNotFoundException", 404)
    expect_error(lambda: lam.get_function(FunctionName="nope"), "ResourceNotFoundException", 404)


# --------------------------------------------------------------------------------- Tagging ----
@check
def get_resources(c):
    tg = c.client("resourcegroupstaggingapi")

    def arns(**kw):
        out = []
        for p in tg.get_paginator("get_resources").paginate(**kw):
            out += [m["ResourceARN"].rsplit(":", 1)[1] for m in p["ResourceTagMappingList"]]
        return out

    blue = arns(TagFilters=[{"Key": "team", "Values": ["blue"]}], ResourceTypeFilters=["lambda:function"])
    assert sorted(blue) == ["echo", "greet"], blue
    assert sorted(arns(TagFilters=[{"Key": "team", "Values": ["blue", "red"]}])) == ["echo", "fail", "greet"]
    assert sorted(arns(TagFilters=[{"Key": "team"}])) == ["echo", "fail", "greet"]
    assert arns(TagFilters=[{"Key": "team", "Values": ["blue"]}, {"Key": "lambda-mcp:expose"}]) == ["greet"]
    gen = arns(TagFilters=[{"Key": "kind", "Values": ["generated"]}], ResourceTypeFilters=["lambda"],
               PaginationConfig={"PageSize": 10})
    assert len(gen) == N_GENERATED // 2 and len(set(gen)) == len(gen), len(gen)
    with_schema = arns(TagFilters=[{"Key": SCHEMA_TAG}])
    assert len(with_schema) == N_GENERATED // 5 + 1, len(with_schema)
    assert arns(ResourceTypeFilters=["ec2:instance"]) == []
    page = tg.get_resources(TagFilters=[{"Key": "team"}], ResourcesPerPage=100)
    assert page["PaginationToken"] == "" and len(page["ResourceTagMappingList"]) == 3
    m = [x for x in page["ResourceTagMappingList"] if x["ResourceARN"].endswith(":greet")][0]
    assert {"Key": "team", "Value": "blue"} in m["Tags"]
    page = tg.get_resources(TagFilters=[{"Key": "kind"}], ResourcesPerPage=5)
    assert page["PaginationToken"] != "" and len(page["ResourceTagMappingList"]) == 5


@check
def tagging_access_denied(c):
    tg = c.client("resourcegroupstaggingapi")
    c.ctl("POST", "/__emu/tagging", {"deny": True})
    try:
        expect_error(lambda: tg.get_resources(), "AccessDeniedException", 400, "not authorized to perform: tag:GetResources")
    finally:
        c.ctl("POST", "/__emu/tagging", {"deny": False})
    tg.get_resources()


# --------------------------------------------------------------------------------- Schemas ----
@check
def describe_schema(c):
    sc = c.client("schemas")
    r = sc.describe_schema(RegistryName=SCHEMA_REG, SchemaName="draft4")
    assert r["Type"] == "JSONSchemaDraft4" and r["SchemaVersion"] == "2"
    assert json.loads(r["Content"]) == {"type": "object", "required": ["a"]}
    assert r["SchemaArn"] == "arn:aws:schemas:%s:%s:schema/%s/draft4" % (REGION, ACCOUNT, SCHEMA_REG)
    assert r["Tags"] == {"k": "v"} and r["Description"] == "a draft-4 schema"
    assert isinstance(r["LastModified"], datetime.datetime) and isinstance(r["VersionCreatedDate"], datetime.datetime)
    r = sc.describe_schema(RegistryName=SCHEMA_REG, SchemaName="draft4", SchemaVersion="1")
    assert json.loads(r["Content"]) == {"type": "object"} and r["SchemaVersion"] == "1"
    r = sc.describe_schema(RegistryName=SCHEMA_REG, SchemaName="openapi")
    assert r["Type"] == "OpenApi3" and json.loads(r["Content"])["openapi"] == "3.0.0"
    r = sc.describe_schema(RegistryName="generated", SchemaName="gen-010-input")
    assert r["Type"] == "OpenApi3", r["Type"]
    e = expect_error(lambda: sc.describe_schema(RegistryName=SCHEMA_REG, SchemaName="nope"), "NotFoundException", 404)
    assert e.response["Error"]["Message"]
    expect_error(lambda: sc.describe_schema(RegistryName=SCHEMA_REG, SchemaName="draft4", SchemaVersion="9"),
                 "NotFoundException", 404)


# ------------------------------------------------------------------------------------- STS ----
def _who_signed(c, seq):
    recent = c.ctl("GET", "/__emu/stats?since=%d" % seq)["recent"]
    return [(e["operation"], e["access_key_id"], e["verified"]) for e in recent]


@check
def sts_assume_role(c):
    sts = c.client("sts")
    r = sts.assume_role(RoleArn="arn:aws:iam::%s:role/invoker" % ACCOUNT, RoleSessionName="selftest",
                        DurationSeconds=900)
    cr = r["Credentials"]
    assert cr["AccessKeyId"].startswith("ASIA") and cr["SessionToken"]
    left = (cr["Expiration"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 880 < left <= 901, left
    assert r["AssumedRoleUser"]["Arn"] == "arn:aws:sts::%s:assumed-role/invoker/selftest" % ACCOUNT
    seq = c.ctl("GET", "/__emu/stats?recent=0")["last_seq"]
    lam = c.client("lambda", cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"])
    lam.invoke(FunctionName="echo", Payload=b"{}")
    assert _who_signed(c, seq) == [("Invoke", cr["AccessKeyId"], True)], _who_signed(c, seq)
    who = c.client("sts", cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"]).get_caller_identity()
    assert who["Arn"].endswith(":assumed-role/invoker/selftest") and who["Account"] == ACCOUNT
    # role chaining: credentials of role "invoker" may assume "chained"
    c.client("sts", cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"]).assume_role(
        RoleArn="arn:aws:iam::%s:role/chained" % ACCOUNT, RoleSessionName="chain")
    # a key the role does not trust
    expect_error(lambda: c.client("sts", AK2, SK2).assume_role(
        RoleArn="arn:aws:iam::%s:role/invoker" % ACCOUNT, RoleSessionName="x2"), "AccessDenied", 403)
    # external id
    ext = "arn:aws:iam::%s:role/external" % ACCOUNT
    expect_error(lambda: sts.assume_role(RoleArn=ext, RoleSessionName="x3"), "AccessDenied", 403)
    expect_error(lambda: sts.assume_role(RoleArn=ext, RoleSessionName="x3", ExternalId="wrong"), "AccessDenied", 403)
    sts.assume_role(RoleArn=ext, RoleSessionName="x3", ExternalId="ext-123")
    expect_error(lambda: sts.assume_role(RoleArn=ext, RoleSessionName="x3", ExternalId="ext-123",
                                         DurationSeconds=7200), "ValidationError", 400)
    # a session token that does not belong to the key
    bad = c.client("lambda", cr["AccessKeyId"], cr["SecretAccessKey"], "wrong-token")
    expect_error(lambda: bad.list_functions(), "UnrecognizedClientException", 403)


@check
def sts_short_lived_credentials_expire(c):
    c.ctl("POST", "/__emu/sts", {"max_lifetime_seconds": 2})
    try:
        cr = c.client("sts").assume_role(RoleArn="arn:aws:iam::%s:role/invoker" % ACCOUNT,
                                         RoleSessionName="short")["Credentials"]
    finally:
        c.ctl("POST", "/__emu/sts", {"max_lifetime_seconds": None})
    lam = c.client("lambda", cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"])
    lam.list_functions(MaxItems=1)
    time.sleep(2.2)
    expect_error(lambda: lam.list_functions(MaxItems=1), "ExpiredTokenException", 403,
                 "The security token included in the request is expired")
    expect_error(lambda: c.client("sts", cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"])
                 .get_caller_identity(), "ExpiredToken", 403)


@check
def sts_web_identity(c):
    sts = c.client("sts", unsigned=True)
    r = sts.assume_role_with_web_identity(RoleArn="arn:aws:iam::%s:role/invoker" % ACCOUNT,
                                          RoleSessionName="web", WebIdentityToken="selftest-web-token")
    cr = r["Credentials"]
    assert cr["AccessKeyId"].startswith("ASIA") and r["SubjectFromWebIdentityToken"]
    c.client("lambda", cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"]).list_functions(MaxItems=1)
    expect_error(lambda: sts.assume_role_with_web_identity(
        RoleArn="arn:aws:iam::%s:role/invoker" % ACCOUNT, RoleSessionName="web", WebIdentityToken="bogus-token"),
        "InvalidIdentityToken", 400)
    expect_error(lambda: sts.assume_role_with_web_identity(
        RoleArn="arn:aws:iam::%s:role/invoker" % ACCOUNT, RoleSessionName="web", WebIdentityToken="expired-web-token"),
        "ExpiredTokenException", 400)
    # AssumeRole itself needs a signature
    expect_error(lambda: sts.assume_role(RoleArn="arn:aws:iam::%s:role/invoker" % ACCOUNT, RoleSessionName="unsigned"),
                 "MissingAuthenticationToken", 403)


# ------------------------------------------------------------------------------------- SSO ----
@check
def sso_role_credentials(c):
    sso = c.client("sso", unsigned=True)
    r = sso.get_role_credentials(roleName="ReadOnly", accountId=ACCOUNT, accessToken="sso-token-1")
    rc = r["roleCredentials"]
    assert rc["expiration"] > time.time() * 1000 and rc["accessKeyId"].startswith("ASIA")
    seq = c.ctl("GET", "/__emu/stats?recent=0")["last_seq"]
    c.client("lambda", rc["accessKeyId"], rc["secretAccessKey"], rc["sessionToken"]).list_functions(MaxItems=1)
    assert _who_signed(c, seq) == [("ListFunctions", rc["accessKeyId"], True)]
    expect_error(lambda: sso.get_role_credentials(roleName="ReadOnly", accountId=ACCOUNT, accessToken="bad"),
                 "UnauthorizedException", 401)
    expect_error(lambda: sso.get_role_credentials(roleName="Admin", accountId=ACCOUNT, accessToken="sso-token-1"),
                 "ForbiddenException", 403)
    c.ctl("POST", "/__emu/sso", {"add_access_token": {"token": "sso-expiring", "expires_in": 60,
                                                      "roles": [{"account_id": ACCOUNT, "role_name": "ReadOnly"}]}})
    sso.get_role_credentials(roleName="ReadOnly", accountId=ACCOUNT, accessToken="sso-expiring")
    c.ctl("POST", "/__emu/sso", {"expire_access_token": "sso-expiring"})
    expect_error(lambda: sso.get_role_credentials(roleName="ReadOnly", accountId=ACCOUNT, accessToken="sso-expiring"),
                 "UnauthorizedException", 401)


@check
def sso_oidc_create_token(c):
    oidc = c.client("sso-oidc", unsigned=True)
    r = oidc.create_token(clientId="cid", clientSecret="csecret", grantType="refresh_token", refreshToken="refresh-1")
    assert r["tokenType"] == "Bearer" and r["expiresIn"] > 0 and r["accessToken"] and r["refreshToken"]
    c.client("sso", unsigned=True).get_role_credentials(roleName="ReadOnly", accountId=ACCOUNT,
                                                         accessToken=r["accessToken"])
    oidc.create_token(clientId="cid", clientSecret="csecret", grantType="refresh_token", refreshToken=r["refreshToken"])
    expect_error(lambda: oidc.create_token(clientId="cid", clientSecret="csecret", grantType="refresh_token",
                                           refreshToken="unknown"), "InvalidGrantException", 400)
    expect_error(lambda: oidc.create_token(clientId="cid", clientSecret="wrong", grantType="refresh_token",
                                           refreshToken="refresh-1"), "InvalidClientException", 401)


# ----------------------------------------------------------------------------- Signatures ----
@check
def signature_failures(c):
    before = c.ctl("GET", "/__emu/stats?recent=0")["signature_failures"]
    e = expect_error(lambda: c.client("lambda", AK1, "wrong-secret").list_functions(), "InvalidSignatureException",
                     403, "^The request signature we calculated does not match the signature you provided")
    assert e.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "InvalidSignatureException"
    expect_error(lambda: c.client("lambda", "AKIAUNKNOWN000000000", "x").list_functions(),
                 "UnrecognizedClientException", 403, r"^The security token included in the request is invalid\.$")
    expect_error(lambda: c.client("resourcegroupstaggingapi", AK1, "wrong").get_resources(),
                 "InvalidSignatureException", 403)
    expect_error(lambda: c.client("schemas", AK1, "wrong").describe_schema(RegistryName=SCHEMA_REG,
                                                                           SchemaName="draft4"),
                 "InvalidSignatureException", 403)
    expect_error(lambda: c.client("sts", AK1, "wrong").get_caller_identity(), "SignatureDoesNotMatch", 403)
    expect_error(lambda: c.client("sts", "AKIAUNKNOWN000000000", "x").get_caller_identity(), "InvalidClientTokenId", 403)
    expect_error(lambda: c.client("lambda", region="eu-west-1").list_functions(), "InvalidSignatureException", 403,
                 "Credential should be scoped to a valid region")
    after = c.ctl("GET", "/__emu/stats?recent=0")["signature_failures"]
    assert after - before == 5, (before, after)
    # raw: JSON 1.1 body shape and STS XML shape
    path, h = sign("POST", c.url + "/", b"{}", AK1, "wrong", "tagging",
                   headers={"X-Amz-Target": "ResourceGroupsTaggingAPI_20170126.GetResources",
                            "Content-Type": "application/x-amz-json-1.1"})
    st, hd, body = c.raw("POST", path, b"{}", h)
    assert st == 403 and json.loads(body)["__type"] == "InvalidSignatureException", body
    form = b"Action=GetCallerIdentity&Version=2011-06-15"
    path, h = sign("POST", c.url + "/", form, AK1, "wrong", "sts",
                   headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    st, hd, body = c.raw("POST", path, form, h)
    assert st == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body and b"<Type>Sender</Type>" in body, body
    assert b"<RequestId>%s</RequestId>" % hd["x-amzn-requestid"].encode() in body


@check
def signature_clock_skew_and_encoding(c):
    old = datetime.datetime.utcnow() - datetime.timedelta(minutes=6)
    path, h = sign("GET", c.url + "/2015-03-31/functions/", b"", AK1, SK1, "lambda", when=old)
    st, hd, body = c.raw("GET", path, headers=h)
    assert st == 403 and hd["x-amzn-errortype"] == "InvalidSignatureException"
    assert json.loads(body)["message"].startswith("Signature expired: "), body
    future = datetime.datetime.utcnow() + datetime.timedelta(minutes=6)
    path, h = sign("GET", c.url + "/2015-03-31/functions/", b"", AK1, SK1, "lambda", when=future)
    st, hd, body = c.raw("GET", path, headers=h)
    assert st == 403 and hd["x-amzn-errortype"] == "InvalidSignatureException", body
    # a full ARN in the path (percent-encoded ':'): double encoding in the canonical request
    arn = "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aecho"
    path, h = sign("POST", c.url + "/2015-03-31/functions/%s/invocations?Qualifier=%%24LATEST" % arn, b'{"k":1}',
                   AK1, SK1, "lambda")
    st, hd, body = c.raw("POST", path, b'{"k":1}', h)
    assert st == 200 and json.loads(body) == {"k": 1}, (st, body)
    # a tampered body breaks the signature
    st, hd, body = c.raw("POST", path, b'{"k":2}', h)
    assert st == 403 and hd["x-amzn-errortype"] == "InvalidSignatureException"
    # a signed user-agent header is honoured (botocore never signs it, other clients may)
    path, h = sign("GET", c.url + "/2015-03-31/functions/?MaxItems=1", b"", AK1, SK1, "lambda",
                   headers={"User-Agent": "selftest/1.0"}, sign_all_headers=True)
    assert "user-agent" in h["Authorization"], h["Authorization"]
    st, hd, body = c.raw("GET", path, headers=h)
    assert st == 200, body
    h["User-Agent"] = "tampered/2.0"
    st, hd, body = c.raw("GET", path, headers=h)
    assert st == 403, body


# ------------------------------------------------------------------- IMDS and container ----
@check
def imds_v2(c):
    c.ctl("POST", "/__emu/reset")
    st, hd, token = c.raw("PUT", "/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "21600"})
    assert st == 200 and token and hd["x-aws-ec2-metadata-token-ttl-seconds"] == "21600"
    for bad in ("0", "21601", "abc"):
        st, _, _ = c.raw("PUT", "/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": bad})
        assert st == 400, (bad, st)
    st, _, _ = c.raw("PUT", "/latest/api/token")
    assert st == 400
    h = {"X-aws-ec2-metadata-token": token.decode()}
    st, _, body = c.raw("GET", "/latest/meta-data/iam/security-credentials/", headers=h)
    assert st == 200 and body == b"selftest-instance-role", body
    st, _, body = c.raw("GET", "/latest/meta-data/iam/security-credentials/selftest-instance-role", headers=h)
    doc = json.loads(body)
    assert st == 200 and doc["Code"] == "Success" and doc["Type"] == "AWS-HMAC", doc
    assert doc["Expiration"].endswith("Z") and doc["AccessKeyId"].startswith("ASIA") and doc["Token"]
    st, _, body = c.raw("GET", "/latest/meta-data/placement/region", headers=h)
    assert body == REGION.encode()
    st, _, body = c.raw("GET", "/latest/dynamic/instance-identity/document", headers=h)
    assert json.loads(body)["region"] == REGION and json.loads(body)["accountId"] == ACCOUNT
    st, _, _ = c.raw("GET", "/latest/meta-data/iam/security-credentials/")
    assert st == 401
    st, _, _ = c.raw("GET", "/latest/meta-data/iam/security-credentials/", headers={"X-aws-ec2-metadata-token": "x"})
    assert st == 401
    c.client("lambda", doc["AccessKeyId"], doc["SecretAccessKey"], doc["Token"]).list_functions(MaxItems=1)
    imds = c.ctl("GET", "/__emu/stats")["imds"]
    assert imds.get("v1_requests", 0) == 0 and imds["v1_rejected"] == 1 and imds["v2_requests"] == 4, imds
    assert imds["tokens_issued"] == imds["tokens_issued_ttl_21600"] == 1, imds
    # botocore's own IMDS client against the emulator
    from botocore.utils import InstanceMetadataFetcher
    creds = InstanceMetadataFetcher(timeout=2, num_attempts=1, base_url=c.url + "/", env={}).retrieve_iam_role_credentials()
    assert creds["access_key"] == doc["AccessKeyId"] and creds["role_name"] == "selftest-instance-role", creds
    assert c.ctl("GET", "/__emu/stats")["imds"].get("v1_requests", 0) == 0
    # IMDSv1 when the account allows it
    c.ctl("POST", "/__emu/imds", {"allow_v1": True})
    try:
        st, _, body = c.raw("GET", "/latest/meta-data/iam/security-credentials/")
        assert st == 200 and c.ctl("GET", "/__emu/stats")["imds"]["v1_requests"] == 1
    finally:
        c.ctl("POST", "/__emu/imds", {"allow_v1": False})


@check
def container_credentials(c):
    st, _, body = c.raw("GET", "/v2/credentials/task-1", headers={"Authorization": "container-secret"})
    doc = json.loads(body)
    assert st == 200 and set(doc) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "RoleArn"}, doc
    c.client("lambda", doc["AccessKeyId"], doc["SecretAccessKey"], doc["Token"]).list_functions(MaxItems=1)
    st, _, _ = c.raw("GET", "/v2/credentials/task-1", headers={"Authorization": "wrong"})
    assert st == 401
    st, _, _ = c.raw("GET", "/v2/credentials/task-1")
    assert st == 401
    from botocore.utils import ContainerMetadataFetcher
    got = ContainerMetadataFetcher().retrieve_full_uri(
        c.url + "/v2/credentials/full", headers={"Authorization": "container-secret"})
    assert got["AccessKeyId"] == doc["AccessKeyId"], got


# -------------------------------------------------------------------- control and server ----
@check
def faults(c):
    lam = c.client("lambda")
    c.ctl("POST", "/__emu/faults", {"operation": "Invoke", "function": "greet", "status": 429,
                                     "code": "TooManyRequestsException", "count": 2, "retry_after": 1})
    for _ in range(2):
        e = expect_error(lambda: lam.invoke(FunctionName="greet"), "TooManyRequestsException", 429)
        assert e.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
    lam.invoke(FunctionName="echo")
    lam.invoke(FunctionName="greet")
    c.ctl("POST", "/__emu/faults", {"operation": "ListFunctions", "status": 503, "count": 1})
    expect_error(lambda: lam.list_functions(), "ServiceUnavailableException", 503)
    c.ctl("POST", "/__emu/faults", {"operation": "GetFunction", "status": 500, "count": 1})
    expect_error(lambda: lam.get_function(FunctionName="echo"), "ServiceException", 500)
    c.ctl("POST", "/__emu/faults", {"operation": "Invoke", "drop": True, "count": 1})
    try:
        lam.invoke(FunctionName="echo")
        raise AssertionError("a dropped connection should fail")
    except (botocore.exceptions.ConnectionClosedError, botocore.exceptions.EndpointConnectionError):
        pass
    lam.invoke(FunctionName="echo")
    c.ctl("POST", "/__emu/faults", {"operation": "GetFunctionConfiguration", "latency_ms": 300, "count": 1})
    t0 = time.time()
    lam.get_function_configuration(FunctionName="echo")
    assert time.time() - t0 >= 0.3
    c.ctl("POST", "/__emu/faults", {"operation": "*", "status": 500, "ratio": 0.0})
    lam.list_functions(MaxItems=1)
    assert len(c.ctl("GET", "/__emu/faults")["faults"]) == 1
    c.ctl("POST", "/__emu/reset")
    assert c.ctl("GET", "/__emu/faults")["faults"] == []
    stats = c.ctl("GET", "/__emu/stats")
    assert stats["requests"] == 0 and stats["recent"] == []


@check
def latency(c):
    lam = c.client("lambda")
    c.ctl("POST", "/__emu/latency", {"operation": "ListFunctions", "ms": 200})
    try:
        t0 = time.time()
        lam.list_functions(MaxItems=1)
        assert time.time() - t0 >= 0.2
        # latency is a sleep in the request thread: 8 parallel requests do not serialize
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda _: c.client("lambda").list_functions(MaxItems=1), range(8)))
        assert time.time() - t0 < 1.2, time.time() - t0
    finally:
        c.ctl("POST", "/__emu/latency", {"reset": True})
    assert c.ctl("GET", "/__emu/latency") == {"ms": 0.0, "operations": {}}


@check
def live_function_changes(c):
    lam = c.client("lambda")
    tg = c.client("resourcegroupstaggingapi")
    c.ctl("POST", "/__emu/functions", {"put": [{"name": "aaa-live", "handler": "greet", "description": "added",
                                                "tags": {"team": "green"}}]})
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    assert names[0] == "aaa-live"
    assert json.loads(lam.invoke(FunctionName="aaa-live", Payload=b'{"name":"L"}')["Payload"].read()) == \
        {"greeting": "Hello, L!"}
    assert [m["ResourceARN"] for m in tg.get_resources(TagFilters=[{"Key": "team", "Values": ["green"]}])[
        "ResourceTagMappingList"]] == ["arn:aws:lambda:%s:%s:function:aaa-live" % (REGION, ACCOUNT)]
    c.ctl("POST", "/__emu/functions", {"set_tags": {"aaa-live": {"team": "yellow"}}})
    assert lam.list_tags(Resource="arn:aws:lambda:%s:%s:function:aaa-live" % (REGION, ACCOUNT))["Tags"] == \
        {"team": "yellow"}
    c.ctl("POST", "/__emu/functions", {"remove": ["aaa-live"]})
    expect_error(lambda: lam.get_function(FunctionName="aaa-live"), "ResourceNotFoundException", 404)


@check
def stats_and_credentials_control(c):
    seq = c.ctl("GET", "/__emu/stats?recent=0")["last_seq"]
    before = c.ctl("GET", "/__emu/stats")["invocations"].get("greet", 0)
    c.client("lambda").invoke(FunctionName="greet")
    s = c.ctl("GET", "/__emu/stats?since=%d" % seq)
    assert s["invocations"]["greet"] == before + 1
    e = s["recent"][-1]
    assert (e["operation"], e["function"], e["access_key_id"], e["status"], e["service"]) == \
        ("Invoke", "greet", AK1, 200, "lambda"), e
    issued = c.ctl("POST", "/__emu/credentials", {"issue": {"lifetime_seconds": 1}})["issued"]
    lam = c.client("lambda", issued["access_key_id"], issued["secret_access_key"], issued["session_token"])
    lam.list_functions(MaxItems=1)
    time.sleep(1.1)
    expect_error(lambda: lam.list_functions(MaxItems=1), "ExpiredTokenException", 403)


@check
def keepalive_and_concurrency(c):
    conn = http.client.HTTPConnection(c.emu.host, c.emu.port, timeout=10)
    for i in range(20):
        path, h = sign("POST", c.url + "/2015-03-31/functions/echo/invocations", b'{"i":%d}' % i, AK1, SK1, "lambda")
        conn.request("POST", path, body=b'{"i":%d}' % i, headers=h)
        r = conn.getresponse()
        assert r.getheader("Content-Length") and r.getheader("x-amzn-RequestId")
        assert json.loads(r.read()) == {"i": i}
    conn.close()
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        outs = list(ex.map(lambda _: c.client("lambda").invoke(FunctionName="sleeper", Payload=b'{"seconds": 0.5}'),
                           range(16)))
    took = time.time() - t0
    assert all(o["StatusCode"] == 200 and "FunctionError" not in o for o in outs)
    assert took < 2.0, took


@check
def shipped_accounts_load(c):
    from emu.config import load_account
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "accounts")
    counts = {}
    for name in sorted(os.listdir(here)):
        if name.endswith(".json"):
            a = load_account(os.path.join(here, name))
            counts[name] = (len(a.functions), sum(1 for f in a.functions.values() if f.tags),
                            sum(len(r["schemas"]) for r in a.registries.values()))
    assert counts["big.json"] == (130, 0, 0), counts
    fns = load_account(os.path.join(here, "bench-2000.json")).functions
    assert len(fns) == 2000
    assert sum(1 for f in fns.values() if f.tags.get("lambda-mcp:expose") == "true") == 1000
    assert sum(1 for f in fns.values() if "lambda-mcp:input-schema" in f.tags) == 400
    assert counts["demo.json"][0] >= 5


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-v", "--verbose", action="store_true", help="run the emulator with --verbose")
    ap.add_argument("-k", help="only checks whose name contains this")
    args = ap.parse_args()
    checks = [f for f in CHECKS if not args.k or args.k in f.__name__]
    passed = failed = 0
    t0 = time.time()
    import tempfile
    log = None if args.verbose else tempfile.TemporaryFile(mode="w+")
    with Emulator(ACCOUNT_FILE, verbose=args.verbose, stderr=log) as emu:
        print("emulator at %s (botocore %s, boto3 %s)" % (emu.url, botocore.__version__, boto3.__version__))
        c = Ctx(emu)
        for fn in checks:
            t = time.time()
            try:
                fn(c)
                passed += 1
                print("PASS %-40s %6.2fs" % (fn.__name__, time.time() - t))
            except Exception as e:
                failed += 1
                print("FAIL %-40s %s: %s" % (fn.__name__, type(e).__name__, e))
                traceback.print_exc(limit=4, file=sys.stdout)
            sys.stdout.flush()
    if failed and log is not None:
        log.seek(0)
        print("---- emulator stderr (last 60 lines) ----")
        print("".join(log.readlines()[-60:]))
    print("selftest: %.1fs" % (time.time() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
