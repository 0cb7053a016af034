"""A Celery worker killed in the middle of a batch: the batch goes back to the queue, the
rerun sends only what was left, and no recipient gets two different messages."""

import email
import email.policy
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from mysetlist.celery import app
from notifications.models import Delivery
from notifications.services import notify
from tests.notifications.smtp import Inbox, smtp_serving
from tests.setlists.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
FANS = 30


def start_worker(smtp_port: int) -> subprocess.Popen:
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{connection.settings_dict['NAME']}"
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "tests.notifications.worker_settings",
        "DATABASE_URL": url,
        "WORKER_SMTP_PORT": str(smtp_port),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "mysetlist", "worker", "--pool", "prefork",
         "--concurrency", "1", "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "--loglevel", "WARNING",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env,
    )  # fmt: skip


def pool_children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def slow_smtp(settings):
    # Slow enough that the batch is still going when its worker is killed.
    with smtp_serving(Inbox(delay=0.1), settings) as inbox:
        yield inbox


def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing(slow_smtp, monkeypatch):
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    app.control.purge()
    fans = UserFactory.create_batch(FANS)
    # Committed, then dispatched through the broker: one batch of every delivery.
    notify(
        category="show_announced", user_ids=[f.pk for f in fans], key="show_announced:1",
        context={"artist": "The Band", "venue": "Chicago", "date": "May 1", "url": "/"},
    )  # fmt: skip
    worker = start_worker(settings.EMAIL_PORT)
    try:
        wait_for(lambda: len(slow_smtp.envelopes) >= 5, 60, "the first emails")
        (child,) = pool_children(worker.pid)
        os.kill(child, signal.SIGKILL)  # mid-batch: the pool process dies, its task with it
        sent_before_kill = len(slow_smtp.envelopes)
        assert sent_before_kill < FANS

        wait_for(
            lambda: not Delivery.objects.filter(status="queued").exists(), 90, "every delivery"
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)

    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent", "delivered"}
    by_recipient = defaultdict(set)
    for envelope in slow_smtp.envelopes:
        message = email.message_from_bytes(envelope.content, policy=email.policy.SMTP)
        by_recipient[envelope.rcpt_tos[0]].add(message["Message-ID"])
    assert sorted(by_recipient) == sorted(f.email for f in fans)  # nothing lost
    # A message handed over just as its worker died may arrive twice, with the same
    # Message-ID, which mail systems drop as a copy: never two different messages.
    assert all(len(ids) == 1 for ids in by_recipient.values())
    assert len(slow_smtp.envelopes) <= FANS + 1
