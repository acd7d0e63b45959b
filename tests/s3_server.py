"""An S3 server for tests: moto's server mode in a thread, over real HTTP, with a spy that records object reads.

Shared by the object-store crawl and sampling tests. `running_moto` sets test credentials in the environment
(boto3's usual chain), as the catalog refuses plain secrets in source options.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

DENIED = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied'
          b"</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>")


class ServerSpy:
    """WSGI middleware in front of moto: records each object GET (path, Range header, body bytes) and answers
    403 AccessDenied, as S3 does when the credentials do not allow a read, for the paths in `denied`. It sits on
    the server side, so it sees what any client implementation really asks for."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.denied: set[str] = set()  # "/bucket/key"
        self.gets: list[list[Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        if environ["REQUEST_METHOD"] != "GET" or path.count("/") < 2:  # not an object read (a listing, a PUT)
            return self.app(environ, start_response)
        if path in self.denied:
            start_response("403 Forbidden", [("Content-Type", "application/xml"),
                                             ("Content-Length", str(len(DENIED)))])
            return [DENIED]
        record = [path, environ.get("HTTP_RANGE"), 0]
        self.gets.append(record)
        return self._counted(self.app(environ, start_response), record)

    @staticmethod
    def _counted(body: Any, record: list[Any]) -> Iterator[bytes]:
        try:
            for chunk in body:
                record[2] += len(chunk)
                yield chunk
        finally:
            if hasattr(body, "close"):
                body.close()

    def reads_of(self, path: str) -> list[tuple[str | None, int]]:
        return [(r[1], r[2]) for r in self.gets if r[0] == path]


def start_server() -> tuple[ThreadedMotoServer, str, ServerSpy]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    # The werkzeug server looks its application up per request: put the spy in front of moto's.
    spy = ServerSpy(server._server.app)  # type: ignore[union-attr]
    server._server.app = spy  # type: ignore[union-attr]
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}", spy


@contextmanager
def running_moto() -> Iterator[tuple[str, ServerSpy]]:
    """A moto server and its spy, with test credentials in the environment while it runs: (endpoint, spy)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.delenv("AWS_SESSION_TOKEN", raising=False)
        patch.delenv("AWS_PROFILE", raising=False)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log lines
        server, url, spy = start_server()
        try:
            yield url, spy
        finally:
            server.stop()
