"""Property tests: `satisfaction` and `churn` against plain-Python readings of CONTRACT §11.

The references are written from the contract text: each person's latest answer per survey and
period (ties: the larger event id, as NPS); NPS 9-10 promoters, 0-6 detractors; CSAT satisfied =
4-5; CES mean; answers out of the survey's range do not count. Churn: activity per §4 (leaving
signals are no activity); rows for every group and every period from the one after the first
period with activity of anyone up to the period containing as_of (open: churned and churn_rate
null).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
from hypothesis import HealthCheck, example, given, settings

from journey_metrics.metrics.churn import churn_rows
from journey_metrics.metrics.satisfaction import satisfaction_rows
from test_money_property import (
    NOT_ACTIVITY,
    SCORES,
    T0,
    Case,
    assert_rows,
    cases,
    groups_of,
    mcon,
    period_start,
    prepare,
    when,
)

__all__ = ["mcon"]  # the module-scoped connection fixture

SURVEY_NAMES = ("nps_response", "csat_response", "ces_response", "page_view")
CHURN_NAMES = ("page_view", "page_view", "email_open", "identify", "email_unsubscribe",
               "email_group_unsubscribe", "email_spamreport", "email_delivered", "deal_lost")
LEAVING = ("email_unsubscribe", "email_group_unsubscribe", "email_spamreport")


def reference_satisfaction(case: Case) -> list[dict[str, Any]]:
    seen = [e for e in case.events if when(e) <= case.as_of and e[2] in SCORES]
    latest: dict[tuple[str, str, date], Any] = {}
    for e in sorted(seen, key=lambda e: (when(e), e[0])):
        latest[(e[1], e[2], period_start(when(e), case.tz, case.period))] = e
    cells: dict[tuple[str, date], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    member = groups_of(case)
    for (person, survey, p), e in latest.items():
        low, high = SCORES[survey]
        if low <= e[5]["score"] <= high:
            for g in member[person]:
                cells[(g, p)][survey].append(e[5]["score"])
    rows = []
    for (g, p), answers in cells.items():
        nps, csat, ces = (answers["nps_response"], answers["csat_response"],
                          answers["ces_response"])
        rows.append({
            "group": g, "period": p.isoformat(), "nps_respondents": len(nps),
            "nps": 100 * (sum(s >= 9 for s in nps) - sum(s <= 6 for s in nps)) / len(nps)
            if nps else None,
            "csat_respondents": len(csat),
            "csat": 100 * sum(s >= 4 for s in csat) / len(csat) if csat else None,
            "ces_respondents": len(ces), "ces": sum(ces) / len(ces) if ces else None})
    return sorted(rows, key=lambda r: (r["group"] != "all", r["group"], r["period"]))


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases(names=SURVEY_NAMES))
def test_satisfaction_matches_the_contract_reference(
    mcon: duckdb.DuckDBPyConnection, case: Case
) -> None:
    prepare(mcon, case)
    got = satisfaction_rows(mcon, period=case.period, tz=case.tz, as_of=case.as_of)
    assert_rows(got, reference_satisfaction(case), case)


def next_period(p: date, period: str) -> date:
    if period == "week":
        return p + timedelta(days=7)
    return (p.replace(day=28) + timedelta(days=4)).replace(day=1)


def reference_churn(case: Case) -> list[dict[str, Any]]:
    seen = [e for e in case.events if when(e) <= case.as_of]
    member = groups_of(case)
    active: dict[str, dict[date, set[str]]] = defaultdict(lambda: defaultdict(set))
    leaving: dict[str, dict[date, set[str]]] = defaultdict(lambda: defaultdict(set))
    lost: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for e in seen:
        p = period_start(when(e), case.tz, case.period)
        for g in member[e[1]]:
            if e[2] not in NOT_ACTIVITY:
                active[g][p].add(e[1])
            if e[2] in LEAVING:
                leaving[g][p].add(e[1])
            if e[2] == "deal_lost":
                lost[g][p] += 1
    now = period_start(case.as_of, case.tz, case.period)
    rows = []
    if not active["all"]:
        return rows
    first = min(active["all"])
    for g in {g for groups in member.values() for g in groups}:
        by_period = active[g]
        previous = first
        while (p := next_period(previous, case.period)) <= now:
            before = by_period.get(previous, set())
            churned = None if p == now else len(before - by_period.get(p, set()))
            rows.append({
                "group": g, "period": p.isoformat(), "active_before": len(before),
                "churned": churned,
                "churn_rate": None if churned is None or not before else churned / len(before),
                "unsubscribed": len(leaving[g].get(p, set())), "deals_lost": lost[g].get(p, 0)})
            previous = p
    return sorted(rows, key=lambda r: (r["group"] != "all", r["group"], r["period"]))


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases(names=CHURN_NAMES))
# found by this test: p0's only event is after as_of, so p0 is in no group, not `(none)`
# (decision 156; the reference had it in `(none)`)
@example(case=Case(
    persons=(("p0", "(none)"), ("p1", "direct")),
    events=(("00-000", "p0", "page_view", T0 + timedelta(minutes=30 * 335), None, {}),
            ("00-001", "p1", "page_view", T0, None, {})),
    tz="UTC", period="week", as_of=datetime(2024, 2, 26, 23, 0, tzinfo=UTC), currency=None,
    by_channel=True))
def test_churn_matches_the_contract_reference(
    mcon: duckdb.DuckDBPyConnection, case: Case
) -> None:
    prepare(mcon, case)
    got = churn_rows(mcon, period=case.period, tz=case.tz, as_of=case.as_of)
    assert_rows(got, reference_churn(case), case)
