"""The money and experience charts render to PNG (vl-convert), with rows and without."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from journey_metrics.charts.attribution import draw_attribution
from journey_metrics.charts.common import text_expr
from journey_metrics.charts.experience import draw_churn, draw_satisfaction
from journey_metrics.charts.funnel import segment_chart
from journey_metrics.charts.money import draw_ltv, draw_revenue
from journey_metrics.report.i18n import use

PNG = b"\x89PNG\r\n\x1a\n"

REVENUE = [
    {"period": "2024-01-01", "orders": 1, "revenue": 10.0, "buyers": 1, "active_persons": 2,
     "arpu": 5.0, "arppu": 10.0, "repeat_buyers": 0, "repeat_purchase_rate": 0.0,
     "excluded_orders": 0, "currency": "EUR"},
    {"period": "2024-02-01", "orders": 2, "revenue": 120.0, "buyers": 2, "active_persons": 3,
     "arpu": 40.0, "arppu": 60.0, "repeat_buyers": 1, "repeat_purchase_rate": 0.5,
     "excluded_orders": 1, "currency": "EUR"},
]
LTV = [
    {"group": "all", "cohort": "2024-01-01", "period": 0, "cohort_size": 2, "revenue": 40.0,
     "cumulative_revenue_per_person": 20.0},
    {"group": "all", "cohort": "2024-01-01", "period": 1, "cohort_size": 2, "revenue": 20.0,
     "cumulative_revenue_per_person": 30.0},
    {"group": "all", "cohort": "2024-01-01", "period": 2, "cohort_size": 2, "revenue": None,
     "cumulative_revenue_per_person": None},
    {"group": "direct", "cohort": "2024-02-01", "period": 0, "cohort_size": 1, "revenue": 5.0,
     "cumulative_revenue_per_person": 5.0},
]
SATISFACTION = [
    {"period": "2024-03-01", "nps_respondents": 2, "nps": 0.0, "csat_respondents": 5,
     "csat": 40.0, "ces_respondents": 3, "ces": 10 / 3},
    {"period": "2024-04-01", "nps_respondents": 0, "nps": None, "csat_respondents": 1,
     "csat": 100.0, "ces_respondents": 0, "ces": None},
]
CHURN = [
    {"period": "2024-02-01", "active_before": 3, "churned": 1, "churn_rate": 1 / 3,
     "unsubscribed": 1, "deals_lost": 1},
    {"period": "2024-03-01", "active_before": 3, "churned": 2, "churn_rate": 2 / 3,
     "unsubscribed": 1, "deals_lost": 0},
    {"period": "2024-04-01", "active_before": 2, "churned": None, "churn_rate": None,
     "unsubscribed": 0, "deals_lost": 0},
]
CASES: list[tuple[str, Any, list[dict[str, Any]]]] = [
    ("revenue", draw_revenue, REVENUE), ("ltv", draw_ltv, LTV),
    ("satisfaction", draw_satisfaction, SATISFACTION), ("churn", draw_churn, CHURN),
]


@pytest.mark.parametrize(("name", "draw", "rows"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("empty", [False, True], ids=["rows", "empty"])
def test_renders_to_png(tmp_path: Path, name: str, draw: Any, rows: list[dict[str, Any]],
                        empty: bool) -> None:
    chart = draw([] if empty else rows)
    path = tmp_path / f"{name}.png"
    chart.save(str(path), format="png")
    assert path.read_bytes().startswith(PNG)
    assert path.stat().st_size > 1000


def values_of(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The chart's inline rows (Altair may move them into `datasets`)."""
    if "datasets" in spec:
        return list(next(iter(spec["datasets"].values())))
    return list(spec["data"]["values"])


def test_open_churn_period_is_marked() -> None:
    values = values_of(draw_churn(CHURN).to_dict())
    states = {v["period"]: v["state"] for v in values}
    assert states == {"2024-02-01": "ended", "2024-03-01": "ended", "2024-04-01": "not ended"}


def test_a_score_line_breaks_at_a_month_without_answers() -> None:
    """CSAT answered in March and May, not April: the line joined March to May as if April
    had a score between them; each run of answered months is its own line now."""
    rows = [{**SATISFACTION[0], "period": "2024-03-01"},
            {**SATISFACTION[0], "period": "2024-04-01", "csat": None, "csat_respondents": 0},
            {**SATISFACTION[0], "period": "2024-05-01"},
            {**SATISFACTION[0], "period": "2024-06-01"}]
    spec = draw_satisfaction(rows).to_dict()
    nps, csat = spec["hconcat"][0], spec["hconcat"][1]
    assert csat["encoding"]["detail"] == {"field": "run", "type": "nominal"}
    runs = {v["period"]: v["run"] for v in csat["data"]["values"]}
    assert runs == {"2024-03-01": 0, "2024-05-01": 1, "2024-06-01": 1}
    assert {v["run"] for v in nps["data"]["values"]} == {0}
    # a month in which nobody answered any survey has no row at all: the axis keeps it
    quarterly = [r for r in rows if r["period"] in ("2024-03-01", "2024-06-01")]
    spec = draw_satisfaction(quarterly).to_dict()
    nps = spec["hconcat"][0]
    assert nps["encoding"]["x"]["scale"]["domain"] == [
        "2024-03-01", "2024-04-01", "2024-05-01", "2024-06-01"]
    assert [v["run"] for v in nps["data"]["values"]] == [0, 1]
    weeks = [{**SATISFACTION[0], "period": p} for p in ("2024-12-23", "2025-01-06")]
    assert draw_satisfaction(weeks, period="week").to_dict()["hconcat"][0]["encoding"]["x"][
        "scale"]["domain"] == ["2024-12-23", "2024-12-30", "2025-01-06"]


def test_only_the_all_group_and_closed_periods_are_drawn() -> None:
    values = values_of(draw_ltv(LTV).to_dict())
    assert [(v["cohort"], v["period"]) for v in values] == [("2024-01-01", 0), ("2024-01-01", 1)]


def test_phases_keep_their_order_on_a_translated_page() -> None:
    """Each panel sorted the phases by their English names while the values were translated,
    so a Vietnamese page showed the phases in an order of its own per panel (a dashboard
    audit); CES bars start at the scale's low end (1), NPS and CSAT at 0."""
    from journey_metrics.charts.experience import draw_phases
    from journey_metrics.report.i18n import t, use

    rows = [{"phase": phase, "stages": "awareness", "persons": n, "nps_respondents": 0,
             "nps": None, "csat_respondents": 1, "csat": 80.0, "ces_respondents": 1, "ces": 3.0}
            for phase, n in (("before purchase", 30), ("during purchase", 10),
                             ("after purchase", 5))]
    with use("vi", {}):
        spec = draw_phases(rows).to_dict()
        shown = [t(r["phase"]) for r in rows]
    panels = spec["hconcat"]
    sorts = [p["encoding"]["x"]["sort"] for p in panels[:1]]
    sorts += [layer["encoding"]["x"]["sort"] for p in panels[1:] for layer in p["layer"]]
    assert all(sort == shown for sort in sorts)
    assert shown != [r["phase"] for r in rows]  # the page is translated
    ces = panels[3]["layer"][0]["encoding"]
    assert ces["y2"] == {"datum": 1}
    assert panels[1]["layer"][0]["encoding"]["y2"] == {"datum": 0}


def _year_of_months(**extra: Any) -> list[dict[str, Any]]:
    months = [f"{2026 + (m - 1) // 12}-{(m - 1) % 12 + 1:02d}-01" for m in range(1, 15)]
    return [{**SATISFACTION[0], "period": month, **extra} for month in months]


def _axes(spec: Any) -> list[dict[str, Any]]:
    """Every x axis of a (concatenated, layered) chart spec."""
    if isinstance(spec, dict):
        found = [spec["x"]["axis"]] if isinstance(spec.get("x"), dict) and "axis" in spec["x"] \
            else []
        return found + [a for value in spec.values() for a in _axes(value)]
    if isinstance(spec, list):
        return [a for value in spec for a in _axes(value)]
    return []


def test_dates_on_a_year_of_months_do_not_print_over_each_other() -> None:
    """Fourteen months on a 200-pixel satisfaction panel printed their dates over each other
    (Vega-Lite leaves an ordinal axis's labels alone): every date axis thins them out, and the
    narrow satisfaction panels slant them."""
    from journey_metrics.charts.experience import draw_satisfaction_by_channel

    satisfaction = _axes(draw_satisfaction(_year_of_months()).to_dict())
    assert len(satisfaction) == 3
    assert all(a["labelOverlap"] == "greedy" and a["labelAngle"] == -45 for a in satisfaction)
    revenue = [{**REVENUE[0], "period": r["period"]} for r in _year_of_months()]
    assert all(a.get("labelOverlap") == "greedy"
               for a in _axes(draw_revenue(revenue).to_dict()) if "labelExpr" in a
               or a.get("labelOverlap"))
    # the per-channel heatmaps write each score in its cell only while it fits
    cells = _year_of_months(group="direct")
    wide = draw_satisfaction_by_channel(cells[:4]).to_dict()["hconcat"]
    narrow = draw_satisfaction_by_channel(cells).to_dict()["hconcat"]
    assert all(len(panel["layer"]) == 2 for panel in wide)
    assert all("layer" not in panel and panel["mark"]["type"] == "rect" for panel in narrow)


def test_names_side_by_side_slant_when_they_do_not_fit_their_band() -> None:
    """Sixteen long channel names printed over each other on the attribution chart, and the
    three phases on their 170-pixel panels (a dashboard audit): slanted when the longest name
    is wider than its band, level otherwise; the hours-to-convert axis ticks whole hours, days
    and weeks up to its longest time."""
    from journey_metrics.charts.attribution import draw_attribution
    from journey_metrics.charts.common import band_axis
    from journey_metrics.charts.funnel_times import draw_times

    assert band_axis(["email", "direct"], 520).to_dict()["labelAngle"] == 0
    assert band_axis(["before purchase"] * 3, 170).to_dict()["labelAngle"] == -40
    names = [f"Paid Social - Campaign number {n:02d}" for n in range(16)]
    rows = [{"model": "last", "group": g, "conversions": 1.0, "revenue": 0.0, "share": 1 / 16}
            for g in names]
    axis = draw_attribution(rows).to_dict()["encoding"]["x"]["axis"]
    assert (axis["labelAngle"], axis["labelLimit"]) == (-40, 140)
    times = [{"group": "all", "step": 2, "stage": "activation", "persons": 5, "p10_hours": 0.5,
              "p25_hours": 2.0, "median_hours": 30.0, "p75_hours": 80.0, "p90_hours": 200.0,
              "median_hours_from_start": 30.0}]
    layers = draw_times(times).to_dict()["layer"]
    assert layers[0]["encoding"]["x"]["axis"]["values"] == [0, 1, 6, 24, 72, 168]
    minutes = [{**times[0], "p75_hours": 0.2, "p90_hours": 0.3, "median_hours": 0.1}]
    assert "values" not in draw_times(minutes).to_dict()["layer"][0]["encoding"]["x"]["axis"]


def test_open_churn_period_is_labelled_down_its_band() -> None:
    # level, "not ended" ran over the bars beside a narrow band (a year of months)
    label = draw_churn(CHURN).to_dict()["layer"][2]
    assert label["mark"]["angle"] == 90
    assert label["encoding"]["y"] == {"datum": 1}


def test_revenue_axis_names_the_currency() -> None:
    rows = [{"model": "last", "group": "direct", "conversions": 1.0, "revenue": 10.0,
             "share": 1.0}]
    spec = draw_attribution(rows, measure="revenue", currency="EUR").to_dict()
    assert spec["encoding"]["y"]["title"] == "Revenue credited (EUR)"
    assert draw_attribution(rows, measure="revenue").to_dict()["encoding"]["y"]["title"] == (
        "Revenue credited")


def test_segment_funnel_title_names_the_segment_and_framework(tmp_path: Path) -> None:
    rows = [{"framework": "aarrr", "step": s, "stage": st, "segment": seg, "trait": "plan",
             "value": "free", "persons": n, "conversion_from_start": n / 10}
            for seg in ("", "plan=free") for s, st, n in ((1, "acquisition", 10),
                                                           (2, "activation", 4))]
    chart = segment_chart(rows, [{"name": "aarrr", "title": "AARRR"}])
    title = chart.to_dict()["title"]["text"]
    assert title["expr"].startswith('"Funnel for " + (segment) + ": " + (')
    path = tmp_path / "segments.png"
    chart.save(str(path), format="png")  # the expression is one Vega evaluates
    assert path.read_bytes().startswith(PNG)


def test_text_expr_keeps_literal_text_and_quotes() -> None:
    with use("vi"):
        expr = text_expr("Funnel for {segment}: {framework}", segment="a", framework="b")
    assert expr.to_dict() == {"expr": '"Ph\\u1ec5u c\\u1ee7a " + (a) + ": " + (b)'}
