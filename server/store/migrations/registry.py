"""The one set of server migrations every migration module registers into, in number order."""

from sqlite_utils.migrations import Migrations

migrations = Migrations("tianjian-server")
