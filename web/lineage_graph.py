"""A lineage graph laid out on the server, as plain numbers that a Jinja partial draws as SVG.

Why on the server: the pages ship no JavaScript and nothing from a CDN, and a layered left-to-right drawing is
small enough to compute here (longest-path layers, a few barycenter sweeps, Bezier edges). Why plain data: the
template `_lineage_graph.html` renders every label through autoescaping, so no markup is ever built from node
names here; this module only decides where things go and which CSS classes they get.

Input nodes are dicts `{"id", "kind", "label", "sublabel", "href", "status"}` and edges are dicts
`{"source", "target", "label"}` meaning data flows from source to target. Everything is deterministic: the same
input always gives the same drawing (ties are broken by node id), so pages and tests are stable.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

NODE_W = 190
NODE_H = 44
GAP_X = 96  # room between columns for curves and short edge labels
GAP_Y = 24  # room between stacked nodes; long edges run through these gaps
MARGIN_X = 56  # leaves space for the loops of cycle edges on the right
MARGIN_Y = 36
PAD_X = 10
LABEL_PX = 7.4  # rough advance of one character at the label's 13px; wide (CJK) characters count twice
SUBLABEL_PX = 6.3  # the same at the sublabel's 11px
EDGE_LABEL_CHARS = 14
SWEEPS = 4

KIND_NAMES = {
    "version": "Dataset version",
    "dataset": "Dataset",
    "run": "Training run",
    "model": "Model",
    "column": "Column",
    "external": "External",
}
STATUS_NAMES = {
    "retrain_recommended": "retrain recommended",
    "no_retrain_needed": "no retrain needed",
    "failed": "failed",
}
_TOKEN = re.compile(r"[^a-z0-9_-]+")
_UNSAFE_HREF = re.compile(r"[\x00-\x20\x7f\\]")


@dataclass(frozen=True)
class PositionedNode:
    """One node box: top-left corner, size, texts cut to fit (full texts kept for the tooltip) and classes."""

    id: str
    kind: str
    layer: int
    x: float
    y: float
    w: float
    h: float
    label: str
    full_label: str
    sublabel: str | None
    full_sublabel: str | None
    href: str | None
    status: str | None
    status_name: str | None
    kind_name: str
    classes: str
    title: str
    focus: bool


@dataclass(frozen=True)
class PositionedEdge:
    """One edge: an SVG path `d` (ending at the target's left side, where the arrowhead goes) and its label.

    `back` marks an edge dropped to break a cycle; it is drawn as a dashed loop and may point leftwards.
    """

    source: str
    target: str
    d: str
    label: str | None
    full_label: str | None
    label_x: float
    label_y: float
    classes: str
    back: bool
    focus: bool


@dataclass(frozen=True)
class GraphLayout:
    """Everything the partial needs: canvas size, positioned nodes and edges, and the kinds present (legend)."""

    width: float
    height: float
    nodes: tuple[PositionedNode, ...] = ()
    edges: tuple[PositionedEdge, ...] = ()
    kinds: tuple[tuple[str, str], ...] = ()  # (css token, display name), for the legend
    statuses: tuple[tuple[str, str], ...] = ()
    focus: str | None = None

    @cached_property
    def _by_id(self) -> dict[str, PositionedNode]:
        return {n.id: n for n in self.nodes}

    def node(self, node_id: str) -> PositionedNode:
        """A node by id, for the template's text fallback ("A → B")."""
        return self._by_id[node_id]

    @property
    def isolated(self) -> tuple[PositionedNode, ...]:
        """Nodes without any edge: the text fallback still lists them."""
        linked = {e.source for e in self.edges} | {e.target for e in self.edges}
        return tuple(n for n in self.nodes if n.id not in linked)


def safe_href(href: Any) -> str | None:
    """A same-site relative URL ('/datasets/x'), or None.

    Why so strict: hrefs may be built from crawled names; anything with a scheme (`javascript:`), a host
    (`//evil`), a backslash (browsers read `/\\evil` as `//evil`) or whitespace/control characters is dropped.
    """
    if not isinstance(href, str) or not href.startswith("/") or href.startswith("//"):
        return None
    if _UNSAFE_HREF.search(href):
        return None
    return href


def _token(value: Any, default: str) -> str:
    """A CSS-class-safe token from a kind or status, so data can never inject extra classes."""
    text = _TOKEN.sub("-", str(value or "").lower()).strip("-")[:40]
    return text or default


def _width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def truncate(text: str, px: float, char_px: float) -> str:
    """`text` cut with '…' so it fits `px` pixels, measuring wide characters as two (a fixed-size box)."""
    budget = int(px // char_px)
    if sum(_width(c) for c in text) <= budget:
        return text
    out, used = [], 1  # one unit for the ellipsis
    for ch in text:
        used += _width(ch)
        if used > budget:
            break
        out.append(ch)
    return "".join(out).rstrip() + "…"


def _num(value: float) -> str:
    """Coordinates with at most one decimal, so the SVG stays short and byte-identical between runs."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _break_cycles(ids: list[str], succ: dict[str, list[str]]) -> tuple[set[tuple[str, str]], list[str]]:
    """Back edges of an iterative DFS in sorted id order, and the discovery order.

    Why iterative: a long chain must not hit Python's recursion limit. Removing the back edges leaves a DAG.
    """
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    back: set[tuple[str, str]] = set()
    order: list[str] = []
    for root in ids:
        if root in state:
            continue
        state[root] = 1
        order.append(root)
        stack = [(root, iter(succ[root]))]
        while stack:
            node, children = stack[-1]
            for child in children:
                seen = state.get(child)
                if seen == 1:
                    back.add((node, child))
                elif seen is None:
                    state[child] = 1
                    order.append(child)
                    stack.append((child, iter(succ[child])))
                    break
            else:
                state[node] = 2
                stack.pop()
    return back, order


def _layers(order: list[str], succ: dict[str, list[str]], pred: dict[str, list[str]]) -> dict[str, int]:
    """Longest path from the sources (Kahn's algorithm over the acyclic edges): each edge goes rightwards."""
    indegree = {n: len(pred[n]) for n in order}
    layer = dict.fromkeys(order, 0)
    ready = [n for n in order if indegree[n] == 0]
    while ready:
        node = ready.pop()
        for child in succ[node]:
            layer[child] = max(layer[child], layer[node] + 1)
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    return layer


def _crossings(columns: list[list[str]], succ: dict[str, list[str]], layer: dict[str, int]) -> int:
    """Crossings between neighbouring columns (long edges ignored): the score that picks the best sweep."""
    rank = {n: i for c in columns for i, n in enumerate(c)}
    total = 0
    for col in columns[:-1]:
        pairs = [(rank[u], rank[v]) for u in col for v in succ[u] if layer[v] == layer[u] + 1]
        for i, (a, b) in enumerate(pairs):
            total += sum(1 for c, d in pairs[i + 1:] if (a - c) * (b - d) < 0)
    return total


def _order(columns: list[list[str]], succ: dict[str, list[str]], pred: dict[str, list[str]],
           layer: dict[str, int]) -> list[list[str]]:
    """A few down/up barycenter sweeps; keeps the ordering with the fewest crossings (ties: the earliest).

    Positions are centred per column, because the drawing centres every column vertically; a node with no
    neighbour on the reference side keeps its place. Ties are broken by id, so the result is deterministic.
    """
    best, best_score = [list(c) for c in columns], _crossings(columns, succ, layer)
    current = [list(c) for c in columns]
    for sweep in range(2 * SWEEPS):
        down = sweep % 2 == 0
        pos = {n: i - (len(c) - 1) / 2 for c in current for i, n in enumerate(c)}
        indexes = range(1, len(current)) if down else range(len(current) - 2, -1, -1)
        for li in indexes:
            col = current[li]
            keys = {}
            for n in col:
                near = pred[n] if down else succ[n]
                keys[n] = sum(pos[m] for m in near) / len(near) if near else pos[n]
            col.sort(key=lambda n: (keys[n], n))
            pos.update({n: i - (len(col) - 1) / 2 for i, n in enumerate(col)})
        score = _crossings(current, succ, layer)
        if score < best_score:
            best, best_score = [list(c) for c in current], score
    return best


def _free_y(ideal: float, tops: list[float]) -> float:
    """The y nearest `ideal` where a horizontal line crosses a column without touching a node box."""
    if all(ideal < t - GAP_Y / 4 or ideal > t + NODE_H + GAP_Y / 4 for t in tops):
        return ideal
    candidates = [tops[0] - GAP_Y / 2] + [t + NODE_H + GAP_Y / 2 for t in tops]
    return min(candidates, key=lambda c: (abs(c - ideal), c))


def _curve(x0: float, y0: float, x1: float, y1: float) -> str:
    """A cubic with horizontal tangents at both ends, so consecutive pieces join smoothly."""
    mid = (x0 + x1) / 2
    return f"C{_num(mid)},{_num(y0)} {_num(mid)},{_num(y1)} {_num(x1)},{_num(y1)}"


def _node(data: Mapping[str, Any], node_id: str, layer: int, at: tuple[float, float],
          focus: str | None) -> PositionedNode:
    """One input node as a box: texts cut to fit, kind and status as CSS classes (never inline colours)."""
    kind = _token(data.get("kind"), "other")
    status = _token(data.get("status"), "") or None
    full = str(data.get("label") or node_id)
    sub = data.get("sublabel")
    sub = str(sub) if sub not in (None, "") else None
    classes = ["lg-node", f"lg-kind-{kind}"] + ([f"lg-status-{status}"] if status else [])
    if node_id == focus:
        classes.append("lg-focus")
    kind_name = KIND_NAMES.get(kind, kind.replace("_", " "))
    status_name = STATUS_NAMES.get(status, status.replace("_", " ")) if status else None
    title = "\n".join(filter(None, [full, sub, kind_name + (f" · {status_name}" if status_name else "")]))
    return PositionedNode(
        id=node_id, kind=kind, layer=layer, x=at[0], y=at[1], w=NODE_W, h=NODE_H,
        label=truncate(full, NODE_W - 2 * PAD_X, LABEL_PX), full_label=full,
        sublabel=truncate(sub, NODE_W - 2 * PAD_X, SUBLABEL_PX) if sub else None, full_sublabel=sub,
        href=safe_href(data.get("href")), status=status, status_name=status_name, kind_name=kind_name,
        classes=" ".join(classes), title=title, focus=node_id == focus,
    )


def _edge(s: str, t: str, text: str | None, is_back: bool, where: dict[str, tuple[float, float]],
          layer: dict[str, int], col_x: list[float], col_tops: list[list[float]],
          focus: str | None) -> PositionedEdge:
    """One edge as an SVG path from the source's right side to the target's left side.

    Forward edges cross each column in between along the free gap nearest the straight line, so no node box
    is drawn over. Cycle edges loop out of the source's right side, over the top, into the target's left side.
    Every control point stays inside the canvas, so each curve (inside their convex hull) does too.
    """
    (sx, sy), (tx, ty) = where[s], where[t]
    x0, y0, x1, y1 = sx + NODE_W, sy + NODE_H / 2, tx, ty + NODE_H / 2
    if is_back:
        lift = max(4.0, min(y0, y1) - NODE_H)
        d = (f"M{_num(x0)},{_num(y0)} C{_num(x0 + MARGIN_X - 8)},{_num(lift)} "
             f"{_num(x1 - MARGIN_X + 8)},{_num(lift)} {_num(x1)},{_num(y1)}")
        lx, ly = (x0 + x1) / 2, lift + (min(y0, y1) - lift) * 0.25
    else:
        parts, cx, cy, first_y = [f"M{_num(x0)},{_num(y0)}"], x0, y0, y1
        for li in range(layer[s] + 1, layer[t]):
            mid_x = col_x[li] + NODE_W / 2
            gy = _free_y(y0 + (y1 - y0) * (mid_x - x0) / (x1 - x0), col_tops[li])
            parts.append(_curve(cx, cy, col_x[li], gy))
            parts.append(f"L{_num(col_x[li] + NODE_W)},{_num(gy)}")
            first_y = gy if li == layer[s] + 1 else first_y
            cx, cy = col_x[li] + NODE_W, gy
        parts.append(_curve(cx, cy, x1, y1))
        d = " ".join(parts)
        lx, ly = (x0 + col_x[layer[s] + 1]) / 2, (y0 + first_y) / 2  # middle of the first piece
    touches = focus in (s, t)
    classes = ["lg-edge"] + (["lg-edge-back"] if is_back else []) + (["lg-edge-focus"] if touches else [])
    return PositionedEdge(
        source=s, target=t, d=d, label=truncate(text, EDGE_LABEL_CHARS * 6.0, 6.0) if text else None,
        full_label=text, label_x=round(lx, 1), label_y=round(ly - 4, 1), classes=" ".join(classes),
        back=is_back, focus=touches,
    )


def layout(nodes: Iterable[Mapping[str, Any]], edges: Iterable[Mapping[str, Any]],
           focus: str | None = None) -> GraphLayout:
    """Lay out a lineage graph left to right: layers by longest path, rows by barycenter, Bezier edges.

    Defensive about its input: duplicate node ids keep the first, edges to unknown nodes and duplicate edges are
    dropped, cycles are broken by ignoring DFS back edges (drawn dashed). An empty graph gives an empty layout,
    which the partial shows as a sentence rather than a blank canvas.
    """
    raw: dict[str, Mapping[str, Any]] = {}
    for n in nodes:
        raw.setdefault(str(n["id"]), n)
    ids = sorted(raw)
    if not ids:
        return GraphLayout(width=0, height=0)

    edge_labels: dict[tuple[str, str], str | None] = {}
    for e in edges:
        key = (str(e["source"]), str(e["target"]))
        if key[0] in raw and key[1] in raw:
            if not edge_labels.get(key):
                edge_labels[key] = str(e.get("label") or "") or None
    all_succ: dict[str, list[str]] = {n: [] for n in ids}
    for s, t in sorted(edge_labels):
        all_succ[s].append(t)
    back, order = _break_cycles(ids, all_succ)
    succ: dict[str, list[str]] = {n: [] for n in ids}
    pred: dict[str, list[str]] = {n: [] for n in ids}
    for s, t in sorted(edge_labels):
        if (s, t) not in back:
            succ[s].append(t)
            pred[t].append(s)

    layer = _layers(order, succ, pred)
    columns: list[list[str]] = [[] for _ in range(max(layer.values()) + 1)]
    for n in order:  # DFS discovery order is a better start than plain ids: children stay near their parent
        columns[layer[n]].append(n)
    columns = _order(columns, succ, pred, layer)

    tallest = max(len(c) for c in columns)
    step = NODE_H + GAP_Y
    height = 2 * MARGIN_Y + tallest * step - GAP_Y
    width = 2 * MARGIN_X + len(columns) * (NODE_W + GAP_X) - GAP_X
    col_x = [MARGIN_X + i * (NODE_W + GAP_X) for i in range(len(columns))]
    col_tops: list[list[float]] = []
    where: dict[str, tuple[float, float]] = {}
    for i, col in enumerate(columns):
        top = MARGIN_Y + (tallest - len(col)) * step / 2
        col_tops.append([top + j * step for j in range(len(col))])
        for j, n in enumerate(col):
            where[n] = (col_x[i], top + j * step)

    placed = tuple(_node(raw[n], n, layer[n], where[n], focus) for n in ids)
    drawn = tuple(_edge(s, t, text, (s, t) in back, where, layer, col_x, col_tops, focus)
                  for (s, t), text in sorted(edge_labels.items()))
    kinds_seen = {n.kind for n in placed}
    kinds = tuple((k, KIND_NAMES[k]) for k in KIND_NAMES if k in kinds_seen) + tuple(
        (k, k.replace("_", " ")) for k in sorted(kinds_seen - KIND_NAMES.keys()))
    statuses = tuple(sorted({(n.status, n.status_name) for n in placed if n.status and n.status_name}))
    return GraphLayout(width=width, height=height, nodes=placed, edges=drawn, kinds=kinds,
                       statuses=statuses, focus=focus if focus in raw else None)
