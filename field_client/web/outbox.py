"""Outbox and sync: what waits to be sent, a sync against the enrolled server and its result,
refused changes (fix or discard) and changes the server holds."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from field_client import listing, names
from field_client import operations as ops
from field_client.web import sync_job
from field_client.web.db import get_store
from field_client.web.i18n import say
from field_client.web.security import require_envoy
from shared import protocol as p
from shared.errors import TianjianError

bp = Blueprint("outbox", __name__, url_prefix="/envoy/sync")
bp.before_request(require_envoy)

# A page waits for the sync; it should not wait for minutes of retries on a dead link.
PAGE_SYNC_OPTIONS = {"timeout": 30.0, "retries": 2}


def _fix_link(kind: str, record_id: str) -> str | None:
    """Where the envoy can edit the record a refused change was about, when it is still here."""
    record = get_store().record(kind, record_id)
    if record is None or record.get("deleted"):
        return None
    if kind == p.FARMER:
        return url_for("farmers.edit", farmer_id=record_id)
    if kind == p.SESSION:
        return url_for("sessions.edit", session_id=record_id)
    if kind == p.PLOT:
        return url_for("plots.plot", plot_id=record_id)
    if kind == p.ATTENDANCE:
        return url_for("envoy.session_page", session_id=record["session_id"])
    if kind in (p.LEAFLET_RECEIPT, p.LEAFLET_HANDOUT):
        return url_for("leaflets.correct", event_id=record_id)
    return None


def _page(outcome: ops.SyncOutcome | None = None, failure: str | None = None) -> str:
    store = get_store()
    state = listing.device_status(store)
    refused = [
        {
            "change": r,
            "fix": _fix_link(r.kind, r.id),
            "hint": ops.refusal_hint(r.kind, r.errors),
        }
        for r in state.rejected
    ]
    return render_template(
        "outbox/index.html",
        state=state,
        waiting=ops.outbox_summary(store),
        refused=refused,
        outcome=outcome,
        failure=failure,
    )


@bp.get("/")
def page() -> str:
    return _page()


@bp.post("/")
def run() -> str | tuple[str, int]:
    """Sync now; the page shows the figures, or why it could not reach the server."""
    store = get_store()
    if request.headers.get("HX-Request"):
        # In the background: the page polls /progress and shows the figures batch by batch.
        job = sync_job.start(current_app, store, PAGE_SYNC_OPTIONS)
        return render_template("outbox/_progress.html", job=job)
    try:
        outcome = ops.sync_device(store, **PAGE_SYNC_OPTIONS)
    except TianjianError as exc:
        return _page(failure=say(exc.message)), 502
    return _page(outcome=outcome)


@bp.get("/progress")
def progress() -> str:
    """The page's sync so far; once it ends, its figures or why it could not reach the server.

    Always 200: htmx swaps only 2xx answers, and the everyday case of no signal must show.
    """
    store = get_store()
    job = sync_job.current(current_app)
    if job is None:
        return ""
    if not job.done:
        return render_template("outbox/_progress.html", job=job)
    if job.outcome is None:
        return render_template(
            "outbox/_failure.html",
            failure=say(job.failure or ""),
            state=listing.device_status(store),
            waiting=ops.outbox_summary(store),
        )
    return render_template(
        "outbox/_result.html", outcome=job.outcome, waiting=ops.outbox_summary(store), oob=True
    )


@bp.post("/discard/<int:seq>")
def discard(seq: int) -> Response:
    """Drop a refused change from this device: it will never be sent."""
    ops.discard_refused(get_store(), seq)
    flash(_("The refused change was discarded."), "done")
    return redirect(url_for("outbox.page"))


@bp.app_template_filter("kind_name")
def kind_name(kind: str) -> str:
    """A record kind as people call it (农民, 培训场次 …) in Chinese; the code in English."""
    return kind if str(get_locale()) == "en" else names.KIND_NAMES_ZH.get(kind, kind)
