import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "mysetlist.settings.production",
    "DJANGO_SECRET_KEY": "x" * 64 + "-a-long-random-production-secret",
    "DJANGO_ALLOWED_HOSTS": "mysetlist.example",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "EMAIL_PROVIDER": "amazon_ses",
    "AMAZON_SES_REGION": "eu-west-1",
    "ANYMAIL_WEBHOOK_SECRET": "webhook:a-long-random-webhook-password",
}


def test_production_settings_pass_the_deploy_check():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECRET_KEY"}

    result = run_manage("check", env=env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_to_print_emails():
    env = {k: v for k, v in PRODUCTION.items() if k != "EMAIL_PROVIDER"}

    result = run_manage("check", env=env)

    assert result.returncode != 0
    assert "EMAIL_PROVIDER" in result.stderr


def test_server_entry_points_import_in_a_fresh_interpreter():
    # As granian and daphne load them: nothing set up beforehand.
    for module in ("mysetlist.wsgi", "mysetlist.asgi"):
        result = subprocess.run(
            [sys.executable, "-c", f"import {module}"],
            cwd=ROOT,
            env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "mysetlist.settings.test"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr


def database_options(**env) -> subprocess.CompletedProcess:
    """Load the settings in a fresh process with this environment (the defaults given
    explicitly, so a developer's .env changes nothing); print the database OPTIONS."""
    code = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"
    return run_manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        env={
            "DJANGO_SETTINGS_MODULE": "mysetlist.settings.local",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
            "DATABASE_CONN_MAX_AGE": "0",
            "DATABASE_JIT_OFF": "true",
            "DATABASE_IDLE_SESSION_TIMEOUT": "",
            "DATABASE_STARTUP_OPTIONS": "true",
            **env,
        },
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "-c jit=off"),  # a connection per request: no timeout needed
        ({"DATABASE_CONN_MAX_AGE": "60"}, "-c jit=off -c idle_session_timeout=120s"),
        (
            {"DATABASE_CONN_MAX_AGE": "60", "DATABASE_IDLE_SESSION_TIMEOUT": "90"},
            "-c jit=off -c idle_session_timeout=90s",
        ),
        ({"DATABASE_CONN_MAX_AGE": "60", "DATABASE_IDLE_SESSION_TIMEOUT": "0"}, "-c jit=off"),
        # Behind PgBouncer: no startup options at all.
        ({"DATABASE_CONN_MAX_AGE": "60", "DATABASE_STARTUP_OPTIONS": "false"}, None),
    ],
)
def test_kept_connections_are_closed_by_the_server_after_twice_their_age(env, expected):
    result = database_options(**env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str({"options": expected} if expected else {})


def test_an_idle_timeout_no_longer_than_the_connection_age_is_refused():
    # Django would hand a request a connection the server had already closed.
    result = database_options(DATABASE_CONN_MAX_AGE="60", DATABASE_IDLE_SESSION_TIMEOUT="60")

    assert result.returncode != 0
    assert "DATABASE_IDLE_SESSION_TIMEOUT (60) must be more than" in result.stderr


@pytest.mark.postgres
@pytest.mark.django_db
def test_database_sessions_run_without_jit():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_the_rollup_passes_have_queues_that_every_documented_worker_line_serves():
    """Ingestion lag waits on the live pass, and the exact passes take a core each while
    they run: production routes each to a queue of its own, and both the README's
    production workers and `make run`'s worker consume them."""
    route = "print(app.amqp.router.route({{}}, 'analytics.{}')['queue'].name);"
    tasks = ("rollups_live", "rollups_process_minute", "rollups_process_hour",
             "rollups_process_day", "erasure_process")  # fmt: skip
    result = run_manage(
        "shell", "-v", "0", "-c",
        "from mysetlist.celery import app;" + "".join(route.format(t) for t in tasks),
        env=PRODUCTION,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["live", "rollups", "rollups", "rollups", "celery"]
    assert "--queues=celery,live,rollups" in (ROOT / "Procfile").read_text()
    readme = (ROOT / "README.md").read_text()
    for queue in ("celery", "live", "rollups"):
        assert f"worker --queues={queue} " in readme


def test_a_boolean_left_empty_in_env_takes_its_default():
    """.env.example leaves DJANGO_DEBUG and PUSH_ALLOW_LOCAL_ENDPOINTS empty; a copy of it must
    not turn off what make run needs (empty read as false had DEBUG off)."""
    show = "from django.conf import settings as s; print(s.DEBUG, s.PUSH_ALLOW_LOCAL_ENDPOINTS)"
    empty = {"DJANGO_SETTINGS_MODULE": "mysetlist.settings.local", "DJANGO_DEBUG": "",
             "PUSH_ALLOW_LOCAL_ENDPOINTS": ""}  # fmt: skip
    off = {**empty, "DJANGO_DEBUG": "false", "PUSH_ALLOW_LOCAL_ENDPOINTS": "0"}

    assert run_manage("shell", "--no-imports", "-c", show, env=empty).stdout.split() == [
        "True",
        "True",
    ]
    assert run_manage("shell", "--no-imports", "-c", show, env=off).stdout.split() == [
        "False",
        "False",
    ]
