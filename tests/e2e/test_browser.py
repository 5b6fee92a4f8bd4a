"""The browser fixtures themselves: Debian's Chromium starts offline and renders Chinese."""

from __future__ import annotations

from tests.browser import screenshot


def test_chromium_renders_a_chinese_page_at_phone_size(phone_page) -> None:
    phone_page.set_content("<html lang='zh-CN'><body><h1 id=t>签到成功</h1></body></html>")
    assert phone_page.inner_text("#t") == "签到成功"
    assert phone_page.viewport_size == {"width": 360, "height": 740}
    assert screenshot(phone_page, "browser-smoke").stat().st_size > 1000
