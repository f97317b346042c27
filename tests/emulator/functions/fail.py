"""Always raises, so the invocation ends with X-Amz-Function-Error: Unhandled and the
Python runtime's error document {"errorMessage", "errorType", "requestId", "stackTrace"}."""


def _lookup(order_id):
    raise ValueError("order %s not found" % order_id)


def handler(event, context):
    order_id = event.get("order_id", 42) if isinstance(event, dict) else 42
    print("looking up order %s" % order_id)
    return _lookup(order_id)
