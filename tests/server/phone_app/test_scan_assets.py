"""The QR decoder's files as the server hands them out: the worker alone may compile WebAssembly."""

from __future__ import annotations

import hashlib
import re

from flask.testing import FlaskClient

from server.phone_app import shell


def test_only_the_decoder_worker_may_compile_webassembly(client: FlaskClient) -> None:
    worker = client.get("/app/js/scan_worker.js")
    assert worker.status_code == 200
    assert worker.mimetype == "text/javascript"
    assert "'wasm-unsafe-eval'" in worker.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in worker.headers["Content-Security-Policy"].replace(
        "'wasm-unsafe-eval'", ""
    )
    for other in (
        "/app/",
        "/app/js/scan.js",
        "/app/js/app.js",
        "/app/vendor/zxing-wasm/zxing-reader.js",
    ):
        answer = client.get(other)
        assert answer.status_code == 200, other
        assert "wasm-unsafe-eval" not in answer.headers["Content-Security-Policy"], other


def test_the_decoder_is_served_whole_and_cached_for_offline(client: FlaskClient) -> None:
    wasm = client.get("/app/vendor/zxing-wasm/zxing_reader.wasm")
    assert wasm.status_code == 200
    # application/wasm lets the browser compile while it downloads.
    assert wasm.mimetype == "application/wasm"
    script = client.get("/app/vendor/zxing-wasm/zxing-reader.js").get_data(as_text=True)
    # The checksum the vendored script carries is the .wasm's: the two came from one package.
    carried = re.search(r"ZXING_WASM_SHA256=`([0-9a-f]{64})`", script)
    assert carried and carried.group(1) == hashlib.sha256(wasm.data).hexdigest()
    files = shell.shell_files()
    for path in (
        "js/scan.js",
        "js/scan_worker.js",
        "vendor/zxing-wasm/zxing-reader.js",
        "vendor/zxing-wasm/zxing_reader.wasm",
    ):
        assert path in files, path
    # Licences stay on the server, beside the code, not on every phone.
    assert "vendor/zxing-wasm/LICENSE.md" not in files
    assert client.get("/app/vendor/zxing-wasm/LICENSE.md").status_code == 404
