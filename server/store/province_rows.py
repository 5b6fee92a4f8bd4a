"""Which rows on a county came down its link from the province, and so are read-only there.

The province owns its targets for the county and its catalogue (technologies, varieties, leaflet
titles); a county's server takes them on each `upstream push` (server/plan/province_targets.py,
server/reference/province_catalogue.py) and names each in `province_rows` (migration m022). The
rule "the county may not change a row the province owns; its own rows stay its own" lives here
and nowhere else: every writer of such a row on the county asks `check_not_owned` first.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

from server.store.sql_text import in_chunks
from shared import protocol as p
from shared.errors import TianjianError

# What a refusal calls a row of each kind the province may own.
KIND_WORDS = {
    p.TARGET: ("目标", "target"),
    p.TECHNOLOGY: ("技术", "technology"),
    p.VARIETY: ("品种", "variety"),
    p.LEAFLET_TITLE: ("资料", "leaflet"),
}


class ProvinceOwned(TianjianError):
    """A row the province sent down the county's link is changed only on the province."""

    status = 403

    def __init__(self, kind: str, name: str) -> None:
        zh, en = KIND_WORDS[kind]
        super().__init__(
            f"{zh} {name} 由省级下达，本县只读，须由省级修改 / {en} {name} was set by the "
            "province: it is read-only here and can be changed only there",
            {kind: ["省级下达，只读 / set by the province, read-only"]},
        )
        self.kind = kind


def owned_ids(db: Database, kind: str) -> set[str]:
    """The ids of this kind's rows the province owns here (none on a province or a county
    without a link)."""
    return {
        row[0] for row in db.execute('SELECT "id" FROM "province_rows" WHERE "kind" = ?', [kind])
    }


def first_owned(db: Database, kind: str, ids: Iterable[str]) -> str | None:
    """The first of these ids the province owns, or None."""
    for chunk, marks in in_chunks(list(dict.fromkeys(ids))):
        row = db.execute(
            f'SELECT "id" FROM "province_rows" WHERE "kind" = ? AND "id" IN ({marks}) '
            'ORDER BY "id"',
            [kind, *chunk],
        ).fetchone()
        if row:
            return str(row[0])
    return None


def check_not_owned(
    db: Database, kind: str, ids: Iterable[str], names: dict[str, str] | None = None
) -> None:
    """ProvinceOwned for the first of these rows the province owns (named by `names`, else by
    its id)."""
    found = first_owned(db, kind, ids)
    if found is not None:
        raise ProvinceOwned(kind, (names or {}).get(found, found))


def hold(db: Database, kind: str, ids: Iterable[str]) -> list[str]:
    """Make exactly these rows of this kind the province's (inside the caller's transaction);
    returns the ids it no longer sends, which the caller drops or hands back to the county."""
    wanted = list(dict.fromkeys(ids))
    gone = sorted(owned_ids(db, kind) - set(wanted))
    for chunk, marks in in_chunks(gone):
        db.execute(
            f'DELETE FROM "province_rows" WHERE "kind" = ? AND "id" IN ({marks})', [kind, *chunk]
        )
    for key in wanted:
        db.execute(
            'INSERT INTO "province_rows" ("kind", "id") VALUES (?, ?) '
            'ON CONFLICT ("kind", "id") DO NOTHING',
            [kind, key],
        )
    return gone
