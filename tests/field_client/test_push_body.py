"""The push body is spliced from stored text for speed; it must stay byte for byte what json made."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from field_client.outbox import _runs
from field_client.push_body import changes_text as _changes
from field_client.push_body import encode as _encode
from field_client.push_body import gzip_halves as _gzip_halves
from field_client.store import FieldStore
from shared import protocol as p
from shared.ids import attendance_id
from tests.field_client.test_store import ENVOY, VILLAGE, FakeWall, enrol

MAY_2026_MS = 1_780_000_000_000
SESSION = "5e5e5e5e-0000-4000-8000-000000000001"
FARMER = "fafafafa-0000-4000-8000-000000000001"


def reference_encode(entries: list[dict[str, Any]]) -> bytes:
    """The encoder as it was before splicing: parse each entry's fields, dump the whole body."""
    changes = []
    for entry in entries:
        change: dict[str, Any] = {"q": entry["seq"], "k": entry["kind"], "h": entry["stamp"][:19]}
        values = json.loads(entry["fields"])
        if not (entry["kind"] == p.ATTENDANCE and "session_id" in values and "farmer_id" in values):
            change["i"] = entry["id"]
        if entry["base"]:
            change["b"] = entry["base"]
        change["f"] = values
        changes.append(change)
    return json.dumps({"changes": changes}, ensure_ascii=False, separators=(",", ":")).encode()


def same_body(entries: list[dict[str, Any]]) -> None:
    raw = reference_encode(entries)
    body = _encode(entries)
    # Not only the same JSON: what gzip.compress makes, all but the header's time.
    made = gzip.compress(raw, compresslevel=9)
    assert body[:4] + body[8:] == made[:4] + made[8:]
    assert gzip.decompress(body) == raw
    assert _gzip_halves(_changes(entries), 0)[1] is None
    for half in range(1, len(entries) + 1):
        whole, first = _gzip_halves(_changes(entries), half)
        assert whole[10:] == body[10:]
        assert first is not None
        assert first[10:] == gzip.compress(reference_encode(entries[:half]), 9)[10:]


def test_real_outbox_encodes_as_before(tmp_path: Path) -> None:
    store = FieldStore(str(tmp_path / "field.db"), device_clock=FakeWall(MAY_2026_MS))
    enrol(store)
    farmer = store.create(p.FARMER, {"name": '王芳 "小芳"\\', "village_code": VILLAGE})
    session = store.create(
        p.SESSION,
        {
            "kind": "village_training",
            "title": "马铃薯\n晚疫病防治",
            "unit_code": VILLAGE,
            "starts_at": "2026-05-29T09:00:00",
            "lead_envoy_id": ENVOY,
            "technology_ids": [],
        },
    )
    store.checkin(session, farmer)
    store.update(p.FARMER, farmer, {"birth_year": 1971})
    store.delete(p.ATTENDANCE, attendance_id(session, farmer))
    store.checkin(session, farmer, "qr_self")
    store.delete(p.FARMER, farmer)
    entries = store.pending(100)
    assert {e["kind"] for e in entries} == {p.FARMER, p.SESSION, p.ATTENDANCE}
    assert any(e["base"] for e in entries)
    same_body(entries)
    same_body([])
    store.close()


text = st.text(max_size=12)
values = st.dictionaries(
    st.sampled_from(["session_id", "farmer_id", "name", "deleted", "n", "x"]),
    st.one_of(
        text,
        st.integers(),
        st.floats(),
        st.booleans(),
        st.none(),
        st.lists(text, max_size=3),
        st.dictionaries(st.sampled_from(["session_id", "farmer_id"]), text, max_size=2),
    ),
)
entry = st.builds(
    lambda seq, kind, record_id, stamp, base, fields, is_create: {
        "seq": seq,
        "kind": kind,
        "id": record_id,
        "stamp": stamp,
        "base": base,
        "fields": json.dumps(fields, ensure_ascii=False, separators=(",", ":")),
        "is_create": int(is_create),
    },
    st.integers(1, 2**62),
    st.sampled_from([*p.FIELD_KINDS, 'odd"kind']),
    st.one_of(st.uuids().map(str), text),
    st.one_of(st.just("0001780000000000.00000.node"), text),
    st.one_of(st.none(), st.just(""), text),
    values,
    st.booleans(),
)


@given(st.lists(entry, max_size=6))
def test_any_entries_encode_as_before(entries: list[dict[str, Any]]) -> None:
    # Creates of check-ins always name their session and farmer (the schema requires both).
    for item in entries:
        if item["kind"] == p.ATTENDANCE and item["is_create"]:
            fields = {"session_id": SESSION, "farmer_id": FARMER, **json.loads(item["fields"])}
            item["fields"] = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    same_body(entries)


def test_runs_group_consecutive_sequences() -> None:
    assert _runs([]) == []
    assert _runs([5, 1, 2, 3, 3, 9, 10, 7]) == [(1, 3), (5, 5), (7, 7), (9, 10)]
