"""Notifications per minute, from a trigger until every delivery is recorded, beside floors.

Announces a show to BENCH_FOLLOWERS followers (100,000 by default) on PostgreSQL + Redis and
delivers each by email (anymail's test backend) and in-app (channels-redis), with one real
Celery worker: a `celery -A mysetlist worker` subprocess, prefork with BENCH_CONCURRENCY (2)
children, on Redis as broker. The fan-out runs in this process through `notify()`, which
hands work to the worker on its first chunk and every second while it runs. Beat does not
run: this process sends `notifications.deliveries_dispatch` every 5 s as beat would (its
first 5 s after the trigger, with beat's 8 s expiry). Prints, from one run:
- notifications/minute end to end: from the trigger until no delivery is left queued and
  every one is SENT or DELIVERED, polled every 0.1 s;
- the breakdown: the fan-out's time, each channel's first and last recorded delivery and
  rate, latency, the analytics events written, and CPU seconds by process (PostgreSQL's
  counts every postgres process on the machine);
- two floors from the same run: PostgreSQL COPYing the same notification and delivery rows
  into tables with the real ones' columns and indexes (storing the fan-out, no Python, no
  sending), and this process rendering and sending emails to the test backend in a loop
  with no database (the email channel's own Python). The pipeline does both and more:
  plans each user's deliveries, leases, loads, records each outcome with its analytics
  event, and sends in-app too.

The users and follows are made once in `<database>_bench_notify` and kept; the notification
and analytics tables are emptied at each run, after a warm-up of 500. The broker is Redis
database BENCH_REDIS_DB (15), so no other worker on the machine takes these tasks, and an
advisory lock keeps two runs from sharing the database.

    make bench-notify        # BENCH_FOLLOWERS=100000 BENCH_CONCURRENCY=2 by default
"""

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from common import ROOT, bench_database_url, redis_database_url, setup_django

HERE = Path(__file__).resolve().parent

FOLLOWERS = int(os.environ.get("BENCH_FOLLOWERS", "100000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "2"))
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "15"))
FLOOR_EMAILS = int(os.environ.get("BENCH_FLOOR_EMAILS", "20000"))
BEAT_EVERY = 5.0  # seconds, as mysetlist/schedules.py runs the dispatch
BEAT_EXPIRES = 8
RUN_LOCK = 7_160_405  # a PostgreSQL advisory lock: one run at a time on the bench database
EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
TIMEZONES = ["UTC", "Europe/Berlin", "America/Chicago", "Asia/Tokyo", "America/Sao_Paulo"]
ENV = {
    "DJANGO_SETTINGS_MODULE": "mysetlist.settings.local",
    "DJANGO_DEBUG": "false",  # DEBUG keeps every query in memory
    "EMAIL_PROVIDER": "test",  # anymail's test backend
    "LOG_LEVEL": "WARNING",
}


def trigger(show, follower_ids: list[int]) -> None:
    """The trigger: announce `show` to its artist's followers. To time the trigger table's
    path instead, record the trigger and hand its fan-out to the worker here, e.g.
    `trigger_fanout.delay(Trigger.objects.create(key=..., category=..., show=show).pk)`:
    the fan-out time printed is then the hand-over."""
    from notifications.services import notify

    notify(
        category="show_announced",
        user_ids=follower_ids,
        key=f"show_announced:{show.pk}",
        context={
            "artist": show.artist.name,
            "show": str(show),
            "venue": str(show.venue) if show.venue_id else "a venue to be announced",
            "date": f"{show.date:%B} {show.date.day}, {show.date.year}",
            "show_id": show.pk,
            "url": f"/shows/{show.pk}/",
        },
    )


def outbox_keep_one() -> None:
    """In the worker: anymail's test backend keeps every message it is given and finds each
    one's id by a scan of them all, a cost that grows with the run; a provider's backend
    keeps nothing. Here it keeps the last message only."""
    from anymail.backends.test import EmailBackend
    from django.core import mail

    post = EmailBackend.post_to_esp

    def post_to_esp(self, payload, message):
        mail.outbox.clear()
        return post(self, payload, message)

    EmailBackend.post_to_esp = post_to_esp


if os.environ.get("BENCH_NOTIFY_WORKER") == "1":  # imported by the worker (celery -I)
    outbox_keep_one()


def followers_ensure(count: int):
    """Return the bench artist with `count` followers, made on the first run only."""
    from django.db import connection

    from mysetlist.setlists.models import Artist, Follow

    artist, _ = Artist.objects.get_or_create(
        slug="bench-notify", defaults={"name": "The Bench Notifiers"}
    )
    if Follow.objects.filter(artist=artist).count() >= count:
        return artist
    started = time.perf_counter()
    zones = "ARRAY[" + ", ".join(f"'{zone}'" for zone in TIMEZONES) + "]"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO users_user (password, is_superuser, username, first_name, last_name,"
            " is_staff, is_active, date_joined, email, timezone)"
            " SELECT '!', false, 'fan' || n, '', '', false, true, now(),"
            f" 'fan' || n || '@bench.example', ({zones})[1 + mod(n, {len(TIMEZONES)})]"
            " FROM generate_series(1, %s) AS n ON CONFLICT DO NOTHING",
            [count],
        )
        cursor.execute(
            "INSERT INTO setlists_follow (created_at, artist_id, user_id)"
            " SELECT now(), %s, id FROM users_user WHERE username LIKE 'fan%%' AND email LIKE"
            " '%%@bench.example' ORDER BY id LIMIT %s ON CONFLICT DO NOTHING",
            [artist.pk, count],
        )
        cursor.execute("ANALYZE users_user; ANALYZE setlists_follow")
    print(f"made {count} followers in {time.perf_counter() - started:.1f} s (kept for later runs)")
    return artist


def tables_reset() -> None:
    """Empty what a run writes: notifications, deliveries, triggers and analytics events."""
    import datetime

    from django.db import connection

    from analytics.lifecycle.partitions import event_partitions_ensure

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE notifications_delivery, notifications_notification, notifications_trigger,"
            " analytics_event, analytics_eventmessagekey, analytics_rollupdirty"
        )
    event_partitions_ensure(today=datetime.date.today(), months_ahead=1)


def show_create(artist):
    """A new show of the artist, saved directly: no trigger is recorded, as `trigger()`
    above is the trigger."""
    from mysetlist.setlists.models import Show

    return Show.objects.create(artist=artist, date=dt.date.today() + dt.timedelta(days=90))


def worker_start() -> subprocess.Popen:
    """Start one Celery worker on the bench database and broker; wait until it answers."""
    from mysetlist.celery import app

    # -I imports this file in the worker too, for outbox_keep_one().
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "mysetlist", "worker", "--pool=prefork",
         f"--concurrency={CONCURRENCY}", "--loglevel=WARNING", "--without-gossip",
         "--without-mingle", "-n", f"bench-notify-{os.getpid()}@%h", "-I", "bench_notify"],
        cwd=ROOT,
        env={**os.environ, **ENV, "BENCH_NOTIFY_WORKER": "1", "PYTHONPATH": str(HERE)},
    )  # fmt: skip
    for _ in range(100):
        if app.control.ping(timeout=0.5):
            return process
        if process.poll() is not None:
            break
    process.kill()
    sys.exit("the Celery worker did not start")


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by the worker (its main process and pool), PostgreSQL (every
    postgres process on the machine), Redis and this process, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    used = dict.fromkeys(("worker", "postgres", "redis", "bench"), 0.0)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                head, tail = stat.read().rsplit(")", 1)
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except OSError:
            continue
        name, fields = head.split("(", 1)[1], tail.split()
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if name == "postgres":  # and the backends that have exited, reaped by the postmaster
            seconds += (int(fields[13]) + int(fields[14])) / tick
        if int(entry) == os.getpid():
            used["bench"] += seconds
        elif b"bench-notify-" in command:
            used["worker"] += seconds
        elif name == "postgres":
            used["postgres"] += seconds
        elif name.startswith("redis-server"):
            used["redis"] += seconds
    return used


def beat(stop: threading.Event) -> int:
    """Send the dispatch task every BEAT_EVERY seconds, as beat would; return how often."""
    from notifications.tasks import deliveries_dispatch

    sent = 0
    while not stop.wait(BEAT_EVERY):
        deliveries_dispatch.apply_async(expires=BEAT_EXPIRES)
        sent += 1
    return sent


def wait_delivered(expected: int, timeout: float) -> float:
    """Poll until no delivery is queued and `expected` are SENT or DELIVERED; return the
    perf_counter time it was seen."""
    from django.db import connection

    deadline = time.perf_counter() + timeout
    with connection.cursor() as cursor:
        while time.perf_counter() < deadline:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM notifications_delivery WHERE status = 'queued')"
            )
            if not cursor.fetchone()[0]:
                seen = time.perf_counter()
                cursor.execute(
                    "SELECT count(*) FROM notifications_delivery"
                    " WHERE status IN ('sent', 'delivered')"
                )
                if cursor.fetchone()[0] >= expected:
                    return seen
            time.sleep(0.1)
    sys.exit(f"not every delivery was recorded within {timeout:.0f} s")


def run_once(artist, follower_ids: list[int]) -> dict:
    """Trigger, drive dispatch as beat would, wait for the last delivery; return figures."""
    from django.utils import timezone

    show = show_create(artist)
    _drop_trigger_side_effects()
    stop = threading.Event()
    ticker = threading.Thread(target=beat, args=(stop,), daemon=True)
    cpu_before = cpu_seconds()
    started_at = timezone.now()
    started = time.perf_counter()
    ticker.start()
    trigger(show, follower_ids)
    fanned_out = time.perf_counter()
    made = len(follower_ids)  # every follower is new to this show, and has no preferences
    done = wait_delivered(2 * made, timeout=600)
    stop.set()
    ticker.join()
    return {
        "made": made,
        "started_at": started_at,
        "fanout": fanned_out - started,
        "total": done - started,
        "cpu": {k: v - cpu_before[k] for k, v in cpu_seconds().items()},
    }


def _drop_trigger_side_effects() -> None:
    """Drop the triggers a new show recorded and the fan-outs they enqueued."""
    from mysetlist.celery import app
    from notifications.models import Trigger

    Trigger.objects.all().delete()
    app.control.purge()


def breakdown(started_at) -> dict:
    """Per channel: how many, when the first and last were recorded, latency; analytics."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT channel, status, count(*), min(coalesce(delivered_at, sent_at)),"
            " max(coalesce(delivered_at, sent_at)),"
            " percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms),"
            " percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms),"
            " avg(render_ms), count(DISTINCT provider_message_id)"
            " FROM notifications_delivery GROUP BY channel, status ORDER BY channel"
        )
        channels = cursor.fetchall()
        cursor.execute(
            "SELECT event, count(*) FROM analytics_event"
            " WHERE event IN ('notification_sent', 'notification_delivered') GROUP BY event"
        )
        events = dict(cursor.fetchall())
    return {"channels": channels, "events": events}


def floor_copy(made: int, follower_ids: list[int]) -> float:
    """COPY `made` notifications and two deliveries each into scratch tables with the real
    tables' columns, defaults and indexes, in one transaction; return the seconds."""
    import orjson
    from django.db import connection, transaction
    from django.utils import timezone

    now = timezone.now()
    context = orjson.dumps({"artist": "The Bench Notifiers", "show": "x", "url": "y"}).decode()
    with transaction.atomic(), connection.cursor() as cursor:
        for table in ("notification", "delivery"):
            cursor.execute(f"DROP TABLE IF EXISTS bench_{table}")
            cursor.execute(f"CREATE TABLE bench_{table} (LIKE notifications_{table} INCLUDING ALL)")
        started = time.perf_counter()
        with cursor.copy(
            "COPY bench_notification (id, user_id, category, key, context, urgent, created_at)"
            " FROM STDIN"
        ) as copy:
            for n, user_id in enumerate(follower_ids[:made], 1):
                copy.write_row((n, user_id, "show_announced", f"floor:{user_id}", context,
                                False, now))  # fmt: skip
        with cursor.copy(
            "COPY bench_delivery (notification_id, channel, status, not_before, attempts,"
            " created_at, provider, provider_message_id, response) FROM STDIN"
        ) as copy:
            for n in range(1, made + 1):
                for channel in ("email", "in_app"):
                    copy.write_row((n, channel, "queued", now, 0, now, "", "", ""))
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_notification, bench_delivery")
    return seconds


def floor_render_send(count: int) -> float:
    """Render `count` announcement emails and send them to the test backend over one
    connection, with no database; return the seconds."""
    from django.core import mail

    from notifications.content.rendering import render

    context = {"artist": "The Bench Notifiers", "show": "Somewhere, 2099-01-01",
               "url": "http://localhost:8000/shows/1/",
               "preferences_url": "http://localhost:8000/notifications/preferences/"}  # fmt: skip
    connection = mail.get_connection(EMAIL_BACKEND)
    started = time.perf_counter()
    connection.open()
    for n in range(count):
        links = {"unsubscribe_url": f"http://localhost:8000/notifications/unsubscribe/{n}/"}
        words = render("show_announced", context | links | {"user": f"fan{n}"}, None)
        message = mail.EmailMultiAlternatives(
            subject=words.subject, body=words.text, to=[f"fan{n}@bench.example"],
            connection=connection,
            headers={"List-Unsubscribe": f"<{links['unsubscribe_url']}>",
                     "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        )  # fmt: skip
        message.attach_alternative(words.html, "text/html")
        message.send()
        mail.outbox.clear()  # the test backend keeps every message; a provider would not
    connection.close()
    return time.perf_counter() - started


def per_minute(count: int, seconds: float) -> str:
    return f"{count / seconds * 60:12,.0f} /min"


def report(figures: dict, details: dict, copy_seconds: float, render_seconds: float) -> None:
    made, total = figures["made"], figures["total"]
    started_at = figures["started_at"]
    print(
        f"\nbench-notify on {os.cpu_count()} cores: {made:,} notifications of one show"
        f" announcement, email + in-app; one Celery worker (prefork, {CONCURRENCY} children);"
        " dispatch every 5 s as beat would, and by notify() while it fans out"
    )
    print(f"  end to end, trigger to last recorded      {per_minute(made, total)}"
          f"   ({total:.1f} s)")  # fmt: skip
    print(f"  floor: PostgreSQL COPY of the same rows   {per_minute(made, copy_seconds)}"
          f"   ({copy_seconds:.1f} s for {made:,} + {2 * made:,} rows)")  # fmt: skip
    print(f"  floor: render + send emails, no database  {per_minute(FLOOR_EMAILS, render_seconds)}"
          f"   ({render_seconds:.1f} s for {FLOOR_EMAILS:,} emails)")  # fmt: skip
    print("breakdown")
    print(f"  fan-out (notify() here, beside delivery)  {figures['fanout']:6.1f} s")
    for channel, status, count, first, last, p50, p99, _render_ms, _ids in details["channels"]:
        span = (last - first).total_seconds()
        first_at = (first - started_at).total_seconds()
        print(
            f"  {channel:7} {status:9} {count:8,}   first at {first_at:5.1f} s,"
            f" last at {(last - started_at).total_seconds():5.1f} s,"
            f" {count / max(span, 1e-3) * 60:10,.0f} /min while sending,"
            f" latency p50 {p50 / 1000:5.1f} s p99 {p99 / 1000:5.1f} s"
        )
    events = details["events"]
    print(f"  analytics events: {events}")
    cpu = figures["cpu"]
    print(
        "  CPU seconds: "
        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items())
        + f" of {total * (os.cpu_count() or 1):.0f} in the run;"
        f" {sum(cpu.values()) / made * 1e6:.0f} us a notification in all"
    )


def main():
    db_url = bench_database_url("_bench_notify")
    os.environ.update(ENV)
    os.environ["REDIS_URL"] = redis_database_url(REDIS_DB)
    setup_django(db_url)
    from django.db import connection

    from mysetlist.setlists.models import Follow

    with connection.cursor() as cursor:  # two runs at once would empty each other's tables
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [RUN_LOCK])
        if not cursor.fetchone()[0]:
            print("another bench-notify is running; waiting for it to finish")
            cursor.execute("SELECT pg_advisory_lock(%s)", [RUN_LOCK])

    artist = followers_ensure(FOLLOWERS)
    follower_ids = list(
        Follow.objects.filter(artist=artist).order_by("user_id").values_list("user_id", flat=True)
    )[:FOLLOWERS]
    tables_reset()
    _drop_trigger_side_effects()
    worker = worker_start()
    try:
        # Warm up: every child of the worker imports and connects before the clock runs.
        warm = run_once(artist, follower_ids[:500])
        assert warm["made"] == 500
        tables_reset()
        figures = run_once(artist, follower_ids)
        details = breakdown(figures["started_at"])
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    copy_seconds = floor_copy(figures["made"], follower_ids)
    render_seconds = floor_render_send(FLOOR_EMAILS)
    report(figures, details, copy_seconds, render_seconds)


if __name__ == "__main__":
    main()
