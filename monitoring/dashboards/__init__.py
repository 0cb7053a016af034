"""Stored dashboards: Dashboard and its Widgets (models), the queries a widget may ask
(queries), the pure drawing of their answers (results, charts), and the job that computes
them once a minute and broadcasts them to open pages (services)."""
