"""scripts/bench report: the bureau's figures at province scale, over real HTTP, p50 and p95.

Builds (once, then reuses from a cache keyed by data version, seed and year) a province's year
of work in a server SQLite file, starts the real server on a copy and times repeated requests:
the progress JSON of a county and of the province, the progress page of a county, the township
breakdown of a county, the province's breakdown by county, a CSV export of a county's
check-ins, a county's envoy performance page (绩效考评) and the reconciliation JSON of a
county (issue 14: headcounts, leaflets, check-ins, devices, flags ... as the API serves them);
plus the server's peak memory.
`--before DIR` times a second server started from another checkout (e.g. `git archive main`)
on a fresh copy of the same file, in the same sitting.

`--engine postgresql` times the same requests against the server on a throwaway PostgreSQL
cluster loaded from the same file (scripts/bench_report_engine.py); every run prints the
engine and the disk it takes per million check-ins. `--size nation` generates 1,000 counties
in ten provinces (`--checkins`, 3,000,000 by default: what fits about 20 minutes here) and
times the national (the progress JSON asked for no unit by an admin with no area: the whole
server), province (100 counties) and county figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

import requests  # noqa: E402
from bench_report_data import (  # noqa: E402
    DATA_VERSION,
    PROVINCE,
    Builder,
    Size,
    county_codes,
    nation_size,
)
from bench_report_engine import (  # noqa: E402
    ENGINES,
    checkins_in,
    cluster_for,
    disk_mb,
    national,
    served,
)
from bench_report_show import flat, print_human  # noqa: E402
from bench_sync import log, server_process, vm_hwm_mb  # noqa: E402

# What ~20 minutes of generating, summing up and loading make on this shared 2-core machine.
NATION_CHECKINS = 3_000_000

# The province the goals are set for, a tenth of it, and one small enough to run in the tests.
SIZES = {
    "province": Size(),
    "small": Size(
        counties=10, farmers=30_000, sessions=2_000, attendances=100_000, handouts=5_000, plots=500
    ),
    # Filled in from --checkins (see nation_size).
    "nation": Size(counties=1000),
    "tiny": Size(
        counties=2,
        townships=3,
        villages=4,
        farmers=400,
        sessions=60,
        attendances=1_500,
        handouts=60,
        plots=12,
        envoys_per_county=4,
    ),
}


def cache_dir() -> Path:
    base = os.environ.get("TIANJIAN_BENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tianjian-bench"
    )
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def province_file(year: int, seed: int, size: Size) -> tuple[Path, float | None]:
    """The generated province, made if the cache lacks it; with the seconds making it took."""
    tag = f"{size.counties}c-{size.attendances}a"
    path = cache_dir() / f"report-v{DATA_VERSION}-{year}-{seed}-{tag}.db"
    if path.exists():
        log(f"reusing {path}")
        return path, None
    partial = path.with_suffix(".partial")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    log(f"generating a province into {path} ...")
    started = time.perf_counter()
    counts = Builder(str(partial), year, seed, size).build()
    seconds = round(time.perf_counter() - started, 1)
    partial.rename(path)
    log(f"generated in {seconds} s: { ({k: v for k, v in counts.items() if k != 'counties'}) }")
    return path, seconds


def percentile(times: list[float], share: float) -> float:
    """The `share` percentile of sorted `times` (nearest rank)."""
    return times[min(len(times) - 1, int(round(share * (len(times) - 1))))]


def timed(session: requests.Session, url: str, runs: int) -> dict[str, Any]:
    """p50/p90/p95 of `runs` GETs after one warm-up; absent when the server has no such address."""
    first = session.get(url, timeout=600)
    if first.status_code == 404:
        return {"absent": True, "status": 404}
    if first.status_code != 200:
        raise RuntimeError(f"{url}: {first.status_code} {first.text[:300]}")
    times = []
    size = 0
    for _ in range(runs):
        started = time.perf_counter()
        response = session.get(url, timeout=600)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        size = len(response.content)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p90_ms": round(percentile(times, 0.90), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "runs": runs,
        "bytes": size,
    }


def rotating(session: requests.Session, urls: list[str], runs: int) -> dict[str, Any]:
    """Like timed, over several units in turn, so no one unit's pages stay hot in the cache."""
    results = [timed(session, url, max(1, runs // len(urls))) for url in urls]
    if any(r.get("absent") for r in results):
        return {"absent": True, "status": 404}
    p50s = [r["p50_ms"] for r in results]
    p95s = [r["p95_ms"] for r in results]
    return {
        "p50_ms": round(statistics.median(p50s), 1),
        "p90_ms": round(max(r["p90_ms"] for r in results), 1),
        "p95_ms": round(max(p95s), 1),
        "runs": sum(r["runs"] for r in results),
        "bytes": results[0]["bytes"],
    }


BENCH_USER, BENCH_PASSWORD = "bench-admin", "bench-password-2026"


# Run by the checkout being timed (its own users module and migrations), either layout of server/.
_CREDENTIALS = """
import sys
try:
    from server.accounts import users
    from server.store.db import init_db
except ImportError:
    try:
        from server import users
        from server.db import init_db
    except ImportError:
        sys.exit(0)
db = init_db(sys.argv[1])
admin = users.add_user(db, sys.argv[2], users.ADMIN, sys.argv[3])
print(users.issue_api_token(db, "bench", admin))
db.close()
"""


def credentials(copy: str, root: Path) -> str | None:
    """An admin and a report API token in the copy, made by the checkout `root` when its code
    has users (the report API and pages are not public); the token, or None for older code."""
    made = subprocess.run(
        [sys.executable, "-c", _CREDENTIALS, copy, BENCH_USER, BENCH_PASSWORD],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    return made.stdout.strip() or None


def rebuild_summaries(copy: str, root: Path) -> tuple[float | None, float | None]:
    """Seconds `summaries rebuild` takes on the copy (the generator writes around the server, so
    its summaries start stale), and the processor seconds it used (which a busy machine changes
    less); None for code without summaries."""
    if not (root / "server" / "summaries").is_dir():
        return None, None
    started = time.perf_counter()
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-m", "server", "--db", copy, "summaries", "rebuild"],
        cwd=root,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
    return round(time.perf_counter() - started, 1), round(cpu, 1)


def sign_in(session: requests.Session, base: str) -> None:
    page = session.get(f"{base}/signin", timeout=30)
    if page.status_code == 404:
        return
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if found:
        session.post(
            f"{base}/signin",
            data={"name": BENCH_USER, "password": BENCH_PASSWORD, "csrf_token": found.group(1)},
            timeout=30,
        )


def summed_file(data: Path) -> tuple[Path, float | None, float | None]:
    """The generated nation with its summaries rebuilt (made once by this checkout and cached:
    each engine's run starts from it); the rebuild's seconds and processor seconds when made."""
    path = data.with_name(f"{data.stem}-summed.db")
    if path.exists():
        log(f"reusing {path}")
        return path, None, None
    partial = Path(f"{path}.partial")
    shutil.copyfile(data, partial)
    rebuild_s, rebuild_cpu_s = rebuild_summaries(str(partial), ROOT)
    log(f"nation: summaries rebuilt in {rebuild_s} s ({rebuild_cpu_s} s of processor)")
    partial.rename(path)
    return path, rebuild_s, rebuild_cpu_s


def measure(
    server_root: Path,
    data: Path,
    workdir: str,
    year: int,
    args: argparse.Namespace,
    label: str,
    cluster: Any = None,
) -> dict[str, Any]:
    copy = os.path.join(workdir, f"{label}.db")
    nation = args.size == "nation"
    rebuilt: tuple[float | None, float | None] = (None, None)
    if nation:
        data, *summed = summed_file(data)
        rebuilt = (summed[0], summed[1])
    shutil.copyfile(data, copy)
    # Each checkout makes its own migrations and users on its own copy.
    token = credentials(copy, server_root)
    codes = county_codes(SIZES[args.size])
    counties = [c.ljust(12, "0") for c in codes][:: max(1, len(codes) // args.units)]
    # On PostgreSQL too the summaries are rebuilt in the SQLite copy and come across with it.
    rebuild_s, rebuild_cpu_s = rebuilt if nation else rebuild_summaries(copy, server_root)
    if rebuild_s is not None:
        log(f"{label}: summaries rebuilt in {rebuild_s} s ({rebuild_cpu_s} s of processor)")
    if args.only == {"rebuild"}:
        # Only the rebuild asked for (a quick try of it): no server to start.
        return {
            "rebuild_s": rebuild_s,
            "rebuild_cpu_s": rebuild_cpu_s,
            "load_avg": round(os.getloadavg()[0], 2),
        }
    target = served(args.engine, copy, label, cluster, server_root)
    if target.load_s is not None:
        log(f"{label}: loaded into {args.engine} in {target.load_s} s")
    started = time.perf_counter()
    with server_process(target.db, workdir, root=server_root, wait=600) as (process, port):
        start_seconds = round(time.perf_counter() - started, 1)
        base = f"http://127.0.0.1:{port}"
        session = requests.Session()
        sign_in(session, base)
        api = requests.Session()
        if token or args.token:
            api.headers["Authorization"] = f"Bearer {token or args.token}"
        log(f"{label}: server up in {start_seconds} s; timing ...")
        paths = {
            "county": "/api/v1/reports/{year}?unit={unit}",
            "province": "/api/v1/reports/{year}?unit={unit}",
            "page": args.page_path,
            "breakdown": "/api/v1/reports/{year}/breakdown?unit={unit}&by=township",
            # The province's every county, each with its targets (issue 23).
            "breakdown_county": "/api/v1/reports/{year}/breakdown?unit={unit}&by=county",
            # The records page's download: every check-in of the county, as CSV.
            "export": "/records/checkins?year={year}&unit={unit}&format=csv",
            "performance": "/performance?year={year}&unit={unit}",
            # Issue 14: the reconciliation JSON of a county, through the API as other systems
            # read it (a token), as the report bench times its other endpoints.
            "reconciliation_county": "/api/v1/reconciliation/{year}?unit={unit}",
        }
        results: dict[str, Any] = {
            "engine": args.engine,
            "load_s": target.load_s,
            "server_start_s": start_seconds,
            "rebuild_s": rebuild_s,
            "rebuild_cpu_s": rebuild_cpu_s,
        }
        only = args.only or ({"county", "province", "national"} if nation else None)
        for name, path in paths.items():
            if only and name not in only:
                continue
            whole = name in ("province", "breakdown_county")
            units = [PROVINCE] if whole else counties
            runs = args.province_runs if whole else args.runs
            urls = [base + path.format(year=year, unit=unit) for unit in units]
            pages = name in ("page", "export", "performance")
            results[name] = rotating(session if pages else api, urls, runs)
            log(f"{label}: {name} {results[name]}")
        if "national" in (args.only or ({"national"} if nation else set())):
            every = [code.ljust(12, "0") for code in codes]
            results["national"] = national(api, base, year, args.national_runs, every, timed)
            log(f"{label}: national {results['national']}")
        results["server_peak_mb"] = vm_hwm_mb(process.pid)
    checkins = checkins_in(target.db)
    results["disk_mb"] = disk_mb(target)
    results["checkins"] = checkins
    results["counties"] = len(codes)
    results["disk_mb_per_million_checkins"] = round(results["disk_mb"] / (checkins / 1e6), 1)
    # Nine sessions share this machine's two cores: the load says how far to trust a figure.
    results["load_avg"] = round(os.getloadavg()[0], 2)
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench report", description=__doc__)
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--runs", type=int, default=40, help="Requests per county figure.")
    parser.add_argument("--province-runs", type=int, default=10)
    parser.add_argument(
        "--national-runs",
        type=int,
        default=5,
        help="National progress JSONs timed over HTTP (--size nation).",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="sqlite",
        help="The server's database: the county's SQLite file, or PostgreSQL (a throwaway "
        "cluster, loaded from the generated file by `copy --to`).",
    )
    parser.add_argument("--units", type=int, default=5, help="Counties the requests rotate over.")
    parser.add_argument("--before", type=Path, default=None, help="Checkout to time as 'before'.")
    parser.add_argument(
        "--page-path", default="/progress?year={year}&unit={unit}", help="Progress page."
    )
    parser.add_argument("--token", default=os.environ.get("TIANJIAN_API_TOKEN"))
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument(
        "--only",
        type=lambda text: set(text.split(",")),
        default=None,
        help="Time only these (comma-separated: national, county, province, page, breakdown, "
        "breakdown_county, export, performance, reconciliation_county; `rebuild` alone: only "
        "`summaries rebuild`, no server); the others show as absent.",
    )
    parser.add_argument(
        "--size",
        choices=tuple(SIZES),
        default="province",
        help="province: the goals' size; small: a tenth (tries); tiny: seconds, to prove it "
        "runs; nation: 1,000 counties in ten provinces, --checkins of them (national, province "
        "and county figures only, unless --only says).",
    )
    parser.add_argument(
        "--checkins",
        type=int,
        default=NATION_CHECKINS,
        help="Check-ins of --size nation (the issue's 10,000,000 take over an hour to make here).",
    )
    parser.add_argument("--small", dest="size", action="store_const", const="small")
    args = parser.parse_args(argv)

    if args.size == "nation":
        SIZES["nation"] = nation_size(args.checkins)
    size = SIZES[args.size]
    data, generate_s = province_file(args.year, args.seed, size)
    if args.generate_only:
        return 0
    workdir = tempfile.mkdtemp(prefix="tianjian-bench-report-")
    try:
        result: dict[str, Any] = {
            "data": f"{size.counties} counties, {size.attendances} attendances, "
            f"{size.farmers} farmers, {size.sessions} sessions",
            "generate_s": generate_s,
        }
        with cluster_for(args.engine) as cluster:
            if args.before:
                result["before"] = flat(
                    measure(
                        args.before.resolve(), data, workdir, args.year, args, "before", cluster
                    )
                )
            result["after"] = flat(measure(ROOT, data, workdir, args.year, args, "after", cluster))
        if args.json:
            print(
                json.dumps(
                    {**result["after"], "before": result.get("before"), "generate_s": generate_s}
                )
            )
        else:
            print_human(result)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
