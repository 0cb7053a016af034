"""The API's JSON parser: orjson, and a cap on how deeply a body may nest."""

import codecs

import orjson
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from mysetlist.core.json_depth import MAX_DEPTH, nesting_exceeds


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
