"""The demo county's year: what three envoys record from January to today, with a few doubtful
records planted for the checks to find (scripts/demo_county.py builds and syncs it).

Each envoy's trainings are spread over the year at the quantiles of the demo's monthly profile
(PROFILE in demo_county.py), on topics of the season; the year's plan is sized so that by the
year's end some indicators are met and some fall short, as in a real county.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from demo_county import FieldWork


@dataclass(frozen=True)
class Doubts:
    """What is deliberately wrong with a session's check-ins, for the checks to find."""

    # Farmers checked in from one phone (a helper's), all by QR self check-in.
    one_phone: int = 0
    # Minutes after the session's end at which one more farmer is checked in from the roster.
    late_minutes: int = 0


@dataclass(frozen=True)
class Topic:
    """What an envoy trains on in some months, and the leaflet handed out with it."""

    months: tuple[int, ...]
    technologies: tuple[str, ...]
    leaflet: str


@dataclass(frozen=True)
class Routine:
    """An envoy's everyday work: village trainings and door-to-door hand-outs over the year."""

    villages: tuple[tuple[str, int], ...]
    topics: tuple[Topic, ...]
    trainings: int
    door_to_door: int
    # Share of trainings where the envoy also typed the number in the room.
    typed: float


def routine(work: FieldWork, plan: Routine) -> list[str]:
    """The envoy's trainings, placed at the profile's quantiles, each on a topic of its month;
    returns the sessions recorded so far."""
    sessions = []
    for number in range(plan.trainings):
        share = (number + work.rng.uniform(0.2, 0.8)) / plan.trainings
        moment = work.timeline.moment(share)
        topics = [t for t in plan.topics if moment.month in t.months] or list(plan.topics)
        topic = work.rng.choice(topics)
        township, index = plan.villages[number % len(plan.villages)]
        made = work.village_training(
            township,
            index,
            technologies=list(topic.technologies),
            share=share,
            size=work.rng.randint(18, 30),
            leaflet_title=topic.leaflet,
            clock=work.rng.choice(("09:30", "09:30", "14:00", "14:30")),
            typed_headcount=0 if work.rng.random() < plan.typed else None,
        )
        if made:
            sessions.append(made)
    for number in range(plan.door_to_door):
        # Door to door (入户), not at a session: the hand-out names the village instead.
        share = (number + work.rng.uniform(0.3, 0.7)) / plan.door_to_door
        moment = work.timeline.moment(share, "10:00")
        topics = [t for t in plan.topics if moment.month in t.months] or list(plan.topics)
        township, index = work.rng.choice(plan.villages)
        work.give(
            work.rng.choice(topics).leaflet,
            work.rng.randint(60, 100),
            work.timeline.when(share, "10:00"),
            unit_code=work.county.village(township, index),
        )
    return sessions


def year_of_lijianhua(work: FieldWork) -> None:
    """Potatoes and maize in 大井镇 and 待补镇, and the county's two large trainings."""
    for title, copies in (
        ("合理用药宣传手册", 1000),
        ("马铃薯晚疫病防治", 900),
        ("玉米病虫害绿色防控", 700),
        ("云南科技报（三下乡专版）", 300),
    ):
        work.receive(title, copies, share=0.01)
        work.receive(title, copies // 2, share=0.5)
    routine(
        work,
        Routine(
            villages=(("大井镇", 0), ("大井镇", 1), ("待补镇", 2), ("待补镇", 4), ("大井镇", 2)),
            topics=(
                Topic((1, 2, 3), ("马铃薯脱毒种薯繁育技术", "测土配方施肥"), "合理用药宣传手册"),
                Topic((4, 5), ("玉米高产栽培", "玉米地膜覆盖栽培"), "玉米病虫害绿色防控"),
                Topic((5, 6), ("玉米大豆带状复合种植", "荞麦高产栽培"), "玉米病虫害绿色防控"),
                Topic((6, 7, 8), ("马铃薯晚疫病综合防控", "农药安全使用"), "马铃薯晚疫病防治"),
                Topic((9, 10), ("玉米高产栽培", "测土配方施肥"), "云南科技报（三下乡专版）"),
                Topic((11, 12), ("冬马铃薯高产栽培", "烤烟漂浮育苗"), "马铃薯晚疫病防治"),
            ),
            trainings=12,
            door_to_door=6,
            typed=0.2,
        ),
    )
    township = work.county.townships["大井镇"]
    everyone = [code for code, _ in township.villages]
    for share, season, size, handed in (
        (0.2, "春耕", 150, (("合理用药宣传手册", 100), ("玉米病虫害绿色防控", 90))),
        (0.86, "冬季", 165, (("合理用药宣传手册", 100), ("马铃薯晚疫病防治", 100))),
    ):
        work.session(
            "large_training",
            title=f"大井镇{season}农业科技大型培训会",
            unit_code=township.code,
            place="大井镇文化广场",
            technologies=[
                "冬马铃薯高产栽培",
                "马铃薯晚疫病综合防控",
                "测土配方施肥",
                "农药安全使用",
            ],
            share=share,
            hours=4,
            attendees=work.crowd(everyone, size, returning=0.25),
            boards=12,
            co_envoys=("张丽萍", "周国强"),
            leaflets=handed,
        )

    seed = work.plot(
        "大井镇",
        0,
        host="马鞍村马铃薯种薯专业合作社",
        crop="马铃薯",
        variety_name="青薯9号",
        technologies=["马铃薯脱毒种薯繁育技术", "测土配方施肥"],
        area_mu=300,
        share=0.12,
        altitude_m=2350,
        target_yield=2500,
    )
    work.observe(seed, 0.15, "sowing", "脱毒原种播种完毕，墒情好")
    work.observe(seed, 0.3, "seedling", "出苗整齐", survival_rate=96.5)
    work.observe(seed, 0.7, "harvest", "种薯实收测产", yield_kg_per_mu=2630)
    trial = work.plot(
        "待补镇",
        2,
        host="待补镇农技站试验田",
        crop="马铃薯",
        variety_name="云薯304",
        technologies=["马铃薯晚疫病综合防控"],
        area_mu=80,
        share=0.14,
        altitude_m=2100,
        target_yield=2300,
    )
    work.observe(trial, 0.5, "growing", "与青薯9号对比种植，晚疫病轻", survival_rate=91.0)
    # The seed's maize plots beat target yields of 650/700/750 kg per mu by about 20%.
    maize = work.plot(
        "待补镇",
        4,
        host="待补镇玉米高产创建示范片",
        crop="玉米",
        variety_name="会单4号",
        technologies=["玉米高产栽培", "玉米地膜覆盖栽培"],
        area_mu=500,
        share=0.25,
        altitude_m=2050,
        target_yield=750,
    )
    work.observe(maize, 0.72, "harvest", "实收测产，超目标产量约15%", yield_kg_per_mu=864)
    strip = work.plot(
        "待补镇",
        3,
        host="朱永昌家",
        crop="玉米",
        variety_name="云瑞88",
        technologies=["玉米大豆带状复合种植"],
        area_mu=200,
        share=0.27,
        altitude_m=2000,
        target_yield=700,
    )
    work.observe(strip, 0.74, "harvest", "玉米带实收，大豆另计", yield_kg_per_mu=812)
    soil = work.plot(
        "大井镇",
        2,
        host="银屏村集体",
        crop="玉米",
        variety_name="会单4号",
        technologies=["测土配方施肥"],
        area_mu=150,
        share=0.26,
        altitude_m=2150,
        target_yield=650,
    )
    # Doubtful: 7710 typed for 771, more than three times the plot's target yield.
    work.observe(soil, 0.75, "harvest", "配方施肥区比常规施肥区增产", yield_kg_per_mu=7710)
    # Doubtful: a household's winter potatoes, 1200 mu typed for 12.
    winter = work.plot(
        "大井镇",
        1,
        host="杨国富家",
        crop="马铃薯",
        variety_name="丽薯6号",
        technologies=["冬马铃薯高产栽培"],
        area_mu=1200,
        share=0.8,
        altitude_m=2200,
        target_yield=2200,
    )
    work.observe(winter, 0.84, "sowing", "地膜覆盖播种")
    work.observe(winter, 0.9, "seedling", "晚疫病监测未见病斑", survival_rate=94.0)


def year_of_zhangliping(work: FieldWork) -> None:
    """Medicinal herbs (红豆杉, 玛卡, 何首乌) in 迤车镇 and 纸厂乡, and the TV lectures."""
    for title, copies in (
        ("红豆杉与玛卡种植技术问答", 900),
        ("安全用药知识指南", 700),
        ("食品安全知识读本", 500),
    ):
        work.receive(title, copies, share=0.02)
    work.receive("安全用药知识指南", 400, share=0.55)
    routine(
        work,
        Routine(
            villages=(("迤车镇", 1), ("纸厂乡", 0), ("大井镇", 5), ("迤车镇", 3), ("纸厂乡", 2)),
            topics=(
                Topic((1, 2, 3, 4), ("红豆杉扦插育苗",), "红豆杉与玛卡种植技术问答"),
                Topic(
                    (3, 4, 5), ("玛卡高海拔种植", "何首乌规范化种植"), "红豆杉与玛卡种植技术问答"
                ),
                Topic((5, 6, 7, 8), ("重楼林下种植", "扯根菜引种栽培"), "安全用药知识指南"),
                Topic((8, 9, 10), ("食用菌栽培技术", "蔬菜无公害生产"), "食品安全知识读本"),
                Topic((11, 12), ("红豆杉扦插育苗", "重楼林下种植"), "安全用药知识指南"),
            ),
            trainings=12,
            door_to_door=6,
            typed=0.5,
        ),
    )
    # A TV lecture has no attendance list, only the station's audience estimate; the second
    # one of the year is planned for late December.
    for share, title, audience in (
        (0.45, "县电视台《科技兴农》：红豆杉与玛卡种植技术讲座", 3500),
        (0.985, "县电视台《科技兴农》：冬季中药材管护讲座", 3000),
    ):
        work.session(
            "tv_lecture",
            title=title,
            unit_code=work.county.code,
            place="县广播电视台演播室",
            technologies=["红豆杉扦插育苗", "玛卡高海拔种植", "重楼林下种植"],
            share=share,
            clock="19:30",
            hours=0.75,
            headcount=audience,
        )
    # Doubtful: a session opened and closed with nobody checked in and no headcount.
    code = work.county.village("纸厂乡", 3)
    work.session(
        "village_training",
        title=f"蔬菜无公害生产培训（{work.county.village_names[code]}）",
        unit_code=code,
        place="纸厂乡村委会活动室",
        technologies=["蔬菜无公害生产"],
        share=0.6,
        clock="14:00",
    )
    # Doubtful: 650 copies handed out in one village, more than she ever received of the title.
    work.give(
        "食品安全知识读本",
        650,
        work.timeline.when(0.78, "15:00"),
        beyond_stock=True,
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
        share=0.15,
        altitude_m=2000,
    )
    work.observe(nursery, 0.3, "seedling", "扦插苗生根", survival_rate=92.0)
    work.observe(nursery, 0.62, "growing", "持续干旱，已滴灌补水", survival_rate=88.5)
    stand = work.plot(
        "纸厂乡",
        0,
        host="纸厂乡红豆杉连片种植区",
        crop="红豆杉",
        variety_name="南方红豆杉",
        technologies=["红豆杉扦插育苗"],
        area_mu=260,
        share=0.2,
        altitude_m=1900,
    )
    work.observe(stand, 0.66, "growing", "连续干旱，成活率仍较好", survival_rate=85.0)
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
            share=0.3 + 0.01 * index,
            altitude_m=altitude,
        )
        work.observe(maca, 0.33, "sowing", f"海拔{altitude}米试种")
        work.observe(maca, 0.45, "seedling", "出苗正常", survival_rate=80.0 + 6 * index)
    herb = work.plot(
        "大井镇",
        5,
        host="大井镇中药材合作社",
        crop="何首乌",
        variety_name=None,
        technologies=["何首乌规范化种植"],
        area_mu=15,
        share=0.35,
        altitude_m=2300,
    )
    work.observe(herb, 0.55, "seedling", "引种试种，长势较好", survival_rate=90.0)


def year_of_wangzhigang(work: FieldWork) -> None:
    """Walnuts, fruit and livestock in the high townships; he types the headcount in the room."""
    for title, copies in (
        ("宝珠梨丰产栽培管理技术", 700),
        ("安全用药知识指南", 700),
        ("云南科技报（三下乡专版）", 500),
    ):
        work.receive(title, copies, share=0.02)
        work.receive(title, copies // 2, share=0.6)
    plan = Routine(
        villages=(("上村乡", 0), ("驾车乡", 2), ("上村乡", 3), ("大海乡", 0), ("大海乡", 2)),
        topics=(
            Topic((1, 2, 3), ("核桃提质增效", "美国山核桃嫁接"), "云南科技报（三下乡专版）"),
            Topic((3, 4, 5), ("冬桃引种栽培", "樱桃避雨栽培"), "宝珠梨丰产栽培管理技术"),
            Topic((5, 6, 7, 8), ("肉牛秸秆青贮", "山羊舍饲圈养"), "安全用药知识指南"),
            Topic((6, 7, 8, 9), ("生猪健康养殖",), "安全用药知识指南"),
            Topic((9, 10, 11, 12), ("宝珠梨丰产栽培", "核桃提质增效"), "宝珠梨丰产栽培管理技术"),
        ),
        trainings=11,
        door_to_door=6,
        typed=0.8,
    )
    routine(work, plan)
    # The phone's battery was flat that day: the envoy typed the headcount from a paper list.
    code = work.county.village("大海乡", 1)
    village = work.county.village_names[code]
    work.session(
        "village_training",
        title=f"冬桃引种栽培培训（{village}）",
        unit_code=code,
        place=f"大海乡{village}村委会",
        technologies=["冬桃引种栽培"],
        share=0.3,
        headcount=46,
        leaflets=(("安全用药知识指南", 46),),
    )
    # Doubtful: 260 typed for a training where 20-odd farmers checked in.
    padded = work.village_training(
        "驾车乡",
        4,
        technologies=["肉牛秸秆青贮"],
        share=0.66,
        size=22,
        leaflet_title="安全用药知识指南",
        typed_headcount=260,
    )
    if padded:
        work.planted["padded_headcount"] = padded
    # Doubtful: a helper's phone checked six farmers in by QR; a farmer checked in from the
    # roster five hours after the training ended.
    work.village_training(
        "上村乡",
        1,
        technologies=["生猪健康养殖"],
        share=0.55,
        size=26,
        leaflet_title="安全用药知识指南",
        doubts=Doubts(one_phone=6),
    )
    work.village_training(
        "大海乡",
        3,
        technologies=["樱桃避雨栽培"],
        share=0.4,
        size=24,
        leaflet_title="宝珠梨丰产栽培管理技术",
        doubts=Doubts(late_minutes=300),
    )
    # 600 typed for 60, then corrected with a negative hand-out rather than an edit.
    typo = work.give(
        "宝珠梨丰产栽培管理技术",
        600,
        work.timeline.when(0.7, "16:00"),
        beyond_stock=True,
        unit_code=work.county.village("上村乡", 3),
    )
    if typo:
        work.correct_handout(typo, "宝珠梨丰产栽培管理技术", wrong=600, right=60)

    walnut = work.plot(
        "上村乡",
        0,
        host="上村乡核桃提质增效示范园",
        crop="核桃",
        variety_name="漾濞大泡核桃",
        technologies=["核桃提质增效"],
        area_mu=260,
        share=0.1,
        altitude_m=2100,
    )
    work.observe(walnut, 0.75, "harvest", "核桃采收，青皮果亩产提高", yield_kg_per_mu=210)
    work.observe(walnut, 0.95, "other", "冬季修剪、清园", survival_rate=97.0)
    pecan = work.plot(
        "上村乡",
        1,
        host="孔德兴家",
        crop="山核桃",
        variety_name="美国山核桃",
        technologies=["美国山核桃嫁接"],
        area_mu=50,
        share=0.13,
        altitude_m=1950,
    )
    work.observe(pecan, 0.4, "growing", "嫁接成活，长势良好", survival_rate=89.0)
    cherry = work.plot(
        "上村乡",
        3,
        host="上村乡樱桃避雨栽培点",
        crop="樱桃",
        variety_name="丹巴樱桃",
        technologies=["樱桃避雨栽培"],
        area_mu=30,
        share=0.2,
        altitude_m=2200,
    )
    work.observe(cherry, 0.35, "growing", "避雨棚已搭建", survival_rate=93.0)
    peach = work.plot(
        "大海乡",
        1,
        host="马顺有家",
        crop="桃",
        variety_name="冬桃",
        technologies=["冬桃引种栽培"],
        area_mu=45,
        share=0.18,
        altitude_m=2400,
    )
    work.observe(peach, 0.6, "growing", "引种冬桃长势较好", survival_rate=91.5)
    maca = work.plot(
        "大海乡",
        0,
        host="大海乡玛卡种植合作社",
        crop="玛卡",
        variety_name="黄玛卡",
        technologies=["玛卡高海拔种植"],
        area_mu=80,
        share=0.3,
        altitude_m=3050,
    )
    work.observe(maca, 0.42, "seedling", "高寒山区，霜冻后补苗", survival_rate=78.0)


def this_morning_of_wangzhigang(work: FieldWork) -> None:
    """Door-to-door hand-outs recorded after his last good sync; the signal goes while he sends
    them (the ledger shows what still waits on his phone)."""
    for index, copies in ((3, 40), (0, 25), (2, 30)):
        work.give(
            "安全用药知识指南",
            copies,
            work.timeline.latest,
            unit_code=work.county.village("上村乡", index),
        )


DEVICE_WORK: tuple[tuple[str, Callable[[FieldWork], None]], ...] = (
    ("李建华", year_of_lijianhua),
    ("张丽萍", year_of_zhangliping),
    ("王志刚", year_of_wangzhigang),
)
