"""The waitress settings both apps serve with: connection limit, channel timeout, threads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from field_client.cli import cli as field_cli
from shared import serving
from tests.field_client.web.conftest import PIN, make_store


def capture(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    import waitress

    monkeypatch.setattr(waitress, "serve", lambda app, **options: seen.update(options))
    return seen


def test_serve_passes_the_limits_to_waitress(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = capture(monkeypatch)
    serving.serve(object(), "127.0.0.1", 8080, 6, 900, 45)
    assert seen["connection_limit"] == 900 and seen["channel_timeout"] == 45
    assert seen["threads"] == 6


def test_windows_select_caps_the_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = capture(monkeypatch)
    monkeypatch.setattr(serving.sys, "platform", "win32")
    serving.serve(object(), "127.0.0.1", 8080, 8, serving.DEFAULT_CONNECTION_LIMIT, 60)
    assert seen["connection_limit"] == serving.WINDOWS_CONNECTION_LIMIT


def test_field_serve_takes_the_servers_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tianjian-field serve` has `run`'s defaults and reads the same environment variables
    (waitress's own default, 100 connections, let 105 slow sockets stop it answering)."""
    seen = capture(monkeypatch)
    db = str(tmp_path / "field.db")
    make_store(db).close()
    env = {"TIANJIAN_FIELD_PIN": PIN}
    args = ["--db", db, "serve", "--host", "127.0.0.1"]
    assert CliRunner(env=env).invoke(field_cli, args).exit_code == 0
    assert seen["connection_limit"] == serving.DEFAULT_CONNECTION_LIMIT
    assert seen["channel_timeout"] == serving.DEFAULT_CHANNEL_TIMEOUT
    env |= {"TIANJIAN_CONNECTION_LIMIT": "300", "TIANJIAN_CHANNEL_TIMEOUT": "20"}
    assert CliRunner(env=env).invoke(field_cli, [*args, "--threads", "3"]).exit_code == 0
    assert (seen["connection_limit"], seen["channel_timeout"], seen["threads"]) == (300, 20, 3)
