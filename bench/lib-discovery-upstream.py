#!/usr/bin/python3
"""The upstream server's discovery call pattern, for the reference ratio of bench/discovery.

    /usr/bin/python3 bench/lib-discovery-upstream.py --endpoint URL [--first-page-only]

What awslabs' lambda-tool-mcp-server (server.py, register_lambda_functions) does at start, with
the same boto3 calls, one after another, no concurrency:
  1. lambda.list_functions()                      -- ONE call: upstream never follows NextMarker, so
                                                     it only ever sees the first 50 functions. Here
                                                     the marker chain is followed to the end (all
                                                     pages) unless --first-page-only, so that the
                                                     pattern does the same work as lambda-mcp.
  2. lambda.list_tags(Resource=arn) per function  -- filter_functions_by_tag (FUNCTION_TAG_KEY/VALUE)
  3. per selected function: lambda.list_tags()    -- get_schema_arn_from_function_arn reads the tags
     again, then schemas.describe_schema()        -- again, and DescribeSchema when the tag is there
Each phase is timed. Debian's boto3 1.26 / botocore 1.29 ignores AWS_ENDPOINT_URL: the endpoint is
passed explicitly. Needs /usr/bin/python3 with python3-boto3.
"""
import argparse
import json
import time

EXPOSE_KEY, EXPOSE_VALUE = "lambda-mcp:expose", "true"
SCHEMA_KEY = "lambda-mcp:input-schema"


def run(endpoint, access_key, secret_key, region="us-east-1", tag_key=EXPOSE_KEY, tag_value=EXPOSE_VALUE,
        schema_tag_key=SCHEMA_KEY, all_pages=True):
    import boto3
    from botocore.config import Config

    t0 = time.perf_counter()
    session = boto3.Session(aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=region)
    cfg = Config(user_agent_extra="awslabs/mcp/aws-lambda-tool-mcp-server")  # as upstream
    lam = session.client("lambda", endpoint_url=endpoint, config=cfg)
    schemas = session.client("schemas", endpoint_url=endpoint, config=cfg)
    t_clients = time.perf_counter()

    # 1. ListFunctions
    functions, pages = [], 0
    resp = lam.list_functions()
    pages += 1
    functions += resp["Functions"]
    while all_pages and resp.get("NextMarker"):
        resp = lam.list_functions(Marker=resp["NextMarker"])
        pages += 1
        functions += resp["Functions"]
    t_list = time.perf_counter()

    # 2. the tag filter: ListTags per function
    selected = []
    for f in functions:
        tags = lam.list_tags(Resource=f["FunctionArn"]).get("Tags", {})
        if tags.get(tag_key) == tag_value:
            selected.append(f)
    t_tags = time.perf_counter()

    # 3. per selected function: ListTags again for the schema ARN, then DescribeSchema
    schema_arns = []
    for f in selected:
        tags = lam.list_tags(Resource=f["FunctionArn"]).get("Tags", {})
        if schema_tag_key in tags:
            schema_arns.append(tags[schema_tag_key])
    t_tags2 = time.perf_counter()
    described = 0
    for arn in schema_arns:
        registry_schema = arn.split(":")[5].split("/")
        r = schemas.describe_schema(RegistryName=registry_schema[1], SchemaName=registry_schema[2])
        if r.get("Content"):
            described += 1
    t_end = time.perf_counter()
    return {
        "functions": len(functions), "pages": pages, "selected": len(selected), "schemas": described,
        "requests": pages + len(functions) + len(selected) + len(schema_arns),
        "clients_s": t_clients - t0,
        "list_functions_s": t_list - t_clients,
        "list_tags_s": t_tags - t_list,
        "list_tags_again_s": t_tags2 - t_tags,
        "describe_schema_s": t_end - t_tags2,
        "total_s": t_end - t0,
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--access-key", default="AKIAEMULATORDEMO0001")
    ap.add_argument("--secret-key", default="emulatorDemoSecretKey/0000000000000000001")
    ap.add_argument("--first-page-only", action="store_true", help="like upstream: list_functions() once")
    a = ap.parse_args()
    print(json.dumps(run(a.endpoint, a.access_key, a.secret_key, all_pages=not a.first_page_only), indent=2))
