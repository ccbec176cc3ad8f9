"""The best-attempt funnel as a polars `join_asof` chain: the fastest dataframe peer measured here.

Persons are the export's integer `person_no` (no string ids to code or compare); one sort by
(person, time, stage); each step is a `join_asof` on the row position, by person, with no
further sort.

Input: events.parquet from `journey-metrics export`; a framework whose stages are disjoint event
names. Per level, the running maximum of attempt starts over each person's earlier events is
joined (as-of, strictly before) onto the next stage's events, which continue the attempt when they
lie within the window. Counts persons per stage.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl


def funnel_counts(events_parquet: Path, stages: list[str], window: timedelta) -> list[int]:
    """The plain funnel: persons per stage (the chain of `_levels`)."""
    levels = _levels(_stage_events(events_parquet, stages), len(stages), window)
    return [int((levels["level"] >= k).sum()) for k in range(1, len(stages) + 1)]


def funnel_by_channel(events_parquet: Path, stages: list[str], window: timedelta
                      ) -> dict[str, list[int]]:
    """`funnel --by channel`: the same chain, then persons per stage in `all` and per channel of
    the person (persons.parquet beside events.parquet; no channel: `(none)`)."""
    events = _stage_events(events_parquet, stages)
    levels = _levels(events, len(stages), window)
    channels = pl.read_parquet(events_parquet.with_name("persons.parquet"),
                               columns=["person_no", "channel"])
    per_person = levels.join(channels, on="person_no", how="left").with_columns(
        pl.col("channel").fill_null("(none)"))
    out = {"all": [int((per_person["level"] >= k).sum()) for k in range(1, len(stages) + 1)]}
    for (channel,), group in sorted(per_person.group_by("channel"), key=lambda g: str(g[0][0])):
        out[str(channel)] = [int((group["level"] >= k).sum()) for k in range(1, len(stages) + 1)]
    return out


def funnel_trend_week(events_parquet: Path, stages: list[str], window: timedelta
                      ) -> dict[str, list[int]]:
    """`funnel --trend week`: every stage-1 event starts an attempt; each next step is the first
    stage-k event after the previous step (a forward `join_asof` on the row position), kept when
    it lies within the window; per person and week of the start (Monday, UTC) the best attempt;
    persons per stage per week."""
    events = _stage_events(events_parquet, stages)
    attempts = events.filter(pl.col("stage") == 1).select(
        "person_no", pl.col("pos").alias("last"), pl.col("occurred_at").alias("start"),
        pl.lit(1, dtype=pl.Int8).alias("level"))
    alive, done = attempts, []
    for k in range(2, len(stages) + 1):
        current = events.filter(pl.col("stage") == k).select("person_no", "pos", "occurred_at")
        joined = alive.join_asof(current, left_on="last", right_on="pos", by="person_no",
                                 strategy="forward", allow_exact_matches=False,
                                 check_sortedness=False)
        step = pl.col("occurred_at") <= pl.col("start") + window
        done.append(joined.filter(~step.fill_null(False)).select(alive.columns))
        alive = joined.filter(step).select(
            "person_no", pl.col("pos").alias("last"), "start",
            pl.lit(k, dtype=pl.Int8).alias("level"))
    best = (pl.concat([*done, alive])
            .group_by("person_no", pl.col("start").dt.truncate("1w").alias("week"))
            .agg(pl.col("level").max()))
    counts = best.group_by("week").agg(
        [(pl.col("level") >= k).sum().alias(f"s{k}") for k in range(1, len(stages) + 1)]
    ).sort("week")
    return {str(row[0].date()): list(row[1:]) for row in counts.iter_rows()}


def _stage_events(events_parquet: Path, stages: list[str]) -> pl.DataFrame:
    """Stage events with the export's integer person ids, one sort, row positions."""
    stage_of = {name: i for i, name in enumerate(stages, start=1)}
    return (
        pl.scan_parquet(events_parquet)
        .filter(pl.col("event_name").is_in(stages))
        .select("person_no", "occurred_at",
                pl.col("event_name").replace_strict(stage_of, return_dtype=pl.Int8).alias("stage"))
        .sort("person_no", "occurred_at", "stage")
        .with_row_index("pos")
        .collect()
    )


def _levels(events: pl.DataFrame, stage_count: int, window: timedelta) -> pl.DataFrame:
    """Per person who entered, the highest stage reached (the chain of `funnel_counts`)."""
    level = events.filter(pl.col("stage") == 1).select(
        "person_no", "pos", pl.col("occurred_at").alias("start"))
    reached = [level.select("person_no").unique().with_columns(pl.lit(1).alias("level"))]
    for k in range(2, stage_count + 1):
        best = level.with_columns(pl.col("start").cum_max().over("person_no").alias("best"))
        current = events.filter(pl.col("stage") == k).select("person_no", "pos", "occurred_at")
        joined = current.join_asof(
            best.select("person_no", "pos", "best"), on="pos", by="person_no",
            strategy="backward", allow_exact_matches=False, check_sortedness=False)
        level = joined.filter(pl.col("occurred_at") <= pl.col("best") + window).select(
            "person_no", "pos", pl.col("best").alias("start"))
        reached.append(level.select("person_no").unique().with_columns(pl.lit(k).alias("level")))
    return pl.concat(reached).group_by("person_no").agg(pl.col("level").max())


STAGES = ["page_view", "product_viewed", "product_added", "checkout_started", "order_completed"]

if __name__ == "__main__":
    # the whole-process peer: funnel_polars.py events.parquet [--by-channel | --trend-week]
    import json
    import sys

    path, mode = Path(sys.argv[1]), (sys.argv[2] if len(sys.argv) > 2 else "")
    if mode == "--by-channel":
        print(json.dumps(funnel_by_channel(path, STAGES, timedelta(days=7))))
    elif mode == "--trend-week":
        print(json.dumps(funnel_trend_week(path, STAGES, timedelta(days=7))))
    else:
        print(json.dumps(funnel_counts(path, STAGES, timedelta(days=7))))
