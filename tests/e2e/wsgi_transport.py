"""A requests adapter that hands requests to the real app in-process, optionally dropping them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from flask import Flask
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

BEFORE = "before"  # lost on the way: the server never sees it
AFTER = "after"  # the server commits, the answer is lost


class WsgiAdapter(BaseAdapter):
    """Real app, real SQLite; only the socket is skipped so a property test can run thousands."""

    def __init__(
        self, app: Flask, interrupt: Callable[[requests.PreparedRequest], str | None]
    ) -> None:
        super().__init__()
        self.client = app.test_client()
        self.interrupt = interrupt

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        fault = self.interrupt(request)
        if fault == BEFORE:
            raise requests.ConnectionError("dropped before the server")
        path = request.path_url
        answer = self.client.open(
            path, method=request.method, headers=dict(request.headers), data=request.body or b""
        )
        if fault == AFTER:
            raise requests.ConnectionError("dropped after the server answered")
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = CaseInsensitiveDict(answer.headers)
        body = answer.get_data()
        if response.headers.get("Content-Encoding") == "gzip":
            import gzip

            body = gzip.decompress(body)
            del response.headers["Content-Encoding"]
        response._content = body
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        return None


def session_for(
    app: Flask, interrupt: Callable[[requests.PreparedRequest], str | None]
) -> requests.Session:
    session = requests.Session()
    session.mount("http://app", WsgiAdapter(app, interrupt))
    return session
