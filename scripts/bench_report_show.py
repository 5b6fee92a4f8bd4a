"""scripts/bench report's results: the flat keys it prints, its goals and its table."""

from __future__ import annotations

from typing import Any

# Goals from issue 20, "Measured" (milliseconds and MB, p50, on a 2-core machine).
GOALS = {
    "county_p50_ms": 30,
    "province_p50_ms": 100,
    "page_p50_ms": 150,
    # A township breakdown of a county.
    "breakdown_p50_ms": 100,
    # Issue 23: a province's every county with its targets, a province's figure (< 100 ms).
    "breakdown_county_p50_ms": 100,
    # A county's envoy performance page (绩效考评), as a page.
    "performance_p50_ms": 150,
    "server_peak_mb": 300,
    # Issue 20: every summary of the province rebuilt from its records.
    "rebuild_s": 60,
    # The reconciliation JSON of one county at province scale.
    "reconciliation_county_p50_ms": 150,
    # Issue 23: the whole nation's progress figures.
    "national_p50_ms": 300,
}


def flat(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in (
        "national",
        "county",
        "province",
        "page",
        "breakdown",
        "breakdown_county",
        "export",
        "performance",
        "reconciliation_county",
    ):
        found = results.get(name, {})
        out[f"{name}_p50_ms"] = found.get("p50_ms")
        if name == "reconciliation_county":
            out[f"{name}_p90_ms"] = found.get("p90_ms")
        out[f"{name}_p95_ms"] = found.get("p95_ms")
    out["server_peak_mb"] = results.get("server_peak_mb")
    for key in ("engine", "load_s", "checkins", "counties", "disk_mb"):
        out[key] = results.get(key)
    out["disk_mb_per_million_checkins"] = results.get("disk_mb_per_million_checkins")
    out["server_start_s"] = results.get("server_start_s")
    out["rebuild_s"] = results["rebuild_s"]
    out["rebuild_cpu_s"] = results["rebuild_cpu_s"]
    out["load_avg"] = results["load_avg"]
    return out


def print_human(result: dict[str, Any]) -> None:
    print(f"== report on {result['after']['engine']} ({result['data']}) ==")
    if result.get("generate_s") is not None:
        print(f"  generated in {result['generate_s']} s (cached for later runs)")
    sides = [("after", result["after"])]
    if result.get("before"):
        sides.insert(0, ("before", result["before"]))
    header = f"  {'':<30}" + "".join(f"{name:>22}" for name, _ in sides) + "   goal"
    print(header)
    for key in (
        "national_p50_ms",
        "national_p95_ms",
        "county_p50_ms",
        "county_p95_ms",
        "province_p50_ms",
        "province_p95_ms",
        "page_p50_ms",
        "page_p95_ms",
        "breakdown_p50_ms",
        "breakdown_p95_ms",
        "breakdown_county_p50_ms",
        "breakdown_county_p95_ms",
        "export_p50_ms",
        "export_p95_ms",
        "performance_p50_ms",
        "performance_p95_ms",
        "reconciliation_county_p50_ms",
        "reconciliation_county_p90_ms",
        "reconciliation_county_p95_ms",
        "server_peak_mb",
        "rebuild_s",
        "rebuild_cpu_s",
        "load_s",
        "checkins",
        "counties",
        "disk_mb",
        "disk_mb_per_million_checkins",
        "load_avg",
    ):
        cells = "".join(
            f"{('absent' if side[key] is None else side[key])!s:>22}" for _, side in sides
        )
        goal = GOALS.get(key)
        value = result["after"][key]
        verdict = ""
        if goal is not None:
            verdict = f"   < {goal}: " + (
                "absent" if value is None else "met" if value < goal else "MISSED"
            )
        print(f"  {key:<30}{cells}{verdict}")
