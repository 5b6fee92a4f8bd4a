"""A page shows one half of a "中文 / English" message: the reader's language."""

from __future__ import annotations

from shared.bilingual import half


def test_each_half_and_text_in_one_language() -> None:
    message = "输入有误 / invalid input: year: Not a valid integer."
    assert half(message, english=False) == "输入有误"
    assert half(message, english=True) == "invalid input: year: Not a valid integer."
    assert half("只有中文", english=True) == "只有中文"
