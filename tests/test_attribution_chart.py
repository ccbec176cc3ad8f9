"""The attribution chart renders (to PNG through vl-convert) from the command's rows."""

from __future__ import annotations

from pathlib import Path

from journey_metrics.charts.attribution import draw_attribution

ROWS = [
    {"model": "last", "group": "direct", "conversions": 6.0, "revenue": 600.0, "share": 0.6},
    {"model": "last", "group": "email", "conversions": 4.0, "revenue": 300.0, "share": 0.4},
    {"model": "linear", "group": "email", "conversions": 5.5, "revenue": 450.0, "share": 0.55},
    {"model": "linear", "group": "direct", "conversions": 4.5, "revenue": 450.0, "share": 0.45},
    {"model": "participation", "group": "direct", "conversions": 7.0, "revenue": 700.0,
     "share": 0.7},
    {"model": "participation", "group": "email", "conversions": 8.0, "revenue": 650.0,
     "share": 0.8},
]


def test_renders_to_png(tmp_path: Path) -> None:
    chart = draw_attribution(ROWS)
    out = tmp_path / "attribution.png"
    chart.save(str(out), format="png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    spec = chart.to_dict()
    assert spec["encoding"]["x"]["sort"] == ["direct", "email"]  # by last-touch credit
    # the models present, in canonical order
    assert spec["encoding"]["xOffset"]["sort"] == [
        "last touch", "linear", "participation (not additive)"]
    assert [v["model"] for v in spec["data"]["values"]][:1] == ["last touch"]


def test_spend_columns_in_tooltip_and_empty_rows(tmp_path: Path) -> None:
    rows = [{**r, "cost": 100.0, "cpa": None, "roas": 6.0} for r in ROWS]
    chart = draw_attribution(rows)
    titles = [t["title"] for t in chart.to_dict()["encoding"]["tooltip"]]
    assert "Cost per conversion" in titles
    chart.save(str(tmp_path / "spend.png"), format="png")
    draw_attribution([]).save(str(tmp_path / "empty.png"), format="png")
