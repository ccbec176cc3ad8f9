"""Retention golden cases, computed by hand (CONTRACT §4 "All times...", "Activity", "Retention").

Each case loads plain `fct_events` / `persons` tables and asserts the engine's exact rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from conftest import at
from journey_metrics.config import Framework
from journey_metrics.metrics.retention import RetentionQuery, compute_retention

FRAMEWORK = Framework.model_validate({
    "name": "golden",
    "window": "30d",
    "stages": [
        {"name": "visit", "match": [{"event": ["page_view", "email_click"]}]},
        {"name": "signup", "match": [{"event": "signed_up"}]},
        {"name": "login", "match": [{"event": "signed_in"}]},
        {"name": "identified", "match": [{"event": "identify"}]},
        {"name": "emailed", "match": [{"event": ["email_unsubscribe", "email_spamreport",
                                                  "email_delivered", "email_open"]}]},
    ],
})

Event = tuple[str, str, str, str]  # (event_id, person_id, event_name, ISO 8601 instant)


def load(con: duckdb.DuckDBPyConnection, events: list[Event]) -> None:
    con.execute("""
        CREATE OR REPLACE TABLE fct_events (
            person_id VARCHAR, event_id VARCHAR, source VARCHAR, event_name VARCHAR,
            occurred_at TIMESTAMPTZ, channel VARCHAR, properties JSON)
    """)
    con.execute("CREATE OR REPLACE TABLE persons "
                "(person_id VARCHAR, channel VARCHAR, first_seen_at TIMESTAMPTZ)")
    con.executemany("INSERT INTO fct_events VALUES (?, ?, 'web', ?, ?, 'direct', ?)",
                    [[p, i, n, at(t), json.dumps({})] for i, p, n, t in events])
    con.execute("INSERT INTO persons SELECT person_id, 'direct', min(occurred_at) "
                "FROM fct_events GROUP BY person_id")


def retention(con: duckdb.DuckDBPyConnection, events: list[Event], *, as_of: str,
              period: str = "day", tz: str = "UTC", start: str = "signup",
              return_rule: str = "any", cumulative: bool = False) -> list[dict[str, Any]]:
    load(con, events)
    return compute_retention(con, RetentionQuery(
        framework=FRAMEWORK, start_stage=start, return_rule=return_rule,
        period=period, tz=tz, as_of=at(as_of), cumulative=cumulative,  # type: ignore[arg-type]
    ))


def cohort(start: str, size: int, retained: list[int | None]) -> list[dict[str, Any]]:
    """The expected rows of one cohort: `retained` per period 0, 1, ... (None = open period)."""
    return [{"cohort": start, "period": n, "cohort_size": size, "retained": r,
             "rate": None if r is None else r / size} for n, r in enumerate(retained)]


def test_cohort_is_the_first_start_event(con: duckdb.DuckDBPyConnection) -> None:
    # p signs up again on 03-03: p stays in the 03-01 cohort (and the second signup, an
    # activity, is a return in period 2); q alone is the 03-03 cohort.
    rows = retention(con, [
        ("1", "p", "signed_up", "2024-03-01T10:00:00Z"),
        ("2", "p", "page_view", "2024-03-02T10:00:00Z"),
        ("3", "p", "signed_up", "2024-03-03T10:00:00Z"),
        ("4", "q", "signed_up", "2024-03-03T09:00:00Z"),
    ], as_of="2024-03-05T12:00:00Z")
    assert rows == (cohort("2024-03-01", 1, [1, 1, 1, 0, None])
                    + cohort("2024-03-03", 1, [1, 0, None]))


def test_return_in_the_start_period_is_period_zero(con: duckdb.DuckDBPyConnection) -> None:
    # Weeks start on Monday (2024-03-04). p returns only in its start week, q the next week.
    rows = retention(con, [
        ("1", "p", "signed_up", "2024-03-04T10:00:00Z"),
        ("2", "p", "page_view", "2024-03-06T10:00:00Z"),
        ("3", "q", "signed_up", "2024-03-05T10:00:00Z"),
        ("4", "q", "page_view", "2024-03-12T10:00:00Z"),
    ], as_of="2024-03-20T00:00:00Z", period="week")
    assert rows == cohort("2024-03-04", 2, [2, 1, None])


def test_period_zero_is_the_cohort_size_even_without_activity(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # The start stage matches `identify`, which is not activity: period 0 still holds 1.
    rows = retention(con, [("1", "p", "identify", "2024-03-01T10:00:00Z")],
                     as_of="2024-03-03T00:00:00Z", start="identified")
    assert rows == cohort("2024-03-01", 1, [1, 0, None])


@pytest.mark.parametrize(("cumulative", "retained"), [
    (False, [2, 0, 0, 1, 0, None]),
    # on or after: p's period-3 return counts in 1..3; q's return in the open period 5 counts
    # in 1..4 (it happened before as_of), while period 5 itself stays null.
    (True, [2, 2, 2, 2, 1, None]),
])
def test_on_versus_cumulative(con: duckdb.DuckDBPyConnection, cumulative: bool,
                              retained: list[int | None]) -> None:
    rows = retention(con, [
        ("1", "p", "signed_up", "2024-03-01T10:00:00Z"),
        ("2", "p", "page_view", "2024-03-04T10:00:00Z"),
        ("3", "q", "signed_up", "2024-03-01T11:00:00Z"),
        ("4", "q", "page_view", "2024-03-06T09:00:00Z"),
    ], as_of="2024-03-06T10:00:00Z", cumulative=cumulative)
    assert rows == cohort("2024-03-01", 2, retained)


def test_cohorts_near_as_of_have_null_cells(con: duckdb.DuckDBPyConnection) -> None:
    # Months; as_of is in March. p returned in March (the open period): null, not 1. r never
    # returned: its open period is null, not 0. q started in March: only period 0.
    rows = retention(con, [
        ("1", "p", "signed_up", "2024-01-15T10:00:00Z"),
        ("2", "p", "page_view", "2024-02-10T10:00:00Z"),
        ("3", "p", "page_view", "2024-03-05T10:00:00Z"),
        ("4", "r", "signed_up", "2024-02-20T10:00:00Z"),
        ("5", "q", "signed_up", "2024-03-02T10:00:00Z"),
    ], as_of="2024-03-10T00:00:00Z", period="month")
    assert rows == (cohort("2024-01-01", 1, [1, 1, None]) + cohort("2024-02-01", 1, [1, None])
                    + cohort("2024-03-01", 1, [1]))


# p signs up on Friday 2024-03-08 18:00Z (10:00 in Los Angeles) and comes back at
# 2024-03-11T04:30Z: Monday in UTC, Sunday 21:30 PDT in Los Angeles. q signs up at
# 2024-03-10T04:30Z: Sunday in UTC, Saturday 20:30 PST in Los Angeles.
EVENING = [
    ("1", "p", "signed_up", "2024-03-08T18:00:00Z"),
    ("2", "p", "page_view", "2024-03-11T04:30:00Z"),
    ("3", "q", "signed_up", "2024-03-10T04:30:00Z"),
]


@pytest.mark.parametrize(("tz", "period", "as_of", "expected"), [
    # as_of 2024-03-13T00:00Z is 03-13 in UTC, 03-12 17:00 in Los Angeles
    ("UTC", "day", "2024-03-13T00:00:00Z",
     cohort("2024-03-08", 1, [1, 0, 0, 1, 0, None]) + cohort("2024-03-10", 1, [1, 0, 0, None])),
    ("America/Los_Angeles", "day", "2024-03-13T00:00:00Z",
     cohort("2024-03-08", 1, [1, 0, 1, 0, None]) + cohort("2024-03-09", 1, [1, 0, 0, None])),
    # weeks: p's return is in the next week in UTC, in the start week in Los Angeles
    ("UTC", "week", "2024-03-20T00:00:00Z", cohort("2024-03-04", 2, [2, 1, None])),
    ("America/Los_Angeles", "week", "2024-03-20T00:00:00Z", cohort("2024-03-04", 2, [2, 0, None])),
])
def test_local_calendar_periods(con: duckdb.DuckDBPyConnection, tz: str, period: str,
                                as_of: str, expected: list[dict[str, Any]]) -> None:
    assert retention(con, EVENING, as_of=as_of, period=period, tz=tz) == expected


def test_week_crossing_a_month_boundary(con: duckdb.DuckDBPyConnection) -> None:
    # The week of Monday 2024-02-26 runs to Sunday 2024-03-03 (inclusive).
    events = [
        ("1", "p", "signed_up", "2024-02-27T10:00:00Z"),
        ("2", "p", "page_view", "2024-03-02T10:00:00Z"),  # same week: period 0
        ("3", "p", "page_view", "2024-03-04T00:00:00Z"),  # Monday 00:00: period 1
        ("4", "q", "signed_up", "2024-03-03T23:59:59Z"),  # still the week of 02-26
        ("5", "q", "page_view", "2024-03-11T10:00:00Z"),  # period 2
    ]
    assert retention(con, events, as_of="2024-03-20T00:00:00Z", period="week") == cohort(
        "2024-02-26", 2, [2, 1, 1, None])
    # the same people by month: two cohorts, March is open
    assert retention(con, events, as_of="2024-03-20T00:00:00Z", period="month") == (
        cohort("2024-02-01", 1, [1, None]) + cohort("2024-03-01", 1, [1]))


def test_dst_day_is_23_hours(con: duckdb.DuckDBPyConnection) -> None:
    # America/New_York 2024-03-10 runs from 05:00Z (00:00 EST) to 04:00Z next day (00:00 EDT).
    rows = retention(con, [
        ("1", "p", "signed_up", "2024-03-10T04:59:00Z"),  # 03-09 23:59 EST
        ("2", "p", "page_view", "2024-03-11T04:30:00Z"),  # 03-11 00:30 EDT (not 03-10)
        ("3", "q", "signed_up", "2024-03-10T05:00:00Z"),  # 03-10 00:00 EST
        ("4", "q", "page_view", "2024-03-11T03:59:00Z"),  # 03-10 23:59 EDT: period 0
        ("5", "q", "page_view", "2024-03-12T03:59:00Z"),  # 03-11 23:59 EDT: period 1
    ], as_of="2024-03-13T04:00:00Z", tz="America/New_York")  # 03-13 00:00 EDT
    assert rows == (cohort("2024-03-09", 1, [1, 0, 1, 0, None])
                    + cohort("2024-03-10", 1, [1, 1, 0, None]))


def test_events_after_as_of_are_ignored(con: duckdb.DuckDBPyConnection) -> None:
    # cumulative: p's only return is after as_of (ignored); r's return exactly at as_of counts
    # for period 1; q's signup one second after as_of makes no cohort.
    rows = retention(con, [
        ("1", "p", "signed_up", "2024-03-01T10:00:00Z"),
        ("2", "p", "page_view", "2024-03-05T10:00:00Z"),
        ("3", "r", "signed_up", "2024-03-01T12:00:00Z"),
        ("4", "r", "page_view", "2024-03-03T10:00:00Z"),
        ("5", "q", "signed_up", "2024-03-03T10:00:01Z"),
    ], as_of="2024-03-03T10:00:00Z", cumulative=True)
    assert rows == cohort("2024-03-01", 2, [2, 1, None])


def test_as_of_at_a_period_start_opens_that_period(con: duckdb.DuckDBPyConnection) -> None:
    rows = retention(con, [
        ("1", "p", "signed_up", "2024-03-01T10:00:00Z"),
        ("2", "p", "page_view", "2024-03-02T10:00:00Z"),
    ], as_of="2024-03-03T00:00:00Z")
    assert rows == cohort("2024-03-01", 1, [1, 1, None])


RETURNS = [
    ("1", "p", "signed_up", "2024-03-01T10:00:00Z"),
    ("2", "p", "identify", "2024-03-02T10:00:00Z"),
    ("3", "p", "email_bounce", "2024-03-02T11:00:00Z"),
    ("4", "p", "email_delivered", "2024-03-03T10:00:00Z"),
    ("5", "p", "email_processed", "2024-03-03T10:00:00Z"),
    ("6", "p", "email_open", "2024-03-04T10:00:00Z"),
    ("7", "p", "signed_in", "2024-03-05T10:00:00Z"),
]


@pytest.mark.parametrize(("return_rule", "retained"), [
    ("any", [1, 0, 0, 1, 1, None]),  # identify / email_* by the sender are not activity
    ("login", [1, 0, 0, 0, 1, None]),  # only signed_in
    ("identified", [1, 1, 0, 0, 0, None]),  # a stage counts even when it is not activity
])
def test_return_rule_stage_versus_any_activity(con: duckdb.DuckDBPyConnection, return_rule: str,
                                               retained: list[int | None]) -> None:
    rows = retention(con, RETURNS, as_of="2024-03-06T10:00:00Z", return_rule=return_rule)
    assert rows == cohort("2024-03-01", 1, retained)


def test_no_start_events_no_rows(con: duckdb.DuckDBPyConnection) -> None:
    assert retention(con, [("1", "p", "page_view", "2024-03-01T10:00:00Z")],
                     as_of="2024-03-05T00:00:00Z") == []


def test_an_unsubscribe_is_not_a_return(con: duckdb.DuckDBPyConnection) -> None:
    # CONTRACT §4 Activity: p signs up on day 0; on day 1 p's only event is an unsubscribe, on
    # day 2 a spam report, on day 3 a group unsubscribe, on day 4 an email open (activity).
    rows = retention(con, [
        ("1", "p", "signed_up", "2024-03-01T10:00:00Z"),
        ("2", "p", "email_unsubscribe", "2024-03-02T10:00:00Z"),
        ("3", "p", "email_spamreport", "2024-03-03T10:00:00Z"),
        ("4", "p", "email_group_unsubscribe", "2024-03-04T10:00:00Z"),
        ("5", "p", "email_open", "2024-03-05T10:00:00Z"),
    ], as_of="2024-03-06T10:00:00Z")
    assert rows == cohort("2024-03-01", 1, [1, 0, 0, 0, 1, None])
    # cumulative (retained in n or later): a later unsubscribe retains no earlier day either
    rows = retention(con, [
        ("1", "p", "signed_up", "2024-03-01T10:00:00Z"),
        ("2", "p", "email_unsubscribe", "2024-03-02T10:00:00Z"),
    ], as_of="2024-03-04T10:00:00Z", cumulative=True)
    assert rows == cohort("2024-03-01", 1, [1, 0, 0, None])


def test_an_unsubscribe_is_no_return_whatever_the_stage(con: duckdb.DuckDBPyConnection) -> None:
    # CONTRACT §4 "an unsubscribe never counts as a return in retention": also with --return
    # STAGE of a stage the unsubscribe matches (`emailed`). Day 1: an unsubscribe; day 2: a spam
    # report and a delivered email (not activity, but the stage's: --return STAGE counts what it
    # matches); day 3: an open.
    rows = retention(con, [
        ("1", "p", "signed_up", "2024-03-01T10:00:00Z"),
        ("2", "p", "email_unsubscribe", "2024-03-02T10:00:00Z"),
        ("3", "q", "signed_up", "2024-03-01T11:00:00Z"),
        ("4", "q", "email_spamreport", "2024-03-03T10:00:00Z"),
        ("5", "q", "email_delivered", "2024-03-03T10:00:00Z"),
        ("6", "p", "email_open", "2024-03-04T10:00:00Z"),
    ], as_of="2024-03-05T10:00:00Z", return_rule="emailed")
    assert rows == cohort("2024-03-01", 2, [2, 0, 1, 1, None])


def test_the_dashboard_shows_the_latest_cohorts(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    """A year of weekly cohorts is 52 rows of up to 52 cells: the dashboard keeps the latest
    `retention.cohorts` (config/report.yaml), says how many, and refuses fewer than one."""
    from types import SimpleNamespace

    from journey_metrics.charts.retention import retention_blocks
    from journey_metrics.config import ReportSettings, RetentionView, load_report_settings
    from journey_metrics.errors import UsageError
    from journey_metrics.metrics import retention

    cohorts = [f"2026-0{m}-01" for m in range(1, 6)]
    rows = [{"cohort": c, "period": p, "cohort_size": 4, "retained": 1, "rate": 0.25}
            for c in cohorts for p in range(2)]
    monkeypatch.setattr(retention, "compute_retention", lambda con, query: rows)
    ctx = SimpleNamespace(con=None, tz="UTC", as_of=None, framework=lambda name: FRAMEWORK,
                          settings=ReportSettings(retention=RetentionView(cohorts=3)))
    shown = retention._collect(ctx)  # type: ignore[arg-type]
    assert shown == [r for r in rows if r["cohort"] in cohorts[-3:]]
    page = {"settings": {"retention_cohorts": 3}}
    assert "The latest 3 cohorts are shown." in retention_blocks(shown, page)[0].how_to_read
    assert "shown" not in retention_blocks(shown[-2:], page)[0].how_to_read  # all there are
    assert "shown" not in retention_blocks([], page)[0].how_to_read
    page = {"settings": {"retention_cohorts": 1}}
    assert "The latest cohort is shown." in retention_blocks(shown[-1:], page)[0].how_to_read
    assert load_report_settings().retention.cohorts == 12
    path = tmp_path / "report.yaml"
    path.write_text("retention:\n  cohorts: 0\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"line 2, column 3: retention.cohorts: must be at"):
        load_report_settings(path)
