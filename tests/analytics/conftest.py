from tests.analytics.factories import ingest_secret  # noqa: F401
