"""Query parameters of the dataset list page, and its pagination links.

Why parse by hand instead of letting FastAPI type the parameters: FastAPI answers a bad `page=x` with a JSON
422, but a person using the pages should get an HTML 400 naming the field; `InvalidInput` gives exactly that
through the app's error handler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from catalog.errors import InvalidInput

PER_PAGE = 50
MAX_PAGE_NUMBER = 100_000
MAX_QUERY = 200
TRUE = {"1", "true", "on", "yes"}
FALSE = {"0", "false", "off", "no"}


def _shown(value: str, limit: int = 40) -> str:
    """A bad value quoted back to the user, cut short so an error page stays readable."""
    return value if len(value) <= limit else value[:limit] + "…"


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def parse_flag(value: str | None, field: str) -> bool:
    if value is None or not value.strip():
        return False
    lowered = value.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise InvalidInput(f"{field} must be true or false, not '{_shown(value)}'")


def parse_page(value: str | None) -> int:
    if value is None or not value.strip():
        return 1
    try:
        page = int(value)
    except ValueError:
        raise InvalidInput(f"page must be a whole number, not '{_shown(value)}'") from None
    if not 1 <= page <= MAX_PAGE_NUMBER:
        raise InvalidInput(f"page must be between 1 and {MAX_PAGE_NUMBER:,}")
    return page


@dataclass(frozen=True)
class DatasetFilters:
    """The filters of /datasets, validated; `kind` is checked by the service itself."""

    q: str | None = None
    source: str | None = None
    kind: str | None = None
    include_deleted: bool = False
    page: int = 1

    @classmethod
    def parse(cls, q: str | None, source: str | None, kind: str | None, include_deleted: str | None,
              page: str | None) -> DatasetFilters:
        query = _text(q)
        if query and len(query) > MAX_QUERY:
            raise InvalidInput(f"q must be at most {MAX_QUERY} characters")
        return cls(q=query, source=_text(source), kind=_text(kind),
                   include_deleted=parse_flag(include_deleted, "include_deleted"), page=parse_page(page))

    @property
    def offset(self) -> int:
        return (self.page - 1) * PER_PAGE

    @property
    def active(self) -> bool:
        return bool(self.q or self.source or self.kind or self.include_deleted)

    def url(self, page: int = 1) -> str:
        """The list URL with these filters and the given page (page 1 is left out to keep links short)."""
        params: dict[str, str] = {}
        for key in ("q", "source", "kind"):
            if getattr(self, key):
                params[key] = getattr(self, key)
        if self.include_deleted:
            params["include_deleted"] = "true"
        if page > 1:
            params["page"] = str(page)
        return "/datasets" + ("?" + urlencode(params) if params else "")


def pagination(filters: DatasetFilters, total: int, window: int = 2) -> dict[str, Any]:
    """Links for previous/next and the page numbers around the current one, all keeping the filters."""
    pages = max(1, -(-total // PER_PAGE))
    current = filters.page
    low, high = max(1, current - window), min(pages, current + window)
    return {
        "page": current,
        "pages": pages,
        "total": total,
        "first": filters.offset + 1 if total else 0,
        "last": min(filters.offset + PER_PAGE, total),
        "prev_url": filters.url(current - 1) if current > 1 else None,
        "next_url": filters.url(current + 1) if current < pages else None,
        "first_url": filters.url(1) if low > 1 else None,
        "last_url": filters.url(pages) if high < pages else None,
        "numbers": [{"page": n, "url": filters.url(n), "current": n == current} for n in range(low, high + 1)],
    }
