"""js/rules.js: the phone app's counting and photo rules, written from shared/ (their one home)
and shipped with the shell, so the leaflets, plots, photos and progress screens work offline."""

from __future__ import annotations

import json

from flask.testing import FlaskClient

from server.phone_app import rules, shell
from shared import photos
from shared.choices import PHOTO_KINDS, PLOT_STAGES
from shared.indicators import AUDIENCE_KINDS, COMPARATORS, INDICATORS, SESSION_KIND_INDICATORS
from shared.schemas.field import PHOTO_KINDS_OF_SUBJECT

PREFIX = "export const RULES = "


def served(client: FlaskClient) -> dict[str, object]:
    answer = client.get("/app/js/rules.js")
    assert answer.status_code == 200 and answer.mimetype == "text/javascript"
    text = answer.get_data(as_text=True)
    [line] = [line for line in text.splitlines() if line.startswith(PREFIX)]
    found: dict[str, object] = json.loads(line.removeprefix(PREFIX).removesuffix(";"))
    return found


def test_the_rules_the_phone_counts_by_are_shareds(client: FlaskClient) -> None:
    found = served(client)
    assert [i["key"] for i in found["indicators"]] == [i.key for i in INDICATORS]  # type: ignore[attr-defined]
    assert [(i["zh"], i["en"], i["whole"]) for i in found["indicators"]] == [  # type: ignore[attr-defined]
        (i.label_zh, i.label_en, i.whole) for i in INDICATORS
    ]
    assert found["audience_kinds"] == list(AUDIENCE_KINDS)
    assert found["session_kind_indicators"] == SESSION_KIND_INDICATORS
    assert found["comparators"] == list(COMPARATORS)
    assert found["photo_kinds_of_subject"] == {
        k: list(v) for k, v in PHOTO_KINDS_OF_SUBJECT.items()
    }
    assert found["choice_order"] == {
        "plot_stage": list(PLOT_STAGES),
        "photo_kind": list(PHOTO_KINDS),
    }
    assert found["photos"] == {
        "max_photo_bytes": photos.MAX_PHOTO_BYTES,
        "max_side": photos.MAX_SIDE,
        "target_bytes": photos.TARGET_BYTES,
        "min_quality": photos.MIN_QUALITY,
        "max_quality": photos.MAX_QUALITY,
        "max_reduced_bytes": photos.MAX_REDUCED_BYTES,
        "max_pixels": photos.Image.MAX_IMAGE_PIXELS,
    }
    assert found == rules.rules()


def test_the_four_screens_ship_with_the_shell_and_open_from_the_page(client: FlaskClient) -> None:
    page = client.get("/app/").get_data(as_text=True)
    for module in ("leaflets", "plots", "photos", "progress"):
        assert f'<script type="module" src="js/{module}.js"></script>' in page
    assert '<link rel="stylesheet" href="more.css">' in page
    files = shell.shell_files()
    for path in (
        "js/rules.js",
        "js/more_common.js",
        "js/leaflet_rules.js",
        "js/photo_reduce.js",
        "js/photo_upload.js",
        "more.css",
    ):
        assert path in files, path
