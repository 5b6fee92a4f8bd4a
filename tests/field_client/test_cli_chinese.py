"""`tianjian-field` in Chinese first: refused values, click's own messages, namesake villages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.field_client.test_cli import assert_one_line_error, run
from tests.field_client.test_operations import EAST, OTHER_EAST, enrol_by_hand


@pytest.fixture
def device(tmp_path: Path) -> Path:
    path = tmp_path / "field.db"
    enrol_by_hand(path)
    return path


def test_a_refused_area_reads_in_chinese_without_python_lists(device: Path) -> None:
    result = run(device, "plot", "new", "--village", "西村", "--host", "张", "--crop", "玉米")
    assert "缺少选项 '--area'" in result.output and "Missing option" in result.output
    refused = run(
        device, "plot", "new", "--village", "西村", "--host", "张", "--crop", "玉米", "--area", "0"
    )
    assert_one_line_error(refused, "示范田无效", "须大于 0", "Must be greater than 0")
    assert "['" not in refused.output
    typo = run(device, "plot", "new", "--village", "西村", "--area", "很多")
    assert "'很多' 不是有效的数字" in typo.output


def test_namesake_villages_are_listed_by_codes_the_command_then_takes(device: Path) -> None:
    both = run(device, "farmer", "add", "--name", "赵大", "--village", "东村")
    assert_one_line_error(both, "城关镇/东村", "河口镇/东村", EAST, OTHER_EAST)
    added = run(device, "farmer", "add", "--name", "赵大", "--village", OTHER_EAST)
    assert added.exit_code == 0, added.output
