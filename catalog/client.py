"""The Python client of a running catalog: `from catalog.client import Client`.

It speaks the JSON API (`/api/v1/...`) over HTTP with a bearer token, so programs use exactly what the web UI and
the CLI use, under the same access rules. Errors come back as `ClientError` carrying the server's one-line message
and status. Fetching pinned dataset versions (`get`, `versions`) arrives with dataset versions.
"""

from __future__ import annotations

from typing import Any

import httpx


class ClientError(Exception):
    """The catalog refused or failed a request; `status` is the HTTP status (0 when it could not be reached)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Client:
    """A connection to one catalog server; thread-safe (httpx clients are), reuse one per program."""

    def __init__(self, url: str, token: str | None = None, timeout_s: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout_s)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            response = self._http.get(path, params={k: v for k, v in (params or {}).items() if v is not None})
        except httpx.HTTPError as exc:
            raise ClientError(f"cannot reach the catalog at {self._http.base_url}: {type(exc).__name__}", 0) from None
        if response.status_code >= 400:
            try:
                message = response.json().get("error") or response.text
            except ValueError:
                message = response.text
            raise ClientError(str(message)[:500], response.status_code)
        return response.json()

    def search(self, query: str, limit: int = 10, *, source: str | None = None, kind: str | None = None,
               pii: bool | None = None, mode: str = "hybrid") -> list[dict[str, Any]]:
        """Datasets and columns matching `query`, best first (each with `dataset`, `column`, `score`, `why`)."""
        params = {"q": query, "limit": limit, "source": source, "kind": kind, "mode": mode,
                  "pii": None if pii is None else str(pii).lower()}
        return self._get("/api/v1/search", params)["results"]

    def dataset(self, name: str) -> dict[str, Any]:
        """One dataset as `catalog show --json` prints it."""
        from urllib.parse import quote

        return self._get("/api/v1/datasets/" + quote(name, safe="/"))
