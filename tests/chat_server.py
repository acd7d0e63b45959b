"""A real OpenAI-compatible chat-completions server for tests: http.server in a thread, on a free loopback port.

Why written here rather than a mock: the backend's HTTP behaviour (timeouts, Retry-After, bearer auth, concurrency)
is only proven against a socket. Each test scripts the replies with a function of (call number, request body);
the server records every request (headers and JSON body) and the peak number of requests in flight.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """What the server sends back: a chat completion whose content is `content`, or a raw `body` with `status`."""

    content: str | None = None
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


Script = Callable[[int, dict[str, Any]], Reply]


def data_document(request: dict[str, Any]) -> dict[str, Any]:
    """The JSON document inside the user message's <data> block."""
    user = next(m["content"] for m in request["messages"] if m["role"] == "user")
    start = user.index("<data>\n") + len("<data>\n")
    end = user.index("\n</data>", start)
    return json.loads(user[start:end])


def valid_reply(request: dict[str, Any]) -> Reply:
    """A well-formed answer for whatever the request asked (columns or a table)."""
    document = data_document(request)
    if "describe" in document:
        columns = {n: {"description": f"Describes {n}.", "confidence": 0.8} for n in document["describe"]}
        return Reply(json.dumps({"columns": columns}))
    return Reply(json.dumps({"description": f"Table {document['dataset']}.", "confidence": 0.7}))


@dataclass
class ChatServer:
    script: Script
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    raw_bodies: list[bytes] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, headers: dict[str, str], raw: bytes) -> Reply:
        with self.lock:
            number = len(self.requests)
            request = json.loads(raw)
            self.requests.append(request)
            self.headers.append(headers)
            self.raw_bodies.append(raw)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            reply = self.script(number, request)
            if reply.delay_s:
                time.sleep(reply.delay_s)
            return reply
        finally:
            with self.lock:
                self.in_flight -= 1


def _handler(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path.rstrip("/") != "/v1/chat/completions":
                return self._send(404, {"error": {"message": "not found"}}, {})
            reply = server.handle({k.lower(): v for k, v in self.headers.items()}, raw)
            if reply.body is not None or reply.status != 200:
                return self._send(reply.status, reply.body or {"error": {"message": "scripted"}}, reply.headers)
            completion = {
                "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": "test",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": reply.content}}],
            }
            self._send(200, completion, reply.headers)

        def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                pass

        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

    return Handler


@contextmanager
def chat_server(script: Script = lambda number, request: valid_reply(request)) -> Iterator[ChatServer]:
    """A running server; its `url` is the base URL a client uses (`http://127.0.0.1:PORT/v1`)."""
    state = ChatServer(script)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
