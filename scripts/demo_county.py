"""Build a demo county: reference data, three enrolled devices and this year's records so far."""

from __future__ import annotations

import csv
import json
import logging
import random
import secrets
import shutil
import threading
import time as timer
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import click
import requests
import yaml
from demo_year import DEVICE_WORK, Doubts, this_morning_of_wangzhigang

from field_client.phones import checkin_phone, cookie_hash
from field_client.store import FieldStore
from field_client.sync import SyncClient, SyncFailed, enrol
from server.accounts import users
from server.plan import profiles
from server.plan.report import build_report
from server.plan.target_files import load_targets_file
from server.quality import reviews
from server.reference import load as reference
from server.store.db import init_db
from server.sync import devices
from shared import protocol as p
from shared import review_status as rs
from shared.clock import CHINA, parse_iso, to_iso, utc_now

MARKER = ".tianjian-demo"
SEED = 2026

# ----------------------------------------------------------------- the county

# Townships of a Yunnan county like the one the seeds describe (金钟, 大井, 迤车, 待补, 上村...).
# Statistical codes: 0xx for sub-districts (街道), 1xx for towns (镇), 2xx for townships (乡).
COUNTY_CODE = "530326"
COUNTY_NAME = "会泽县（演示）"
TOWNSHIPS = (
    ("001", "金钟街道"),
    ("002", "古城街道"),
    ("101", "娜姑镇"),
    ("102", "迤车镇"),
    ("103", "待补镇"),
    ("104", "大井镇"),
    ("105", "者海镇"),
    ("106", "乐业镇"),
    ("107", "矿山镇"),
    ("201", "马路乡"),
    ("202", "火红乡"),
    ("203", "上村乡"),
    ("204", "纸厂乡"),
    ("205", "大海乡"),
    ("206", "驾车乡"),
)
# Village committees the seeds name (大井镇的马鞍、德白、银屏等村委会) come first in their township.
NAMED_VILLAGES = {"大井镇": ("马鞍村", "德白村", "银屏村")}
VILLAGE_HEADS = "石龙松杨柳梨桃马牛羊白黑红青大小新老中上下东西南北水沙田花竹铜银金岩箐木"
VILLAGE_TAILS = "坪坝塘沟箐营寨湾山河林口庄铺哨头田岭"

TECHNOLOGIES = (
    ("马铃薯脱毒种薯繁育技术", "种植"),
    ("马铃薯晚疫病综合防控", "植保"),
    ("冬马铃薯高产栽培", "种植"),
    ("玉米高产栽培", "种植"),
    ("玉米地膜覆盖栽培", "种植"),
    ("玉米大豆带状复合种植", "种植"),
    ("测土配方施肥", "土肥"),
    ("荞麦高产栽培", "种植"),
    ("烤烟漂浮育苗", "种植"),
    ("蔬菜无公害生产", "种植"),
    ("食用菌栽培技术", "种植"),
    ("农药安全使用", "植保"),
    ("红豆杉扦插育苗", "中药材"),
    ("玛卡高海拔种植", "中药材"),
    ("何首乌规范化种植", "中药材"),
    ("扯根菜引种栽培", "中药材"),
    ("重楼林下种植", "中药材"),
    ("核桃提质增效", "林果"),
    ("美国山核桃嫁接", "林果"),
    ("宝珠梨丰产栽培", "林果"),
    ("冬桃引种栽培", "林果"),
    ("樱桃避雨栽培", "林果"),
    ("生猪健康养殖", "畜牧"),
    ("肉牛秸秆青贮", "畜牧"),
    ("山羊舍饲圈养", "畜牧"),
)
VARIETIES = (
    ("青薯9号", "马铃薯"),
    ("丽薯6号", "马铃薯"),
    ("云薯304", "马铃薯"),
    ("会单4号", "玉米"),
    ("云瑞88", "玉米"),
    ("南方红豆杉", "红豆杉"),
    ("黄玛卡", "玛卡"),
    ("黑玛卡", "玛卡"),
    ("漾濞大泡核桃", "核桃"),
    ("美国山核桃", "山核桃"),
    ("丹巴樱桃", "樱桃"),
    ("冬桃", "桃"),
)
LEAFLETS = (
    "合理用药宣传手册",
    "食品安全知识读本",
    "宝珠梨丰产栽培管理技术",
    "安全用药知识指南",
    "云南科技报（三下乡专版）",
    "马铃薯晚疫病防治",
    "玉米病虫害绿色防控",
    "红豆杉与玛卡种植技术问答",
)
# name, pinyin (for file names), mobile, townships served
ENVOYS = (
    ("李建华", "lijianhua", "13988741025", ("大井镇", "待补镇")),
    ("张丽萍", "zhangliping", "13708652317", ("迤车镇", "纸厂乡", "大井镇")),
    ("王志刚", "wangzhigang", "15087430962", ("上村乡", "大海乡", "驾车乡")),
    ("赵永明", "zhaoyongming", "13578020416", ("金钟街道", "古城街道")),
    ("陈晓燕", "chenxiaoyan", "18787415530", ("娜姑镇", "乐业镇")),
    ("杨德富", "yangdefu", "13887196248", ("者海镇", "矿山镇")),
    ("刘春梅", "liuchunmei", "15288102734", ("马路乡", "火红乡")),
    ("周国强", "zhouguoqiang", "13629481057", ("待补镇",)),
)
# The seed's county plan (seed 000), plus demonstration-plot targets of our own.
TARGETS = (
    ("trainee_attendances", ">", 3000),
    ("leaflets_distributed", ">=", 5000),
    ("village_trainings", ">=", 8),
    ("large_trainings", ">=", 2),
    ("tv_lectures", ">=", 2),
    ("technologies_promoted", ">=", 20),
    ("varieties_introduced", ">=", 10),
    ("demo_plots", ">=", 15),
    ("demo_area_mu", ">=", 5000),
)

SURNAMES = "李王张刘陈杨赵黄周吴朱孙马胡郭何高罗徐孔卯浦管代邓付钱汤唐沈"
MALE_CHARS = "国建志德永明华富贵文兴学成光金发云林忠和昌春荣顺有"
FEMALE_CHARS = "秀英兰芳桂珍丽萍琼梅燕玉凤仙翠菊霞艳红莲春"
MOBILE_PREFIXES = "133 135 136 138 139 150 151 152 157 158 159 182 187 188 189 199".split()


@dataclass(frozen=True)
class Person:
    """Someone living in a village; each device that meets them registers them on its own."""

    name: str
    mobile: str | None
    gender: str
    birth_year: int
    village_code: str


@dataclass
class Township:
    code: str
    name: str
    villages: list[tuple[str, str]] = field(default_factory=list)


class County:
    """The county's units, and the people of each village, all drawn from one seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.code = COUNTY_CODE
        rng = random.Random(seed)
        self.townships: dict[str, Township] = {}
        for suffix, name in TOWNSHIPS:
            township = Township(COUNTY_CODE + suffix, name)
            # Sub-districts hold communities (社区, 0xx); elsewhere village committees (村, 2xx).
            street = suffix.startswith("0")
            names = list(NAMED_VILLAGES.get(name, ()))
            count = rng.randint(11, 16)
            while len(names) < count:
                candidate = rng.choice(VILLAGE_HEADS) + rng.choice(VILLAGE_TAILS)
                candidate += "社区" if street else "村"
                if candidate not in names and candidate[0] != candidate[1]:
                    names.append(candidate)
            first = 1 if street else 201
            township.villages = [
                (f"{township.code}{first + i:03d}", village) for i, village in enumerate(names)
            ]
            self.townships[name] = township
        self.village_names = {
            code: name for t in self.townships.values() for code, name in t.villages
        }
        self._people: dict[str, list[Person]] = {}

    def village(self, township: str, index: int) -> str:
        return self.townships[township].villages[index][0]

    def people(self, village_code: str) -> list[Person]:
        """About thirty residents of a village, the same ones on every run."""
        if village_code not in self._people:
            rng = random.Random(f"{self.seed}/{village_code}")
            residents, names = [], set()
            while len(residents) < 30:
                gender = "female" if rng.random() < 0.45 else "male"
                chars = FEMALE_CHARS if gender == "female" else MALE_CHARS
                name = rng.choice(SURNAMES) + "".join(
                    rng.choice(chars) for _ in range(1 if rng.random() < 0.2 else 2)
                )
                if name in names:
                    continue
                names.add(name)
                # Older farmers often have no phone of their own and carry a printed QR card.
                birth_year = rng.randint(1952, 1999)
                has_phone = rng.random() < (0.6 if birth_year < 1962 else 0.92)
                mobile = (
                    rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
                    if has_phone
                    else None
                )
                residents.append(Person(name, mobile, gender, birth_year, village_code))
            self._people[village_code] = residents
        return self._people[village_code]

    def write_reference(self, folder: Path, year: int) -> dict[str, Path]:
        """The bureau's reference files, in the formats `tianjian-server ... load` reads."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = {name: folder / name for name in ("units.csv", "envoys.csv", "catalog.csv")}
        with open(paths["units.csv"], "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["code", "name", "parent_code", "level"])
            writer.writerow([COUNTY_CODE, COUNTY_NAME, "", "county"])
            for township in self.townships.values():
                writer.writerow([township.code, township.name, COUNTY_CODE, "township"])
                for code, name in township.villages:
                    writer.writerow([code, name, township.code, "village"])
        with open(paths["envoys.csv"], "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["name", "mobile", "township_codes"])
            for name, _slug, mobile, served in ENVOYS:
                codes = " ".join(self.townships[t].code for t in served)
                writer.writerow([name, mobile, codes])
        with open(paths["catalog.csv"], "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["type", "name", "crop", "category"])
            writer.writerows(["technology", name, "", category] for name, category in TECHNOLOGIES)
            writer.writerows(["variety", name, crop, ""] for name, crop in VARIETIES)
            writer.writerows(["leaflet", title, "", ""] for title in LEAFLETS)
        paths["targets.yaml"] = folder / "targets.yaml"
        plan = {
            "year": year,
            "unit_code": COUNTY_CODE,
            "targets": [
                {"indicator": key, "comparator": comparator, "value": value}
                for key, comparator, value in TARGETS
            ],
        }
        paths["targets.yaml"].write_text(
            yaml.safe_dump(plan, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        return paths


# ----------------------------------------------------------------- time

# The demo county's monthly profile: the cumulative percent of the year's work done by the end of
# each month. Little in January and February (the Spring Festival), sowing and planting from
# March to May, field work through the summer, the harvest in autumn and the winter training
# season. The build sets it as the year's profile and spreads the envoys' work along it.
PROFILE = (3, 7, 17, 29, 39, 47, 54, 61, 71, 81, 92, 100)


class Timeline:
    """Where in the demo year a share of the year's work falls, in China time; only the part of
    the year already past is recorded (the demo year is this year, and nothing is in the future)."""

    def __init__(self, now: datetime) -> None:
        self.local_now = now.astimezone(CHINA)
        self.year = self.local_now.year
        self.latest = self.local_now - timedelta(minutes=10)

    def moment(self, share: float, clock: str = "09:30") -> datetime:
        """The day by which `share` (0 to 1) of the year's work is done under PROFILE, at `clock`."""
        percent = min(max(share, 0.0), 0.9999) * 100
        month, before = 12, 0.0
        for number, cumulative in enumerate(PROFILE, 1):
            if percent < cumulative:
                month = number
                break
            before = cumulative
        start = datetime(self.year, month, 1, tzinfo=CHINA)
        end = datetime(self.year + (month == 12), month % 12 + 1, 1, tzinfo=CHINA)
        day = start + (end - start) * ((percent - before) / (PROFILE[month - 1] - before))
        return datetime.combine(day.date(), time.fromisoformat(clock), CHINA)

    def when(self, share: float, clock: str = "09:30") -> datetime | None:
        """The moment of `share`, or None while it is still to come."""
        moment = self.moment(share, clock)
        return moment if moment <= self.latest else None

    def day(self, share: float) -> str | None:
        moment = self.when(share, "08:00")
        return moment.date().isoformat() if moment else None

    def clamp(self, moment: datetime) -> datetime:
        return min(moment, self.latest)


# ----------------------------------------------------------------- one envoy's device


def tech(name: str) -> str:
    return reference.catalogue_id(p.TECHNOLOGY, name)


def variety(name: str) -> str:
    return reference.catalogue_id(p.VARIETY, name)


def leaflet(title: str) -> str:
    return reference.catalogue_id(p.LEAFLET_TITLE, title)


def envoy_id(name: str) -> str:
    return reference.catalogue_id(p.ENVOY, name)


NO_DOUBTS = Doubts()


class FieldWork:
    """What one envoy records on their device: every record goes through FieldStore. Each
    record is placed at a share of the year's work; what still lies ahead is not recorded."""

    def __init__(self, store: FieldStore, county: County, timeline: Timeline, seed: str) -> None:
        self.store = store
        self.county = county
        self.timeline = timeline
        self.rng = random.Random(seed)
        self.envoy_id = store.identity()[1]
        self.farmers: dict[Person, str] = {}
        self.stock: dict[str, int] = {}
        # Doubtful records planted on purpose, by what is wrong with them, for staff to review.
        self.planted: dict[str, str] = {}

    def farmer(self, person: Person) -> str:
        """This device's record of a person, registered the first time the envoy meets them."""
        if person not in self.farmers:
            self.farmers[person] = self.store.create(
                p.FARMER,
                {
                    "name": person.name,
                    "mobile": person.mobile,
                    "gender": person.gender,
                    "birth_year": person.birth_year,
                    "village_code": person.village_code,
                },
            )
        return self.farmers[person]

    def crowd(self, village_codes: list[str], size: int, returning: float = 0.3) -> list[Person]:
        """Who turns up: some farmers this envoy has trained before, the rest from the villages."""
        known = [person for person in self.farmers if person.village_code in village_codes]
        again = self.rng.sample(known, min(len(known), round(size * returning)))
        pool = [
            person
            for code in village_codes
            for person in self.county.people(code)
            if person not in again
        ]
        return again + self.rng.sample(pool, min(len(pool), size - len(again)))

    def receive(self, title: str, copies: int, share: float) -> None:
        day = self.timeline.day(share)
        if day is None:
            return
        self.store.create(
            p.LEAFLET_RECEIPT,
            {"leaflet_title_id": leaflet(title), "copies": copies, "received_on": day},
        )
        self.stock[title] = self.stock.get(title, 0) + copies

    def give(
        self, title: str, copies: int, at: datetime | None, beyond_stock: bool = False, **where: str
    ) -> str | None:
        """Hand out copies at a session or in a village; never more than the envoy still holds,
        unless `beyond_stock` (a hand-out the reconciliation should find)."""
        if at is None:
            return None
        if not beyond_stock:
            copies = min(copies, self.stock.get(title, 0))
        if copies <= 0:
            return None
        self.stock[title] = self.stock.get(title, 0) - copies
        return self.store.create(
            p.LEAFLET_HANDOUT,
            {
                "leaflet_title_id": leaflet(title),
                "copies": copies,
                "handed_out_at": to_iso(self.timeline.clamp(at)),
                **where,
            },
        )

    def correct_handout(self, handout_id: str, title: str, wrong: int, right: int) -> None:
        """A typo (600 for 60) is corrected with a negative event, never by editing the first."""
        self.stock[title] += wrong - right
        first = self.store.record(p.LEAFLET_HANDOUT, handout_id)
        assert first is not None
        # Corrected a few days later, in the same month as the hand-out it corrects.
        at = min(parse_iso(first["handed_out_at"]) + timedelta(days=2), self.timeline.latest)
        self.store.create(
            p.LEAFLET_HANDOUT,
            {
                "leaflet_title_id": leaflet(title),
                "copies": right - wrong,
                "correction_of": handout_id,
                "handed_out_at": to_iso(at),
                "unit_code": first["unit_code"],
            },
        )

    def session(
        self,
        kind: str,
        *,
        title: str,
        unit_code: str,
        place: str,
        technologies: list[str],
        share: float,
        clock: str = "09:30",
        hours: float = 2.5,
        attendees: list[Person] | None = None,
        headcount: int | None = None,
        boards: int = 0,
        co_envoys: tuple[str, ...] = (),
        leaflets: tuple[tuple[str, int], ...] = (),
        doubts: Doubts = NO_DOUBTS,
    ) -> str | None:
        """Open a session, check people in as they arrive, hand out leaflets, then close it."""
        starts = self.timeline.when(share, clock)
        if starts is None:
            return None
        session_id = self.store.create(
            p.SESSION,
            {
                "kind": kind,
                "title": title,
                "unit_code": unit_code,
                "place": place,
                "technology_ids": [tech(name) for name in technologies],
                "starts_at": to_iso(starts),
                "lead_envoy_id": self.envoy_id,
                "co_envoy_ids": [envoy_id(name) for name in co_envoys],
                "reported_headcount": headcount,
                "display_boards": boards,
            },
        )
        people = list(attendees or [])
        late = people.pop() if doubts.late_minutes and people else None
        helper_phone = checkin_phone("demo", cookie_hash(f"{session_id}/helper"))
        for number, person in enumerate(people):
            phone = None
            if number < doubts.one_phone:
                method, phone = "qr_self", helper_phone
            elif person.mobile is None:
                method = self.rng.choice(("card_scan", "card_scan", "roster"))
            else:
                method = self.rng.choices(("qr_self", "card_scan", "roster"), (8, 1, 1))[0]
            arrived = starts + timedelta(minutes=self.rng.randint(-10, 40))
            self.store.checkin(
                session_id,
                self.farmer(person),
                method,
                to_iso(self.timeline.clamp(arrived)),
                phone=phone,
            )
        ends = self.timeline.clamp(starts + timedelta(hours=hours))
        if late is not None:
            after = ends + timedelta(minutes=doubts.late_minutes)
            self.store.checkin(
                session_id, self.farmer(late), "roster", to_iso(self.timeline.clamp(after))
            )
        for title_given, copies in leaflets:
            self.give(title_given, copies, ends - timedelta(minutes=15), session_id=session_id)
        self.store.update(p.SESSION, session_id, {"ends_at": to_iso(ends), "closed": True})
        return session_id

    def village_training(
        self,
        township: str,
        index: int,
        *,
        technologies: list[str],
        share: float,
        size: int,
        leaflet_title: str | None = None,
        clock: str = "09:30",
        typed_headcount: int | None = None,
        doubts: Doubts = NO_DOUBTS,
    ) -> str | None:
        """A training in a village: its people and a few from the next village come; those who
        came take leaflets home for their neighbours too. `typed_headcount`: the envoy also
        typed the number in the room (0: as many as checked in, and a few without a phone)."""
        if self.timeline.when(share, clock) is None:
            return None
        code = self.county.village(township, index)
        village = self.county.village_names[code]
        neighbours = [self.county.village(township, (index + 1) % 5)]
        crowd = self.crowd([code], size) + self.crowd(neighbours, self.rng.randint(2, 5), 0.5)
        attendees = list(dict.fromkeys(crowd))
        handed = (
            ((leaflet_title, len(attendees) + self.rng.randint(25, 45)),) if leaflet_title else ()
        )
        if typed_headcount == 0:
            typed_headcount = len(attendees) + self.rng.randint(0, 4)
        place = self.rng.choice(("村委会活动室", "村小学操场", "田间地头", "村文化广场"))
        return self.session(
            "village_training",
            title=f"{technologies[0]}培训（{village}）",
            unit_code=code,
            place=f"{township}{village}{place}",
            technologies=technologies,
            share=share,
            clock=clock,
            attendees=attendees,
            headcount=typed_headcount,
            leaflets=handed,
            doubts=doubts,
        )

    def plot(
        self,
        township: str,
        index: int,
        *,
        host: str,
        crop: str,
        variety_name: str | None,
        technologies: list[str],
        area_mu: float,
        share: float,
        altitude_m: float,
        target_yield: float | None = None,
    ) -> str | None:
        established = self.timeline.day(share)
        if established is None:
            return None
        # Around the county seat (26.4°N, 103.3°E); altitude matters for maca and yew.
        return self.store.create(
            p.PLOT,
            {
                "village_code": self.county.village(township, index),
                "host_name": host,
                "crop": crop,
                "variety_id": variety(variety_name) if variety_name else None,
                "technology_ids": [tech(name) for name in technologies],
                "area_mu": area_mu,
                "latitude": round(26.2 + self.rng.random() * 0.6, 5),
                "longitude": round(103.0 + self.rng.random() * 0.7, 5),
                "altitude_m": altitude_m,
                "target_yield_kg_per_mu": target_yield,
                "established_on": established,
            },
        )

    def observe(
        self, plot_id: str | None, share: float, stage: str, notes: str, **figures: float
    ) -> None:
        observed = self.timeline.day(share)
        if plot_id is None or observed is None:
            return
        self.store.create(
            p.PLOT_OBSERVATION,
            {
                "plot_id": plot_id,
                "observed_on": observed,
                "stage": stage,
                "notes": notes,
                **figures,
            },
        )


# ----------------------------------------------------------------- server and sync


@contextmanager
def temporary_server(db_path: Path) -> Iterator[str]:
    """The real server app over real HTTP on a free loopback port, served from a thread of this
    process for as long as we sync (a process of its own spent a second starting up)."""
    from werkzeug.serving import make_server

    from server import create_app

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, create_app({"DATABASE": str(db_path)}), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


class SignalLost(requests.Session):
    """A link that carries one request and then drops every other."""

    def __init__(self) -> None:
        super().__init__()
        self.carried = 0

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.carried += 1
        if self.carried > 1:
            raise requests.ConnectionError("信号中断 / signal lost")
        return super().request(*args, **kwargs)


def sync_cut_after_first_request(store: FieldStore) -> None:
    """A sync in one-change batches whose link drops after the first: one change and the
    device's report (what still waits) reach the server, the rest stays in the outbox."""
    client = SyncClient(store, session=SignalLost(), batch_changes=1, retries=0, backoff=0)
    try:
        client.sync()
    except SyncFailed:
        pass
    else:
        raise click.ClickException("同步本应中断 / the cut sync went through")


def sync_all(store: FieldStore) -> dict[str, Any]:
    report = SyncClient(store, retries=2, backoff=0.2).sync()
    counts = store.counts()
    if counts:
        reasons = [row["reason"] for row in store.rejected()][:5]
        raise click.ClickException(f"同步未完成 / sync left changes behind: {counts} {reasons}")
    return report.as_dict()


# ----------------------------------------------------------------- build


def prepare(folder: Path) -> None:
    """Start from nothing, but only ever delete a folder this script made."""
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).exists():
            raise click.ClickException(
                f"{folder} 不是演示目录，未删除 / {folder} is not a demo folder; not deleting it"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("made by scripts/demo_county.py; deleted on every rebuild\n")


def build(
    folder: Path, seed: int, say: Callable[[str], None], now: datetime | None = None
) -> dict[str, Any]:
    """The demo county in `folder`, its records up to `now` (default: this moment)."""
    started = timer.monotonic()
    prepare(folder)
    now = now or utc_now()
    timeline = Timeline(now)
    county = County(seed)

    paths = county.write_reference(folder / "reference", timeline.year)
    server_db = folder / "server.db"
    db = init_db(str(server_db))
    units = reference.load_units(db, str(paths["units.csv"]))
    envoys = reference.load_envoys(db, str(paths["envoys.csv"]))
    catalogue = reference.load_catalogue(db, str(paths["catalog.csv"]))
    targets = load_targets_file(db, str(paths["targets.yaml"]))
    profiles.set_profile(db, timeline.year, list(PROFILE))
    say(
        f"参考数据 / reference data: {units} 个单位 units "
        f"({len(county.townships)} 乡镇 townships, {len(county.village_names)} 村 villages), "
        f"{envoys} 位特派员 envoys, {catalogue[p.TECHNOLOGY]} 项技术 technologies, "
        f"{catalogue[p.VARIETY]} 个品种 varieties, {catalogue[p.LEAFLET_TITLE]} 种资料 leaflets, "
        f"{targets} 项目标 targets ({timeline.year}), 月度进度 monthly profile {PROFILE}"
    )

    # Password hashing (scrypt) takes a while and lets go of the GIL: it runs beside the field work.
    accounts = DemoUsers(str(server_db))
    accounts.start()
    field_dbs = []
    with temporary_server(server_db) as url:
        works = []
        for name, weeks in DEVICE_WORK:
            slug = next(entry[1] for entry in ENVOYS if entry[0] == name)
            code = devices.new_enrolment_code(db, devices.envoy_by_name(db, name)["id"], 30)
            db.conn.commit()
            path = folder / f"field-{slug}.db"
            store = FieldStore(str(path))
            enrol(store, url, code, f"{name}的手机")
            sync_all(store)
            work = FieldWork(store, county, timeline, f"{seed}/{name}")
            # The year's records in one transaction: the same rows, without a commit for each.
            with store.transaction():
                weeks(work)
            pushed = sync_all(store)["pushed"]
            say(f"{name}: 登记设备并同步 / enrolled and synced, {pushed} 条变更 changes pushed")
            works.append(work)
            field_dbs.append(path.name)
        # A second round, as when envoys next find signal: each sees the others' records.
        for work in works:
            sync_all(work.store)
        # Then one envoy records a little more and loses the signal after the first batch: the
        # server has his device's word for what still waits (the ledger's 未同步).
        late = works[-1]
        with late.store.transaction():
            this_morning_of_wangzhigang(late)
        sync_cut_after_first_request(late.store)
        for work in works:
            work.store.close()

    report = build_report(db, timeline.year, now=now)
    sign_ins = accounts.made()
    review_planted(db, works)
    merged = db.execute("SELECT count(*) FROM farmer_aliases").fetchone()[0]
    db.close()
    seconds = round(timer.monotonic() - started, 1)
    summary = {
        "year": timeline.year,
        "county_code": COUNTY_CODE,
        "server_db": server_db.name,
        "field_dbs": field_dbs,
        "farmers_merged": merged,
        "seconds": seconds,
        # Demo accounts for the bureau's pages; scripts/demo prints them (nothing signs in for you).
        "users": sign_ins,
        "indicators": {
            line["key"]: {k: line[k] for k in ("actual", "target", "met", "status") if k in line}
            for line in report["indicators"]
        },
    }
    (folder / "demo.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    say(f"两台设备登记的同一农户已自动合并 / same farmer on two devices, merged: {merged}")
    for line in report["indicators"]:
        target = "" if line["target"] is None else f"{line['comparator']} {line['target']:g}"
        status = line["status_zh"] or ""
        extra = ""
        if "reported" in line:
            extra = f"  核实 verified {line['verified']} / 仅报数 reported {line['reported']}"
        elif "received" in line:
            extra = f"  领取 received {line['received']:g}"
        elif "audience_estimate" in line:
            extra = f"  观众估计 audience {line['audience_estimate']:g}"
        say(f"  {status:<5}{line['label_zh']:<10}{line['actual']:>8g}  {target:<8}{extra}")
    say(f"用时 / took {seconds}s")
    return summary


def review_planted(db: Any, works: list[FieldWork]) -> None:
    """The bureau has already looked at one flagged record: the padded headcount is marked
    questioned (有问题), so the review page, the audit log and the questioned figures show a
    decision beside the flags still waiting for one."""
    admin = users.user_by_name(db, "admin")
    for work in works:
        padded = work.planted.get("padded_headcount")
        if padded:
            reviews.set_review(
                db,
                admin,
                p.SESSION,
                padded,
                rs.QUESTIONED,
                "填报 260 人，实名签到只有二十多人，请特派员核实到会人数。",
            )


class DemoUsers(threading.Thread):
    """A demo admin and one envoy's account, each with a fresh password of unambiguous letters,
    made on a connection of their own."""

    def __init__(self, db_path: str) -> None:
        super().__init__(daemon=True)
        self.db_path = db_path
        self.accounts: list[dict[str, str]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
        db = init_db(self.db_path)
        try:
            for name, role, envoy in (
                ("admin", users.ADMIN, None),
                ("lijianhua", users.ENVOY, "李建华"),
            ):
                password = "".join(secrets.choice(alphabet) for _ in range(10))
                envoy_id = devices.envoy_by_name(db, envoy)["id"] if envoy else None
                users.add_user(db, name, role, password, envoy_id)
                self.accounts.append({"name": name, "role": role, "password": password})
        except BaseException as exc:  # handed to the main thread by made()
            self.error = exc
        finally:
            db.close()

    def made(self) -> list[dict[str, str]]:
        self.join()
        if self.error:
            raise self.error
        return self.accounts


@click.group()
def cli() -> None:
    """Demo county generator for scripts/demo."""


@cli.command("build")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default="demo",
    show_default=True,
    help="Folder to build into; deleted first if an earlier demo.",
)
@click.option("--seed", type=int, default=SEED, show_default=True, help="Random seed.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Build as on this day (China time, noon) instead of now: its year, up to that day.",
)
def build_command(folder: Path, seed: int, quiet: bool, today: datetime | None) -> None:
    """Build reference data, three envoys' devices and their synced records, then exit."""
    now = datetime.combine(today.date(), time(12), CHINA) if today else None
    build(folder, seed, (lambda _text: None) if quiet else click.echo, now)


if __name__ == "__main__":
    cli()
