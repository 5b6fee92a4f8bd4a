"""Flags on sessions whose farmers' own check-ins look made by a machine, not a queue of people
(issue 18): none depends on the phone's cookie, which a script changes at will. Flags, never
refusals: a family shares a phone, a crowd arrives at once. docs/report.md, "Flags", says how
each is computed; the thresholds are settings (server/settings.py, CHECKIN_*).

- shared_address: one client network address (the check-in's `net`, a keyed hash made on the
  device, migration m011) checked in CHECKIN_SHARED_ADDRESS_FARMERS or more distinct farmers
  (merged farmers once) at one session;
- checkin_burst: CHECKIN_BURST_CHECKINS or more self check-ins (those with a `phone` or a
  `net`) at one session within CHECKIN_BURST_SECONDS;
- one_time_farmers: a session started at least CHECKIN_ONE_TIME_AFTER_DAYS ago, with at least
  CHECKIN_ONE_TIME_MIN_FARMERS farmers checked in, of whom at least CHECKIN_ONE_TIME_SHARE (a
  fraction) were checked in at no other session of the county that year or the next.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from server.figures import counted
from server.figures.counted import Scope, code_range
from server.settings import default
from server.store import dialect
from shared.clock import to_iso

SHARED_ADDRESS = "shared_address"
CHECKIN_BURST = "checkin_burst"
ONE_TIME_FARMERS = "one_time_farmers"
KINDS = (SHARED_ADDRESS, CHECKIN_BURST, ONE_TIME_FARMERS)
COUNTY_DIGITS = 6


@dataclass(frozen=True)
class CheckinRules:
    """The thresholds the three rules use (server/settings.py declares them)."""

    address_farmers: int = default("CHECKIN_SHARED_ADDRESS_FARMERS")
    burst_checkins: int = default("CHECKIN_BURST_CHECKINS")
    burst_seconds: int = default("CHECKIN_BURST_SECONDS")
    one_time_share: float = default("CHECKIN_ONE_TIME_SHARE")
    one_time_min_farmers: int = default("CHECKIN_ONE_TIME_MIN_FARMERS")
    one_time_after_days: int = default("CHECKIN_ONE_TIME_AFTER_DAYS")


def checkin_rules_of(config: Mapping[str, Any]) -> CheckinRules:
    return CheckinRules(
        int(config["CHECKIN_SHARED_ADDRESS_FARMERS"]),
        int(config["CHECKIN_BURST_CHECKINS"]),
        int(config["CHECKIN_BURST_SECONDS"]),
        float(config["CHECKIN_ONE_TIME_SHARE"]),
        int(config["CHECKIN_ONE_TIME_MIN_FARMERS"]),
        int(config["CHECKIN_ONE_TIME_AFTER_DAYS"]),
    )


@dataclass(frozen=True)
class SessionFlag:
    """One session a rule flags: the figure it judged and why, in words."""

    kind: str
    session: str
    envoy_id: str
    unit: str
    at: str
    value: float
    reason: str


def _sessions(scope: Scope) -> str:
    """The scope's live sessions (the unit's index, then the year), as alias s."""
    return counted.counted_sessions(scope)


def shared_addresses(db: Database, scope: Scope, min_farmers: int) -> list[SessionFlag]:
    """Sessions where one address checked in `min_farmers` or more distinct farmers; the
    largest such count is the flag's value. The partial index of m011 holds only check-ins
    with a `net`."""
    by_net = dialect.indexed_by(dialect.engine_of(db), "idx_attendances_session_net")
    sql = (
        "WITH netted AS (SELECT a.session_id, a.net, count(DISTINCT "
        f"{counted.person_of()}) AS farmers FROM sessions s "
        f"JOIN attendances a {by_net} ON a.session_id = s.id "
        f"AND a.net IS NOT NULL AND {counted.live('a')} "
        f"LEFT JOIN farmer_aliases fa ON fa.id = a.farmer_id WHERE {_sessions(scope)} "
        f"GROUP BY a.session_id, a.net HAVING count(DISTINCT {counted.person_of()}) >= :min_farmers) "
        "SELECT s.id, s.lead_envoy_id, s.unit_code, s.starts_at, max(n.farmers) "
        "FROM netted n JOIN sessions s ON s.id = n.session_id "
        # Every column selected is grouped: sessions' key is server_seq, not id.
        "GROUP BY s.id, s.lead_envoy_id, s.unit_code, s.starts_at ORDER BY s.starts_at"
    )
    params = {**scope.params(), "min_farmers": max(1, min_farmers)}
    return [
        SessionFlag(
            SHARED_ADDRESS,
            sid,
            envoy,
            unit,
            at,
            farmers,
            f"同一网络地址为 {farmers} 位农户自助签到（{min_farmers} 位起标记）/ one network "
            f"address checked in {farmers} farmers (flagged from {min_farmers})",
        )
        for sid, envoy, unit, at, farmers in db.execute(sql, params)
    ]


def bursts(db: Database, scope: Scope, count: int, seconds: int) -> list[SessionFlag]:
    """Sessions with `count` self check-ins within `seconds`; the value is the most self
    check-ins found in any such span. Self check-ins are those with a `phone` (every one since
    m010; `net` came with it), read by its partial index; a window function counts, for each,
    the session's self check-ins in the `seconds` from it."""
    engine = dialect.engine_of(db)
    sql = (
        "WITH timed AS (SELECT a.session_id, count(*) OVER (PARTITION BY a.session_id "
        f"ORDER BY {dialect.epoch_seconds(engine, 'a.checked_in_at')} "
        "RANGE BETWEEN CURRENT ROW AND :seconds FOLLOWING) AS n FROM sessions s JOIN attendances a "
        f"{dialect.indexed_by(engine, 'idx_attendances_session_phone')} "
        f"ON a.session_id = s.id AND a.phone IS NOT NULL AND {counted.live('a')} "
        f"WHERE {_sessions(scope)}), "
        "most AS (SELECT session_id, max(n) AS n FROM timed GROUP BY session_id "
        "HAVING max(n) >= :count) "
        "SELECT s.id, s.lead_envoy_id, s.unit_code, s.starts_at, m.n FROM most m "
        "JOIN sessions s ON s.id = m.session_id ORDER BY s.starts_at, s.id"
    )
    params = {**scope.params(), "seconds": max(0, seconds), "count": max(2, count)}
    return [
        SessionFlag(
            CHECKIN_BURST,
            sid,
            envoy,
            unit,
            at,
            most,
            f"{seconds} 秒内有 {most} 人自助签到，快于排队所能（{count} 人起标记）/ "
            f"{most} self check-ins within {seconds} s, faster than people queue "
            f"(flagged from {count})",
        )
        for sid, envoy, unit, at, most in db.execute(sql, params)
    ]


def one_time_farmers(
    db: Database, scope: Scope, now: datetime, rules: CheckinRules
) -> list[SessionFlag]:
    """Sessions old enough to judge whose farmers were mostly at no other session of their
    county that year or the next (merged farmers as their canonical record).

    Judged: sessions with at least the minimum of farmers' own check-ins (most sessions have
    none). Then one pass over the county's check-ins of the two years, sessions by the unit's
    index: each person's sessions, and the judged sessions' people; no look-up by farmer
    (attendances.farmer_id has no index, on purpose)."""
    params = scope.params()
    params["end"] = min(params["end"], to_iso(now - timedelta(days=rules.one_time_after_days)))
    params["min_farmers"] = max(1, rules.one_time_min_farmers)
    # Only sessions with that many farmers' own check-ins can be a script's: found by the
    # partial index on (session_id, phone), so a county of roster check-ins costs nothing more.
    candidates = {
        row[0]
        for row in db.execute(
            "SELECT a.session_id FROM sessions s JOIN attendances a "
            f"{dialect.indexed_by(dialect.engine_of(db), 'idx_attendances_session_phone')} "
            "ON a.session_id = s.id AND a.phone IS NOT NULL "
            f"AND {counted.live('a')} WHERE {_sessions(scope)} GROUP BY a.session_id "
            "HAVING count(DISTINCT a.farmer_id) >= :min_farmers",
            params,
        )
    }
    if not candidates:
        return []
    lo, hi = code_range(scope.prefix[:COUNTY_DIGITS])
    sql = (
        "SELECT s.id, s.lead_envoy_id, s.unit_code, s.starts_at, "
        f"{counted.person_of()} FROM sessions s "
        f"JOIN attendances a ON a.session_id = s.id AND {counted.live('a')} "
        "LEFT JOIN farmer_aliases fa ON fa.id = a.farmer_id "
        f"WHERE {counted.counted_sessions(replace(scope, envoy_id=None))}"
    )
    county = {"lo": lo, "hi": hi, "start": scope.start, "end": Scope(scope.year + 1).end}
    sessions_of: dict[str, set[str]] = defaultdict(set)
    people: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    for sid, envoy, unit, at, person in db.execute(sql, county):
        sessions_of[person].add(sid)
        if sid in candidates:
            people[(sid, envoy, unit, at)].add(person)
    found = []
    for (sid, envoy, unit, at), who in people.items():
        if len(who) < rules.one_time_min_farmers:
            continue
        once = sum(1 for person in who if len(sessions_of[person]) <= 1)
        if once >= rules.one_time_share * len(who):
            share = round(100 * once / len(who))
            found.append(
                SessionFlag(
                    ONE_TIME_FARMERS,
                    sid,
                    envoy,
                    unit,
                    at,
                    once,
                    f"{len(who)} 位签到农户中 {once} 位（{share}%）当年及次年未参加本县其他培训 / "
                    f"{once} of {len(who)} farmers ({share}%) were at no other session of the "
                    "county that year or the next",
                )
            )
    return sorted(found, key=lambda flag: (flag.at, flag.session))


def checkin_flags(
    db: Database, scope: Scope, now: datetime, rules: CheckinRules
) -> list[SessionFlag]:
    """Every session the three rules flag in the scope, rule by rule."""
    return (
        shared_addresses(db, scope, rules.address_farmers)
        + bursts(db, scope, rules.burst_checkins, rules.burst_seconds)
        + one_time_farmers(db, scope, now, rules)
    )
