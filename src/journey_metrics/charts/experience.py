"""Charts of the experience metrics: NPS, CSAT and CES per period (each on its own scale);
churn rate per period with the open period greyed.

Input: the rows of `journey-metrics satisfaction` / `churn` (with or without `group`; only the
`all` group is drawn). Altair is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from journey_metrics.metrics.registry import Block
from journey_metrics.report.i18n import t

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


def _runs(values: list[dict[str, Any]], periods: list[str]) -> list[dict[str, Any]]:
    """Each row numbered by its run of consecutive periods with a score: the line is drawn per
    run, so it does not join two months across one without answers (a point stands alone)."""
    present = {str(r["period"]) for r in values}
    run, runs = 0, {}
    for index, period in enumerate(periods):
        if period in present:
            if index and periods[index - 1] not in present:
                run += 1
            runs[period] = run
    return [{**r, "run": runs[str(r["period"])]} for r in values]


def draw_satisfaction(
    rows: Sequence[dict[str, Any]], *, period: str = "month"
) -> alt.HConcatChart:
    """Three panels side by side, NPS, CSAT and CES per period, each on its own scale."""
    import altair as alt

    from journey_metrics.charts.common import date_axis, every_period

    data = _overall(rows)
    # every panel shows the same periods, those without any answer too (a line breaks there)
    periods = every_period([str(r["period"]) for r in data], period)
    panels = []
    for column, respondents, title_key, domain, fmt in _SCORES:
        title = t(title_key)
        values = _runs([r for r in data if r.get(column) is not None], periods)
        panels.append(alt.Chart(alt.Data(values=values)).mark_line(point=True).encode(
            # slanted: a 200-pixel panel holds four dates side by side only when they overlap
            x=alt.X("period:O", title=t(period.capitalize()), axis=date_axis(labelAngle=-45),
                    scale=alt.Scale(domain=periods)),
            y=alt.Y(f"{column}:Q", title=title, scale=alt.Scale(domain=list(domain))),
            detail="run:N",
            tooltip=[alt.Tooltip("period:N", title=t(period.capitalize())),
                     alt.Tooltip(f"{column}:Q", title=title, format=fmt),
                     alt.Tooltip(f"{respondents}:Q", title=t("Respondents"), format=",")],
        ).properties(width=200, height=200, title=title))
    return alt.hconcat(*panels).properties(title=t("Satisfaction by " + period))


def draw_churn(rows: Sequence[dict[str, Any]], *, period: str = "month") -> alt.LayerChart:
    """Churn rate per period (bars); the period containing as_of (churn null) is a grey band."""
    import altair as alt

    from journey_metrics.charts.common import date_axis

    data = [{**r, "state": "not ended" if r.get("churned") is None else "ended",
             "state_label": t("not ended") if r.get("churned") is None else t("ended")}
            for r in _overall(rows)]
    x = alt.X("period:O", title=t(period.capitalize()), axis=date_axis(labelAngle=0))
    tooltip = [alt.Tooltip("period:N", title=t(period.capitalize())),
               alt.Tooltip("state_label:N", title=t("Period")),
               alt.Tooltip("active_before:Q", title=t("Active the period before"), format=","),
               alt.Tooltip("churned:Q", title=t("Of them, not active now"), format=","),
               alt.Tooltip("churn_rate:Q", title=t("Churn rate"), format=".1%"),
               alt.Tooltip("unsubscribed:Q", title=t("Unsubscribed"), format=","),
               alt.Tooltip("deals_lost:Q", title=t("Deals lost"), format=",")]
    base = alt.Chart(alt.Data(values=data)).encode(x=x, tooltip=tooltip)
    open_band = base.transform_filter("datum.state == 'not ended'").mark_bar(
        color="#d3d3d3", opacity=0.6).encode(y=alt.datum(1))
    # written down the grey band from its top: level, it ran over the bars beside it once a
    # year of months made the band narrower than the words
    open_label = base.transform_filter("datum.state == 'not ended'").mark_text(
        color="#555", angle=90, align="left", baseline="middle", dx=6).encode(
        y=alt.datum(1), text=alt.value(t("not ended")))
    bars = base.transform_filter("datum.state == 'ended'").mark_bar(color="#d55e00").encode(
        y=alt.Y("churn_rate:Q", title=t("Churn rate"), axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])))
    return alt.LayerChart(layer=[open_band, bars, open_label]).properties(
        width=420, height=240,
        title=t("Churn by " + period + ": share of the previous period's active persons not "
                "active"))


_PANEL_WIDTH = 180  # of each score's heatmap


def draw_satisfaction_by_channel(rows: Sequence[dict[str, Any]]) -> alt.HConcatChart:
    """NPS, CSAT and CES per first-touch channel and month: one heatmap per score, the score
    written in each cell (each on its own scale)."""
    import altair as alt

    from journey_metrics.charts.common import date_axis

    values = [dict(r) for r in rows if r.get("group", "all") != "all"]
    # a score is written in its cell only where it fits ("100", "5.33": ~24 pixels); with more
    # months the colour and the tooltip carry it (and the table under the chart)
    months = len({str(r["period"]) for r in values})
    written = months <= _PANEL_WIDTH // 24
    panels = []
    for column, respondents, title_key, domain, fmt in _SCORES:
        title = t(title_key)
        cells = [r for r in values if r.get(column) is not None]
        base = alt.Chart(alt.Data(values=cells)).encode(
            x=alt.X("period:O", title=t("Month"), axis=date_axis(labelAngle=-45)),
            y=alt.Y("group:N", title=t("First-touch channel")),
            tooltip=[alt.Tooltip("group:N", title=t("Channel")),
                     alt.Tooltip("period:N", title=t("Month")),
                     alt.Tooltip(f"{column}:Q", title=title, format=fmt),
                     alt.Tooltip(f"{respondents}:Q", title=t("Respondents"), format=",")])
        scheme: Any = "blueorange" if column != "ces" else "orangered"
        heat = base.mark_rect().encode(color=alt.Color(
            f"{column}:Q", title=None,
            scale=alt.Scale(scheme=scheme, domain=list(domain), reverse=column != "ces"),
            legend=alt.Legend(orient="bottom", gradientLength=120)))
        text = base.mark_text(fontSize=10).encode(text=alt.Text(f"{column}:Q", format=fmt))
        panels.append((heat + text if written else heat).properties(
            width=_PANEL_WIDTH, height=200, title=title))
    return alt.hconcat(*panels).resolve_scale(color="independent").properties(
        title=t("Satisfaction by first-touch channel and month"))


PHASES = ("before purchase", "during purchase", "after purchase")
_PHASE_WIDTH = 170  # of each panel


def phase_rows(feelings: Sequence[dict[str, Any]], funnel_rows: Sequence[dict[str, Any]],
               conversion_stage: str) -> list[dict[str, Any]]:
    """Seed 004's three phases of the journey: the stages before the conversion stage, the
    conversion stage, and the stages after it; per phase the persons who reached its first
    stage and NPS / CSAT / CES of the answers given in it (from the stages' additive counts)."""
    stages = [f["stage"] for f in feelings]
    at = stages.index(conversion_stage) if conversion_stage in stages else len(stages) // 2
    reached = {r["step"]: r["persons"] for r in funnel_rows if r["group"] == "all"}
    out = []
    for phase, members in zip(PHASES, (feelings[:at], feelings[at:at + 1], feelings[at + 1:]),
                              strict=True):
        if not members:
            continue
        total = {k: sum(int(m[k]) for m in members) for k in (
            "nps_respondents", "nps_promoters", "nps_detractors", "csat_respondents",
            "csat_satisfied", "ces_respondents", "ces_total")}
        out.append({
            "phase": phase, "stages": ", ".join(m["stage"] for m in members),
            "persons": reached.get(members[0]["step"], 0),
            "nps_respondents": total["nps_respondents"],
            "nps": (100.0 * (total["nps_promoters"] - total["nps_detractors"])
                    / total["nps_respondents"] if total["nps_respondents"] else None),
            "csat_respondents": total["csat_respondents"],
            "csat": (100.0 * total["csat_satisfied"] / total["csat_respondents"]
                     if total["csat_respondents"] else None),
            "ces_respondents": total["ces_respondents"],
            "ces": (total["ces_total"] / total["ces_respondents"]
                    if total["ces_respondents"] else None),
        })
    return out


def draw_phases(rows: Sequence[dict[str, Any]]) -> alt.HConcatChart:
    """Persons and satisfaction before, during and after purchase."""
    import altair as alt

    from journey_metrics.charts.common import band_axis, label

    tooltip = [alt.Tooltip("phase:N", title=t("Phase")), alt.Tooltip("stages:N", title=t("Stages")),
               alt.Tooltip("persons:Q", title=t("Persons who reached it"), format=",")]
    values = [{**r, "no_answers": t("no answers"), "phase": t(r["phase"]),
               "stages": ", ".join(label(s) for s in r["stages"].split(", "))} for r in rows]
    # sorted by the phases as shown (translated): sorting by their English names put a
    # translated page's phases in an order of their own in each panel
    phases = [t(r["phase"]) for r in rows]
    x = alt.X("phase:N", sort=phases, title=None, axis=band_axis(phases, _PHASE_WIDTH))
    persons = alt.Chart(alt.Data(values=values)).mark_bar(color="#0072b2").encode(
        x=x, y=alt.Y("persons:Q", title=t("Persons who reached it")), tooltip=tooltip,
    ).properties(width=_PHASE_WIDTH, height=200, title=t("Persons"))
    panels = [persons]
    for column, respondents, title_key, domain, fmt in _SCORES:
        title = t(title_key)
        tip = [*tooltip, alt.Tooltip(f"{column}:Q", title=title, format=fmt),
               alt.Tooltip(f"{respondents}:Q", title=t("Answers"), format=",")]
        base = alt.Chart(alt.Data(values=values)).encode(x=x, tooltip=tip)
        bars = base.transform_filter(f"datum.{column} != null").mark_bar(
            color="#009e73").encode(y=alt.Y(f"{column}:Q", title=title,
                                            scale=alt.Scale(domain=list(domain))),
                                    # from 0, or the scale's low end (CES starts at 1)
                                    y2=alt.datum(max(domain[0], 0)))
        # one word per line: "no answers" of neighbouring phases printed into each other
        none = base.transform_filter(f"datum.{column} == null").mark_text(
            color="#777", fontStyle="italic", lineBreak=" ").encode(
            y=alt.datum((domain[0] + domain[1]) / 2), text="no_answers:N")
        panels.append(alt.layer(bars, none).properties(width=_PHASE_WIDTH, height=200,
                                                        title=title))
    return alt.hconcat(*panels).properties(
        title=t("Before, during and after purchase: who gets there and how they feel"))


def satisfaction_blocks(rows: list[dict[str, Any]], page: dict[str, Any]) -> list[Block]:
    blocks = [
        Block("satisfaction", t("CSAT and CES beside NPS"),
              t("Three scores per month, each on its own scale: NPS (-100 to 100, above 0 is "
                "good), CSAT (% of answers 4-5 of 5, higher is better) and CES (mean effort "
                "1-7, lower is easier). Each person's latest answer in the month counts."),
              draw_satisfaction(rows), table=tuple(rows)),
        Block("satisfaction_channels", t("Satisfaction by channel"),
              t("Rows are first-touch channels, columns months; each cell shows the score of "
                "the people of that channel who answered that month (empty: no answers)."),
              draw_satisfaction_by_channel(rows), table=tuple(rows)),
    ]
    journey = page.get("journey")
    funnel = next((f for f in page.get("funnels", [])
                   if journey and f["name"] == journey["framework"]), None)
    if journey and funnel and journey.get("feelings"):
        phases = phase_rows(journey["feelings"], funnel["rows"],
                            page["settings"].get("conversion_stage", "purchase"))
        blocks.append(Block(
            "phases", t("Before, during and after purchase"),
            t("The journey in three phases (the stages before purchase, the purchase, and the "
              "stages after it): how many people reach each phase and how those who answered a "
              "survey in it feel."),
            draw_phases(phases)))
    return blocks


def churn_blocks(rows: list[dict[str, Any]], page: dict[str, Any]) -> list[Block]:
    overall = _overall(rows)
    unsub = sum(r["unsubscribed"] or 0 for r in overall)
    lost = sum(r["deals_lost"] or 0 for r in overall)
    from journey_metrics.report.i18n import current

    return [Block("churn", t("Churn"),
                  t("Bars: the share of the people active in the previous month who were not "
                    "active this month. The grey month has not ended, so it has no churn yet. "
                    "Hover for unsubscribes and lost deals."),
                  draw_churn(rows),
                  notes=(t("Over the whole period: {unsubscribes}, {lost}.",
                           unsubscribes=current().count(unsub, "{n} unsubscribe",
                                                        "{n} unsubscribes"),
                           lost=current().count(lost, "{n} lost deal", "{n} lost deals")),))]
