"""A second process for the tiered cache's tests: it reads through the cache what the
parent asks (one JSON command a line on stdin) and prints each answer as a JSON line.

Commands: {"op": "file", "namespace": ..., "path": ...} reads the file through the cache;
{"op": "ballot", "show_id": ...} the show's ballot as (song id, upvotes) pairs.
"""

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysetlist.settings.test")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import django  # noqa: E402

django.setup()

from pathlib import Path  # noqa: E402

from mysetlist.core import tiered_cache  # noqa: E402


def answer(command: dict):
    if command["op"] == "file":
        path = Path(command["path"])
        return tiered_cache.cached(
            command["namespace"], "file", ttl=60, loader=lambda: path.read_text()
        )
    if command["op"] == "ballot":
        from mysetlist.setlists import selectors

        show = selectors.show_get(show_id=command["show_id"])
        return [[line.song_id, line.upvotes] for line in selectors.show_ballot(show=show)]
    raise ValueError(command)


print(json.dumps("ready"), flush=True)
for line in sys.stdin:
    print(json.dumps(answer(json.loads(line))), flush=True)
