from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    health_checks = "monitoring.selectors.health_checks"  # for /api/health
    status_live = "monitoring.selectors.status_live"  # for /api/status

    def ready(self):
        from monitoring import figures, instrumentation, workers  # noqa: F401

        instrumentation.dead_processes_forget()
        workers.connect()
