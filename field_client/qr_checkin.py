"""Farmers checking themselves in: session codes and windows, QR tokens, cards, returning phones."""

from __future__ import annotations

import json
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

from field_client import local, phones
from field_client import operations as ops
from field_client.checkin_codes import (
    new_card_code,
    normalise_card_code,
    session_token,
    token_matches,
)
from field_client.mobiles import farmers_with_mobile
from field_client.store import FieldStore
from shared import protocol as p
from shared.checkin_rules import (
    DEFAULT_MARGIN_MINUTES,
    MAX_MARGIN_MINUTES,
    CheckinRefused,
    Expired,
    ForgedToken,
    NotYetOpen,
    OtherSessionToken,
    SessionDeleted,
    Window,
    window,
)
from shared.clock import CHINA, parse_iso, to_iso
from shared.errors import TianjianError
from shared.ids import attendance_id

# A session's code, typed by farmers who cannot scan: eight digits (90 million), so that with
# wrong codes slowed per address and per device (checkin_limits) guessing an open one is
# impractical. Codes given before were four digits: they still open with the poster's QR token.
CODE_DIGITS = 8


class UnknownCode(CheckinRefused):
    status = 404
    reason = "unknown_code"
    message = (
        "没有这个签到码，请核对海报上的数字，或请特派员帮您签到 / "
        "no session has this code: check the number on the poster or ask the envoy"
    )


class UnknownCard(CheckinRefused):
    status = 404
    reason = "unknown_card"
    message = "未知的签到卡，请核对或在名单上勾选 / unknown card: check it or use the roster"


class MistypedCard(CheckinRefused):
    status = 422
    reason = "mistyped_card"
    message = "签到卡号有误（校验位不符），请重新扫描 / card code misread: scan it again"


@dataclass(frozen=True)
class Poster:
    session: dict[str, Any]
    code: str
    token: str
    margin_minutes: int
    window: Window
    # Opened by the code typed alone (no QR token): its check-ins are marked `typed_code`.
    typed: bool = False


@dataclass(frozen=True)
class Checkin:
    farmer: dict[str, Any]
    new: bool
    checked_in_at: str


# ------------------------------------------------------------------ keys


def checkin_keys(store: FieldStore) -> list[bytes]:
    """Keys that sign posters: the server's (from enrolment or sync) first, then a local one.

    A device that has no key from the server yet signs with one of its own, so posters can be
    printed offline; tokens signed with it stay valid after the server's key arrives.
    """
    keys = []
    server_key = store.get("checkin_key")
    if server_key:
        keys.append(server_key.encode())
    local_key = store.get("checkin_key_local")
    if local_key:
        keys.append(local_key.encode())
    if not keys:
        keys.append(local.secret(store, "checkin_key_local").encode())
    return keys


# ------------------------------------------------------------------ sessions


def poster(store: FieldStore, session_id: str, margin_minutes: int | None = None) -> Poster:
    """The session's code, token and window; a code is given the first time it is asked for."""
    session = store.record(p.SESSION, session_id)
    if session is None or session.get("deleted"):
        raise SessionDeleted()
    if margin_minutes is not None and not 0 <= margin_minutes <= MAX_MARGIN_MINUTES:
        raise TianjianError(
            f"宽限时间应在 0-{MAX_MARGIN_MINUTES} 分钟之间 / margin must be 0-{MAX_MARGIN_MINUTES} minutes",
            {"margin_minutes": "0-1440"},
        )
    with store.transaction() as db:
        row = db.execute(
            "SELECT code, margin_minutes FROM checkin_sessions WHERE session_id = ?", [session_id]
        ).fetchone()
        if row is None:
            code = _free_code(store)
            margin = DEFAULT_MARGIN_MINUTES if margin_minutes is None else margin_minutes
            db.execute(
                "INSERT INTO checkin_sessions (session_id, code, margin_minutes, created_at) "
                "VALUES (?, ?, ?, ?)",
                [session_id, code, margin, store.best_now_iso()],
            )
        else:
            code, margin = row
            if margin_minutes is not None and margin_minutes != margin:
                margin = margin_minutes
                db.execute(
                    "UPDATE checkin_sessions SET margin_minutes = ? WHERE session_id = ?",
                    [margin, session_id],
                )
    token = session_token(checkin_keys(store)[0], session_id)
    return Poster(session, code, token, margin, window(session, margin))


def _free_code(store: FieldStore) -> str:
    """CODE_DIGITS digits no session still open for check-in on this device uses."""
    now = parse_iso(store.best_now_iso())
    taken = set()
    for session_id, code, margin in store.db.execute(
        "SELECT session_id, code, margin_minutes FROM checkin_sessions"
    ):
        session = store.record(p.SESSION, session_id)
        if session and not session.get("deleted") and window(session, margin).closes >= now:
            taken.add(code)
    for _ in range(1000):
        low = 10 ** (CODE_DIGITS - 1)
        code = f"{secrets.randbelow(9 * low) + low}"
        if code not in taken:
            return code
    raise TianjianError("签到码已用完 / no free session code left")


def open_checkin(store: FieldStore, code: str, token: str | None) -> Poster:
    """The session a farmer's address names, or CheckinRefused saying why not.

    The QR carries the code and a token; a farmer typing the address types the code alone,
    which must have CODE_DIGITS digits (spaces, dashes and full-width digits allowed).
    """
    code = typed_code(code) if token is None else code.strip()
    if token is None and len(code) != CODE_DIGITS:
        raise UnknownCode()
    found = local.rows(
        store,
        "SELECT session_id, margin_minutes FROM checkin_sessions WHERE code = ? "
        "ORDER BY created_at DESC",
        [code],
    )
    if not found:
        raise UnknownCode()
    now = parse_iso(store.best_now_iso())
    candidates = []
    for row in found:
        session = store.record(p.SESSION, row["session_id"])
        if session is not None:
            candidates.append((session, row["margin_minutes"]))
    keys = checkin_keys(store)
    if token is not None:
        signed = [(s, m) for s, m in candidates if token_matches(keys, s["id"], token)]
        if not signed:
            others = local.rows(store, "SELECT session_id FROM checkin_sessions", [])
            if any(token_matches(keys, row["session_id"], token) for row in others):
                raise OtherSessionToken()
            raise ForgedToken()
        candidates = signed
    if not candidates:
        raise UnknownCode()
    live = [(s, m) for s, m in candidates if not s.get("deleted")]
    if not live:
        raise SessionDeleted()
    for session, margin in live:
        span = window(session, margin)
        if span.opens <= now <= span.closes:
            own = session_token(keys[0], session["id"])
            return Poster(session, code, own, margin, span, typed=token is None)
    session, margin = live[0]
    if now < window(session, margin).opens:
        raise NotYetOpen()
    raise Expired()


# ------------------------------------------------------------------ check-ins


def typed_code(text: str) -> str:
    """A session code as a farmer typed it: full-width digits, spaces and dashes allowed."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch not in " -\t")


def checkin(
    store: FieldStore,
    session_id: str,
    farmer_id: str,
    method: str,
    phone: str | None = None,
    marks: dict[str, Any] | None = None,
) -> Checkin:
    """Check a farmer in; a repeat adds nothing and answers with the first check-in's time.
    `marks`: a self check-in's `net` and `typed_code` (field_client/phones.py)."""
    farmer = store.record(p.FARMER, farmer_id)
    if farmer is None or farmer.get("deleted"):
        raise UnknownCard("找不到这位学员 / no such farmer on this device")
    done = ops.check_in(store, session_id, farmer_id, method=method, phone=phone, marks=marks)
    return Checkin(farmer, done.new, done.checked_in_at)


def self_checkin(
    store: FieldStore,
    session_id: str,
    cookie: str,
    farmer_id: str | None = None,
    new_farmer: dict[str, Any] | None = None,
    address: str | None = None,
    typed: bool = False,
) -> Checkin:
    """A farmer checking in from their own phone: registered first when new, checked in, and
    the phone remembered; all in one transaction (one commit). `address`: the client's network
    address, kept only as a keyed hash (`net`); `typed`: opened by the code typed alone."""
    with store.transaction():
        if farmer_id is None:
            if new_farmer is None:
                raise TianjianError("须指明学员 / name the farmer")
            farmer_id = register_farmer(store, new_farmer)
        key = local.secret(store, phones.PHONE_KEY)
        phone = phones.checkin_phone(key, local.phone_hash(cookie))
        marks = phones.checkin_marks(key, address, typed)
        done = checkin(store, session_id, farmer_id, "qr_self", phone, marks)
        remember_phone(store, cookie, session_id, farmer_id, done.new)
    return done


def is_checked_in(store: FieldStore, session_id: str, farmer_id: str) -> bool:
    attendance = store.record(p.ATTENDANCE, attendance_id(session_id, farmer_id))
    return attendance is not None and not attendance.get("deleted")


def farmer_with_mobile(store: FieldStore, mobile: str) -> dict[str, Any] | None:
    """The farmer with this (normalised) number: one of this envoy's by the number, else one of
    another envoy's, held masked, by the mask and its hash."""
    found = farmers_with_mobile(store, mobile)
    return found[0] if found else None


class MobileTaken(CheckinRefused):
    status = 409
    reason = "mobile_taken"
    message = (
        "这个手机号已有人登记，未签到。如是您本人，请在上方输入手机号并填写登记时的姓名，"
        "或请特派员帮您签到 / this number is already registered: nobody was checked in. If it "
        "is yours, type it above with your name as registered, or ask the envoy"
    )


def register_farmer(store: FieldStore, values: dict[str, Any]) -> str:
    """A new farmer; refused (MobileTaken) when someone already has that mobile: a farmer
    found by a typed number must prove who they are first (self_proof.claim)."""
    if values.get("mobile") and farmer_with_mobile(store, values["mobile"]) is not None:
        raise MobileTaken()
    return ops.register_farmer(
        store,
        name=values["name"],
        village=values["village_code"],
        mobile=values.get("mobile"),
        gender=values.get("gender"),
        birth_year=values.get("birth_year"),
    )


# ------------------------------------------------------------------ phones


def new_phone_cookie() -> str:
    return secrets.token_urlsafe(18)


def farmers_of_phone(store: FieldStore, cookie: str | None) -> list[dict[str, Any]]:
    """Farmers this phone checked in before (a family may share one phone)."""
    if not cookie:
        return []
    found = []
    for row in local.rows(
        store,
        "SELECT farmer_id FROM phone_farmers WHERE phone_hash = ? ORDER BY first_at",
        [local.phone_hash(cookie)],
    ):
        farmer = store.record(p.FARMER, row["farmer_id"])
        if farmer is not None and not farmer.get("deleted"):
            found.append(farmer)
    return found


def remember_phone(
    store: FieldStore, cookie: str, session_id: str, farmer_id: str, made_checkin: bool
) -> None:
    """The phone a farmer checked in from: offered the farmer next time, and, when it made the
    check-in, kept beside it (a hash of its cookie), so one phone checking many in shows."""
    hashed, now = local.phone_hash(cookie), store.best_now_iso()
    with store.transaction() as db:
        db.execute(
            "INSERT OR IGNORE INTO phone_farmers (phone_hash, farmer_id, first_at) "
            "VALUES (?, ?, ?)",
            [hashed, farmer_id, now],
        )
        if not made_checkin:
            return
        db.execute(
            "INSERT OR IGNORE INTO checkin_phones (attendance_id, session_id, phone_hash, at) "
            "VALUES (?, ?, ?, ?)",
            [attendance_id(session_id, farmer_id), session_id, hashed, now],
        )


def phone_of_checkin(store: FieldStore, session_id: str, farmer_id: str) -> str | None:
    """The hash of the phone that made a qr_self check-in, if one did."""
    row = store.db.execute(
        "SELECT phone_hash FROM checkin_phones WHERE attendance_id = ?",
        [attendance_id(session_id, farmer_id)],
    ).fetchone()
    return str(row[0]) if row else None


# ------------------------------------------------------------------ cards


def issue_cards(store: FieldStore, farmer_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """Each farmer's card (an existing one is kept, so a reprint matches the card in hand)."""
    issued = []
    with store.transaction() as db:
        for farmer_id in farmer_ids:
            farmer = store.record(p.FARMER, farmer_id)
            if farmer is None or farmer.get("deleted"):
                continue
            row = db.execute(
                "SELECT code FROM cards WHERE farmer_id = ? AND revoked = 0", [farmer_id]
            ).fetchone()
            if row:
                issued.append((row[0], farmer))
                continue
            while True:
                code = new_card_code()
                if not db.execute("SELECT 1 FROM cards WHERE code = ?", [code]).fetchone():
                    break
            db.execute(
                "INSERT INTO cards (code, farmer_id, issued_at, revoked) VALUES (?, ?, ?, 0)",
                [code, farmer_id, to_iso(parse_iso(store.best_now_iso()))],
            )
            issued.append((code, farmer))
    return issued


def farmer_of_card(store: FieldStore, text: str) -> dict[str, Any]:
    code = normalise_card_code(text)
    if code is None:
        raise MistypedCard()
    row = store.db.execute(
        "SELECT farmer_id FROM cards WHERE code = ? AND revoked = 0", [code]
    ).fetchone()
    farmer = store.record(p.FARMER, row[0]) if row else None
    if farmer is None or farmer.get("deleted"):
        raise UnknownCard()
    return farmer


# ------------------------------------------------------------------ reading


def sessions_from_today(store: FieldStore) -> list[dict[str, Any]]:
    """This device's sessions starting today or later (China time), and any still open."""
    today = ops.today(store)
    found = []
    for session in store.records(p.SESSION):
        starts = parse_iso(session["starts_at"]).astimezone(CHINA).date()
        if starts >= today or not session.get("closed"):
            found.append(session)
    return sorted(found, key=lambda s: s["starts_at"])


def session_attendances(store: FieldStore, session_id: str) -> list[dict[str, Any]]:
    """A session's check-ins (not undone). Their ids begin with the session's (shared.ids),
    so a range over the primary key finds them without reading every check-in."""
    prefix = session_id[:18]
    found = []
    for (data,) in store.db.execute(
        "SELECT data FROM records WHERE kind = ? AND id >= ? AND id < ? AND deleted = 0",
        [p.ATTENDANCE, prefix, prefix + "~"],
    ):
        attendance = json.loads(data)
        if attendance["session_id"] == session_id:
            found.append(attendance)
    return found
