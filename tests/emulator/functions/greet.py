"""Greets event["name"] (the README demo function)."""


def handler(event, context):
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    return {"greeting": "Hello, %s!" % name}
