"""The DuckDB engine: the warehouse (the default), or an in-memory DuckDB over a lake folder.

`open_lake(folder)` reads the Parquet datasets of `export` (or of Spark's ingest) without
copying them and defines the relations the marts read (engines/lake.py), so `--events DIR`
gives the same rows as the warehouse it was exported from.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from journey_metrics.db import ASOF_ALWAYS, install_macros
from journey_metrics.engines.lake import (
    LAKE_COLUMNS,
    REQUIRED,
    dataset_name,
    raw_name,
    view_statements,
)
from journey_metrics.errors import RunError, UsageError


def dataset_glob(folder: Path, table: str) -> str | None:
    """The Parquet file, or the part files of the folder, of a lake table (None: absent)."""
    path = folder / dataset_name(table)
    if path.is_file():
        return str(path)
    if path.is_dir():
        return str(path / "**" / "*.parquet")
    return None


def open_lake(folder: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the marts' relations over the lake in `folder`."""
    if not folder.is_dir():
        raise UsageError(f"--events: {folder} is not a folder")
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        con.execute(ASOF_ALWAYS)
        install_macros(con, loading=False)
        present: dict[str, set[str] | None] = {}
        for table in LAKE_COLUMNS:
            glob = dataset_glob(folder, table)
            if glob is None:
                if table in REQUIRED:
                    raise UsageError(f"--events: {folder} has no {dataset_name(table)}")
                present[table] = None
                continue
            try:
                relation = con.read_parquet(glob)
            except duckdb.Error as exc:  # not Parquet, truncated, unreadable: a failed run
                first = str(exc).splitlines()[0]
                raise RunError(f"--events: cannot read {glob}: {first}") from None
            relation.create_view(raw_name(table))
            present[table] = set(relation.columns)
        for statement in view_statements(present):
            con.execute(statement)
    except BaseException:
        con.close()
        raise
    return con
