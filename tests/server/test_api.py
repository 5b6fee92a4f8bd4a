"""The REST API: one error body, request limits, enrolment, per-record push answers, pull scope."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server import create_app
from server.store.db import init_db
from server.store.records import row_to_state
from server.sync import devices
from shared import protocol as p
from shared.clock import wall_ms
from shared.ids import attendance_id, new_id
from tests.helpers import (
    LEAFLET_POTATO,
    VILLAGE_EAST,
    VILLAGE_SOUTH,
    enrolment_code,
    report_token,
)

PROTOCOL = {p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION)}
ENVOY_MOBILES = ("13800138000", "13900139000", "13700137000")
PUSH = "/api/v1/sync/push"
PULL = "/api/v1/sync/pull"


class Device:
    """A device enrolled through the API, pushing gzip'd batches as the field client does."""

    def __init__(self, client: FlaskClient, db_path: str, envoy_name: str) -> None:
        self.client = client
        response = client.post(
            "/api/v1/enrolments",
            json={"code": enrolment_code(db_path, envoy_name), "device_name": "测试手机"},
            headers=PROTOCOL,
        )
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        self.id = body["device_id"]
        self.envoy_id = body["envoy"]["id"]
        self.headers = {**PROTOCOL, "Authorization": f"Bearer {body['token']}"}
        self.seq = 0
        self.counter = 0

    def change(
        self,
        kind: str,
        fields: dict[str, Any],
        record_id: str | None = None,
        base: str | None = None,
    ) -> dict[str, Any]:
        self.seq += 1
        self.counter += 1
        change: dict[str, Any] = {
            "q": self.seq,
            "k": kind,
            "h": f"{wall_ms():013d}.{self.counter:05d}",
            "b": base,
            "f": fields,
        }
        if record_id:
            change["i"] = record_id
        return change

    def push(self, changes: list[dict[str, Any]]) -> dict[str, Any]:
        response = self.client.post(
            PUSH,
            data=gzip.compress(json.dumps({"changes": changes}).encode()),
            headers={
                **self.headers,
                "Content-Encoding": "gzip",
                "Content-Type": "application/json",
            },
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def pull(self, cursor: int = 0, limit: int = 2000, include_own: bool = False) -> dict[str, Any]:
        response = self.client.get(
            PULL,
            query_string={
                "cursor": cursor,
                "limit": limit,
                "include_own": str(include_own).lower(),
            },
            headers=self.headers,
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def pull_all(self, limit: int = 2000) -> list[dict[str, Any]]:
        records, cursor = [], 0
        while True:
            page = self.pull(cursor, limit)
            records += page["records"]
            cursor = page["cursor"]
            if not page["more"]:
                return records


def farmer_fields(name: str = "赵大", mobile: str | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": name, "village_code": VILLAGE_EAST}
    if mobile:
        fields["mobile"] = mobile
    return fields


def session_fields(envoy_id: str, unit_code: str = VILLAGE_EAST) -> dict[str, Any]:
    return {
        "kind": "village_training",
        "title": "马铃薯晚疫病防治",
        "unit_code": unit_code,
        "starts_at": "2026-05-10T02:00:00Z",
        "lead_envoy_id": envoy_id,
    }


def checkin_fields(session_id: str, farmer_id: str) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "farmer_id": farmer_id,
        "checked_in_at": "2026-05-10T02:10:00Z",
        "method": "qr_self",
    }


def row(db_path: str, table: str, record_id: str) -> dict[str, Any] | None:
    """A stored record as the server reads it back (full stamps, lists decoded)."""
    db = init_db(db_path)
    try:
        rows = list(db.query(f"SELECT * FROM [{table}] WHERE id = ?", [record_id]))
    finally:
        db.close()
    kind = next(kind for kind, name in p.TABLES.items() if name == table)
    return row_to_state(kind, rows[0]) if rows else None


@pytest.fixture
def zhang(client: FlaskClient, db_path: str) -> Device:
    return Device(client, db_path, "张三")


@pytest.fixture
def small_app(app: Flask, db_path: str) -> Flask:
    """The same database behind an app with tiny request limits."""
    return create_app(
        {
            "DATABASE": db_path,
            "TESTING": True,
            "MAX_CONTENT_LENGTH": 1024,
            "MAX_DECOMPRESSED_BYTES": 4096,
        }
    )


# ---------------------------------------------------------------- one error body


def test_404_body(client: FlaskClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json() == {
        "code": 404,
        "status": "Not Found",
        "message": "找不到该资源 / not found",
        "errors": {},
    }


def test_report_for_unknown_unit_is_404(client: FlaskClient, db_path: str) -> None:
    response = client.get("/api/v1/reports/2026?unit=530199", headers=report_token(db_path))
    assert response.get_json() == {
        "code": 404,
        "status": "Not Found",
        "message": "未知的区划代码 / unknown unit 530199",
        "errors": {"unit": "未知的区划代码 / unknown unit"},
    }


def test_any_tianjian_error_gets_the_one_error_body(app: Flask) -> None:
    """One handler, registered by create_app, answers every TianjianError on any route."""
    from shared.errors import TianjianError

    class Teapot(TianjianError):
        status = 418
        message = "我是茶壶 / I'm a teapot"

    @app.get("/api/raise/<kind>")
    def raising(kind: str) -> Any:
        if kind == "teapot":
            raise Teapot(errors={"pot": ["太热 / too hot"]})
        raise TianjianError("不行 / no")

    client = app.test_client()
    response = client.get("/api/raise/teapot")
    assert response.status_code == 418
    assert response.get_json() == {
        "code": 418,
        "status": "I'm a Teapot",
        "message": "我是茶壶 / I'm a teapot",
        "errors": {"pot": ["太热 / too hot"]},
    }
    plain = client.get("/api/raise/base")
    assert plain.status_code == 400
    assert plain.get_json() == {
        "code": 400,
        "status": "Bad Request",
        "message": "不行 / no",
        "errors": {},
    }


def test_report_for_a_year_out_of_range_is_404(client: FlaskClient, db_path: str) -> None:
    response = client.get("/api/v1/reports/20266", headers=report_token(db_path))
    assert response.status_code == 404
    body = response.get_json()
    assert body["code"] == 404 and body["errors"] == {}
    assert "20266" in body["message"] and "年" in body["message"]


@pytest.mark.parametrize("path", [PULL, "/api/v1/enrolments"])
def test_400_without_protocol_header(client: FlaskClient, path: str) -> None:
    response = client.get(PULL) if path == PULL else client.post(path, json={"code": "ABCD-EFGH"})
    assert response.status_code == 400
    assert response.get_json() == {
        "code": 400,
        "status": "Bad Request",
        "message": "缺少协议版本头 X-Tianjian-Protocol / missing X-Tianjian-Protocol header",
        "errors": {},
    }


def test_401_bad_token(client: FlaskClient) -> None:
    response = client.get(PULL, headers={**PROTOCOL, "Authorization": "Bearer not-a-real-token"})
    assert response.status_code == 401
    assert response.get_json() == {
        "code": 401,
        "status": "Unauthorized",
        "message": "设备令牌无效或已被撤销 / device token unknown or revoked",
        "errors": {},
    }


def test_401_without_token(client: FlaskClient) -> None:
    response = client.post(PUSH, json={"changes": []}, headers=PROTOCOL)
    assert response.status_code == 401
    assert response.get_json() == {
        "code": 401,
        "status": "Unauthorized",
        "message": "需要设备令牌，请先登记设备 / device token required: enrol this device first",
        "errors": {},
    }


def test_426_protocol_0_is_told_to_update(client: FlaskClient, zhang: Device) -> None:
    response = client.get(PULL, headers={**zhang.headers, p.HEADER_PROTOCOL: "0"})
    assert response.status_code == 426
    assert response.get_json() == {
        "code": 426,
        "status": "Upgrade Required",
        "message": "客户端版本过旧（协议 0），请更新田间客户端 / client too old (protocol 0); "
        "please update the field client to protocol 1",
        "errors": {},
    }


def test_422_malformed_envelope_names_index_and_field(
    client: FlaskClient, zhang: Device, db_path: str
) -> None:
    good = zhang.change(p.FARMER, farmer_fields(), new_id())
    broken = zhang.change(p.FARMER, farmer_fields(), new_id())
    del broken["h"]
    broken["q"] = "two"
    response = client.post(PUSH, json={"changes": [good, broken]}, headers=zhang.headers)
    assert response.status_code == 422
    assert response.get_json() == {
        "code": 422,
        "status": "Unprocessable Entity",
        "message": "变更的格式错误 / malformed change envelope",
        "errors": {
            "1": {
                "h": ["必填 / Missing data for required field."],
                "q": ["不是有效的整数 / Not a valid integer."],
            },
        },
    }
    # A broken envelope fails the whole batch: not even the good change is applied.
    assert row(db_path, "farmers", good["i"]) is None


def test_422_kind_that_is_not_text(client: FlaskClient, zhang: Device) -> None:
    # A list cannot be looked up among the kinds; it must be named, not crash the handler.
    change = zhang.change(p.FARMER, farmer_fields(), new_id())
    change["k"] = ["farmer"]
    response = client.post(PUSH, json={"changes": [change]}, headers=zhang.headers)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"0": {"k": ["不是有效的文字 / Not a valid string."]}}


def test_422_push_body_without_changes(client: FlaskClient, zhang: Device) -> None:
    response = client.post(PUSH, json={"records": []}, headers=zhang.headers)
    assert response.get_json() == {
        "code": 422,
        "status": "Unprocessable Entity",
        "message": '推送格式错误 / push body must be {"changes": [...]}',
        "errors": {"changes": ["必填 / Missing data for required field."]},
    }


def test_413_body_over_max_content_length(small_app: Flask, zhang: Device) -> None:
    client = small_app.test_client()
    response = client.post(PUSH, data=b"[" + b" " * 2000 + b"]", headers=zhang.headers)
    assert response.status_code == 413
    assert response.get_json() == {
        "code": 413,
        "status": "Request Entity Too Large",
        "message": "请求太大 / request too large",
        "errors": {},
    }


def test_413_gzip_bomb_over_max_decompressed_bytes(small_app: Flask, zhang: Device) -> None:
    client = small_app.test_client()
    bomb = gzip.compress(b'{"changes": [' + b" " * 1_000_000 + b"]}")
    assert len(bomb) < 1024
    response = client.post(PUSH, data=bomb, headers={**zhang.headers, "Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert response.get_json() == {
        "code": 413,
        "status": "Request Entity Too Large",
        "message": "解压后超过 4096 字节 / decompressed body exceeds 4096 bytes",
        "errors": {},
    }
    # Just under the cap is fine.
    small = gzip.compress(b'{"changes": [' + b" " * 3000 + b"]}")
    ok = client.post(PUSH, data=small, headers={**zhang.headers, "Content-Encoding": "gzip"})
    assert ok.status_code == 200, ok.get_json()


def test_400_invalid_json(client: FlaskClient, zhang: Device) -> None:
    response = client.post(PUSH, data=b'{"changes": [', headers=zhang.headers)
    assert response.status_code == 400
    body = response.get_json()
    assert (body["code"], body["status"], body["errors"]) == (400, "Bad Request", {})
    assert body["message"].startswith("请求体不是有效的 JSON / request body is not valid JSON: ")


def test_400_invalid_gzip(client: FlaskClient, zhang: Device) -> None:
    response = client.post(
        PUSH, data=b"this is not gzip", headers={**zhang.headers, "Content-Encoding": "gzip"}
    )
    assert response.status_code == 400
    assert response.get_json() == {
        "code": 400,
        "status": "Bad Request",
        "message": "请求体不是有效的 gzip / request body is not valid gzip",
        "errors": {},
    }


def test_server_still_answers_after_bad_requests(
    small_app: Flask, zhang: Device, db_path: str
) -> None:
    client = small_app.test_client()
    gz = {**zhang.headers, "Content-Encoding": "gzip"}
    assert client.post(PUSH, data=b"x" * 5000, headers=zhang.headers).status_code == 413
    assert client.post(PUSH, data=gzip.compress(b" " * 100_000), headers=gz).status_code == 413
    assert client.post(PUSH, data=b"\x1f\x8b garbage", headers=gz).status_code == 400
    assert client.post(PUSH, data=b"{", headers=zhang.headers).status_code == 400
    assert client.get(PULL, headers={**zhang.headers, p.HEADER_PROTOCOL: "0"}).status_code == 426
    farmer = zhang.change(p.FARMER, farmer_fields(), new_id())
    response = client.post(PUSH, json={"changes": [farmer]}, headers=zhang.headers)
    assert response.status_code == 200
    assert response.get_json()["applied"] == [[farmer["q"], farmer["q"]]]
    assert row(db_path, "farmers", farmer["i"])["name"] == "赵大"
    assert client.get("/api/openapi.json").status_code == 200


def test_openapi_lists_the_paths(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    assert set(spec["paths"]) == {
        "/api/v1/enrolments",
        "/api/v1/sync/push",
        "/api/v1/sync/pull",
        "/api/v1/reports/{year}",
        "/api/v1/reports/{year}/breakdown",
        "/api/v1/reconciliation/{year}",
        "/api/v1/reconciliation/{year}/ledger/{envoy_id}",
        "/api/v1/media/{sha256}",
        "/api/v1/upstream/enrol",
        "/api/v1/upstream/envoys",
        "/api/v1/upstream/targets",
        "/api/v1/upstream/catalogue",
        "/api/v1/upstream/merges",
        "/api/v1/upstream/reviews",
    }
    assert "post" in spec["paths"]["/api/v1/sync/push"]
    assert "get" in spec["paths"]["/api/v1/sync/pull"]


# ---------------------------------------------------------------- enrolment


FORBIDDEN_CODE = {
    "code": 403,
    "status": "Forbidden",
    "message": "登记码无效、已使用或已过期，请向科技局索取新码 / "
    "enrolment code unknown, used or expired: ask the bureau for a new one",
    "errors": {},
}


def test_enrolment_answers_once_per_code(client: FlaskClient, db_path: str) -> None:
    code = enrolment_code(db_path, "李梅")
    first = client.post("/api/v1/enrolments", json={"code": code.lower()}, headers=PROTOCOL)
    assert first.status_code == 201
    body = first.get_json()
    assert body["envoy"]["name"] == "李梅"
    assert body["envoy"]["township_codes"] == ["530102001000"]
    assert "13900139000" not in first.get_data(as_text=True)
    again = client.post("/api/v1/enrolments", json={"code": code}, headers=PROTOCOL)
    assert again.status_code == 403
    assert again.get_json() == FORBIDDEN_CODE


def test_enrolment_with_expired_or_unknown_code_is_403(client: FlaskClient, db_path: str) -> None:
    db = init_db(db_path)
    expired = devices.new_enrolment_code(db, devices.envoy_by_name(db, "王五")["id"], -1)
    db.conn.commit()
    db.close()
    for code in (expired, "ABCD-EFGH"):
        response = client.post("/api/v1/enrolments", json={"code": code}, headers=PROTOCOL)
        assert response.status_code == 403
        assert response.get_json() == FORBIDDEN_CODE


# ---------------------------------------------------------------- per-record answers


def test_one_bad_record_is_rejected_the_rest_applied(zhang: Device, db_path: str) -> None:
    good = [zhang.change(p.FARMER, farmer_fields(f"农户{n}"), new_id()) for n in range(2)]
    bad = zhang.change(p.FARMER, farmer_fields("坏号码", mobile="12345"), new_id())
    more = [zhang.change(p.FARMER, farmer_fields(f"农户{n}"), new_id()) for n in range(2, 4)]
    answer = zhang.push([*good, bad, *more])
    assert answer["applied"] == [[1, 2], [4, 5]]
    [rejected] = answer["answers"]
    assert (rejected["q"], rejected["s"]) == (3, p.REJECTED)
    assert "invalid fields" in rejected["r"]
    assert set(rejected["e"]) == {"mobile"}
    assert row(db_path, "farmers", bad["i"]) is None
    for change in (*good, *more):
        assert row(db_path, "farmers", change["i"])["name"] == change["f"]["name"]


def test_rejected_edit_writes_none_of_its_fields(zhang: Device, db_path: str) -> None:
    session_id = new_id()
    zhang.push([zhang.change(p.SESSION, session_fields(zhang.envoy_id), session_id)])
    base = row(db_path, "sessions", session_id)["hlc"]
    edit = zhang.change(p.SESSION, {"title": "新标题", "reported_headcount": -5}, session_id, base)
    [answer] = zhang.push([edit])["answers"]
    assert answer["s"] == p.REJECTED
    assert set(answer["e"]) == {"reported_headcount"}
    stored = row(db_path, "sessions", session_id)
    assert (stored["title"], stored["reported_headcount"], stored["hlc"]) == (
        "马铃薯晚疫病防治",
        None,
        base,
    )


def test_unknown_reference_data_is_rejected_naming_the_field(zhang: Device, db_path: str) -> None:
    fields = {**session_fields(zhang.envoy_id), "technology_ids": [new_id()]}
    [answer] = zhang.push([zhang.change(p.SESSION, fields, new_id())])["answers"]
    assert answer["s"] == p.REJECTED
    assert set(answer["e"]) == {"technology_ids"}


def test_update_to_another_envoys_record_is_rejected(
    client: FlaskClient, zhang: Device, db_path: str
) -> None:
    farmer_id, session_id = new_id(), new_id()
    zhang.push(
        [
            zhang.change(p.FARMER, farmer_fields("赵大"), farmer_id),
            zhang.change(p.SESSION, session_fields(zhang.envoy_id), session_id),
        ]
    )
    li = Device(client, db_path, "李梅")
    farmer_base = row(db_path, "farmers", farmer_id)["hlc"]
    session_base = row(db_path, "sessions", session_id)["hlc"]
    answer = li.push(
        [
            li.change(p.FARMER, {"name": "改名"}, farmer_id, farmer_base),
            li.change(p.SESSION, {"title": "我的培训"}, session_id, session_base),
            # Naming herself lead does not make another envoy's session hers.
            li.change(p.SESSION, {"lead_envoy_id": li.envoy_id}, session_id, session_base),
            li.change(p.FARMER, farmer_fields("钱二"), new_id()),
        ]
    )
    assert answer["applied"] == [[4, 4]]
    reasons = {a["q"]: a["r"] for a in answer["answers"] if a["s"] == p.REJECTED}
    assert set(reasons) == {1, 2, 3}
    assert "belongs to another envoy" in reasons[1]
    assert "led or co-run by this envoy" in reasons[2]
    assert row(db_path, "farmers", farmer_id)["name"] == "赵大"
    session = row(db_path, "sessions", session_id)
    assert (session["title"], session["lead_envoy_id"]) == ("马铃薯晚疫病防治", zhang.envoy_id)
    # The owner may still edit it.
    edit = zhang.change(p.SESSION, {"title": "新标题"}, session_id, session_base)
    assert zhang.push([edit])["applied"] == [[edit["q"], edit["q"]]]
    assert row(db_path, "sessions", session_id)["title"] == "新标题"


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        (p.UNIT, {"code": "530102003", "name": "新乡", "level": "township"}),
        (
            p.TARGET,
            {
                "year": 2026,
                "unit_code": "530102",
                "indicator": "tv_lectures",
                "comparator": ">=",
                "value": 0,
            },
        ),
        (p.FARMER_ALIAS, {"canonical_id": new_id()}),
        (p.LEAFLET_TITLE, {"title": "私印资料"}),
    ],
)
def test_reference_kinds_flow_down_only(
    zhang: Device, db_path: str, kind: str, fields: dict[str, Any]
) -> None:
    refused_change = zhang.change(kind, fields, new_id())
    farmer = zhang.change(p.FARMER, farmer_fields(), new_id())
    answer = zhang.push([refused_change, farmer])
    assert answer["applied"] == [[2, 2]]
    [refused] = answer["answers"]
    assert (refused["q"], refused["s"]) == (1, p.REJECTED)
    assert "flows down only" in refused["r"]
    db = init_db(db_path)
    assert db.execute("SELECT count(*) FROM units WHERE name = '新乡'").fetchone()[0] == 0
    assert (
        db.execute("SELECT value FROM targets WHERE indicator = 'tv_lectures'").fetchone()[0] == 2
    )
    db.close()


def test_attendance_before_its_session_is_held_then_applied(zhang: Device, db_path: str) -> None:
    farmer_id, session_id = new_id(), new_id()
    farmer = zhang.change(p.FARMER, farmer_fields(), farmer_id)
    checkin = zhang.change(p.ATTENDANCE, checkin_fields(session_id, farmer_id))
    answer = zhang.push([farmer, checkin])
    assert answer["applied"] == [[1, 1]]
    assert answer["answers"] == [{"q": 2, "s": p.HELD}]
    record_id = attendance_id(session_id, farmer_id)
    assert row(db_path, "attendances", record_id) is None
    headers = report_token(db_path)
    report = zhang.client.get("/api/v1/reports/2026", headers=headers).get_json()
    assert report["indicators"][0]["actual"] == 0

    session = zhang.change(p.SESSION, session_fields(zhang.envoy_id), session_id)
    assert zhang.push([session])["applied"] == [[3, 3]]
    stored = row(db_path, "attendances", record_id)
    assert stored is not None and stored["deleted"] == 0
    report = zhang.client.get("/api/v1/reports/2026", headers=headers).get_json()
    assert report["indicators"][0]["actual"] == 1
    # The held change is now remembered as applied: sending it again is a duplicate.
    assert zhang.push([checkin])["answers"] == [{"q": 2, "s": p.DUPLICATE}]


# ---------------------------------------------------------------- pull


def test_pull_pages_with_cursor_and_more(zhang: Device, client: FlaskClient, db_path: str) -> None:
    zhang.push([zhang.change(p.FARMER, farmer_fields(f"农户{n}"), new_id()) for n in range(7)])
    li = Device(client, db_path, "李梅")
    everything = li.pull(0, 5000)
    assert everything["more"] is False
    cursor, paged, pages = 0, [], 0
    while True:
        page = li.pull(cursor, 4)
        pages += 1
        assert len(page["records"]) <= 4
        paged += page["records"]
        assert page["cursor"] >= cursor
        cursor = page["cursor"]
        if not page["more"]:
            break
        assert len(page["records"]) == 4
    assert pages == -(-len(everything["records"]) // 4)
    assert paged == everything["records"]
    assert cursor == everything["cursor"]
    names = sorted(r["r"]["name"] for r in paged if r["k"] == p.FARMER)
    assert names == [f"农户{n}" for n in range(7)]
    # Nothing new: an empty page that keeps the cursor.
    assert li.pull(cursor) == {**li.pull(cursor), "records": [], "more": False, "cursor": cursor}


def test_pull_is_scoped_to_the_envoys_townships(
    zhang: Device, client: FlaskClient, db_path: str
) -> None:
    farmer_id, session_id = new_id(), new_id()
    zhang.push(
        [
            zhang.change(p.FARMER, farmer_fields("赵大", mobile="13612345678"), farmer_id),
            zhang.change(p.SESSION, session_fields(zhang.envoy_id), session_id),
            zhang.change(p.ATTENDANCE, checkin_fields(session_id, farmer_id)),
            zhang.change(
                p.LEAFLET_HANDOUT,
                {
                    "leaflet_title_id": LEAFLET_POTATO,
                    "copies": 20,
                    "session_id": session_id,
                    "handed_out_at": "2026-05-10T03:00:00Z",
                },
                new_id(),
            ),
        ]
    )
    wang = Device(client, db_path, "王五")
    south_session = new_id()
    wang.push([wang.change(p.SESSION, session_fields(wang.envoy_id, VILLAGE_SOUTH), south_session)])

    wang_kinds = {record["k"] for record in wang.pull_all(limit=3)}
    assert wang_kinds.isdisjoint({p.FARMER, p.SESSION, p.ATTENDANCE, p.LEAFLET_HANDOUT}), (
        "王五 must not receive records of 张三's township"
    )
    assert {p.UNIT, p.ENVOY, p.TECHNOLOGY, p.TARGET} <= wang_kinds

    li = Device(client, db_path, "李梅")
    li_field = {(r["k"], r["r"]["id"]) for r in li.pull_all() if r["k"] in p.FIELD_KINDS}
    assert (p.FARMER, farmer_id) in li_field
    assert (p.SESSION, session_id) in li_field
    assert (p.ATTENDANCE, attendance_id(session_id, farmer_id)) in li_field
    assert (p.SESSION, south_session) not in li_field

    # A device does not pull back what it created, unless it asks to.
    own = {r["r"].get("id") for r in zhang.pull(0)["records"]}
    assert farmer_id not in own
    with_own = {r["r"].get("id") for r in zhang.pull(0, include_own=True)["records"]}
    assert {farmer_id, session_id} <= with_own


def test_envoy_mobiles_never_in_pull_output(zhang: Device, client: FlaskClient) -> None:
    response = client.get(PULL, query_string={"limit": 5000}, headers=zhang.headers)
    text = response.get_data(as_text=True)
    envoys = [r["r"] for r in response.get_json()["records"] if r["k"] == p.ENVOY]
    assert sorted(e["name"] for e in envoys) == ["张三", "李梅", "王五"]
    assert all("mobile" not in envoy for envoy in envoys)
    for mobile in ENVOY_MOBILES:
        assert mobile not in text
