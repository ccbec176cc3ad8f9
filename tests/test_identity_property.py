"""DuckDB's identity stitching (identity.stitch, sql/intermediate/int_identity_*.sql and
int_persons.sql) against a plain-Python union-find (tests/stitch_reference.py), on small
generated identity graphs loaded in two or three runs.

Per run, the batch's new links go into `_jm_identity_links` and their nodes, with every record's
identity node, into `_jm_pending_nodes` and (numbered, when new) `_jm_nodes`, as the loader leaves
them (sql/intermediate/int_load_batch.sql); then `stitch` relabels the touched components only.
Compared after every run: every node's person id (retroactive merges included), and the person
numbers: one per person, never shared, and kept by a person whose id survives a later run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, example, given, settings

from journey_metrics.hashing import load_key
from journey_metrics.identity import stitch
from journey_metrics.warehouse import open_warehouse
from stitch_reference import (
    GRAPHS,
    MERGES,
    Record,
    person_key,
    record_links,
    reference_persons,
    side_by_side,
)


def load_and_stitch(
    con: duckdb.DuckDBPyConnection, known: set[tuple[str, str]], batch: list[Record]
) -> set[tuple[str, str]]:
    """What a run leaves for the stitch, then the stitch; return all links so far."""
    new = set().union(*(record_links(r) for r in batch)) - known
    if new:
        con.executemany("INSERT INTO _jm_identity_links VALUES (?, ?)", sorted(new))
    pending = {person_key(r) for r in batch} | {node for link in new for node in link}
    con.executemany("INSERT INTO _jm_pending_nodes VALUES (?)", [[n] for n in sorted(pending)])
    con.execute("INSERT INTO _jm_nodes SELECT node, (SELECT coalesce(max(node_no), 0)"
                " FROM _jm_nodes) + row_number() OVER (ORDER BY node) FROM (SELECT DISTINCT node"
                " FROM _jm_pending_nodes WHERE node NOT IN (SELECT node FROM _jm_nodes))")
    stitch(con)
    return known | new


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs=GRAPHS)
@example(graphs=MERGES)
def test_duckdb_stitching_is_the_union_find(graphs: list[list[list[Record]]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        con = open_warehouse(Path(folder) / "w.duckdb", load_key())
        try:
            links: set[tuple[str, str]] = set()
            numbers: dict[str, int] = {}
            for batch in side_by_side(graphs):
                links = load_and_stitch(con, links, batch)
                rows = con.execute(
                    "SELECT node, person_id, person_no FROM _jm_person_map").fetchall()
                assert {node: person for node, person, _ in rows} == reference_persons(links)
                number_of = {person: number for _, person, number in rows}
                assert len({(p, n) for _, p, n in rows}) == len(number_of)  # one number each
                assert len(set(number_of.values())) == len(number_of)  # never shared
                for person, number in number_of.items():
                    assert numbers.get(person, number) == number  # a surviving id keeps it
                numbers.update(number_of)
        finally:
            con.close()
