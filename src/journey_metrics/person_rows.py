"""Rows kept per person, refreshed where the data changes (issue 10: marts kept where the data
changes).

Some of what the dashboard and the default commands show starts from one set of rows per person
that depends on that person's events only:
- `_jm_funnel_chains`: each person's level, attempt start and step times of the default funnel
  of every built-in framework that can be stored (metrics/funnel.py `kept_chains`);
- `_jm_funnel_trend`: the dashboard trend's level per person and entry week, over the attempts
  that start from a bound before the weeks shown (`kept_trend`);
- `_jm_exit_touches`, `_jm_stage_touches` and `_jm_journey_touchpoints`: the journey map's last
  touchpoint of each person who left the journey framework's funnel, each person's touchpoint at
  every stage they reached, and each person's events per stage, source and channel
  (metrics/exits.py `kept_exits`, metrics/journey_map.py `kept_stage_touches` and
  `kept_touchpoints`);
- `_jm_path_items`: the items of each person's path in the dashboard's two flows on its journey
  framework (metrics/paths.py `kept_flows`).
A refresh recomputes only the persons whose identity nodes a load touched (`_jm_touched_nodes`,
filled by identity.stitch), drops persons that no longer exist (merged into another), and
recomputes a row set whole when what defines it changed: its options, the SQL and configuration
(`definitions`), or the channel rules (the state kept in `_jm_meta` says which). A person no load
touched has no event after the last refresh, so their rows stay right as as_of moves on with the
latest event. The trend's bound only moves forward: rows before it are left stale, never read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from journey_metrics.sql import fill_snippets, load_sql, split_statements

if TYPE_CHECKING:
    import duckdb

# table -> (the column naming a row set, its state's key prefix in _jm_meta)
TABLES = {
    "_jm_funnel_chains": ("framework", "funnel_chains:"),
    "_jm_funnel_trend": ("framework", "funnel_trend:"),
    "_jm_exit_touches": ("framework", "exit_touches:"),
    "_jm_journey_touchpoints": ("framework", "journey_touchpoints:"),
    "_jm_stage_touches": ("framework", "stage_touches:"),
    "_jm_path_items": ("framework", "path_items:"),
}


@dataclass(frozen=True)
class Kept:
    """One row set kept per person: `table` (one of TABLES), its `name` there, what decides its
    rows besides the events (`defines`), and `select`: the SELECT of the rows (in the table's
    column order after the name) of the persons whose events a relation holds, with its
    parameters. `bound`: the rows hold every attempt from there on; a kept set with a later bound
    is recomputed whole."""

    table: str
    name: str
    defines: str
    select: Callable[[str], tuple[str, dict[str, Any]]]
    bound: datetime | None = None

    @property
    def key(self) -> str:
        return TABLES[self.table][1] + self.name


def refresh(con: duckdb.DuckDBPyConnection, kept: list[Kept], definitions: str) -> None:
    """Bring every kept row set up to date; forget the row sets no longer kept."""
    for statement in split_statements(load_sql("intermediate/int_touched_persons.sql")):
        con.execute(statement)
    for rows in kept:
        state = _state(con, rows, definitions)
        whole = not _matches(con, rows, state)
        select, params = rows.select(_forget(con, rows, whole))
        con.execute(f"INSERT INTO {rows.table} SELECT $kept_name, * FROM ({select})",
                    {**params, "kept_name": rows.name})
        # rows kept from an earlier bound hold every attempt from this one: their bound moves on
        value = state if rows.bound is None else f"{state}@{rows.bound.isoformat()}"
        con.execute("DELETE FROM _jm_meta WHERE key = ?", [rows.key])
        con.execute("INSERT INTO _jm_meta VALUES (?, ?)", [rows.key, value])
    for table, (column, prefix) in TABLES.items():
        names = [rows.name for rows in kept if rows.table == table]
        con.execute(f"DELETE FROM {table} WHERE NOT list_contains($names, {column})",
                    {"names": names})
        con.execute("DELETE FROM _jm_meta WHERE starts_with(key, $prefix)"
                    " AND NOT list_contains($keys, key)",
                    {"prefix": prefix, "keys": [prefix + n for n in names]})
    con.execute("DELETE FROM _jm_touched_nodes")
    con.execute("DROP VIEW IF EXISTS jm_touched_events")
    con.execute("DROP TABLE IF EXISTS jm_touched_persons")


def holds(con: duckdb.DuckDBPyConnection, rows: Kept) -> bool:
    """Whether the kept rows are `rows`'s (same state, with the marts' fingerprint of sql/ and
    config/; kept from `rows.bound` or earlier)."""
    return _matches(con, rows, _state(con, rows, None))


def _matches(con: duckdb.DuckDBPyConnection, rows: Kept, state: str) -> bool:
    found = con.execute("SELECT value FROM _jm_meta WHERE key = ?", [rows.key]).fetchall()
    if not found:
        return False
    kept_state, _, bound = str(found[0][0]).partition("@")
    if kept_state != state:
        return False
    return rows.bound is None or (bool(bound) and datetime.fromisoformat(bound) <= rows.bound)


def _state(con: duckdb.DuckDBPyConnection, rows: Kept, definitions: str | None) -> str:
    if definitions is None:
        from journey_metrics.marts import definitions_fingerprint

        definitions = definitions_fingerprint()
    channel_rules = con.execute(
        "SELECT getvariable('jm_channel_rules_fingerprint')").fetchall()[0][0]
    text = rows.defines + definitions + str(channel_rules)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _forget(con: duckdb.DuckDBPyConnection, rows: Kept, whole: bool) -> str:
    """Drop the rows to recompute; return the events to recompute them from."""
    column = TABLES[rows.table][0]
    if whole:
        con.execute(f"DELETE FROM {rows.table} WHERE {column} = ?", [rows.name])
        return "fct_events"
    con.execute(fill_snippets("intermediate/int_person_rows_forget.sql", table=rows.table,
                              column=column), {"kept_name": rows.name})
    return "jm_touched_events"
