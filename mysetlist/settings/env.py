"""The one place the environment is read."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def env_int(name: str, default: int) -> int:
    """An integer from the environment; empty, as .env.example leaves some, is unset."""
    return int(env(name, default="") or default)


def env_bool(name: str, default: bool) -> bool:
    """A boolean from the environment; empty, as .env.example leaves some, is unset."""
    return env.bool(name, default=default) if env(name, default="") else default
