"""Notification links follow the port `make run` serves on, in every process it starts."""

import subprocess

import pytest

from tests.core.test_settings import ROOT, run_manage

SHOW_SITE_URL = "from django.conf import settings; print(settings.SITE_URL)"


def site_url(**env) -> str:
    """Load the local settings in a fresh process with this environment (SITE_URL empty
    unless given, so a developer's .env changes nothing); return SITE_URL."""
    result = run_manage(
        "shell", "--no-imports", "-c", SHOW_SITE_URL,
        env={"DJANGO_SETTINGS_MODULE": "mysetlist.settings.local", "SITE_URL": "", **env},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"WEB_PORT": "9000"}, "http://127.0.0.1:9000"),
        # honcho gives the worker a PORT of its own: the links still name the web's
        ({"WEB_PORT": "9000", "PORT": "9100"}, "http://127.0.0.1:9000"),
        (
            {"WEB_PORT": "9000", "SITE_URL": "https://mysetlist.example"},
            "https://mysetlist.example",
        ),
    ],
)
def test_the_local_site_url_follows_the_port_make_run_serves_on(env, expected):
    assert site_url(**env) == expected


def test_make_run_passes_its_port_on_to_every_process():
    result = subprocess.run(
        ["make", "-n", "run", "PORT=9000"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    [start] = [line for line in result.stdout.splitlines() if "honcho" in line]
    assert start.startswith("WEB_PORT=9000 ") and "-p 9000" in start


def test_make_runs_web_server_takes_makes_port_over_a_port_in_env(tmp_path):
    """honcho lets a .env's PORT override its -p: daphne listens on WEB_PORT, which make
    sets, so a PORT left in .env changes nothing."""
    (web,) = [
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    ]
    (tmp_path / "Procfile").write_text(web.replace(".venv/bin/daphne", "echo daphne") + "\n")
    (tmp_path / ".env").write_text("PORT=8000\n")

    result = subprocess.run(
        [ROOT / ".venv" / "bin" / "honcho", "-f", "Procfile", "-e", ".env", "start", "-p", "9000"],
        cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "WEB_PORT": "9000"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert "daphne -b 127.0.0.1 -p 9000 " in result.stdout, result.stdout + result.stderr
