"""One exception tree: every exception the project defines is a TianjianError, so it carries an
HTTP status and a Chinese/English message, and the one API handler and the CLIs' one map can
answer it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import field_client
import server
import shared
from shared.errors import TianjianError


def defined_exceptions() -> list[type[BaseException]]:
    found = []
    for package in (server, field_client, shared):
        for module_info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if module_info.name.endswith("__main__"):
                continue
            module = importlib.import_module(module_info.name)
            for _, value in inspect.getmembers(module, inspect.isclass):
                if issubclass(value, BaseException) and value.__module__ == module.__name__:
                    found.append(value)
    return found


def test_every_exception_defined_here_is_a_tianjian_error() -> None:
    found = defined_exceptions()
    assert len(found) > 20
    outside = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in found
        if not issubclass(cls, TianjianError)
    ]
    assert not outside, f"define these as TianjianError subclasses: {outside}"


def test_each_has_a_status_and_a_bilingual_message() -> None:
    for cls in defined_exceptions():
        assert issubclass(cls, TianjianError)
        assert 200 <= cls.status < 600, cls
        assert " / " in cls.message, cls
