"""Charts of the money metrics: revenue and ARPU per period; cumulative LTV curves per cohort.

Input: the rows of `journey-metrics revenue` / `ltv` (with or without `group`; only the `all`
group is drawn). Altair is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from journey_metrics.metrics.registry import Block
from journey_metrics.report.i18n import t

if TYPE_CHECKING:
    import altair as alt


def _overall(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(r) for r in rows if r.get("group", "all") == "all"]


def draw_revenue(rows: Sequence[dict[str, Any]], *, period: str = "month",
                 open_period: str | None = None) -> alt.LayerChart:
    """Revenue per period (bars, left axis) and ARPU (line, right axis); the bar of
    `open_period` (the one holding as_of, still filling) is grey, as churn's open month."""
    import altair as alt

    data = [{**r, "state": t("not ended") if r["period"] == open_period else t("ended")}
            for r in _overall(rows)]
    currency = next((r.get("currency") for r in data if r.get("currency")), None)
    from journey_metrics.charts.common import date_axis

    money = f" ({currency})" if currency else ""
    x = alt.X("period:O", title=t(period.capitalize()), axis=date_axis(labelAngle=0))
    tooltip = [
        alt.Tooltip("period:N", title=t(period.capitalize())),
        alt.Tooltip("state:N", title=t("Period")),
        alt.Tooltip("revenue:Q", title=t("Revenue") + money, format=",.2f"),
        alt.Tooltip("orders:Q", title=t("Orders"), format=","),
        alt.Tooltip("buyers:Q", title=t("Buyers"), format=","),
        alt.Tooltip("active_persons:Q", title=t("Active persons"), format=","),
        alt.Tooltip("arpu:Q", title=t("ARPU (revenue per active person)"), format=",.2f"),
        alt.Tooltip("arppu:Q", title=t("ARPPU (revenue per buyer)"), format=",.2f"),
        alt.Tooltip("excluded_orders:Q", title=t("Orders in other currencies (excluded)"),
                    format=","),
    ]
    base = alt.Chart(alt.Data(values=data)).encode(x=x, tooltip=tooltip)
    bars = base.mark_bar().encode(
        y=alt.Y("revenue:Q", title=t("Revenue") + money, axis=alt.Axis(titleColor="#0072b2")),
        color=alt.condition(alt.datum.period == (open_period or ""), alt.value("#b0b0b0"),
                            alt.value("#0072b2")))
    line = base.mark_line(point=alt.OverlayMarkDef(color="#e69f00"), color="#e69f00").encode(
        y=alt.Y("arpu:Q", title="ARPU" + money, axis=alt.Axis(titleColor="#b07800")))
    return alt.layer(bars, line).resolve_scale(y="independent").properties(
        width=420, height=240, title=t("Revenue and ARPU by " + period))


def draw_ltv(rows: Sequence[dict[str, Any]], *, period: str = "month") -> alt.Chart:
    """Cumulative revenue per cohort member by periods since the cohort's start, one line per
    cohort (open periods, which are null, are left out)."""
    import altair as alt

    from journey_metrics.report.i18n import current

    lang = current()
    data = [{**r, "cohort": lang.day(r["cohort"]), "cohort_iso": r["cohort"]}
            for r in _overall(rows) if r.get("cumulative_revenue_per_person") is not None]
    cohorts = [c for _, c in sorted({(d["cohort_iso"], d["cohort"]) for d in data})]
    return alt.Chart(alt.Data(values=data)).mark_line(point=True).encode(
        x=alt.X("period:O", title=t(period.capitalize() + "s since the start stage"),
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("cumulative_revenue_per_person:Q", title=t("Cumulative revenue per person")),
        # ten colours repeat from the eleventh cohort on (a year of months): twenty then
        color=alt.Color("cohort:N", title=t("Cohort"), sort=cohorts,
                        scale=alt.Scale(scheme="tableau20") if len(cohorts) > 10 else
                        alt.Undefined),
        tooltip=[alt.Tooltip("cohort:N", title=t("Cohort")),
                 alt.Tooltip("period:Q", title=t("Period")),
                 alt.Tooltip("cohort_size:Q", title=t("Cohort size"), format=","),
                 alt.Tooltip("revenue:Q", title=t("Revenue in the period"), format=",.2f"),
                 alt.Tooltip("cumulative_revenue_per_person:Q",
                             title=t("Cumulative revenue per person"), format=",.2f")],
    ).properties(width=420, height=240, title=t("Lifetime value: cumulative revenue per person"))


def revenue_blocks(rows: list[dict[str, Any]], page: dict[str, Any]) -> list[Block]:
    overall = _overall(rows)
    excluded = sum(r["excluded_orders"] or 0 for r in overall)
    currency = next((r["currency"] for r in overall if r.get("currency")), None)
    from journey_metrics.report.i18n import current
    from journey_metrics.report.summary import not_ended

    last = max((r["period"] for r in overall), default=None)
    open_period = last if last and not_ended(last, page) else None

    notes = ((t("{orders} orders in another currency than {currency} are not in the revenue "
                "(never mixed).", orders=current().number(excluded), currency=currency),)
             if excluded else ())
    return [Block("revenue", t("Revenue and ARPU"),
                  t("Bars: revenue per month; line: revenue per active person (ARPU). The grey "
                    "month contains the data's end: it is not over yet."),
                  draw_revenue(rows, open_period=open_period), notes=notes)]


def ltv_blocks(section: dict[str, Any], page: dict[str, Any]) -> list[Block]:
    from journey_metrics.charts.common import label

    stage = label(section["stage"])
    return [Block("ltv", t("Lifetime value per cohort"),
                  t("Each line is the people who first reached {stage} in one month: their "
                    "revenue per person so far, month after month. Steeper lines are more "
                    "valuable cohorts; the current month is left out (not over).", stage=stage),
                  draw_ltv(section["rows"]))]
