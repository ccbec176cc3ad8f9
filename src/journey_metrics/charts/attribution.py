"""Attribution chart (CONTRACT §9): conversions per channel (or campaign) under each model, the
models side by side, so a marketer sees at once where `last` and `first` disagree with the
multi-touch models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from journey_metrics.metrics.registry import Block
from journey_metrics.report.i18n import t

if TYPE_CHECKING:
    import altair as alt

MODEL_ORDER = ("first", "last", "last_non_direct", "linear", "position", "time_decay",
               "participation")
MODEL_LABELS = {"first": "first touch", "last": "last touch", "last_non_direct":
                "last non-direct", "linear": "linear", "position": "position (40/20/40)",
                "time_decay": "time decay", "participation": "participation (not additive)"}


def draw_attribution(rows: Sequence[dict[str, Any]], *, width: int = 560,
                     title: str = "Conversions credited per channel, by attribution model",
                     measure: str = "conversions", currency: str | None = None) -> alt.Chart:
    """Grouped bars: one group of bars per channel (or campaign), one bar per model. Rows are
    the attribution command's rows (model, group, conversions, revenue, share[, cost, cpa,
    roas]); groups are ordered by their `last`-model credit (else their first model's).
    `measure`: conversions or revenue (the bars' height); `currency` names the revenue axis'
    unit."""
    import altair as alt

    from journey_metrics.charts.common import band_axis

    models = [m for m in MODEL_ORDER if any(r["model"] == m for r in rows)]
    models += sorted({str(r["model"]) for r in rows} - set(models))
    labels = [t(MODEL_LABELS.get(m, m)) for m in models]
    reference = "last" if "last" in models else (models[0] if models else None)
    credit = {r["group"]: r["conversions"] for r in rows if r["model"] == reference}
    groups = sorted({str(r["group"]) for r in rows}, key=lambda g: (-credit.get(g, 0.0), g))
    has_spend = any("cost" in r for r in rows)
    values = [{
        "model": t(MODEL_LABELS.get(r["model"], r["model"])), "group": r["group"],
        "conversions": r["conversions"], "revenue": r["revenue"], "share": r["share"],
        **({k: r.get(k) for k in ("cost", "cpa", "roas")} if has_spend else {}),
    } for r in rows]
    tooltip = [
        alt.Tooltip("group:N", title=t("Group")), alt.Tooltip("model:N", title=t("Model")),
        alt.Tooltip("conversions:Q", title=t("Conversions credited"), format=",.2f"),
        alt.Tooltip("share:Q", title=t("Share of conversions"), format=".1%"),
        alt.Tooltip("revenue:Q", title=t("Revenue credited"), format=",.2f"),
    ]
    if has_spend:
        tooltip += [alt.Tooltip("cost:Q", title=t("Cost"), format=",.2f"),
                    alt.Tooltip("cpa:Q", title=t("Cost per conversion"), format=",.2f"),
                    alt.Tooltip("roas:Q", title=t("Return on spend"), format=".2f")]
    return alt.Chart(alt.Data(values=values), title=title, width=width).mark_bar().encode(
        x=alt.X("group:N", sort=groups, title=None, axis=band_axis(groups, width)),
        xOffset=alt.XOffset("model:N", sort=labels),
        y=alt.Y(f"{measure}:Q", title=t("Conversions credited") if measure == "conversions"
                else t("Revenue credited") + (f" ({currency})" if currency else "")),
        color=alt.Color("model:N", sort=labels, scale=alt.Scale(domain=labels),
                        legend=alt.Legend(title=t("Model"), orient="bottom", columns=4)),
        tooltip=tooltip,
    )


def draw_cost(rows: Sequence[dict[str, Any]], *, model: str = "last",
              width: int = 560) -> alt.HConcatChart:
    """Cost per conversion and return on spend per channel under one model (spend rows)."""
    import altair as alt

    values = [dict(r) for r in rows if r["model"] == model and r.get("cost")]
    tooltip = [alt.Tooltip("group:N", title=t("Channel")),
               alt.Tooltip("cost:Q", title=t("Cost"), format=",.2f"),
               alt.Tooltip("conversions:Q", title=t("Conversions credited"), format=",.2f"),
               alt.Tooltip("cpa:Q", title=t("Cost per conversion"), format=",.2f"),
               alt.Tooltip("revenue:Q", title=t("Revenue credited"), format=",.2f"),
               alt.Tooltip("roas:Q", title=t("Return on spend"), format=".2f")]
    base = alt.Chart(alt.Data(values=values)).encode(
        y=alt.Y("group:N", title=None, sort="-x"), tooltip=tooltip)
    # a channel that cost money and earned no conversion has no cost per conversion: it comes
    # first and says so in words, so that its missing bar does not read as the cheapest
    by_cpa = [r["group"] for r in sorted(values, key=lambda r: (
        r.get("cpa") is not None, -(r.get("cpa") or 0), r["group"]))]
    cpa_base = base.encode(y=alt.Y("group:N", title=None, sort=by_cpa))
    cpa_bars = cpa_base.mark_bar(color="#d55e00").encode(
        x=alt.X("cpa:Q", title=t("Cost per conversion")))
    none = cpa_base.transform_filter("datum.cpa == null").mark_text(
        align="left", color="#d55e00", fontStyle="italic").encode(
        x=alt.datum(0), text=alt.value(t("no conversions")))
    cpa = alt.layer(cpa_bars, none).properties(
        width=width // 2 - 40, title=t("Cost per conversion (lower is better)"))
    roas = base.mark_bar(color="#009e73").encode(
        x=alt.X("roas:Q", title=t("Revenue per unit of cost"))).properties(
        width=width // 2 - 40, title=t("Return on spend (higher is better)"))
    return alt.hconcat(cpa, roas).properties(
        title=t("Money in and out per channel ({model} credit)",
                model=t(MODEL_LABELS.get(model, model))))


def attribution_blocks(section: dict[str, Any], page: dict[str, Any]) -> list[Block]:
    import altair as alt

    from journey_metrics.charts.common import label

    stage = label(section["stage"])
    currency = section.get("currency")  # the page's reporting currency (decision 181)
    money = (" " + t("Revenue in {currency}: conversions in another currency count without "
                     "their revenue.", currency=currency)) if currency else ""
    rows = section["rows"]
    # conversions with no touch before them go to (none) (§9); when all do (a CRM-only
    # warehouse), seven identical bars need their reason
    credited = [r for r in rows if r["conversions"]]
    notes = ((t("No web session or email click came before these conversions: every model "
                "credits (none)."),) if credited and all(r["group"] == "(none)" for r in credited)
             else ())
    blocks = [Block(
        "attribution", t("Which channels earn the conversions"),
        t("Conversions ({stage}) and their revenue credited to each channel by each "
          "attribution model, side by side. Where the models disagree (last touch often "
          "favours direct), look at the multi-touch models (linear, position, time decay).",
          stage=stage) + money,
        alt.vconcat(
            draw_attribution(rows, title=t(
                "{stage}: conversions credited per channel, by attribution model", stage=stage)),
            draw_attribution(rows, measure="revenue", currency=currency, title=t(
                "{stage}: revenue credited per channel, by attribution model", stage=stage))),
        notes=notes)]
    if section.get("spend"):
        blocks.append(Block(
            "attribution_cost", t("Cost per conversion and return on spend"),
            t("From the spend file: what each channel cost per conversion it earned (last-touch "
              "credit) and the revenue it brought per unit of cost."),
            draw_cost(rows)))
    return blocks
