from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    health_checks = "monitoring.selectors.health_checks"  # for /api/health
    status_live = "monitoring.selectors.status_live"  # for /api/status

    def ready(self):
        from monitoring import figures, instrumentation, live, workers  # noqa: F401
        from mysetlist.core import tiered_cache

        # The tiered cache's hits and misses, summed over every process for the figures.
        tiered_cache.counts_sink_set(live.counts_add)

        instrumentation.dead_processes_forget()
        workers.connect()
