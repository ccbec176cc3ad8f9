"""The first screen of the dashboard: the answers a marketer came for, in words, generated from
the page data (mart rows) by templates in the message catalogues, each linking to its chart.

Every sentence keeps the numbers it states (`values`), so tests compare them with the rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from journey_metrics.report.i18n import current, t

SUMMARY_MODEL = "linear"  # the credit the "earns the most conversions" sentence uses
NONE_GROUP = "(none)"


@dataclass(frozen=True)
class Sentence:
    key: str
    text: str
    link: str  # the element id of the chart behind it
    values: dict[str, Any] = field(default_factory=dict)


def _journey_funnel(page: dict[str, Any]) -> dict[str, Any] | None:
    name = page["settings"].get("journey_framework")
    return next((f for f in page.get("funnels", []) if f["name"] == name), None)


def month_of(period: str, page: dict[str, Any]) -> str:
    """A calendar month of the page (its first day, ISO) in words, marked "(so far)" while it has
    not ended at the page's as_of (in the page's zone): a month's score is then still moving."""
    text = current().month(period)
    return t("{month} (so far)", month=text) if not_ended(period, page) else text


def not_ended(period: str, page: dict[str, Any], unit: str = "month") -> bool:
    """Whether the calendar period starting on `period` (ISO day) has not ended at the page's
    as_of, in the page's zone."""
    from datetime import date, datetime, time

    from journey_metrics.metrics.common import next_period
    from journey_metrics.zones import zone as zone_named

    if not page.get("as_of"):
        return False
    following = next_period(date.fromisoformat(period[:10]), unit)
    zone = zone_named(page.get("settings", {}).get("tz") or "UTC")
    as_of = datetime.fromisoformat(page["as_of"].replace("Z", "+00:00"))
    return as_of < datetime.combine(following, time(), zone)


def _answered(sentence: str, *months: dict[str, Any]) -> str:
    """A CSAT sentence with its months' numbers of answers before its final stop, as the NPS
    sentence has: "fell from 67 to 0" on 3 answers and then 1 is no trend (a dashboard audit)."""
    counts = [m.get("csat_respondents") for m in months]
    if any(c is None for c in counts):
        return sentence
    said = ", ".join(current().count(int(c), "{n} answer", "{n} answers")
                     for c in counts if c is not None)
    return f"{sentence.removesuffix('.')} ({said})."


def sentences(page: dict[str, Any]) -> list[Sentence]:
    from journey_metrics.charts.common import biggest_drop, label

    lang = current()
    out: list[Sentence] = []
    funnel = _journey_funnel(page)
    rows = [r for r in (funnel or {}).get("rows", []) if r["group"] == "all"]
    worst = biggest_drop(rows)
    if worst is not None:
        previous = next(r for r in rows if r["step"] == worst["step"] - 1)
        values = {"stage": worst["stage"], "previous": previous["stage"],
                  "rate": worst["drop_off_rate"], "entered": previous["persons"],
                  "lost": worst["drop_off"], "open": worst.get("in_progress") or 0}
        words = dict(stage=label(worst["stage"]), rate=lang.percent(worst["drop_off_rate"]),
                     entered=lang.persons(previous["persons"]), previous=label(previous["stage"]),
                     lost=lang.persons(worst["drop_off"]))
        # the drop-off counts persons whose window is still open (§4): they have not left yet
        text = (t("The biggest drop-off is before {stage}: {rate} of the {entered} who reached "
                  "{previous} did not go on ({lost}); {open} of them still may, their window "
                  "is open.", open=lang.number(values["open"]), **words) if values["open"]
                else t("The biggest drop-off is before {stage}: {rate} of the {entered} who "
                       "reached {previous} did not go on ({lost}).", **words))
        out.append(Sentence("drop", text, "journey_map", values))
        exits = [e for e in page.get("journey", {}).get("exits", [])
                 if e["step"] == previous["step"]]
        if exits:
            top = exits[0]
            out.append(Sentence("exit", t(
                "Most of them stopped after {touchpoint}: {persons}, {share} of those who "
                "stopped at {stage}.", touchpoint=top["touchpoint"],
                persons=lang.persons(top["persons"]),
                share=lang.percent(top["share_of_drop_off"]), stage=label(previous["stage"])),
                "journey_map", {"touchpoint": top["touchpoint"], "persons": top["persons"],
                                "share": top["share_of_drop_off"]}))
    attribution = page.get("attribution") or {}
    credited = [r for r in attribution.get("rows", [])
                if r["model"] == SUMMARY_MODEL and r["group"] != NONE_GROUP]
    if credited and any(r["conversions"] for r in credited):
        best = max(credited, key=lambda r: (r["conversions"], r["group"]))
        total = sum(r["conversions"] for r in attribution["rows"] if r["model"] == SUMMARY_MODEL)
        last = next((r["conversions"] for r in attribution["rows"]
                     if r["model"] == "last" and r["group"] == best["group"]), 0.0)
        out.append(Sentence("channel", t(
            "{channel} earns the most conversions ({stage}): {conversions} of {total} with "
            "linear credit ({share}); last touch gives it {last}.", channel=best["group"],
            stage=label(attribution["stage"]), conversions=lang.number(best["conversions"], 1),
            total=lang.number(total, 1), share=lang.percent(best["share"]),
            last=lang.number(last, 1)), "attribution",
            {"channel": best["group"], "conversions": best["conversions"], "total": total,
             "share": best["share"], "last": last}))
    costly = [r for r in attribution.get("rows", [])
              if r["model"] == "last" and r.get("cost") and r.get("cpa") is not None]
    # money spent on a channel no conversion came through costs more than any that earned one
    fruitless = [r for r in attribution.get("rows", [])
                 if r["model"] == "last" and r.get("cost") and r.get("cpa") is None]
    if fruitless:
        worst = max(fruitless, key=lambda r: (r["cost"], r["group"]))
        out.append(Sentence("cost", t(
            "{channel} spent {cost} without a last-touch conversion.", channel=worst["group"],
            cost=lang.number(worst["cost"], 2)), "attribution_cost",
            {"channel": worst["group"], "cpa": None, "cost": worst["cost"], "conversions": 0}))
    elif costly:
        worst_cpa = max(costly, key=lambda r: (r["cpa"], r["group"]))
        out.append(Sentence("cost", t(
            "{channel} costs the most per conversion: {cpa} ({cost} for {conversions} "
            "last-touch conversions).", channel=worst_cpa["group"],
            cpa=lang.number(worst_cpa["cpa"], 2), cost=lang.number(worst_cpa["cost"], 2),
            conversions=lang.number(worst_cpa["conversions"], 1)), "attribution_cost",
            {"channel": worst_cpa["group"], "cpa": worst_cpa["cpa"], "cost": worst_cpa["cost"],
             "conversions": worst_cpa["conversions"]}))
    elif attribution and not attribution.get("spend"):
        out.append(Sentence("no_spend", t(
            "Cost per conversion needs a spend file (report --spend FILE or spend: in "
            "config/report.yaml)."), "attribution", {}))
    satisfaction = [r for r in page.get("satisfaction", []) if r.get("group") == "all"]
    answered = sorted((r for r in satisfaction if r.get("nps") is not None),
                      key=lambda r: r["period"])
    if answered:
        latest = answered[-1]
        out.append(Sentence("nps", t(
            "NPS in the month of {month} is {nps} ({answers}).",
            month=month_of(latest["period"], page), nps=lang.number(latest["nps"]),
            answers=lang.count(latest["nps_respondents"], "{n} answer", "{n} answers")),
            "satisfaction",
            {"period": latest["period"], "nps": latest["nps"],
             "answers": latest["nps_respondents"]}))
    csat = sorted((r for r in satisfaction if r.get("csat") is not None),
                  key=lambda r: r["period"])
    if len(csat) >= 2:
        before, after = csat[-2], csat[-1]
        key = ("CSAT rose from {before} in the month of {month_before} to {after} in the month "
               "of {month_after}." if after["csat"] > before["csat"] else
               "CSAT fell from {before} in the month of {month_before} to {after} in the month "
               "of {month_after}." if after["csat"] < before["csat"] else
               "CSAT stayed at {after} from the month of {month_before} to the month of "
               "{month_after}.")
        out.append(Sentence("csat", _answered(t(
            key, before=lang.number(before["csat"]), after=lang.number(after["csat"]),
            month_before=month_of(before["period"], page),
            month_after=month_of(after["period"], page)), before, after),
            "satisfaction", {"before": before["csat"], "after": after["csat"],
                             "periods": [before["period"], after["period"]]}))
    elif csat:
        only = csat[-1]
        out.append(Sentence("csat", _answered(t(
            "CSAT in the month of {month} is {csat}.", month=month_of(only["period"], page),
            csat=lang.number(only["csat"])), only), "satisfaction",
            {"after": only["csat"], "periods": [only["period"]]}))
    return out
