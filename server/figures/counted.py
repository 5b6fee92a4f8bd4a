"""The one home of what counts toward a figure: which records of a China-time year and a unit or
envoy (a Scope) are counted, as named SQL building blocks every figure builds on.

The rules, each written here only:
- a deleted record never counts (`live`), nor a check-in of a deleted farmer (`checkin_counts`);
- a session counts in the China-time year it starts in, in the unit whose code range holds its
  unit_code, for the envoy who leads it (`counted_sessions`, `sessions_cte`);
- a TV lecture's audience is not trainees (shared.indicators.AUDIENCE_KINDS): its check-ins
  and headcount never count as people trained (`trains`, `is_audience`, `reported_headcount`);
- a merged farmer counts once per session: check-ins reach the person through farmer_aliases
  (the tally is in server/figures/count.py; here, `person_of`);
- records under question (server/figures/questioned.py says which) count, shown apart, or are left out
  when the scope says so (`exclude_questioned`);
- a hand-out counts in the scope's unit when its own unit, else its session's unit, is in it,
  and a correction counts in the month of the hand-out it corrects (`handout_rows`,
  `HANDOUT_COUNTED_AT`); a plot counts in the year and village it was established in
  (`plot_rows`); receipts (server/figures/receipts.py) by the day received (`live` and the day range);
- unit ranges: a unit is the range of division codes under its prefix (`code_range`), so an
  index can answer it; an envoy serves a unit when a township of theirs is in it, or they
  handed out in it that year (`envoys_in_unit`).

Query shapes (unary +, INDEXED BY, MATERIALIZED) are chosen for a province-sized database (see
server/figures/count.py and scripts/bench report); the blocks keep them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from server.figures import questioned
from server.store import dialect
from server.store.dialect import SQLITE, Engine
from shared import protocol as p
from shared.clock import CHINA, to_iso
from shared.indicators import AUDIENCE_KINDS


def code_range(prefix: str) -> tuple[str, str]:
    """[lo, hi) of every division code starting with `prefix` (digits only)."""
    if not prefix:
        return "", ":"  # ':' sorts after every digit
    return prefix, str(int(prefix) + 1).zfill(len(prefix))


@dataclass(frozen=True)
class Scope:
    """What a figure counts: one China-time year, the records of one unit, maybe one envoy's."""

    year: int
    prefix: str = ""
    envoy_id: str | None = None
    # Cut the year off early (for "last year by this date" or a chart's month ends).
    until: datetime | None = None
    # Leave out records under question (server/figures/questioned.py): every figure, the same way.
    exclude_questioned: bool = False

    @property
    def start(self) -> str:
        return to_iso(datetime(self.year, 1, 1, tzinfo=CHINA))

    @property
    def end(self) -> str:
        end = datetime(self.year + 1, 1, 1, tzinfo=CHINA)
        if self.until is not None and self.until < end:
            return to_iso(self.until)
        return to_iso(end)

    @property
    def day_start(self) -> str:
        return f"{self.year}-01-01"

    @property
    def day_end(self) -> str:
        if self.until is not None and self.until < datetime(self.year + 1, 1, 1, tzinfo=CHINA):
            return self.until.astimezone(CHINA).date().isoformat()
        return f"{self.year + 1}-01-01"

    def params(self) -> dict[str, Any]:
        """The named parameters every block below uses (:lo, :hi, :start, :end, ...)."""
        lo, hi = code_range(self.prefix)
        return {
            "lo": lo,
            "hi": hi,
            "start": self.start,
            "end": self.end,
            "day_start": self.day_start,
            "day_end": self.day_end,
            "envoy": self.envoy_id,
        }


def local_month(expr: str, engine: Engine = SQLITE) -> str:
    """SQL: the China-time month (1-12) of the UTC ISO time `expr`."""
    return dialect.china_month(engine, expr)


def envoy_is(column: str, scope: Scope) -> str:
    """SQL to append: ` AND column = :envoy` when the scope is one envoy's, else nothing."""
    return f" AND {column} = :envoy" if scope.envoy_id else ""


# ---------------------------------------------------------------- records alive


def live(alias: str) -> str:
    """SQL: record `alias` is not deleted (a deleted record counts nowhere)."""
    return f"{alias}.deleted = 0"


def live_plot(column: str) -> str:
    """SQL: the plot whose id is `column` is not deleted (its observations go with it)."""
    return f"{column} NOT IN (SELECT id FROM plots WHERE deleted = 1)"


DELETED_FARMERS = "(SELECT id FROM farmers WHERE deleted = 1)"


def checkin_counts(a: str = "a") -> str:
    """SQL: check-in `a` counts: not deleted, and its farmer record not deleted."""
    return f"{live(a)} AND {a}.farmer_id NOT IN {DELETED_FARMERS}"


def person_of(a: str = "a", fa: str = "fa") -> str:
    """SQL: the person check-in `a` counts for (a merged farmer's canonical record), with
    `LEFT JOIN farmer_aliases {fa} ON {fa}.id = {a}.farmer_id` in the query."""
    return f"coalesce({fa}.canonical_id, {a}.farmer_id)"


# ---------------------------------------------------------------- sessions and their kinds

_AUDIENCE = ", ".join(f"'{kind}'" for kind in AUDIENCE_KINDS)  # code constants, never input


def trains(s: str = "s") -> str:
    """SQL: session `s` is a training whose check-ins and headcount count as trainees."""
    return f"{s}.kind NOT IN ({_AUDIENCE})"


def is_audience(s: str = "s") -> str:
    """SQL: session `s` has an audience, not trainees (a TV lecture)."""
    return f"{s}.kind IN ({_AUDIENCE})"


def reported_headcount(s: str = "s") -> str:
    """SQL: session `s`'s typed headcount as trainees (NULL for an audience)."""
    return f"CASE WHEN {trains(s)} THEN {s}.reported_headcount END"


def audience_estimate(s: str = "s") -> str:
    """SQL: session `s`'s audience estimate (NULL for a training)."""
    return f"CASE WHEN {is_audience(s)} THEN {s}.reported_headcount END"


def headcount_reported(s: str = "s") -> str:
    """SQL: session `s` has a typed headcount that counts as reported (a training's)."""
    return f"{trains(s)} AND {s}.reported_headcount IS NOT NULL"


def _plus(engine: Engine, plus: str, column: str) -> str:
    return dialect.unindexed(engine, column) if plus else column


def session_in_year(s: str = "s", plus: str = "", engine: Engine = SQLITE) -> str:
    """SQL: session `s` starts in the scope's year (:start, :end); `plus` "+" keeps SQLite
    off the index on starts_at (read the unit's index instead)."""
    at = _plus(engine, plus, f"{s}.starts_at")
    return f"{at} >= :start AND {at} < :end"


def in_unit(column: str) -> str:
    """SQL: division code `column` is in the scope's unit (:lo, :hi)."""
    return f"{column} >= :lo AND {column} < :hi"


def counted_sessions(scope: Scope, s: str = "s", plus: str = "", engine: Engine = SQLITE) -> str:
    """SQL: session `s` counts for the scope: alive, in its unit and year, led by its envoy."""
    return (
        f"{live(s)} AND {in_unit(f'{s}.unit_code')} AND {session_in_year(s, plus, engine)}"
        + envoy_is(f"{s}.lead_envoy_id", scope)
    )


def sessions_cte(scope: Scope) -> str:
    """CTE `s`: the scope's sessions, each with q: true when it is under question. Leaving
    questioned records out, they are left out here (one anti-join) and q is false."""
    envoy = envoy_is("lead_envoy_id", scope)
    if scope.exclude_questioned:
        q, kept = "false", " AND " + questioned.kept(p.SESSION, "id")
    else:
        q, kept = questioned.flag(p.SESSION, "id"), ""
    return (
        "s AS MATERIALIZED (SELECT id, kind, title, unit_code, lead_envoy_id, starts_at, "
        f"reported_headcount, technology_ids, display_boards, {q} AS q FROM sessions "
        "WHERE deleted = 0 AND unit_code >= :lo AND unit_code < :hi "
        f"AND starts_at >= :start AND starts_at < :end{envoy}{kept})"
    )


def count_sessions(db: Database, scope: Scope) -> int:
    """How many sessions count for the scope (questioned ones included)."""
    row = db.execute(
        f"SELECT count(*) FROM sessions s WHERE {counted_sessions(scope)}",
        scope.params(),
    ).fetchone()
    return int(row[0])


def session_checkins(engine: Engine, a: str = "a", s: str = "s") -> str:
    """SQL to put after session `s` in FROM: a join to its check-ins `a`, session first, through
    the unique index on attendances.id (a check-in's id starts with the first 18 characters
    of its session's, shared.ids.attendance_id)."""
    return (
        f"{dialect.join_in_order(engine)} attendances {a} "
        f"{dialect.indexed_by(engine, 'idx_attendances_id')} "
        f"ON {a}.id >= substr({s}.id, 1, 18) AND {a}.id < substr({s}.id, 1, 18) || '.' "
        f"AND {a}.session_id = {s}.id"
    )


def has_checkins(s: str = "s", b: str = "b", engine: Engine = SQLITE) -> str:
    """SQL: session `s` has at least one live check-in (named, not withdrawn)."""
    return (
        f"EXISTS (SELECT 1 FROM attendances {b} {dialect.indexed_by(engine, 'idx_attendances_id')} "
        f"WHERE {b}.id >= substr({s}.id, 1, 18) AND {b}.id < substr({s}.id, 1, 18) || '.' "
        f"AND {b}.session_id = {s}.id AND {live(b)})"
    )


# ---------------------------------------------------------------- hand-outs, plots


# When a hand-out counts, for months: a correction (correction_of, shared/corrections.py) in the
# month of the hand-out it corrects, when that is in the same year (the row's own year is the
# scope's), so a December correction of November's copies never makes a chart dip in December.
HANDOUT_COUNTED_AT = (
    "CASE WHEN h.correction_of IS NULL THEN h.handed_out_at ELSE coalesce(("
    "SELECT o.handed_out_at FROM leaflet_handouts o WHERE o.id = h.correction_of "
    "AND o.handed_out_at >= :start AND o.handed_out_at < :end), h.handed_out_at) END"
)
# Where a hand-out counts: its own unit, or its session's (alias hs).
HANDOUT_UNIT = "coalesce(h.unit_code, hs.unit_code)"


def handout_in_year(plus: str = "", engine: Engine = SQLITE) -> str:
    """SQL: hand-out h was made in the scope's year (`plus` "+": not through its index)."""
    at = _plus(engine, plus, "h.handed_out_at")
    return f"{at} >= :start AND {at} < :end"


def counted_handouts(scope: Scope) -> str:
    """SQL: hand-out h (its session LEFT JOINed as hs) counts for the scope, one condition
    (for lists; figures read the faster two-branch `handout_rows`)."""
    return f"{live('h')} AND {handout_in_year()} AND {in_unit(HANDOUT_UNIT)}" + envoy_is(
        "h.envoy_id", scope
    )


def handout_rows(scope: Scope, columns: str, engine: Engine = SQLITE) -> str:
    """SELECT `columns` over hand-outs in scope: in one of its villages, or at one of its sessions.

    Two branches rather than an OR, so each reads its own index (a unary + keeps SQLite from
    reading the whole year off the index on handed_out_at instead)."""
    envoy = envoy_is("h.envoy_id", scope)
    if scope.exclude_questioned:
        envoy += " AND " + questioned.kept(p.LEAFLET_HANDOUT, "h.id")
    common = (
        "FROM leaflet_handouts h LEFT JOIN sessions hs ON hs.id = h.session_id "
        f"WHERE {live('h')} AND {handout_in_year('+', engine)}{envoy}"
    )
    return (
        f"SELECT {columns} {common} AND {in_unit('h.unit_code')} "
        f"UNION ALL SELECT {columns} {common} AND {dialect.unindexed(engine, 'h.unit_code')} "
        "IS NULL AND h.session_id IN "
        "(SELECT id FROM sessions WHERE unit_code >= :lo AND unit_code < :hi)"
    )


def plot_in_year(p_: str = "p") -> str:
    """SQL: plot `p_` was established in the scope's year (days, China time)."""
    return f"{p_}.established_on >= :day_start AND {p_}.established_on < :day_end"


def counted_plots(scope: Scope) -> str:
    """SQL: plot p counts for the scope: alive, established in its year, in its unit, its
    envoy's; records under question left out when the scope says so."""
    condition = (
        f"{live('p')} AND {plot_in_year()} AND {in_unit('p.village_code')}"
        f"{envoy_is('p.envoy_id', scope)}"
    )
    if scope.exclude_questioned:
        condition += " AND " + questioned.kept(p.PLOT, "p.id")
    return condition


def plot_rows(scope: Scope) -> str:
    """FROM ... WHERE of the plots (alias p) that count for the scope."""
    return f"FROM plots p WHERE {counted_plots(scope)}"


def counted_receipts(r: str = "r") -> str:
    """SQL: leaflet receipt `r` counts for the days [:day_start, :day_end): alive, received then
    (how a unit shares an envoy's receipts is server/figures/receipts.py's)."""
    return f"{live(r)} AND {r}.received_on >= :day_start AND {r}.received_on < :day_end"


def question_flag(scope: Scope, kind: str, column: str) -> str:
    """SQL: true when the record `column` of `kind` is under question and the scope counts it
    apart; false when the scope leaves records under question out (none is left to flag)."""
    return "false" if scope.exclude_questioned else questioned.flag(kind, column)


# ---------------------------------------------------------------- envoys of a unit


def envoys_in_unit(scope: Scope, engine: Engine = SQLITE) -> str:
    """SQL condition on envoy alias e: serves a township of the unit (a village: its township),
    or handed out in the unit this year; every envoy when no unit is given. The hand-outs are
    read once off the index on (unit_code, handed_out_at), not per envoy. Run with `params(scope)`."""
    if not scope.prefix:
        return "true"
    # The unit's hand-outs as one list read off the unit's index (the unary + keeps SQLite off
    # the index on times, which holds the whole province's year), not a probe per envoy.
    return (
        f"(EXISTS (SELECT 1 FROM {dialect.json_each(engine, 'e.township_codes', 't')} "
        "WHERE t.value >= :tlo AND t.value < :thi) OR e.id IN (SELECT h.envoy_id FROM "
        f"leaflet_handouts h WHERE {live('h')} AND {in_unit('h.unit_code')} "
        f"AND {handout_in_year('+', engine)}))"
    )


def params(scope: Scope) -> dict[str, Any]:
    """The scope's parameters plus :tlo, :thi (its township's code range) for envoys_in_unit."""
    values = scope.params()
    township = scope.prefix[:9]
    values["tlo"] = township
    values["thi"] = str(int(township) + 1).zfill(len(township)) if township else ":"
    return values
