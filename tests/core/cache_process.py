"""Drive a real second process that reads through the tiered cache (tiered_cache_child.py),
sharing this process's Redis and, when asked, its test database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.db import connection

CHILD = Path(__file__).with_name("tiered_cache_child.py")


def database_url_of_tests() -> str:
    """DATABASE_URL pointing at the test database this process uses."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


class OtherProcess:
    def __init__(self, **env: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
        )
        assert self._read() == "ready"

    def _read(self):
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=10)
            raise RuntimeError(f"the other process ended: {self.process.stderr.read()}")
        return json.loads(line)

    def ask(self, **command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._read()

    def wait_for(self, expected, *, within: float, **command) -> float:
        """Ask until the answer is `expected`; return how long it took (AssertionError
        past `within` seconds)."""
        start = time.monotonic()
        while True:
            found = self.ask(**command)
            elapsed = time.monotonic() - start
            if found == expected:
                return elapsed
            assert elapsed < within, f"still {found!r} after {elapsed:.2f} s"
            time.sleep(0.02)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)
