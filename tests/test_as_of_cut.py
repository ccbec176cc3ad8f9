"""CONTRACT §4: events after as_of are ignored. End to end: a warehouse of every generated file,
read with `--as-of CUT`, gives every metric invocation the engine suites compare (every recorded
command and every registered example: engine_cases.invocations) the same bytes as a warehouse
loaded only with the files of the days before CUT, read with the same `--as-of`.

A metric that reads an event, a person, a trait or a group from after as_of fails here. The
files before CUT hold exactly the events before CUT (generated_input.py): the first test checks
that (and that stitching splits those events into the same persons), so a difference in the
metrics is the metrics'.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine_cases import invocations, invoke
from generated_input import copy_before

CUT = "2026-03-01"  # the generator's days start on 2026-01-05
AS_OF = f"{CUT}T00:00:00Z"
# segments whose groups are read at as_of (CONTRACT §6), beyond the engine suites' invocations
SEGMENTS = {
    "funnel_by_campaign": ["funnel", "--framework", "aarrr", "--by", "campaign"],
    "churn_by_campaign": ["churn", "--by", "campaign", "--format", "csv"],
    "revenue_by_trait": ["revenue", "--period", "week", "--by", "trait:plan", "--format", "csv"],
    "satisfaction_by_channel": ["satisfaction", "--by", "channel", "--format", "csv"],
    "ltv_by_trait_where": ["ltv", "--framework", "aarrr", "--start", "activation", "--by",
                           "trait:country", "--where", "trait:plan=pro", "--format", "csv"],
}
CASES = {**invocations(), **SEGMENTS}


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from journey_metrics import pipeline
    from journey_metrics_synth import generate

    base = tmp_path_factory.mktemp("as_of_cut")
    everything, early = base / "everything", base / "early"
    generate(everything, 600, seed=11)
    copy_before(everything, early, CUT)
    dbs = base / "everything.duckdb", base / "early.duckdb"
    pipeline.run(everything, dbs[0], refresh=False)
    pipeline.run(early, dbs[1], refresh=False)
    return dbs


def _persons_up_to_cut(db: Path) -> set[frozenset[str]]:
    """The events at or before the cut, as the sets of (source, event id) of each person."""
    from journey_metrics.db import connect

    con = connect(db, read_only=True)
    try:
        rows = con.execute(
            "SELECT list(source || ':' || event_id) FROM fct_events"
            " WHERE occurred_at <= CAST($as_of AS TIMESTAMPTZ) GROUP BY person_id",
            {"as_of": AS_OF}).fetchall()
    finally:
        con.close()
    return {frozenset(keys) for (keys,) in rows}


def test_the_early_files_hold_the_same_persons_up_to_the_cut(
    warehouses: tuple[Path, Path],
) -> None:
    everything, early = (_persons_up_to_cut(db) for db in warehouses)
    assert len(everything) > 100
    assert everything == early


@pytest.mark.parametrize("name", sorted(CASES))
def test_metrics_ignore_what_comes_after_as_of(
    warehouses: tuple[Path, Path], name: str,
) -> None:
    args = list(CASES[name])
    if "--as-of" in args:
        args[args.index("--as-of") + 1] = AS_OF
    else:
        args += ["--as-of", AS_OF]
    everything, early = (invoke([*args, "--db", str(db)]) for db in warehouses)
    assert everything == early
