"""The server-side lineage graph: layout geometry, determinism, cycles, and the partial's escaping and fallbacks.

Rendered for real through Jinja with autoescaping, as the pages do: node names are crawled, hostile input.
"""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jinja2
import pytest

from web.lineage_graph import GraphLayout, PositionedNode, layout, safe_href, truncate

TEMPLATES = Path(__file__).resolve().parents[1] / "web" / "templates"
KINDS = ["version", "dataset", "run", "model", "column", "external"]


def render(graph: GraphLayout, **context: Any) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    return env.get_template("_lineage_graph.html").render(graph=graph, **context)


def svg_of(html: str) -> ET.Element:
    """The <svg> element parsed as XML: proves the markup is well formed after escaping."""
    match = re.search(r"<svg class=\"lg-svg\".*?</svg>", html, re.DOTALL)
    assert match, "no SVG rendered"
    return ET.fromstring(match.group(0))


def node(node_id: str, kind: str = "dataset", **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, "label": extra.pop("label", node_id), "sublabel": None, "href": None,
            "status": None, **extra}


def edge(source: str, target: str, label: str | None = None) -> dict[str, Any]:
    return {"source": source, "target": target, "label": label}


def random_dag(count: int = 60, seed: int = 7) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    nodes = [node(f"n{i:02d}", KINDS[i % len(KINDS)], label=f"node number {i} with a fairly long name",
                  sublabel=f"v{i}", href=f"/datasets/n{i}") for i in range(count)]
    edges = []
    for j in range(1, count):
        for i in rng.sample(range(j), k=min(j, rng.choice([1, 1, 2, 3]))):
            edges.append(edge(f"n{i:02d}", f"n{j:02d}", rng.choice([None, "trained on", "derived"])))
    return nodes, edges


def overlaps(a: PositionedNode, b: PositionedNode) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


def test_sixty_node_dag_has_no_overlapping_boxes_and_edges_flow_rightwards() -> None:
    nodes, edges = random_dag()
    graph = layout(nodes, edges, focus="n30")
    assert len(graph.nodes) == 60
    assert len(graph.edges) == len({(e["source"], e["target"]) for e in edges})
    for i, a in enumerate(graph.nodes):
        assert 0 <= a.x and a.x + a.w <= graph.width and 0 <= a.y and a.y + a.h <= graph.height
        for b in graph.nodes[i + 1:]:
            assert not overlaps(a, b), (a.id, b.id)
    assert not any(e.back for e in graph.edges)
    for e in graph.edges:
        source, target = graph.node(e.source), graph.node(e.target)
        assert source.layer < target.layer and source.x < target.x
    # longest-path layering: every node sits one layer right of its furthest predecessor
    for n in graph.nodes:
        preds = [graph.node(e.source).layer for e in graph.edges if e.target == n.id]
        assert n.layer == (max(preds) + 1 if preds else 0)


def test_long_edges_run_through_gaps_not_through_boxes() -> None:
    nodes, edges = random_dag()
    graph = layout(nodes, edges)
    columns: dict[float, list[PositionedNode]] = {}
    for n in graph.nodes:
        columns.setdefault(n.x, []).append(n)
    checked = 0
    for e in graph.edges:
        for x, y in re.findall(r"L([\d.]+),([\d.]+)", e.d):  # the straight runs across a column
            left = float(x) - 190
            assert left in columns
            assert all(not (n.y <= float(y) <= n.y + n.h) for n in columns[left]), (e.source, e.target)
            checked += 1
    assert checked > 0


def test_same_input_gives_the_same_svg_whatever_the_input_order() -> None:
    nodes, edges = random_dag()
    first = render(layout(nodes, edges, focus="n10"))
    assert first == render(layout(nodes, edges, focus="n10"))
    rng = random.Random(1)
    shuffled_nodes, shuffled_edges = nodes[:], edges[:]
    rng.shuffle(shuffled_nodes)
    rng.shuffle(shuffled_edges)
    assert render(layout(shuffled_nodes, shuffled_edges, focus="n10")) == first


def test_rendered_svg_is_well_formed_with_one_path_per_edge_and_links() -> None:
    nodes, edges = random_dag(20)
    graph = layout(nodes, edges)
    html = render(graph)
    svg = svg_of(html)
    ns = "{http://www.w3.org/2000/svg}"
    # "group", not "img": its nodes are links, and an image may not hold interactive content (axe, nested-interactive)
    assert svg.get("role") == "group" and svg.get("aria-label") == "Lineage graph"
    assert svg.get("width") == str(graph.width) and svg.get("height") == str(graph.height)
    assert len(svg.findall(f".//{ns}g[@class='lg-edges']/{ns}g/{ns}path")) == len(graph.edges)
    assert len(svg.findall(f".//{ns}a")) == 20
    assert 'class="lg-scroll"' in html


def test_cycles_are_broken_deterministically_and_do_not_hang() -> None:
    nodes = [node(x) for x in "abcd"]
    edges = [edge("a", "b"), edge("b", "c"), edge("c", "a", "feedback"), edge("c", "d"), edge("d", "d")]
    graph = layout(nodes, edges)
    back = {(e.source, e.target) for e in graph.edges if e.back}
    assert back == {("c", "a"), ("d", "d")}  # DFS from 'a' in id order closes the cycle at c → a
    for e in graph.edges:
        if not e.back:
            assert graph.node(e.source).x < graph.node(e.target).x
    html = render(graph)
    assert "lg-edge lg-edge-back" in html and "closes a cycle" in html
    assert render(layout(nodes, edges)) == html


def test_a_dense_cyclic_graph_finishes() -> None:
    ids = [f"c{i:03d}" for i in range(80)]
    edges = [edge(a, b) for a in ids for b in ids if a != b and (int(a[1:]) * 7 + int(b[1:])) % 5 == 0]
    graph = layout([node(i) for i in ids], edges)
    assert len(graph.nodes) == 80 and any(e.back for e in graph.edges)
    for e in graph.edges:
        if not e.back:
            assert graph.node(e.source).layer < graph.node(e.target).layer


def test_hostile_labels_are_escaped_everywhere() -> None:
    evil = "<script>alert(1)</script>\"'&"
    nodes = [node("x", label=evil, sublabel=evil, href="/datasets/x"), node("y", label="y", sublabel=evil)]
    graph = layout(nodes, [edge("x", "y", evil)], focus="x")
    html = render(graph)
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&amp;" in html  # full text in tooltip and list
    assert "alert(1)</script>" not in html
    svg_of(html)


@pytest.mark.parametrize("href", ["javascript:alert(1)", "JavaScript:alert(1)", "https://evil.example/",
                                  "//evil.example/x", "/\\evil.example", "data:text/html,x", " /x", "/x\ny", 42])
def test_unsafe_hrefs_are_dropped(href: Any) -> None:
    assert safe_href(href) is None
    graph = layout([node("a", href=href)], [])
    assert graph.nodes[0].href is None
    html = render(graph)
    assert "<a href" not in html and "javascript" not in html.lower()


def test_relative_hrefs_are_kept() -> None:
    href = "/datasets/shop/main/orders?version=2&x=%20"
    graph = layout([node("a", href=href)], [])
    assert graph.nodes[0].href == href
    assert 'href="/datasets/shop/main/orders?version=2&amp;x=%20"' in render(graph)


def test_unicode_labels_survive_and_wide_text_is_truncated_to_fit() -> None:
    label = "Überwachung — 数据集 🚀"
    long_cjk = "数据集" * 20
    graph = layout([node("u", label=label), node("w", label=long_cjk)], [edge("u", "w")])
    html = render(graph)
    assert label in html
    wide = graph.node("w")
    assert wide.full_label == long_cjk and wide.label.endswith("…") and len(wide.label) < 15
    assert long_cjk in html  # the tooltip keeps the whole name


def test_truncate_keeps_short_text_and_cuts_long_text() -> None:
    assert truncate("orders", 170, 7.4) == "orders"
    cut = truncate("a" * 100, 170, 7.4)
    assert cut.endswith("…") and len(cut) == 170 // 7.4


def test_empty_graph_says_so_instead_of_an_empty_svg() -> None:
    graph = layout([], [])
    assert graph.nodes == () and graph.width == 0
    html = render(graph)
    assert "no lineage recorded yet" in html.lower()
    assert "<svg" not in html and "<details" not in html


def test_classes_focus_legend_and_text_fallback() -> None:
    nodes = [
        node("ds@1", "version", label="shop/orders@1", href="/versions?dataset=shop%2Forders&version=1"),
        node("run", "run", label="nightly run", status="failed"),
        node("model", "model", label="churn model", status="retrain_recommended"),
        node("odd", "Weird kind\" onload=x", label="odd one"),
    ]
    graph = layout(nodes, [edge("ds@1", "run", "input"), edge("run", "model"), edge("ghost", "model")],
                   focus="model")
    assert graph.node("model").classes == "lg-node lg-kind-model lg-status-retrain_recommended lg-focus"
    assert graph.node("odd").classes == "lg-node lg-kind-weird-kind-onload-x"
    assert [e.classes for e in graph.edges] == ["lg-edge", "lg-edge lg-edge-focus"]  # edge to 'ghost' dropped
    html = render(graph, graph_id="g1")
    assert 'marker-end="url(#g1-arrow-focus)"' in html and 'id="g1-arrow"' in html
    assert 'class="lg-focus-ring"' in html and 'aria-current="page"' not in html  # the focus has no link
    legend = html[html.index('class="lg-legend"'):html.index("</figcaption>")]
    for name in ("Dataset version", "Training run", "Model", "retrain recommended", "failed"):
        assert name in legend
    assert "Column" not in legend
    fallback = html[html.index("<details"):]
    assert "shop/orders@1</a> → nightly run" in fallback
    assert "odd one" in fallback and "no recorded links" in fallback
    assert "(retrain recommended)" in fallback


def test_wide_layer_grows_height_not_overlap() -> None:
    nodes = [node("root")] + [node(f"leaf{i:02d}") for i in range(50)]
    graph = layout(nodes, [edge("root", f"leaf{i:02d}") for i in range(50)])
    leaves = sorted((n for n in graph.nodes if n.id != "root"), key=lambda n: n.y)
    assert all(b.y >= a.y + a.h for a, b in zip(leaves, leaves[1:], strict=False))
    assert graph.height >= 50 * 44
    root = graph.node("root")
    assert leaves[0].y < root.y < leaves[-1].y  # the parent sits in the middle of its children
