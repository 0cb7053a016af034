"""The app-boundary contract, run by lint-imports on small packages made for the test."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

PACKAGES = {
    "stock/__init__.py": "",
    "stock/models.py": "",
    "stock/services.py": "",
    "stock/urls.py": "",
    "stock/engine/__init__.py": "",
    "stock/engine/counting.py": "",
    "shop/__init__.py": "",
    "shop/views.py": "from stock import services\nfrom stock.engine import counting\n",
    "shop/tasks.py": "def run():\n    from stock.models import X\n",
    "shop/urls.py": "import stock.urls\n",
    "shop/users.py": "from stock.models import Y\n",
}


def lint(tmp_path, contract: str) -> subprocess.CompletedProcess:
    for name, text in PACKAGES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / ".importlinter").write_text(
        "[importlinter]\nroot_packages =\n    stock\n    shop\n"
        "contract_types =\n    app_boundaries: tests.boundaries.AppBoundaryContract\n"
        "[importlinter:contract:boundaries]\nname = boundaries\ntype = app_boundaries\n"
        "apps =\n    stock\n    shop\nfront_doors =\n    services\n    selectors\n" + contract
    )
    return subprocess.run(
        [LINT_IMPORTS, "--config", ".importlinter", "--no-cache"],
        cwd=tmp_path,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def broken(result: subprocess.CompletedProcess) -> list[str]:
    return sorted(line.split(" (l.")[0] for line in result.stdout.splitlines() if " -> " in line)


def test_app_boundaries_report_every_reach_past_the_front_doors(tmp_path):
    result = lint(tmp_path, "")

    assert result.returncode == 1, result.stdout + result.stderr
    assert broken(result) == [
        "shop.tasks -> stock.models",  # an import inside a function counts too
        "shop.urls -> stock.urls",
        "shop.users -> stock.models",
        "shop.views -> stock.engine.counting",
    ]


def test_app_boundaries_let_wiring_mount_urls_and_shared_modules_through(tmp_path):
    result = lint(
        tmp_path, "wiring =\n    shop.urls\nwiring_doors =\n    urls\nshared =\n    stock.models\n"
    )

    assert broken(result) == ["shop.views -> stock.engine.counting"]


def test_app_boundaries_keep_imports_through_the_front_doors(tmp_path):
    shared = ["stock.models", "stock.urls", "stock.engine.counting"]
    result = lint(tmp_path, "shared =\n" + "".join(f"    {name}\n" for name in shared))

    assert result.returncode == 0, result.stdout + result.stderr
    assert broken(result) == []
