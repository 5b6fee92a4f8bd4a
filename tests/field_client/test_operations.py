"""The operations the command line and the web pages share: names, checks, edits, corrections."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from field_client import names
from field_client import operations as ops
from field_client.store import FieldStore
from shared import protocol as p
from shared.corrections import InvalidCorrection
from shared.errors import TianjianError
from shared.ids import attendance_id
from shared.merge import stamped_change
from shared.mobile import mobile_hash

DEVICE = "d0d0d0d0-0000-4000-8000-000000000001"
ENVOY = "e0e0e0e0-0000-4000-8000-000000000001"
CO_ENVOY = "e0e0e0e0-0000-4000-8000-000000000002"
OTHER_ENVOY = "e0e0e0e0-0000-4000-8000-000000000003"
TITLE = "77777777-0000-4000-8000-000000000001"
TECH = "7ec07ec0-0000-4000-8000-000000000001"
EAST = "530102001001"
WEST = "530102001002"
OTHER_EAST = "530102002001"


def enrol_by_hand(path: Path) -> None:
    with FieldStore(str(path)) as store:
        store.save_enrolment(
            "http://127.0.0.1:9",
            {"device_id": DEVICE, "token": "t", "envoy": {"id": ENVOY, "name": "张三"}},
            0,
        )
        rows = [
            (
                p.UNIT,
                "530102001000",
                {"code": "530102001000", "name": "城关镇", "level": "township"},
            ),
            (
                p.UNIT,
                "530102002000",
                {"code": "530102002000", "name": "河口镇", "level": "township"},
            ),
            (
                p.UNIT,
                EAST,
                {"code": EAST, "name": "东村", "level": "village", "parent_code": "530102001000"},
            ),
            (
                p.UNIT,
                WEST,
                {"code": WEST, "name": "西村", "level": "village", "parent_code": "530102001000"},
            ),
            (
                p.UNIT,
                OTHER_EAST,
                {
                    "code": OTHER_EAST,
                    "name": "东村",
                    "level": "village",
                    "parent_code": "530102002000",
                },
            ),
            (p.ENVOY, CO_ENVOY, {"id": CO_ENVOY, "name": "李四"}),
            (p.ENVOY, OTHER_ENVOY, {"id": OTHER_ENVOY, "name": "王五"}),
            (p.TECHNOLOGY, TECH, {"id": TECH, "name": "马铃薯脱毒种薯技术"}),
            (p.LEAFLET_TITLE, TITLE, {"id": TITLE, "title": "马铃薯晚疫病防治"}),
        ]
        for kind, key, data in rows:
            store.db.execute(
                "INSERT INTO reference (kind, id, data) VALUES (?, ?, ?)",
                [kind, key, json.dumps(data, ensure_ascii=False)],
            )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FieldStore]:
    path = tmp_path / "field.db"
    enrol_by_hand(path)
    with FieldStore(str(path)) as opened:
        yield opened


# ------------------------------------------------------------------ names


def test_a_village_name_in_two_townships_lists_both_and_takes_the_township(
    store: FieldStore,
) -> None:
    with pytest.raises(names.AmbiguousName) as caught:
        names.unit_code(store, "东村")
    assert {m.id for m in caught.value.matches} == {EAST, OTHER_EAST}
    assert "城关镇/东村" in caught.value.message and "河口镇/东村" in caught.value.message
    assert names.unit_code(store, "城关镇/东村") == EAST
    assert names.unit_code(store, "河口镇 东村") == OTHER_EAST
    assert names.unit_code(store, "西村") == WEST


def test_namesake_villages_are_listed_by_whole_codes_that_are_then_taken(
    store: FieldStore,
) -> None:
    """The listed id tells the two apart (the codes' first 8 digits are the same county's)."""
    with pytest.raises(names.AmbiguousName) as caught:
        names.unit_code(store, "东村")
    assert EAST in caught.value.message and OTHER_EAST in caught.value.message
    assert names.unit_code(store, OTHER_EAST) == OTHER_EAST
    farmer = ops.register_farmer(store, name="赵大", village=OTHER_EAST)
    assert store.record(p.FARMER, farmer)["village_code"] == OTHER_EAST


def test_a_farmer_by_name_village_or_last_four_digits(store: FieldStore) -> None:
    wang = ops.register_farmer(
        store, name="王芳", village="西村", mobile="13800138000", gender="女"
    )
    other_wang = ops.register_farmer(
        store, name="王芳", village="城关镇/东村", mobile="13900139111"
    )
    li = ops.register_farmer(store, name="李梅", village="西村")
    assert names.farmer_id(store, "李梅") == li
    assert names.farmer_id(store, "8000") == wang
    assert names.farmer_id(store, "13900139111") == other_wang
    assert names.farmer_id(store, "王芳", village="西村") == wang
    assert names.farmer_id(store, wang[:8]) == wang
    with pytest.raises(names.AmbiguousName) as caught:
        names.farmer_id(store, "王芳")
    assert {m.id for m in caught.value.matches} == {wang, other_wang}
    assert "138****8000" in caught.value.message and "13800138000" not in caught.value.message
    with pytest.raises(names.UnknownName):
        names.farmer_id(store, "1234")
    assert [row.id for row in names.search_farmers(store, "王")] == [wang, other_wang]
    assert store.record(p.FARMER, wang)["gender"] == "female"


def test_an_envoy_and_a_session_by_name_title_or_day(store: FieldStore) -> None:
    first = ops.open_session(
        store, title="马铃薯培训", unit="西村", starts_at="2026-11-20 09:00", co_envoys=["李四"]
    )
    second = ops.open_session(store, title="马铃薯培训", unit="西村", starts_at="2026/11/21 9:00")
    assert store.record(p.SESSION, first)["co_envoy_ids"] == [CO_ENVOY]
    assert names.session_id(store, "2026-11-20") == first
    assert names.session_id(store, "马铃薯培训 2026/11/21") == second
    with pytest.raises(names.AmbiguousName) as caught:
        names.session_id(store, "马铃薯培训")
    assert "2026-11-20 09:00" in caught.value.message
    with pytest.raises(names.UnknownName):
        names.envoy_id(store, "赵六")


# ------------------------------------------------------------------ sessions and check-ins


def test_edit_and_delete_a_session_with_its_checkins(store: FieldStore) -> None:
    session = ops.open_session(store, title="误建", unit="西村", kind="大型培训")
    farmer = ops.register_farmer(store, name="王芳", village="西村")
    ops.check_in(store, session, farmer)
    ops.edit_session(store, session, title="马铃薯培训", headcount=40, kind="进村培训")
    record = store.record(p.SESSION, session)
    assert (record["title"], record["reported_headcount"], record["kind"]) == (
        "马铃薯培训",
        40,
        "village_training",
    )
    deleted = ops.delete_session(store, "马铃薯培训")
    assert deleted == ops.Deleted(session, 1)
    assert store.records(p.SESSION) == [] and store.records(p.ATTENDANCE) == []
    kinds = [row["kind"] for row in store.pending(100)]
    assert kinds[-2:] == [p.ATTENDANCE, p.SESSION]


def test_checkin_and_undo(store: FieldStore) -> None:
    session = ops.open_session(store, title="培训", unit="西村")
    farmer = ops.register_farmer(store, name="王芳", village="西村", mobile="13800138000")
    first = ops.check_in(store, "培训", "8000", method="扫码签到", at="今天 9:00")
    assert first.new and first.farmer_name == "王芳" and first.method == "qr_self"
    assert not ops.check_in(store, session, farmer).new
    assert ops.undo_checkin(store, session, farmer, reason="点错了") == attendance_id(
        session, farmer
    )
    assert store.records(p.ATTENDANCE) == []
    [undone] = ops.undone_checkins(store, session)
    assert (undone.farmer_name, undone.reason) == ("王芳", "点错了")
    with pytest.raises(TianjianError):
        ops.undo_checkin(store, session, farmer)
    assert len(ops.undone_checkins(store, session)) == 1
    assert ops.check_in(store, session, farmer).new


def test_another_envoys_session_is_refused_on_the_device(store: FieldStore) -> None:
    farmer = ops.register_farmer(store, name="王芳", village="西村")
    theirs = "5e5e5e5e-0000-4000-8000-000000000009"
    data = {
        "kind": "village_training",
        "title": "别人的",
        "unit_code": WEST,
        "starts_at": "2026-11-20T01:00:00Z",
        "lead_envoy_id": OTHER_ENVOY,
        "co_envoy_ids": [],
    }
    pulled = stamped_change(data, "1764000000000.00000.other")
    pulled.update({"id": theirs, "envoy_id": OTHER_ENVOY, "device_id": DEVICE})
    store.apply_pull([{"k": p.SESSION, "r": pulled}], 1)
    for attempt in (
        lambda: ops.check_in(store, theirs, farmer),
        lambda: ops.delete_session(store, theirs),
        lambda: ops.edit_session(store, theirs, title="x"),
    ):
        with pytest.raises(ops.NotYours):
            attempt()


# ------------------------------------------------------------------ leaflet corrections


def test_corrections_are_checked_when_typed(store: FieldStore) -> None:
    session = ops.open_session(store, title="培训", unit="西村")
    given = ops.give_leaflets(store, title="马铃薯晚疫病防治", copies=30, session=session)
    ops.give_leaflets(store, title=TITLE, copies=-20, session=session, correction_of=given)
    with pytest.raises(InvalidCorrection) as below_zero:
        ops.give_leaflets(store, title=TITLE, copies=-11, session=session, correction_of=given[:8])
    assert "copies" in below_zero.value.errors
    with pytest.raises(InvalidCorrection) as elsewhere:
        ops.give_leaflets(store, title=TITLE, copies=-1, village="西村", correction_of=given)
    assert "session_id" in elsewhere.value.errors
    with pytest.raises(InvalidCorrection) as nothing:
        ops.give_leaflets(
            store,
            title=TITLE,
            copies=-1,
            session=session,
            correction_of="00000000-0000-4000-8000-000000000000",
        )
    assert "correction_of" in nothing.value.errors
    received = ops.receive_leaflets(store, title=TITLE, copies=100, received_on="11月1日")
    with pytest.raises(InvalidCorrection):
        ops.receive_leaflets(store, title=TITLE, copies=-101, correction_of=received)
    ops.receive_leaflets(store, title=TITLE, copies=-40, correction_of=received)
    [stock] = ops.leaflet_stock(store)
    assert (stock.title, stock.received, stock.handed_out, stock.held) == (
        "马铃薯晚疫病防治",
        60,
        10,
        50,
    )
    assert len(store.records(p.LEAFLET_HANDOUT)) == 2


# ------------------------------------------------------------------ one store per thread


def test_threads_writing_through_their_own_stores_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "field.db"
    enrol_by_hand(path)
    threads, each = 6, 60
    failures: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(each):
                # A fresh store per unit of work, as a web request opens one.
                with FieldStore(str(path)) as store:
                    ops.register_farmer(store, name=f"农民{n}-{i}", village="西村")
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    with FieldStore(str(path)) as store:
        farmers = store.records(p.FARMER)
        assert len(farmers) == threads * each
        assert len({f["name"] for f in farmers}) == threads * each
        seqs = [row["seq"] for row in store.pending(10_000)]
        assert len(seqs) == threads * each == len(set(seqs))


def test_a_store_shared_by_threads_waits_instead_of_failing(store: FieldStore) -> None:
    failures: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                ops.register_farmer(store, name=f"农民{n}-{i}", village="西村")
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    assert len(store.records(p.FARMER)) == 200


def test_opening_a_current_store_runs_no_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "field.db"
    FieldStore(str(path)).close()
    from field_client import store as store_module

    def refuse(db: object) -> None:
        raise AssertionError("migrations ran on a current file")

    monkeypatch.setattr(store_module.migrations, "apply", refuse)
    FieldStore(str(path)).close()


def test_another_envoys_farmer_is_found_by_the_whole_number_though_held_masked(
    store: FieldStore,
) -> None:
    key = bytes(range(16))
    theirs = "fafafafa-0000-4000-8000-000000000001"
    pulled = stamped_change(
        {"name": "赵六", "village_code": WEST, "mobile": "139****0001", "gender": "male"},
        "1764000000000.00000.other",
    )
    pulled.update(
        {
            "id": theirs,
            "envoy_id": OTHER_ENVOY,
            "device_id": DEVICE,
            "mobile_hash": mobile_hash(key, theirs, "13900000001"),
        }
    )
    store.apply_pull([{"k": p.FARMER, "r": pulled}], 1, key.hex())
    assert names.farmer_id(store, "139 0000 0001") == theirs
    assert names.farmer_id(store, "0001") == theirs
    # Same mask, another number: told apart by the hash.
    other = next(
        number
        for number in (f"139{n:04d}0001" for n in range(1, 100))
        if mobile_hash(key, theirs, number) != mobile_hash(key, theirs, "13900000001")
    )
    with pytest.raises(names.UnknownName):
        names.farmer_id(store, other)


def test_typed_chinese_punctuation_is_kept_and_digits_read(store: FieldStore) -> None:
    """Titles, names and reasons keep what the envoy typed; only numbers and codes are folded."""
    session = ops.open_session(store, title="  马铃薯培训（马鞍村），第二期 ", unit=EAST)
    assert store.record(p.SESSION, session)["title"] == "马铃薯培训（马鞍村），第二期"
    ops.edit_session(store, session, title="培训：晚疫病（二）")
    assert store.record(p.SESSION, session)["title"] == "培训：晚疫病（二）"
    farmer = ops.register_farmer(
        store,
        name="李四（村医）",
        village=EAST,
        mobile="１３８１２３４５６７８",
        birth_year="１９７５",
    )
    record = store.record(p.FARMER, farmer)
    assert record["name"] == "李四（村医）"
    assert record["mobile"] == "13812345678" and record["birth_year"] == 1975
    ops.check_in(store, session, farmer, method="roster")
    ops.undo_checkin(store, session, farmer, reason="点错了人，重来")
    [undone] = store.undone_checkins(session)
    assert undone["reason"] == "点错了人，重来"
    # Found again by the folded form of what was typed.
    assert names.session_id(store, "培训:晚疫病(二)") == session
