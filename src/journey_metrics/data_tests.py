"""Data tests (sql/tests/*.sql): each is a SELECT returning the rows that break a rule of the
warehouse (uniqueness, every event has a person, ...). `run` runs them all after stitching; any
failing row is a bug, never bad input (bad input is quarantined before it gets here), so the run
fails loudly, naming the test and how many rows broke it. `run --engine spark` runs them on the
lake's views before it writes anything (engines/spark_ingest.py)."""

from __future__ import annotations

from typing import Any

from journey_metrics.errors import RunError
from journey_metrics.resources import resource_dir
from journey_metrics.sql import load_sql


def data_tests() -> list[str]:
    """The data tests' names (file stems), in name order."""
    return sorted(p.stem for p in (resource_dir("sql") / "tests").glob("*.sql"))


def failures(con: Any) -> dict[str, int]:
    """Failing row counts per data test (tests with no failing rows are left out). `con`: a
    DuckDB connection, or engines.spark.SparkConnection over a Spark lake's views."""
    found = {}
    for name in data_tests():
        sql = load_sql(f"tests/{name}.sql")
        count = con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]
        if count:
            found[name] = int(count)
    return found


def check(con: Any) -> None:
    """Raise a RunError naming every failing data test."""
    failed = failures(con)
    if failed:
        listed = ", ".join(f"{name} ({n} rows)" for name, n in failed.items())
        raise RunError(f"data tests failed: {listed}: see sql/tests/ (a bug; please report it)")
