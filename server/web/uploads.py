"""A file uploaded on a page, saved where the loaders read it: under a name of our own, never
the sender's, whose name is checked and used only to say which file a message is about."""

from __future__ import annotations

import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import request

from server.web.forms import InvalidInput

# Most file systems allow 255 bytes in a name; a longer one is not a file someone saved.
MAX_NAME_BYTES = 255


def upload_name(sent: str) -> str:
    """The sender's file name without any folder (old browsers send C:\\...\\units.csv), or
    InvalidInput saying what is wrong with it."""
    name = sent.replace("\\", "/").rsplit("/", 1)[-1].strip()
    problem = None
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in name):
        problem = ("文件名含有控制字符", "the file name has control characters")
    elif name in ("", ".", "..") or not name.strip("."):
        problem = ("文件名不是文件", "the file name names no file")
    elif len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        problem = (
            f"文件名超过 {MAX_NAME_BYTES} 字节",
            f"the file name is longer than {MAX_NAME_BYTES} bytes",
        )
    if problem:
        zh, en = problem
        raise InvalidInput(f"文件名无效：{zh} / invalid file name: {en}", {"file": en})
    return name


@contextmanager
def saved_upload(suffixes: tuple[str, ...], kinds: str) -> Iterator[tuple[str, str]]:
    """The form's `file` saved in a folder of its own as upload<suffix>: (path, sender's name).

    `suffixes` are the endings accepted (".csv", ...), `kinds` says them to people ("CSV")."""
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        raise InvalidInput(f"请选择 {kinds} 文件 / choose a {kinds} file", {"file": "missing"})
    name = upload_name(sent.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in suffixes:
        raise InvalidInput(
            f"文件须为 {kinds} / the file must be {kinds}",
            {"file": " ".join(suffixes)},
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        sent.save(path)
        yield str(path), name
