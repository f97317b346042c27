"""Plain-text results.

handler: returns a Python str. The Lambda Python runtime JSON-encodes every return value, so
the Invoke payload is a JSON string literal ("\"Hello ...\""), exactly as on AWS.

raw: returns bytes. Only custom runtimes (runtime "provided.al2023"/"provided.al2") can return
a payload that is not JSON at all - they post the raw bytes to the Runtime API - so the emulator
sends bytes/str results of functions with a provided* runtime verbatim. Give a function
handler "text.raw" and runtime "provided.al2023" to get a non-JSON Invoke payload; with a python
runtime the same handler fails with Runtime.MarshalError, as on AWS.
"""


def handler(event, context):
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    return "Hello, %s! This is plain text." % name


def raw(event, context):
    return b"plain text, not JSON\nsecond line\n"
