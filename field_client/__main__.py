"""python -m field_client: the tianjian-field command."""

from field_client.cli import cli

cli()
