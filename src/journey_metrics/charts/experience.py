"""Charts of the experience metrics: NPS, CSAT and CES per period (each on its own scale);
churn rate per period with the open period greyed.

Input: the rows of `journey-metrics satisfaction` / `churn` (with or without `group`; only the
`all` group is drawn). Altair is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import altair as alt

# (column, respondents column, title, scale domain, number format)
_SCORES = (
    ("nps", "nps_respondents", "NPS (-100 to 100)", (-100, 100), ".0f"),
    ("csat", "csat_respondents", "CSAT (% answering 4-5 of 5)", (0, 100), ".0f"),
    ("ces", "ces_respondents", "CES (mean effort, 1-7)", (1, 7), ".2f"),
)


def _overall(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(r) for r in rows if r.get("group", "all") == "all"]


def draw_satisfaction(
    rows: Sequence[dict[str, Any]], *, period: str = "month"
) -> alt.HConcatChart:
    """Three panels side by side, NPS, CSAT and CES per period, each on its own scale."""
    import altair as alt

    data = _overall(rows)
    periods = sorted({str(r["period"]) for r in data})  # every panel shows the same periods
    panels = []
    for column, respondents, title, domain, fmt in _SCORES:
        values = [r for r in data if r.get(column) is not None]
        panels.append(alt.Chart(alt.Data(values=values)).mark_line(point=True).encode(
            x=alt.X("period:O", title=period.capitalize(), axis=alt.Axis(labelAngle=0),
                    scale=alt.Scale(domain=periods)),
            y=alt.Y(f"{column}:Q", title=title, scale=alt.Scale(domain=list(domain))),
            tooltip=[alt.Tooltip("period:N", title=period.capitalize()),
                     alt.Tooltip(f"{column}:Q", title=title, format=fmt),
                     alt.Tooltip(f"{respondents}:Q", title="Respondents", format=",")],
        ).properties(width=200, height=200, title=title))
    return alt.hconcat(*panels).properties(title=f"Satisfaction by {period}")


def draw_churn(rows: Sequence[dict[str, Any]], *, period: str = "month") -> alt.LayerChart:
    """Churn rate per period (bars); the period containing as_of (churn null) is a grey band."""
    import altair as alt

    data = [{**r, "state": "not ended" if r.get("churned") is None else "ended"}
            for r in _overall(rows)]
    x = alt.X("period:O", title=period.capitalize(), axis=alt.Axis(labelAngle=0))
    tooltip = [alt.Tooltip("period:N", title=period.capitalize()),
               alt.Tooltip("state:N", title="Period"),
               alt.Tooltip("active_before:Q", title="Active the period before", format=","),
               alt.Tooltip("churned:Q", title="Of them, not active now", format=","),
               alt.Tooltip("churn_rate:Q", title="Churn rate", format=".1%"),
               alt.Tooltip("unsubscribed:Q", title="Unsubscribed", format=","),
               alt.Tooltip("deals_lost:Q", title="Deals lost", format=",")]
    base = alt.Chart(alt.Data(values=data)).encode(x=x, tooltip=tooltip)
    open_band = base.transform_filter("datum.state == 'not ended'").mark_bar(
        color="#d3d3d3", opacity=0.6).encode(y=alt.datum(1))
    open_label = base.transform_filter("datum.state == 'not ended'").mark_text(
        color="#777", baseline="bottom", dy=-4).encode(y=alt.datum(0),
                                                       text=alt.value("not ended"))
    bars = base.transform_filter("datum.state == 'ended'").mark_bar(color="#e45756").encode(
        y=alt.Y("churn_rate:Q", title="Churn rate", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])))
    return alt.LayerChart(layer=[open_band, bars, open_label]).properties(
        width=420, height=240,
        title=f"Churn by {period}: share of the previous period's active persons not active")
