"""marshmallow's own English messages get their Chinese, once, wherever errors leave a schema."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from shared.errors import InvalidRecord
from shared.marshmallow_zh import bilingual, one_line, zh


class Sample(Schema):
    year = fields.Integer(validate=validate.Range(2000, 2100))
    area = fields.Float(validate=validate.Range(min=0, min_inclusive=False))
    kind = fields.String(validate=validate.OneOf(["a", "b"]))
    name = fields.String(required=True, validate=validate.Length(1, 4))


def messages(data: dict[str, object]) -> dict[str, object]:
    try:
        Sample().load(data)
    except ValidationError as exc:
        return dict(exc.messages)  # type: ignore[arg-type]
    raise AssertionError("loaded")


def test_each_kind_of_message_has_its_chinese() -> None:
    found = bilingual(messages({"year": "x", "area": "y", "zz": 1}))
    assert found["year"] == ["不是有效的整数 / Not a valid integer."]
    assert found["area"] == ["不是有效的数字 / Not a valid number."]
    assert found["name"] == ["必填 / Missing data for required field."]
    assert found["zz"] == ["未知字段 / Unknown field."]
    ranged = bilingual(messages({"year": 1, "area": 0, "kind": "c", "name": "abcdef"}))
    assert ranged["year"][0].startswith("须不小于 2000 且不大于 2100 / Must be")
    assert ranged["area"][0].startswith("须大于 0 / Must be greater than 0.")
    assert ranged["kind"][0].startswith("须为以下之一：a, b / ")
    assert ranged["name"][0].startswith("长度须在 1 到 4 之间 / ")


def test_chinese_messages_and_other_text_are_left_alone() -> None:
    assert zh("区划代码应为数字 / not a division code") is None
    assert bilingual(["已是中文 / already Chinese"]) == ["已是中文 / already Chinese"]
    assert bilingual(bilingual("Not a valid integer.")) == "不是有效的整数 / Not a valid integer."


def test_one_line_reads_without_python_brackets() -> None:
    line = one_line({"year": ["Not a valid integer."], "targets": {0: {"value": ["x"]}}})
    assert line == "year：不是有效的整数 / Not a valid integer.；targets：0：value：x"
    assert "[" not in line and "{" not in line


def test_an_invalid_record_carries_both_languages() -> None:
    error = InvalidRecord("plot", {"area_mu": ["Must be greater than 0."]})
    assert error.errors == {"area_mu": ["须大于 0 / Must be greater than 0."]}
    assert "['" not in error.message and "须大于 0" in error.message
