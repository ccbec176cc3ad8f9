"""The time-to-convert chart renders to PNG from `funnel --times` rows."""

from __future__ import annotations

from journey_metrics.charts.funnel_times import draw_times

ROWS = [
    {"group": "all", "step": 2, "stage": "activation", "persons": 604, "p10_hours": 0.01,
     "p25_hours": 0.014, "median_hours": 0.023, "p75_hours": 0.032, "p90_hours": 0.038,
     "median_hours_from_start": 0.023},
    {"group": "all", "step": 3, "stage": "retention", "persons": 202, "p10_hours": 12.1,
     "p25_hours": 30.2, "median_hours": 61.3, "p75_hours": 142.9, "p90_hours": 248.2,
     "median_hours_from_start": 61.3},
    {"group": "all", "step": 4, "stage": "revenue", "persons": 0, "p10_hours": None,
     "p25_hours": None, "median_hours": None, "p75_hours": None, "p90_hours": None,
     "median_hours_from_start": None},
]


def test_draw_times_renders_png() -> None:
    import vl_convert

    chart = draw_times(ROWS)
    spec = chart.to_dict()
    values = spec["data"]["values"] if "data" in spec else spec["layer"][0]["data"]["values"]
    assert [v["stage"] for v in values] == ["activation", "retention"]  # no converters: left out
    png = vl_convert.vegalite_to_png(spec)
    assert png.startswith(b"\x89PNG")
    assert len(png) > 1000


def test_driver_bars_start_at_one_on_their_log_scale() -> None:
    """A log scale has no 0: bars from 0 were drawn with no width (a dashboard audit)."""
    from journey_metrics.charts.funnel import drivers_chart
    from journey_metrics.report.i18n import use

    rows = [{"item": "page_view", "converters": 30, "non_converters": 10, "odds_ratio": 3.2,
             "p_value": 0.01, "q_value": 0.02, "direction": "raises"}]
    with use("en", {}):
        bars = drivers_chart(rows).to_dict()["layer"][0]["encoding"]
    assert bars["x"]["scale"] == {"type": "log"}
    assert bars["x2"] == {"datum": 1}
