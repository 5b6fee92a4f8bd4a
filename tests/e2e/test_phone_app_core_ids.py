"""The phone app's own copies of the few rules it must compute offline give what shared/ gives:
a check-in's derived id, clock stamps, China time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.clock import CHINA, HybridLogicalClock, format_stamp, stamp_iso, to_iso
from shared.ids import attendance_id, new_id
from tests.e2e.phone_app import call, phone_context
from tests.helpers import LiveServer


def test_derived_ids_stamps_and_times_match_shared(browser: Any, live_server: LiveServer) -> None:
    pairs = [(new_id(), new_id()) for _ in range(40)]
    context = phone_context(browser)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/app/")
        ids = call(
            page,
            "store.js",
            "return await Promise.all(arg.map(([s, f]) => m.attendanceId(s, f)));",
            pairs,
        )
        stamps = call(
            page,
            "clock.js",
            """const node = "dev";
               const a = m.hlcNow(null, 1700000000123, node);
               const b = m.hlcNow(a, 1700000000123, node);
               const c = m.hlcNow(b, 1600000000000, node);
               const d = m.hlcObserve(c, "1800000000000.00007.server", node);
               return [a, b, c, d, m.hlcNow(d, 1700000000000, node), m.isoOfMs(1700000000999),
                       m.stampIso(a)];""",
        )
        china = call(
            page,
            "sessions.js",
            "return [m.chinaInputToIso('2026-01-01T07:30'), m.isoToChinaInput('2025-12-31T23:30:00Z')];",
        )
    finally:
        context.close()
    assert ids == [attendance_id(s, f) for s, f in pairs]
    walls = iter([1700000000123, 1700000000123, 1600000000000, 1700000000000])
    clock = HybridLogicalClock("dev", wall=lambda: next(walls))
    expected = [clock.now(), clock.now(), clock.now()]
    clock.observe("1800000000000.00007.server")
    expected += [clock.last, clock.now()]
    assert stamps[:5] == expected
    # A clock set back never takes the stamps back.
    assert stamps[2] == format_stamp(1700000000123, 2, "dev")
    assert stamps[5:] == [to_iso(datetime.fromtimestamp(1700000000, UTC)), stamp_iso(stamps[0])]
    assert china == [
        to_iso(datetime(2026, 1, 1, 7, 30, tzinfo=CHINA)),
        "2026-01-01T07:30",
    ]
