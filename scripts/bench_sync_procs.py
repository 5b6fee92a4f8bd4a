"""scripts/bench sync's processes: the real server on a database, and this bench's own workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
# The script whose worker commands (_build, _client, _floor-app, ...) run_worker starts.
SCRIPT = Path(__file__).resolve().with_name("bench_sync.py")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {seconds}s")


def vm_hwm_mb(pid: int | str = "self") -> float:
    """Peak resident memory of a live process, from the kernel's own high-water mark."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


@contextmanager
def server_process(
    db_path: str, workdir: str, root: Path = ROOT, wait: float = 30
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The real server (waitress) on a real SQLite file, in its own process (from `root`'s code)."""
    port = free_port()
    logfile = open(os.path.join(workdir, f"server-{port}.log"), "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "run", "--port", str(port)],
        env={**os.environ, "TIANJIAN_DB": db_path},
        cwd=root,
        stdout=logfile,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/api/openapi.json", process, wait)
        yield process, port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        logfile.close()


def run_worker(args: list[str], timeout: float) -> dict[str, Any]:
    """Run one of this script's worker commands in a fresh process; its last stdout line is JSON."""
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=None
    )
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return {"killed": True}
    if process.returncode != 0:
        raise RuntimeError(f"worker {args[0]} failed with {process.returncode}")
    return json.loads(out.decode().strip().splitlines()[-1])


def cpu_seconds(pid: int) -> float:
    """Processor time a live process has used so far, every thread of it, user and system."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is `pid` (a PostgreSQL postmaster's backends)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if parent == pid:
                found.append(int(entry.name))
    return found
