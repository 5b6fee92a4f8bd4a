"""python -m server: the tianjian-server command."""

from server.cli import cli

cli()
