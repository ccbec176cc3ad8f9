"""Opening the warehouse for writing: schema, hashing key check, macros."""

from __future__ import annotations

import fcntl
import sys
from dataclasses import replace
from pathlib import Path

import duckdb

from journey_metrics.channels import ChannelRules, prepare_for_writing
from journey_metrics.db import connect, duckdb_header, fetch_first
from journey_metrics.errors import RunError, UsageError
from journey_metrics.hashing import HashKey, install_hash_macro
from journey_metrics.sql import load_sql, split_statements

_FINGERPRINT_KEY = "email_hash_key_fingerprint"
_SCHEMA_KEY = "schema_version"
_ID_HASHING_KEY = "id_hashing"  # 'exact' since decision 195; absent: lower-cased and trimmed
# Bump when sql/warehouse.sql changes; the DDL then runs again (it is idempotent).
SCHEMA_VERSION = "12"  # 4: channel inputs / traits; 5: both; 6: touched nodes, funnel chains;
# 7: node numbers; 8: funnel chains by person_no; 9: the dashboard trend's rows; 10: the
# dashboard flows' path items; 11: the journey map's exits and touchpoints per person; 12: the
# journey map's touchpoint per person and stage reached


def open_warehouse(
    path: Path, key: HashKey, wait_seconds: float = 0, channels: ChannelRules | None = None
) -> duckdb.DuckDBPyConnection:
    """A write connection with the schema in place, `jm_email_hash` bound to `key` and the
    stored channels derived with the current channel rules (`channels`, given by
    `run --channels`, become the warehouse's rules).

    A warehouse remembers the fingerprint of the key it was built with; another key would make
    every email a new person, so it is refused (exit 2) rather than silently accepted.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_unborn_file(path)
    con = connect(path, wait_seconds=wait_seconds)
    if _schema_version(con) != SCHEMA_VERSION:
        names = _table_names(con)
        if names and "_jm_meta" not in names:
            con.close()
            raise UsageError(_FOREIGN.format(path=path))
        try:
            _create_schema(con, new=not names)
        except BaseException:
            con.close()
            raise
    row = fetch_first(con.execute("SELECT value FROM _jm_meta WHERE key = ?", [_FINGERPRINT_KEY]))
    if row is None:
        con.execute("INSERT INTO _jm_meta VALUES (?, ?), (?, 'exact')",
                    [_FINGERPRINT_KEY, key.fingerprint, _ID_HASHING_KEY])
    elif row[0] != key.fingerprint:
        con.close()
        raise UsageError(
            f"warehouse {path} was built with a different email hashing key than the one from "
            f"{key.origin}; use the original key or a new warehouse"
        )
    # ids keep the form the warehouse was built with (HashKey.exact_ids, decision 195)
    form = fetch_first(con.execute("SELECT value FROM _jm_meta WHERE key = ?", [_ID_HASHING_KEY]))
    install_hash_macro(con, replace(key, exact_ids=form == ("exact",)))
    try:
        prepare_for_writing(con, channels)
    except BaseException:
        con.close()
        raise
    return con


# DuckDB writes a 12 KiB header right after creating a database file; a process killed in
# between leaves a shorter file that no later run could open.
_HEADER_BYTES = 12 * 1024


def _remove_unborn_file(path: Path) -> None:
    """Delete a warehouse file that was created but never written (and so holds no data).

    Only when no process holds DuckDB's lock on it: a run that is creating it right now keeps it.
    Any other file is never touched: one that is not DuckDB's is refused (exit 2), so a
    mistyped `--db some.csv` cannot replace the user's file with a warehouse.
    """
    try:
        _refuse_foreign_file(path)
        if path.stat().st_size >= _HEADER_BYTES or path.with_name(path.name + ".wal").exists():
            return
        with path.open("r+b") as handle:
            try:
                fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return  # another process is creating it
            if path.stat().st_size < _HEADER_BYTES:
                path.unlink()
    except FileNotFoundError:
        return


def _refuse_foreign_file(path: Path) -> None:
    """UsageError unless `path` is a directory-free DuckDB file: its main header has the magic
    bytes "DUCK" after an 8-byte checksum. Empty or zero-filled files (an unborn warehouse, see
    above) pass."""
    if path.is_dir():
        raise UsageError(f"--db {path} is a directory; name a warehouse file")
    if duckdb_header(path) is False:
        raise UsageError(f"--db {path} is not a DuckDB warehouse; name a new file or a warehouse")


# A DuckDB database of the user's own tables is no warehouse: `run` would add its ~20 tables
# to it, and a metric command asked to "upgrade" it (a CLI sweep, decision 215).
_FOREIGN = ("--db {path} is a DuckDB database of other tables, not a journey-metrics warehouse;"
            " name a new file or a warehouse")


def _table_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {str(row[0]) for row in con.execute(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_catalog = current_database()").fetchall()}


def _create_schema(con: duckdb.DuckDBPyConnection, *, new: bool) -> None:
    """sql/warehouse.sql, and the schema version in `_jm_meta`. A new database gets it in one
    transaction: a first run stopped halfway leaves an empty database, not tables without
    `_jm_meta`, which would read as a user's own database. An older warehouse is upgraded a
    statement at a time (its updates may be large)."""
    if new:
        con.execute("BEGIN TRANSACTION")
    try:
        # Only when needed: concurrent connections re-running DDL would conflict in the catalog.
        if fetch_first(con.execute(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_name = 'sessions' AND table_type = 'BASE TABLE'"
        )) == (1,):
            con.execute("DROP TABLE sessions")  # schema < 3 stored sessions; now a view
        for statement in split_statements(load_sql("warehouse.sql")):
            con.execute(statement)
        con.execute("DELETE FROM _jm_meta WHERE key = ?", [_SCHEMA_KEY])
        con.execute("INSERT INTO _jm_meta VALUES (?, ?)", [_SCHEMA_KEY, SCHEMA_VERSION])
    except BaseException:
        if new:
            con.execute("ROLLBACK")
        raise
    if new:
        con.execute("COMMIT")


def _schema_version(con: duckdb.DuckDBPyConnection) -> str | None:
    # the table asked for directly: a first query of information_schema costs ~5 ms of every
    # command's start-up
    try:
        row = fetch_first(con.execute("SELECT value FROM _jm_meta WHERE key = ?", [_SCHEMA_KEY]))
    except duckdb.CatalogException:
        return None  # a new (empty) warehouse
    return str(row[0]) if row else None


def open_for_reading(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection for metrics, reports and exports; refuses a warehouse built by an
    older version (its tables lack columns the marts need) with a one-line fix. A --db naming a
    folder or another kind of file is bad usage (exit 2), as for `run`."""
    if path.exists():
        _refuse_foreign_file(path)
        if duckdb_header(path) is None:  # created, never written: no warehouse yet
            raise UsageError(f"--db {path} is an empty file, not a warehouse yet; run"
                             " `journey-metrics run` to build one")
    con = connect(path, read_only=True)
    try:
        version = _schema_version(con)
    except duckdb.Error:
        version = None
    if version != SCHEMA_VERSION:
        names = _table_names(con) if version is None else set()
        foreign = bool(names) and "_jm_meta" not in names
        con.close()
        if foreign:
            raise UsageError(_FOREIGN.format(path=path))
        raise RunError(
            f"warehouse {path} was built by another version of journey-metrics; run "
            "`journey-metrics run` on it once to upgrade it"
        )
    _note_unfinished_run(con)
    return con


def _note_unfinished_run(con: duckdb.DuckDBPyConnection) -> None:
    """A run stopped (killed) after committing events and before stitching their persons leaves
    nodes pending: what is read then mixes the new events with the earlier persons (an export
    leaves out events without a person). Readable, not wrong for long: say so on stderr."""
    pending = fetch_first(con.execute("SELECT EXISTS (SELECT 1 FROM _jm_pending_nodes)"))
    if pending and pending[0]:
        sys.stderr.write(
            "note: the last run stopped before it had stitched the persons of its new events:"
            " these numbers mix them with the earlier persons; run `journey-metrics run` again"
            " to finish it\n")
