"""The plain-Python checks that let tidy check-ins, farmers and changes skip the schemas agree
with the schemas: whatever they pass, the schema loads unchanged."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from shared import protocol as p
from shared.ids import attendance_id, attendance_id_and_digest
from shared.schemas.field import (
    FIELD_SCHEMAS,
    is_canonical_checkin,
    is_canonical_farmer,
    load_defaults,
)
from shared.schemas.sync import ChangeSchema, canonical_change

META = {
    "id": "00000000-0000-4000-8000-0000000000aa",
    "envoy_id": "e0e0e0e0-0000-4000-8000-000000000001",
    "device_id": "d0d0d0d0-0000-4000-8000-000000000001",
    "hlc": "1795443158779.00000.d0d0d0d0-0000-4000-8000-000000000001",
    "created_at": "2026-03-01T01:27:39Z",
    "updated_at": "2026-03-01T01:27:39Z",
    "deleted": False,
}
SESSION = "5e55e55e-0000-4000-8000-000000000001"
FARMER = "fa12fa12-0000-4000-8000-000000000001"

# Values near the edges of what each field accepts, good and bad.
names = st.one_of(st.text(max_size=45), st.integers(), st.none())
codes = st.one_of(
    st.sampled_from(
        ["530102001001", "530102", "53010200100", "５３０１０２００１００１", " 530102001001"]
    ),
    st.text(alphabet="0123456789", min_size=11, max_size=13),
    st.none(),
)
mobiles = st.one_of(
    st.sampled_from(
        ["13800138000", "138 0013 8000", "+8613800138000", "12800138000", "１３８００１３８０００"]
    ),
    st.text(alphabet="0123456789", min_size=10, max_size=12),
    st.none(),
    st.integers(),
)
genders = st.one_of(st.sampled_from(["female", "male", "unspecified", "other", ""]), st.none())
years = st.one_of(
    st.integers(1850, 2150), st.none(), st.booleans(), st.floats(1899, 2101), st.text(max_size=4)
)
farmers = st.fixed_dictionaries(
    {},
    optional={
        "name": names,
        "village_code": codes,
        "mobile": mobiles,
        "gender": genders,
        "birth_year": years,
        "notes": st.text(max_size=3),
    },
)


def _loaded(kind: str, values: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return FIELD_SCHEMAS[kind]().load({**META, **values})
    except ValidationError:
        return None


@settings(max_examples=400, deadline=None)
@given(farmers)
def test_a_canonical_farmer_loads_as_sent_plus_defaults(values: dict[str, Any]) -> None:
    loaded = _loaded(p.FARMER, values)
    if is_canonical_farmer(values):
        assert loaded == {**META, **load_defaults(p.FARMER), **values}


def test_canonical_farmer_examples() -> None:
    good = {"name": "张三", "village_code": "530102001001"}
    assert is_canonical_farmer(good)
    assert is_canonical_farmer(
        {**good, "mobile": "13800138000", "gender": "male", "birth_year": 1970}
    )
    for odd in (
        {"mobile": "138 0013 8000"},  # the schema would tidy it: not as sent
        {"village_code": "530102"},  # padded by the schema
        {"gender": None},
        {"birth_year": True},
        {"birth_year": 1970.0},
        {"name": ""},
        {"notes": "x"},  # unknown field: the schema names it
    ):
        assert not is_canonical_farmer({**good, **odd}), odd
    assert not is_canonical_farmer({"name": "张三"})


checkins = st.fixed_dictionaries(
    {},
    optional={
        "session_id": st.one_of(st.just(SESSION), st.just(SESSION.upper()), st.text(max_size=3)),
        "farmer_id": st.one_of(st.just(FARMER), st.just(FARMER[:-1])),
        "checked_in_at": st.sampled_from(
            [
                "2026-03-01T01:27:39Z",
                "2026-03-01T09:27:39+08:00",
                "2026-02-30T01:27:39Z",
                "1989-03-01T01:27:39Z",
                "2026-03-01 01:27:39Z",
                "2026-03-01X01:27:39Z",
                "２０２６-03-01T01:27:39Z",
                "2026-03-01T01:27:39.5Z",
                "2026-W09-7T01:27:39Z",
                "2026-03-01T0127:39.Z",
                "2026-03-01T01:27:3+Z",
                "2026-03-01T24:00:00Z",
                "2200-12-31T23:59:59Z",
                "2201-01-01T00:00:00Z",
            ]
        ),
        "method": st.sampled_from(["qr_self", "roster", "card_scan", "fax"]),
        "phone": st.sampled_from(
            ["0f1e2d3c4b5a6978", "0F1E2D3C4B5A6978", "13800138000", "0f1e2d3c4b5a697", None, 7]
        ),
    },
)


@settings(max_examples=300, deadline=None)
@given(checkins)
def test_a_canonical_checkin_loads_as_sent(values: dict[str, Any]) -> None:
    if is_canonical_checkin(values):
        assert _loaded(p.ATTENDANCE, values) == {**META, **load_defaults(p.ATTENDANCE), **values}


def test_canonical_moment_examples() -> None:
    tidy = {"session_id": SESSION, "farmer_id": FARMER, "method": "roster"}
    assert is_canonical_checkin({**tidy, "checked_in_at": "2026-03-01T01:27:39Z"})
    for odd in (
        "2026-W09-7T01:27:39Z",  # an ISO week date: Python reads it, the form is not ours
        "2026-03-01T0127:39.Z",
        "2026-03-01T01:27:3+Z",
        "2026-02-30T01:27:39Z",
        "2026-03-01T24:00:00Z",
        "２０２６-03-01T01:27:39Z",
        "2026-03-01T01:27:39",
    ):
        assert not is_canonical_checkin({**tidy, "checked_in_at": odd}), odd


def test_a_check_in_with_a_phone_hash_is_canonical_and_a_phone_number_is_not() -> None:
    tidy = {
        "session_id": SESSION,
        "farmer_id": FARMER,
        "method": "qr_self",
        "checked_in_at": "2026-03-01T01:27:39Z",
    }
    assert is_canonical_checkin({**tidy, "phone": "0f1e2d3c4b5a6978"})
    for odd in ("13800138000", "0F1E2D3C4B5A6978", "0f1e2d3c4b5a6978\n", None):
        assert not is_canonical_checkin({**tidy, "phone": odd}), odd
    assert not is_canonical_checkin({**tidy, "notes": "0f1e2d3c4b5a6978"})


changes = st.fixed_dictionaries(
    {},
    optional={
        "q": st.one_of(st.integers(-1, 2**63), st.text(max_size=2), st.booleans()),
        "k": st.one_of(st.sampled_from([p.FARMER, p.ATTENDANCE, "martian"]), st.lists(st.none())),
        "i": st.one_of(st.none(), st.text(max_size=3), st.integers()),
        "h": st.one_of(st.just("1795443158779.00000"), st.text(max_size=20)),
        "b": st.one_of(st.none(), st.just("1795443158779.00000"), st.integers()),
        "f": st.one_of(st.just({"name": "x"}), st.lists(st.none()), st.none()),
        "x": st.none(),
    },
)


@settings(max_examples=400, deadline=None)
@given(changes)
def test_a_canonical_change_is_what_the_schema_loads(change: dict[str, Any]) -> None:
    try:
        loaded = ChangeSchema().load(change)
    except ValidationError:
        loaded = None
    canonical = canonical_change(change)
    if canonical is not None:
        assert canonical is change
        assert loaded == {"i": None, "b": None, **change}


def test_one_hash_gives_the_attendance_id_and_a_digest_of_the_rest() -> None:
    record_id, digest = attendance_id_and_digest(SESSION, FARMER, "a")
    assert record_id == attendance_id(SESSION, FARMER)
    assert len(digest) == 8
    assert attendance_id_and_digest(SESSION, FARMER, "a")[1] == digest
    assert attendance_id_and_digest(SESSION, FARMER, "b")[1] != digest
    assert attendance_id_and_digest(SESSION, FARMER[:-1] + "2", "a")[1] != digest
