"""The farmers' check-in page, one for both apps: the laptop's (`tianjian-field serve`) and the
server's for the phone app's QR. Its templates live in shared/templates/farmer; each app
registers them here with the helpers they call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Flask
from flask_babel import get_locale

from shared.clock import CHINA, parse_iso

TEMPLATES = Path(__file__).parent / "templates"
# The page's notice on personal data, shown beside every form that asks for it.
NOTICE = (
    "我们记录您的姓名、手机号、村、性别和出生年份，用于统计农业技术培训的参加情况并与您联系培训事宜。"
    "这些信息仅县科技局可见，您的手机号不会完整显示给他人。",
    "We record your name, mobile number, village, gender and year of birth to count who "
    "attends agricultural trainings and to keep in touch about them. Only the county's "
    "agricultural science and technology bureau sees them; your number is never shown in "
    "full to others.",
)


def english() -> bool:
    return str(get_locale()) == "en"


def tr(zh: str, en: str, **values: Any) -> str:
    """The page's text in its language: the two apps keep different catalogues (the laptop's
    written in English, the server's in Chinese), so the shared page carries both."""
    text = en if english() else zh
    return text % values if values else text


def farmer_time(iso: str | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as China time."""
    if not iso:
        return ""
    return parse_iso(iso).astimezone(CHINA).strftime(pattern)


def register(app: Flask) -> None:
    """Let the app render farmer/*.html from the shared folder, with tr and farmer_time."""
    app.register_blueprint(Blueprint("farmer_page", __name__, template_folder=str(TEMPLATES)))
    app.jinja_env.globals.update(tr=tr, farmer_notice=NOTICE)
    app.jinja_env.filters["farmer_time"] = farmer_time
