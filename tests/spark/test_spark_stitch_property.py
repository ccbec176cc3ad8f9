"""Spark's identity stitching (engines/spark_ingest.py `_stitch`, sql/spark_ingest/) against a
plain-Python union-find, on small generated identity graphs loaded in two or three runs.

Each generated event carries some of user id, anonymous id, hashed email and CRM contact id (at
least one) and maybe a previous id (an alias). Per run, the batch's links come from Spark's
`jm_all_links` statement (the lake's links plus the batch's), the persons from `_stitch` and
`jm_person_map`, as `run --engine spark` does them, on in-memory frames (no files: a full run per
example would take seconds each). The reference is tests/stitch_reference.py.
Compared: the links, every node's person id, and so every event's person.
One Spark session (local[2]) serves the module.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings

from engine_compare import NEEDS_SPARK
from stitch_reference import (
    GRAPHS,
    MERGES,
    Record,
    person_key,
    record_links,
    reference_persons,
    side_by_side,
)

pytestmark = [pytest.mark.spark, pytest.mark.slow, NEEDS_SPARK]

MASTER = "local[2]"
BATCH = ("user_id STRING, anonymous_id STRING, email_hash STRING, crm_contact_id STRING,"
         " previous_id STRING")


@pytest.fixture(scope="module")
def session() -> Any:
    from journey_metrics.engines.spark import spark_session

    spark = spark_session(MASTER)
    before = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "1")  # tiny graphs: one task per stage
    yield spark
    spark.conf.set("spark.sql.shuffle.partitions", before)


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

@settings(max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(graphs=GRAPHS)
@example(graphs=MERGES)
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
