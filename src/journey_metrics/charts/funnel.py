"""Funnel charts: where people drop out, by channel, and the conversion trend."""

from __future__ import annotations

import json
from typing import Any

import altair as alt

from journey_metrics.charts.common import (
    CONTINUED,
    DROPPED,
    IN_WINDOW,
    WIDTH,
    biggest_drop,
    data,
    date_axis,
    framework_title,
    label,
    segment_colors,
    text_expr,
)
from journey_metrics.metrics.registry import Block
from journey_metrics.report.i18n import current, t


def funnel_chart(funnel: dict[str, Any]) -> alt.HConcatChart:
    rows = [r for r in funnel["rows"] if r["group"] == "all"]
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
        for order_no, (segment, count) in enumerate(((CONTINUED, r["persons"]),
                                                     (IN_WINDOW, in_window),
                                                     (DROPPED, dropped))):
            segments.append({**common, "segment": t(segment), "segment_order": order_no,
                             "count": count, "share": count / entered if entered else None})
        previous = r["persons"]
    order = [s for s in dict.fromkeys(x["stage"] for x in segments)]
    bars = alt.Chart(data(segments)).mark_bar().encode(
        y=alt.Y("stage:N", sort=order, title=None),
        x=alt.X("count:Q", stack="zero", title=t("Persons who reached the previous stage"),
                axis=alt.Axis(tickCount=4, labelOverlap=True, labelFlush=True)),
        color=alt.Color("segment:N", scale=segment_colors(), title=None,
                        legend=alt.Legend(orient="bottom")),
        order=alt.Order("segment_order:Q"),
        stroke=alt.condition("datum.pain_point", alt.value("black"), alt.value(None)),
        strokeWidth=alt.condition("datum.pain_point", alt.value(2), alt.value(0)),
        tooltip=[
            alt.Tooltip("stage:N", title=t("Stage")),
            alt.Tooltip("segment:N", title=t("Group")),
            alt.Tooltip("count:Q", title=t("Persons"), format=","),
            alt.Tooltip("entered:Q", title=t("Out of (previous stage)"), format=","),
            alt.Tooltip("share:Q", title=t("Share"), format=".1%"),
        ],
    ).properties(width=WIDTH - 180, height=32 * len(order),
                 title=t("Who continued and who dropped, stage by stage"))
    rates = [
        {"stage": f"{r['step']}. {label(r['stage'])}", "rate": r["conversion_from_previous"],
         "low": r["ci_low"], "high": r["ci_high"], "reached": r["persons"],
         "entered": r["persons"] + (r["drop_off"] or 0),
         "from_start": r["conversion_from_start"]}
        for r in rows if r["conversion_from_previous"] is not None
    ]
    tooltip = [
        alt.Tooltip("stage:N", title=t("Stage")),
        alt.Tooltip("rate:Q", title=t("Conversion from previous"), format=".1%"),
        alt.Tooltip("low:Q", title=t("95% interval from"), format=".1%"),
        alt.Tooltip("high:Q", title=t("95% interval to"), format=".1%"),
        alt.Tooltip("reached:Q", title=t("Reached"), format=","),
        alt.Tooltip("entered:Q", title=t("Out of"), format=","),
        alt.Tooltip("from_start:Q", title=t("Conversion from start"), format=".1%"),
    ]
    # the same rows as the bars beside it (the first stage's row stays empty: no previous
    # stage), so each point sits level with its stage's label
    base = alt.Chart(data(rates)).encode(y=alt.Y("stage:N", sort=order, title=None,
                                                  scale=alt.Scale(domain=order),
                                                  axis=alt.Axis(labels=False)))
    interval = base.mark_rule(color="#555").encode(
        x=alt.X("low:Q", title=t("Conversion from previous stage (95% interval)"),
                axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        x2="high:Q", tooltip=tooltip)
    point = base.mark_point(filled=True, size=70, color="#0072b2").encode(
        x="rate:Q", tooltip=tooltip)
    return alt.hconcat(
        bars, (interval + point).properties(width=170, height=32 * len(order),
                                            title=t("Conversion"))
    ).properties(title=alt.TitleParams(
        t("{title}: where people drop out (window {window})",
          title=framework_title(funnel["name"], funnel["title"]),
          window=current().window(funnel["window"])),
        # "did not go on", as the summary says: the drop-off holds persons still in their window
        subtitle=(t("Pain point: before {stage}, {rate} of those who reached the previous "
                    "stage did not go on", stage=label(worst["stage"]),
                    rate=current().percent(worst["drop_off_rate"], 0))
                  if worst else t("Nobody entered the funnel yet")),
    ))


def channel_chart(funnel: dict[str, Any]) -> alt.LayerChart | alt.FacetChart:
    """First-touch channel x stage heatmap: the share of each channel's entrants who reached the
    stage, written in each cell."""
    rows = [
        {"stage": f"{r['step']}. {label(r['stage'])}", "step": r["step"], "channel": r["group"],
         "rate": r["conversion_from_start"] if r["step"] > 1 else 1.0,
         "reached": r["persons"]}
        for r in funnel["rows"]
    ]
    starts = {r["channel"]: r["reached"] for r in rows if r["step"] == 1}
    for r in rows:
        r["entered"] = starts.get(r["channel"], 0)
    order = list(dict.fromkeys(r["stage"] for r in rows))
    channels = sorted({r["channel"] for r in rows if r["channel"] != "all"},
                      key=lambda c: (-starts.get(c, 0), c))
    everyone = t("all")  # the row of every entrant, in the page's language (channels are ids)
    for r in rows:
        if r["channel"] == "all":
            r["channel"] = everyone
    base = alt.Chart(data(rows)).encode(
        x=alt.X("stage:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("channel:N", sort=[everyone, *channels], title=t("First-touch channel")),
        tooltip=[
            alt.Tooltip("channel:N", title=t("Channel")),
            alt.Tooltip("stage:N", title=t("Stage")),
            alt.Tooltip("reached:Q", title=t("Persons who reached it"), format=","),
            alt.Tooltip("entered:Q", title=t("Out of (entered)"), format=","),
            alt.Tooltip("rate:Q", title=t("Conversion from start"), format=".1%"),
        ])
    heat = base.mark_rect().encode(color=alt.Color(
        "rate:Q", title=t("Reached, of entrants"), scale=alt.Scale(scheme="blues", domain=[0, 1]),
        legend=alt.Legend(format="%")))
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("rate:Q", format=".0%"),
        color=alt.condition("datum.rate > 0.55", alt.value("white"), alt.value("black")))
    return (heat + text).properties(
        width=WIDTH, height=24 * (len(channels) + 1),
        title=t("{title}: share of each channel's entrants reaching each stage",
                title=framework_title(funnel["name"], funnel["title"])))


def trend_chart(rows: list[dict[str, Any]], title: str) -> alt.LayerChart | alt.FacetChart:
    """`funnel --trend week` rows: conversion from the first stage per entry week and stage;
    weeks whose entrants may still convert (complete false) are on a grey band, faded."""
    values = [
        {"week": r["period"], "step": f"{r['step']}. {label(r['stage'])}",
         "rate": r["conversion_from_start"], "reached": r["persons"],
         "state": t("complete") if r["complete"] else t("still maturing")}
        for r in rows if r["step"] > 1
    ]
    entered = {r["period"]: r["persons"] for r in rows if r["step"] == 1}
    for v in values:
        v["entered"] = entered.get(v["week"], 0)
    open_weeks = sorted({r["period"] for r in rows if not r["complete"]})
    x = alt.X("week:O", title=t("Week people entered (starting Monday)"),
              axis=date_axis(labelAngle=-45))
    tooltip = [
        alt.Tooltip("week:N", title=t("Entry week")),
        alt.Tooltip("step:N", title=t("Stage")),
        alt.Tooltip("rate:Q", title=t("Conversion from start"), format=".1%"),
        alt.Tooltip("reached:Q", title=t("Reached"), format=","),
        alt.Tooltip("entered:Q", title=t("Out of (entered)"), format=","),
        alt.Tooltip("state:N", title=t("Week")),
    ]
    band = alt.Chart(data([{"week": w, "label": t("still maturing")} for w in open_weeks])
                     ).mark_rect(color="#d9d9d9", opacity=0.5).encode(
        x=x, tooltip=[alt.Tooltip("label:N", title=t("Week"))])
    base = alt.Chart(data(values)).encode(
        x=x,
        y=alt.Y("rate:Q", title=t("Reached the stage, of entrants"), axis=alt.Axis(format="%")),
        color=alt.Color("step:N", title=t("Stage"), scale=alt.Scale(scheme="category10")),
        tooltip=tooltip)
    line = base.mark_line()
    points = base.mark_point(filled=True, size=50).encode(
        opacity=alt.condition("datum.state == 'complete'", alt.value(1), alt.value(0.3)))
    return alt.layer(band, line, points).properties(
        width=WIDTH, height=260,
        title=alt.TitleParams(t("{title}: conversion by entry week", title=title),
                              subtitle=t("Grey weeks: entrants may still convert")))


def segment_chart(rows: list[dict[str, Any]], frameworks: list[dict[str, Any]]
                  ) -> alt.LayerChart | alt.FacetChart:
    """The funnels re-drawn for one persona segment at a time (a drop-down picks the segment and
    the framework, offline, from the pre-computed rows); grey bars are everybody."""
    everybody = {(r["framework"], r["step"]): r for r in rows if r["segment"] == ""}
    values = [{**r, "label": f"{r['step']}. {label(r['stage'])}",
               "everybody": everybody.get((r["framework"], r["step"]), {}).get(
                   "conversion_from_start"),
               "rate": r["conversion_from_start"] if r["step"] > 1 else 1.0,
               "text": current().number(r["persons"])}
              for r in rows if r["segment"] != ""]
    for v in values:
        if v["step"] == 1:
            v["everybody"] = 1.0
    for v in values:
        v["segment"] = f"{label(v['trait'])} = {v['value']}"
    segments = list(dict.fromkeys(v["segment"] for v in values)) or [t("(no persona traits)")]
    names = [f["name"] for f in frameworks]
    titles = [framework_title(f["name"], f["title"]) for f in frameworks]
    segment = alt.param(name="segment", value=segments[0], bind=alt.binding_select(
        options=segments, name=t("Segment") + ": "))
    framework = alt.param(name="framework", value=names[0] if names else "",
                          bind=alt.binding_select(options=names, labels=titles,
                                                  name=t("Framework") + ": "))
    base = alt.Chart(data(values)).transform_filter(
        "datum.segment == segment && datum.framework == framework").encode(
        y=alt.Y("label:N", title=None, sort=alt.EncodingSortField("step")),
        tooltip=[alt.Tooltip("segment:N", title=t("Segment")),
                 alt.Tooltip("label:N", title=t("Stage")),
                 alt.Tooltip("persons:Q", title=t("Persons"), format=","),
                 alt.Tooltip("rate:Q", title=t("Reached, of entrants"), format=".1%"),
                 alt.Tooltip("everybody:Q", title=t("Everybody"), format=".1%")])
    ghost = base.mark_bar(color="#cccccc", height=22).encode(
        x=alt.X("everybody:Q", title=t("Reached, of entrants"), axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])))
    bars = base.mark_bar(color="#0072b2", height=12).encode(x="rate:Q")
    text = base.mark_text(align="left", dx=4).encode(x="rate:Q", text="text:N")
    return alt.layer(ghost, bars, text).add_params(segment, framework).properties(
        width=WIDTH, height=220,
        # the title follows the drop-downs, so a PNG (drawn at the first choice) says whose
        # funnel it is
        title=alt.TitleParams(text_expr(
            "Funnel for {segment}: {framework}", segment="segment",
            framework=f"{json.dumps(titles)}[indexof({json.dumps(names)}, framework)]"),
            subtitle=t("Blue: the segment (persons written); grey: everybody")))


def segment_blocks(rows: list[dict[str, Any]], page: dict[str, Any]) -> list[Block]:
    traits = page["settings"].get("persona_traits") or []
    return [Block("segments", t("Funnels by persona"),
                  t("Pick a segment (the most common values of the persona traits {traits}) "
                    "and a framework: blue bars are the share of the segment's entrants "
                    "reaching each stage, grey bars everybody's.",
                    traits=", ".join(label(x) for x in traits) or t("(none configured)")),
                  segment_chart(rows, page["frameworks"]))]


def drivers_chart(rows: list[dict[str, Any]]) -> alt.LayerChart | alt.FacetChart:
    values = [{**r, "persons": r["converters"] + r["non_converters"],
               "direction_label": t(r["direction"]),
               "label": f"{r['item']} ({current().number(r['converters'] + r['non_converters'])})"}
              for r in rows]
    order = [v["label"] for v in sorted(values, key=lambda v: -v["odds_ratio"])]
    base = alt.Chart(data(values)).encode(
        y=alt.Y("label:N", sort=order, title=None),
        tooltip=[alt.Tooltip("item:N", title=t("Item")),
                 alt.Tooltip("converters:Q", title=t("Converters who had it"), format=","),
                 alt.Tooltip("non_converters:Q", title=t("Others who had it"), format=","),
                 alt.Tooltip("odds_ratio:Q", title=t("Odds ratio"), format=".2f"),
                 alt.Tooltip("p_value:Q", title=t("p"), format=".3g"),
                 alt.Tooltip("q_value:Q", title=t("q (BH)"), format=".3g")])
    bars = base.mark_bar().encode(
        x=alt.X("odds_ratio:Q", title=t("Odds ratio of converting (log scale; 1 = no link)"),
                scale=alt.Scale(type="log")),
        # from 1 (no link) to the odds ratio: a log scale has no 0 to start a bar at
        x2=alt.datum(1),
        color=alt.Color("direction_label:N", title=None, scale=alt.Scale(
            domain=[t("raises"), t("lowers")], range=["#009e73", "#d55e00"]),
            legend=alt.Legend(orient="bottom")))
    one = alt.Chart(data([{"x": 1}])).mark_rule(color="#555").encode(x="x:Q")
    return alt.layer(bars, one).properties(
        width=WIDTH - 120, height=max(60, 22 * len(values)),
        title=t("What goes with converting"))


def driver_blocks(section: dict[str, Any], page: dict[str, Any]) -> list[Block]:
    title = framework_title(section["framework"])
    rows = section["rows"]
    notes: tuple[str, ...] = ()
    if rows and not any(r["converters"] for r in rows):
        # with no converter, §7's smoothed odds ratios only mirror how rare an item is among
        # the others: no item raises or lowers anything
        rows, notes = [], (t("Nobody converted yet: there is nothing to compare."),)
    elif not rows:  # the chart's reference rule alone would read as a chart
        notes = (t("No event or trait was had by 25 or more of the people who entered yet: "
                   "there is nothing to compare."),)
    return [Block("drivers", t("What raises and lowers conversion"),
                  t("{title}: events and traits that people who converted had more often "
                    "(green) or less often (orange) than the others, with the number of persons "
                    "who had them; only items 25 or more persons had. An association, not a "
                    "cause.", title=title),
                  drivers_chart(rows), notes=notes, table=tuple(rows))]


def funnel_blocks(funnels: list[dict[str, Any]], page: dict[str, Any]) -> list[Block]:
    """Two blocks per framework: the funnel, and the same funnel by first-touch channel."""
    blocks = []
    for funnel in funnels:
        blocks.append(Block(
            f"funnel_{funnel['name']}", framework_title(funnel["name"], funnel["title"]),
            t("Each bar is everybody who reached the previous stage: blue went on, yellow "
              "dropped out but may still continue (their window is open), vermillion dropped "
              "out. The outlined bar is the biggest drop-off. Right: conversion with its 95% "
              "interval."),
            funnel_chart(funnel)))
        blocks.append(Block(
            f"channels_{funnel['name']}",
            t("{title} by channel", title=framework_title(funnel["name"], funnel["title"])),
            t("Each row is the people who first came through one channel (the top row is "
              "everybody): the share of them who reached each stage."),
            channel_chart(funnel)))
    return blocks


def trend_blocks(trend: list[dict[str, Any]], page: dict[str, Any]) -> list[Block]:
    journey = next((f for f in page["funnels"]
                    if f["name"] == page["settings"]["journey_framework"]), None)
    name = page["settings"]["journey_framework"]
    title = framework_title(name, journey["title"] if journey else None)
    return [Block("trend", t("Conversion trend"),
                  t("Each line is one stage of the journey; a point is the share of the people "
                    "who entered that week who reached it. Grey weeks are still maturing: their "
                    "entrants may still convert."),
                  trend_chart(trend, title),
                  # the command's rows, stage by stage (the chart's own data named no stage
                  # in the table: its step column is geometry there)
                  table=tuple({"group": r["group"], "period": r["period"], "stage": r["stage"],
                               "persons": r["persons"],
                               "conversion_from_start": r["conversion_from_start"],
                               "status": t("complete") if r["complete"] else
                               t("still maturing")} for r in trend))]
