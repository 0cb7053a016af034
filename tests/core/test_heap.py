"""The servers' garbage collector: start-up's objects frozen, thresholds raised, in the
processes the entry points start; left alone where the setting says so."""

import gc
import os
import subprocess
import sys

import pytest
from django.conf import settings

from mysetlist.core.heap import heap_settle

PROBE = """
import gc, os, sys
import {module}
print("predictions.views" in sys.modules, gc.get_freeze_count(), *gc.get_threshold())
"""


@pytest.mark.slow
@pytest.mark.parametrize("module", ["mysetlist.wsgi", "mysetlist.asgi"])
def test_an_entry_point_freezes_start_up_and_raises_the_thresholds(module):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mysetlist.settings.local"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    loaded, *numbers = done.stdout.split()[-5:]
    frozen, *thresholds = (int(part) for part in numbers)
    # The URL modules were imported before the freeze (no entry point imports views).
    assert loaded == "True"
    # Django, the project and every URL module: tens of thousands of objects, never walked.
    assert frozen > 50_000
    assert tuple(thresholds) == (20_000, 20, 10)


def test_none_leaves_the_collector_alone(settings):
    settings.SERVER_GC_THRESHOLDS = None
    before = gc.get_threshold(), gc.get_freeze_count()
    assert heap_settle() is False
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_settling_freezes_and_sets_the_thresholds(settings):
    settings.SERVER_GC_THRESHOLDS = (5_000, 15, 12)
    before = gc.get_threshold()
    try:
        assert heap_settle() is True
        assert gc.get_threshold() == (5_000, 15, 12)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
