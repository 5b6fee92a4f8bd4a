"""A province's year of extension work written straight into a server database, for scripts/bench report.

100 counties of 15 townships x 15 villages, 300,000 farmers, 20,000 sessions, 1,000,000
check-ins, 50,000 leaflet hand-outs and 5,000 plots by default, built with executemany in one
transaction (about a minute; three and a half on a busy machine). A nation (nation_size) is
the same per county, in ten provinces of ten cities of ten counties. Rows are made by the
server's own write path (records.row_values), so they look exactly like synced ones.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from server.store.db import open_db
from server.store.migrations import migrations
from server.store.records import row_values, stamp_names, write_plan
from shared import protocol as p
from shared.clock import CHINA, to_iso
from shared.ids import attendance_id
from shared.merge import STAMPS

PROVINCE = "530000000000"
# Bump when the data or the schema it is written with changes, so a cached file is remade.
DATA_VERSION = 4
REPORT_MIGRATION = "m004_report_indexes"


@dataclass(frozen=True)
class Size:
    counties: int = 100
    townships: int = 15
    villages: int = 15
    farmers: int = 300_000
    sessions: int = 20_000
    attendances: int = 1_000_000
    handouts: int = 50_000
    plots: int = 5_000
    envoys_per_county: int = 30


# Provinces by their division codes, Yunnan first (a province-sized run is Yunnan alone); a
# nation-sized run fills them in turn, a hundred counties each.
PROVINCES = {
    "53": "云南省",
    "52": "贵州省",
    "51": "四川省",
    "45": "广西壮族自治区",
    "43": "湖南省",
    "42": "湖北省",
    "41": "河南省",
    "37": "山东省",
    "36": "江西省",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "34": "安徽省",
    "35": "福建省",
    "44": "广东省",
    "61": "陕西省",
    "62": "甘肃省",
}
COUNTIES_PER_PROVINCE = 100


def county_codes(size: Size) -> list[str]:
    # Ten counties per city and ten cities per province, as the codes run: PP CC KK.
    if size.counties > COUNTIES_PER_PROVINCE * len(PROVINCES):
        raise ValueError(f"at most {COUNTIES_PER_PROVINCE * len(PROVINCES)} counties")
    provinces = list(PROVINCES)
    return [
        f"{provinces[n // COUNTIES_PER_PROVINCE]}{1 + n % 100 // 10:02d}{1 + n % 10:02d}"
        for n in range(size.counties)
    ]


class Builder:
    def __init__(self, path: str, year: int, seed: int, size: Size) -> None:
        self.db = open_db(path)
        # The schema as it was before the report's own indexes: the server adds them (and any
        # later migration) when it starts on a copy, so "before" and "after" share one file.
        migrations.apply(self.db, stop_before=REPORT_MIGRATION)
        self.year = year
        self.rng = random.Random(seed)
        self.size = size
        self.start = datetime(year, 1, 1, 8, tzinfo=CHINA)
        # Work spread over the year up to late November, as on the day the bench was written.
        self.days = 329
        self.seq = 0

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def moment(self) -> datetime:
        return self.start + timedelta(
            days=self.rng.randrange(self.days), minutes=self.rng.randrange(600)
        )

    def write(self, kind: str, states: list[dict[str, Any]], townships: list[str | None]) -> None:
        plan = write_plan(kind)
        table = p.TABLES[kind]
        # The write path knows every column of today's schema; the file stops before m004, so
        # only the columns that exist by then are written (later migrations add the others,
        # empty, when a server first opens the file, as they would on a real database).
        present = {row[1] for row in self.db.execute(f"PRAGMA table_info([{table}])")}
        keep = [i for i, column in enumerate(plan.columns) if column in present]
        names = ",".join(f"[{plan.columns[i]}]" for i in keep)
        marks = ",".join("?" * len(keep))
        rows = []
        for state, township in zip(states, townships, strict=True):
            self.seq += 1
            values = row_values(
                plan,
                state,
                {"township_code": township, "origin_device": None, "server_seq": self.seq},
            )
            rows.append([values[i] for i in keep])
        self.db.conn.executemany(f"INSERT INTO [{table}] ({names}) VALUES ({marks})", rows)

    def meta(self, kind: str, envoy: dict[str, Any], when: datetime) -> dict[str, Any]:
        hlc = f"{int(when.timestamp() * 1000):013d}.00000.{envoy['device']}"
        return {
            "id": self.uuid(),
            "envoy_id": envoy["id"],
            "device_id": envoy["device"],
            "created_at": to_iso(when),
            "updated_at": to_iso(when),
            "deleted": False,
            "hlc": hlc,
            STAMPS: dict.fromkeys(stamp_names(kind), hlc),
        }

    def build(self) -> dict[str, Any]:
        db, rng, size = self.db, self.rng, self.size
        db.execute("PRAGMA synchronous=OFF")
        db.execute("BEGIN")
        counties = county_codes(size)
        units: list[tuple[str, str, str | None, str]] = [
            (code.ljust(12, "0"), PROVINCES[code], None, "province")
            for code in sorted({c[:2] for c in counties})
        ]
        for city in sorted({c[:4] for c in counties}):
            units.append((city.ljust(12, "0"), f"第{city[2:]}市", city[:2].ljust(12, "0"), "city"))
        villages_of: dict[str, list[str]] = {}
        townships_of: dict[str, list[str]] = {}
        for county in counties:
            units.append(
                (county.ljust(12, "0"), f"{county}县", county[:4].ljust(12, "0"), "county")
            )
            townships_of[county] = []
            for t in range(1, size.townships + 1):
                township = f"{county}{t:03d}"
                townships_of[county].append(township.ljust(12, "0"))
                units.append(
                    (township.ljust(12, "0"), f"第{t}乡镇", county.ljust(12, "0"), "township")
                )
                for v in range(1, size.villages + 1):
                    village = f"{township}{v:03d}"
                    villages_of.setdefault(county, []).append(village)
                    units.append((village, f"第{t}-{v}村", township.ljust(12, "0"), "village"))
        db.conn.executemany(
            "INSERT INTO units (code, name, parent_code, level, server_seq) VALUES (?, ?, ?, ?, 0)",
            units,
        )
        technologies = [(self.uuid(), f"技术{n}", "种植") for n in range(60)]
        varieties = [(self.uuid(), f"品种{n}", "马铃薯") for n in range(40)]
        titles = [(self.uuid(), f"资料{n}") for n in range(30)]
        db.conn.executemany(
            "INSERT INTO technologies (id, name, category, server_seq) VALUES (?, ?, ?, 0)",
            technologies,
        )
        db.conn.executemany(
            "INSERT INTO varieties (id, name, crop, server_seq) VALUES (?, ?, ?, 0)", varieties
        )
        db.conn.executemany(
            "INSERT INTO leaflet_titles (id, title, server_seq) VALUES (?, ?, 0)", titles
        )

        envoys_of: dict[str, list[dict[str, Any]]] = {}
        envoy_rows = []
        for county in counties:
            for n in range(size.envoys_per_county):
                township = townships_of[county][n % size.townships]
                envoy = {"id": self.uuid(), "device": self.uuid(), "township": township}
                envoys_of.setdefault(county, []).append(envoy)
                envoy_rows.append(
                    (envoy["id"], f"{county}特派员{n}", None, f'["{township}"]', 1, 0)
                )
        db.conn.executemany(
            "INSERT INTO envoys (id, name, mobile, township_codes, active, server_seq) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            envoy_rows,
        )

        per_county = lambda total: total // size.counties  # noqa: E731
        counts = {"farmers": 0, "sessions": 0, "attendances": 0, "handouts": 0, "plots": 0}
        aliases = []
        left_attendances = size.attendances
        for number, county in enumerate(counties):
            envoys = envoys_of[county]
            villages = villages_of[county]
            # Farmers
            farmers, townships = [], []
            for n in range(per_county(size.farmers)):
                envoy = rng.choice(envoys)
                state = self.meta(p.FARMER, envoy, self.moment())
                village = rng.choice(villages)
                state.update(
                    name=f"农户{n}",
                    mobile=f"13{rng.randrange(10**9):09d}" if n % 3 == 0 else None,
                    gender=rng.choice(("female", "male", "male", "unspecified")),
                    birth_year=rng.randrange(1950, 2005),
                    village_code=village,
                )
                farmers.append(state)
                townships.append(village[:9] + "000")
            self.write(p.FARMER, farmers, townships)
            counts["farmers"] += len(farmers)
            # One farmer in a hundred registered twice and merged by staff.
            for n in range(0, len(farmers) - 1, 100):
                aliases.append(
                    (farmers[n + 1]["id"], farmers[n]["id"], "2026-06-01T00:00:00Z", "staff", 0)
                )
            # Sessions
            sessions, townships = [], []
            for n in range(per_county(size.sessions)):
                envoy = rng.choice(envoys)
                when = self.moment()
                roll = rng.random()
                village = rng.choice(villages)
                # Codes padded to 12 digits, as the field schema stores them.
                if roll < 0.05:
                    kind, unit = "tv_lecture", county.ljust(12, "0")
                elif roll < 0.10:
                    kind, unit = "large_training", village[:9].ljust(12, "0")
                elif roll < 0.12:
                    kind, unit = "science_week", village[:9].ljust(12, "0")
                elif roll < 0.27:
                    kind, unit = "field_day", village
                else:
                    kind, unit = "village_training", village
                state = self.meta(p.SESSION, envoy, when)
                state.update(
                    kind=kind,
                    title=f"培训{n}",
                    technology_ids=[t[0] for t in rng.sample(technologies, rng.randrange(1, 3))],
                    unit_code=unit,
                    place="村委会",
                    starts_at=to_iso(when),
                    ends_at=to_iso(when + timedelta(hours=2)),
                    lead_envoy_id=envoy["id"],
                    co_envoy_ids=[],
                    reported_headcount=rng.randrange(20, 120) if n % 2 else None,
                    display_boards=rng.randrange(5, 30) if kind == "science_week" else None,
                    closed=True,
                    deleted=n % 97 == 0,
                )
                if kind == "tv_lecture":
                    state["reported_headcount"] = rng.randrange(1000, 20000)
                sessions.append(state)
                townships.append(unit[:9].ljust(12, "0"))
            self.write(p.SESSION, sessions, townships)
            counts["sessions"] += len(sessions)
            # Check-ins: the county's share spread over its sessions that take names.
            named = [s for s in sessions if s["kind"] != "tv_lecture"]
            share = left_attendances // (len(counties) - number)
            left_attendances -= share
            attendances, townships = [], []
            for index, session in enumerate(named):
                k = share // len(named) + (1 if index < share % len(named) else 0)
                when = datetime.fromisoformat(session["starts_at"].replace("Z", "+00:00"))
                envoy = {"id": session["lead_envoy_id"], "device": session["device_id"]}
                for farmer in rng.sample(farmers, k):
                    state = self.meta(p.ATTENDANCE, envoy, when)
                    state.update(
                        id=attendance_id(session["id"], farmer["id"]),
                        session_id=session["id"],
                        farmer_id=farmer["id"],
                        checked_in_at=to_iso(when + timedelta(minutes=rng.randrange(90))),
                        method=rng.choice(("qr_self", "roster", "card_scan")),
                        seen_by=[envoy["device"]],
                        deleted=rng.random() < 0.005,
                    )
                    attendances.append(state)
                    townships.append(session["unit_code"][:9].ljust(12, "0"))
            self.write(p.ATTENDANCE, attendances, townships)
            counts["attendances"] += len(attendances)
            # Leaflets: receipts per envoy, hand-outs in villages or at sessions.
            receipts, townships = [], []
            for envoy in envoys:
                for title in rng.sample(titles, 3):
                    state = self.meta(p.LEAFLET_RECEIPT, envoy, self.start)
                    state.update(
                        leaflet_title_id=title[0],
                        copies=rng.randrange(200, 2000),
                        received_on=f"{self.year}-0{rng.randrange(1, 10)}-01",
                        correction_of=None,
                    )
                    receipts.append(state)
                    townships.append(envoy["township"])
            self.write(p.LEAFLET_RECEIPT, receipts, townships)
            handouts, townships = [], []
            for n in range(per_county(size.handouts)):
                envoy = rng.choice(envoys)
                state = self.meta(p.LEAFLET_HANDOUT, envoy, self.moment())
                at_session = n % 3 == 0
                session = rng.choice(named)
                unit = None if at_session else rng.choice(villages)
                state.update(
                    leaflet_title_id=rng.choice(titles)[0],
                    copies=rng.randrange(1, 60),
                    session_id=session["id"] if at_session else None,
                    unit_code=unit,
                    handed_out_at=state["created_at"],
                    correction_of=None,
                    deleted=n % 211 == 0,
                )
                handouts.append(state)
                townships.append((unit or session["unit_code"])[:9].ljust(12, "0"))
            self.write(p.LEAFLET_HANDOUT, handouts, townships)
            counts["handouts"] += len(handouts)
            # Plots and what was seen on them.
            plots, townships = [], []
            observations, observed_townships = [], []
            for n in range(per_county(size.plots)):
                envoy = rng.choice(envoys)
                when = self.moment()
                village = rng.choice(villages)
                state = self.meta(p.PLOT, envoy, when)
                state.update(
                    village_code=village,
                    host_name=f"大户{n}",
                    crop="马铃薯",
                    variety_id=rng.choice(varieties)[0],
                    technology_ids=[rng.choice(technologies)[0]],
                    area_mu=round(rng.uniform(5, 200), 1),
                    latitude=None,
                    longitude=None,
                    altitude_m=None,
                    target_yield_kg_per_mu=rng.choice((650.0, 700.0, 750.0)),
                    established_on=when.date().isoformat(),
                )
                plots.append(state)
                townships.append(village[:9] + "000")
                observation = self.meta(p.PLOT_OBSERVATION, envoy, when + timedelta(days=90))
                observation.update(
                    plot_id=state["id"],
                    observed_on=(when + timedelta(days=90)).date().isoformat(),
                    stage="harvest",
                    survival_rate=None,
                    yield_kg_per_mu=round(state["target_yield_kg_per_mu"] * rng.uniform(0.9, 1.3)),
                    notes=None,
                    correction_of=None,
                )
                observations.append(observation)
                observed_townships.append(village[:9] + "000")
            self.write(p.PLOT, plots, townships)
            self.write(p.PLOT_OBSERVATION, observations, observed_townships)
            counts["plots"] += len(plots)

        db.conn.executemany(
            "INSERT INTO farmer_aliases (id, canonical_id, merged_at, reason, server_seq) "
            "VALUES (?, ?, ?, ?, ?)",
            aliases,
        )
        targets = []
        for county in counties:
            for key, comparator, value in (
                ("trainee_attendances", ">", 9000),
                ("unique_trainees", ">=", 2500),
                ("leaflets_distributed", ">=", 15000),
                ("village_trainings", ">=", 120),
                ("large_trainings", ">=", 8),
                ("tv_lectures", ">=", 8),
                ("technologies_promoted", ">=", 50),
                ("varieties_introduced", ">=", 30),
                ("demo_plots", ">=", 50),
                ("demo_area_mu", ">=", 5000),
            ):
                code = county.ljust(12, "0")
                targets.append(
                    (f"{self.year}:{code}:{key}", self.year, code, key, comparator, value)
                )
        db.conn.executemany(
            "INSERT INTO targets (id, year, unit_code, indicator, comparator, value, server_seq) "
            "VALUES (?, ?, ?, ?, ?, ?, 0)",
            targets,
        )
        db.execute("UPDATE server_state SET value = ? WHERE key = 'seq'", [self.seq])
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        return {**counts, "aliases": len(aliases), "counties": counties}


def nation_size(checkins: int) -> Size:
    """A thousand counties in ten provinces with `checkins` check-ins, the other records in the
    province size's proportions (a farmer per 3.3 check-ins, 50 check-ins a session ...)."""
    return Size(
        counties=1000,
        farmers=checkins * 3 // 10,
        sessions=checkins // 50,
        attendances=checkins,
        handouts=checkins // 20,
        plots=max(1000, checkins // 200),
        envoys_per_county=10,
    )
