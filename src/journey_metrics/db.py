"""The only `connect()`: every connection is UTC, memory-bounded and lock-aware."""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path
from typing import Any

import duckdb

from journey_metrics.errors import RunError, UsageError, WarehouseLocked
from journey_metrics.sql import load_sql, quote_identifier

MEMORY_LIMIT_ENV = "JOURNEY_METRICS_MEMORY_LIMIT"
# Bounded by default so a nightly run on 10M events stays under ~2 GB of RSS; DuckDB spills to
# <db>.tmp/ beyond it (measured in docs/benchmarks.md). Raise it on big machines.
DEFAULT_MEMORY_LIMIT = "1GB"
THREADS_ENV = "JOURNEY_METRICS_THREADS"

_LOCK_PID = re.compile(r"PID (\d+)")
# DuckDB plans an ASOF join whose left side it estimates below this many rows as a nested loop;
# its estimate of a filtered CTE can be 1 row where there are 100k (the funnel's steps), and the
# loop then costs seconds. Our ASOF joins are per-person scans of event tables: always the
# ASOF operator. Every connection that runs marts, the warehouse's and a lake's
# (engines/duckdb.py), sets it.
ASOF_ALWAYS = "SET asof_loop_join_threshold = 0"


def duckdb_header(path: Path) -> bool | None:
    """Whether a file starts as a DuckDB database does (the magic bytes "DUCK" after an 8-byte
    checksum); None for an empty or zero-filled start (a file created, never written)."""
    with path.open("rb") as handle:
        start = handle.read(12)
    if not start.strip(b"\0"):
        return None
    return start[8:12] == b"DUCK"


def install_macros(con: duckdb.DuckDBPyConnection, *, loading: bool) -> None:
    """The TEMP macros of sql/macros.sql, and with `loading` those of sql/staging/macros.sql
    (parsing, privacy, identity: DuckDB binds a macro's body when it is created, so a read-only
    command does not pay for the ones it never calls). One call per file: one round trip."""
    con.execute(load_sql("macros.sql"))
    if loading:
        con.execute(load_sql("staging/macros.sql"))


def connect(
    path: Path | str, *, read_only: bool = False, wait_seconds: float = 0
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse with the settings every query relies on.

    TimeZone is UTC so naive timestamps never take the machine's zone; the memory limit and temp
    directory let big loads spill to disk instead of failing. A lock held by another process is
    waited for up to `wait_seconds`, then reported as one line naming the file and that process.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise UsageError(f"warehouse {path} does not exist (run `journey-metrics run` first)")
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            message = str(exc)
            if "lock" not in message.lower():
                raise RunError(
                    f"cannot open warehouse {path}: {message.splitlines()[0]}"
                ) from None
            if time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            pid = _LOCK_PID.search(message)
            holder = f"process {pid.group(1)}" if pid else "another process"
            raise WarehouseLocked(f"warehouse {path} is locked by {holder}") from None
        except duckdb.Error as exc:
            raise RunError(f"cannot open warehouse {path}: {str(exc).splitlines()[0]}") from None
    con.execute("SET TimeZone = 'UTC'")
    # DuckDB draws a progress bar on stdout for long queries: it would corrupt JSON/CSV output.
    con.execute("SET enable_progress_bar = false")
    con.execute(ASOF_ALWAYS)
    defaults = {MEMORY_LIMIT_ENV: DEFAULT_MEMORY_LIMIT}
    for variable, setting in ((MEMORY_LIMIT_ENV, "memory_limit"), (THREADS_ENV, "threads")):
        value = os.environ.get(variable) or defaults.get(variable)
        if value:
            try:
                con.execute(f"SET {setting} = ?", [int(value) if setting == "threads" else value])
            except (duckdb.Error, ValueError):
                con.close()
                raise UsageError(f"{variable}: invalid value {value!r}") from None
    if not read_only:
        con.execute("SET temp_directory = ?", [str(path.with_name(path.name + ".tmp"))])
    install_macros(con, loading=not read_only)
    if read_only:
        # the current channel rules; channels derived on the fly when they changed since the
        # stored channels (write connections re-store them: warehouse.open_warehouse)
        from journey_metrics.channels import install_for_reading

        try:
            install_for_reading(con)
        except BaseException:
            con.close()
            raise
    return con


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Undo the open transaction after an error, which the caller then re-raises. A COMMIT that
    failed (a full disk: "could not write file ...wal") has ended the transaction already; the
    ROLLBACK's own error ("no transaction is active") must not replace that cause."""
    with contextlib.suppress(duckdb.Error):
        con.execute("ROLLBACK")


def fetch_first(result: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """The first row of a result, reading it to the end: DuckDB 2 refuses further work on a
    connection whose last result was not fully fetched."""
    rows = result.fetchall()
    return tuple(rows[0]) if rows else None


def drop_temp(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Drop TEMP tables or views by name, whichever each is (e.g. the loader's raw_records: a
    table or a view over raw_lines while reading, a view while staging)."""
    # the catalog functions, not information_schema (its view over them costs ~1.6x: ~0.3 s of
    # the ~450 calls of a 1M-event load)
    existing = dict(
        con.execute(
            "SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE database_name = 'temp'"
            " UNION ALL SELECT view_name, 'VIEW' FROM duckdb_views()"
            " WHERE database_name = 'temp' AND NOT internal"
        ).fetchall()
    )
    for name in names:
        if name in existing:
            kind = "VIEW" if existing[name] == "VIEW" else "TABLE"
            con.execute(f"DROP {kind} {quote_identifier(name)}")
