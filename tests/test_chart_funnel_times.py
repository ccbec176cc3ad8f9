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
