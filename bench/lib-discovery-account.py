#!/usr/bin/python3
"""The emulator account of the discovery benchmark (bench/discovery).

    /usr/bin/python3 bench/lib-discovery-account.py [--functions 2000] --out account.json

N functions fn-0001 .. fn-N (handler echo, like every function of the account):
  * every 2nd (i even)           tag lambda-mcp:expose = true         -> N/2 tagged for MCP
  * every 5th (i % 5 == 0)       tag lambda-mcp:input-schema = <ARN>  -> N/5 with a schema tag
  * one schema per schema-tagged function (N/5 distinct schemas, registry "lambda-mcp"): a
    function's input schema describes that function's event, so sharing is the exception.
    Types alternate by tens: i // 10 even -> JSONSchemaDraft4, odd -> OpenApi3 (an EventBridge-
    style document: the AWSEvent schema marked with x-amazon-events-*, its detail a $ref to a
    second component), so the exposed ones (i % 10 == 0) are half draft-4, half OpenAPI.
Exposed tools with a schema: i % 10 == 0 -> N/10.
"""
import argparse
import json

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
REGISTRY = "lambda-mcp"
EXPOSE_KEY, EXPOSE_VALUE = "lambda-mcp:expose", "true"
SCHEMA_KEY = "lambda-mcp:input-schema"
CREDENTIALS = [{"access_key_id": "AKIAEMULATORDEMO0001",
                "secret_access_key": "emulatorDemoSecretKey/0000000000000000001"}]


def schema_arn(name):
    return "arn:aws:schemas:%s:%s:schema/%s/%s" % (REGION, ACCOUNT_ID, REGISTRY, name)


def draft4(i):
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "fn-%04d input" % i,
        "type": "object",
        "properties": {
            "message": {"type": "string", "description": "Text to send", "maxLength": 1000},
            "count": {"type": "integer", "minimum": 1, "maximum": 100},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["message"],
        "additionalProperties": False,
    }


def openapi(i):
    return {
        "openapi": "3.0.0",
        "info": {"title": "Fn%04dEvent" % i, "version": "1.0.0"},
        "paths": {},
        "components": {"schemas": {
            "AWSEvent": {
                "type": "object",
                "required": ["detail-type", "source", "detail"],
                "x-amazon-events-detail-type": "Fn%04dEvent" % i,
                "x-amazon-events-source": "bench.discovery",
                "properties": {
                    "detail": {"$ref": "#/components/schemas/Detail"},
                    "detail-type": {"type": "string"},
                    "source": {"type": "string"},
                },
            },
            "Detail": {
                "type": "object",
                "required": ["message"],
                "properties": {
                    "message": {"type": "string"},
                    "priority": {"type": "integer", "nullable": True},
                },
            },
        }},
    }


def build(n=2000):
    functions, schemas = [], []
    for i in range(1, n + 1):
        name = "fn-%04d" % i
        tags = {}
        if i % 2 == 0:
            tags[EXPOSE_KEY] = EXPOSE_VALUE
        if i % 5 == 0:
            sname = "%s-input" % name
            if (i // 10) % 2 == 0:
                schemas.append({"name": sname, "type": "JSONSchemaDraft4", "content": draft4(i)})
            else:
                schemas.append({"name": sname, "type": "OpenApi3", "content": openapi(i)})
            tags[SCHEMA_KEY] = schema_arn(sname)
        functions.append({"name": name, "handler": "echo", "description": "Benchmark function %d" % i,
                          "tags": tags})
    return {
        "$comment": "bench/discovery: %d functions, %d tagged %s=%s, %d with %s (one schema each)"
                    % (n, n // 2, EXPOSE_KEY, EXPOSE_VALUE, n // 5, SCHEMA_KEY),
        "region": REGION,
        "account_id": ACCOUNT_ID,
        "credentials": CREDENTIALS,
        "functions": functions,
        "schemas": {"registries": [{"name": REGISTRY, "schemas": schemas}]},
    }


def describe(n):
    """(what the account holds, for the benchmark's header)"""
    exposed_with_schema = n // 10
    return ("%d functions: %d tagged %s=%s; %d with %s naming one of %d distinct Schema Registry "
            "schemas (%d JSONSchemaDraft4, %d OpenApi3); %d exposed tools with a schema"
            % (n, n // 2, EXPOSE_KEY, EXPOSE_VALUE, n // 5, SCHEMA_KEY, n // 5,
               sum(1 for i in range(5, n + 1, 5) if (i // 10) % 2 == 0),
               sum(1 for i in range(5, n + 1, 5) if (i // 10) % 2 == 1), exposed_with_schema))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--functions", type=int, default=2000)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.out, "w") as f:
        json.dump(build(a.functions), f)
    print(describe(a.functions))
