"""The key that signs check-in posters: handed out at enrolment, and on the next sync to a device
enrolled before keys existed."""

from __future__ import annotations

from pathlib import Path

from field_client import qr_checkin
from server.store.db import init_db
from tests.helpers import LiveServer, enrolled_store, fast_client


def server_key(db_path: str, device_id: str) -> str | None:
    db = init_db(db_path)
    try:
        return db.execute("SELECT checkin_key FROM devices WHERE id = ?", [device_id]).fetchone()[0]
    finally:
        db.close()


def test_enrolment_gives_the_device_its_key(live_server: LiveServer, tmp_path: Path) -> None:
    store = enrolled_store(live_server, str(tmp_path / "a.db"), "张三")
    key = store.get("checkin_key")
    assert key and len(key) >= 40
    assert server_key(live_server.db_path, store.get("device_id")) == key
    other = enrolled_store(live_server, str(tmp_path / "b.db"), "张三")
    assert other.get("checkin_key") != key  # one key per device
    assert qr_checkin.checkin_keys(store)[0] == key.encode()


def test_an_older_device_gets_one_on_its_next_sync(live_server: LiveServer, tmp_path: Path) -> None:
    store = enrolled_store(live_server, str(tmp_path / "a.db"), "张三")
    device_id = store.get("device_id")
    # As before keys were handed out: none on the server, none on the device; posters printed
    # meanwhile are signed with a key the device made itself.
    db = init_db(live_server.db_path)
    db.execute("UPDATE devices SET checkin_key = NULL WHERE id = ?", [device_id])
    db.conn.commit()
    db.close()
    store.db.execute("DELETE FROM meta WHERE key = 'checkin_key'")
    store.db.conn.commit()
    local_key = qr_checkin.checkin_keys(store)[0]
    fast_client(store).sync()
    key = store.get("checkin_key")
    assert key and server_key(live_server.db_path, device_id) == key
    # The server's key signs from now on; the device's own still checks posters already printed.
    assert qr_checkin.checkin_keys(store) == [key.encode(), local_key]
    fast_client(store).sync()
    assert store.get("checkin_key") == key  # asked once: the key does not change
