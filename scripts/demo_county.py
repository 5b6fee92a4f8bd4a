"""Build a demo county: reference data, three enrolled devices and a few weeks of their records."""

from __future__ import annotations

import csv
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
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

from field_client.store import FieldStore
from field_client.sync import SyncClient, enrol
from server import devices, reference, users
from server.db import init_db
from server.report import build_report
from shared import protocol as p
from shared.clock import CHINA, to_iso, utc_now

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


class Timeline:
    """Moments N days back in China time, kept inside this year and before now.

    Early in January there are fewer than five weeks of this year behind us, so the
    schedule is squeezed rather than spilling into last year's report.
    """

    def __init__(self, now: datetime, weeks: int = 5) -> None:
        self.local_now = now.astimezone(CHINA)
        self.year = self.local_now.year
        self.earliest = datetime(self.year, 1, 1, tzinfo=CHINA)
        self.latest = self.local_now - timedelta(minutes=10)
        available = (self.latest - self.earliest) / timedelta(days=1)
        self.scale = min(1.0, available / (weeks * 7))

    def clamp(self, moment: datetime) -> datetime:
        return min(max(moment, self.earliest), self.latest)

    def at(self, days_ago: float, clock: str = "09:30") -> datetime:
        day = self.local_now.date() - timedelta(days=round(days_ago * self.scale))
        return self.clamp(datetime.combine(day, time.fromisoformat(clock), CHINA))

    def day(self, days_ago: float) -> str:
        return self.at(days_ago, "12:00").date().isoformat()


# ----------------------------------------------------------------- one envoy's device


def tech(name: str) -> str:
    return reference.catalogue_id(p.TECHNOLOGY, name)


def variety(name: str) -> str:
    return reference.catalogue_id(p.VARIETY, name)


def leaflet(title: str) -> str:
    return reference.catalogue_id(p.LEAFLET_TITLE, title)


def envoy_id(name: str) -> str:
    return reference.catalogue_id(p.ENVOY, name)


class FieldWork:
    """What one envoy records on their device: every record goes through FieldStore."""

    def __init__(self, store: FieldStore, county: County, timeline: Timeline, seed: str) -> None:
        self.store = store
        self.county = county
        self.timeline = timeline
        self.rng = random.Random(seed)
        self.envoy_id = store.identity()[1]
        self.farmers: dict[Person, str] = {}
        self.stock: dict[str, int] = {}

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

    def receive(self, title: str, copies: int, days_ago: float) -> None:
        self.store.create(
            p.LEAFLET_RECEIPT,
            {
                "leaflet_title_id": leaflet(title),
                "copies": copies,
                "received_on": self.timeline.day(days_ago),
            },
        )
        self.stock[title] = self.stock.get(title, 0) + copies

    def give(self, title: str, copies: int, at: datetime, **where: str) -> str | None:
        """Hand out copies at a session or in a village; never more than the envoy still holds."""
        copies = min(copies, self.stock.get(title, 0))
        if copies <= 0:
            return None
        self.stock[title] -= copies
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
        """A typo (300 for 30) is corrected with a negative event, never by editing the first."""
        self.stock[title] += wrong - right
        self.store.create(
            p.LEAFLET_HANDOUT,
            {
                "leaflet_title_id": leaflet(title),
                "copies": right - wrong,
                "correction_of": handout_id,
                "handed_out_at": to_iso(self.timeline.latest),
                "unit_code": self.store.record(p.LEAFLET_HANDOUT, handout_id)["unit_code"],
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
        days_ago: float,
        clock: str = "09:30",
        hours: float = 2.5,
        attendees: list[Person] | None = None,
        headcount: int | None = None,
        boards: int = 0,
        co_envoys: tuple[str, ...] = (),
        leaflets: tuple[tuple[str, int], ...] = (),
    ) -> str:
        """Open a session, check people in as they arrive, hand out leaflets, then close it."""
        starts = self.timeline.at(days_ago, clock)
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
        for person in attendees or []:
            if person.mobile is None:
                method = self.rng.choice(("card_scan", "card_scan", "roster"))
            else:
                method = self.rng.choices(("qr_self", "card_scan", "roster"), (8, 1, 1))[0]
            arrived = starts + timedelta(minutes=self.rng.randint(-10, 40))
            self.store.checkin(
                session_id, self.farmer(person), method, to_iso(self.timeline.clamp(arrived))
            )
        ends = self.timeline.clamp(starts + timedelta(hours=hours))
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
        days_ago: float,
        size: int,
        leaflet_title: str | None = None,
        clock: str = "09:30",
    ) -> str:
        code = self.county.village(township, index)
        village = self.county.village_names[code]
        neighbours = [self.county.village(township, (index + 1) % 5)]
        crowd = self.crowd([code], size) + self.crowd(neighbours, self.rng.randint(2, 5), 0.5)
        attendees = list(dict.fromkeys(crowd))
        handed = (
            ((leaflet_title, len(attendees) + self.rng.randint(5, 25)),) if leaflet_title else ()
        )
        place = self.rng.choice(("村委会活动室", "村小学操场", "田间地头", "村文化广场"))
        return self.session(
            "village_training",
            title=f"{technologies[0]}培训（{village}）",
            unit_code=code,
            place=f"{township}{village}{place}",
            technologies=technologies,
            days_ago=days_ago,
            clock=clock,
            attendees=attendees,
            leaflets=handed,
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
        days_ago: float,
        altitude_m: float,
        target_yield: float | None = None,
    ) -> str:
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
                "established_on": self.timeline.day(days_ago),
            },
        )

    def observe(
        self, plot_id: str, days_ago: float, stage: str, notes: str, **figures: float
    ) -> None:
        self.store.create(
            p.PLOT_OBSERVATION,
            {
                "plot_id": plot_id,
                "observed_on": self.timeline.day(days_ago),
                "stage": stage,
                "notes": notes,
                **figures,
            },
        )


# ----------------------------------------------------------------- the three envoys' weeks


def weeks_of_lijianhua(work: FieldWork) -> None:
    """Potatoes and maize in 大井镇 and 待补镇, and the county's large training."""
    for title, copies in (
        ("合理用药宣传手册", 1000),
        ("马铃薯晚疫病防治", 800),
        ("玉米病虫害绿色防控", 600),
        ("云南科技报（三下乡专版）", 300),
    ):
        work.receive(title, copies, days_ago=35)
    work.village_training(
        "大井镇",
        0,
        days_ago=33,
        size=32,
        leaflet_title="马铃薯晚疫病防治",
        technologies=["马铃薯脱毒种薯繁育技术", "测土配方施肥"],
    )
    work.village_training(
        "大井镇",
        1,
        days_ago=30,
        size=28,
        leaflet_title="马铃薯晚疫病防治",
        clock="14:00",
        technologies=["冬马铃薯高产栽培", "马铃薯晚疫病综合防控"],
    )
    work.village_training(
        "待补镇",
        2,
        days_ago=26,
        size=35,
        leaflet_title="玉米病虫害绿色防控",
        technologies=["玉米高产栽培", "玉米地膜覆盖栽培"],
    )
    township = work.county.townships["大井镇"]
    work.session(
        "large_training",
        title="大井镇冬季农业科技大型培训会",
        unit_code=township.code,
        place="大井镇文化广场",
        technologies=["冬马铃薯高产栽培", "马铃薯晚疫病综合防控", "测土配方施肥", "农药安全使用"],
        days_ago=19,
        hours=4,
        attendees=work.crowd([code for code, _ in township.villages], 165, returning=0.25),
        boards=12,
        co_envoys=("张丽萍", "周国强"),
        leaflets=(("合理用药宣传手册", 380), ("马铃薯晚疫病防治", 160)),
    )
    work.village_training(
        "待补镇",
        4,
        days_ago=12,
        size=26,
        leaflet_title="玉米病虫害绿色防控",
        technologies=["玉米大豆带状复合种植", "荞麦高产栽培"],
    )
    work.village_training(
        "大井镇",
        2,
        days_ago=6,
        size=30,
        leaflet_title="云南科技报（三下乡专版）",
        clock="14:30",
        technologies=["烤烟漂浮育苗", "农药安全使用"],
    )
    # Door to door (入户), not at a session: the hand-out names the village instead.
    work.give(
        "马铃薯晚疫病防治",
        120,
        work.timeline.at(9, "10:00"),
        unit_code=work.county.village("待补镇", 5),
    )
    work.give(
        "合理用药宣传手册",
        200,
        work.timeline.at(4, "11:00"),
        unit_code=work.county.village("大井镇", 3),
    )

    seed = work.plot(
        "大井镇",
        0,
        host="马鞍村马铃薯种薯专业合作社",
        crop="马铃薯",
        variety_name="青薯9号",
        technologies=["马铃薯脱毒种薯繁育技术", "测土配方施肥"],
        area_mu=300,
        days_ago=34,
        altitude_m=2350,
        target_yield=2500,
    )
    work.observe(seed, 27, "sowing", "脱毒原种播种完毕，墒情好")
    work.observe(seed, 8, "seedling", "出苗整齐", survival_rate=96.5)
    winter = work.plot(
        "大井镇",
        1,
        host="杨国富家",
        crop="马铃薯",
        variety_name="丽薯6号",
        technologies=["冬马铃薯高产栽培"],
        area_mu=120,
        days_ago=31,
        altitude_m=2200,
        target_yield=2200,
    )
    work.observe(winter, 24, "sowing", "地膜覆盖播种")
    work.observe(winter, 5, "seedling", "晚疫病监测未见病斑", survival_rate=94.0)
    trial = work.plot(
        "待补镇",
        2,
        host="待补镇农技站试验田",
        crop="马铃薯",
        variety_name="云薯304",
        technologies=["马铃薯晚疫病综合防控"],
        area_mu=80,
        days_ago=28,
        altitude_m=2100,
        target_yield=2300,
    )
    work.observe(trial, 10, "seedling", "与青薯9号对比种植", survival_rate=91.0)
    # The seed's maize plots beat target yields of 650/700/750 kg per mu by about 20%.
    maize = work.plot(
        "待补镇",
        4,
        host="待补镇玉米高产创建示范片",
        crop="玉米",
        variety_name="会单4号",
        technologies=["玉米高产栽培", "玉米地膜覆盖栽培"],
        area_mu=500,
        days_ago=35,
        altitude_m=2050,
        target_yield=750,
    )
    work.observe(maize, 20, "harvest", "实收测产，超目标产量约15%", yield_kg_per_mu=864)
    strip = work.plot(
        "待补镇",
        3,
        host="朱永昌家",
        crop="玉米",
        variety_name="云瑞88",
        technologies=["玉米大豆带状复合种植"],
        area_mu=200,
        days_ago=32,
        altitude_m=2000,
        target_yield=700,
    )
    work.observe(strip, 18, "harvest", "玉米带实收，大豆另计", yield_kg_per_mu=812)
    soil = work.plot(
        "大井镇",
        2,
        host="银屏村集体",
        crop="玉米",
        variety_name="会单4号",
        technologies=["测土配方施肥"],
        area_mu=150,
        days_ago=30,
        altitude_m=2150,
        target_yield=650,
    )
    work.observe(soil, 15, "harvest", "配方施肥区比常规施肥区增产", yield_kg_per_mu=771)


def weeks_of_zhangliping(work: FieldWork) -> None:
    """Medicinal herbs (红豆杉, 玛卡, 何首乌) in 迤车镇 and 纸厂乡, and a TV lecture."""
    for title, copies in (
        ("红豆杉与玛卡种植技术问答", 800),
        ("安全用药知识指南", 600),
        ("食品安全知识读本", 500),
    ):
        work.receive(title, copies, days_ago=34)
    work.village_training(
        "迤车镇",
        1,
        days_ago=32,
        size=30,
        leaflet_title="红豆杉与玛卡种植技术问答",
        technologies=["红豆杉扦插育苗"],
    )
    work.village_training(
        "纸厂乡",
        0,
        days_ago=27,
        size=24,
        leaflet_title="红豆杉与玛卡种植技术问答",
        technologies=["红豆杉扦插育苗", "重楼林下种植"],
    )
    # Many here came to 李建华's large training too: on two devices, merged by the server.
    work.village_training(
        "大井镇",
        5,
        days_ago=22,
        size=26,
        leaflet_title="安全用药知识指南",
        clock="14:00",
        technologies=["玛卡高海拔种植", "何首乌规范化种植"],
    )
    # A TV lecture has no attendance list, only the station's audience estimate.
    work.session(
        "tv_lecture",
        title="县电视台《科技兴农》：红豆杉与玛卡种植技术讲座",
        unit_code=COUNTY_CODE,
        place="县广播电视台演播室",
        technologies=["红豆杉扦插育苗", "玛卡高海拔种植", "重楼林下种植"],
        days_ago=16,
        clock="19:30",
        hours=0.75,
        headcount=3500,
    )
    work.village_training(
        "迤车镇",
        3,
        days_ago=13,
        size=34,
        leaflet_title="食品安全知识读本",
        technologies=["食用菌栽培技术", "蔬菜无公害生产"],
    )
    work.village_training(
        "纸厂乡",
        2,
        days_ago=5,
        size=22,
        leaflet_title="安全用药知识指南",
        technologies=["扯根菜引种栽培", "何首乌规范化种植"],
    )
    work.give(
        "安全用药知识指南",
        150,
        work.timeline.at(8, "15:00"),
        unit_code=work.county.village("迤车镇", 1),
    )

    nursery = work.plot(
        "迤车镇",
        1,
        host="迤车镇红豆杉育苗基地",
        crop="红豆杉",
        variety_name="南方红豆杉",
        technologies=["红豆杉扦插育苗"],
        area_mu=40,
        days_ago=33,
        altitude_m=2000,
    )
    work.observe(nursery, 25, "seedling", "扦插苗生根", survival_rate=92.0)
    work.observe(nursery, 6, "growing", "持续干旱，已滴灌补水", survival_rate=88.5)
    stand = work.plot(
        "纸厂乡",
        0,
        host="纸厂乡红豆杉连片种植区",
        crop="红豆杉",
        variety_name="南方红豆杉",
        technologies=["红豆杉扦插育苗"],
        area_mu=260,
        days_ago=29,
        altitude_m=1900,
    )
    work.observe(stand, 12, "growing", "连续干旱，成活率仍较好", survival_rate=85.0)
    # Maca is trialled at different altitudes, as in the seeds.
    for index, (name, area, altitude) in enumerate((("黄玛卡", 60, 2850), ("黑玛卡", 35, 2700))):
        maca = work.plot(
            "纸厂乡",
            3 + index,
            host=f"{name}高海拔试种点",
            crop="玛卡",
            variety_name=name,
            technologies=["玛卡高海拔种植"],
            area_mu=area,
            days_ago=30 - index,
            altitude_m=altitude,
        )
        work.observe(maca, 21 - index, "sowing", f"海拔{altitude}米试种")
        work.observe(maca, 7, "seedling", "出苗正常", survival_rate=80.0 + 6 * index)
    herb = work.plot(
        "大井镇",
        5,
        host="大井镇中药材合作社",
        crop="何首乌",
        variety_name=None,
        technologies=["何首乌规范化种植"],
        area_mu=15,
        days_ago=20,
        altitude_m=2300,
    )
    work.observe(herb, 4, "seedling", "引种试种，长势较好", survival_rate=90.0)


def weeks_of_wangzhigang(work: FieldWork) -> None:
    """Walnuts and fruit in the high townships; one session with only a headcount on paper."""
    for title, copies in (
        ("宝珠梨丰产栽培管理技术", 400),
        ("安全用药知识指南", 400),
        ("云南科技报（三下乡专版）", 300),
    ):
        work.receive(title, copies, days_ago=35)
    work.village_training(
        "上村乡",
        0,
        days_ago=34,
        size=28,
        leaflet_title="云南科技报（三下乡专版）",
        technologies=["核桃提质增效", "美国山核桃嫁接"],
    )
    # The phone's battery was flat that day: the envoy typed the headcount from a paper list.
    code = work.county.village("大海乡", 1)
    village = work.county.village_names[code]
    work.session(
        "village_training",
        title=f"冬桃引种栽培培训（{village}）",
        unit_code=code,
        place=f"大海乡{village}村委会",
        technologies=["冬桃引种栽培"],
        days_ago=28,
        headcount=46,
        leaflets=(("安全用药知识指南", 46),),
    )
    work.village_training(
        "驾车乡",
        2,
        days_ago=21,
        size=24,
        leaflet_title="安全用药知识指南",
        technologies=["肉牛秸秆青贮", "山羊舍饲圈养"],
    )
    work.village_training(
        "上村乡",
        3,
        days_ago=14,
        size=31,
        leaflet_title="宝珠梨丰产栽培管理技术",
        clock="14:00",
        technologies=["宝珠梨丰产栽培", "樱桃避雨栽培"],
    )
    work.village_training(
        "大海乡",
        0,
        days_ago=7,
        size=25,
        leaflet_title="安全用药知识指南",
        technologies=["核桃提质增效", "冬桃引种栽培"],
    )
    typo = work.give(
        "宝珠梨丰产栽培管理技术",
        300,
        work.timeline.at(10, "16:00"),
        unit_code=work.county.village("上村乡", 3),
    )
    if typo:
        work.correct_handout(typo, "宝珠梨丰产栽培管理技术", wrong=300, right=30)
    work.give(
        "云南科技报（三下乡专版）",
        100,
        work.timeline.at(10, "10:30"),
        unit_code=work.county.village("驾车乡", 2),
    )

    walnut = work.plot(
        "上村乡",
        0,
        host="上村乡核桃提质增效示范园",
        crop="核桃",
        variety_name="漾濞大泡核桃",
        technologies=["核桃提质增效"],
        area_mu=400,
        days_ago=33,
        altitude_m=2100,
    )
    work.observe(walnut, 9, "other", "冬季修剪、清园", survival_rate=97.0)
    pecan = work.plot(
        "上村乡",
        1,
        host="孔德兴家",
        crop="山核桃",
        variety_name="美国山核桃",
        technologies=["美国山核桃嫁接"],
        area_mu=50,
        days_ago=31,
        altitude_m=1950,
    )
    work.observe(pecan, 11, "growing", "嫁接成活，长势良好", survival_rate=89.0)
    cherry = work.plot(
        "上村乡",
        3,
        host="上村乡樱桃避雨栽培点",
        crop="樱桃",
        variety_name="丹巴樱桃",
        technologies=["樱桃避雨栽培"],
        area_mu=30,
        days_ago=26,
        altitude_m=2200,
    )
    work.observe(cherry, 6, "growing", "避雨棚已搭建", survival_rate=93.0)
    peach = work.plot(
        "大海乡",
        1,
        host="马顺有家",
        crop="桃",
        variety_name="冬桃",
        technologies=["冬桃引种栽培"],
        area_mu=45,
        days_ago=28,
        altitude_m=2400,
    )
    work.observe(peach, 3, "growing", "引种冬桃长势较好", survival_rate=91.5)
    maca = work.plot(
        "大海乡",
        0,
        host="大海乡玛卡种植合作社",
        crop="玛卡",
        variety_name="黄玛卡",
        technologies=["玛卡高海拔种植"],
        area_mu=80,
        days_ago=24,
        altitude_m=3050,
    )
    work.observe(maca, 10, "seedling", "高寒山区，霜冻后补苗", survival_rate=78.0)


DEVICE_WORK: tuple[tuple[str, Callable[[FieldWork], None]], ...] = (
    ("李建华", weeks_of_lijianhua),
    ("张丽萍", weeks_of_zhangliping),
    ("王志刚", weeks_of_wangzhigang),
)


# ----------------------------------------------------------------- server and sync


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def temporary_server(db_path: Path, log_path: Path) -> Iterator[str]:
    """The real server in its own process on a free loopback port, for as long as we sync."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "run", "--host", "127.0.0.1", "--port", str(port)],
            env={**os.environ, "TIANJIAN_DB": str(db_path)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = timer.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/api/openapi.json", timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None or timer.monotonic() > deadline:
                    raise click.ClickException(
                        f"服务器未能启动 / the server did not start; see {log_path}"
                    ) from None
                timer.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


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


def build(folder: Path, seed: int, say: Callable[[str], None]) -> dict[str, Any]:
    started = timer.monotonic()
    prepare(folder)
    timeline = Timeline(utc_now())
    county = County(seed)

    paths = county.write_reference(folder / "reference", timeline.year)
    server_db = folder / "server.db"
    db = init_db(str(server_db))
    units = reference.load_units(db, str(paths["units.csv"]))
    envoys = reference.load_envoys(db, str(paths["envoys.csv"]))
    catalogue = reference.load_catalogue(db, str(paths["catalog.csv"]))
    targets = reference.load_targets(db, str(paths["targets.yaml"]))
    say(
        f"参考数据 / reference data: {units} 个单位 units "
        f"({len(county.townships)} 乡镇 townships, {len(county.village_names)} 村 villages), "
        f"{envoys} 位特派员 envoys, {catalogue[p.TECHNOLOGY]} 项技术 technologies, "
        f"{catalogue[p.VARIETY]} 个品种 varieties, {catalogue[p.LEAFLET_TITLE]} 种资料 leaflets, "
        f"{targets} 项目标 targets ({timeline.year})"
    )

    field_dbs = []
    with temporary_server(server_db, folder / "server-setup.log") as url:
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
            weeks(work)
            pushed = sync_all(store)["pushed"]
            say(f"{name}: 登记设备并同步 / enrolled and synced, {pushed} 条变更 changes pushed")
            works.append(work)
            field_dbs.append(path.name)
        # A second round, as when envoys next find signal: each sees the others' records.
        for work in works:
            sync_all(work.store)
            work.store.close()

    report = build_report(db, timeline.year)
    sign_ins = demo_users(db)
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
            line["key"]: {k: line[k] for k in ("actual", "target", "met") if k in line}
            for line in report["indicators"]
        },
    }
    (folder / "demo.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    say(f"两台设备登记的同一农户已自动合并 / same farmer on two devices, merged: {merged}")
    for line in report["indicators"]:
        target = "" if line["target"] is None else f"{line['comparator']} {line['target']:g}"
        met = {True: "✓", False: "✗", None: " "}[line["met"]]
        extra = ""
        if "reported" in line:
            extra = f"  核实 verified {line['verified']} / 仅报数 reported {line['reported']}"
        elif "received" in line:
            extra = f"  领取 received {line['received']:g}"
        elif "audience_estimate" in line:
            extra = f"  观众估计 audience {line['audience_estimate']:g}"
        say(f"  {met} {line['label_zh']:<10}{line['actual']:>8g}  {target:<8}{extra}")
    say(f"用时 / took {seconds}s")
    return summary


def demo_users(db: Any) -> list[dict[str, str]]:
    """A demo admin and one envoy's account, each with a fresh password of unambiguous letters."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    made = []
    for name, role, envoy in (("admin", users.ADMIN, None), ("lijianhua", users.ENVOY, "李建华")):
        password = "".join(secrets.choice(alphabet) for _ in range(10))
        envoy_id = devices.envoy_by_name(db, envoy)["id"] if envoy else None
        users.add_user(db, name, role, password, envoy_id)
        made.append({"name": name, "role": role, "password": password})
    return made


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
def build_command(folder: Path, seed: int, quiet: bool) -> None:
    """Build reference data, three envoys' devices and their synced records, then exit."""
    build(folder, seed, (lambda _text: None) if quiet else click.echo)


if __name__ == "__main__":
    cli()
