"""Staff reviews of field records: 通过, 有问题 or 退回 with a note, one present review per record,
each change audited and given a new server_seq so it flows down to the envoy's devices."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema
from sqlite_utils import Database

from server.accounts import audit
from server.store.county_links import check_editable
from server.store.db import next_server_seq, write_transaction
from server.summaries import keep as summaries_kept
from shared import protocol as p
from shared import review_status as rs
from shared.clock import to_iso, utc_now
from shared.errors import TianjianError
from shared.ids import new_id

if TYPE_CHECKING:
    from server.accounts.users import User

MAX_NOTE = 1000
# Deleted records may be reviewed too: a session deleted after check-ins were kept at it is
# exactly what staff may want to question, and the review says so rather than vanishing.


class InvalidReview(TianjianError):
    status = 422
    message = "审核内容有误，未保存 / invalid review, nothing saved"


class UnknownRecord(TianjianError):
    status = 404

    def __init__(self, record_kind: str, record_id: str) -> None:
        super().__init__(
            f"找不到该记录 / no such record: {record_kind} {record_id}",
            {"record_id": "没有这条记录 / no such record"},
        )


class ReviewNotAllowed(TianjianError):
    status = 403
    message = "只有工作人员和管理员可以审核 / only staff and admins may review records"


class ReviewForm(Schema):
    """A review as the page's form (or any caller) gives it."""

    record_kind = fields.String(
        required=True,
        validate=validate.OneOf(
            p.FIELD_KINDS,
            error="记录类型须为 {choices} / record kind must be one of {choices}",
        ),
    )
    record_id = fields.String(required=True, validate=validate.Length(1, 64))
    status = fields.String(
        required=True,
        validate=validate.OneOf(
            rs.STAFF_CHOICES,
            error="审核结果须为 通过、有问题 或 退回 / status must be one of {choices}",
        ),
        error_messages={"required": "请选择审核结果 / choose a status"},
    )
    note = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(
            max=MAX_NOTE, error=f"说明最多 {MAX_NOTE} 字 / note at most {MAX_NOTE} characters"
        ),
    )

    @pre_load
    def _blank_note(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("note"), str):
            data = {**data, "note": data["note"].strip() or None}
        return data

    @validates_schema
    def _note_when_doubted(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("status") in (rs.QUESTIONED, rs.RETURNED) and not data.get("note"):
            raise ValidationError(
                "标为“有问题”或“退回”时须写明原因 / a questioned or returned record needs a note",
                "note",
            )


@dataclass(frozen=True)
class Review:
    """A record's present review."""

    id: str
    record_kind: str
    record_id: str
    envoy_id: str | None
    status: str
    note: str | None
    reviewed_by: str | None
    reviewed_at: str | None
    server_seq: int

    @property
    def label(self) -> tuple[str, str]:
        return rs.LABELS.get(self.status, (self.status, self.status))

    def logged(self) -> dict[str, Any]:
        """What the audit log keeps of it."""
        return {"status": self.status, "note": self.note}


def validate_review(values: dict[str, Any]) -> dict[str, Any]:
    """The form's fields loaded, or InvalidReview naming each bad field in both languages."""
    try:
        return dict(ReviewForm().load(values))
    except ValidationError as exc:
        messages = exc.normalized_messages()
        errors = {
            str(key): "; ".join(map(str, value)) if isinstance(value, list) else str(value)
            for key, value in messages.items()
        }
        listed = "; ".join(f"{key}: {reason}" for key, reason in errors.items())
        raise InvalidReview(
            f"审核内容有误，未保存 / invalid review, nothing saved: {listed}", errors
        ) from exc


def record_owner(db: Database, record_kind: str, record_id: str) -> dict[str, Any] | None:
    """The record's envoy and whether it is deleted, or None when there is no such record."""
    if record_kind not in p.FIELD_KINDS:
        return None
    row = db.execute(
        f'SELECT envoy_id, deleted FROM "{p.TABLES[record_kind]}" WHERE id = ?', [record_id]
    ).fetchone()
    return {"envoy_id": row[0], "deleted": bool(row[1])} if row else None


def may_review(user: User | str) -> bool:
    """Staff and admins review; the command line acts for the bureau; envoys never do."""
    return isinstance(user, str) or user.role in ("admin", "staff")


def set_review(
    db: Database,
    user: User | str,
    record_kind: str,
    record_id: str,
    status: str,
    note: str | None = None,
) -> Review:
    """Set the record's review (replacing any before it) and audit it, in one transaction."""
    if not may_review(user):
        raise ReviewNotAllowed()
    loaded = validate_review(
        {"record_kind": record_kind, "record_id": record_id, "status": status, "note": note}
    )
    kind, rid = loaded["record_kind"], loaded["record_id"]
    with write_transaction(db):
        owner = record_owner(db, kind, rid)
        if owner is None:
            raise UnknownRecord(kind, rid)
        # A county's copy on its province is reviewed (and returned) by that county only.
        check_editable(db, kind, rid)
        before = review_of(db, kind, rid)
        review = Review(
            id=before.id if before else new_id(),
            record_kind=kind,
            record_id=rid,
            envoy_id=owner["envoy_id"],
            status=loaded["status"],
            note=loaded["note"],
            reviewed_by=user if isinstance(user, str) else user.name,
            reviewed_at=to_iso(utc_now()),
            server_seq=next_server_seq(db),
        )
        store_review(db, review)
        after = review.logged()
        if owner["deleted"]:
            after["record_deleted"] = True
        audit.record(db, user, audit.REVIEW, kind, rid, before.logged() if before else None, after)
    return review


def mark_corrected(db: Database, record_kind: str, record_id: str, by: str) -> bool:
    """A returned record the envoy has since changed: 已更正待复核, inside the caller's write
    transaction (the push that brought the change); True when it was returned."""
    before = review_of(db, record_kind, record_id)
    if before is None or before.status != rs.RETURNED:
        return False
    review = Review(**{**asdict(before), "status": rs.CORRECTED, "server_seq": next_server_seq(db)})
    store_review(db, review)
    audit.record(
        db, by, audit.REVIEW_CORRECTED, record_kind, record_id, before.logged(), review.logged()
    )
    return True


def store_review(db: Database, review: Review) -> None:
    """Write the record's review and move its figures, inside the caller's write transaction."""
    with summaries_kept.writing(db):
        # Moving a record in or out of question moves figures: recompute where it counts.
        summaries_kept.record_changed(db, review.record_kind, review.record_id)
        _write_review(db, review)


def _write_review(db: Database, review: Review) -> None:
    db.execute(
        "INSERT INTO reviews (id, record_kind, record_id, envoy_id, status, note, reviewed_by, "
        "reviewed_at, server_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(record_kind, record_id) DO UPDATE SET envoy_id = excluded.envoy_id, "
        "status = excluded.status, note = excluded.note, reviewed_by = excluded.reviewed_by, "
        "reviewed_at = excluded.reviewed_at, server_seq = excluded.server_seq",
        [
            review.id,
            review.record_kind,
            review.record_id,
            review.envoy_id,
            review.status,
            review.note,
            review.reviewed_by,
            review.reviewed_at,
            review.server_seq,
        ],
    )


def review_of(db: Database, record_kind: str, record_id: str) -> Review | None:
    """The record's present review, or None when nobody has reviewed it."""
    rows = list(
        db.query(
            "SELECT id, record_kind, record_id, envoy_id, status, note, reviewed_by, "
            "reviewed_at, server_seq FROM reviews WHERE record_kind = ? AND record_id = ?",
            [record_kind, record_id],
        )
    )
    return Review(**rows[0]) if rows else None


def history_of(db: Database, record_kind: str, record_id: str) -> list[audit.Entry]:
    """Every review the record has had, newest first, from the audit log."""
    return audit.entries_for(db, record_kind, record_id, (audit.REVIEW, audit.REVIEW_CORRECTED))
