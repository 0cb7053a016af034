"""`make run`'s settings (no REDIS_URL or DATABASE_URL: SQLite, the file-system broker, the
relayed in-memory channel layer) for processes a test starts, with the broker's folder in the
test's own directory (EMBEDDED_QUEUE_DIR); SQLITE_PATH and CHANNELS_RELAY_SOCKET place the
database and the relay's socket."""

import os
from pathlib import Path

from mysetlist.settings.local import *  # noqa: F403
from mysetlist.settings.local import CELERY_BROKER_TRANSPORT_OPTIONS

_queue = Path(os.environ["EMBEDDED_QUEUE_DIR"])
for _folder in ("processed", "control"):
    (_queue / _folder).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "data_folder_in": str(_queue),
    "data_folder_out": str(_queue),
    "processed_folder": str(_queue / "processed"),
    "control_folder": str(_queue / "control"),
}
