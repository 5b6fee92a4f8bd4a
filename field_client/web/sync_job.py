"""A sync started from the page, run in the background so the page can show it batch by batch."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from flask import Flask

from field_client import operations as ops
from field_client.store import FieldStore
from field_client.sync import SyncReport
from shared.errors import TianjianError

_KEY = "tianjian_sync_job"


@dataclass
class SyncJob:
    """One sync's progress as the page polls it: figures so far, then its outcome or failure."""

    to_send: int
    sent: int = 0
    received: int = 0
    batches: int = 0
    photo_bytes: int = 0
    outcome: ops.SyncOutcome | None = None
    failure: str | None = None
    done: bool = False

    def note(self, report: SyncReport) -> None:
        self.sent, self.received, self.batches = report.pushed, report.pulled, report.requests
        self.photo_bytes = report.photo_bytes_sent


def _run(job: SyncJob, store_path: str, options: dict[str, Any]) -> None:
    store = FieldStore(store_path)
    try:
        job.outcome = ops.sync_device(store, progress=job.note, **options)
    except TianjianError as exc:
        job.failure = exc.message
    except Exception as exc:  # noqa: BLE001 - the page must hear of it, not wait for ever
        job.failure = f"同步出错 / sync failed: {type(exc).__name__}"
    finally:
        store.close()
        job.done = True


def start(app: Flask, store: FieldStore, options: dict[str, Any]) -> SyncJob:
    """The sync under way, or a new one: one at a time per device, however often it is asked."""
    lock = app.extensions.setdefault(_KEY + "_lock", threading.Lock())
    with lock:
        job: SyncJob | None = app.extensions.get(_KEY)
        if job is not None and not job.done:
            return job
        job = SyncJob(to_send=store.counts().get("pending", 0))
        app.extensions[_KEY] = job
        threading.Thread(
            target=_run, args=(job, app.config["STORE_PATH"], options), daemon=True
        ).start()
        return job


def current(app: Flask) -> SyncJob | None:
    """The latest sync started from the page, running or finished; None when none was."""
    job: SyncJob | None = app.extensions.get(_KEY)
    return job
