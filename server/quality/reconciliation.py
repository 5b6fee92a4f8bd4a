"""Figures set side by side so doubtful ones show: leaflet stock per envoy and title, headcounts
beside named check-ins (issue 14, reconciliation). Grouped queries; pages and the API call these."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from server import settings
from server.figures import counted
from server.figures.counted import Scope, envoys_in_unit
from server.quality import flags
from server.quality.flags import FlagRules
from server.quality.shared_phones import shared_phone_rows
from server.store import dialect
from shared.clock import to_iso

# A session's reported headcount counts as far above its check-ins beyond this factor.
HEADCOUNT_FACTOR = 2.0


@dataclass(frozen=True)
class LeafletLine:
    """One envoy's stock of one title: received and handed out up to the end of the year."""

    envoy_id: str
    envoy: str
    title_id: str
    title: str
    received: int
    handed_out: int
    in_hand: int
    over: bool


@dataclass(frozen=True)
class HeadcountLine:
    """One session's reported headcount beside its named check-ins."""

    session_id: str
    title: str
    kind: str
    unit_code: str
    starts_at: str
    envoy_id: str
    envoy: str
    reported: int | None
    checked_in: int
    verified_share: float | None
    doubtful: bool


@dataclass(frozen=True)
class EnvoyHeadcount:
    """One envoy's sessions in scope: headcounts reported, check-ins named, the share verified."""

    envoy_id: str
    envoy: str
    sessions: int
    reported: int
    checked_in: int
    verified_share: float | None
    doubtful_sessions: int


def _leaflet_sql(scope: Scope, engine: dialect.Engine, paged: bool = False) -> str:
    """`leaflets`' query; `paged`: one :limit/:offset page, each row with the count of all."""
    # The unit's envoys first (a few dozen of a province's thousands), then only their moves:
    # testing each of the province's moves against the unit took seconds (scripts/bench report).
    envoy = " AND e.id = :envoy" if scope.envoy_id else ""
    mine = "envoy_id IN (SELECT id FROM ue)"
    return (
        "WITH ue AS MATERIALIZED (SELECT e.id, e.name FROM envoys e "
        f"WHERE {envoys_in_unit(scope, engine)}{envoy}), moves AS ("
        "SELECT envoy_id, leaflet_title_id AS title_id, copies AS received, 0 AS out "
        f"FROM leaflet_receipts r WHERE {counted.live('r')} AND received_on < :day_end AND {mine} "
        "UNION ALL SELECT envoy_id, leaflet_title_id, 0, copies FROM leaflet_handouts h "
        f"WHERE {counted.live('h')} AND {dialect.unindexed(engine, 'handed_out_at')} < :end "
        f"AND {mine}) "
        "SELECT m.envoy_id, ue.name, m.title_id, coalesce(lt.title, m.title_id), "
        f"sum(m.received), sum(m.out){', count(*) OVER ()' if paged else ''} "
        "FROM moves m JOIN ue ON ue.id = m.envoy_id "
        "LEFT JOIN leaflet_titles lt ON lt.id = m.title_id "
        # Envoy and title ids after the names: the page shows these a page at a time.
        "GROUP BY m.envoy_id, ue.name, m.title_id, lt.title ORDER BY ue.name, 1, 4, 3"
        + (" LIMIT :limit OFFSET :offset" if paged else "")
    )


def _leaflet_line(
    envoy_id: str, name: str, title_id: str, title: str, received: int, out: int
) -> LeafletLine:
    return LeafletLine(
        envoy_id, name, title_id, title, received, out, received - out, out > received
    )


def leaflets(db: Database, scope: Scope) -> list[LeafletLine]:
    """Per envoy of the unit and title: copies received and handed out up to the end of the
    scope's year (stock carries over from year to year), in hand, and `over` when more were
    handed out than received. Each envoy's whole stock, not a share: stock is the envoy's."""
    sql = _leaflet_sql(scope, dialect.engine_of(db))
    return [_leaflet_line(*row) for row in db.execute(sql, counted.params(scope))]


def leaflet_page(
    db: Database, scope: Scope, limit: int, offset: int
) -> tuple[list[LeafletLine], int]:
    """`limit` of `leaflets`' lines from `offset` on, in the same order, and how many lines
    there are in all (a nation's 55,000 are neither read nor made into lines for a page)."""
    engine = dialect.engine_of(db)
    params = {**counted.params(scope), "limit": limit, "offset": offset}
    rows, total = _page_rows(
        db, _leaflet_sql(scope, engine, paged=True), _leaflet_sql(scope, engine), params
    )
    return [_leaflet_line(*row[:6]) for row in rows], total


def _page_rows(
    db: Database, paged: str, whole: str, params: dict[str, Any]
) -> tuple[list[Any], int]:
    """The rows of a `paged` query (:limit from :offset, each row ending with the count of all)
    and that count; past the last row, where no row carries it, the `whole` query counted."""
    rows = db.execute(paged, params).fetchall()
    if rows:
        return rows, int(rows[0][-1])
    if params["offset"] == 0:
        return [], 0
    return [], int(db.execute(f"SELECT count(*) FROM ({whole}) AS q", params).fetchone()[0])


def _share(checked_in: int, reported: int | None) -> float | None:
    if not reported:
        return None
    return round(min(checked_in / reported, 1.0), 3)


def headcounts(db: Database, scope: Scope) -> list[HeadcountLine]:
    """Every session of the scope (TV lectures aside: their audience is an estimate) with its
    reported headcount, named check-ins (people, merged farmers once) and the verified share;
    `doubtful` when the headcount is above HEADCOUNT_FACTOR times the check-ins (a headcount
    with no names at all included)."""
    engine = dialect.engine_of(db)
    sql = (
        "SELECT s.id, s.title, s.kind, s.unit_code, s.starts_at, s.lead_envoy_id, "
        "coalesce(e.name, s.lead_envoy_id), s.reported_headcount, "
        # A session's check-ins through the unique index on their ids (see server/figures/count.py:
        # attendances has no index on session_id); the unit's range, not the year's, drives.
        f"(SELECT count(DISTINCT {counted.person_of('a', 'fa')}) FROM attendances a "
        f"{dialect.indexed_by(engine, 'idx_attendances_id')} "
        "LEFT JOIN farmer_aliases fa ON fa.id = a.farmer_id "
        "WHERE a.id >= substr(s.id, 1, 18) AND a.id < substr(s.id, 1, 18) || '.' "
        f"AND a.session_id = s.id AND {counted.checkin_counts('a')}) "
        "FROM sessions s LEFT JOIN envoys e ON e.id = s.lead_envoy_id "
        f"WHERE {counted.counted_sessions(scope, 's', '+', engine)} AND {counted.trains('s')} "
        "ORDER BY s.starts_at, s.id"
    )
    lines = []
    for row in db.execute(sql, scope.params()):
        session_id, title, kind, unit, starts, envoy_id, name, reported, checked = row
        doubtful = reported is not None and reported > HEADCOUNT_FACTOR * checked
        lines.append(
            HeadcountLine(
                session_id,
                title,
                kind,
                unit,
                starts,
                envoy_id,
                name,
                reported,
                checked,
                _share(checked, reported),
                doubtful,
            )
        )
    return lines


def headcounts_by_envoy(lines: list[HeadcountLine]) -> list[EnvoyHeadcount]:
    """The sessions' lines summed per lead envoy (shares over sessions with a headcount)."""
    tallies: dict[str, dict[str, Any]] = {}
    for line in lines:
        tally = tallies.setdefault(
            line.envoy_id,
            {
                "envoy": line.envoy,
                "sessions": 0,
                "reported": 0,
                "checked_in": 0,
                "named_with_headcount": 0,
                "doubtful": 0,
            },
        )
        tally["sessions"] += 1
        tally["checked_in"] += line.checked_in
        tally["doubtful"] += line.doubtful
        if line.reported is not None:
            tally["reported"] += line.reported
            tally["named_with_headcount"] += min(line.checked_in, line.reported)
    return [
        EnvoyHeadcount(
            envoy_id,
            t["envoy"],
            t["sessions"],
            t["reported"],
            t["checked_in"],
            _share(t["named_with_headcount"], t["reported"]),
            t["doubtful"],
        )
        for envoy_id, t in sorted(tallies.items(), key=lambda item: item[1]["envoy"])
    ]


@dataclass(frozen=True)
class CheckinLine:
    """A check-in listed, never refused: outside its session's window, at a deleted session, or
    from a phone that checked many farmers in at its session."""

    attendance_id: str
    session_id: str
    session: str
    envoy_id: str
    envoy: str
    farmer_id: str
    checked_in_at: str
    starts_at: str
    ends_at: str | None
    reason: str  # 'outside_window', 'deleted_session' or 'shared_phone'
    minutes_off: int | None  # how far outside the window (None for the other reasons)
    # shared_phone: the phone's hash (never a number) and how many farmers it checked in there.
    phone: str | None = None
    phone_farmers: int | None = None


@dataclass(frozen=True)
class DeviceLine:
    """An enrolled, unrevoked device silent longer than the setting (last contact)."""

    device_id: str
    device: str
    envoy_id: str
    envoy: str
    last_seen_at: str | None
    days_silent: int  # since last contact, or since enrolment if it never synced
    # Changes the device last reported waiting in its outbox, and when (None: never reported).
    waiting: int | None
    reported_at: str | None


def _checkin_sql(scope: Scope, engine: dialect.Engine, paged: bool = False) -> str:
    """`checkins`' query of the check-ins outside their window or at a deleted session;
    `paged`: one :limit/:offset page, each row with the count of all."""
    envoy = " AND lead_envoy_id = :envoy" if scope.envoy_id else ""
    early = dialect.days_between(engine, "s.starts_at", "a.checked_in_at")
    late = dialect.days_between(engine, "a.checked_in_at", "coalesce(s.ends_at, s.starts_at)")
    off = (
        f"CASE WHEN {early} > :margin / 1440.0 THEN {early} * 1440 "
        f"WHEN {late} > :margin / 1440.0 THEN {late} * 1440 END"
    )
    # The unit's sessions first (deleted ones too), then each one's check-ins through the
    # index on their ids: joined the other way SQLite read all the province's check-ins.
    return (
        "WITH s AS MATERIALIZED (SELECT id, title, lead_envoy_id, starts_at, ends_at, deleted "
        "FROM sessions WHERE unit_code >= :lo AND unit_code < :hi AND starts_at >= :start "
        f"AND starts_at < :end{envoy}) "
        f"SELECT *{', count(*) OVER ()' if paged else ''} FROM (SELECT a.id AS attendance_id, "
        "s.id, s.title, s.lead_envoy_id, "
        "coalesce(e.name, s.lead_envoy_id), a.farmer_id, a.checked_in_at, s.starts_at, "
        f"s.ends_at, s.deleted, {off} AS off FROM s "
        f"{counted.session_checkins(engine)} AND {counted.live('a')} "
        "LEFT JOIN envoys e ON e.id = s.lead_envoy_id) AS c "
        # The check-in's id last: several made in one second keep their order page to page.
        "WHERE deleted = 1 OR off IS NOT NULL ORDER BY starts_at, checked_in_at, attendance_id"
        + (" LIMIT :limit OFFSET :offset" if paged else "")
    )


def _checkin_line(row: Any) -> CheckinLine:
    attendance, session, title, envoy_id, name, farmer, at, starts, ends = row[:9]
    deleted, minutes = row[9:11]
    return CheckinLine(
        attendance,
        session,
        title,
        envoy_id,
        name,
        farmer,
        at,
        starts,
        ends,
        "deleted_session" if deleted else "outside_window",
        None if deleted else round(minutes),
    )


def _shared_phone_lines(
    db: Database, scope: Scope, shared_phone_farmers: int | None
) -> list[CheckinLine]:
    if shared_phone_farmers is None:
        shared_phone_farmers = int(settings.default("CHECKIN_SHARED_PHONE_FARMERS"))
    return [CheckinLine(*row) for row in shared_phone_rows(db, scope, shared_phone_farmers)]


def checkins(
    db: Database, scope: Scope, margin_minutes: int, shared_phone_farmers: int | None = None
) -> list[CheckinLine]:
    """Check-ins of the scope's sessions that are doubtful: made more than `margin_minutes`
    before the session starts or after it ends (a session without an end time: after it
    starts), kept at a session since deleted, or made from a phone that checked in at least
    `shared_phone_farmers` (default: the setting) distinct farmers at the session (listed after
    the others, server/quality/shared_phones.py). Listed only; the figures keep them as they are."""
    sql = _checkin_sql(scope, dialect.engine_of(db))
    params = {**scope.params(), "margin": margin_minutes}
    lines = [_checkin_line(row) for row in db.execute(sql, params)]
    return lines + _shared_phone_lines(db, scope, shared_phone_farmers)


@dataclass(frozen=True)
class CheckinPage:
    """`limit` of `checkins`' lines from an offset on, how many there are in all, and whether
    any of all is a shared phone's (the page then shows the column saying how many farmers)."""

    lines: list[CheckinLine]
    total: int
    shared_phones: bool


def checkin_page(
    db: Database,
    scope: Scope,
    margin_minutes: int,
    shared_phone_farmers: int | None,
    limit: int,
    offset: int,
) -> CheckinPage:
    """A page of `checkins`, in the same order: the check-ins outside their window read only
    for the page (a nation's 50,000), then the shared phones' lines after them."""
    engine = dialect.engine_of(db)
    params = {**scope.params(), "margin": margin_minutes, "limit": limit, "offset": offset}
    rows, outside = _page_rows(
        db, _checkin_sql(scope, engine, paged=True), _checkin_sql(scope, engine), params
    )
    lines = [_checkin_line(row) for row in rows]
    shared = _shared_phone_lines(db, scope, shared_phone_farmers)
    first = max(0, offset - outside)
    lines += shared[first : first + limit - len(lines)]
    return CheckinPage(lines, outside + len(shared), bool(shared))


def silent_devices(db: Database, scope: Scope, now: datetime, days: int) -> list[DeviceLine]:
    """Unrevoked devices whose last contact (or enrolment, if never synced) is more than
    `days` before `now`; of the scope's envoy, or of envoys serving the scope's unit; each with
    the changes it last reported waiting in its outbox (sent with every sync)."""
    params = {
        **counted.params(scope),
        "cutoff": to_iso(now - timedelta(days=days)),
        "now": to_iso(now),
    }
    envoy = " AND d.envoy_id = :envoy" if scope.envoy_id else ""
    engine = dialect.engine_of(db)
    serving = (
        f" AND EXISTS (SELECT 1 FROM {dialect.json_each(engine, 'e.township_codes', 't')} "
        "WHERE t.value >= :tlo AND t.value < :thi)"
        if scope.prefix
        else ""
    )
    silent = dialect.days_between(engine, ":now", "coalesce(d.last_seen_at, d.enrolled_at)")
    sql = (
        "SELECT d.id, d.name, d.envoy_id, coalesce(e.name, d.envoy_id), d.last_seen_at, "
        f"{dialect.truncated(engine, silent)}, "
        "d.outbox_waiting, d.reported_at FROM devices d LEFT JOIN envoys e ON e.id = d.envoy_id WHERE d.revoked_at IS NULL "
        f"AND coalesce(d.last_seen_at, d.enrolled_at) < :cutoff{envoy}{serving} "
        "ORDER BY coalesce(d.last_seen_at, d.enrolled_at), d.id"
    )
    return [DeviceLine(*row) for row in db.execute(sql, params)]


def as_row(line: Any) -> dict[str, Any]:
    """A line's fields as a dict: `asdict`'s result for these flat lines, without its deep copy
    of every value (most of the time of a nation's 120,000 lines)."""
    return dict(vars(line))


def reconcile(
    db: Database,
    scope: Scope,
    margin_minutes: int,
    silent_days: int,
    now: datetime,
    rules: FlagRules | None = None,
    shared_phone_farmers: int | None = None,
    whole: bool = True,
) -> dict[str, Any]:
    """The reconciliation JSON of a scope: leaflets, headcounts (sessions and per envoy),
    doubtful check-ins, silent devices and flagged records (not `whole`: no leaflets or
    check-ins, which a page reads a page at a time)."""
    sessions = headcounts(db, scope)
    return {
        "year": scope.year,
        "unit": scope.prefix or None,
        "envoy_id": scope.envoy_id,
        "leaflets": [as_row(line) for line in leaflets(db, scope)] if whole else [],
        "headcounts": {
            "sessions": [as_row(line) for line in sessions],
            "envoys": [as_row(line) for line in headcounts_by_envoy(sessions)],
            "factor": HEADCOUNT_FACTOR,
        },
        "checkins": [
            as_row(line) for line in checkins(db, scope, margin_minutes, shared_phone_farmers)
        ]
        if whole
        else [],
        "devices": [as_row(line) for line in silent_devices(db, scope, now, silent_days)],
        "flags": [asdict(flag) for flag in flags.flags(db, scope, now, rules or FlagRules())],
    }
