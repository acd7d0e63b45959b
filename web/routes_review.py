"""The review queue page: every open AI suggestion the caller may see, decided in bulk or edited one at a time.

Thin routes over `catalog.review` (the same service as `/api/v1/review`). Plain HTML forms, no JavaScript: the
checkboxes of a table belong to its bulk form through the `form` attribute (each row also holds an edit form, and
forms cannot nest). After a decision the page redirects back with the same filters and a notice of what was done;
the notice is rebuilt from a fixed vocabulary, so a crafted link cannot put words on the page.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from annotator.pii import LABELS
from catalog import descriptions, review, sources
from catalog.access import Actor
from catalog.deps import SESSION, get_actor
from catalog.errors import InvalidInput
from web.listing import parse_page
from web.routes import _page, require_same_origin

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
MAX_BACK = 3000
MAX_ITEM = 2200  # a JSON list of kind, dataset, column and label
PAST = {"accept": "accepted", "reject": "rejected"}
DONE = re.compile(r"(accepted|rejected|edited) ([0-9]{1,4})")
NOTHING = "none"


@dataclass(frozen=True)
class ReviewFilters:
    """The filters of /review as given (the service validates them); `page` counts from 1."""

    source: str | None = None
    dataset: str | None = None
    kind: str | None = None
    label: str | None = None
    page: int = 1
    mine: bool = False  # only what the caller may decide

    @classmethod
    def parse(cls, source: str | None, dataset: str | None, kind: str | None, label: str | None,
              page: str | None, mine: str | None = None) -> ReviewFilters:
        def text(value: str | None) -> str | None:
            return (value or "").strip() or None

        return cls(text(source), text(dataset), text(kind), text(label), parse_page(page), mine == "1")

    @classmethod
    def from_back(cls, back: str) -> ReviewFilters:
        """The filters a form was posted from (its `back` field); anything odd falls back to no filters."""
        given = {key: values[0] for key, values in parse_qs(back[:MAX_BACK]).items()}
        try:
            return cls.parse(given.get("source"), given.get("dataset"), given.get("kind"), given.get("label"),
                             given.get("page"), given.get("mine"))
        except InvalidInput:
            return cls()

    @property
    def offset(self) -> int:
        return (self.page - 1) * PER_PAGE

    @property
    def active(self) -> bool:
        return bool(self.source or self.dataset or self.kind or self.label or self.mine)

    def query(self, page: int | None = None) -> str:
        """The query string of these filters (page 1 left out), for links and for the forms' `back` field."""
        params = {k: v for k, v in (("source", self.source), ("dataset", self.dataset), ("kind", self.kind),
                                    ("label", self.label), ("mine", "1" if self.mine else None)) if v}
        number = self.page if page is None else page
        if number > 1:
            params["page"] = str(number)
        return urlencode(params)

    def url(self, page: int | None = None, done: str | None = None) -> str:
        query = self.query(page)
        if done:
            query = f"{query}&{urlencode({'done': done})}" if query else urlencode({"done": done})
        return "/review" + (f"?{query}" if query else "")


def notice(done: str | None) -> str | None:
    """What the last decision did, in words; only the shapes this module writes are shown."""
    if done == NOTHING:
        return "Nothing was selected: tick the suggestions to decide, then press Accept or Reject selected."
    match = DONE.fullmatch(done or "")
    if match is None:
        return None
    verb, count = match.group(1), int(match.group(2))
    if verb == "edited":
        return "Saved your description; it replaces the AI's suggestion."
    return f"{verb.capitalize()} {count} suggestion{'s' if count != 1 else ''}."


def pager(filters: ReviewFilters, total: int, window: int = 2) -> dict[str, Any]:
    """Links for `_pagination.html`; both tables share one page number, so `total` is the longer one."""
    pages = max(1, -(-total // PER_PAGE))
    low, high = max(1, filters.page - window), min(pages, filters.page + window)

    def link(page: int) -> str:
        return filters.url(page)

    return {
        "page": filters.page, "pages": pages, "total": total,
        "prev_url": link(filters.page - 1) if filters.page > 1 else None,
        "next_url": link(filters.page + 1) if filters.page < pages else None,
        "first_url": link(1) if low > 1 else None, "last_url": link(pages) if high < pages else None,
        "numbers": [{"page": n, "url": link(n), "current": n == filters.page} for n in range(low, high + 1)],
    }


def _queue(session: Session, actor: Actor, filters: ReviewFilters) -> dict[str, Any]:
    return review.suggestions(session, actor, source=filters.source, dataset=filters.dataset, kind=filters.kind,
                              label=filters.label, limit=PER_PAGE, offset=filters.offset,
                              decidable_only=filters.mine)


def _keyed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with the checkbox value naming it: JSON, so any character in a name survives the round trip."""
    def key(row: dict[str, Any]) -> str:
        return json.dumps([row["kind"], row["dataset"], row["column"], *([row["label"]] if "label" in row else [])],
                          ensure_ascii=False)

    return [{**row, "key": key(row)} for row in rows]


@router.get("/review")
def review_page(request: Request, source: str | None = None, dataset: str | None = None, kind: str | None = None,
                label: str | None = None, page: str | None = None, done: str | None = None,
                mine: str | None = None, session: Session = SESSION,
                actor: Actor = Depends(get_actor)) -> Response:
    """Open suggestions in two tables with bulk forms; a page past the end shows the last page instead.
    Rows the caller may not decide are listed without a checkbox (`mine=1` leaves them out)."""
    chosen = ReviewFilters.parse(source, dataset, kind, label, page, mine)
    queue = _queue(session, actor, chosen)
    longest = max(queue["totals"].values())
    links = pager(chosen, longest)
    if chosen.page > links["pages"]:  # decided items leave the queue, so a kept page number may run past the end
        chosen = replace(chosen, page=links["pages"])
        queue, links = _queue(session, actor, chosen), pager(chosen, longest)
    return _page(request, "review.html", "review", filters=chosen, queue=queue, pager=links,
                 descriptions=_keyed(queue["descriptions"]), labels=_keyed(queue["labels"]),
                 back=chosen.query(), notice=notice(done), label_names=LABELS, kinds=review.KINDS,
                 source_names=[s["name"] for s in sources.list_sources(session, actor)])


def _item(value: str, number: int) -> review.Item:
    """A checkbox value back into an item; anything else is a form this page did not render."""
    try:
        parts = json.loads(value) if len(value) <= MAX_ITEM else None
    except ValueError:
        parts = None
    if not isinstance(parts, list) or not 3 <= len(parts) <= 4 or not all(isinstance(p, str) for p in parts):
        raise InvalidInput(f"item {number} is not a suggestion from the review page")
    return review.Item(*parts)


@router.post("/review/decisions")
def decide_selected(request: Request, decision: str = Form(max_length=20), item: list[str] = Form([]),
                    back: str = Form("", max_length=MAX_BACK), session: Session = SESSION,
                    actor: Actor = Depends(get_actor)) -> Response:
    """Accept or reject every ticked suggestion at once (all or nothing), then show the queue again."""
    require_same_origin(request)
    filters = ReviewFilters.from_back(back)
    if decision not in PAST:
        raise InvalidInput(f"decision '{decision}' is not one of {', '.join(PAST)}")
    if not item:
        return RedirectResponse(filters.url(done=NOTHING), status_code=303)
    if len(item) > review.MAX_BATCH:
        raise InvalidInput(f"items: a batch holds at most {review.MAX_BATCH} suggestions")
    result = review.decide_many(session, actor, [_item(v, n) for n, v in enumerate(item, start=1)], decision)
    return RedirectResponse(filters.url(done=f"{PAST[decision]} {result['decided']}"), status_code=303)


@router.post("/review/edit")
def edit_description(request: Request, dataset: str = Form(max_length=review.MAX_NAME),
                     column: str = Form("", max_length=review.MAX_NAME),
                     text: str = Form(max_length=descriptions.MAX_TEXT), back: str = Form("", max_length=MAX_BACK),
                     session: Session = SESSION, actor: Actor = Depends(get_actor)) -> Response:
    """Replace one suggested description with a person's text, then show the queue again."""
    require_same_origin(request)
    review.decide_many(session, actor, [review.Item("description", dataset, column)], "edit", text)
    return RedirectResponse(ReviewFilters.from_back(back).url(done="edited 1"), status_code=303)
