"""A page shows one half of a "中文 / English" message: the reader's language."""

from __future__ import annotations

from shared.bilingual import half


def test_each_half_and_text_in_one_language() -> None:
    message = "输入有误 / invalid input: year: Not a valid integer."
    assert half(message, english=False) == "输入有误"
    assert half(message, english=True) == "invalid input: year: Not a valid integer."
    assert half("只有中文", english=True) == "只有中文"


def test_a_message_of_several_bilingual_parts_is_shown_whole() -> None:
    """Cutting "第 2 行 / line 2：code：必填 / required" at its first " / " would leave "第 2 行"."""
    message = "第 2 行 / line 2：code：必填 / Missing data for required field."
    assert half(message, english=False) == message
    assert half(message, english=True) == message
