"""Property tests: `revenue` and `ltv` against plain-Python readings of CONTRACT §10.

The references are written from the contract text (and the currency rule of issue 12 item 5):
orders are order_completed and deal_won events at or before as_of; the reporting currency is the
given one, else the most common `currency` property among orders (ties: the first by name);
an order in another currency is excluded (counted, never summed); an order without a currency
counts. Activity is any event but identify, the email events a person does not do, and the
signals of leaving (CONTRACT §4).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handmade_events import HandEvent, load_events, population
from journey_metrics.config import Framework
from journey_metrics.db import connect
from journey_metrics.metrics.ltv import LtvQuery, ltv_rows
from journey_metrics.metrics.revenue import revenue_rows

T0 = datetime(2024, 2, 20, tzinfo=UTC)
ZONES = ("UTC", "America/Los_Angeles", "Asia/Tokyo", "Europe/Berlin")
CHANNELS = ("(none)", "direct", "email")
NOT_ACTIVITY = frozenset({"identify", "email_processed", "email_dropped", "email_delivered",
                          "email_deferred", "email_bounce", "email_unsubscribe",
                          "email_group_unsubscribe", "email_spamreport"})
ORDERS = ("order_completed", "deal_won")
NAMES = ("order_completed", "order_completed", "deal_won", "page_view", "identify",
         "email_unsubscribe", "email_open", "signed_up")
SCORES = {"nps_response": (0, 10), "csat_response": (1, 5), "ces_response": (1, 7)}
FRAMEWORK = Framework.model_validate({
    "name": "prop", "window": "30d",
    "stages": [{"name": "visit", "match": [{"event": "page_view"}]},
               {"name": "signup", "match": [{"event": "signed_up"}]}],
})


@dataclass(frozen=True)
class Case:
    persons: tuple[tuple[str, str], ...]
    events: tuple[HandEvent, ...]
    tz: str
    period: str
    as_of: datetime
    currency: str | None
    by_channel: bool


def period_start(moment: datetime, tz: str, period: str) -> date:
    local = moment.astimezone(ZoneInfo(tz)).date()
    if period == "day":
        return local
    if period == "week":
        return local - timedelta(days=local.weekday())
    return local.replace(day=1)


def periods_between(first: date, later: date, period: str) -> int:
    if period == "day":
        return (later - first).days
    if period == "week":
        return (later - first).days // 7
    return (later.year - first.year) * 12 + later.month - first.month


def instants(tz: str) -> st.SearchStrategy[datetime]:
    days = st.integers(0, 70).map(lambda n: T0.date() + timedelta(days=n))
    near_midnight = st.builds(
        lambda day, minutes: datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(UTC)
        + timedelta(minutes=minutes),
        days, st.sampled_from((-60, -1, 0, 1, 60)))
    anytime = st.integers(0, 70 * 48).map(lambda n: T0 + timedelta(minutes=30 * n))
    return st.one_of(anytime, near_midnight)


@st.composite
def cases(draw: st.DrawFn, periods: tuple[str, ...] = ("week", "month"),
          names: tuple[str, ...] = NAMES) -> Case:
    tz = draw(st.sampled_from(ZONES))
    persons = []
    events: list[HandEvent] = []
    for p in range(draw(st.integers(1, 5))):
        persons.append((f"p{p}", draw(st.sampled_from(CHANNELS))))
        for _ in range(draw(st.integers(0, 8))):
            name = draw(st.sampled_from(names))
            props: dict[str, Any] = {}
            revenue = None
            if name in ORDERS:
                revenue = draw(st.one_of(st.none(), st.integers(0, 100_000).map(lambda c: c / 100)))
                currency = draw(st.sampled_from((None, "EUR", "USD", "usd")))
                if currency:
                    props["currency"] = currency
            if name in SCORES:
                props["score"] = draw(st.integers(SCORES[name][0] - 1, SCORES[name][1] + 1))
            at = draw(instants(tz))
            if events and events[-1][1] == f"p{p}" and draw(st.booleans()):
                at = when(events[-1])  # ties at the same instant
            # the random prefix makes the event_id order unrelated to the drawing order
            event_id = f"{draw(st.integers(0, 20)):02d}-{len(events):03d}"
            events.append((event_id, f"p{p}", name, at, revenue, props))
    latest = max((e[3] for e in events), default=T0)
    as_of = draw(st.one_of(st.just(latest), instants(tz)))
    assert isinstance(as_of, datetime)
    return Case(tuple(persons), tuple(events), tz, draw(st.sampled_from(periods)), as_of,
                draw(st.sampled_from((None, None, "EUR", "usd", "GBP"))), draw(st.booleans()))


def when(e: HandEvent) -> datetime:
    moment = e[3]
    assert isinstance(moment, datetime)
    return moment


def currency_of(e: HandEvent) -> str | None:
    value = e[5].get("currency")
    return value.upper() if value else None


def reporting(case: Case, orders: list[HandEvent]) -> str | None:
    if case.currency:
        return case.currency.upper()
    counts = Counter(c for e in orders if (c := currency_of(e)))
    if not counts:
        return None
    return min(counts, key=lambda c: (-counts[c], c))


def groups_of(case: Case) -> dict[str, list[str]]:
    """person -> the groups they count in: their channel at as_of (each of a person's events
    carries their channel: handmade_events.load_events), `(none)` for a person without events
    (a row of the persons table only); a person whose events all come after as_of is in no
    group (decision 156)."""
    seen = {e[1] for e in case.events if when(e) <= case.as_of}
    later = {e[1] for e in case.events} - seen
    return {p: [] if p in later else ["all", c if p in seen else "(none)"] if case.by_channel
            else ["all"] for p, c in case.persons}


def order_by_group(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (r["group"] != "all", r["group"], r.get("period", ""),
                                       r.get("cohort", "")))


def reference_revenue(case: Case) -> list[dict[str, Any]]:
    seen = [e for e in case.events if when(e) <= case.as_of]
    orders = [e for e in seen if e[2] in ORDERS]
    currency = reporting(case, orders)

    def included(e: HandEvent) -> bool:
        return currency is None or currency_of(e) in (None, currency)

    def start(e: HandEvent) -> date:
        return period_start(when(e), case.tz, case.period)

    cells: dict[tuple[str, date], dict[str, Any]] = defaultdict(
        lambda: {"orders": 0, "revenue": 0.0, "buyers": set(), "active": set(), "repeat": set(),
                 "excluded": 0})
    member = groups_of(case)
    for e in seen:
        if e[2] in NOT_ACTIVITY and e[2] not in ORDERS:
            continue  # a period has a row when someone was active or ordered in it
        for g in member[e[1]]:
            cell = cells[(g, start(e))]
            if e[2] not in NOT_ACTIVITY:
                cell["active"].add(e[1])
            if e[2] in ORDERS and not included(e):
                cell["excluded"] += 1
            elif e[2] in ORDERS:
                cell["orders"] += 1
                cell["revenue"] += e[4] or 0.0
                cell["buyers"].add(e[1])
                to_date = sum(1 for o in orders if o[1] == e[1] and included(o)
                              and start(o) <= start(e))
                if to_date >= 2:
                    cell["repeat"].add(e[1])
    rows = []
    for (g, p), c in cells.items():
        buyers, active = len(c["buyers"]), len(c["active"])
        rows.append({
            "group": g, "period": p.isoformat(), "orders": c["orders"], "revenue": c["revenue"],
            "buyers": buyers, "active_persons": active,
            "arpu": c["revenue"] / active if active else None,
            "arppu": c["revenue"] / buyers if buyers else None,
            "repeat_buyers": len(c["repeat"]),
            "repeat_purchase_rate": len(c["repeat"]) / buyers if buyers else None,
            "excluded_orders": c["excluded"], "currency": currency})
    return order_by_group(rows)


def same(got: Any, want: Any) -> bool:
    if got is None or want is None:
        return got is None and want is None
    if isinstance(got, float) or isinstance(want, float):
        return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)
    return bool(got == want) and type(got) is type(want)


def assert_rows(got: list[dict[str, Any]], want: list[dict[str, Any]], case: Any) -> None:
    assert len(got) == len(want), f"{len(got)} rows, want {len(want)}\n{got}\n{want}\n{case}"
    for got_row, want_row in zip(got, want, strict=True):
        assert set(got_row) == set(want_row), (got_row, want_row)
        wrong = {k: (got_row[k], v) for k, v in want_row.items() if not same(got_row[k], v)}
        assert not wrong, f"{wrong} (got, want) in {want_row}\n{case}"


@pytest.fixture(scope="module")
def mcon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(tmp_path_factory.mktemp("money_property") / "w.duckdb")
    yield connection
    connection.close()


def prepare(con: duckdb.DuckDBPyConnection, case: Case) -> None:
    load_events(con, case.events, channels=dict(case.persons), persons=[p for p, _ in case.persons])
    population(con, case.as_of, "channel" if case.by_channel else None)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_revenue_matches_the_contract_reference(
    mcon: duckdb.DuckDBPyConnection, case: Case
) -> None:
    prepare(mcon, case)
    got = revenue_rows(mcon, period=case.period, tz=case.tz, as_of=case.as_of,
                       currency=case.currency)
    assert_rows(got, reference_revenue(case), case)


def reference_ltv(case: Case) -> list[dict[str, Any]]:
    seen = [e for e in case.events if when(e) <= case.as_of]
    orders = [e for e in seen if e[2] in ORDERS]
    currency = reporting(case, orders)

    def start(e: HandEvent) -> date:
        return period_start(when(e), case.tz, case.period)

    cohort_of: dict[str, date] = {}
    for e in sorted(seen, key=when):
        if e[2] == "signed_up" and e[1] not in cohort_of:
            cohort_of[e[1]] = start(e)
    now = period_start(case.as_of, case.tz, case.period)
    members: dict[tuple[str, date], list[str]] = defaultdict(list)
    member = groups_of(case)
    for person, cohort in cohort_of.items():
        for g in member[person]:
            members[(g, cohort)].append(person)
    rows = []
    for (g, cohort), people in members.items():
        last = periods_between(cohort, now, case.period)
        total = 0.0
        for n in range(last + 1):
            revenue = sum(e[4] or 0.0 for e in orders
                          if e[1] in people and start(e) >= cohort
                          and periods_between(cohort, start(e), case.period) == n
                          and (currency is None or currency_of(e) in (None, currency)))
            total += revenue
            rows.append({"group": g, "cohort": cohort.isoformat(), "period": n,
                         "cohort_size": len(people),
                         "revenue": None if n == last else revenue,
                         "cumulative_revenue_per_person": None if n == last
                         else total / len(people)})
    return sorted(rows, key=lambda r: (r["group"] != "all", r["group"], r["cohort"], r["period"]))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases(("day", "week", "month")))
def test_ltv_matches_the_contract_reference(mcon: duckdb.DuckDBPyConnection, case: Case) -> None:
    prepare(mcon, case)
    got = ltv_rows(mcon, LtvQuery(FRAMEWORK, "signup", case.period, case.tz, case.as_of,
                                  case.currency))
    assert_rows(got, reference_ltv(case), case)
