"""The polars peer of the benchmarks (bench/attribution_polars.py) gives the engine's numbers
for `last` and `linear` on random event logs."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings

from attribution_data import Ev, T, load
from journey_metrics.metrics.attribution import AttributionQuery, attribution_rows
from test_attribution_property import STEP, logs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from attribution_polars import attribute


@pytest.fixture(scope="module")
def pcon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    from journey_metrics.db import connect

    connection = connect(tmp_path_factory.mktemp("attribution_polars") / "w.duckdb")
    yield connection
    connection.close()


def write_parquet(events: list[Ev], path: Path) -> None:
    """The columns of `journey-metrics export` that the peer reads."""
    pl.DataFrame({
        "event_id": [e.event_id for e in events], "source": [e.source for e in events],
        "event_name": [e.name for e in events], "occurred_at": [e.at for e in events],
        "person_id": [e.person_id for e in events], "channel": [e.channel for e in events],
        "revenue": [e.revenue for e in events],
    }, schema={"event_id": pl.String, "source": pl.String, "event_name": pl.String,
               "occurred_at": pl.Datetime("us", "UTC"), "person_id": pl.String,
               "channel": pl.String, "revenue": pl.Float64}).write_parquet(path)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=logs())
def test_polars_peer_agrees(pcon: duckdb.DuckDBPyConnection, tmp_path: Path,
                            events: list[Ev]) -> None:
    as_of = T + 5 * STEP
    load(pcon, events)
    want = attribution_rows(pcon, AttributionQuery(
        as_of=as_of, conversion_event="order_completed", models=("last", "linear")))
    path = tmp_path / "events.parquet"
    write_parquet(events, path)
    got = attribute(path, "order_completed", as_of)
    by_key = {(r["model"], r["group"]): r for r in got}
    assert set(by_key) == {(r["model"], r["group"]) for r in want}
    for row in want:
        other = by_key[(row["model"], row["group"])]
        for column in ("conversions", "revenue", "share"):
            assert math.isclose(other[column], row[column], rel_tol=1e-9, abs_tol=1e-6), (
                column, other, row)
