"""The bureau's menus: a few groups a director can scan (progress, records, checks, administration),
each listing only the pages the signed-in user's role may open."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext

from server.accounts.access import ADMIN_ONLY, ANYONE, BUREAU
from server.accounts.users import User


@dataclass(frozen=True)
class Entry:
    endpoint: str
    label: object  # a lazy translation
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Menu:
    name: str
    label: object
    entries: tuple[Entry, ...]


MENUS = (
    Menu(
        "progress",
        lazy_gettext("进度"),
        (
            Entry("progress.overview", lazy_gettext("目标进度"), ANYONE),
            Entry("breakdowns.table", lazy_gettext("分组"), BUREAU),
            Entry("performance.table", lazy_gettext("绩效考评"), ANYONE),
            Entry("summary.year_end", lazy_gettext("年度总结"), BUREAU),
        ),
    ),
    Menu(
        "records",
        lazy_gettext("记录"),
        (
            Entry("records.listing_sessions", lazy_gettext("记录"), ANYONE),
            Entry("ledger.index", lazy_gettext("台账"), ANYONE),
        ),
    ),
    Menu(
        "checks",
        lazy_gettext("核查"),
        (
            Entry("reconciliation_page.overview", lazy_gettext("数据核对"), ANYONE),
            Entry("flags.listing", lazy_gettext("存疑记录"), ANYONE),
            Entry("staff.candidates", lazy_gettext("疑似重复农户"), BUREAU),
            Entry("staff.merged", lazy_gettext("已合并农户"), BUREAU),
            Entry("staff.conflicts", lazy_gettext("编辑冲突"), BUREAU),
            Entry("staff.held", lazy_gettext("暂存变更"), BUREAU),
        ),
    ),
    Menu(
        "admin",
        lazy_gettext("管理"),
        (
            Entry("targets.listing", lazy_gettext("目标"), BUREAU),
            Entry("staff.device_list", lazy_gettext("设备"), BUREAU),
            Entry("reference.index", lazy_gettext("参考数据"), BUREAU),
            Entry("users.list_users", lazy_gettext("用户"), ADMIN_ONLY),
            Entry("audit.log", lazy_gettext("操作日志"), BUREAU),
        ),
    ),
)


def _blueprint(endpoint: str) -> str:
    return endpoint.rpartition(".")[0]


# A page not in any menu (a record's detail, another list of records) lights up the menu of its
# blueprint's pages, where they all sit in one menu.
_HOME = {_blueprint(entry.endpoint): menu.name for menu in MENUS for entry in menu.entries}
_SPLIT = {
    _blueprint(entry.endpoint)
    for menu in MENUS
    for entry in menu.entries
    if _HOME[_blueprint(entry.endpoint)] != menu.name
}


@dataclass(frozen=True)
class ShownMenu:
    """A menu as one user sees it: the entries their role may open, and whether this page is one."""

    name: str
    label: object
    entries: tuple[Entry, ...]
    current: bool


def menus_for(user: User | None, endpoint: str | None) -> list[ShownMenu]:
    """The menus with the entries `user` may open (none signed out); empty menus left out."""
    if user is None:
        return []
    shown = []
    for menu in MENUS:
        entries = tuple(entry for entry in menu.entries if user.role in entry.roles)
        if entries:
            current = any(entry.endpoint == endpoint for entry in entries) or (
                endpoint is not None
                and _blueprint(endpoint) not in _SPLIT
                and _HOME.get(_blueprint(endpoint)) == menu.name
            )
            shown.append(ShownMenu(menu.name, menu.label, entries, current))
    return shown
