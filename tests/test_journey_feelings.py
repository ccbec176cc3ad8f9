"""The journey map's feelings and emotion line, computed by hand: survey answers by the highest
stage the person had reached strictly before answering (sql/marts/fct_journey_feelings.sql; the
emotion line is its NPS part)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from conftest import at
from journey_metrics.config import Framework
from journey_metrics.db import connect
from journey_metrics.metrics.journey_map import emotion, feelings

FRAMEWORK = Framework.model_validate({"name": "f", "window": "30d", "stages": [
    {"name": "seen", "match": [{"event": "page_view"}]},
    {"name": "signed", "match": [{"event": "signed_up"}]},
    {"name": "bought", "match": [{"event": "order_completed"}]},
]})

# (person, event, ISO instant, score or None)
EVENTS = [
    # p1: an answer at the very instant of their signup counts at "seen" (strictly before),
    # the next one after the signup at "signed"
    ("p1", "page_view", "2024-03-01T10:00:00Z", None),
    ("p1", "signed_up", "2024-03-01T11:00:00Z", None),
    ("p1", "nps_response", "2024-03-01T11:00:00Z", 10),
    ("p1", "nps_response", "2024-03-02T09:00:00Z", 3),
    # p2: an answer before any stage event does not count; a later order counts from then on;
    # an out-of-range CSAT score counts in neither line's valid answers (feelings)
    ("p2", "csat_response", "2024-03-01T08:00:00Z", 5),
    ("p2", "page_view", "2024-03-01T09:00:00Z", None),
    ("p2", "order_completed", "2024-03-03T09:00:00Z", None),
    ("p2", "csat_response", "2024-03-04T09:00:00Z", 4),
    ("p2", "csat_response", "2024-03-04T10:00:00Z", 9),
    ("p2", "ces_response", "2024-03-05T09:00:00Z", 2),
    ("p2", "nps_response", "2024-03-06T09:00:00Z", 8),
    # the highest stage reached so far, not the latest: a page view after the order
    ("p2", "page_view", "2024-03-06T10:00:00Z", None),
    ("p2", "nps_response", "2024-03-07T09:00:00Z", 9),
    # after as_of: not counted
    ("p1", "nps_response", "2024-04-01T09:00:00Z", 10),
]
AS_OF = "2024-03-31T00:00:00Z"


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = connect(tmp_path / "w.duckdb")
    con.execute("""CREATE TABLE fct_events (person_id VARCHAR, person_no BIGINT, source VARCHAR,
        event_id VARCHAR, event_name VARCHAR, occurred_at TIMESTAMPTZ, channel VARCHAR,
        campaign VARCHAR, properties JSON)""")
    con.executemany(
        "INSERT INTO fct_events VALUES (?, ?, 'web', ?, ?, ?, 'direct', NULL, ?)",
        [[p, int(p[1:]), f"e{i}", name, at(t),
          json.dumps({} if score is None else {"score": score})]
         for i, (p, name, t, score) in enumerate(EVENTS)],
    )
    return con


def test_feelings_count_each_answer_at_the_stage_reached_before_it(
        con: duckdb.DuckDBPyConnection) -> None:
    rows = {r["stage"]: r for r in feelings(con, FRAMEWORK, at(AS_OF))}
    # seen: p1's 10 at the signup's instant; signed: p1's 3
    assert (rows["seen"]["nps_respondents"], rows["seen"]["nps_promoters"]) == (1, 1)
    assert (rows["signed"]["nps_respondents"], rows["signed"]["nps_detractors"]) == (1, 1)
    # bought: p2's 8 and 9 (the page view after the order does not lower the stage), CSAT 4
    # (9 is out of range, the 08:00 answer came before any stage), CES 2
    bought = rows["bought"]
    assert (bought["nps_respondents"], bought["nps_promoters"], bought["nps_detractors"]) == (
        2, 1, 0)
    assert (bought["csat_respondents"], bought["csat_satisfied"]) == (1, 1)
    assert (bought["ces_respondents"], bought["ces_total"]) == (1, 2)
    assert rows["seen"]["csat_respondents"] == 0


def test_emotion_counts_nps_answers_by_stage(con: duckdb.DuckDBPyConnection) -> None:
    rows = [(r["step"], r["respondents"], r["promoters"], r["detractors"], r["mean_score"])
            for r in emotion(con, FRAMEWORK, at(AS_OF))]
    assert rows == [(1, 1, 1, 0, 10.0), (2, 1, 0, 1, 3.0), (3, 2, 1, 0, 8.5)]
