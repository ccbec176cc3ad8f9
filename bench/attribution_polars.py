"""The `last` and `linear` attribution models (CONTRACT §9, `--by channel`) in plain polars:
the dataframe peer of `journey-metrics attribution` in the benchmarks.

Input: events.parquet from `journey-metrics export` (event_id, source, event_name, occurred_at,
person_id, channel, revenue). Touches are web sessions (a person's web events with gaps of at
most 30 minutes; the first event gives time, id and channel) and email clicks (channel `email`);
a conversion's path is its person's touches in [conversion - lookback, conversion], ordered by
(time, id, sessions before clicks). Returns the engine's rows: model, group, conversions,
revenue, share; models in the order given, then conversions descending, then group.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

SESSION_GAP = timedelta(minutes=30)
MODELS = ("last", "linear")


def touches(events: pl.LazyFrame) -> pl.LazyFrame:
    web = (
        events.filter(pl.col("source") == "web")
        .select("person_id", "event_id", "occurred_at", "channel")
        .sort("person_id", "occurred_at", "event_id")
        .with_columns(previous_at=pl.col("occurred_at").shift(1).over("person_id"))
        .filter(pl.col("previous_at").is_null()
                | (pl.col("occurred_at") - pl.col("previous_at") > SESSION_GAP))
        .select("person_id", pl.col("occurred_at").alias("touched_at"),
                pl.col("event_id").alias("touch_id"), pl.lit(0).alias("kind"),
                pl.col("channel").fill_null("(none)"))
    )
    clicks = events.filter(pl.col("event_name") == "email_click").select(
        "person_id", pl.col("occurred_at").alias("touched_at"),
        pl.col("event_id").alias("touch_id"), pl.lit(1).alias("kind"),
        pl.lit("email").alias("channel"))
    return pl.concat([web, clicks])


def attribute(events_parquet: Path | str, conversion: str, as_of: datetime, *,
              lookback: timedelta = timedelta(days=30),
              models: tuple[str, ...] = MODELS) -> list[dict[str, Any]]:
    events = pl.scan_parquet(events_parquet)
    conversions = (
        events.filter((pl.col("event_name") == conversion) & (pl.col("occurred_at") <= as_of))
        .select("person_id", "source", "event_id", pl.col("occurred_at").alias("converted_at"),
                pl.col("revenue").fill_null(0.0).cast(pl.Float64).alias("value"))
        .with_row_index("conversion_no")
    )
    paths = (
        conversions.join(touches(events), on="person_id")
        .filter(pl.col("touched_at").is_between(pl.col("converted_at") - lookback,
                                                pl.col("converted_at")))
        .sort("conversion_no", "touched_at", "touch_id", "kind")
    )
    last = paths.group_by("conversion_no").agg(
        pl.col("channel").last().alias("group"), pl.col("value").first(),
        pl.lit(1.0).alias("credit"))
    linear = paths.select(
        "conversion_no", pl.col("channel").alias("group"), "value",
        (1.0 / pl.len().over("conversion_no")).alias("credit"))
    untouched = conversions.join(paths.select("conversion_no").unique(), on="conversion_no",
                                 how="anti").select(
        "conversion_no", pl.lit("(none)").alias("group"), "value", pl.lit(1.0).alias("credit"))
    per_model = {"last": pl.concat([last.select(untouched.collect_schema().names()),
                                    untouched]),
                 "linear": pl.concat([linear, untouched])}
    total = conversions.select(pl.len()).collect().item()
    groups = pl.concat([paths.select(pl.col("channel").alias("group")),
                        untouched.select("group")]).unique()
    rows: list[dict[str, Any]] = []
    for model in models:
        summed = (
            groups.join(
                per_model[model].group_by("group").agg(
                    pl.col("credit").sum().alias("conversions"),
                    (pl.col("credit") * pl.col("value")).sum().alias("revenue")),
                on="group", how="left")
            .with_columns(pl.col("conversions", "revenue").fill_null(0.0))
            .sort(["conversions", "group"], descending=[True, False])
            .collect()
        )
        rows += [{"model": model, "group": r["group"], "conversions": r["conversions"],
                  "revenue": r["revenue"], "share": r["conversions"] / total}
                 for r in summed.iter_rows(named=True)]
    return rows
