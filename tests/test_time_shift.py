"""Metrics do not depend on the calendar position of the data, only on its times. The same input
with every time a week later (generated_input.copy_shifted: web message times, SendGrid
timestamps, CRM dates in each of their forms) must give the same rows with every date a week
later, for every invocation the engine suites compare and the segment invariants use, whose
periods a week's shift keeps (CONTRACT §4: weeks start on Monday, so weekly and daily periods
move whole; months do not) and whose time zone is UTC (elsewhere a week may cross a
daylight-saving change, which moves local day boundaries by an hour). `--as-of`, `--from` and
`--to` move with the data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine_cases import as_json, invocations, invoke
from generated_input import copy_shifted, shift_text
from test_segment_invariants import SEGMENTED

pytestmark = pytest.mark.slow

DAYS = 7
MOVED = ("--as-of", "--from", "--to")
# the segment invariants' invocations, by week where they take a period
CASES = {
    **invocations(),
    **{f"segmented_{name}": [*args, "--period", "week"]
       if args[0] in ("referral", "nps", "revenue", "satisfaction", "churn") else args
       for name, args in SEGMENTED.items()},
    "paths_between": ["paths", "--from", "2026-02-02", "--to", "2026-03-02"],
    "attribution_between": ["attribution", "--conversion", "order_completed", "--model", "all",
                            "--from", "2026-02-02", "--to", "2026-03-02"],
}
# commands whose rows have no calendar period unless asked for one (funnel --trend)
UNDATED = ("funnel", "paths", "attribution")


def _shiftable(args: list[str]) -> bool:
    if "--tz" in args or "month" in args:
        return False
    if "week" in args or "day" in args:
        return True
    return args[0] in UNDATED and "--trend" not in args


SHIFTABLE = {name: args for name, args in CASES.items() if _shiftable(args)}


def _later(value: Any) -> Any:
    if isinstance(value, list):
        return [_later(v) for v in value]
    if isinstance(value, dict):
        return {k: _later(v) for k, v in value.items()}
    return shift_text(value, DAYS)


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from journey_metrics import pipeline
    from journey_metrics_synth import generate

    base = tmp_path_factory.mktemp("time_shift")
    generate(base / "input", 600, seed=23)
    copy_shifted(base / "input", base / "later", DAYS)
    dbs = base / "input.duckdb", base / "later.duckdb"
    pipeline.run(base / "input", dbs[0], refresh=False)
    pipeline.run(base / "later", dbs[1], refresh=False)
    return dbs


def test_the_shift_moves_every_event_and_keeps_the_rest(warehouses: tuple[Path, Path]) -> None:
    from journey_metrics.db import connect

    found = []
    for db in warehouses:
        con = connect(db, read_only=True)
        try:
            found.append(con.execute(
                "SELECT source, event_id, epoch_us(occurred_at) FROM events ORDER BY 1, 2"
            ).fetchall() + con.execute(
                "SELECT 'quarantined', count(*), 0 FROM _jm_quarantine").fetchall())
        finally:
            con.close()
    week_us = DAYS * 86_400 * 1_000_000
    assert len(found[0]) > 1000
    assert [(s, e, t + week_us if s != "quarantined" else t) for s, e, t in found[0]] == found[1]


def test_most_invocations_are_compared() -> None:
    assert len(SHIFTABLE) >= 40, sorted(set(CASES) - set(SHIFTABLE))


@pytest.mark.parametrize("name", sorted(SHIFTABLE))
def test_a_week_later_the_rows_are_a_week_later(
    warehouses: tuple[Path, Path], name: str,
) -> None:
    args = as_json(SHIFTABLE[name])
    later_args = [str(shift_text(arg, DAYS)) if at and args[at - 1] in MOVED else arg
                  for at, arg in enumerate(args)]
    rows = json.loads(invoke([*args, "--db", str(warehouses[0])]))
    later = json.loads(invoke([*later_args, "--db", str(warehouses[1])]))
    assert _later(rows) == later
