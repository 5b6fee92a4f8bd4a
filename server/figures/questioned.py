"""Which records the figures count as under question (a present review in UNDER_QUESTION).

A record is under question when its own review says so; besides, a check-in is under question
when its session or its farmer (the record checked in, or the person it was merged into) is.
Hand-outs, plots and receipts answer for themselves only: a hand-out made at a questioned
session stays counted until it is questioned itself. See docs/report.md, "Records under question".

The SQL pieces are uncorrelated subqueries on the reviews table (a few rows per questioned
record, read once per statement through its unique index on (record_kind, record_id)), so a
figure's query pays one small lookup per row, never a query per record.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from shared import protocol as p
from shared.review_status import UNDER_QUESTION

# Constants of the code, never user input: spelt into the SQL so every statement can use them.
_STATUSES = ", ".join(f"'{status}'" for status in UNDER_QUESTION)


def under_question(column: str) -> str:
    """SQL true when the review status in `column` puts its record under question."""
    return f"{column} IN ({_STATUSES})"


def ids(kind: str) -> str:
    """SELECT of the ids of `kind` records (a protocol kind name) under question."""
    return (
        f"SELECT record_id FROM reviews WHERE record_kind = '{kind}' AND {under_question('status')}"
    )


def flag(kind: str, column: str) -> str:
    """SQL true when the record whose id is `column` is under question."""
    return f"({column} IN ({ids(kind)}))"


def kept(kind: str, column: str) -> str:
    """SQL true when the record whose id is `column` is not under question."""
    return f"({column} NOT IN ({ids(kind)}))"


def any_under_question(db: Database, kind: str) -> bool:
    return db.execute(f"SELECT EXISTS ({ids(kind)})").fetchone()[0] == 1


@dataclass(frozen=True)
class CheckinQuestions:
    """Ids under question that put a check-in under question, read once per figure."""

    sessions: frozenset[str]
    attendances: frozenset[str]
    farmers: frozenset[str]

    @classmethod
    def load(cls, db: Database) -> CheckinQuestions:
        def read(kind: str) -> frozenset[str]:
            return frozenset(row[0] for row in db.execute(ids(kind)))

        return cls(read(p.SESSION), read(p.ATTENDANCE), read(p.FARMER))

    def __bool__(self) -> bool:
        return bool(self.sessions or self.attendances or self.farmers)

    def covers(self, attendance: str, session: str, farmer: str, person: str) -> bool:
        """Whether this check-in is under question (itself, its session or its farmer)."""
        return (
            session in self.sessions
            or attendance in self.attendances
            or farmer in self.farmers
            or person in self.farmers
        )
