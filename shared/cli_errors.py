"""Named exceptions turned into one clear line and exit status 1 on either command line.

click's own messages ("is not a valid integer", "Missing option", "Repeat for confirmation")
are English: `BilingualGroup`, the root of both command lines, prints each error in Chinese and
English, and `_click_text` (installed below as click's gettext) gives its prompts in both.
"""

from __future__ import annotations

import contextvars
import functools
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

import click
import click.core
import click.decorators
import click.exceptions
import click.formatting
import click.parser
import click.termui
import click.types

# A message is a template (`{exc}` is the exception) or a function of the exception.
Describe = str | Callable[[Any], str]
Messages = Mapping[type[Exception], Describe]


def describe(messages: Mapping[type[Exception], Describe], exc: Exception) -> str:
    """The message of the first entry `exc` is an instance of."""
    template = next(d for kind, d in messages.items() if isinstance(exc, kind))
    return template.format(exc=exc) if isinstance(template, str) else template(exc)


def friendly_errors(
    messages: Mapping[type[Exception], Describe],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a click command so the listed exceptions never reach the user as a traceback.

    The first matching entry wins, so list specific exceptions before their bases.
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return command(*args, **kwargs)
            except tuple(messages) as exc:
                raise click.ClickException(describe(messages, exc)) from exc

        return wrapper

    return decorate


def friendly_group(messages: Messages | Callable[[], Messages]) -> type[click.Group]:
    """A click.Group class whose every command, however deeply nested, answers the listed
    exceptions with one clear line (`@click.group(cls=friendly_group(MESSAGES))` on the root).

    The first matching entry wins, so list specific exceptions before their bases. `messages`
    may be a function, asked when an error arrives: the classes of a library imported only on
    some paths (the server's PostgreSQL driver) are then listed without importing it first.
    """

    class FriendlyGroup(BilingualGroup):
        def invoke(self, ctx: click.Context) -> Any:
            try:
                return super().invoke(ctx)
            except Exception as exc:
                known = messages() if callable(messages) else messages
                if not isinstance(exc, tuple(known)):
                    raise
                raise click.ClickException(describe(known, exc)) from exc

    return FriendlyGroup


# click's message templates, in Chinese (placeholders kept).
CLICK_ZH: Final[Mapping[str, str]] = {
    "Error: {message}": "错误：{message}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Invalid value: {message}": "值无效：{message}",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的数字",
    "{value!r} is not a valid UUID.": "{value!r} 不是有效的编号（UUID）",
    "{value} is not in the range {range}.": "{value} 不在 {range} 范围内",
    "{value!r} is not {choice}.": "{value!r} 不是 {choice}",
    "{value!r} is not one of {choices}.": "{value!r} 不是 {choices} 之一",
    "{value!r} does not match the format {format}.": "{value!r} 不符合格式 {format}",
    "{value!r} does not match the formats {formats}.": "{value!r} 不符合格式 {formats}",
    "{value!r} is not a valid boolean.": "{value!r} 不是有效的是/否",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing command.": "缺少子命令",
    "No such command {name!r}.": "没有子命令 {name!r}",
    "No such option: {name}": "没有选项：{name}",
    "No such option {name!r}.": "没有选项 {name!r}",
    "Did you mean {possibility}?": "是否想输入 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（是否想输入以下之一：{possibilities}？）",
    "Option {name!r} does not take a value.": "选项 {name!r} 不带值",
    "Option {name!r} requires an argument.": "选项 {name!r} 需要一个值",
    "Option {name!r} requires {nargs} arguments.": "选项 {name!r} 需要 {nargs} 个值",
    "Got unexpected extra argument ({args})": "多出了参数（{args}）",
    "Got unexpected extra arguments ({args})": "多出了参数（{args}）",
    "Try '{command} {option}' for help.": "用 '{command} {option}' 查看帮助",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "{name} {filename!r} does not exist.": "{filename!r} 不存在",
    "{name} {filename!r} is a directory.": "{filename!r} 是目录",
    "{name} {filename!r} is a file.": "{filename!r} 是文件",
    "{name} {filename!r} is not readable.": "{filename!r} 不可读",
    "{name} {filename!r} is not writable.": "{filename!r} 不可写",
    "Repeat for confirmation": "再输入一次确认",
    "Error: The two entered values do not match.": "错误：两次输入不一致",
    "Aborted!": "已取消",
    "Do you want to continue?": "是否继续？",
    "Show this message and exit.": "显示帮助并退出",
    "Show the version and exit.": "显示版本并退出",
    "Usage:": "用法 / Usage:",
    "Options": "选项",
    "Commands": "子命令",
    "required": "必填",
    "default: {default}": "默认 {default}",
    "env var: {var}": "环境变量 {var}",
}
# Prompts are shown once, so in both languages; errors are composed in each and joined.
_PROMPTS: Final = frozenset(
    (
        "Repeat for confirmation",
        "Error: The two entered values do not match.",
        "Aborted!",
        "Show this message and exit.",
        "Show the version and exit.",
        "Options",
        "Commands",
        "required",
        "default: {default}",
        "env var: {var}",
    )
)
_chinese: contextvars.ContextVar[bool] = contextvars.ContextVar("click_chinese", default=False)


def _click_text(message: str) -> str:
    zh = CLICK_ZH.get(message)
    if zh is None:
        return message
    if _chinese.get() or message == "Usage:":
        return zh
    return f"{zh} / {message}" if message in _PROMPTS else message


def _click_ntext(singular: str, plural: str, count: int) -> str:
    return _click_text(singular if count == 1 else plural)


@contextmanager
def _in_chinese() -> Iterator[None]:
    token = _chinese.set(True)
    try:
        yield
    finally:
        _chinese.reset(token)


for _module in (
    click.core,
    click.decorators,
    click.exceptions,
    click.formatting,
    click.parser,
    click.termui,
    click.types,
):
    if hasattr(_module, "_"):
        _module._ = _click_text  # type: ignore[attr-defined]
    if hasattr(_module, "ngettext"):
        _module.ngettext = _click_ntext  # type: ignore[attr-defined]


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)(?:![rs])?\}", template)
    return re.compile(
        "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    )


_LEAVES: Final = tuple((_pattern(en), zh.replace("!r", "")) for en, zh in CLICK_ZH.items())


def click_zh(message: str) -> str:
    """The Chinese of a message click composed in English when it was raised (types' checks)."""
    for pattern, zh in _LEAVES:
        match = pattern.fullmatch(message)
        if match:
            return zh.format(**match.groupdict())
    return message


def bilingual_error(exc: click.ClickException) -> str:
    """A click error as one line, Chinese first: `错误：缺少选项 '--area' / Error: Missing ...`."""
    en = exc.format_message()
    english = exc.message
    exc.message = click_zh(english)  # type: ignore[misc]
    try:
        with _in_chinese():
            zh = exc.format_message()
    finally:
        exc.message = english  # type: ignore[misc]
    return f"错误 / Error: {en}" if zh == en else f"错误：{zh} / Error: {en}"


class BilingualGroup(click.Group):
    """A root group printing click's own errors in Chinese and English, exit status as click's."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[call-overload]
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[call-overload]
        except click.ClickException as exc:
            if isinstance(exc, click.UsageError) and exc.ctx is not None:
                hint = ""
                if exc.ctx.command.get_help_option(exc.ctx) is not None:
                    hint = (
                        f"用 '{exc.ctx.command_path} --help' 查看帮助 / "
                        f"Try '{exc.ctx.command_path} --help' for help.\n"
                    )
                click.echo(exc.ctx.get_usage() + "\n" + hint, err=True)
            click.echo(bilingual_error(exc), err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("\n已取消 / Aborted!", err=True)
            sys.exit(1)
        # Commands return nothing: a number here is click's Exit code (0 after --help).
        sys.exit(code if isinstance(code, int) else 0)
