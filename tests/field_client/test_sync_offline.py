"""Out of signal: `tianjian-field sync` gives up soon and says, in one line in Chinese and
English, that nothing was lost; no library's exception text reaches the envoy."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from field_client import sync as sync_module
from field_client.store import FieldStore
from field_client.sync import SyncClient, SyncFailed
from tests.field_client.test_cli import assert_one_line_error, run
from tests.field_client.test_operations import enrol_by_hand


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def offline(tmp_path: Path) -> Path:
    """An enrolled device whose server address answers nothing (a closed loopback port)."""
    path = tmp_path / "field.db"
    enrol_by_hand(path)
    with FieldStore(str(path)) as store:
        store.set("server_url", f"http://127.0.0.1:{closed_port()}")
    return path


def test_an_unreachable_server_is_tried_twice_not_five_times(
    offline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(sync_module.time, "sleep", slept.append)
    with FieldStore(str(offline)) as store:
        client = SyncClient(store)  # the command line's defaults: 4 retries
        with pytest.raises(SyncFailed) as caught:
            client.sync()
    assert client.report.requests == sync_module.UNREACHABLE_TRIES == 2
    assert len(slept) == 1
    assert "没有丢失" in caught.value.message and "nothing was lost" in caught.value.message


def test_sync_offline_is_one_bilingual_line(offline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync_module.time, "sleep", lambda seconds: None)
    result = run(offline, "sync")
    assert_one_line_error(result, "无法连接服务器", "没有丢失", "nothing was lost")
    for library_text in ("HTTPConnectionPool", "Max retries", "urllib3", "Errno"):
        assert library_text not in result.output
