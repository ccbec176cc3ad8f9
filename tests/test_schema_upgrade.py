"""A warehouse built before identity nodes were numbered (schema 6) is upgraded by the next run:
its nodes are numbered, its events given their node's number, and every node mapped again, with
the same persons and the same events per person."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import query
from journey_metrics.db import connect

# Run by `make test-slow`: it keeps the two CI suites, run side by side, about equal.
pytestmark = pytest.mark.slow

PERSONS = "SELECT event_id, source, person_id FROM fct_events ORDER BY source, event_id"


def test_a_schema_6_warehouse_is_upgraded(tmp_path: Path, run_pipeline: Any) -> None:
    from sample_outputs import SAMPLE

    db = tmp_path / "w.duckdb"
    run_pipeline(SAMPLE, db)
    before = query(db, PERSONS)
    persons = query(db, "SELECT * FROM persons ORDER BY person_id")
    con = connect(db)
    try:  # what schema 6 had: no node numbers, the view joining on the text node
        con.execute("CREATE OR REPLACE VIEW fct_events AS SELECT e.*, m.person_id, m.person_no"
                    " FROM events AS e JOIN _jm_person_map AS m ON m.node = e.person_key")
        con.execute("ALTER TABLE events DROP COLUMN node_no")
        con.execute("ALTER TABLE _jm_person_map DROP COLUMN node_no")
        con.execute("DROP TABLE _jm_nodes")
        con.execute("UPDATE _jm_meta SET value = '6' WHERE key = 'schema_version'")
    finally:
        con.close()

    summary = run_pipeline(SAMPLE, db)  # loads nothing; upgrades, stitches again, data tests

    assert sum(s["events"] for s in summary["sources"]) == 0
    assert query(db, PERSONS) == before
    assert query(db, "SELECT * FROM persons ORDER BY person_id") == persons
    assert query(db, "SELECT count(*) FROM events WHERE node_no IS NULL") == [(0,)]
    assert query(db, "SELECT count(*) FROM _jm_person_map WHERE node_no IS NULL") == [(0,)]
    # one number per node, never shared
    assert query(db, "SELECT count(*) = count(DISTINCT node) AND count(*) = count(DISTINCT"
                     " node_no) FROM _jm_nodes") == [(True,)]


# by person id: the numbers of persons depend on the order they were loaded in
CHAINS = ("SELECT c.framework, p.person_id, c.level, c.start_at, c.steps FROM _jm_funnel_chains"
          " AS c JOIN persons AS p USING (person_no) ORDER BY ALL")
TREND = ("SELECT t.framework, p.person_id, t.period, t.level FROM _jm_funnel_trend AS t"
         " JOIN persons AS p USING (person_no) ORDER BY ALL")
PATH_ITEMS = ("SELECT i.framework, i.flow, p.person_id, i.session_no, i.step, i.item, i.is_gap,"
              " i.occurred_at FROM _jm_path_items AS i JOIN persons AS p USING (person_no)"
              " ORDER BY ALL")
EXITS = ("SELECT t.framework, p.person_id, t.step, t.touchpoint FROM _jm_exit_touches AS t"
         " JOIN persons AS p USING (person_no) ORDER BY ALL")
TOUCHPOINTS = ("SELECT t.framework, p.person_id, t.step, t.source, t.channel, t.events"
               " FROM _jm_journey_touchpoints AS t JOIN persons AS p USING (person_no)"
               " ORDER BY ALL")
STAGE_TOUCHES = ("SELECT t.framework, p.person_id, t.step, t.level, t.hours, t.touchpoint"
                 " FROM _jm_stage_touches AS t JOIN persons AS p USING (person_no)"
                 " ORDER BY ALL")
MARTS = "SELECT key, rows FROM _jm_marts ORDER BY key"


SCHEMA_7 = [  # what schema 7 had: the chains by the person's text id
    "CREATE OR REPLACE TABLE _jm_funnel_chains AS SELECT c.framework, p.person_id, c.level,"
    " c.start_at, c.steps FROM _jm_funnel_chains AS c JOIN persons AS p USING (person_no)",
]
SCHEMA_11 = [  # schema 11 did not keep the journey map's touchpoint per stage reached
    "DROP TABLE _jm_stage_touches",
    "DELETE FROM _jm_meta WHERE starts_with(key, 'stage_touches:')",
]
SCHEMA_8 = [  # schema 8 kept only the chains per person
    *(f"DROP TABLE {table}" for table in ("_jm_funnel_trend", "_jm_path_items",
                                          "_jm_exit_touches", "_jm_journey_touchpoints")),
    "DELETE FROM _jm_meta WHERE split_part(key, ':', 1) IN ('funnel_trend', 'path_items',"
    " 'exit_touches', 'journey_touchpoints')",
    *SCHEMA_11,
]
SCHEMA_7 += SCHEMA_8


@pytest.mark.parametrize(("version", "statements"),
                         [("7", SCHEMA_7), ("8", SCHEMA_8), ("11", SCHEMA_11)])
def test_an_older_warehouse_computes_its_chains_again(
    version: str, statements: list[str], tmp_path: Path, run_pipeline: Any
) -> None:
    """Schema 8 keys the stored funnel chains by person_no (schema 7: person_id); schemas 9 to
    12 keep the dashboard trend's rows, its flows' path items and the journey map's rows. The
    upgrade drops the old chains with their state; the next refresh computes every row set
    whole, so a warehouse upgraded between two loads ends with the kept rows and stored rows of
    one built at once."""
    from generated_input import copy_before
    from sample_outputs import SAMPLE

    early = copy_before(SAMPLE, tmp_path / "early", "2026-03-01")
    db, once = tmp_path / "w.duckdb", tmp_path / "once.duckdb"
    run_pipeline(early, db, refresh=True)
    con = connect(db)
    try:
        for statement in statements:
            con.execute(statement)
        con.execute("UPDATE _jm_meta SET value = ? WHERE key = 'schema_version'", [version])
    finally:
        con.close()

    run_pipeline(SAMPLE, db, refresh=True)  # upgrades, loads the rest, refreshes
    run_pipeline(SAMPLE, once, refresh=True)

    assert query(db, "SELECT value FROM _jm_meta WHERE key = 'schema_version'") == [("12",)]
    chains = query(once, CHAINS)
    assert len(chains) > 100
    assert query(db, CHAINS) == chains
    for kept in (TREND, PATH_ITEMS, EXITS, TOUCHPOINTS, STAGE_TOUCHES):
        rows = query(once, kept)
        assert len(rows) > 100
        found = query(db, kept)
        if kept is TREND and version == "11":
            # the trend's rows were kept, not dropped: those before the weeks the dashboard
            # shows (the whole refresh's bound is the day before the first: its week is partial)
            # are stale and never read (person_rows.py)
            since = min(row[2] for row in rows) + timedelta(days=7)
            found = [row for row in found if row[2] >= since]
            rows = [row for row in rows if row[2] >= since]
        assert found == rows
    assert query(db, MARTS) == query(once, MARTS)


def test_a_first_run_stopped_while_creating_the_schema_leaves_nothing(
    tmp_path: Path, run_pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new warehouse's schema is created in one transaction: a first run stopped halfway
    leaves an empty database (tables without `_jm_meta` would read as a user's own database,
    refused by decision 215), and the next run builds it. A user's database that holds only a
    table named as one of ours is still refused, untouched (a review)."""
    import duckdb

    from journey_metrics import warehouse
    from journey_metrics.errors import UsageError
    from journey_metrics.hashing import HashKey

    db = tmp_path / "w.duckdb"
    real = warehouse.split_statements
    monkeypatch.setattr(warehouse, "split_statements",
                        lambda text: [*real(text)[:3], "SELECT error('stopped')"])
    with pytest.raises(duckdb.Error, match="stopped"):
        warehouse.open_warehouse(db, HashKey(b"k" * 20, "test"))
    monkeypatch.setattr(warehouse, "split_statements", real)
    with duckdb.connect(str(db)) as con:
        assert con.execute("SELECT count(*) FROM information_schema.tables").fetchall() == [(0,)]
    inputs = tmp_path / "in"
    (inputs / "web").mkdir(parents=True)
    (inputs / "web" / "a.jsonl").write_text(
        '{"type":"page","messageId":"m1","anonymousId":"a","timestamp":"2024-03-01T10:00:00Z"}\n')
    run_pipeline(inputs, db)
    assert query(db, "SELECT event_id FROM events") == [("m1",)]
    own = tmp_path / "own.duckdb"
    with duckdb.connect(str(own)) as con:
        con.execute("CREATE TABLE events (id INTEGER, what VARCHAR)")
    with pytest.raises(UsageError, match="DuckDB database of other tables"):
        warehouse.open_warehouse(own, HashKey(b"k" * 20, "test"))
    with duckdb.connect(str(own), read_only=True) as con:
        assert con.execute("SELECT column_name FROM information_schema.columns").fetchall() == [
            ("id",), ("what",)]
