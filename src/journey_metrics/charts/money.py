"""Charts of the money metrics: revenue and ARPU per period; cumulative LTV curves per cohort.

Input: the rows of `journey-metrics revenue` / `ltv` (with or without `group`; only the `all`
group is drawn). Altair is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from journey_metrics.metrics.registry import Block

if TYPE_CHECKING:
    import altair as alt


def _overall(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(r) for r in rows if r.get("group", "all") == "all"]


def draw_revenue(rows: Sequence[dict[str, Any]], *, period: str = "month") -> alt.LayerChart:
    """Revenue per period (bars, left axis) and ARPU (line, right axis)."""
    import altair as alt

    data = _overall(rows)
    currency = next((r.get("currency") for r in data if r.get("currency")), None)
    money = f" ({currency})" if currency else ""
    x = alt.X("period:O", title=period.capitalize(), axis=alt.Axis(labelAngle=0))
    tooltip = [
        alt.Tooltip("period:N", title=period.capitalize()),
        alt.Tooltip("revenue:Q", title=f"Revenue{money}", format=",.2f"),
        alt.Tooltip("orders:Q", title="Orders", format=","),
        alt.Tooltip("buyers:Q", title="Buyers", format=","),
        alt.Tooltip("active_persons:Q", title="Active persons", format=","),
        alt.Tooltip("arpu:Q", title="ARPU (revenue per active person)", format=",.2f"),
        alt.Tooltip("arppu:Q", title="ARPPU (revenue per buyer)", format=",.2f"),
        alt.Tooltip("excluded_orders:Q", title="Orders in other currencies (excluded)",
                    format=","),
    ]
    base = alt.Chart(alt.Data(values=data)).encode(x=x, tooltip=tooltip)
    bars = base.mark_bar(color="#4c78a8").encode(
        y=alt.Y("revenue:Q", title=f"Revenue{money}", axis=alt.Axis(titleColor="#4c78a8")))
    line = base.mark_line(point=True, color="#f58518").encode(
        y=alt.Y("arpu:Q", title=f"ARPU{money}", axis=alt.Axis(titleColor="#f58518")))
    return alt.layer(bars, line).resolve_scale(y="independent").properties(
        width=420, height=240, title=f"Revenue and ARPU by {period}")


def draw_ltv(rows: Sequence[dict[str, Any]], *, period: str = "month") -> alt.Chart:
    """Cumulative revenue per cohort member by periods since the cohort's start, one line per
    cohort (open periods, which are null, are left out)."""
    import altair as alt

    data = [r for r in _overall(rows) if r.get("cumulative_revenue_per_person") is not None]
    return alt.Chart(alt.Data(values=data)).mark_line(point=True).encode(
        x=alt.X("period:O", title=f"{period.capitalize()}s since the start stage",
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("cumulative_revenue_per_person:Q", title="Cumulative revenue per person"),
        color=alt.Color("cohort:N", title="Cohort"),
        tooltip=[alt.Tooltip("cohort:N", title="Cohort"),
                 alt.Tooltip("period:Q", title="Period"),
                 alt.Tooltip("cohort_size:Q", title="Cohort size", format=","),
                 alt.Tooltip("revenue:Q", title="Revenue in the period", format=",.2f"),
                 alt.Tooltip("cumulative_revenue_per_person:Q",
                             title="Cumulative revenue per person", format=",.2f")],
    ).properties(width=420, height=240, title="Lifetime value: cumulative revenue per person")


def revenue_blocks(rows: list[dict[str, Any]], page: dict[str, Any]) -> list[Block]:
    overall = _overall(rows)
    excluded = sum(r["excluded_orders"] or 0 for r in overall)
    currency = next((r["currency"] for r in overall if r.get("currency")), None)
    notes = ((f"{excluded:,} orders in another currency than {currency} are not in the "
              "revenue (never mixed).",) if excluded else ())
    return [Block("revenue", "Revenue and ARPU",
                  "Bars: revenue per month; line: revenue per active person (ARPU). The month "
                  "containing the data's end is not over yet.",
                  draw_revenue(rows), notes=notes)]


def ltv_blocks(section: dict[str, Any], page: dict[str, Any]) -> list[Block]:
    from journey_metrics.charts.common import label

    stage = label(section["stage"])
    return [Block("ltv", "Lifetime value per cohort",
                  f"Each line is the people who first reached {stage} in one month: their "
                  "revenue per person so far, month after month. Steeper lines are more "
                  "valuable cohorts; the current month is left out (not over).",
                  draw_ltv(section["rows"]))]
