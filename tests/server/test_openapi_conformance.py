"""schemathesis's conformance checks over every endpoint of /api/openapi.json, against the real
server over HTTP on loopback on a real SQLite file: data the document calls valid is accepted,
what it calls invalid is refused, every answer's status, content type, headers and body are what
the document says, and nothing answers 5xx. A fixed number of examples per endpoint and mode,
derandomised: the same cases on every run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, assume, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server import create_app
from shared import protocol as p
from tests.helpers import LiveServer, enrolment_code, load_demo_reference, report_token

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    positive_data_acceptance,
    negative_data_rejection,
]
EXAMPLES = 12


@pytest.fixture(scope="module")
def served(module_db_path: str) -> Iterator[dict[str, Any]]:
    """The real server on loopback over the demo county, a report API token and an enrolled
    device's token."""
    db_path = module_db_path
    create_app({"DATABASE": db_path})
    load_demo_reference(db_path)
    api_token = report_token(db_path)["Authorization"]
    server = LiveServer(db_path).start()
    try:
        enrolled = requests.post(
            f"{server.url}/api/v1/enrolments",
            json={"code": enrolment_code(db_path, "张三"), "device_name": "一致性测试"},
            headers={p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION)},
            timeout=10,
        )
        assert enrolled.status_code == 201, enrolled.text
        yield {
            "url": server.url,
            "api": api_token,
            "device": f"Bearer {enrolled.json()['token']}",
        }
    finally:
        server.stop()


@pytest.fixture(scope="module")
def api_schema(served: dict[str, Any]) -> Any:
    # schemathesis's list, and 426: a protocol older than the server speaks is refused so.
    rejection = [
        "400",
        "401",
        "403",
        "404",
        "405",
        "406",
        "409",
        "415",
        "422",
        "426",
        "428",
        "429",
        "5xx",
    ]
    config = SchemathesisConfig.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": rejection}}}
    )
    return schemathesis.openapi.from_url(f"{served['url']}/api/openapi.json", config=config)


def operations(api_schema: Any) -> list[Any]:
    return [result.ok() for result in api_schema.get_all_operations()]


def unique_sequence_numbers(body: Any) -> bool:
    changes = body.get("changes") if isinstance(body, dict) else None
    if not isinstance(changes, list):
        return True
    numbers = [change.get("q") for change in changes if isinstance(change, dict)]
    return len(numbers) == len(set(map(repr, numbers)))


def check(operation: Any, mode: GenerationMode, auth: dict[str, str]) -> None:
    """EXAMPLES derandomised cases of one operation, each sent and checked; raises on failure."""

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def conforms(case: Any) -> None:
        if mode == GenerationMode.POSITIVE and operation.path == "/api/v1/sync/push":
            # The one rule of the body JSON Schema cannot say, so its description does.
            assume(unique_sequence_numbers(case.body))
        case.call_and_validate(headers=auth, checks=CHECKS, timeout=10)

    conforms()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_endpoint_answers_as_documented(
    api_schema: Any, served: dict[str, Any], mode: GenerationMode
) -> None:
    failures: dict[str, str] = {}
    for operation in operations(api_schema):
        by_device = operation.path.startswith(("/api/v1/sync", "/api/v1/media"))
        token = served["device"] if by_device else served["api"]
        auth = {} if operation.path == "/api/v1/enrolments" else {"Authorization": token}
        try:
            check(operation, mode, auth)
        except (Exception, BaseExceptionGroup) as exc:  # every operation tried, failures listed
            failures[operation.label] = str(exc)[:3000]
    assert not failures, "\n\n".join(f"{label}: {why}" for label, why in failures.items())


def test_every_endpoint_is_covered(api_schema: Any, db_path: str) -> None:
    app = create_app({"DATABASE": db_path})
    documented = {operation.path for operation in operations(api_schema)}
    served_paths = {
        str(rule.rule)
        .replace("<int:year>", "{year}")
        .replace("<envoy_id>", "{envoy_id}")
        .replace("<sha256>", "{sha256}")
        for rule in app.url_map.iter_rules()
        if str(rule.rule).startswith("/api/v1/")
    }
    assert documented == served_paths
