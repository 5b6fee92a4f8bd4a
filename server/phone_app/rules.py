"""The rules the phone app counts and checks by, served as data from shared/ so they have one home.

The app's leaflets, plots, photos and progress screens read `/app/rules.json` (cached by the
service worker and kept in IndexedDB for offline starts): the indicators with their labels and
which session kinds they count, how "met" is judged, the labels of the coded choices and the
photo reduction's sizes. What cannot be data (the counting itself) is
mirrored in static/js/progress.js, and tests/e2e/test_phone_app_more_progress.py proves the
two agree with field_client/progress.py on the same records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, jsonify

from shared import photos
from shared.choices import PHOTO_KINDS, PLOT_STAGES, SESSION_KINDS, Words
from shared.indicators import AUDIENCE_KINDS, COMPARATORS, INDICATORS, SESSION_KIND_INDICATORS
from shared.schemas.field import PHOTO_KINDS_OF_SUBJECT

bp = Blueprint("phone_app_rules", __name__)
# A change of rules reaches a phone at its next start with signal; an hour's cache is enough.
MAX_AGE_S = 3600


def _words(choices: Mapping[str, Words]) -> list[dict[str, str]]:
    return [{"code": code, "zh": w.zh, "en": w.en} for code, w in choices.items()]


def rules() -> dict[str, Any]:
    """Everything the app's screens take from shared/, as plain JSON."""
    return {
        "indicators": [
            {
                "key": i.key,
                "zh": i.label_zh,
                "en": i.label_en,
                "unit_zh": i.unit_zh,
                "whole": i.whole,
            }
            for i in INDICATORS
        ],
        "audience_kinds": list(AUDIENCE_KINDS),
        "session_kind_indicators": dict(SESSION_KIND_INDICATORS),
        "comparators": list(COMPARATORS),
        "choices": {
            "session_kind": _words(SESSION_KINDS),
            "plot_stage": _words(PLOT_STAGES),
            "photo_kind": _words(PHOTO_KINDS),
        },
        "photo_kinds_of_subject": {k: list(v) for k, v in PHOTO_KINDS_OF_SUBJECT.items()},
        "photos": {
            "max_photo_bytes": photos.MAX_PHOTO_BYTES,
            "max_side": photos.MAX_SIDE,
            "target_bytes": photos.TARGET_BYTES,
            "min_quality": photos.MIN_QUALITY,
            "max_quality": photos.MAX_QUALITY,
            "max_reduced_bytes": photos.MAX_REDUCED_BYTES,
            # Pillow's own limit, which shared/photos.check_image refuses above (from the header).
            "max_pixels": int(photos.Image.MAX_IMAGE_PIXELS or 0),
        },
    }


@bp.get("/app/rules.json")
def rules_json() -> Response:
    response = jsonify(rules())
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE_S}"
    return response
