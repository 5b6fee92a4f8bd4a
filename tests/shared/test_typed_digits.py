"""Digits typed in full width or another script read as ASCII wherever a number or a code is
typed (schemas of both sides, both command lines); free text keeps what was typed."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from shared.cli_errors import BilingualGroup
from shared.cli_numbers import NUMBER, WHOLE
from shared.mobile import normalise_mobile
from shared.schemas.field import FarmerSchema, LeafletHandoutSchema, PlotSchema
from shared.schemas.reference import TargetSchema, UnitSchema
from shared.typed_digits import ascii_digits, number_text


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("１２３４", "1234"),  # full width, from a Chinese input method
        ("١٢٣٤", "1234"),  # Arabic-Indic
        ("१२३४", "1234"),  # Devanagari
        ("ab１２", "ab12"),
        ("1234", "1234"),
    ],
)
def test_ascii_digits(typed: str, read: str) -> None:
    assert ascii_digits(typed) == read


def test_ascii_digits_leaves_everything_else() -> None:
    assert ascii_digits("（马鞍村），密码") == "（马鞍村），密码"


@pytest.mark.parametrize(
    ("typed", "read"),
    [("　１２．５ ", "12.5"), ("－５", "-5"), ("٣", "3"), ("２０２６", "2026")],
)
def test_number_text(typed: str, read: str) -> None:
    assert number_text(typed) == read


def test_schemas_read_typed_digits() -> None:
    farmer = FarmerSchema().load({"birth_year": "１９７５", "mobile": "١٣٨١٢٣٤٥٦٧٨"}, partial=True)
    assert farmer == {"birth_year": 1975, "mobile": "13812345678"}
    plot = PlotSchema().load({"area_mu": "１２．５", "latitude": "２５．０４"}, partial=True)
    assert plot == {"area_mu": 12.5, "latitude": 25.04}
    handout = {"copies": "３０", "unit_code": "530102001001"}
    assert LeafletHandoutSchema().load(handout, partial=True)["copies"] == 30
    assert TargetSchema().load({"year": "２０２６", "value": "１０"}, partial=True) == {
        "year": 2026,
        "value": 10.0,
    }
    assert UnitSchema().load({"code": "５３０１０２"}, partial=True) == {"code": "530102000000"}


def test_mobile_in_other_digits_is_stored_ascii() -> None:
    assert normalise_mobile("१३८ १२३४ ५६७८") == "13812345678"


def test_command_line_numbers() -> None:
    """Read as typed; refused in both languages under the root group both command lines use."""

    @click.group(cls=BilingualGroup)
    def cli() -> None:
        pass

    @cli.command()
    @click.option("--area", type=NUMBER)
    @click.option("--year", type=WHOLE)
    def show(area: float, year: int) -> None:
        click.echo(f"{area!r} {year!r}")

    result = CliRunner().invoke(cli, ["show", "--area", "１２．５", "--year", "２０２６"])
    assert result.output.strip() == "12.5 2026"
    refused = CliRunner().invoke(cli, ["show", "--year", "十二"])
    assert refused.exit_code == 2 and "不是有效的数字" in refused.output
    assert "is not a valid integer" in refused.output
