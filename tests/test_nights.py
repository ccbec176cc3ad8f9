"""The nightly job: loading the generated days night by night, each run refreshing the stored
marts as `run` does, gives what one run of every file gives: every metric invocation the engine
suites compare (engine_cases.invocations; the default ones read the rows the last night stored)
prints the same bytes, and the dashboard's page data is the same.

Across nights a person's identity links arrive after their first events (stitching is
retroactive), funnel chains are recomputed only for the persons a night touched, and CRM
rows of a month are re-exported in full each night (their events are duplicates)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine_cases import invocations, invoke
from generated_input import copy_before

NIGHTS = ("2026-02-01", "2026-03-01", "9999-12-31")  # the files before each day, then all
CASES = invocations()  # read once: the recorded commands and every metric's examples


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from journey_metrics import pipeline
    from journey_metrics_synth import generate

    base = tmp_path_factory.mktemp("nights")
    everything, nightly = base / "everything", base / "nightly"
    generate(everything, 600, seed=13)
    dbs = base / "once.duckdb", base / "nightly.duckdb"
    pipeline.run(everything, dbs[0])
    loaded = []
    for day in NIGHTS:
        copy_before(everything, nightly, day)
        loaded.append(pipeline.run(nightly, dbs[1]).as_dict())
    assert 0 < loaded[0]["events_total"] < loaded[1]["events_total"] < loaded[2]["events_total"]
    return dbs


@pytest.mark.parametrize("name", sorted(CASES))
def test_night_by_night_gives_one_run(warehouses: tuple[Path, Path], name: str) -> None:
    once, nightly = (invoke([*CASES[name], "--db", str(db)]) for db in warehouses)
    assert nightly == once


def test_the_dashboard_data_is_the_same(warehouses: tuple[Path, Path]) -> None:
    from journey_metrics.report.data import collect

    once, nightly = (collect(db) for db in warehouses)
    assert nightly == once
