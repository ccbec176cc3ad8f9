"""The paths flow diagram (charts/paths.py): geometry that adds up, and a PNG that renders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from journey_metrics.charts.paths import NODE_WIDTH, draw_flow, flow_geometry

# 10 paths: a -> b -> (end) x6, a -> (end) x2, c -> b -> … x2 (… -> (end))
ROWS: list[dict[str, Any]] = [
    {"step": 1, "source": "a", "target": "b", "paths": 6, "share": 0.6},
    {"step": 1, "source": "a", "target": "(end)", "paths": 2, "share": 0.2},
    {"step": 1, "source": "c", "target": "b", "paths": 2, "share": 0.2},
    {"step": 2, "source": "b", "target": "(end)", "paths": 6, "share": 0.6},
    {"step": 2, "source": "b", "target": "…", "paths": 2, "share": 0.2},
    {"step": 3, "source": "…", "target": "(end)", "paths": 2, "share": 0.2},
]


def test_nodes_are_sized_by_paths_and_stacked_without_overlap() -> None:
    nodes, outline = flow_geometry(ROWS)
    sizes = {(r["step"], r["item"]): r["paths"] for r in nodes.iter_rows(named=True)}
    assert sizes == {(1, "a"): 8, (1, "c"): 2, (2, "b"): 8, (3, "…"): 2}
    first = {r["item"]: r for r in nodes.filter(nodes["step"] == 1).iter_rows(named=True)}
    assert (first["a"]["y0"], first["a"]["y1"]) == (0, 8)  # largest on top
    assert first["c"]["y0"] > first["a"]["y1"]  # a gap between nodes
    # every ribbon starts inside its source node and ends inside its target node
    for ribbon in outline.partition_by("ribbon"):
        start, end = ribbon.row(0, named=True), ribbon.row(-1, named=True)
        source = nodes.filter((nodes["step"] == start["step"])
                              & (nodes["item"] == start["source"])).row(0, named=True)
        assert source["y0"] <= start["y_top"] < start["y_bottom"] <= source["y1"]
        assert start["x"] == start["step"] + NODE_WIDTH / 2
        if start["target"] != "(end)":
            target = nodes.filter((nodes["step"] == start["step"] + 1)
                                  & (nodes["item"] == start["target"])).row(0, named=True)
            assert target["y0"] <= end["y_top"] < end["y_bottom"] <= target["y1"]
            assert end["x"] == start["step"] + 1 - NODE_WIDTH / 2
        else:
            assert end["y_top"] == start["y_top"]  # leaves straight to the right


def test_renders_to_png(tmp_path: Path) -> None:
    chart = draw_flow(ROWS, "Paths from the first visit")
    out = tmp_path / "flow.png"
    chart.save(str(out), format="png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 5000


def test_no_rows_still_render(tmp_path: Path) -> None:
    out = tmp_path / "empty.png"
    draw_flow([], "Paths").save(str(out), format="png")
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_paths_cut_at_their_last_step_are_not_drawn_leaving() -> None:
    """Without --end a path keeps its first N items (CONTRACT §8), so every edge at step N is
    `(end)` although most of those paths go on: the dashboard drew them all as "leaves here"
    (a dashboard audit). With `cut_at` N they are not drawn; earlier (end) edges still are,
    and the last column's nodes keep their size from the edges that reach them."""
    rows = [{"step": 1, "source": "a", "target": "b", "paths": 6, "share": 0.75},
            {"step": 1, "source": "a", "target": "(end)", "paths": 2, "share": 0.25},
            {"step": 2, "source": "b", "target": "(end)", "paths": 6, "share": 0.75}]
    nodes, outline = flow_geometry(rows, cut_at=2)
    sizes = {(r["step"], r["item"]): r["paths"] for r in nodes.iter_rows(named=True)}
    assert sizes == {(1, "a"): 8, (2, "b"): 6}
    kinds = {(r["step"], r["target"], r["kind"]) for r in outline.iter_rows(named=True)}
    assert kinds == {(1, "b", "continues"), (1, "(end)", "leaves here")}
    # not cut (the to-conversion flow, or N larger than every path): drawn as before
    _, whole = flow_geometry(rows)
    assert (2, "(end)", "leaves here") in {(r["step"], r["target"], r["kind"])
                                           for r in whole.iter_rows(named=True)}


def test_the_numbers_behind_a_flow_are_its_edges() -> None:
    """"The numbers behind this chart" showed the chart's largest data set: for a flow, the
    ribbons' outline points (24 rows per ribbon; a dashboard audit). A paths block gives its
    edges (the `paths` rows) as its table, with their step (a step-1 and a step-3 edge between
    the same stages were two equal rows) and the boxes named as the chart names them."""
    from journey_metrics.charts.paths import paths_blocks
    from journey_metrics.report.i18n import use
    from journey_metrics.report.page import _rows_behind, _table

    paths = {"start": "a", "end": "b", "steps": 3, "from_start": ROWS, "to_conversion": ROWS}
    titled = [{**r, "source": r["source"].upper(), "target": r["target"].upper()} for r in ROWS]
    for lang_name, end in (("en", "(end)"), ("vi", "(kết thúc)")):
        with use(lang_name, {}) as lang:
            blocks = paths_blocks(paths, {})
            assert [list(b.table or ()) for b in blocks] == [
                [{**r, "target": end if r["target"] == "(END)" else r["target"]}
                 for r in titled]] * 2
            table = _table(_rows_behind(blocks[0].chart.to_dict(), blocks[0].table), lang,
                           own=True)
        assert table.count("<tr>") == 1 + len(ROWS)  # the heading and one row per edge
    assert "<th>bước</th><th>từ</th>" in table
    assert "<td>1</td><td>A</td><td>B</td><td>6</td><td>60,0%</td>" in table


def test_paths_to_a_goal_end_by_reaching_it() -> None:
    """`paths --end purchase` ends every path at the purchase: its ending ribbons were drawn
    vermillion, "leaves here", the goal as a loss (a dashboard audit). They are the goal
    reached, green; the flow from a start keeps "leaves here"."""

    def ending(spec: dict[str, Any]) -> tuple[list[str], list[str]]:
        scale = spec["layer"][0]["encoding"]["color"]["scale"]
        return scale["domain"], scale["range"]

    goal = draw_flow(ROWS, goal="reaches Purchase").to_dict()
    plain = draw_flow(ROWS).to_dict()
    assert ending(goal) == (["continues", "reaches Purchase"], ["#0072b2", "#009e73"])
    assert ending(plain) == (["continues", "leaves here"], ["#0072b2", "#d55e00"])
