"""CONTRACT §12: the lake layout `export` writes, read back with `--events DIR` on DuckDB.

Every recorded command and registered example gives the same bytes from the lake as from the
warehouse it was exported from; a lake of the contract's columns only (another tool's) still
reads; a Spark-style folder of part files reads.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from engine_cases import contract_lake_with_extra_person, invocations, invoke

CASES = invocations()


@pytest.fixture(scope="module")
def exported(sample_export: tuple[Path, Path]) -> tuple[Path, Path]:
    return sample_export


@pytest.mark.parametrize("name", sorted(CASES))
def test_lake_gives_the_warehouse_rows(exported: tuple[Path, Path], name: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    db, lake = exported
    args = CASES[name]
    assert invoke([*args, "--events", str(lake)]) == invoke([*args, "--db", str(db)])


def test_lake_datasets_and_columns(exported: tuple[Path, Path]) -> None:
    _, lake = exported
    names = sorted(p.name for p in lake.iterdir())
    assert names == ["events.parquet", "files.parquet", "identity.parquet", "persons.parquet",
                     "quarantine.parquet", "traits.parquet"]
    con = duckdb.connect()
    columns = [r[0] for r in con.execute(
        "DESCRIBE SELECT * FROM read_parquet(?)", [str(lake / "events.parquet")]).fetchall()]
    # CONTRACT §5's columns first, in order; then what the metrics need
    assert columns[:8] == ["event_id", "source", "event_name", "occurred_at", "person_id",
                           "channel", "revenue", "properties"]
    assert {"person_no", "campaign", "utm_medium", "referrer_class"} <= set(columns[8:])
    traits = {r[0] for r in con.execute(
        "SELECT DISTINCT trait FROM read_parquet(?)", [str(lake / "traits.parquet")]).fetchall()}
    assert "email" not in traits
    assert "plan" in traits


def test_contract_columns_only_and_part_files(exported: tuple[Path, Path],
                                              tmp_path: Path) -> None:
    """A folder with CONTRACT §5's columns only, each dataset a folder of part files (as Spark
    writes): traits-free metrics give the warehouse's rows."""
    db, lake = exported
    other = tmp_path / "other"
    con = duckdb.connect()
    for table, columns in (("events", "event_id, source, event_name, occurred_at, person_id, "
                                      "channel, revenue, properties"),
                           ("persons", "person_id, channel, first_seen_at")):
        (other / f"{table}.parquet").mkdir(parents=True)
        for part, half in enumerate(("<", ">=")):
            target = other / f"{table}.parquet" / f"part-{part:05d}.parquet"
            con.execute(f"COPY (SELECT {columns} FROM read_parquet(?) "
                        f"WHERE hash(person_id) % 2 {half} 1) TO '{target}' (FORMAT parquet)",
                        [str(lake / f"{table}.parquet")])
    for args in (["nps", "--by", "channel", "--format", "json"],
                 ["funnel", "--framework", "aarrr", "--format", "json"],
                 ["retention", "--framework", "aarrr", "--start", "activation", "--format", "csv"]):
        assert invoke([*args, "--events", str(other)]) == invoke([*args, "--db", str(db)])


def test_persons_without_events_do_not_move_others(exported: tuple[Path, Path],
                                                   tmp_path: Path) -> None:
    """Another tool's persons table may hold persons without events (or miss one): person_no
    was numbered in each dataset alone, so one extra person shifted every number after it and
    events were joined to other persons' channels, exit 0 (an audit; decision 235). Numbered
    once over both datasets, the persons with events give the warehouse's rows."""
    db, lake = exported
    other = contract_lake_with_extra_person(lake, tmp_path / "other")
    for args in (["funnel", "--framework", "aarrr", "--by", "channel", "--format", "json"],
                 ["nps", "--by", "channel", "--format", "json"],
                 ["referral", "--format", "json"]):
        assert invoke([*args, "--events", str(other)]) == invoke([*args, "--db", str(db)])


def test_missing_lake_is_a_usage_error(tmp_path: Path) -> None:
    """Exit status 2 with one line (CONTRACT §5), before any engine starts."""
    import subprocess
    import sys

    (tmp_path / "empty").mkdir()
    short = tmp_path / "short"  # CONTRACT §5's events without revenue: not read as no orders
    short.mkdir()
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 'e1' AS event_id, 'web' AS source, 'page_view' AS event_name,"
                f" TIMESTAMPTZ '2024-01-01 00:00:00+00' AS occurred_at, 'p1' AS person_id,"
                f" 'direct' AS channel, '{{}}' AS properties) TO '{short / 'events.parquet'}'")
    con.execute(f"COPY (SELECT 'p1' AS person_id, 'direct' AS channel, TIMESTAMPTZ"
                f" '2024-01-01 00:00:00+00' AS first_seen_at) TO '{short / 'persons.parquet'}'")
    for args, says in ((["nps", "--events", str(tmp_path / "empty")], "no events.parquet"),
                       (["revenue", "--events", str(short)],
                        "events.parquet has no column 'revenue'"),
                       (["nps", "--engine", "spark"], "needs --events"),
                       (["nps", "--spark-master", "local[1]"], "need --engine spark")):
        result = subprocess.run([sys.executable, "-m", "journey_metrics", *args],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 2, result.stderr
        assert says in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
