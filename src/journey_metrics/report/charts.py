"""Altair chart builders. Input: mart rows only (lists of dicts); output: Altair charts.

Every mark has a tooltip with exact numbers and their denominators; titles and axes use plain
words, not column names.
"""

from __future__ import annotations

from typing import Any

import altair as alt

from journey_metrics.report.data import FrameworkFunnel

CONTINUED, IN_WINDOW, DROPPED = "continued", "dropped, still in window", "dropped"
SEGMENT_COLORS = alt.Scale(domain=[CONTINUED, IN_WINDOW, DROPPED],
                           range=["#4c78a8", "#f2cf5b", "#e45756"])
WIDTH = 520


def label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _data(rows: list[dict[str, Any]]) -> alt.Data:
    return alt.Data(values=rows)


def biggest_drop(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The pain point: the stage with the highest drop-off rate (all persons)."""
    candidates = [r for r in rows if r["group"] == "all" and r["drop_off_rate"] is not None]
    return max(candidates, key=lambda r: (r["drop_off_rate"], -r["step"]), default=None)


def funnel_chart(funnel: FrameworkFunnel) -> alt.HConcatChart:
    rows = [r for r in funnel.rows if r["group"] == "all"]
    worst = biggest_drop(rows)
    segments: list[dict[str, Any]] = []
    previous = None
    for r in rows:
        stage = f"{r['step']}. {label(r['stage'])}"
        entered = previous if previous is not None else r["persons"]
        common = {"stage": stage, "step": r["step"], "entered": entered,
                  "reached": r["persons"], "pain_point": worst is not None and r is worst}
        in_window = r["in_progress"] or 0
        dropped = (r["drop_off"] or 0) - in_window
        for segment, count in ((CONTINUED, r["persons"]), (IN_WINDOW, in_window),
                               (DROPPED, dropped)):
            segments.append({**common, "segment": segment, "count": count,
                             "share": count / entered if entered else None})
        previous = r["persons"]
    order = [s for s in dict.fromkeys(x["stage"] for x in segments)]
    bars = alt.Chart(_data(segments)).mark_bar().encode(
        y=alt.Y("stage:N", sort=order, title=None),
        x=alt.X("count:Q", stack="zero", title="Persons who reached the previous stage"),
        color=alt.Color("segment:N", scale=SEGMENT_COLORS, title=None,
                        legend=alt.Legend(orient="bottom")),
        order=alt.Order("segment_order:Q"),
        stroke=alt.condition("datum.pain_point", alt.value("black"), alt.value(None)),
        strokeWidth=alt.condition("datum.pain_point", alt.value(2), alt.value(0)),
        tooltip=[
            alt.Tooltip("stage:N", title="Stage"),
            alt.Tooltip("segment:N", title="Group"),
            alt.Tooltip("count:Q", title="Persons", format=","),
            alt.Tooltip("entered:Q", title="Out of (previous stage)", format=","),
            alt.Tooltip("share:Q", title="Share", format=".1%"),
        ],
    ).transform_calculate(
        segment_order=f"indexof(['{CONTINUED}', '{IN_WINDOW}', '{DROPPED}'], datum.segment)"
    ).properties(width=WIDTH - 180, height=32 * len(order),
                 title="Who continued and who dropped, stage by stage")
    rates = [
        {"stage": f"{r['step']}. {label(r['stage'])}", "rate": r["conversion_from_previous"],
         "low": r["ci_low"], "high": r["ci_high"], "reached": r["persons"],
         "entered": r["persons"] + (r["drop_off"] or 0),
         "from_start": r["conversion_from_start"]}
        for r in rows if r["conversion_from_previous"] is not None
    ]
    tooltip = [
        alt.Tooltip("stage:N", title="Stage"),
        alt.Tooltip("rate:Q", title="Conversion from previous", format=".1%"),
        alt.Tooltip("low:Q", title="95% interval from", format=".1%"),
        alt.Tooltip("high:Q", title="95% interval to", format=".1%"),
        alt.Tooltip("reached:Q", title="Reached", format=","),
        alt.Tooltip("entered:Q", title="Out of", format=","),
        alt.Tooltip("from_start:Q", title="Conversion from start", format=".1%"),
    ]
    base = alt.Chart(_data(rates)).encode(y=alt.Y("stage:N", sort=order, title=None,
                                                  axis=alt.Axis(labels=False)))
    interval = base.mark_rule(color="#555").encode(
        x=alt.X("low:Q", title="Conversion from previous stage (95% interval)",
                axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        x2="high:Q", tooltip=tooltip)
    point = base.mark_point(filled=True, size=70, color="#4c78a8").encode(
        x="rate:Q", tooltip=tooltip)
    return alt.hconcat(
        bars, (interval + point).properties(width=170, height=32 * len(order), title="Conversion")
    ).properties(title=alt.TitleParams(
        f"{funnel.title}: where people drop out (window {funnel.window})",
        subtitle=(f"Pain point: before {label(worst['stage'])}, "
                  f"{worst['drop_off_rate']:.0%} of those who reached the previous stage left"
                  if worst else "Nobody entered the funnel yet"),
    ))


def channel_chart(funnel: FrameworkFunnel) -> alt.Chart:
    rows = [
        {"stage": f"{r['step']}. {label(r['stage'])}", "step": r["step"], "channel": r["group"],
         "rate": r["conversion_from_start"] if r["step"] > 1 else 1.0,
         "reached": r["persons"]}
        for r in funnel.rows
    ]
    starts = {r["channel"]: r["reached"] for r in rows if r["step"] == 1}
    for r in rows:
        r["entered"] = starts.get(r["channel"], 0)
    order = list(dict.fromkeys(r["stage"] for r in rows))
    return alt.Chart(_data(rows)).mark_line(point=True).encode(
        x=alt.X("stage:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("rate:Q", title="Share of entrants still in the journey",
                axis=alt.Axis(format="%")),
        color=alt.Color("channel:N", title="First-touch channel"),
        strokeDash=alt.condition("datum.channel == 'all'", alt.value([5, 3]), alt.value([1, 0])),
        tooltip=[
            alt.Tooltip("channel:N", title="Channel"),
            alt.Tooltip("stage:N", title="Stage"),
            alt.Tooltip("reached:Q", title="Persons who reached it", format=","),
            alt.Tooltip("entered:Q", title="Out of (entered)", format=","),
            alt.Tooltip("rate:Q", title="Conversion from start", format=".1%"),
        ],
    ).properties(width=WIDTH, height=260,
                 title=f"{funnel.title}: the same funnel by first-touch channel")


def trend_chart(rows: list[dict[str, Any]], title: str) -> alt.Chart:
    values = [
        {"week": r["week"], "step": f"{r['step']}. {label(r['stage'])}",
         "rate": r["conversion_from_previous"], "reached": r["persons"],
         "entered": r["persons"] + (r["drop_off"] or 0), "in_progress": r["in_progress"]}
        for r in rows if r["group"] == "all"
    ]
    # ordinal weeks ('YYYY-MM-DD'): a temporal axis would be drawn in the viewer's time zone
    return alt.Chart(_data(values)).mark_line(point=True).encode(
        x=alt.X("week:O", title="Week people entered (starting Monday)",
                axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("rate:Q", title="Conversion from previous stage", axis=alt.Axis(format="%")),
        color=alt.Color("step:N", title="Step into"),
        tooltip=[
            alt.Tooltip("week:N", title="Entry week"),
            alt.Tooltip("step:N", title="Step into"),
            alt.Tooltip("rate:Q", title="Conversion", format=".1%"),
            alt.Tooltip("reached:Q", title="Reached", format=","),
            alt.Tooltip("entered:Q", title="Out of", format=","),
            alt.Tooltip("in_progress:Q", title="Dropped but still in window", format=","),
        ],
    ).properties(width=WIDTH, height=260, title=f"{title}: step conversion by entry week")


def retention_chart(rows: list[dict[str, Any]]) -> alt.LayerChart:
    values = [
        {**r, "cohort_label": f"{r['cohort']} ({r['cohort_size']:,})"}
        for r in rows if r["rate"] is not None
    ]
    order = sorted({v["cohort_label"] for v in values})
    base = alt.Chart(_data(values)).encode(
        x=alt.X("period:O", title="Weeks since activation", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("cohort_label:N", sort=order, title="Cohort: week of activation (size)"),
        tooltip=[
            alt.Tooltip("cohort:N", title="Cohort week"),
            alt.Tooltip("period:O", title="Week"),
            alt.Tooltip("retained:Q", title="Came back", format=","),
            alt.Tooltip("cohort_size:Q", title="Out of (cohort size)", format=","),
            alt.Tooltip("rate:Q", title="Retention", format=".1%"),
        ],
    )
    cells = base.mark_rect().encode(
        color=alt.Color("rate:Q", title="Retention", scale=alt.Scale(scheme="blues",
                                                                     domain=[0, 1]),
                        legend=alt.Legend(format="%")))
    text = base.mark_text(fontSize=9).encode(
        text=alt.Text("rate:Q", format=".0%"),
        color=alt.condition("datum.rate > 0.6", alt.value("white"), alt.value("black")))
    return (cells + text).properties(
        width=WIDTH, height=max(120, 18 * len(order)),
        title="Retention: share of each weekly cohort active again N weeks after activation")


def referral_chart(rows: list[dict[str, Any]]) -> alt.HConcatChart:
    counts = [
        {"period": r["period"], "what": what, "count": r[key], "active": r["active_persons"]}
        for r in rows
        for what, key in (("Invites sent", "invites_sent"),
                          ("Referred signups", "referred_signups"))
    ]
    rates = [
        {"period": r["period"], "what": what, "value": r[key], "numerator": r[num],
         "denominator": r[den], "numerator_label": num_label, "denominator_label": den_label}
        for r in rows
        for what, key, num, den, num_label, den_label in (
            ("Referral rate", "referral_rate", "referrers", "active_persons", "referrers",
             "active persons"),
            ("k-factor", "k_factor", "referred_signups", "active_persons", "referred signups",
             "active persons"),
            ("Referred share of signups", "referred_share", "referred_signups", "signups",
             "referred signups", "signups"),
        )
        if r[key] is not None
    ]
    bars = alt.Chart(_data(counts)).mark_bar().encode(
        x=alt.X("period:O", title="Month", axis=alt.Axis(labelAngle=0)),
        xOffset="what:N",
        y=alt.Y("count:Q", title="Count"),
        color=alt.Color("what:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("period:N", title="Month"), alt.Tooltip("what:N", title="What"),
                 alt.Tooltip("count:Q", title="Count", format=","),
                 alt.Tooltip("active:Q", title="Active persons that month", format=",")],
    ).properties(width=260, height=220, title="Invites and referred signups")
    lines = alt.Chart(_data(rates)).mark_line(point=True).encode(
        x=alt.X("period:O", title="Month", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("value:Q", title="Rate"),
        color=alt.Color("what:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("period:N", title="Month"), alt.Tooltip("what:N", title="Measure"),
                 alt.Tooltip("value:Q", title="Value", format=".3f"),
                 alt.Tooltip("numerator:Q", title="Numerator", format=","),
                 alt.Tooltip("numerator_label:N", title="counts"),
                 alt.Tooltip("denominator:Q", title="Denominator", format=","),
                 alt.Tooltip("denominator_label:N", title="out of")],
    ).properties(width=260, height=220, title="Referral rate, k-factor, referred share")
    return alt.hconcat(bars, lines).resolve_scale(color="independent").properties(
        title="Referral: who brings others, by month")


def nps_chart(rows: list[dict[str, Any]]) -> alt.HConcatChart:
    tooltip = [
        alt.Tooltip("group:N", title="Channel"), alt.Tooltip("period:N", title="Month"),
        alt.Tooltip("nps:Q", title="NPS", format=".0f"),
        alt.Tooltip("promoters:Q", title="Promoters (9-10)", format=","),
        alt.Tooltip("passives:Q", title="Passives (7-8)", format=","),
        alt.Tooltip("detractors:Q", title="Detractors (0-6)", format=","),
        alt.Tooltip("respondents:Q", title="Out of (respondents)", format=","),
    ]
    overall = alt.Chart(_data([r for r in rows if r["group"] == "all"])).mark_line(
        point=True).encode(
        x=alt.X("period:O", title="Month", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("nps:Q", title="NPS (-100 to 100)", scale=alt.Scale(domain=[-100, 100])),
        tooltip=tooltip,
    ).properties(width=240, height=220, title="NPS by month, everybody")
    zero = alt.Chart(_data([{"y": 0}])).mark_rule(color="#999").encode(y="y:Q")
    by_channel = alt.Chart(_data([r for r in rows if r["group"] != "all"])).mark_rect().encode(
        x=alt.X("period:O", title="Month", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("group:N", title="First-touch channel"),
        color=alt.Color("nps:Q", title="NPS", scale=alt.Scale(scheme="redyellowgreen",
                                                              domain=[-100, 100])),
        tooltip=tooltip,
    ).properties(width=240, height=220, title="NPS by month and channel")
    return alt.hconcat(overall + zero, by_channel).properties(
        title="Loyalty: Net Promoter Score (% promoters minus % detractors)")


def journey_map_chart(
    stages: list[str], touchpoints: list[dict[str, Any]], emotion: list[dict[str, Any]],
    funnel: FrameworkFunnel,
) -> alt.VConcatChart:
    names = {k: f"{k}. {label(s)}" for k, s in enumerate(stages, start=1)}
    order = list(names.values())
    reached = {r["step"]: r["persons"] for r in funnel.rows if r["group"] == "all"}
    points = [
        {**t, "stage": names[t["step"]], "touchpoint": f"{t['source']} · {t['channel']}",
         "stage_persons": reached.get(t["step"], 0)}
        for t in touchpoints
    ]
    bubbles = alt.Chart(_data(points)).mark_circle(opacity=0.8).encode(
        x=alt.X("stage:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("touchpoint:N", title="Touchpoint (source · channel)"),
        size=alt.Size("events:Q", title="Events", scale=alt.Scale(range=[20, 1200])),
        color=alt.Color("source:N", title="Source"),
        tooltip=[alt.Tooltip("stage:N", title="Stage"),
                 alt.Tooltip("touchpoint:N", title="Touchpoint"),
                 alt.Tooltip("events:Q", title="Events", format=","),
                 alt.Tooltip("persons:Q", title="Persons", format=",")],
    ).properties(width=WIDTH, height=max(160, 22 * len({p["touchpoint"] for p in points})),
                 title="Touchpoints: where each stage happens")
    worst = biggest_drop(funnel.rows)
    feelings = [
        {"stage": names[e["step"]], "nps": e["nps"], "respondents": e["respondents"],
         "mean_score": e["mean_score"], "promoters": e["promoters"],
         "detractors": e["detractors"]}
        for e in emotion if e["step"] in names
    ]
    line = alt.Chart(_data(feelings)).mark_line(point=alt.OverlayMarkDef(size=80),
                                                interpolate="monotone").encode(
        x=alt.X("stage:N", sort=order, title=None, scale=alt.Scale(domain=order),
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("nps:Q", title="How they feel (NPS of answers given at this stage)",
                scale=alt.Scale(domain=[-100, 100])),
        tooltip=[alt.Tooltip("stage:N", title="Stage"),
                 alt.Tooltip("nps:Q", title="NPS", format=".0f"),
                 alt.Tooltip("mean_score:Q", title="Mean score", format=".1f"),
                 alt.Tooltip("promoters:Q", title="Promoters", format=","),
                 alt.Tooltip("detractors:Q", title="Detractors", format=","),
                 alt.Tooltip("respondents:Q", title="Out of (answers)", format=",")],
    )
    zero = alt.Chart(_data([{"y": 0}])).mark_rule(color="#999", strokeDash=[3, 3]).encode(
        y="y:Q")
    layers: list[alt.Chart] = [zero, line]
    if worst is not None:
        pain = [{"stage": names[worst["step"]], "label": f"pain point: "
                 f"{worst['drop_off_rate']:.0%} leave before this stage",
                 "drop_off": worst["drop_off"]}]
        layers.append(alt.Chart(_data(pain)).mark_rule(color="#e45756", strokeWidth=3).encode(
            x=alt.X("stage:N", sort=order, scale=alt.Scale(domain=order)),
            tooltip=[alt.Tooltip("label:N", title="Pain point"),
                     alt.Tooltip("drop_off:Q", title="Persons lost", format=",")]))
        layers.append(alt.Chart(_data(pain)).mark_text(
            color="#e45756", dy=-95, fontWeight="bold").encode(
            x=alt.X("stage:N", sort=order, scale=alt.Scale(domain=order)), text="label:N"))
    emotion_chart = alt.layer(*layers).properties(width=WIDTH, height=200,
                                                  title="Emotion curve")
    return alt.vconcat(bubbles, emotion_chart).properties(
        title=alt.TitleParams(f"Journey map: {funnel.title}",
                              subtitle="Stages across; touchpoints and how customers feel below"))
