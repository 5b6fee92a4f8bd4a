"""The phone app's files as the server serves them: the whole shell, its content-derived
version, the worker at /app/sw.js, the manifest, the security headers, gzip."""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from PIL import Image

from server.phone_app import WASM_WORKER_POLICY, WASM_WORKERS, shell
from server.phone_app.generated import FIELD_KIND_NAMES
from shared import protocol as p
from shared.schemas.field import data_fields, load_defaults
from shared.web_headers import CONTENT_SECURITY_POLICY


def test_every_shell_file_is_served_with_the_servers_security_headers(
    client: FlaskClient,
) -> None:
    for path in shell.shell_files():
        answer = client.get(shell.PREFIX + path)
        assert answer.status_code == 200, path
        # The QR decoder's worker alone may also compile WebAssembly (test_scan_assets.py).
        policy = WASM_WORKER_POLICY if path in WASM_WORKERS else CONTENT_SECURITY_POLICY
        assert answer.headers["Content-Security-Policy"] == policy, path
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Cache-Control"] == "no-cache"
    assert client.get("/app/js/app.js").mimetype == "text/javascript"
    assert client.get("/app/").mimetype == "text/html"
    assert client.get("/app").headers["Location"].endswith("/app/")


def test_unknown_files_and_kept_notes_are_not_served(client: FlaskClient) -> None:
    for path in ("/app/nope.js", "/app/README.md", "/app/../server/settings.py", "/app/index.html"):
        assert client.get(path).status_code == 404, path


def test_no_inline_script_anywhere_in_the_page(client: FlaskClient) -> None:
    page = client.get("/app/").get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son[a-z]+=", page)


def test_the_worker_caches_every_shell_file_under_the_shells_version(client: FlaskClient) -> None:
    answer = client.get("/app/sw.js")
    worker = answer.get_data(as_text=True)
    assert answer.headers["Service-Worker-Allowed"] == "/app/"
    listed = json.loads(re.search(r"const SHELL_FILES = (\[.*?\]);", worker).group(1))
    assert set(listed) == {shell.PREFIX + path for path in shell.shell_files()}
    assert "/app/sw.js" not in listed
    assert f'const SHELL_VERSION = "{shell.version()}";' in worker


def test_a_changed_file_names_a_new_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "static"
    shutil.copytree(shell.STATIC, copy)
    monkeypatch.setattr(shell, "STATIC", copy)
    for cached in (shell.shell_files, shell.version, shell.worker_js):
        cached.cache_clear()
    try:
        before = shell.version()
        (copy / "js" / "app.js").write_text((copy / "js" / "app.js").read_text() + "\n// changed\n")
        for cached in (shell.shell_files, shell.version, shell.worker_js):
            cached.cache_clear()
        assert shell.version() != before
        assert shell.version().encode() in shell.worker_js()
    finally:
        monkeypatch.undo()
        for cached in (shell.shell_files, shell.version, shell.worker_js):
            cached.cache_clear()


def test_the_manifest_installs_the_app_in_chinese_with_its_icons(client: FlaskClient) -> None:
    answer = client.get("/app/manifest.webmanifest")
    assert answer.mimetype == "application/manifest+json"
    manifest = answer.get_json(force=True)
    assert manifest["name"].startswith("田间") and manifest["lang"] == "zh-CN"
    assert manifest["start_url"] == manifest["scope"] == "/app/"
    assert manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        image = Image.open(io.BytesIO(client.get(icon["src"]).data))
        assert image.format == "PNG" and f"{image.width}x{image.height}" == icon["sizes"]


def test_the_generated_protocol_module_says_what_shared_says(client: FlaskClient) -> None:
    module = client.get("/app/js/protocol.js").get_data(as_text=True)

    def exported(name: str) -> object:
        found = re.search(rf"^export const {name} = (.*);$", module, re.M)
        assert found, name
        return json.loads(found.group(1))

    assert exported("CAPABILITIES") == list(p.CAPABILITIES)
    assert exported("HEADER_DEVICE_REPORT") == p.HEADER_DEVICE_REPORT
    assert exported("FIELD_KINDS") == list(p.FIELD_KINDS)
    assert [exported(name) for name in FIELD_KIND_NAMES] == list(p.FIELD_KINDS)
    assert exported("DATA_FIELDS") == {kind: list(data_fields(kind)) for kind in p.FIELD_KINDS}
    assert exported("LOAD_DEFAULTS") == {kind: load_defaults(kind) for kind in p.FIELD_KINDS}
    choices = client.get("/app/js/choices.js").get_data(as_text=True)
    assert '"village_training": {"en": "village training", "zh": "进村培训"}' in choices


def test_files_go_gzipped_to_browsers_that_take_it(client: FlaskClient) -> None:
    plain = client.get("/app/js/store.js")
    packed = client.get("/app/js/store.js", headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data) / 2
    assert packed.headers["ETag"] != plain.headers["ETag"]
    again = client.get(
        "/app/js/store.js",
        headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]},
    )
    assert again.status_code == 304
