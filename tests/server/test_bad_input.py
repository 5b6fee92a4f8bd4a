"""Bad input at the API's edge: refused with a 400/422 naming the header or field, never a 500,
and nothing of the batch written."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.store.db import init_db
from shared import protocol as p
from shared.ids import new_id
from shared.schemas.field import FIELD_SCHEMAS
from shared.schemas.types import Day, Name, Note, Timestamp
from tests.helpers import enrolment_code
from tests.server.test_api import (
    PROTOCOL,
    PULL,
    PUSH,
    Device,
    checkin_fields,
    farmer_fields,
    row,
    session_fields,
)

ENROL = "/api/v1/enrolments"


@pytest.fixture
def zhang(client: FlaskClient, db_path: str) -> Device:
    return Device(client, db_path, "张三")


@pytest.fixture
def quiet_client(app: Flask) -> FlaskClient:
    """A client of the app as served: an unexpected exception is a 500 answer, not a raise."""
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    return app.test_client()


def stored(db_path: str) -> tuple[int, ...]:
    """What a refused request must leave as it was: every field table, the answers kept, the
    devices' high-water marks."""
    db = init_db(db_path)
    try:
        counts = [
            db.execute(f"SELECT count(*) FROM [{p.TABLES[kind]}]").fetchone()[0]
            for kind in p.FIELD_KINDS
        ]
        counts.append(db.execute("SELECT count(*) FROM device_change_runs").fetchone()[0])
        counts.append(db.execute("SELECT count(*) FROM devices").fetchone()[0])
        counts.append(db.execute("SELECT coalesce(sum(max_seq), 0) FROM devices").fetchone()[0])
    finally:
        db.close()
    return tuple(counts)


def assert_refused(response: Any, status: int = 400, naming: str | None = None) -> dict[str, Any]:
    body = response.get_json()
    assert response.status_code == status, body
    assert set(body) == {"code", "status", "message", "errors"}
    assert body["code"] == status
    chinese, _, english = body["message"].partition(" / ")
    assert chinese and english, body["message"]
    if naming is not None:
        assert naming in body["message"] or naming in body["errors"], body
    return body


# ---------------------------------------------------------------- headers


BAD_DEVICE_TIMES = [
    "--5",
    "1" * 25,
    "9" * 16,
    "²",
    "１２３",
    "1.5",
    "0x10",
    "-",
    "+5",
    "12 ",
    "1e3",
]


@pytest.mark.parametrize("value", BAD_DEVICE_TIMES)
def test_bad_device_time_header_is_a_400_naming_it(
    quiet_client: FlaskClient, zhang: Device, db_path: str, value: str
) -> None:
    before = stored(db_path)
    farmer = zhang.change(p.FARMER, farmer_fields(), new_id())
    headers = {**zhang.headers, p.HEADER_DEVICE_TIME: value}
    push = quiet_client.post(PUSH, json={"changes": [farmer]}, headers=headers)
    body = assert_refused(push, 400, naming=p.HEADER_DEVICE_TIME)
    assert p.HEADER_DEVICE_TIME in body["errors"]
    assert stored(db_path) == before
    assert_refused(quiet_client.get(PULL, headers=headers), 400, naming=p.HEADER_DEVICE_TIME)


@pytest.mark.parametrize("value", ["1780000000000", "-1780000000000", "0", "123456789012345"])
def test_device_times_a_device_may_send_are_taken(
    client: FlaskClient, zhang: Device, value: str
) -> None:
    headers = {**zhang.headers, p.HEADER_DEVICE_TIME: value}
    assert client.get(PULL, headers=headers).status_code == 200


@pytest.mark.parametrize("value", ["²", "1" * 5000, "-1", "1.0", "", "１"])
def test_bad_protocol_header_is_a_400_naming_it(
    quiet_client: FlaskClient, zhang: Device, value: str
) -> None:
    for response in (
        quiet_client.get(PULL, headers={**zhang.headers, p.HEADER_PROTOCOL: value}),
        quiet_client.post(ENROL, json={"code": "ABCD-EFGH"}, headers={p.HEADER_PROTOCOL: value}),
    ):
        assert_refused(response, 400, naming=p.HEADER_PROTOCOL)


# ---------------------------------------------------------------- bodies on every JSON endpoint


def json_operations(client: FlaskClient) -> list[str]:
    """Every operation the API's own description says takes a JSON body."""
    spec = client.get("/api/openapi.json").get_json()
    return sorted(
        path
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if method == "post"
        and "application/json" in operation.get("requestBody", {}).get("content", {})
    )


BAD_BODIES = {
    "100,000 nested arrays": b"[" * 100_000 + b"]" * 100_000,
    "100,000 nested objects": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "an integer of 5,000 digits": b'{"changes": [], "code": ' + b"7" * 5000 + b"}",
    "a lone surrogate escaped": b'{"changes": [], "code": "AB\\ud800CD", "x": 1}',
    "a lone low surrogate escaped": b'{"changes": [], "code": "\\uDC00"}',
    "a lone surrogate as bytes": b'{"changes": [], "code": "AB\xed\xa0\x80CD"}',
    "a lone surrogate in a key": b'{"changes": [], "\\ud800": 1}',
    "not UTF-8": b'{"code": "\xff\xfe"}',
}


@pytest.mark.parametrize("what", BAD_BODIES)
def test_bad_json_body_on_every_json_endpoint_is_a_400(
    quiet_client: FlaskClient, zhang: Device, db_path: str, what: str
) -> None:
    paths = json_operations(quiet_client)
    assert {PUSH, ENROL} <= set(paths)
    before = stored(db_path)
    for path in paths:
        for compress in (False, True):
            data = BAD_BODIES[what]
            headers = {**zhang.headers, "Content-Type": "application/json"}
            if compress:
                data = gzip.compress(data)
                headers["Content-Encoding"] = "gzip"
                if path != PUSH:
                    continue  # only a push may be gzip'd
            assert_refused(quiet_client.post(path, data=data, headers=headers), 400)
    assert stored(db_path) == before


def test_a_lone_surrogate_anywhere_in_a_push_names_where_and_writes_nothing(
    quiet_client: FlaskClient, zhang: Device, db_path: str
) -> None:
    session_id = new_id()
    good = zhang.change(p.FARMER, farmer_fields(), new_id())
    for kind, fields in [
        (p.FARMER, farmer_fields(name="赵\ud800")),
        (p.SESSION, {**session_fields(zhang.envoy_id), "place": "\udfff村口"}),
        (p.SESSION, {**session_fields(zhang.envoy_id), "title": "\ud83d"}),
    ]:
        before = stored(db_path)
        bad = zhang.change(kind, fields, session_id if kind == p.SESSION else new_id())
        text = json.dumps({"changes": [good, bad]})  # ascii escapes: \\ud800
        body = assert_refused(
            quiet_client.post(
                PUSH, data=text, headers={**zhang.headers, "Content-Type": "application/json"}
            ),
            400,
        )
        (where,) = body["errors"]
        assert where.startswith("changes.1.f.")
        assert stored(db_path) == before
    # A real character written as an escaped pair is fine.
    emoji = zhang.change(p.FARMER, farmer_fields(name="赵\U0001f33e"), new_id())
    assert zhang.push([emoji])["applied"] == [[emoji["q"], emoji["q"]]]


@pytest.mark.parametrize("depth", [900, 960, 970, 972, 974, 976, 980])
def test_json_as_deep_as_the_parser_takes_is_answered(
    quiet_client: FlaskClient, zhang: Device, depth: int
) -> None:
    """Near the parser's limit a body either parses, and then the change is answered, or it
    is refused as too deep: never a 500 from something deeper down."""
    deep = "[" * depth + "]" * depth
    change = zhang.change(p.FARMER, farmer_fields(), new_id())
    text = json.dumps({"changes": [change]}).replace('"f": {', f'"f": {{"zzz": {deep}, ', 1)
    response = quiet_client.post(
        PUSH, data=text, headers={**zhang.headers, "Content-Type": "application/json"}
    )
    assert response.status_code in (200, 400), response.get_json()


# ---------------------------------------------------------------- gzip


def cut_and_broken_gzip(plain: bytes) -> dict[str, bytes]:
    whole = gzip.compress(plain)
    crc_wrong = bytearray(whole)
    crc_wrong[-8] ^= 0xFF
    length_wrong = bytearray(whole)
    length_wrong[-1] ^= 0x01
    cases = {f"without its last {n} bytes": whole[:-n] for n in (1, 4, 8, 9)}
    cases["with a wrong CRC"] = bytes(crc_wrong)
    cases["with a wrong length"] = bytes(length_wrong)
    cases["with data after it"] = whole + b"trailing"
    cases["raw deflate, no gzip header"] = zlib.compress(plain)[2:-4]
    return cases


def test_gzip_cut_short_or_failing_its_check_is_refused(
    quiet_client: FlaskClient, zhang: Device, db_path: str
) -> None:
    farmer = zhang.change(p.FARMER, farmer_fields(), new_id())
    plain = json.dumps({"changes": [farmer]}).encode()
    before = stored(db_path)
    headers = {**zhang.headers, "Content-Encoding": "gzip", "Content-Type": "application/json"}
    for what, data in cut_and_broken_gzip(plain).items():
        response = quiet_client.post(PUSH, data=data, headers=headers)
        body = assert_refused(response, 400)
        assert "gzip" in body["message"], what
    assert stored(db_path) == before
    whole = quiet_client.post(PUSH, data=gzip.compress(plain), headers=headers)
    assert whole.status_code == 200 and row(db_path, "farmers", farmer["i"]) is not None


# ---------------------------------------------------------------- values inside changes


TIME_FIELDS = [
    (kind, name)
    for kind, schema in FIELD_SCHEMAS.items()
    for name, field in schema().fields.items()
    if isinstance(field, (Timestamp, Day)) and name not in ("created_at", "updated_at")
]


@pytest.mark.parametrize(("kind", "name"), TIME_FIELDS)
@pytest.mark.parametrize(
    "text",
    ["0001-01-01T00:00:00", "9999-12-31T23:59:59+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01"],
)
def test_time_outside_pythons_calendar_is_refused_naming_the_field(
    quiet_client: FlaskClient, zhang: Device, db_path: str, kind: str, name: str, text: str
) -> None:
    """A change is refused on its own, with the field named, like any other bad value (the
    device shows the reason to the envoy); nothing of it is written."""
    values: dict[str, Any] = {name: text}
    if kind == p.ATTENDANCE:
        # A check-in's id comes from its session and farmer: they must be there to name it.
        session_id, farmer_id = new_id(), new_id()
        zhang.push(
            [
                zhang.change(p.SESSION, session_fields(zhang.envoy_id), session_id),
                zhang.change(p.FARMER, farmer_fields(), farmer_id),
            ]
        )
        values.update({**checkin_fields(session_id, farmer_id), name: text})
    before = stored(db_path)[:-3]
    change = zhang.change(kind, values, None if kind == p.ATTENDANCE else new_id())
    response = quiet_client.post(PUSH, json={"changes": [change]}, headers=zhang.headers)
    assert response.status_code == 200, response.get_json()
    (answer,) = response.get_json()["answers"]
    assert answer["s"] == p.REJECTED
    assert name in answer["e"]
    assert stored(db_path)[:-3] == before


NAME_FIELDS = [
    (kind, name)
    for kind, schema in FIELD_SCHEMAS.items()
    for name, field in schema().fields.items()
    if isinstance(field, Name) and not isinstance(field, Note)
]


@pytest.mark.parametrize(("kind", "name"), NAME_FIELDS)
@pytest.mark.parametrize("bad", ["   ", "\u200b\u200d", "\x01\x02", "张\x00三", "\u3000"])
def test_blank_or_nul_names_are_refused_by_the_server(
    zhang: Device, db_path: str, kind: str, name: str, bad: str
) -> None:
    fields = {"name": farmer_fields(), "title": session_fields(zhang.envoy_id)}.get(name, {})
    answer = zhang.push([zhang.change(kind, {**fields, name: bad}, new_id())])
    (refused,) = answer["answers"]
    assert refused["s"] == p.REJECTED
    assert name in refused["e"]
    assert str(refused["e"][name]).count(name) >= 2  # named in Chinese and in English


def test_blank_device_name_is_refused_at_enrolment(client: FlaskClient, db_path: str) -> None:
    code = enrolment_code(db_path, "张三")
    for bad in (" ", "\u200b", "手机\x00"):
        response = client.post(ENROL, json={"code": code, "device_name": bad}, headers=PROTOCOL)
        body = assert_refused(response, 422)
        assert "device_name" in body["errors"]["json"]
    ok = client.post(ENROL, json={"code": code, "device_name": "王的手机"}, headers=PROTOCOL)
    assert ok.status_code == 201


@pytest.mark.parametrize("key", ["i", "b"])
def test_a_change_id_or_base_holding_nul_is_refused_not_a_500(
    quiet_client: FlaskClient, zhang: Device, db_path: str, key: str
) -> None:
    """PostgreSQL's text cannot hold U+0000: such an id was a 500 there (schemathesis found it)."""
    bad = zhang.change(p.FARMER, farmer_fields(), new_id())
    bad[key] = "ab\x00cd"
    before = stored(db_path)
    answer = quiet_client.post(
        PUSH,
        data=json.dumps({"changes": [bad]}),
        headers={**zhang.headers, "Content-Type": "application/json"},
    )
    assert answer.status_code in (200, 422), answer.get_data(as_text=True)
    if answer.status_code == 200:
        assert answer.get_json()["applied"] == []
    assert stored(db_path) == before
    good = zhang.change(p.FARMER, farmer_fields(), new_id())
    assert zhang.push([good])["applied"] == [[good["q"], good["q"]]]
