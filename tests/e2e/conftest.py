import os
import shutil
import tempfile
import weakref
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
from asgiref.sync import SyncToAsync
from channels.testing.live import make_application
from daphne.testing import DaphneProcess
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.db import connections

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def web_tracker_key(transactional_db):
    """The site's public tracker key. Request it before live_daphne: the forked server copies
    this process's memory, a per-process cache included, when it starts."""
    from django.core.cache import cache

    from analytics.selectors import WEB_TRACKER_CACHE_KEY
    from analytics.services import ingest_key_create

    yield ingest_key_create(name="web", is_public=True)[1]
    # The flush after the test drops the key; its cached answer must go with it.
    cache.delete(WEB_TRACKER_CACHE_KEY)


def _fresh_executors_in_child() -> None:
    """An in-process websocket test before this one left asgiref's one thread for sync code
    running in this process; a forked server inherits the executor but not its thread, and
    every database call of its consumers would wait on it for ever."""
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    SyncToAsync.context_to_thread_executor = weakref.WeakKeyDictionary()


os.register_at_fork(after_in_child=_fresh_executors_in_child)


@pytest.fixture
def live_daphne(transactional_db):
    """Serve the whole ASGI application (HTTP and websockets) with daphne in another process.

    The forked server inherits settings that already name the test database; connections
    are closed first so that it never shares a socket with this process.
    """
    connections.close_all()
    process = DaphneProcess(
        "127.0.0.1", partial(make_application, static_wrapper=ASGIStaticFilesHandler)
    )
    process.start()
    if not process.ready.wait(timeout=30):
        process.terminate()
        pytest.fail("daphne did not start")
    yield f"http://127.0.0.1:{process.port.value}"
    process.terminate()
    process.join(timeout=10)


@pytest.fixture
def browser():
    """Return a factory of headless Chromium windows driven by the system's chromedriver."""
    if not (CHROMIUM and CHROMEDRIVER):
        reason = (
            "no Chromium/chromedriver on this machine (apt-get install chromium chromium-driver)"
        )
        if os.environ.get("MYSETLIST_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers, profiles = [], []

    def open_window(user_agent: str | None = None):
        profile = tempfile.mkdtemp(prefix="mysetlist-chromium-")
        profiles.append(profile)
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            f"--user-data-dir={profile}",
        ):
            options.add_argument(flag)
        if user_agent:
            options.add_argument(f"--user-agent={user_agent}")
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        drivers.append(driver)
        return driver

    yield open_window
    for driver in drivers:
        driver.quit()
    for profile in profiles:
        shutil.rmtree(profile, ignore_errors=True)
