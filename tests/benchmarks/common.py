"""What every benchmark needs: its own PostgreSQL database, free ports, servers to drive."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]


def bench_database_url(suffix: str = "_bench") -> str:
    """Return the URL of `<DATABASE_URL's database><suffix>`; exit unless PostgreSQL and
    Redis. A benchmark that keeps data between runs takes a database of its own."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit("benchmarks need DATABASE_URL (PostgreSQL) and REDIS_URL")
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path + suffix))


def redis_database_url(number: int) -> str:
    """REDIS_URL with its database number replaced: a benchmark's own, so that no other
    Celery worker on the machine takes its tasks."""
    return urlunsplit(urlsplit(os.environ["REDIS_URL"])._replace(path=f"/{number}"))


def setup_django(db_url: str) -> None:
    """Create the bench database if needed, point Django at it and migrate it."""
    import psycopg

    parts = urlsplit(db_url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysetlist.settings.local")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SERVERS = {
    "daphne": ["-m", "daphne", "-b", "127.0.0.1", "-p", "{port}", "mysetlist.asgi:application"],
    "granian": ["-m", "granian", "--interface", "wsgi", "--workers", "{workers}",
                "--blocking-threads", "{threads}", "--host", "127.0.0.1", "--port", "{port}",
                "--log-level", "warning", "mysetlist.wsgi:application"],
    "gunicorn": ["-m", "gunicorn", "-w", "{workers}", "--threads", "{threads}",
                 "-b", "127.0.0.1:{port}", "mysetlist.wsgi:application"],
}  # fmt: skip


def start_server(
    kind: str, port: int, db_url: str, workers: int = 2, threads: int = 1, **env
) -> subprocess.Popen:
    """Start a server of SERVERS on the bench database; wait until it answers."""
    environment = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DJANGO_SETTINGS_MODULE": "mysetlist.settings.local",
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    command = [part.format(port=port, workers=workers, threads=threads) for part in SERVERS[kind]]
    log = tempfile.TemporaryFile()  # the server's output, shown if it never answers
    process = subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so that stop() ends its workers too
    )
    # Django's first request imports every URL module: seconds on a busy machine, so each
    # probe waits long, and any HTTP answer (a 503 from a failing check too) means it is up.
    deadline = time.monotonic() + 60
    last_error: Exception | None = None
    while time.monotonic() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=10)
            return process
        except urllib.error.HTTPError:
            return process
        except OSError as exc:
            last_error = exc
            time.sleep(0.2)
    stop(process)
    log.seek(0)
    output = log.read().decode(errors="replace")[-4000:]
    sys.exit(f"{kind} did not start (exit {process.returncode}, {last_error!r}):\n{output}")


def stop(*processes: subprocess.Popen) -> None:
    """End each server and every worker it forked: a worker left behind would take CPU from
    the benchmarks after it."""
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # a server's threads may wait out keep-alive clients
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def percentiles(values: list[float]) -> str:
    if str(ROOT) not in sys.path:  # run as a script: the project is not importable yet
        sys.path.insert(0, str(ROOT))
    from mysetlist.core.stats import percentile

    p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
    return f"p50 {p50:7.1f} ms   p99 {p99:7.1f} ms"
