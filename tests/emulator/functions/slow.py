"""Sleeps, then answers. handler: event["seconds"] (default 2); handler_100ms: 0.1 s fixed,
the function the concurrency benchmark drives."""
import time


def handler(event, context):
    seconds = float(event.get("seconds", 2)) if isinstance(event, dict) else 2.0
    time.sleep(seconds)
    return {"slept": seconds, "remaining_ms": context.get_remaining_time_in_millis()}


def handler_100ms(event, context):
    time.sleep(0.1)
    return {"slept": 0.1}
