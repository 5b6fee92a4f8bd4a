"""Every page a user can reach, walked in headless Chromium at a PC's and a phone's width.

The demo county is built once; the bureau's pages are walked as its admin, a staff user and
the envoy's own account, and the envoy's field pages through `tianjian-field serve` on the
envoy's demo device. Each page's visible text must be Chinese (English only from a short list
of codes, units and names) and no table or navigation may be wider than the window.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from server.accounts import users
from server.store.db import init_db
from tests import pg
from tests.e2e.conftest import demo_server
from tests.e2e.field_serve import FieldServer

ROOT = Path(__file__).resolve().parents[2]
WIDTHS = (1366, 360)
STAFF, STAFF_PASSWORD = "staff-walker", "walk-the-pages"
FIELD_PIN = "246813"
# Pages of one shape (the same path with another id) are walked once; this many at most a walk.
MOST_PAGES = 45

# English a Chinese page may show: codes, units, brand and format names, and the switch back.
ALLOWED = {
    "English",
    "Tianjian",
    "CSV",
    "XLSX",
    "PDF",
    "PNG",
    "QR",
    "PIN",
    "ID",
    "API",
    "UTC",
    "GPS",
    "TV",
    "Wi",
    "Fi",
    "WiFi",
    "WeChat",
    "mu",
    "kg",
    "km",
    "m",
    "cm",
    "ha",
    # File sizes, written so in Chinese too (照片最大 30 MB).
    "KB",
    "MB",
    "CST",
    "ok",
    "OK",
    "Excel",
    "YAML",
    "JSON",
    "http",
    "https",
    "Authorization",
    "Bearer",
}
# A Latin word: two letters or more (single letters are list markers, units, ids).
WORD = re.compile(r"(?<![A-Za-z0-9_.@/-])[A-Za-z][A-Za-z_']+(?![A-Za-z0-9_@/-])")
# Text that is data, not interface: ids, codes, mobiles, times, file names.
DATA_LIKE = re.compile(r"\b[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\b|[\w.-]+\.(csv|xlsx|png|db)")


def english_words(text: str, logins: tuple[str, ...] = ()) -> list[str]:
    """Latin words outside the allowed list; login names are people's own data."""
    text = DATA_LIKE.sub(" ", text)
    for login in logins:
        text = text.replace(login, " ")
    return sorted({w for w in WORD.findall(text) if w not in ALLOWED})


# Tables and navigation wider than the window. On a phone a wide table may scroll inside its
# own box (overflow-x on the table itself or a box around it) when that box fits; on a PC's
# window nothing may.
TOO_WIDE_JS = """(phone) => {
  const width = document.documentElement.clientWidth;
  const scrolls = (el) => {
    for (let p = el; p && p !== document.body; p = p.parentElement) {
      const overflow = getComputedStyle(p).overflowX;
      if ((overflow === 'auto' || overflow === 'scroll')
          && p.getBoundingClientRect().right <= width + 1) return true;
    }
    return false;
  };
  const found = [];
  for (const el of document.querySelectorAll('table, nav, header')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const right = Math.max(el.scrollWidth + box.left, box.right);
    if (right > width + 1 && !(phone && scrolls(el))) {
      found.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} ${Math.round(right)}px`);
    }
  }
  return found;
}"""
VISIBLE_TEXT_JS = "() => document.body.innerText"


@dataclass
class Finding:
    who: str
    width: int
    path: str
    english: list[str]
    too_wide: list[str]


@dataclass
class Walk:
    findings: list[Finding] = field(default_factory=list)

    def english(self) -> list[str]:
        return [
            f"{f.who} {f.width}px {f.path}: {' '.join(f.english)}"
            for f in self.findings
            if f.english
        ]

    def too_wide(self) -> list[str]:
        return [
            f"{f.who} {f.width}px {f.path}: {'; '.join(f.too_wide)}"
            for f in self.findings
            if f.too_wide
        ]


def shape(path: str) -> str:
    """The path with its ids and numbers blanked, so /records/session/<id> is walked once."""
    parts = urlsplit(path)
    segments = [
        "*" if re.search(r"\d", segment) or len(segment) >= 20 else segment
        for segment in parts.path.split("/")
    ]
    query = "&".join(
        sorted(
            pair.split("=")[0]
            for pair in parts.query.split("&")
            if pair and pair.split("=")[0] not in ("year", "page", "unit", "envoy", "month")
        )
    )
    return "/".join(segments) + "?" + query


SKIP = re.compile(r"/(logout|signout|lang|language)\b|format=|\.png|\.csv|\.xlsx|/api/|/static/")


def walk(
    page: Any, base: str, start: str, who: str, width: int, into: Walk, logins: tuple[str, ...] = ()
) -> None:
    """Breadth first from `start` over this site's own links, one page per shape."""
    queue, seen = [start], {shape(start)}
    walked = 0
    while queue and walked < MOST_PAGES:
        path = queue.pop(0)
        response = page.goto(base + path)
        walked += 1
        if (
            response is None
            or response.status >= 400
            or urlsplit(page.url).netloc != urlsplit(base).netloc
        ):
            continue
        text = page.evaluate(VISIBLE_TEXT_JS)
        into.findings.append(
            Finding(
                who,
                width,
                path,
                english_words(text, logins),
                page.evaluate(TOO_WIDE_JS, width < 1000),
            )
        )
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            absolute = urljoin(page.url, href)
            parts = urlsplit(absolute)
            if parts.netloc != urlsplit(base).netloc:
                continue
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            if SKIP.search(local) or shape(local) in seen:
                continue
            seen.add(shape(local))
            queue.append(local)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("walk") / "demo"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo_county.py"), "build", "--dir", str(folder)]
        + ["--quiet"],
        cwd=ROOT,
        check=True,
        timeout=240,
    )
    summary = json.loads((folder / "demo.json").read_text())
    db = init_db(str(folder / "server.db"))
    users.add_user(db, STAFF, users.STAFF, STAFF_PASSWORD)
    db.close()
    return folder, summary


@pytest.fixture(scope="module")
def walked(
    demo: tuple[Path, dict[str, Any]], browser: Any, pg_cluster: pg.Cluster | None
) -> Iterator[Walk]:
    # The session's one browser (tests/browser.py): a second sync_playwright() in the same
    # process fails while the first is running.
    folder, summary = demo
    passwords = {u["name"]: u["password"] for u in summary["users"]}
    accounts = (
        ("admin", "admin", passwords["admin"]),
        ("staff", STAFF, STAFF_PASSWORD),
        ("envoy", "lijianhua", passwords["lijianhua"]),
    )
    logins = tuple(name for _who, name, _password in accounts)
    result = Walk()
    server = demo_server(str(folder / "server.db"), pg_cluster).start()
    field_server = FieldServer(str(folder / "field-lijianhua.db"), FIELD_PIN)
    try:
        for width in WIDTHS:
            for who, name, password in accounts:
                context = browser.new_context(
                    viewport={"width": width, "height": 800},
                    locale="zh-CN",
                    timezone_id="Asia/Shanghai",
                )
                page = context.new_page()
                page.goto(server.url + "/signin")
                page.fill("input[name=name]", name)
                page.fill("input[name=password]", password)
                page.click("#signin-submit")
                walk(page, server.url, "/progress", who, width, result, logins)
                context.close()
            context = browser.new_context(
                viewport={"width": width, "height": 800},
                locale="zh-CN",
                timezone_id="Asia/Shanghai",
            )
            page = context.new_page()
            page.goto(field_server.url + "/login")
            page.fill("input[name=pin]", FIELD_PIN)
            page.press("input[name=pin]", "Enter")
            page.wait_for_load_state()
            walk(page, field_server.url, "/", "field", width, result)
            context.close()
    finally:
        field_server.stop()
        server.stop()
    yield result


def test_the_walk_reaches_every_menu(walked: Walk) -> None:
    """The walk itself is real: each account saw many pages, and the envoy's field pages too."""
    by_who = {who: {f.path for f in walked.findings if f.who == who} for who in ("admin", "staff")}
    assert len(by_who["admin"]) >= 15, by_who["admin"]
    assert len(by_who["staff"]) >= 12, by_who["staff"]
    assert any(f.who == "envoy" for f in walked.findings)
    field_paths = {f.path for f in walked.findings if f.who == "field"}
    assert {"/envoy/", "/envoy/farmers/", "/envoy/leaflets/", "/envoy/plots/"} <= field_paths, (
        field_paths
    )


def test_chinese_pages_show_no_english(walked: Walk) -> None:
    english = walked.english()
    assert not english, "\n".join(english)


def test_no_table_or_navigation_is_wider_than_the_window(walked: Walk) -> None:
    too_wide = walked.too_wide()
    assert not too_wide, f"{len(too_wide)} pages:\n" + "\n".join(too_wide)


def test_english_words_are_found_and_codes_are_not() -> None:
    assert english_words("目标 same_mobile_and_name 人次") == ["same_mobile_and_name"]
    assert english_words("Not a valid number. 亩") == ["Not", "number", "valid"]
    assert english_words("导出 CSV XLSX 530326205000 1a2b3c4d-0000-4000-8000-000000000000") == []
