"""The `openai` description backend: any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp's
server, Ollama, LiteLLM, ...).

Why it is built this way:
- Several columns go in one request (`batch_size`), because per-request overhead and the table context dominate.
- A process-wide limit on requests in flight (`concurrency`) protects the endpoint's rate limits even when the
  annotator calls from several worker threads at once; the limit is held only while a request is on the wire, never
  while backing off.
- Timeouts, 429/5xx and replies that break the strict JSON format are retried with exponential backoff and jitter
  (Retry-After wins when the server sends it); after the last try a `BackendError` names what was wrong, and the
  caller falls back to the rules backend and records that it did.
- The API key is read from an environment variable, sent only as a bearer token and scrubbed from every message.
- Text leaves the machine: besides the caller's masking, examples and profile values of any column with PII labels
  are dropped here before sending (defence in depth).
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from annotator.describe.base import BackendError, Description, TableBrief
from annotator.describe.prompts import (
    InvalidReply,
    columns_messages,
    parse_columns_reply,
    parse_table_reply,
    table_messages,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_S = 120.0


class _Retryable(Exception):
    """One failed attempt worth repeating; `wait_s` is the server's Retry-After when it sent one."""

    def __init__(self, reason: str, wait_s: float | None = None) -> None:
        super().__init__(reason)
        self.wait_s = wait_s


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date (RFC 9110); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, min(float(value), MAX_RETRY_AFTER_S))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(when.timestamp() - time.time(), MAX_RETRY_AFTER_S))


def endpoint_configured() -> bool:
    """For the registry: an endpoint is configured the way OpenAI's own clients read it (OPENAI_BASE_URL or
    OPENAI_API_KEY); without either, calling the public API would only fail."""
    return bool(os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY"))


class OpenAIBackend:
    """Descriptions from an OpenAI-compatible endpoint. Thread-safe: one httpx client and one semaphore per backend."""

    name = "openai"
    remote = True

    def __init__(
        self,
        base_url: str | None = None,
        model: str = "gpt-4o-mini",
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 60.0,
        retries: int = 3,
        batch_size: int = 20,
        concurrency: int = 4,
        backoff_s: float = 0.5,
        max_tokens: int | None = 4096,
    ) -> None:
        if batch_size < 1 or concurrency < 1 or retries < 0 or timeout_s <= 0:
            raise ValueError("batch_size and concurrency must be >= 1, retries >= 0 and timeout_s > 0")
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")
        self.api_key_env = api_key_env
        self.timeout_s = float(timeout_s)
        self.retries = int(retries)
        self.batch_size = int(batch_size)
        self.concurrency = int(concurrency)
        self.backoff_s = float(backoff_s)
        self.max_tokens = int(max_tokens) if max_tokens else None  # None: not sent (servers that reject it)
        self._key = os.environ.get(api_key_env) or None
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._json_mode = True  # switched off once if the server rejects response_format
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.timeout_s),
            headers=headers,
            limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
        )

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAIBackend(base_url={self.base_url!r}, model={self.model!r})"

    def close(self) -> None:
        self._client.close()

    # -- the Backend protocol --------------------------------------------------------------------------------------

    def describe_columns(self, table: TableBrief, names: Sequence[str]) -> dict[str, Description]:
        """Describe `names` in batches of `batch_size`, at most `concurrency` requests in flight. Any batch that
        still fails after its retries fails the call (the caller falls back to rules for the whole table)."""
        known = {c.name for c in table.columns}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"{len(unknown)} column(s) not in the table brief, e.g. {unknown[0]!r}")
        wanted = list(dict.fromkeys(names))
        batches = [wanted[i : i + self.batch_size] for i in range(0, len(wanted), self.batch_size)]
        if not batches:
            return {}
        if len(batches) == 1:
            return self._describe_batch(table, batches[0])
        result: dict[str, Description] = {}
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(batches))) as pool:
            for part in pool.map(lambda batch: self._describe_batch(table, batch), batches):
                result.update(part)
        return result

    def describe_table(self, table: TableBrief, column_texts: Mapping[str, str]) -> Description:
        messages = table_messages(table, column_texts, self.remote)
        return self._with_retries(lambda: parse_table_reply(self._complete(messages)), f"table {table.dataset}")

    # -- internals -------------------------------------------------------------------------------------------------

    def _describe_batch(self, table: TableBrief, names: list[str]) -> dict[str, Description]:
        messages = columns_messages(table, names, self.remote)
        what = f"{len(names)} column(s) of {table.dataset}"
        return self._with_retries(lambda: parse_columns_reply(self._complete(messages), names), what)

    def _with_retries(self, attempt: Callable[[], T], what: str) -> T:
        """Run `attempt` up to 1 + retries times; invalid replies count against the same budget as HTTP errors."""
        last = "no attempt made"
        for number in range(self.retries + 1):
            try:
                return attempt()
            except InvalidReply as exc:
                last, wait = f"invalid reply: {exc}", None
            except _Retryable as exc:
                last, wait = str(exc), exc.wait_s
            if number < self.retries:
                delay = wait if wait is not None else self._backoff(number)
                log.info("openai backend: %s for %s; retry %d in %.1fs", self._redact(last), what, number + 1, delay)
                time.sleep(delay)
        raise BackendError(self._redact(f"{self.model} at {self.base_url} failed for {what} after "
                                        f"{self.retries + 1} attempt(s): {last}"))

    def _backoff(self, number: int) -> float:
        """Exponential backoff with full jitter: spreads retries of many worker threads apart."""
        return random.uniform(0, min(MAX_BACKOFF_S, self.backoff_s * (2**number)))  # noqa: S311 (not crypto)

    def _complete(self, messages: list[dict[str, str]]) -> Any:
        """One chat-completions request; returns the first choice's message content."""
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": 0}
        if self.max_tokens:
            body["max_tokens"] = self.max_tokens
        if self._json_mode:
            body["response_format"] = {"type": "json_object"}
        with self._slots:
            try:
                response = self._client.post(f"{self.base_url}/chat/completions", json=body)
            except httpx.TimeoutException:
                raise _Retryable(f"timed out after {self.timeout_s:g}s") from None
            except httpx.TransportError as exc:
                raise _Retryable(f"connection failed ({type(exc).__name__})") from None
        return self._content(response, body)

    def _content(self, response: httpx.Response, body: dict[str, Any]) -> Any:
        status = response.status_code
        if status in RETRYABLE_STATUS:
            raise _Retryable(f"HTTP {status}", retry_after_seconds(response.headers.get("retry-after")))
        if status == 400 and self._json_mode and "response_format" in response.text:
            self._json_mode = False  # an older server that rejects JSON mode: ask again without it
            raise _Retryable("server does not support response_format; retrying without it", 0.0)
        if status >= 400:
            snippet = " ".join(response.text.split())[:200]
            raise BackendError(self._redact(f"{self.model} at {self.base_url}: HTTP {status}: {snippet}"))
        try:
            payload = response.json()
            return payload["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise InvalidReply("response is not a chat completion") from None

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text
