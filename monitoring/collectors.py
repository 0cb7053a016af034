"""What /api/metrics adds at scrape time to the processes' own samples: every live figure
over the last five minutes (across all processes, from the shared store and the apps'
selectors), each queue's depth, and deliveries by provider, channel and status."""

from __future__ import annotations

import datetime as dt
import logging

from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

SPAN = dt.timedelta(minutes=5)


class LiveFiguresCollector:
    def collect(self):
        from monitoring import figures
        from monitoring.workers import queue_depths

        end = dt.datetime.now(dt.UTC)
        start = end - SPAN
        for figure in figures.LIVE_FIGURES:
            try:
                found = figure.read(start, end)
            except Exception:  # one figure's failure must not cost the scrape the rest
                logger.warning("figure %s not read", figure.key, exc_info=True)
                continue
            if found is None:
                continue
            yield GaugeMetricFamily(
                f"mysetlist_live_{figure.key}",
                f"{figure.name} ({figure.unit}), over the last 5 minutes, every process.",
                value=float(found),
            )
        try:
            depths = queue_depths()
        except Exception:
            logger.warning("queue depths not read", exc_info=True)
            depths = None
        if depths is not None:
            family = GaugeMetricFamily(
                "mysetlist_celery_queue_depth", "Messages waiting in each Celery queue.",
                labels=["queue"],
            )  # fmt: skip
            for queue, depth in depths.items():
                family.add_metric([queue], depth)
            yield family
        try:
            deliveries = figures._deliveries(start, end)
        except Exception:
            logger.warning("deliveries not read", exc_info=True)
            deliveries = None
        if deliveries:
            family = GaugeMetricFamily(
                "mysetlist_notification_deliveries_5m",
                "Notification deliveries of the last 5 minutes by provider, channel, status.",
                labels=["provider", "channel", "status"],
            )
            for (provider, channel, status), count in sorted(deliveries.items()):
                family.add_metric([provider or "none", channel, status], count)
            yield family
