"""NPS by month and by channel."""

from __future__ import annotations

from typing import Any

import altair as alt

from journey_metrics.charts.common import (
    data,
    date_axis,
)
from journey_metrics.metrics.registry import Block
from journey_metrics.report.i18n import t


def nps_chart(rows: list[dict[str, Any]]) -> alt.HConcatChart:
    tooltip = [
        alt.Tooltip("group:N", title=t("Channel")), alt.Tooltip("period:N", title=t("Month")),
        alt.Tooltip("nps:Q", title=t("NPS"), format=".0f"),
        alt.Tooltip("promoters:Q", title=t("Promoters (9-10)"), format=","),
        alt.Tooltip("passives:Q", title=t("Passives (7-8)"), format=","),
        alt.Tooltip("detractors:Q", title=t("Detractors (0-6)"), format=","),
        alt.Tooltip("respondents:Q", title=t("Out of (respondents)"), format=","),
    ]
    overall = alt.Chart(data([r for r in rows if r["group"] == "all"])).mark_line(
        point=True).encode(
        x=alt.X("period:O", title=t("Month"), axis=date_axis(labelAngle=0)),
        y=alt.Y("nps:Q", title=t("NPS (-100 to 100)"), scale=alt.Scale(domain=[-100, 100])),
        tooltip=tooltip,
    ).properties(width=240, height=220, title=t("NPS by month, everybody"))
    zero = alt.Chart(data([{"y": 0}])).mark_rule(color="#999").encode(y="y:Q")
    by_channel = alt.Chart(data([r for r in rows if r["group"] != "all"])).mark_rect().encode(
        x=alt.X("period:O", title=t("Month"), axis=date_axis(labelAngle=0)),
        y=alt.Y("group:N", title=t("First-touch channel")),
        color=alt.Color("nps:Q", title=t("NPS"), scale=alt.Scale(scheme="redyellowgreen",
                                                              domain=[-100, 100])),
        tooltip=tooltip,
    ).properties(width=240, height=220, title=t("NPS by month and channel"))
    return alt.hconcat(overall + zero, by_channel).properties(
        title=t("Loyalty: Net Promoter Score (% promoters minus % detractors)"))


def nps_blocks(rows: list[dict[str, Any]], page: dict[str, Any]) -> list[Block]:
    return [Block("nps", t("NPS"),
                  t("NPS is the percentage of promoters (9-10) minus the percentage of "
                    "detractors (0-6), from each person's latest answer in the month. Above 0 "
                    "is good."),
                  nps_chart(rows), table=tuple(rows))]  # the overall line's rows too
