"""Satisfaction golden cases, computed by hand (CONTRACT §11 satisfaction, §4 NPS).

CSAT and CES ingestion is another change; these tests build the events by hand.
"""

from __future__ import annotations

from typing import Any

import duckdb

from conftest import at
from handmade_events import ev, load_events, population
from journey_metrics.metrics.satisfaction import satisfaction_rows

AS_OF = "2024-04-30T00:00:00Z"
EVENTS = [
    # March NPS: a promoter, b detractor
    ev("n1", "a", "nps_response", "2024-03-02T10:00:00Z", score=10),
    ev("n2", "b", "nps_response", "2024-03-02T10:00:00Z", score=0),
    # March CSAT: 3 is not satisfied, 4 and 5 are; d's latest answer (3) counts; g answers twice
    # at the same instant: the larger event id ("s7b", score 2) counts
    ev("s1", "a", "csat_response", "2024-03-03T10:00:00Z", score=3),
    ev("s2", "b", "csat_response", "2024-03-03T10:00:00Z", score=4),
    ev("s3", "c", "csat_response", "2024-03-03T10:00:00Z", score=5),
    ev("s4", "d", "csat_response", "2024-03-03T10:00:00Z", score=5),
    ev("s5", "d", "csat_response", "2024-03-04T10:00:00Z", score=3),
    ev("s7a", "g", "csat_response", "2024-03-05T10:00:00Z", score=5),
    ev("s7b", "g", "csat_response", "2024-03-05T10:00:00Z", score=2),
    # March CES: a 1, b's latest 7, c 2 -> mean 10/3
    ev("c1", "a", "ces_response", "2024-03-06T10:00:00Z", score=1),
    ev("c2", "b", "ces_response", "2024-03-06T09:00:00Z", score=1),
    ev("c3", "b", "ces_response", "2024-03-06T10:00:00Z", score=7),
    ev("c4", "c", "ces_response", "2024-03-06T10:00:00Z", score=2),
    # April: only a CSAT 4; an out-of-range CES and an answer after as_of do not count
    ev("s8", "a", "csat_response", "2024-04-02T10:00:00Z", score=4),
    ev("c5", "e", "ces_response", "2024-04-02T10:00:00Z", score=8),
    ev("s9", "f", "csat_response", "2024-05-02T10:00:00Z", score=1),
]
CHANNELS = {"a": "direct", "b": "direct", "c": "email", "d": "email", "g": "email"}


def row(period: str, nps: tuple[int, float | None], csat: tuple[int, float | None],
        ces: tuple[int, float | None], group: str = "all") -> dict[str, Any]:
    return {"group": group, "period": period, "nps_respondents": nps[0], "nps": nps[1],
            "csat_respondents": csat[0], "csat": csat[1], "ces_respondents": ces[0],
            "ces": ces[1]}


def satisfaction(con: duckdb.DuckDBPyConnection, by: str | None = None) -> list[dict[str, Any]]:
    load_events(con, EVENTS, channels=CHANNELS)
    population(con, at(AS_OF), by)
    return satisfaction_rows(con, period="month", tz="UTC", as_of=at(AS_OF))


def test_latest_answers_boundaries_and_mean(con: duckdb.DuckDBPyConnection) -> None:
    rows = satisfaction(con)
    assert rows == [
        row("2024-03-01", (2, 0.0), (5, 40.0), (3, 10 / 3)),
        row("2024-04-01", (0, None), (1, 100.0), (0, None)),
    ]


def test_groups(con: duckdb.DuckDBPyConnection) -> None:
    rows = satisfaction(con, by="channel")
    assert rows[2:] == [
        row("2024-03-01", (2, 0.0), (2, 50.0), (2, 4.0), "direct"),
        row("2024-04-01", (0, None), (1, 100.0), (0, None), "direct"),
        row("2024-03-01", (0, None), (3, 100 / 3), (1, 2.0), "email"),
    ]
    for total in rows[:2]:
        parts = [r for r in rows[2:] if r["period"] == total["period"]]
        for key in ("nps_respondents", "csat_respondents", "ces_respondents"):
            assert sum(p[key] for p in parts) == total[key]


def test_nps_agrees_with_the_nps_command(con: duckdb.DuckDBPyConnection) -> None:
    from journey_metrics.metrics.nps import nps_rows

    rows = satisfaction(con)
    nps = nps_rows(con, period="month", tz="UTC", as_of=at(AS_OF))
    assert [(r["period"], r["respondents"], r["nps"]) for r in nps] == [
        (r["period"], r["nps_respondents"], r["nps"]) for r in rows if r["nps_respondents"]]
