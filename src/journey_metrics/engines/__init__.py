"""Engines (CONTRACT §12): the same mart SQL on DuckDB (the warehouse, or a lake folder) or Spark.

An engine gives the metrics a connection-like object with DuckDB's `execute(sql, params)` /
`fetchall()` / `description`: the warehouse itself, an in-memory DuckDB over a lake folder
(`lake.py`), or Spark through sqlglot (`spark.py`). The metric modules do not know which.
"""

from __future__ import annotations

ENGINES = ("duckdb", "spark")
DEFAULT_SPARK_MASTER = "local[*]"

from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402


def open_engine(
    engine: str,
    db: Path,
    *,
    events: str | None = None,
    spark_master: str | None = None,
    spark_remote: str | None = None,
    tz: str = "UTC",
) -> Any:
    """The connection a metric computes on: the warehouse `db` (DuckDB without `--events`), an
    in-memory DuckDB over the lake `events`, or a Spark session over it."""
    from journey_metrics.errors import UsageError

    if engine not in ENGINES:
        raise UsageError(f"--engine: {engine!r} must be one of {', '.join(ENGINES)}")
    if engine != "spark" and (spark_master or spark_remote):
        raise UsageError("--spark-master and --spark-remote need --engine spark")
    if engine == "duckdb":
        if events is None:
            from journey_metrics.warehouse import open_for_reading

            return open_for_reading(db)
        from journey_metrics.engines.duckdb import open_lake

        return open_lake(Path(events))
    if events is None:
        raise UsageError("--engine spark needs --events DIR (a lake folder written by `export`)")
    if spark_master and spark_remote:
        raise UsageError("give --spark-master or --spark-remote, not both")
    import journey_metrics
    from journey_metrics.engines.spark import open_spark_lake

    # the command's own process ends with the command: its Connect session with it
    return open_spark_lake(events, master=spark_master, remote=spark_remote, tz=tz,
                           release=journey_metrics.command_line_process)
