"""Settings are declared once (server/settings.py): the app and the command line read the same
declaration, its environment variable and its default."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from server import create_app
from server.cli import cli
from server.settings import BY_NAME, SETTINGS
from tests.docs import command_paths


def _options() -> list[tuple[str, click.Option]]:
    found = [("", param) for param in cli.params if isinstance(param, click.Option)]
    for path in command_paths(cli):
        command: click.Command = cli
        for word in path.split():
            assert isinstance(command, click.Group)
            command = command.commands[word]
        found += [(path, param) for param in command.params if isinstance(param, click.Option)]
    return found


def test_every_option_read_from_the_environment_is_a_declared_setting() -> None:
    by_env = {setting.env: setting for setting in SETTINGS}
    options = [(path, option) for path, option in _options() if option.envvar]
    assert {option.envvar for _, option in options} >= {"TIANJIAN_DB", "TIANJIAN_TOMBSTONE_DAYS"}
    for path, option in options:
        setting = by_env.get(str(option.envvar))
        assert setting is not None, (path, option.name)
        assert option.default == setting.default, (path, option.name)
        assert option.help == setting.help, (path, option.name)


def test_names_and_variables_are_unique() -> None:
    assert len(BY_NAME) == len(SETTINGS)
    assert len({setting.env for setting in SETTINGS}) == len(SETTINGS)
    assert all(setting.help.strip() for setting in SETTINGS)


def test_the_tombstone_retention_comes_from_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    monkeypatch.setattr(
        "server.sync.maintenance.purge_tombstones", lambda _db, days: seen.append(days) or 0
    )
    db_path = str(tmp_path / "t.db")
    assert CliRunner().invoke(cli, ["--db", db_path, "init"]).exit_code == 0
    CliRunner().invoke(cli, ["--db", db_path, "purge-tombstones"])
    CliRunner(env={"TIANJIAN_TOMBSTONE_DAYS": "400"}).invoke(
        cli, ["--db", db_path, "purge-tombstones"]
    )
    assert seen == [180, 400]


def test_the_app_reads_the_same_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TIANJIAN_DB", str(tmp_path / "from-env.db"))
    monkeypatch.setenv("TIANJIAN_TOMBSTONE_DAYS", "365")
    app = create_app()
    assert app.config["DATABASE"] == str(tmp_path / "from-env.db")
    assert app.config["TOMBSTONE_RETENTION_DAYS"] == 365
