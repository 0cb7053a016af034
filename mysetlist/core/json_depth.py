"""How deeply JSON nests lists and objects. Pure Python.

No request nests past a few levels. orjson stops at 1,024 itself, but JSON nearly that deep
still reaches code that recurses in Python (json.dumps for a JSONField, validation), whose
limit is 1,000 frames less the stack already in use, and orjson writes no more than 254.
"""

MAX_DEPTH = 64


def brackets(raw: bytes | str) -> int:
    """Return how many lists and objects the JSON text `raw` may open: its [ and { (some may
    stand in strings), an upper bound of its depth."""
    if isinstance(raw, bytes):
        return raw.count(b"[") + raw.count(b"{")
    return raw.count("[") + raw.count("{")


def nesting_exceeds(data, raw: bytes | str | None, limit: int) -> bool:
    """Return whether parsed JSON `data` nests lists and objects more than `limit` deep.

    A body with no more than `limit` brackets cannot, so most bodies are settled by counting
    them in `raw`, the text `data` was parsed from; the others (and all, when `raw` is None)
    are walked without recursion.
    """
    if raw is not None and brackets(raw) <= limit:
        return False
    stack = [(data, 1)] if isinstance(data, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
