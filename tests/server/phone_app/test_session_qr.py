"""The session QR's JavaScript keeps shared/'s rules: the token's alphabet and length and the
default margin; the app serves it and the vendored encoder, with the encoder's licence kept."""

from __future__ import annotations

import re
from pathlib import Path

from flask.testing import FlaskClient

from shared.checkin_rules import DEFAULT_MARGIN_MINUTES
from shared.checkin_tokens import TOKEN_ALPHABET, TOKEN_LENGTH

STATIC = Path(__file__).resolve().parents[3] / "server" / "phone_app" / "static"
SOURCE = (STATIC / "js" / "session_qr.js").read_text(encoding="utf-8")


def constant(name: str) -> str:
    found = re.search(rf"const {name} = ([^;]+);", SOURCE)
    assert found, name
    return found.group(1).strip('"')


def test_the_javascript_signs_with_shared_rules() -> None:
    assert constant("TOKEN_ALPHABET") == TOKEN_ALPHABET
    assert int(constant("TOKEN_LENGTH")) == TOKEN_LENGTH
    assert int(constant("DEFAULT_MARGIN_MINUTES")) == DEFAULT_MARGIN_MINUTES
    # The message is shared/checkin_tokens.phone_message's, part for part.
    assert '`tianjian-checkin/${session.id}/${starts}/${ends || ""}/${margin}`' in SOURCE


def test_the_app_serves_the_qr_module_and_its_encoder(client: FlaskClient) -> None:
    module = client.get("/app/js/session_qr.js")
    assert module.status_code == 200 and module.mimetype == "text/javascript"
    encoder = client.get("/app/vendor/qrcode-generator/qrcode.mjs")
    assert encoder.status_code == 200 and b"export const qrcode" in encoder.data
    assert b"js/session_qr.js" in client.get("/app/").data
    licence = (STATIC / "vendor" / "qrcode-generator" / "LICENSE.md").read_text(encoding="utf-8")
    assert "MIT" in licence and "Kazuhiko Arase" in licence
