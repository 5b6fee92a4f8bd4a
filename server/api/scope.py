"""Which year, unit and envoy a figures page or report API answer is about, for whom asks.

Read from the query string in one place, with one policy for envoy users, and turned into the
Scope every figure counts over (server/figures/counted.py). It sits in api/ rather than web/
because both need it and tests/server/test_layout.py puts api below web: pages may import
from api, never the reverse.

The policy for an envoy user (role envoy) is the same on every page and API:
- asking for no envoy gets their own rows: it is what their pages are for, so nothing is
  refused and nothing else is shown;
- asking for their own envoy id is the same;
- asking for another envoy's id, or for a unit (a unit's figures are other envoys' too), is
  refused with 403 `OthersRows`, never narrowed silently. An answer for "李梅" that quietly
  holds 张三's figures is worse than a refusal: a download or an API reader cannot tell it got
  something else than it asked for. The refusal comes before any look-up, so it never tells an
  envoy which ids exist;
- an envoy account linked to no envoy is refused (`NoEnvoyLinked`), never shown everyone's;
- one record (a session's page, a record's review page) is theirs when they recorded it, or
  lead or co-run its session, as their device's pull has it (`own_record`, `OthersRecord`).
Bureau users (admin, staff) and holders of an admin-issued API token may ask for any unit
and envoy (asking for neither: the smallest unit holding every county on the server, the whole
server "全国" on one holding several provinces; server/reference/lookups.py `home_unit`), unless an admin gave the user a level and area (server/accounts/areas.py): a
province, city or county user sees the rows of that area only, with the same refusals as an
envoy user's, never narrowed silently:
- asking for no unit and no envoy gets their area's figures (the province as a whole for a
  province user, their county for a county user);
- asking for a unit outside the area, or an envoy who serves no township in it, is refused with
  403 `OutsideArea`; an envoy inside it is counted over the area only;
- one record (a session's page, a record's review page, an envoy's ledger) is theirs when its
  place, or else one of its envoys' townships, lies in the area (`own_record`);
- staff lists (devices, held changes, edit conflicts, farmers that may be one person, merged
  farmers, targets; on the audit log, what the area's users did) show only the rows their area holds (`area_rows`, what
  server/accounts/areas.py says lies in it); acting on another row (revoking a device, merging
  or dismissing a pair, reviewing a record, setting a target) is refused with `OutsideArea`
  before anything is written (`inside_area`), never narrowed; so is what reaches every unit
  (`whole_server_only`).

Bad input, each with one bilingual error from here: a year that is not a whole number
(`YearNotANumber`, 422) or out of range (server/plan/report.py's `UnknownYear`, 404), a unit code
that names no unit (`UnknownUnit`, 404), an envoy id that names no envoy (`UnknownEnvoy`, 404).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import request
from marshmallow import Schema, fields

from server.accounts import users
from server.accounts.access import NotAllowed, report_reader, signed_in
from server.accounts.area_codes import in_area, serves
from server.accounts.areas import (
    AreaRows,
    area_prefix,
    envoys_in_area,
    rows_in,
    users_in,
)
from server.figures.counted import Scope
from server.plan.report import FIRST_YEAR, LAST_YEAR, check_year
from server.reference.lookups import UnknownEnvoy, UnknownUnit, envoy_by_id, unit_scope
from server.store.db import get_db
from shared.clock import local_date, utc_now
from shared.errors import TianjianError
from shared.schemas.types import UUID_PATTERN
from shared.typed_digits import number_text

# Division codes are 2 to 12 digits (a province to a village); envoy ids are short.
UNIT_CODE = re.compile(r"^[0-9]{2,12}$")
ENVOY_ID_LENGTH = 64
# What an error repeats of the text it refuses, so a crafted query is not echoed whole.
SHOWN = 40


class YearNotANumber(TianjianError):
    """The year asked for is not a whole number (422, as every other field typed wrong)."""

    status = 422

    def __init__(self, text: str) -> None:
        wanted = f"{FIRST_YEAR}–{LAST_YEAR}"
        super().__init__(
            f"年份应为 {wanted} 之间的整数：{text[:SHOWN]} / the year must be a whole number "
            f"from {wanted}: {text[:SHOWN]}",
            {"year": f"年份应为 {wanted} 之间的整数 / the year must be a whole number, {wanted}"},
        )


class OthersRows(NotAllowed):
    """An envoy user asked for another envoy's rows or a unit's."""

    message = (
        "特派员只能查看自己的数据，不能查看其他特派员或整个单位的数据；去掉网址中的 envoy 和 "
        "unit 即可查看自己的 / an envoy sees only their own figures, not another envoy's or a "
        "unit's; leave envoy and unit out of the address to see your own"
    )


class OthersRecord(NotAllowed):
    """An envoy user asked for one record (a session, a hand-out) that is not theirs."""

    message = (
        "特派员只能查看自己的记录（自己记录、主讲或协办的） / an envoy sees only their own "
        "records (recorded, led or co-run by them)"
    )


class OutsideArea(NotAllowed):
    """A user with an area asked for a unit, envoy or record outside it."""

    message = (
        "您只能查看本辖区的数据和记录；去掉网址中的 unit 和 envoy 即可查看本辖区的 / you see "
        "only your own area's figures and records; leave unit and envoy out of the address to "
        "see your area's"
    )


class NoEnvoyLinked(NotAllowed):
    """An envoy user's account is linked to no envoy, so it has no rows of its own."""

    message = (
        "该账号未关联特派员，请管理员在用户管理中关联 / this account is linked to no envoy; "
        "ask an admin to link one under Users"
    )


@dataclass(frozen=True)
class ViewScope:
    """The year, unit and envoy a page or answer is about, after the envoy-user policy.

    `unit` and `envoy` are as asked (the unit's code as typed, so links keep it); `place` is
    the unit the figures are for (when neither a unit nor an envoy is asked, the reader's area,
    else the smallest unit holding every county: lookups.home_unit, 全国 across provinces),
    None for an envoy's rows anywhere; `own` is true for an envoy user's own rows (their page
    offers no unit or envoy to choose).
    """

    year: int
    unit: str | None = None
    envoy: str | None = None
    own: bool = False
    place: dict[str, Any] | None = field(default=None, compare=False)
    envoy_name: str | None = None
    # The unit-code prefix of the reader's area ("" for the whole server): an envoy's rows are
    # counted within it, and the pages offer only units and envoys in it.
    area: str = ""

    @property
    def name(self) -> str:
        """Whose figures: the unit's name, else the envoy's (page heading, file's first line)."""
        if self.place is not None:
            return str(self.place["name"])
        return self.envoy_name or ""

    @property
    def prefix(self) -> str:
        return str(self.place["prefix"]) if self.place is not None else self.area

    def figures(self, exclude_questioned: bool = False) -> Scope:
        """The Scope every figure counts over (server/figures/counted.py)."""
        return Scope(self.year, self.prefix, self.envoy, exclude_questioned=exclude_questioned)

    def query(self, **changes: Any) -> dict[str, Any]:
        """The query string that keeps this scope when linking to another page; a change to
        None leaves that argument out."""
        asked = {"year": self.year, "unit": self.unit, "envoy": self.envoy, **changes}
        return {key: value for key, value in asked.items() if value is not None}


def year_of(text: str | int | None) -> int:
    """The year asked for (this China-time year when none is): a whole number in range."""
    if text is None or text == "":
        return local_date(utc_now()).year
    if isinstance(text, int):
        return check_year(text)
    digits = number_text(text)
    # Far longer than any year: refused as such, without reading a 4,000-digit number.
    if not (digits.isascii() and digits.isdigit()) or len(digits) > len(str(LAST_YEAR)) + 2:
        raise YearNotANumber(text)
    return check_year(int(digits))


def held_to(reader: users.User | None, envoy_id: str | None) -> str | None:
    """The envoy whose rows `reader` may see when asking for `envoy_id` (None: any envoy).

    `reader` None is an API token, which reads as the bureau does. An envoy user asking for
    none gets their own; for another envoy, OthersRows.
    """
    if reader is None or reader.role != users.ENVOY:
        return envoy_id
    if not reader.envoy_id:
        raise NoEnvoyLinked()
    if envoy_id not in (None, reader.envoy_id):
        raise OthersRows()
    return reader.envoy_id


def reader_area(reader: users.User | None) -> str:
    """The unit-code prefix of the rows a bureau reader may see ("" for every row)."""
    if reader is None or reader.role == users.ENVOY:
        return ""
    return area_prefix(reader) or ""


def envoy_in_area(area: str, envoy: dict[str, Any]) -> bool:
    """Whether an envoy (as `envoy_by_id` gives them) serves a township in the area."""
    return serves(area, envoy["township_codes"])


def own_record(reader: users.User, owners: Iterable[str | None], place: str | None = None) -> None:
    """Refuse an envoy user one record unless they are among its owners (who recorded it,
    and for a session its lead and co-envoys, as a device's pull has it); refuse a user with an
    area one whose place (or, with none given, every owner's townships) lies outside it."""
    held = held_to(reader, None)
    if held is not None and held not in set(owners):
        raise OthersRecord()
    area = reader_area(reader)
    if not area:
        return
    if place is not None:
        if not in_area(area, place):
            raise OutsideArea()
        return
    if not envoys_in_area(get_db(), area, {owner for owner in owners if owner}):
        raise OutsideArea()


def area_rows(reader: users.User | None) -> AreaRows:
    """What a bureau reader's area holds (everything for one with none): a staff list keeps
    only these rows."""
    return rows_in(get_db(), reader_area(reader))


def area_users(reader: users.User | None) -> list[str] | None:
    """Whose doings a reader sees on the audit log: the users their area holds (None: all)."""
    rows = area_rows(reader)
    return users_in(get_db(), rows) if rows.prefix else None


def inside_area(held: bool) -> None:
    """Refuse a row the reader's area does not hold (`OutsideArea`), before any write."""
    if not held:
        raise OutsideArea()


def whole_server_only(reader: users.User | None) -> None:
    """Refuse a user with an area what reaches every unit (a file of reference data or of
    targets, the monthly profile): `OutsideArea`, as any other row outside it."""
    inside_area(not reader_area(reader))


def envoy_of_area(reader: users.User | None, envoy_id: str) -> None:
    """Refuse a user with an area an envoy (their ledger) who serves no township in it."""
    area = reader_area(reader)
    if area and not envoy_in_area(area, envoy_by_id(get_db(), envoy_id)):
        raise OutsideArea()


def scope_of(
    args: Mapping[str, str], reader: users.User | None, year: str | int | None = None
) -> ViewScope:
    """The scope `reader` asked for in `args` (year, unit, envoy), `year` from the path when
    it is there. See the module docstring for the policy and the errors."""
    envoy = args.get("envoy") or None
    unit = args.get("unit") or None
    own = reader is not None and reader.role == users.ENVOY
    if own and unit is not None:
        raise OthersRows()
    envoy = held_to(reader, envoy)
    chosen_year = year_of(args.get("year") if year is None else year)
    db = get_db()
    if unit is not None and not UNIT_CODE.fullmatch(unit):
        raise UnknownUnit(unit[:SHOWN])
    area = reader_area(reader)
    if unit is not None and not in_area(area, unit):
        raise OutsideArea()
    envoy_name = None
    if envoy is not None:
        if len(envoy) > ENVOY_ID_LENGTH:
            raise UnknownEnvoy(envoy[:SHOWN])
        found = envoy_by_id(db, envoy)
        if not envoy_in_area(area, found):
            raise OutsideArea()
        envoy_name = str(found["name"])
    if area and unit is None and envoy is None:
        # Nothing asked: the reader's area (a province user's province, by its prefix), which
        # every figure below counts over and every link keeps.
        unit = area
    place = unit_scope(db, unit) if unit is not None or envoy is None else None
    return ViewScope(chosen_year, unit, envoy, own, place, envoy_name, area)


def page_scope() -> ViewScope:
    """The scope of this page request: its query string and signed-in user (a page asks only
    under `requires`, so there is one; nobody signed in is never read as the bureau)."""
    return scope_of(request.args, signed_in())


def api_scope(year: int) -> ViewScope:
    """The scope of this report API request: the path's year, the query string, the reader."""
    return scope_of(request.args, report_reader(), year)


class ScopeQuerySchema(Schema):
    """The query arguments every report API takes for its scope, as the API's documentation
    gives them; `api_scope` reads and checks them (one policy, one error each)."""

    unit = fields.String(
        load_default=None,
        metadata={"pattern": UNIT_CODE.pattern, "description": "区划代码 / unit code"},
    )
    envoy = fields.String(
        load_default=None,
        metadata={
            "format": "uuid",
            "pattern": UUID_PATTERN,
            "description": "特派员 id；特派员用户只能查看自己的 / envoy id; an envoy user "
            "sees only their own (none asked: their own; another's: 403)",
        },
    )
