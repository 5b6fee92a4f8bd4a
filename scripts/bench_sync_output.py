"""scripts/bench sync's report for people: one block per mode."""

from __future__ import annotations

from typing import Any


def print_human(result: dict[str, Any]) -> None:
    if result["mode"] == "push":
        times = ", ".join(f"{e} {s} s" for e, s in result["push_10k_s"].items())
        ratio = result["push_10k_pg_vs_sqlite"]
        tail = f"; PostgreSQL / SQLite {ratio}" if ratio is not None else ""
        print(f"== push of {result['checkins']} check-ins (medians): {times}{tail} ==")
        return
    if result["mode"] == "noop-pulls":
        goal = result["goal"]
        print(
            f"== no-op pulls: {result['devices']} devices at once through {result['processes']} "
            f"processes on {result['engine']}, {result['rounds']} rounds: p50 "
            f"{result['noop_pull_p50_ms']} ms, p99 {result['noop_pull_p99_ms']} ms "
            f"(goal {goal['goal']}: {'met' if goal['met'] else 'MISSED'}), max "
            f"{result['noop_pull_max_ms']} ms, {result['errors']} errors =="
        )
        print(
            f"  per pull: {result['noop_pull_cpu_ms']} ms of the app processes' processor time, "
            f"{result['noop_pull_db_cpu_ms']} ms of the database's, "
            f"{result['noop_pull_statements']} statements; a burst's processor time over this "
            f"machine's cores: {result['burst_cpu_floor_ms']} ms; load average "
            f"{result['load_avg'][0][0]} before, {result['load_avg'][1][0]} after"
        )
        for line in result["busiest_statements"]:
            print(f"    {line}")
        return
    if result["mode"] == "paired":
        print(
            f"== paired push of {result['checkins']} check-ins: {result['with_summaries_s']} s "
            f"with summaries, {result['without_summaries_s']} s without, ratio "
            f"{result['push_10k_ratio']} (goal <= 1.3); the push path alone in process "
            f"{result['server_push_ratio']} =="
        )
        return
    if result["mode"] == "full":
        goals = result.get("goals", {})
        print(
            f"== sync, full: {result.get('records')} records "
            f"({result.get('attendances')} attendances) =="
        )
        if result.get("capped"):
            print(f"  stopped at the time cap ({result['cap_s']}s)")
            return
        rows = [
            ("build (not counted)", f"{result['build_seconds']} s", None),
            ("push+pull (median)", f"{result['seconds']} s", None),
            ("records per second", result["records_per_s"], None),
            ("floor records per second", result["floor_records_per_s"], None),
            ("ratio to floor", result["ratio"], goals["ratio"]),
            ("bytes per attendance", result["bytes_per_attendance"], goals["bytes_per_attendance"]),
            ("requests", result["requests"], None),
            ("no-op requests", result["noop_requests"], goals["noop_requests"]),
            ("no-op bytes", result["noop_bytes"], goals["noop_bytes"]),
            ("client peak MB", result["client_peak_mb"], goals["client_peak_mb"]),
            ("server peak MB", result["server_peak_mb"], goals["server_peak_mb"]),
            ("lost", result["lost"], goals["lost"]),
            ("duplicated", result["duplicated"], goals["duplicated"]),
        ]
        for name, value, target in rows:
            tail = (
                f"   goal {target['goal']}: {'met' if target['met'] else 'MISSED'}"
                if target
                else ""
            )
            print(f"  {name:<26}{value!s:>12}{tail}")
        floor = result["floor"]
        print(
            f"  floor: sqlite {floor['sqlite_s']} s + post {floor['post_s']} s "
            f"({floor['batches']} batches, {floor['body_bytes']} bytes), medians of "
            f"{len(floor['sqlite_runs'])}, each followed by a sync "
            f"({', '.join(f'{s} s' for s in result['sync_runs'])})"
        )
    else:
        print(
            f"== sync, shaped: {result['changes']} changes at {result['link']['kbit_s']:g} kbit/s, "
            f"{result['link']['rtt_ms']:g} ms RTT, {result['link']['cut_share']:.0%} cut =="
        )
        print(f"  time (median)             {result['seconds']} s")
        print(
            f"  bound                     {result['bound_s']} s  ({result['bound_bytes']} bytes "
            f"÷ bandwidth = {result['bytes_bound_s']} s, + {result['bound_round_trips']} RTTs)"
        )
        print(f"  ratio to bound            {result['ratio']}")
        print(f"  requests (median)         {result['requests']}")
        print(f"  retries, cuts (all runs)  {result['retries']}, {result['cuts']}")
        print(f"  lost, duplicated          {result['lost']}, {result['duplicated']}")
        if result["capped"]:
            print(f"  stopped at the time cap ({result['cap_s']} s)")
