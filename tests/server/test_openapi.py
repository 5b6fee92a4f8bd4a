"""The API's own description: a client that follows only /api/openapi.json can enrol, push what
the field client sends and pull; every 405 says which methods are allowed."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from openapi_schema_validator import OAS30Validator
from werkzeug.test import TestResponse

from field_client.push_body import encode as _encode
from field_client.store import FieldStore
from shared import device_report
from shared import protocol as p
from shared.schemas.types import UUID_PATTERN
from tests.helpers import VILLAGE_EAST, enrolment_code

METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def validator(spec: dict[str, Any], schema: dict[str, Any]) -> OAS30Validator:
    """A validator for one schema of the document, its $refs resolved within the document."""
    return OAS30Validator({**schema, "components": spec["components"]})


def assert_valid(spec: dict[str, Any], schema: dict[str, Any], instance: Any) -> None:
    errors = [error.message for error in validator(spec, schema).iter_errors(instance)]
    assert errors == [], errors


def is_valid(spec: dict[str, Any], schema: dict[str, Any], instance: Any) -> bool:
    return validator(spec, schema).is_valid(instance)


def parameters(spec: dict[str, Any], path: str, method: str) -> list[dict[str, Any]]:
    """The operation's parameters and its path's, references resolved."""
    found = []
    for parameter in spec["paths"][path].get("parameters", []) + spec["paths"][path][method].get(
        "parameters", []
    ):
        if "$ref" in parameter:
            parameter = spec["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        found.append(parameter)
    return found


def documented_headers(
    spec: dict[str, Any], path: str, method: str, token: str | None
) -> dict[str, str]:
    """What the document says to send: each required header (its example), and the
    credentials its security scheme names."""
    headers = {
        parameter["name"]: str(parameter["example"])
        for parameter in parameters(spec, path, method)
        if parameter["in"] == "header" and parameter.get("required")
    }
    for requirement in spec["paths"][path][method].get("security", []):
        for name in requirement:
            scheme = spec["components"]["securitySchemes"][name]
            assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
            assert token is not None
            headers["Authorization"] = f"Bearer {token}"
    return headers


def call(
    client: FlaskClient,
    spec: dict[str, Any],
    path: str,
    method: str,
    token: str | None = None,
    **kwargs: Any,
) -> TestResponse:
    headers = {**documented_headers(spec, path, method, token), **kwargs.pop("headers", {})}
    response = client.open(path, method=method.upper(), headers=headers, **kwargs)
    documented = spec["paths"][path][method]["responses"]
    assert str(response.status_code) in documented, (response.status_code, response.get_json())
    content = documented[str(response.status_code)].get("content", {}).get("application/json")
    if content:
        assert_valid(spec, content["schema"], response.get_json())
    return response


def test_the_document_names_the_bearer_scheme_and_the_protocol_header(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    for path, method in [
        ("/api/v1/sync/push", "post"),
        ("/api/v1/sync/pull", "get"),
        ("/api/v1/reports/{year}", "get"),
    ]:
        (requirement,) = spec["paths"][path][method]["security"]
        (name,) = requirement
        assert schemes[name]["type"] == "http" and schemes[name]["scheme"] == "bearer"
    for path, method in [
        ("/api/v1/sync/push", "post"),
        ("/api/v1/sync/pull", "get"),
        ("/api/v1/enrolments", "post"),
    ]:
        headers = {
            parameter["name"]: parameter
            for parameter in parameters(spec, path, method)
            if parameter["in"] == "header"
        }
        assert headers[p.HEADER_PROTOCOL]["required"] is True
        assert headers[p.HEADER_PROTOCOL]["schema"]["type"] == "integer"


def test_the_documented_push_body_is_what_the_field_client_sends(
    spec: dict[str, Any], tmp_path: Path
) -> None:
    store = FieldStore(str(tmp_path / "field.db"))
    envoy = "e0e0e0e0-0000-4000-8000-000000000001"
    store.save_enrolment(
        "http://127.0.0.1:9/",
        {
            "device_id": "d0d0d0d0-0000-4000-8000-000000000001",
            "token": "t",
            "envoy": {"id": envoy, "name": "x"},
        },
        0,
    )
    farmer = store.create(p.FARMER, {"name": "赵大", "village_code": VILLAGE_EAST})
    session = store.create(
        p.SESSION,
        {
            "kind": "village_training",
            "title": "马铃薯晚疫病防治",
            "unit_code": VILLAGE_EAST,
            "starts_at": "2026-05-10T10:00:00",
            "lead_envoy_id": envoy,
        },
    )
    store.checkin(session, farmer, "roster")
    store.update(p.FARMER, farmer, {"name": "赵大山"})
    body = json.loads(gzip.decompress(_encode(store.pending(100))))
    store.close()
    assert len(body["changes"]) == 4
    schema = spec["paths"]["/api/v1/sync/push"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    assert_valid(spec, schema, body)
    # The schema says something: one change alone, or changes that are not changes, fail it.
    assert not is_valid(spec, schema, body["changes"][0])
    assert not is_valid(spec, schema, {"changes": [{"q": 1}]})
    assert not is_valid(spec, schema, {"changes": [{**body["changes"][0], "q": "one"}]})


def test_a_client_following_the_document_enrols_pushes_and_pulls(
    client: FlaskClient, spec: dict[str, Any], db_path: str, tmp_path: Path
) -> None:
    enrolment = {"code": enrolment_code(db_path, "张三"), "device_name": "文档客户端"}
    enrol_schema = spec["paths"]["/api/v1/enrolments"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    assert_valid(spec, enrol_schema, enrolment)
    answer = call(client, spec, "/api/v1/enrolments", "post", json=enrolment).get_json()

    store = FieldStore(str(tmp_path / "field.db"))
    store.save_enrolment("http://127.0.0.1:9/", answer, 0)
    farmer = store.create(p.FARMER, {"name": "赵大", "village_code": VILLAGE_EAST})
    body = gzip.decompress(_encode(store.pending(100)))
    store.close()
    pushed = call(
        client,
        spec,
        "/api/v1/sync/push",
        "post",
        token=answer["token"],
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert pushed.status_code == 200 and pushed.get_json()["applied"] == [[1, 1]]
    pulled = call(
        client,
        spec,
        "/api/v1/sync/pull",
        "get",
        token=answer["token"],
        query_string={"cursor": 0, "include_own": "true"},
    ).get_json()
    assert farmer in {r["r"]["id"] for r in pulled["records"] if r["k"] == p.FARMER}
    # Leaving out what the document calls required is refused, as documented.
    refused = client.get(
        "/api/v1/sync/pull", headers={"Authorization": f"Bearer {answer['token']}"}
    )
    assert refused.status_code == 400


def test_every_405_says_which_methods_are_allowed(
    client: FlaskClient, spec: dict[str, Any]
) -> None:
    checked = 0
    for path, operations in spec["paths"].items():
        documented = {method for method in operations if method in METHODS}
        concrete = path.replace("{year}", "2026")
        for method in set(METHODS) - documented:
            response = client.open(concrete, method=method.upper())
            assert response.status_code == 405, (path, method)
            allowed = {m.strip().lower() for m in response.headers["Allow"].split(",")}
            assert allowed - {"head", "options"} == documented, (path, allowed)
            assert response.get_json()["message"] == "不支持此请求方法 / method not allowed"
            checked += 1
    assert checked >= 12


# ------------------------------------- the document is never looser than the server (19.15)


def test_envoy_ids_are_documented_as_uuids(spec: dict[str, Any]) -> None:
    for path in (
        "/api/v1/reports/{year}",
        "/api/v1/reports/{year}/breakdown",
        "/api/v1/reconciliation/{year}",
    ):
        (envoy,) = [q for q in parameters(spec, path, "get") if q["name"] == "envoy"]
        assert envoy["schema"]["format"] == "uuid"
        assert envoy["schema"]["pattern"] == UUID_PATTERN
        (unit,) = [q for q in parameters(spec, path, "get") if q["name"] == "unit"]
        # ASCII digits: a JSON Schema \d is, but Python's \d also takes "٣".
        assert unit["schema"]["pattern"] == "^[0-9]{2,12}$"


def test_the_headers_carry_their_grammar(spec: dict[str, Any]) -> None:
    headers = {
        q["name"]: q["schema"]
        for q in parameters(spec, "/api/v1/sync/pull", "get")
        if q["in"] == "header"
    }
    assert headers[p.HEADER_DEVICE_REPORT]["pattern"] == device_report.PATTERN
    assert headers[p.HEADER_DEVICE_REPORT]["maxLength"] == device_report.MAX_LENGTH
    assert headers[p.HEADER_PROTOCOL]["maximum"] == 999_999


def test_enrolment_documents_the_device_name_rule(
    client: FlaskClient, spec: dict[str, Any], db_path: str
) -> None:
    schema = spec["paths"]["/api/v1/enrolments"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    for name in ("\x1b[2J", "手机\x07", "\u200b"):
        body = {"code": enrolment_code(db_path, "张三"), "device_name": name}
        assert not is_valid(spec, schema, body), name
        refused = client.post(
            "/api/v1/enrolments", json=body, headers={p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION)}
        )
        assert refused.status_code == 422
    assert is_valid(spec, schema, {"code": "12345678", "device_name": "张三的手机 (Redmi)"})
