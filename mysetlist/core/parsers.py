"""The API's JSON parser: orjson, and a cap on how deeply a body may nest."""

import codecs

import orjson
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# No request of the API nests past a few levels. orjson stops at 1,024 itself, but a body
# nearly that deep still reaches code that recurses in Python (json.dumps for a JSONField,
# validation), whose limit is 1,000 frames less the stack already in use.
MAX_DEPTH = 64


class JSONParser(parsers.JSONParser):
    """Parse a JSON body with orjson; a body nested deeper than MAX_DEPTH is a parse error.

    orjson parses in C without recursing in Python, refuses NaN, Infinity and numbers past a
    double's range (as DRF's strict mode does the first two), and is several times faster.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        raw = stream.read()
        try:
            if codecs.lookup(encoding).name != "utf-8":
                raw = raw.decode(encoding)
            data = orjson.loads(raw)
        except ValueError as exc:  # orjson.JSONDecodeError and UnicodeDecodeError are
            raise ParseError(f"JSON parse error - {exc}") from exc
        if nesting_exceeds(data, raw, MAX_DEPTH):
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.")
        return data


def nesting_exceeds(data, raw: bytes | str, limit: int) -> bool:
    """Return whether parsed JSON `data` nests lists and objects more than `limit` deep.

    A body with no more than `limit` brackets cannot, so most bodies are settled by counting
    them in `raw`; the others are walked without recursion.
    """
    brackets = (b"[", b"{") if isinstance(raw, bytes) else ("[", "{")
    if raw.count(brackets[0]) + raw.count(brackets[1]) <= limit:
        return False
    stack = [(data, 1)] if isinstance(data, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
