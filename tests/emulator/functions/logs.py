"""Writes several log lines (print and logging) and returns how many, for X-Amz-Log-Type: Tail.
An optional "print" string is written to the log as it is (control characters included)."""
import logging
import sys

logger = logging.getLogger("logs-function")
logger.setLevel(logging.INFO)


def handler(event, context):
    lines = int(event.get("lines", 3)) if isinstance(event, dict) else 3
    for i in range(1, lines + 1):
        print("log line %d of %d" % (i, lines))
    logger.info("logging.info from request %s", context.aws_request_id)
    print("a line on stderr", file=sys.stderr)
    if isinstance(event, dict) and isinstance(event.get("print"), str):
        print(event["print"])
    return {"lines": lines, "request_id": context.aws_request_id}
