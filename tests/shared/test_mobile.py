"""Mainland mobile numbers: normalisation of what people type, rejection with reasons, masking."""

from __future__ import annotations

import pytest

from shared.errors import InvalidMobile, TianjianError
from shared.mobile import mask_mobile, normalise_mobile


@pytest.mark.parametrize(
    "typed",
    [
        "13800138000",
        "138 0013 8000",
        " 13800138000 ",
        "138-0013-8000",
        "138—0013—8000",
        "(138) 0013 8000",
        "（138）00138000",
        "138.0013.8000",
        "+8613800138000",
        "+86 138 0013 8000",
        "+86-138-0013-8000",
        "(+86) 138 0013 8000",
        "008613800138000",
        "0086 138 0013 8000",
        "8613800138000",
        "１３８００１３８０００",
        "１３８　００１３　８０００",
        "＋８６ １３８－００１３－８０００",
        "\t138 0013\n8000",
    ],
)
def test_typed_variants_normalise_to_eleven_digits(typed: str) -> None:
    assert normalise_mobile(typed) == "13800138000"


@pytest.mark.parametrize("prefix", ["13", "14", "15", "16", "17", "18", "19"])
def test_every_mobile_prefix_from_13_to_19_is_accepted(prefix: str) -> None:
    number = prefix + "912345678"
    assert normalise_mobile(number) == number


@pytest.mark.parametrize(
    "typed",
    [
        "010-12345678",  # Beijing landline
        "0871-1234567",  # Kunming landline
        "(0871) 6512 3456",
        "65123456",  # local landline without area code
        "1380013800",  # ten digits
        "138001380001",  # twelve digits
        "12800138000",  # second digit 2 is not a mobile prefix
        "11800138000",
        "23800138000",
        "1380013800a",
        "138OO138OOO",  # letters O typed for zeros
        "abcdefghijk",
        "",
        "   ",
        "+1 415 555 0100",  # not mainland
        "+852 9123 4567",  # Hong Kong
        "86138001380",  # 86 prefix but too short once stripped
        "+86 1380013800",
    ],
)
def test_non_mobiles_are_rejected(typed: str) -> None:
    with pytest.raises(InvalidMobile):
        normalise_mobile(typed)


def test_rejection_message_quotes_the_text_and_says_why_in_both_languages() -> None:
    with pytest.raises(InvalidMobile) as caught:
        normalise_mobile("0871-1234567")
    message = str(caught.value)
    assert "0871-1234567" in message
    assert "11" in message
    assert "手机号" in message
    assert "mobile" in message


def test_invalid_mobile_is_a_value_error_and_a_project_error() -> None:
    with pytest.raises(ValueError):
        normalise_mobile("12345")
    with pytest.raises(TianjianError):
        normalise_mobile("12345")


@pytest.mark.parametrize("value", [None, 13800138000, b"13800138000", ["13800138000"]])
def test_non_text_is_rejected_with_invalid_mobile(value: object) -> None:
    with pytest.raises(InvalidMobile, match="text"):
        normalise_mobile(value)  # type: ignore[arg-type]


def test_normalised_output_is_ascii_digits_only() -> None:
    result = normalise_mobile("１３９ ００１３ ９０００")
    assert result == "13900139000"
    assert result.isascii()
    assert result.isdigit()


def test_normalising_twice_gives_the_same_number() -> None:
    once = normalise_mobile("+86 (139) 0013-9000")
    assert normalise_mobile(once) == once


@pytest.mark.parametrize(
    ("mobile", "masked"),
    [
        ("13800138000", "138****8000"),
        ("13912345678", "139****5678"),
        ("19900001111", "199****1111"),
    ],
)
def test_masking_keeps_first_three_and_last_four(mobile: str, masked: str) -> None:
    assert mask_mobile(mobile) == masked


def test_masked_number_hides_the_middle_digits() -> None:
    masked = mask_mobile("13812345678")
    assert "1234" not in masked
    assert len(masked) == 11
    assert masked.count("*") == 4


@pytest.mark.parametrize("empty", [None, ""])
def test_masking_nothing_gives_empty_text(empty: str | None) -> None:
    assert mask_mobile(empty) == ""


@pytest.mark.parametrize("odd", ["12345", "0871123456789", "x"])
def test_masking_an_odd_length_value_hides_all_of_it(odd: str) -> None:
    masked = mask_mobile(odd)
    assert masked == "*" * len(odd)
    assert not any(ch.isdigit() for ch in masked)
