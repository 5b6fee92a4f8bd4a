"""The phone app's shell: every file it is made of, their content-derived version, the service
worker that caches them all under that version, and the manifest that makes it installable."""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from server.phone_app import generated, icons, rules

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/app/"
# The service worker's own source: served with the shell's version and file list before it,
# never cached by itself (the browser checks it for updates).
WORKER = "sw.js"
# Kept beside the code for people, not shipped to phones.
NOT_SHIPPED = {"README.md", "LICENSE.md"}
# Cache names begin so; the worker deletes every other version's cache when it takes over.
CACHE_PREFIX = "tianjian-app-"


@dataclass(frozen=True)
class ShellFile:
    """One file of the shell: its path under /app/, its bytes and content type."""

    path: str
    body: bytes
    mimetype: str


def manifest() -> dict[str, object]:
    """The web app manifest: Chinese name first, opened at /app/ standing alone."""
    return {
        "name": "田间 · 科技特派员",
        "short_name": "田间",
        "description": "科技特派员离线记录培训、签到、资料和示范田 / offline records of an envoy's field work",
        "lang": "zh-CN",
        "dir": "ltr",
        "start_url": PREFIX,
        "scope": PREFIX,
        "id": PREFIX,
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#2e7d32",
        "icons": [
            {
                "src": f"{PREFIX}icons/icon-{size}.png",
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "any maskable",
            }
            for size in icons.SIZES
        ],
    }


def _static_files() -> list[ShellFile]:
    found = []
    for path in sorted(STATIC.rglob("*")):
        relative = path.relative_to(STATIC).as_posix()
        if not path.is_file() or path.name in NOT_SHIPPED or relative == WORKER:
            continue
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix in (".js", ".mjs"):
            mimetype = "text/javascript"
        found.append(ShellFile(relative, path.read_bytes(), mimetype))
    return found


@functools.cache
def shell_files() -> dict[str, ShellFile]:
    """Every file the app needs offline, by its path under /app/ ("" is index.html).

    Read once per process: the files ship with the server and change only with it.
    """
    files = {f.path: f for f in _static_files()}
    made = [
        ShellFile("js/protocol.js", generated.protocol_js().encode(), "text/javascript"),
        ShellFile("js/choices.js", generated.choices_js().encode(), "text/javascript"),
        ShellFile("js/rules.js", rules.rules_js().encode(), "text/javascript"),
        ShellFile(
            "manifest.webmanifest",
            json.dumps(manifest(), ensure_ascii=False, indent=1).encode(),
            "application/manifest+json",
        ),
    ]
    made += [
        ShellFile(f"icons/icon-{size}.png", icons.icon_png(size), "image/png")
        for size in icons.SIZES
    ]
    files.update({f.path: f for f in made})
    index = files.pop("index.html")
    files[""] = ShellFile("", index.body, "text/html; charset=utf-8")
    return files


@functools.cache
def version() -> str:
    """A digest of every shell file's path and bytes, and the worker's: any change to any of
    them names a new cache, so an updated server replaces the whole app on the phone."""
    digest = hashlib.sha256()
    for path, shell_file in sorted(shell_files().items()):
        digest.update(path.encode() + b"\0" + hashlib.sha256(shell_file.body).digest())
    digest.update((STATIC / WORKER).read_bytes())
    return digest.hexdigest()[:16]


@functools.cache
def worker_js() -> bytes:
    """sw.js: the shell's version and file list, then the worker's code."""
    urls = [PREFIX + path for path in sorted(shell_files())]
    prelude = (
        "// Written by server/phone_app/shell.py: the shell's version and its files.\n"
        f"const SHELL_VERSION = {json.dumps(version())};\n"
        f"const CACHE_PREFIX = {json.dumps(CACHE_PREFIX)};\n"
        f"const SHELL_FILES = {json.dumps(urls)};\n"
    )
    return prelude.encode() + (STATIC / WORKER).read_bytes()


# Smaller than this, gzip's frame costs about what it saves.
GZIP_FROM_BYTES = 256


@functools.cache
def gzipped(body: bytes) -> bytes:
    """A shell file's bytes compressed once (level 9, no time in the header: the same bytes
    every time, so their ETag holds across restarts); the first install on 2G costs less."""
    return gzip.compress(body, compresslevel=9, mtime=0)
