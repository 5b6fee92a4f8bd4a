"""scripts/_venv.sh installs the project only when its venv lacks it or pyproject.toml changed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def ensure_venv(folder: Path, *extras: str) -> list[str]:
    """Run ensure_venv in `folder` with a stand-in .venv/bin/python that logs its arguments."""
    log = folder / "calls.log"
    python = folder / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True, exist_ok=True)
    python.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    python.chmod(0o755)
    subprocess.run(
        ["bash", "-c", f"source {ROOT / 'scripts' / '_venv.sh'} && ensure_venv {' '.join(extras)}"],
        cwd=folder,
        check=True,
        timeout=30,
        env={**os.environ, "PYTHON": "false"},
    )
    return log.read_text().splitlines() if log.exists() else []


def test_demo_after_the_suite_installs_nothing(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    stamp = tmp_path / ".venv" / ".installed-dev"
    stamp.parent.mkdir(parents=True)
    stamp.touch()
    os.utime(tmp_path / "pyproject.toml", (1_000_000, 1_000_000))
    assert ensure_venv(tmp_path) == []


def test_a_changed_pyproject_installs_again(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    stamp = tmp_path / ".venv" / ".installed-dev"
    stamp.parent.mkdir(parents=True)
    stamp.touch()
    os.utime(stamp, (1_000_000, 1_000_000))
    calls = ensure_venv(tmp_path)
    assert any("install" in call and "-e ." in call for call in calls), calls
