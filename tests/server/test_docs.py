"""The README documents every command of tianjian-server, and no command that does not exist."""

from __future__ import annotations

from server.cli import cli
from tests.docs import command_paths, readme_commands


def test_readme_lists_every_server_command_once() -> None:
    documented = readme_commands("tianjian-server")
    assert sorted(documented) == sorted(set(documented)), "a command is listed twice"
    assert set(documented) == set(command_paths(cli))
