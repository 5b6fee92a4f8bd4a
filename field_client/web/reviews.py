"""The bureau's reviews on the envoy's pages: a notice of records returned or questioned, and a
page listing each with the staff note and where to correct it."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask_babel import get_locale

from field_client import reviews
from field_client.reviews import ReviewedRecord
from field_client.web.db import get_store
from field_client.web.security import require_envoy
from shared import protocol as p
from shared import review_status as rs

bp = Blueprint("reviews", __name__, url_prefix="/envoy/reviews")
bp.before_request(require_envoy)


@bp.get("/")
def page() -> str:
    listed = [(r, _fix_link(r)) for r in reviews.under_review(get_store())]
    return render_template("reviews/index.html", listed=listed)


def _fix_link(review: ReviewedRecord) -> str | None:
    """Where the envoy corrects the record: its edit page, or for an event (never edited) the
    correction of it; for a check-in its session, for an observation its plot."""
    if not review.present:
        return None
    kind, record_id = review.kind, review.record_id
    if kind == p.SESSION:
        return url_for("sessions.edit", session_id=record_id)
    if kind == p.FARMER:
        return url_for("farmers.edit", farmer_id=record_id, next=url_for("reviews.page"))
    if kind == p.PLOT:
        return url_for("plots.edit", plot_id=record_id)
    if kind in (p.LEAFLET_RECEIPT, p.LEAFLET_HANDOUT):
        return url_for("leaflets.correct", event_id=record_id)
    if kind == p.ATTENDANCE and review.parent_id:
        return url_for("envoy.session_page", session_id=review.parent_id)
    if kind == p.PLOT_OBSERVATION and review.parent_id:
        return url_for("plots.plot", plot_id=review.parent_id)
    return None


@bp.app_template_global()
def review_counts() -> dict[str, int]:
    """Records of this envoy per review status, for the notice on the home and progress pages."""
    return reviews.counts(get_store())


@bp.app_template_filter("review_status")
def review_status(status: str) -> str:
    """A review status as the bureau names it: 退回 in Chinese, returned in English."""
    chinese, english = rs.LABELS.get(status, (status, status))
    return english if str(get_locale()) == "en" else chinese


@bp.app_template_global()
def record_review(kind: str, record_id: str) -> dict[str, str] | None:
    """The pulled review of one record, shown above its edit page."""
    return reviews.review_of(get_store(), kind, record_id)
