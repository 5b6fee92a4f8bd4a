"""On a county: enrolling with the province, and forwarding what changed since the cursor."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from typing import Any

import requests
from sqlite_utils import Database

from server.plan.province_targets import take_province_targets
from server.reference.county_envoys import envoy_id_up
from server.reference.province_catalogue import take_province_catalogue
from server.store.db import write_transaction
from server.store.records import row_to_state, table_of
from server.store.sql_text import in_chunks
from server.sync.devices import check_server_url
from server.upstream.accept import HEADER_ENVOY
from shared import protocol as p
from shared.clock import to_iso, utc_now
from shared.errors import TianjianError
from shared.schemas.field import data_fields

# What goes up: every field record, photos' records included (their bytes follow through the
# media API: server/upstream/photos_up.py). Reviews are the county's own decisions and stay there.
FORWARDED_KINDS = p.FIELD_KINDS
# Changes per push: well under the province's MAX_BATCH_CHANGES default.
CHUNK = 500
TIMEOUT_S = 60.0


class NotLinked(TianjianError):
    """`upstream push` or `status` on a county that has not enrolled with its province."""

    status = 409
    message = (
        "本县尚未与省级服务器建立上报链接，请先运行 tianjian-server upstream enroll / this "
        "county has no link to its province: run tianjian-server upstream enroll first"
    )


class AlreadyLinked(TianjianError):
    """`upstream enroll` on a county already linked."""

    status = 409
    message = "本县已与省级服务器建立上报链接 / this county is already linked to its province"


class ProvinceUnreachable(TianjianError):
    """The province did not answer, or answered with an error; nothing moved past the cursor."""

    status = 502

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"省级服务器未应答，稍后再试（进度已保存）/ the province did not answer; try again "
            f"later (progress is kept): {detail}"
        )


class ProvinceRefused(TianjianError):
    """The province refused the request: its own (bilingual) reason is passed on as it said it."""

    status = 409

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"省级服务器拒绝 (HTTP {status}) / the province refused: {message}")
        self.province_status = status


@dataclass
class Forwarded:
    """What one `upstream push` did: changes sent, refused by the province, and held there."""

    sent: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    held: int = 0
    cursor: int = 0


def link_of(db: Database) -> dict[str, Any]:
    row = list(db.query("SELECT * FROM upstream_link WHERE id = 1"))
    if not row:
        raise NotLinked()
    return row[0]


def call_province(method: str, url: str, **options: Any) -> dict[str, Any]:
    headers = {p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION), **options.pop("headers", {})}
    try:
        response = requests.request(method, url, headers=headers, timeout=TIMEOUT_S, **options)
        answer = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProvinceUnreachable(type(exc).__name__) from exc
    if 400 <= response.status_code < 500:
        raise ProvinceRefused(response.status_code, str(answer.get("message", "")))
    if response.status_code >= 500:
        raise ProvinceUnreachable(f"HTTP {response.status_code}")
    return answer  # type: ignore[no-any-return]


def enroll(db: Database, url: str, code: str, name: str = "") -> dict[str, Any]:
    """Trade the province's code for this county's link; kept in upstream_link."""
    base = check_server_url(url).rstrip("/")
    if list(db.query("SELECT id FROM upstream_link")):
        raise AlreadyLinked()
    answer = call_province(
        "POST", f"{base}/api/v1/upstream/enrol", json={"code": code, "name": name or "county"}
    )
    with write_transaction(db):
        db.execute(
            "INSERT INTO upstream_link (id, url, county_code, device_id, token, enrolled_at) "
            "VALUES (1, ?, ?, ?, ?, ?)",
            [base, answer["county_code"], answer["device_id"], answer["token"], to_iso(utc_now())],
        )
    return {"county_code": answer["county_code"], "device_id": answer["device_id"]}


def pending(db: Database, cursor: int, limit: int) -> list[tuple[int, str, dict[str, Any]]]:
    """Up to `limit` records changed after the cursor, in server_seq order."""
    found: list[tuple[int, str, dict[str, Any]]] = []
    for kind in FORWARDED_KINDS:
        for row in db.query(
            f"SELECT * FROM [{table_of(kind)}] WHERE server_seq > ? ORDER BY server_seq LIMIT ?",
            [cursor, limit],
        ):
            found.append((row["server_seq"], kind, row))
    found.sort(key=lambda item: item[0])
    return found[:limit]


def as_change(
    seq: int, kind: str, row: dict[str, Any], up: dict[str, str] | None = None
) -> dict[str, Any]:
    """A stored record as the change that makes the province's copy the same: every field, at
    the record's own stamp, numbered by its server_seq here (so a replay is a duplicate); the
    envoys a session names under their ids on the province (`up`, local id -> province's)."""
    state = row_to_state(kind, row)
    values = {name: state[name] for name in data_fields(kind) if name in state}
    if kind == p.SESSION and up is not None:
        values["lead_envoy_id"] = up.get(values["lead_envoy_id"], values["lead_envoy_id"])
        values["co_envoy_ids"] = [up.get(one, one) for one in values.get("co_envoy_ids") or []]
    values["deleted"] = bool(state.get("deleted"))
    stamp = ".".join(str(state["hlc"]).split(".")[:2])
    return {"q": seq, "k": kind, "i": state["id"], "h": stamp, "f": values}


def _named_envoys(rows: list[tuple[int, str, dict[str, Any]]]) -> set[str]:
    """The envoys these records name: who made each, and a session's lead and co-envoys."""
    named: set[str] = set()
    for _seq, kind, row in rows:
        named.add(row.get("envoy_id") or "")
        if kind == p.SESSION:
            named.add(row.get("lead_envoy_id") or "")
            named.update(json.loads(row.get("co_envoy_ids") or "[]"))
    return named - {""}


def envoys_up(db: Database, county_code: str, ids: set[str]) -> dict[str, dict[str, Any]]:
    """These envoys as the province knows them, by their id here: their id there
    (`envoy_id_up`: county and name), name and townships."""
    # in_chunks asks nothing for no ids: PostgreSQL refuses an empty `IN ()`, which SQLite takes.
    return {
        row["id"]: {
            "id": envoy_id_up(county_code, row["name"]),
            "name": row["name"],
            "township_codes": json.loads(row["tc"] or "[]"),
        }
        for chunk, marks in in_chunks(sorted(ids))
        for row in db.query(
            f'SELECT "id", "name", "township_codes" AS tc FROM "envoys" WHERE "id" IN ({marks})',
            chunk,
        )
    }


def push_once(db: Database, limit: int = CHUNK) -> Forwarded:
    """Forward everything changed since the cursor, a chunk at a time, moving the cursor after
    each chunk the province answered; a cut leaves the cursor where the last answer put it."""
    link = link_of(db)
    done = Forwarded(cursor=link["cursor"])
    try:
        _forward(db, link, done, limit)
    except TianjianError as exc:
        # Kept for `upstream status`: a timer's run has no one watching its output.
        with write_transaction(db):
            db.execute("UPDATE upstream_link SET last_error = ? WHERE id = 1", [exc.message])
        raise
    note = _refusal_note(done)
    if link["last_error"] != note:
        with write_transaction(db):
            db.execute("UPDATE upstream_link SET last_error = ? WHERE id = 1", [note])
    return done


def _forward(db: Database, link: dict[str, Any], done: Forwarded, limit: int) -> None:
    auth = {"Authorization": f"Bearer {link['token']}"}
    while rows := pending(db, done.cursor, limit):
        named = envoys_up(db, link["county_code"], _named_envoys(rows))
        if named:
            call_province(
                "POST",
                f"{link['url']}/api/v1/upstream/envoys",
                json={"envoys": list(named.values())},
                headers=auth,
            )
        up = {local: envoy["id"] for local, envoy in named.items()}
        by_envoy: dict[str, list[dict[str, Any]]] = {}
        for seq, kind, row in rows:
            envoy_id = row.get("envoy_id") or ""
            change = as_change(seq, kind, row, up)
            by_envoy.setdefault(up.get(envoy_id, envoy_id), []).append(change)
        for envoy_id, changes in by_envoy.items():
            body = gzip.compress(json.dumps({"changes": changes}, ensure_ascii=False).encode())
            answer = call_province(
                "POST",
                f"{link['url']}/api/v1/sync/push",
                data=body,
                headers={
                    **auth,
                    HEADER_ENVOY: envoy_id,
                    "Content-Type": "application/json",
                    "Content-Encoding": "gzip",
                },
            )
            for item in answer.get("answers", []):
                if item["s"] == p.REJECTED:
                    done.refused.append(item)
                elif item["s"] == p.HELD:
                    done.held += 1
            done.sent += len(changes)
        done.cursor = rows[-1][0]
        with write_transaction(db):
            db.execute(
                "UPDATE upstream_link SET cursor = ?, last_forward_at = ?, last_error = ? "
                "WHERE id = 1",
                [done.cursor, to_iso(utc_now()), _refusal_note(done)],
            )


def _refusal_note(done: Forwarded) -> str | None:
    if not done.refused:
        return None
    first = done.refused[0]
    return f"{len(done.refused)} 条被省级拒收 / refused by the province; q={first['q']}: {first.get('r')}"


def keep_answers(
    db: Database, cursor_column: str, rows: list[dict[str, Any]], answers: list[str], done: Any
) -> None:
    """Count the province's answers to rows sent in server_seq order into `done` (a dataclass
    with a field per outcome) and move `upstream_link.<cursor_column>` past each answered row,
    stopping at the first "later": that row and those after it go again next run."""
    cursor = None
    for number, (row, outcome) in enumerate(zip(rows, answers, strict=False)):
        if outcome == "later":
            done.later = len(rows) - number
            break
        setattr(done, outcome, getattr(done, outcome) + 1)
        cursor = row["server_seq"]
    if cursor is not None:
        with write_transaction(db):
            db.execute(f'UPDATE "upstream_link" SET "{cursor_column}" = ? WHERE "id" = 1', [cursor])


@dataclass(frozen=True)
class TakenDown:
    """What came down the link: targets written and removed, catalogue rows written and
    handed back to the county (the province no longer lists them)."""

    targets: tuple[int, int]
    catalogue: tuple[int, int]


def pull_down(db: Database) -> TakenDown:
    """Take what the province owns for this county: its targets (server/plan/province_targets.py)
    and its catalogue (server/reference/province_catalogue.py), read-only here
    (server/store/province_rows.py)."""
    link = link_of(db)
    auth = {"Authorization": f"Bearer {link['token']}"}
    targets = call_province("GET", f"{link['url']}/api/v1/upstream/targets", headers=auth)
    catalogue = call_province("GET", f"{link['url']}/api/v1/upstream/catalogue", headers=auth)
    return TakenDown(
        take_province_targets(db, list(targets.get("targets", []))),
        take_province_catalogue(db, list(catalogue.get("catalogue", []))),
    )


@dataclass(frozen=True)
class LinkStatus:
    """What `upstream status` shows: where the link points and what waits to go up."""

    url: str
    county_code: str
    cursor: int
    waiting: dict[str, int]
    last_forward_at: str | None
    last_error: str | None


def status(db: Database) -> LinkStatus:
    link = link_of(db)
    waiting = {}
    for kind in FORWARDED_KINDS:
        count = db.execute(
            f"SELECT count(*) FROM [{table_of(kind)}] WHERE server_seq > ?", [link["cursor"]]
        ).fetchone()[0]
        if count:
            waiting[kind] = int(count)
    return LinkStatus(
        link["url"],
        link["county_code"],
        link["cursor"],
        waiting,
        link["last_forward_at"],
        link["last_error"],
    )
