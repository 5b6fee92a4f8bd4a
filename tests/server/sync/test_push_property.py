"""Property: whatever a device pushes, the server answers without a 5xx, and a push it accepts
answers every change exactly once; one it refuses writes nothing."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import fields

from server.store.db import init_db
from shared import protocol as p
from shared.schemas.field import FIELD_SCHEMAS, data_fields
from shared.schemas.types import Day, DivisionCode, Id, Mobile, Timestamp
from tests.helpers import LEAFLET_POTATO, TECH_POTATO, VARIETY_POTATO, VILLAGE_EAST
from tests.server.test_api import Device, farmer_fields, session_fields

SESSION_ID = "8b0f4a56-0c4e-4d3a-9a53-4c1e9e2b7a01"
FARMER_ID = "8b0f4a56-0c4e-4d3a-9a53-4c1e9e2b7a02"
PLOT_ID = "8b0f4a56-0c4e-4d3a-9a53-4c1e9e2b7a03"
# Stands for the device's next sequence number, filled in when the push is sent.
NEXT = "next"
KNOWN_IDS = (SESSION_ID, FARMER_ID, PLOT_ID, LEAFLET_POTATO, TECH_POTATO, VARIETY_POTATO)

# Anything JSON can carry, including what Python's json reads beyond the standard (NaN).
json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from(["", " ", "\u200b", "\x00", "\t\n", "\u3000", "-", "1e999", "²"])
)
any_json = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


def mostly(
    usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any], one_in: int = 10
) -> st.SearchStrategy[Any]:
    """The usual value but one time in `one_in`: a change broken everywhere at once would be
    refused every time and never reach the engine's deeper paths (merges, holds, releases)."""
    return st.integers(1, one_in).flatmap(lambda roll: odd if roll == 1 else usual)


times = mostly(
    st.datetimes(min_value=datetime(1990, 1, 2), max_value=datetime(2200, 12, 30)).map(
        lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    ),
    st.sampled_from(
        [
            "0001-01-01T00:00:00",
            "2026-05-10 10:00",
            "9999-12-31T23:59:59+14:00",
            "9999-12-31T23:59:59-14:00",
            "1989-12-31T23:59:59Z",
            "not a time",
            "2026-02-30T00:00:00Z",
        ]
    ),
    one_in=4,
)
days = mostly(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 12, 31)).map(date.isoformat),
    st.dates().map(date.isoformat) | st.sampled_from(["2026-5-10", "0001-01-01", "9999-12-31"]),
)
ids = mostly(
    st.sampled_from(KNOWN_IDS) | st.uuids().map(str),
    st.sampled_from(["", "X" * 36, SESSION_ID.upper(), f"{{{FARMER_ID}}}"]),
)
codes = mostly(
    st.sampled_from([VILLAGE_EAST, "530102001002", "530102"]),
    st.sampled_from(["5301020010019", "99", " 530102 ", "530102001009"]),
)
mobiles = st.sampled_from(["13800138000", "+86 138 0013 8000", "12345", "1380013800a"])
texts = mostly(
    st.text(min_size=1, max_size=20),
    st.sampled_from(["", "   ", "\u200b\u200b", "张\x00三", "\u3000", "\ud800", "\udfff张"])
    | st.text(max_size=300),
    one_in=4,
)
counts = mostly(
    st.integers(-10, 10_000), st.integers(min_value=-(10**25), max_value=10**25) | st.floats()
)
numbers = mostly(
    st.floats(0, 10_000) | st.integers(0, 100),
    st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(min_value=-(10**400), max_value=10**400),
)


def value_for(field: fields.Field) -> st.SearchStrategy[Any]:
    """Values a field may meet: mostly plausible for its type (to get past the schema and into
    the engine), sometimes anything at all."""
    plausible: st.SearchStrategy[Any]
    choices = getattr(field.validate, "choices", None) if field.validate else None
    if isinstance(field, Timestamp):
        plausible = times
    elif isinstance(field, Day):
        plausible = days
    elif isinstance(field, Id):
        plausible = ids
    elif isinstance(field, DivisionCode):
        plausible = codes
    elif isinstance(field, Mobile):
        plausible = mobiles
    elif isinstance(field, fields.List):
        plausible = st.lists(ids, max_size=3)
    elif isinstance(field, fields.Boolean):
        plausible = st.booleans()
    elif isinstance(field, fields.Integer):
        plausible = counts
    elif isinstance(field, fields.Float):
        plausible = numbers
    elif choices:
        plausible = st.sampled_from(list(choices))
    else:
        plausible = texts
    return mostly(plausible, any_json, one_in=6)


@st.composite
def record_fields(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    schema = FIELD_SCHEMAS[kind]()
    known = data_fields(kind)
    names = draw(
        mostly(
            st.lists(st.sampled_from(known), unique=True, min_size=len(known) // 2),
            st.lists(st.sampled_from([*known, "deleted", "zzz"]), unique=True),
        )
    )
    return {name: draw(value_for(schema.fields.get(name, fields.Raw()))) for name in names}


@st.composite
def change(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(mostly(st.sampled_from(p.FIELD_KINDS), st.sampled_from(p.ALL_KINDS) | any_json))
    f = draw(record_fields(kind)) if kind in p.FIELD_KINDS else draw(any_json)
    envelope: dict[str, Any] = {
        "q": draw(mostly(st.just(NEXT), st.integers(min_value=-5, max_value=2**63) | any_json)),
        "k": kind,
        "h": draw(
            mostly(
                st.integers(1780000000000, 1790000000000).map(lambda ms: f"{ms}.00001"),
                st.sampled_from(["9" * 19, "0" * 19, "-" * 19, "1780000000000x00001"])
                | st.text(min_size=19, max_size=19)
                | any_json,
            )
        ),
        "f": f,
    }
    if kind != p.ATTENDANCE or draw(st.integers(0, 3)) == 2:
        envelope["i"] = draw(mostly(ids, any_json))
    if draw(st.integers(0, 3)) == 2:
        envelope["b"] = draw(
            st.sampled_from(["1780000000000.00001.x", ""]) | st.text(max_size=30) | any_json
        )
    if draw(st.integers(0, 20)) == 13:
        envelope[draw(st.text(max_size=3))] = draw(any_json)
    return envelope


@st.composite
def push_body(draw: st.DrawFn) -> Any:
    changes = [draw(change()) for _ in range(draw(st.integers(0, 4)))]
    if draw(st.integers(0, 20)) == 11:
        return draw(any_json | st.just({"changes": draw(any_json)}))
    return {"changes": changes}


def written(db_path: str) -> tuple[int, ...]:
    """What a refused push must leave as it was."""
    db = init_db(db_path)
    try:
        counts = tuple(
            db.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0]
            for table in (*(p.TABLES[kind] for kind in p.FIELD_KINDS), "device_change_runs")
        )
        (max_seq,) = db.execute("SELECT sum(max_seq) FROM devices").fetchone()
    finally:
        db.close()
    return (*counts, max_seq or 0)


@pytest.fixture
def device(client: FlaskClient, db_path: str) -> Device:
    """A device whose envoy has a session, a farmer and a plot the pushes can refer to."""
    zhang = Device(client, db_path, "张三")
    plot = {
        "village_code": VILLAGE_EAST,
        "host_name": "李四",
        "crop": "马铃薯",
        "area_mu": 5.0,
        "established_on": "2026-03-01",
    }
    answer = zhang.push(
        [
            zhang.change(p.SESSION, session_fields(zhang.envoy_id), SESSION_ID),
            zhang.change(p.FARMER, farmer_fields(), FARMER_ID),
            zhang.change(p.PLOT, plot, PLOT_ID),
        ]
    )
    assert answer["answers"] == [], answer
    return zhang


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=push_body())
def test_no_push_gets_a_5xx_and_each_change_is_answered_once(
    client: FlaskClient, device: Device, db_path: str, body: Any
) -> None:
    sent = body.get("changes") if isinstance(body, dict) else None
    for one in sent if isinstance(sent, list) else []:
        if isinstance(one, dict) and one.get("q") == NEXT:
            device.seq += 1
            one["q"] = device.seq
    before = written(db_path)
    response = client.post(
        "/api/v1/sync/push",
        data=json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass"),
        headers={**device.headers, "Content-Type": "application/json"},
    )
    answer = response.get_json()
    assert response.status_code < 500, answer
    if response.status_code != 200:
        assert set(answer) == {"code", "status", "message", "errors"}
        assert " / " in answer["message"], answer
        assert written(db_path) == before
        return
    seqs = [change["q"] for change in body["changes"]]
    answered = [seq for first, last in answer["applied"] for seq in range(first, last + 1)]
    answered += [one["q"] for one in answer["answers"]]
    assert sorted(answered) == sorted(seqs)
