"""The one home for SQL that differs between SQLite and PostgreSQL: small functions returning text.

Each takes the engine's name (`engine_of(db)`: "sqlite" or "postgresql") and returns SQL to put in
a query. SQL both engines read alike needs nothing here: `INSERT ... ON CONFLICT (key) DO UPDATE
SET c = excluded.c` and `... ON CONFLICT DO NOTHING` (SQLite 3.24+), `"quoted"` identifiers,
`substr`, `coalesce`, `CASE`, `CAST(x AS INTEGER)`. What PostgreSQL lacks is written out for it:
China-time month and year of a UTC ISO timestamp, unnesting a JSON array, days between two times,
`INSERT OR REPLACE`/`OR IGNORE`, `rowid`, `INDEXED BY`, `group_concat`, scalar `max`/`min`.

Call sites keep SQLite's `?` and `:name` placeholders and `[bracket]` quoting: the PostgreSQL
connection converts those (server/store/sql_text.py), so most SQL needs no engine at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

Engine = Literal["sqlite", "postgresql"]
SQLITE: Engine = "sqlite"
POSTGRESQL: Engine = "postgresql"

# Timestamps are stored as UTC ISO text; periods and months are China time (Asia/Shanghai has
# had no daylight saving since 1991, so +8 hours is exact for every record the server can hold).
_CHINA = "Asia/Shanghai"


def is_url(target: str) -> bool:
    """Whether the database setting names PostgreSQL rather than a SQLite file."""
    return target.startswith(("postgresql://", "postgres://", "postgresql+psycopg://"))


def engine_of(db: Any) -> Engine:
    """The engine a database object speaks: "postgresql" for server/store/database.py's
    PgDatabase, "sqlite" for a sqlite_utils Database (the county default)."""
    return POSTGRESQL if getattr(db, "engine_name", SQLITE) == POSTGRESQL else SQLITE


def is_postgresql(db: Any) -> bool:
    return engine_of(db) == POSTGRESQL


def _timestamp(expr: str) -> str:
    """PostgreSQL: the UTC ISO text `expr` as a China-time wall-clock timestamp."""
    return f"(CAST({expr} AS timestamptz) AT TIME ZONE '{_CHINA}')"


def china_month(engine: Engine, expr: str) -> str:
    """The China-time month (1-12) of the UTC ISO time `expr`, as an integer."""
    if engine == POSTGRESQL:
        return f"CAST(EXTRACT(MONTH FROM {_timestamp(expr)}) AS INTEGER)"
    return f"CAST(strftime('%m', {expr}, '+8 hours') AS INTEGER)"


def china_year(engine: Engine, expr: str) -> str:
    """The China-time year of the UTC ISO time `expr`, as an integer."""
    if engine == POSTGRESQL:
        return f"CAST(EXTRACT(YEAR FROM {_timestamp(expr)}) AS INTEGER)"
    return f"CAST(strftime('%Y', {expr}, '+8 hours') AS INTEGER)"


def china_date(engine: Engine, expr: str) -> str:
    """The China-time calendar day (YYYY-MM-DD text) of the UTC ISO time `expr`."""
    if engine == POSTGRESQL:
        return f"to_char({_timestamp(expr)}, 'YYYY-MM-DD')"
    return f"date({expr}, '+8 hours')"


def date_month(engine: Engine, expr: str) -> str:
    """The month (1-12) of a plain `YYYY-MM-DD` date (no time zone), as an integer."""
    del engine  # the same on both: the text's sixth and seventh characters
    return f"CAST(substr({expr}, 6, 2) AS INTEGER)"


def days_between(engine: Engine, later: str, earlier: str) -> str:
    """Days (fractional) from the ISO time `earlier` to `later`; negative when it is before."""
    if engine == POSTGRESQL:
        return (
            f"(EXTRACT(EPOCH FROM (CAST({later} AS timestamptz) - CAST({earlier} AS timestamptz)))"
            " / 86400.0)"
        )
    return f"(julianday({later}) - julianday({earlier}))"


def json_each(engine: Engine, expr: str, alias: str = "j") -> str:
    """A table expression over the JSON array text `expr`, one row per element with its text in
    column `value` (`FROM {json_each(...)} WHERE j.value = ...`); NULL or '[]' gives no rows."""
    if engine == POSTGRESQL:
        return f"json_array_elements_text(CAST({expr} AS json)) AS {alias}(value)"
    return f"json_each({expr}) {alias}"


def json_items(engine: Engine, expr: str, alias: str = "j") -> str:
    """A table expression over a JSON array of arrays (`[["a", "b"], ...]`): column `value`
    holds each inner array, to be read with `json_item(engine, f"{alias}.value", i)`."""
    if engine == POSTGRESQL:
        return f"json_array_elements(CAST({expr} AS json)) AS {alias}(value)"
    return f"json_each({expr}) {alias}"


def json_item(engine: Engine, expr: str, index: int) -> str:
    """Element `index` (from 0) of the JSON array `expr` as text (with json_items)."""
    if engine == POSTGRESQL:
        return f"({expr} ->> {int(index)})"
    return f"json_extract({expr}, '$[{int(index)}]')"


def insert_or_ignore(engine: Engine, table: str, columns: Sequence[str]) -> str:
    """`INSERT` of one row of `columns` (`?` placeholders) that does nothing when it would break
    a unique key. SQLite keeps the form it always ran."""
    names = ", ".join(quote(engine, c) for c in columns)
    marks = ", ".join("?" for _ in columns)
    if engine == POSTGRESQL:
        return f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING"
    return f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({marks})"


def insert_or_replace(
    engine: Engine, table: str, columns: Sequence[str], key: Sequence[str]
) -> str:
    """`INSERT` of one row of `columns` (`?` placeholders) replacing the row with the same `key`
    (the columns of the unique key it may collide on). SQLite keeps `INSERT OR REPLACE`;
    PostgreSQL updates every other column of the row in place."""
    names = ", ".join(quote(engine, c) for c in columns)
    marks = ", ".join("?" for _ in columns)
    if engine == POSTGRESQL:
        return f"INSERT INTO {table} ({names}) VALUES ({marks}) " + on_conflict_update(
            engine, key, [c for c in columns if c not in key]
        )
    return f"INSERT OR REPLACE INTO {table} ({names}) VALUES ({marks})"


def on_conflict_update(engine: Engine, key: Sequence[str], columns: Sequence[str]) -> str:
    """The tail of an upsert: on a clash on `key`, set `columns` to the new row's values
    (the same text on both engines; DO NOTHING when there is nothing to set)."""
    target = ", ".join(quote(engine, c) for c in key)
    if not columns:
        return f"ON CONFLICT ({target}) DO NOTHING"
    sets = ", ".join(f"{quote(engine, c)} = excluded.{quote(engine, c)}" for c in columns)
    return f"ON CONFLICT ({target}) DO UPDATE SET {sets}"


def rowid(engine: Engine, alias: str = "") -> str:
    """The column naming a row of a table that has no id of its own (held_changes). PostgreSQL
    has no rowid: the migrations give such a table a `rowid` identity column there."""
    del engine  # one name on both; the column is real on PostgreSQL (see migrations/portable.py)
    return f"{alias}.rowid" if alias else "rowid"


def indexed_by(engine: Engine, index: str) -> str:
    """SQLite's `INDEXED BY index` after a table in FROM (its planner's pick for a province-sized
    database); nothing on PostgreSQL, whose planner keeps statistics and needs no such hint."""
    if engine == POSTGRESQL:
        return ""
    return f"INDEXED BY {index}"


def quote(engine: Engine, name: str) -> str:
    """An identifier quoted so any name (a keyword such as `before`) is read as a column."""
    del engine  # standard double quotes read the same on both engines
    return '"' + name.replace('"', '""') + '"'


def byte_length(engine: Engine, expr: str) -> str:
    """The length of the text `expr` in bytes of UTF-8 (`length` counts characters)."""
    if engine == POSTGRESQL:
        return f"octet_length({expr})"
    return f"length(CAST({expr} AS BLOB))"


def group_concat(engine: Engine, expr: str, separator: str) -> str:
    """The aggregate joining `expr`'s values with `separator` (a literal, quoted here)."""
    literal = "'" + separator.replace("'", "''") + "'"
    if engine == POSTGRESQL:
        return f"string_agg(CAST({expr} AS text), {literal})"
    return f"group_concat({expr}, {literal})"


def greatest(engine: Engine, *exprs: str) -> str:
    """The largest of several values in one row (SQLite's scalar `max`)."""
    return f"{'greatest' if engine == POSTGRESQL else 'max'}({', '.join(exprs)})"


def least(engine: Engine, *exprs: str) -> str:
    """The smallest of several values in one row (SQLite's scalar `min`)."""
    return f"{'least' if engine == POSTGRESQL else 'min'}({', '.join(exprs)})"


def count_where(engine: Engine, condition: str) -> str:
    """How many rows meet `condition` (PostgreSQL cannot sum a boolean)."""
    del engine  # a CASE reads the same on both
    return f"sum(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def as_integer(engine: Engine, condition: str) -> str:
    """A condition as 0/1, as SQLite's comparisons already are."""
    del engine
    return f"(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def after_write_trigger(
    engine: Engine, name: str, table: str, event: str, when: str, body: str
) -> list[str]:
    """Statements creating a trigger that runs `body` (one statement) after an `event` (INSERT,
    UPDATE or DELETE) on `table` when the condition `when` holds. SQLite runs it per row as it
    always did; PostgreSQL once per statement that changed rows (the bodies here mark state,
    which once does), through a function of the trigger's name."""
    if engine == POSTGRESQL:
        rows = "NEW" if event.upper() == "INSERT" else "OLD"
        return [
            f"CREATE OR REPLACE FUNCTION {name}_fn() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF EXISTS (SELECT 1 FROM changed) AND {when} THEN {body}; END IF; "
            "RETURN NULL; END $$",
            f"DROP TRIGGER IF EXISTS {name} ON {quote(engine, table)}",
            f"CREATE TRIGGER {name} AFTER {event} ON {quote(engine, table)} "
            f"REFERENCING {rows} TABLE AS changed "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}_fn()",
        ]
    return [
        f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} ON [{table}] WHEN {when} "
        f"BEGIN {body}; END"
    ]


def unindexed(engine: Engine, expr: str) -> str:
    """`expr` with SQLite's unary + (which keeps its planner off an index on the column, to read a
    better one); the column itself on PostgreSQL, whose `+` takes numbers only."""
    return expr if engine == POSTGRESQL else f"+{expr}"


def in_found(engine: Engine, expr: str, subquery: str) -> str:
    """SQL: `expr` is one of the values `subquery` finds, few of many, looked up through an
    index on `expr`'s column. PostgreSQL cannot tell how few rows a subquery unnesting JSON
    gives (it guesses all) and would read the whole table: as an array, a value known when
    the statement runs, it reads the index."""
    if engine == POSTGRESQL:
        return f"{expr} = ANY(ARRAY({subquery}))"
    return f"{expr} IN ({subquery})"


def json_length(engine: Engine, expr: str) -> str:
    """How many elements the JSON array text `expr` holds (NULL for NULL)."""
    if engine == POSTGRESQL:
        return f"json_array_length(CAST({expr} AS json))"
    return f"json_array_length({expr})"


def epoch_seconds(engine: Engine, expr: str) -> str:
    """Whole seconds since 1970 of the ISO time `expr`, as an integer (SQLite's unixepoch)."""
    if engine == POSTGRESQL:
        return f"CAST(floor(EXTRACT(EPOCH FROM CAST({expr} AS timestamptz))) AS BIGINT)"
    return f"unixepoch({expr})"


def join_in_order(engine: Engine) -> str:
    """The join keyword (before a table, its ON after) that keeps the left table outer: SQLite's
    CROSS JOIN, which its planner never reorders; PostgreSQL takes no ON after CROSS JOIN and
    plans the order itself."""
    return "JOIN" if engine == POSTGRESQL else "CROSS JOIN"


def truncated(engine: Engine, expr: str) -> str:
    """The number `expr` cut toward zero to an integer: SQLite's CAST AS INTEGER (PostgreSQL's
    CAST rounds instead)."""
    if engine == POSTGRESQL:
        return f"CAST(trunc({expr}) AS BIGINT)"
    return f"CAST({expr} AS INTEGER)"
