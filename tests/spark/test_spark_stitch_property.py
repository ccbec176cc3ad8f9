"""Spark's identity stitching (engines/spark_ingest.py `_stitch`, sql/spark_ingest/) against a
plain-Python union-find, on small generated identity graphs loaded in two or three runs.

Each generated event carries some of user id, anonymous id, hashed email and CRM contact id (at
least one) and maybe a previous id (an alias). Per run, the batch's links come from Spark's
`jm_all_links` statement (the lake's links plus the batch's), the persons from `_stitch` and
`jm_person_map`, as `run --engine spark` does them, on in-memory frames (no files: a full run per
example would take seconds each). The reference is CONTRACT §1 / sql/intermediate's rule,
written again in Python: a record links its identity node (the first of u:, a:, e:, c:) to every
node it carries, and an alias also to `a:` and `u:` of its previous id; persons are the connected
components of all links so far (a later link joins two earlier persons retroactively); a person's
id is 'p_' + the first 16 hex digits of sha256 of the component's smallest node (DuckDB's
int_persons.sql). Compared: the links, every node's person id, and so every event's person.
One Spark session (local[2]) serves the module.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine_compare import NEEDS_SPARK

pytestmark = [pytest.mark.spark, NEEDS_SPARK]

MASTER = "local[2]"
BATCH = ("user_id STRING, anonymous_id STRING, email_hash STRING, crm_contact_id STRING,"
         " previous_id STRING")
Record = tuple[str | None, str | None, str | None, str | None, str | None]


@pytest.fixture(scope="module")
def session() -> Any:
    from journey_metrics.engines.spark import spark_session

    spark = spark_session(MASTER)
    before = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "1")  # tiny graphs: one task per stage
    yield spark
    spark.conf.set("spark.sql.shuffle.partitions", before)


# --- the reference ------------------------------------------------------------------------------

def record_links(record: Record) -> set[tuple[str, str]]:
    user, anonymous, email, crm, previous = record
    nodes = [prefix + value for prefix, value in
             (("u:", user), ("a:", anonymous), ("e:", email), ("c:", crm)) if value is not None]
    if previous is not None:
        nodes += ["a:" + previous, "u:" + previous]
    return {(nodes[0], node) for node in nodes}


def person_key(record: Record) -> str:
    user, anonymous, email, crm, _ = record
    prefix, value = next((p, v) for p, v in (("u:", user), ("a:", anonymous), ("e:", email),
                                             ("c:", crm)) if v is not None)
    return prefix + value


def reference_persons(links: set[tuple[str, str]]) -> dict[str, str]:
    """node -> person id: union-find over the links, each component named by its least node."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in links:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:  # the smaller node stays the root: the root is the least node
            parent[max(root_a, root_b)] = min(root_a, root_b)
    return {node: "p_" + hashlib.sha256(find(node).encode()).hexdigest()[:16]
            for node in parent}


# --- Spark --------------------------------------------------------------------------------------

def spark_run(session: Any, lake_links: set[tuple[str, str]], batch: list[Record]
              ) -> tuple[set[tuple[str, str]], dict[str, str]]:
    """One run's (all links, node -> person id), as run_spark computes them."""
    from journey_metrics.engines.spark_ingest import _drop_views, _statements, _stitch, _view

    try:
        _view(session.createDataFrame(sorted(lake_links), "node_a STRING, node_b STRING"),
              "jm_lake_links")
        _view(session.createDataFrame(batch, BATCH), "batch_accepted")
        links_sql = _statements("spark_ingest/load_batch.spark.sql")["jm_all_links"]
        links = {(str(a), str(b)) for a, b in session.sql(links_sql).collect()}
        _view(session.createDataFrame(sorted(links), "node_a STRING, node_b STRING"),
              "jm_all_links")
        _stitch(session)
        person_map = _statements("spark_ingest/lake_tables.spark.sql")["jm_person_map"]
        persons = {str(node): str(person) for node, person in session.sql(person_map).collect()}
    finally:
        _drop_views(session)
    return links, persons


# --- the property -------------------------------------------------------------------------------

# few values, shared between the kinds (a user id "k1" and an anonymous id "k1" are two nodes,
# which an alias with previous id "k1" links): merges are frequent
IDS = st.sampled_from(["k0", "k1", "k2", "k3", "k4"])
EMAILS = st.sampled_from(["9f2c", "a1b0", "f00d"])  # stand-ins for keyed email hashes
CRM = st.sampled_from(["101", "102"])


@st.composite
def records(draw: st.DrawFn) -> Record:
    user = draw(st.none() | IDS)
    anonymous = draw(st.none() | IDS)
    email = draw(st.none() | EMAILS)
    crm = draw(st.none() | CRM)
    if (user, anonymous, email, crm) == (None, None, None, None):  # staging quarantines those
        anonymous = draw(IDS)
    previous = draw(st.none() | IDS) if user is not None else None  # an alias has a userId
    return user, anonymous, email, crm, previous


RUNS = st.lists(st.lists(records(), min_size=1, max_size=6), min_size=2, max_size=3)
# Several independent graphs per example, loaded side by side (a Spark run costs seconds, a
# bigger graph nothing): graph i's ids carry the prefix "i", so no two graphs share a node.
GRAPHS = st.lists(RUNS, min_size=1, max_size=5)


def side_by_side(graphs: list[list[list[Record]]]) -> list[list[Record]]:
    """Run k loads batch k of every graph that has one."""
    def tagged(i: int, record: Record) -> Record:
        user, anonymous, email, crm, previous = (None if v is None else f"{i}{v}" for v in record)
        return user, anonymous, email, crm, previous

    return [[tagged(i, r) for i, runs in enumerate(graphs) if k < len(runs) for r in runs[k]]
            for k in range(max(len(runs) for runs in graphs))]


@settings(max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(graphs=GRAPHS)
@example(graphs=[
    [  # two persons, then one event that carries both: merged retroactively
        [("k1", None, None, None, None), (None, "k2", "f00d", None, None)],
        [(None, "k0", None, "101", None), ("k3", None, None, "101", None)],
        [(None, "k2", None, None, None), ("k1", "k2", None, None, None)],
    ],
    [  # an alias joins a user to the earlier anonymous id and user id "k0"
        [(None, "k0", None, None, None), ("k0", None, "9f2c", None, None)],
        [("k4", None, None, None, "k0")],
    ],
])
def test_spark_stitching_is_the_union_find(session: Any, graphs: list[list[list[Record]]]
                                           ) -> None:
    lake_links: set[tuple[str, str]] = set()
    events: list[Record] = []
    for batch in side_by_side(graphs):
        events += batch
        links, persons = spark_run(session, lake_links, batch)
        expected_links = lake_links | set().union(*(record_links(r) for r in batch))
        assert links == expected_links
        expected = reference_persons(expected_links)
        assert persons == expected
        # every event so far belongs to its identity node's person (retroactive merges included)
        assert [persons[person_key(e)] for e in events] == [
            expected[person_key(e)] for e in events]
        lake_links = links
