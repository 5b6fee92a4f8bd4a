"""The proof that summaries kept on write stay right: random field work through the real push
path, reviews, merges and dismissals; after every step every figure of every level (county,
township, village, envoy, envoy in a county), with and without records under question, read
from the summaries equals the same figure counted from the records, and a rebuild from the
records gives exactly the rows the summaries hold."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
)

from server.farmers import merges
from server.figures import count as figures
from server.figures.counted import Scope
from server.figures.performance import performance
from server.plan.progress import cumulative_by_month
from server.quality import reviews
from server.reference import load as reference
from server.store.db import init_db
from server.summaries import maintain
from server.summaries import read as summaries_read
from server.sync import apply_push
from shared import protocol as p
from shared import review_status as rs
from shared.errors import TianjianError
from shared.ids import attendance_id, new_id
from tests.helpers import DATA, LEAFLET_POTATO, TECH_MAIZE, TECH_POTATO, VARIETY_POTATO
from tests.server.fieldwork import Envoy

OTHER_COUNTY = "530103"
# A county of another province: the whole server's key ('') is then more than one province's.
FAR_COUNTY = "540102"
VILLAGES = (
    "530102001001",
    "530102001002",
    "530102002001",
    "530103001001",
    "530102002000",
    "540102001001",
)
TOWNSHIPS = ("530102001", "530102002", "530103001", "540102001")
# UTC times around the China-time year ends: 2025-12-31 23:00, 2026-01-01 01:00, March,
# November and 2027-01-01 01:00 in China.
STARTS = (
    "2025-12-31T15:00:00Z",
    "2025-12-31T17:00:00Z",
    "2026-03-10T02:00:00Z",
    "2026-11-20T02:00:00Z",
    "2026-12-31T17:00:00Z",
)
DAYS = ("2025-12-31", "2026-01-01", "2026-05-20")
KINDS = ("village_training", "large_training", "tv_lecture")
TECHS = st.lists(st.sampled_from((TECH_POTATO, TECH_MAIZE)), max_size=2)


def _reference(folder: Path, db_path: str) -> None:
    """The demo county, plus a second county of its province and one of another province, both
    of which 张三 also serves, so records can move between them."""
    units = (DATA / "units.csv").read_text(encoding="utf-8") + (
        f"{OTHER_COUNTY},邻县,,county\n530103001,新镇,{OTHER_COUNTY},township\n"
        "530103001001,北村,530103001,village\n"
        f"{FAR_COUNTY},远县,,county\n540102001,远镇,{FAR_COUNTY},township\n"
        "540102001001,远村,540102001,village\n"
    )
    (folder / "units.csv").write_text(units, encoding="utf-8")
    (folder / "envoys.csv").write_text(
        "name,mobile,township_codes\n张三,13800138000,530102001;530103001;540102001\n"
        "李梅,13900139000,530102001\n",
        encoding="utf-8",
    )
    db = init_db(db_path)
    reference.load_units(db, str(folder / "units.csv"))
    reference.load_catalogue(db, str(DATA / "catalog.csv"))
    reference.load_envoys(db, str(folder / "envoys.csv"))
    db.close()


def scopes(envoys: list[str]) -> list[Scope]:
    out = [Scope(year, prefix) for year in (2025, 2027) for prefix in ("530102", "")]
    out += [
        Scope(2026, prefix)
        for prefix in ("", "53", "54", "5301", "530102", OTHER_COUNTY, FAR_COUNTY, *TOWNSHIPS)
    ]
    out += [Scope(2026, village) for village in VILLAGES]
    out += [Scope(2026, "", envoy) for envoy in envoys]
    out += [Scope(2026, "530102", envoy) for envoy in envoys]
    return out


def _figures(found: figures.Figures, other: figures.Figures) -> dict[str, Any]:
    """What a page reads of Figures (a missing figure reads as 0): totals, what is under
    question, the monthly lines."""
    keys = {*found.total(), *found.questioned_total(), *other.total(), *other.questioned_total()}
    return {
        "total": {key: round(found.total().get(key, 0), 6) for key in sorted(keys)},
        "questioned": {key: round(found.questioned_total().get(key, 0), 6) for key in sorted(keys)},
        "monthly": cumulative_by_month(found),
    }


def _groups(found: figures.Figures) -> dict[Any, dict[str, Any]]:
    """Each group's figures and what of them is under question, zeros left out."""
    out: dict[Any, dict[str, Any]] = {}
    for part, groups in (("", found.groups), ("questioned ", found.questioned)):
        for group, values in groups.items():
            kept = {f"{part}{k}": round(v, 6) for k, v in values.items() if v}
            if kept:
                out.setdefault(repr(group), {}).update(kept)
    return out


class Fieldwork(RuleBasedStateMachine):
    sessions = Bundle("sessions")
    farmers = Bundle("farmers")
    checkins = Bundle("checkins")
    handouts = Bundle("handouts")
    plots = Bundle("plots")

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="summaries-"))
        self.path = str(self.folder / "server.db")
        _reference(self.folder, self.path)
        self.db = init_db(self.path)
        self.envoys = [Envoy(self.db, "张三"), Envoy(self.db, "李梅")]
        self.owner: dict[str, Envoy] = {}
        self.sent: list[tuple[Envoy, list[dict[str, Any]]]] = []

    def teardown(self) -> None:
        self.db.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # ------------------------------------------------------------ pushing

    def send(self, envoy: Envoy, changes: list[dict[str, Any]]) -> None:
        self.sent.append((envoy, changes))
        apply_push(self.db, envoy.device, changes)

    def change(
        self, envoy: Envoy, kind: str, fields: dict[str, Any], record_id: str | None = None
    ) -> dict[str, Any]:
        envoy.seq += 1
        change: dict[str, Any] = {"q": envoy.seq, "k": kind, "h": envoy.stamp(), "f": fields}
        if record_id is not None:
            change["i"] = record_id
            row = self.db.execute(
                f"SELECT hlc FROM [{p.TABLES[kind]}] WHERE id = ?", [record_id]
            ).fetchone()
            change["b"] = row[0] if row else None
        return change

    def session_change(
        self,
        envoy: Envoy,
        session_id: str,
        kind: str,
        unit: str,
        starts: str,
        techs: list[str],
        headcount: int | None,
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "kind": kind,
            "title": "培训",
            "unit_code": unit,
            "starts_at": starts,
            "lead_envoy_id": envoy.envoy_id,
            "technology_ids": techs,
        }
        if headcount is not None:
            fields["reported_headcount"] = headcount
        return self.change(envoy, p.SESSION, fields, session_id)

    # ------------------------------------------------------------ rules

    @rule(
        target=sessions,
        who=st.integers(0, 1),
        kind=st.sampled_from(KINDS),
        unit=st.sampled_from(VILLAGES),
        starts=st.sampled_from(STARTS),
        techs=TECHS,
        headcount=st.none() | st.integers(0, 40),
    )
    def new_session(
        self, who: int, kind: str, unit: str, starts: str, techs: list[str], headcount: int | None
    ) -> str:
        envoy = self.envoys[who]
        session_id = new_id()
        self.send(
            envoy, [self.session_change(envoy, session_id, kind, unit, starts, techs, headcount)]
        )
        self.owner[session_id] = envoy
        return session_id

    @rule(
        target=farmers,
        name=st.sampled_from(("赵大", "钱二", "孙三")),
        mobile=st.none() | st.sampled_from(("13800000001", "13800000002")),
    )
    def new_farmer(self, name: str, mobile: str | None) -> str:
        farmer_id = new_id()
        fields: dict[str, Any] = {"name": name, "village_code": VILLAGES[0]}
        if mobile:
            fields["mobile"] = mobile
        self.send(self.envoys[0], [self.change(self.envoys[0], p.FARMER, fields, farmer_id)])
        return farmer_id

    @rule(target=checkins, session=sessions, people=st.lists(farmers, min_size=1, max_size=4))
    def check_in(self, session: str, people: list[str]) -> str:
        envoy = self.owner[session]
        changes = [
            self.change(
                envoy,
                p.ATTENDANCE,
                {
                    "session_id": session,
                    "farmer_id": farmer,
                    "checked_in_at": "2026-03-10T02:15:00Z",
                    "method": "qr_self",
                },
            )
            for farmer in dict.fromkeys(people)
        ]
        self.send(envoy, changes)
        return attendance_id(session, people[0])

    @rule(
        target=farmers,
        session=sessions,
        names=st.lists(st.sampled_from(("周六", "吴七", "钱二")), min_size=1, max_size=5),
        mobile=st.none() | st.just("13800000002"),
    )
    def register_and_check_in(self, session: str, names: list[str], mobile: str | None) -> Any:
        """Farmers registered at a session and checked in, in one push (the bulk path)."""
        envoy = self.owner[session]
        changes, made = [], []
        for name in names:
            farmer_id = new_id()
            made.append(farmer_id)
            fields: dict[str, Any] = {"name": name, "village_code": VILLAGES[1]}
            if mobile:
                fields["mobile"] = mobile
            changes.append(self.change(envoy, p.FARMER, fields, farmer_id))
            checkin = {"session_id": session, "farmer_id": farmer_id, "method": "qr_self"}
            checkin["checked_in_at"] = "2026-03-10T02:15:00Z"
            changes.append(self.change(envoy, p.ATTENDANCE, checkin))
        self.send(envoy, changes)
        return multiple(*made)

    @rule(
        target=sessions,
        farmer=farmers,
        kind=st.sampled_from(KINDS),
        unit=st.sampled_from(VILLAGES),
        starts=st.sampled_from(STARTS),
    )
    def late_offline_checkin_first(self, farmer: str, kind: str, unit: str, starts: str) -> str:
        """A device offline for days sends the check-in before its session (held, released)."""
        envoy = self.envoys[0]
        session_id = new_id()
        checkin = self.change(
            envoy,
            p.ATTENDANCE,
            {
                "session_id": session_id,
                "farmer_id": farmer,
                "checked_in_at": starts,
                "method": "qr_self",
            },
        )
        session = self.session_change(envoy, session_id, kind, unit, starts, [], None)
        self.send(envoy, [checkin])
        self.send(envoy, [session])
        self.owner[session_id] = envoy
        return session_id

    @rule(session=sessions, unit=st.sampled_from(VILLAGES), starts=st.sampled_from(STARTS))
    def move_session(self, session: str, unit: str, starts: str) -> None:
        envoy = self.owner[session]
        self.send(
            envoy,
            [self.change(envoy, p.SESSION, {"unit_code": unit, "starts_at": starts}, session)],
        )

    @rule(session=sessions, gone=st.booleans())
    def delete_or_undo_session(self, session: str, gone: bool) -> None:
        envoy = self.owner[session]
        self.send(envoy, [self.change(envoy, p.SESSION, {"deleted": gone}, session)])

    @rule(checkin=checkins, gone=st.booleans())
    def delete_or_undo_checkin(self, checkin: str, gone: bool) -> None:
        row = self.db.execute(
            "SELECT session_id FROM attendances WHERE id = ?", [checkin]
        ).fetchone()
        if row is not None:
            envoy = self.owner[row[0]]
            self.send(envoy, [self.change(envoy, p.ATTENDANCE, {"deleted": gone}, checkin)])

    @rule(farmer=farmers, gone=st.booleans())
    def delete_or_undo_farmer(self, farmer: str, gone: bool) -> None:
        self.send(
            self.envoys[0], [self.change(self.envoys[0], p.FARMER, {"deleted": gone}, farmer)]
        )

    @rule(
        target=handouts,
        copies=st.integers(1, 50),
        unit=st.none() | st.sampled_from(VILLAGES),
        session=st.none() | sessions,
        at=st.sampled_from(STARTS),
    )
    def hand_out(self, copies: int, unit: str | None, session: str | None, at: str) -> str:
        envoy = self.owner.get(session, self.envoys[0]) if session else self.envoys[0]
        handout_id = new_id()
        fields: dict[str, Any] = {
            "leaflet_title_id": LEAFLET_POTATO,
            "copies": copies,
            "handed_out_at": at,
        }
        if unit:
            fields["unit_code"] = unit
        if session:
            fields["session_id"] = session
        if not unit and not session:
            fields["unit_code"] = VILLAGES[0]
        self.send(envoy, [self.change(envoy, p.LEAFLET_HANDOUT, fields, handout_id)])
        return handout_id

    @rule(of=handouts, copies=st.integers(-10, 10), at=st.sampled_from(STARTS))
    def correct_handout(self, of: str, copies: int, at: str) -> None:
        """A correction, counted in the month of the hand-out it corrects (same year)."""
        row = self.db.execute(
            "SELECT unit_code, session_id, envoy_id FROM leaflet_handouts WHERE id = ?", [of]
        ).fetchone()
        if row is None:
            return
        fields = {"leaflet_title_id": LEAFLET_POTATO, "copies": copies, "handed_out_at": at}
        fields["correction_of"] = of
        for name, value in zip(("unit_code", "session_id"), row, strict=False):
            if value:
                fields[name] = value
        envoy = next(e for e in self.envoys if e.envoy_id == row[2])
        self.send(envoy, [self.change(envoy, p.LEAFLET_HANDOUT, fields, new_id())])

    @rule(
        target=plots,
        area=st.sampled_from((1.5, 10.0, 0.3)),
        unit=st.sampled_from(VILLAGES),
        day=st.sampled_from(DAYS),
        variety=st.none() | st.just(VARIETY_POTATO),
        techs=TECHS,
    )
    def new_plot(
        self, area: float, unit: str, day: str, variety: str | None, techs: list[str]
    ) -> str:
        plot_id = new_id()
        fields: dict[str, Any] = {
            "village_code": unit,
            "host_name": "李大户",
            "crop": "马铃薯",
            "area_mu": area,
            "established_on": day,
            "technology_ids": techs,
        }
        if variety:
            fields["variety_id"] = variety
        self.send(self.envoys[0], [self.change(self.envoys[0], p.PLOT, fields, plot_id)])
        return plot_id

    @rule(
        plot=plots,
        fields=st.fixed_dictionaries(
            {},
            optional={
                "area_mu": st.sampled_from((2.0, 7.25)),
                "village_code": st.sampled_from(VILLAGES),
                "established_on": st.sampled_from(DAYS),
                "deleted": st.booleans(),
            },
        ),
    )
    def edit_plot(self, plot: str, fields: dict[str, Any]) -> None:
        if fields:
            self.send(self.envoys[0], [self.change(self.envoys[0], p.PLOT, fields, plot)])

    @precondition(lambda self: bool(self.sent))
    @rule(which=st.integers(0, 10**6))
    def replay(self, which: int) -> None:
        """A push sent again (its answer lost on the way): nothing changes."""
        envoy, changes = self.sent[which % len(self.sent)]
        apply_push(self.db, envoy.device, changes)

    @rule(
        data=st.data(),
        kind=st.sampled_from((p.SESSION, p.ATTENDANCE, p.FARMER, p.LEAFLET_HANDOUT, p.PLOT)),
        status=st.sampled_from(rs.STATUSES),
    )
    def review(self, data: st.DataObject, kind: str, status: str) -> None:
        bundle = {
            p.SESSION: self.sessions,
            p.ATTENDANCE: self.checkins,
            p.FARMER: self.farmers,
            p.LEAFLET_HANDOUT: self.handouts,
            p.PLOT: self.plots,
        }[kind]
        record = data.draw(bundle)
        try:
            reviews.set_review(self.db, "staff-cli", kind, record, status, "核实")
        except TianjianError:
            pass  # a check-in that was never stored: nothing to review

    @rule(losing=farmers, keep=farmers)
    def merge(self, losing: str, keep: str) -> None:
        try:
            merges.merge(self.db, losing, keep, "staff-cli")
        except TianjianError:
            pass  # already merged, or the same record

    @rule(which=st.integers(0, 10**6))
    def dismiss(self, which: int) -> None:
        open_pairs = [
            row[0]
            for row in self.db.execute(
                "SELECT id FROM merge_candidates WHERE resolved_at IS NULL ORDER BY id"
            )
        ]
        if open_pairs:
            merges.dismiss(self.db, open_pairs[which % len(open_pairs)], "staff-cli")

    # ------------------------------------------------------------ what must hold

    @invariant()
    def summaries_equal_records(self) -> None:
        assert maintain.usable(self.db), "a write path left the summaries stale"
        for scope in scopes([envoy.envoy_id for envoy in self.envoys]):
            for exclude in (False, True):
                of = Scope(scope.year, scope.prefix, scope.envoy_id, exclude_questioned=exclude)
                kept = summaries_read.compute(self.db, of, monthly=True)
                assert kept is not None, of
                counted = figures.compute(self.db, of, monthly=True)
                assert _figures(kept, counted) == _figures(counted, kept), of

    @invariant()
    def breakdowns_equal_records(self) -> None:
        """By province, city, county, township, village, envoy and month, as the breakdown page
        reads them."""
        envoy = self.envoys[0].envoy_id
        for scope in (
            Scope(2026, ""),
            Scope(2026, "53"),
            Scope(2026, "5301"),
            Scope(2026, "530102"),
            Scope(2026, OTHER_COUNTY),
            Scope(2026, "530102001"),
            Scope(2026, "", envoy),
            Scope(2026, "530102", envoy),
        ):
            for by in (*summaries_read.LEVELS, *summaries_read.GROUPED):
                for exclude in (False, True):
                    of = Scope(scope.year, scope.prefix, scope.envoy_id, exclude_questioned=exclude)
                    kept = summaries_read.compute_by(self.db, of, by)
                    if kept is None:
                        # Only what the summaries hold no key for: one envoy by township or
                        # village, or across the whole server by city or province; envoys of
                        # anything but a county (their keys are per county); the township-level
                        # records of several townships.
                        envoys_not_by_county = by == "envoy" and len(of.prefix) != 6
                        envoy_above_county = by in ("city", "province") and of.envoy_id
                        assert (
                            by in ("township", "village")
                            or envoys_not_by_county
                            or envoy_above_county
                        ), (of, by)
                        continue
                    counted = figures.compute(self.db, of, by)
                    assert _groups(kept) == _groups(counted), (of, by)

    @invariant()
    def performance_equals_records(self) -> None:
        """The whole server's envoys (two provinces): person-times and people from the summaries
        (server/summaries/read.py envoys_trained), as the page reads them."""
        for year in (2025, 2026, 2027):
            kept = performance(self.db, year, trained=summaries_read.envoys_trained)
            counted = performance(self.db, year)
            assert [r.row() for r in kept.rows] == [r.row() for r in counted.rows], year

    @invariant()
    def rebuild_gives_the_same_rows(self) -> None:
        difference = maintain.check(self.db)
        assert difference is None, difference.message if difference else ""


Fieldwork.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_summaries_state = Fieldwork.TestCase
