"""Property tests: the retention, referral and NPS engines against plain-Python readings of
CONTRACT §4 ("All times...", "Activity", "Retention", "Referral", "NPS").

The references below are written from the contract text only (not from sql/marts/):

* every instant is UTC; a calendar period (day, week starting Monday, month) is taken from the
  local date in `tz` (zoneinfo), so daylight-saving days are 23 or 25 hours long;
* events after as_of are ignored (an event exactly at as_of counts);
* activity = any event except identify, email_processed/dropped/delivered/deferred/bounce and
  the signals of leaving email_unsubscribe/group_unsubscribe/spamreport.

Contract readings this file fixes:

* Retention: a return event before the person's cohort period is ignored; "period n or later"
  (cumulative) reaches up to as_of, so a return in the open as_of period counts for the earlier
  (closed) periods. The periods between two period starts are whole calendar periods (months by
  calendar month, weeks by Monday).
* Referral: ties between a person's signed_up events at the same instant are broken by the smaller
  event_id (the contract says only "first"); the `signups` column counts first signups per period.
* NPS: ties between a person's answers at the same instant in a period are broken by the larger
  event_id, compared as text (the contract is silent; fct_nps.sql documents "ties: the larger
  event id"); with `--by channel`
  channel groups follow `all`, sorted by name, each only for periods where it has respondents.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journey_metrics.config import Framework
from journey_metrics.db import connect
from journey_metrics.metrics.nps import compute_nps
from journey_metrics.metrics.referral import compute_referral
from journey_metrics.metrics.retention import RetentionQuery, compute_retention

T0 = datetime(2024, 2, 20, 0, 0, tzinfo=UTC)  # 70 days: Feb/Mar/Apr, US and EU DST changes
SPAN_MINUTES = 70 * 24 * 60
STEP_MINUTES = 30  # every zone below has whole-hour offsets, so local midnights get hit
ZONES = ("UTC", "America/Los_Angeles", "Asia/Tokyo", "Europe/Berlin")
PERIODS = ("day", "week", "month")
CHANNELS = ("(none)", "direct", "email")
LEAVING = frozenset({"email_unsubscribe", "email_group_unsubscribe", "email_spamreport"})
NOT_ACTIVITY = frozenset({"identify", "email_processed", "email_dropped", "email_delivered",
                          "email_deferred", "email_bounce", *LEAVING})
EVENT_NAMES = ("page_view", "signed_up", "signed_in", "identify", "email_delivered",
               "email_open", "invite_sent", "nps_response", "email_unsubscribe",
               "email_spamreport")
CODES = ("c1", "c2", "c3")


@dataclass(frozen=True)
class Event:
    event_id: str
    person_id: str
    name: str
    at: datetime
    properties: tuple[tuple[str, Any], ...] = ()

    def prop(self, key: str) -> Any:
        return dict(self.properties).get(key)


@dataclass(frozen=True)
class Log:
    persons: tuple[tuple[str, str], ...]  # (person_id, channel)
    events: tuple[Event, ...]
    tz: str
    period: str
    as_of: datetime


# --- calendar periods (zoneinfo) ------------------------------------------------------------------


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


def is_activity(event: Event) -> bool:
    return event.name not in NOT_ACTIVITY


def until_as_of(log: Log) -> list[Event]:
    return [e for e in log.events if e.at <= log.as_of]


# --- shared loading and comparison ----------------------------------------------------------------


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        CREATE OR REPLACE TABLE fct_events (
            person_id VARCHAR, event_id VARCHAR, source VARCHAR, event_name VARCHAR,
            occurred_at TIMESTAMPTZ, channel VARCHAR, properties JSON, person_no BIGINT)
    """)
    con.execute("CREATE OR REPLACE TABLE persons "
                "(person_id VARCHAR, channel VARCHAR, first_seen_at TIMESTAMPTZ, person_no BIGINT)")


def load(con: duckdb.DuckDBPyConnection, log: Log) -> None:
    """Plain `fct_events` and `persons` tables holding exactly the log (one statement each)."""
    con.execute("DELETE FROM fct_events")
    con.execute("DELETE FROM persons")
    channel_of = dict(log.persons)
    # person_no: the warehouse's integer id of a person (the marts join persons on it)
    number_of = {p: n for n, (p, _) in enumerate(log.persons, start=1)}
    con.execute(
        "INSERT INTO fct_events SELECT unnest($p), unnest($i), 'web', unnest($n), unnest($t), "
        "unnest($c), unnest($j), unnest($no)",
        {"p": [e.person_id for e in log.events], "i": [e.event_id for e in log.events],
         "n": [e.name for e in log.events], "t": [e.at for e in log.events],
         "c": [channel_of[e.person_id] for e in log.events],
         "j": [json.dumps(dict(e.properties)) for e in log.events],
         "no": [number_of[e.person_id] for e in log.events]},
    )
    first_seen = [min((e.at for e in log.events if e.person_id == p), default=T0)
                  for p, _ in log.persons]
    con.execute(
        "INSERT INTO persons SELECT unnest($p), unnest($c), unnest($f), unnest($no)",
        {"p": [p for p, _ in log.persons], "c": [c for _, c in log.persons], "f": first_seen,
         "no": [number_of[p] for p, _ in log.persons]},
    )


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
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(tmp_path_factory.mktemp("marts_property") / "w.duckdb")
    create_tables(connection)
    yield connection
    connection.close()


# --- random logs ----------------------------------------------------------------------------------


def moment(step: int) -> datetime:
    return T0 + timedelta(minutes=STEP_MINUTES * step)


STEPS = st.integers(0, SPAN_MINUTES // STEP_MINUTES)
# the days when clocks change in America/Los_Angeles (Mar 10) and Europe/Berlin (Mar 31)
DST_DAYS = (date(2024, 3, 10), date(2024, 3, 11), date(2024, 3, 31), date(2024, 4, 1))


def instants(tz: str) -> st.SearchStrategy[datetime]:
    """Any half hour of the span, or one near a local midnight in `tz` (often a DST day)."""
    days = st.one_of(st.sampled_from(DST_DAYS),
                     st.integers(0, 70).map(lambda n: T0.date() + timedelta(days=n)))
    near_midnight = st.builds(
        lambda day, minutes: datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(UTC)
        + timedelta(minutes=minutes),
        days, st.sampled_from((-60, -30, -1, 0, 1, 30, 60)),
    )
    return st.one_of(STEPS.map(moment), near_midnight)


@st.composite
def logs(draw: st.DrawFn, names: tuple[str, ...] = EVENT_NAMES) -> Log:
    tz = draw(st.sampled_from(ZONES))
    persons: list[tuple[str, str]] = []
    events: list[Event] = []
    for p in range(draw(st.integers(1, 5))):
        person_id = f"p{p}"
        persons.append((person_id, draw(st.sampled_from(CHANNELS))))
        for _ in range(draw(st.integers(0, 10))):
            # the random prefix makes the event_id order unrelated to the drawing order
            event_id = f"{draw(st.integers(0, 20)):02d}-{len(events):03d}"
            name = draw(st.sampled_from(names))
            # a few distinct instants per person make ties (same instant) frequent
            at = draw(instants(tz))
            if events and events[-1].person_id == person_id and draw(st.booleans()):
                at = events[-1].at
            props: dict[str, Any] = {}
            if name in ("invite_sent", "signed_up") and draw(st.integers(0, 3)):
                props["invite_code"] = draw(st.sampled_from(CODES))
            if name == "nps_response":
                props["score"] = draw(st.integers(0, 10))
            events.append(Event(event_id, person_id, name, at, tuple(sorted(props.items()))))
    latest = max((e.at for e in events), default=T0)
    # as_of is an aware instant; expressing it in `tz` must not change anything
    as_of = draw(st.one_of(st.just(latest), instants(tz))).astimezone(ZoneInfo(tz))
    return Log(tuple(persons), tuple(events), tz, draw(st.sampled_from(PERIODS)), as_of)


# --- retention ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionCase:
    log: Log
    stages: tuple[tuple[str, ...], ...]  # event names each stage matches
    start: int  # stage index
    return_rule: int | None  # stage index, None = any activity
    cumulative: bool

    def framework(self) -> Framework:
        return Framework.model_validate({
            "name": "prop",
            "stages": [{"name": f"s{k}", "match": [{"event": list(names)}]}
                       for k, names in enumerate(self.stages)],
        })

    def query(self) -> RetentionQuery:
        return RetentionQuery(
            framework=self.framework(), start_stage=f"s{self.start}",
            return_rule="any" if self.return_rule is None else f"s{self.return_rule}",
            period=self.log.period,  # type: ignore[arg-type]
            tz=self.log.tz, as_of=self.log.as_of, cumulative=self.cumulative,
        )


def reference_retention(case: RetentionCase) -> list[dict[str, Any]]:
    log = case.log
    events = until_as_of(log)
    start_names = case.stages[case.start]

    def returns(e: Event) -> bool:
        if case.return_rule is None:
            return is_activity(e)
        # "an unsubscribe never counts as a return", whatever the return stage matches
        return e.name in case.stages[case.return_rule] and e.name not in LEAVING

    cohort_of: dict[str, date] = {}
    for person_id, _ in log.persons:
        starts = [e.at for e in events if e.person_id == person_id and e.name in start_names]
        if starts:
            cohort_of[person_id] = period_start(min(starts), log.tz, log.period)
    returned: dict[str, set[int]] = defaultdict(set)
    for e in events:
        if e.person_id in cohort_of and returns(e):
            n = periods_between(cohort_of[e.person_id],
                                period_start(e.at, log.tz, log.period), log.period)
            if n >= 0:
                returned[e.person_id].add(n)
    as_of_start = period_start(log.as_of, log.tz, log.period)
    rows = []
    for cohort in sorted(set(cohort_of.values())):
        members = [p for p, c in cohort_of.items() if c == cohort]
        size = len(members)
        last = periods_between(cohort, as_of_start, log.period)
        for n in range(last + 1):
            if n == 0:
                retained: int | None = size
            elif n == last:
                retained = None
            elif case.cumulative:
                retained = sum(1 for p in members if any(m >= n for m in returned[p]))
            else:
                retained = sum(1 for p in members if n in returned[p])
            rows.append({"cohort": cohort.isoformat(), "period": n, "cohort_size": size,
                         "retained": retained,
                         "rate": None if retained is None else retained / size})
    return rows


@st.composite
def retention_cases(draw: st.DrawFn) -> RetentionCase:
    stages = tuple(
        tuple(draw(st.lists(st.sampled_from(EVENT_NAMES), min_size=1, max_size=3, unique=True)))
        for _ in range(draw(st.integers(2, 3)))
    )
    return RetentionCase(
        log=draw(logs()),
        stages=stages,
        start=draw(st.integers(0, len(stages) - 1)),
        return_rule=draw(st.one_of(st.none(), st.integers(0, len(stages) - 1))),
        cumulative=draw(st.booleans()),
    )


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=retention_cases())
def test_retention_matches_the_contract_reference(
    con: duckdb.DuckDBPyConnection, case: RetentionCase
) -> None:
    load(con, case.log)
    assert_rows(compute_retention(con, case.query()), reference_retention(case), case)


# --- referral -------------------------------------------------------------------------------------


def reference_referral(log: Log) -> list[dict[str, Any]]:
    events = until_as_of(log)

    def start(e: Event) -> date:
        return period_start(e.at, log.tz, log.period)

    active: dict[date, set[str]] = defaultdict(set)
    referrers: dict[date, set[str]] = defaultdict(set)
    invites: dict[date, int] = defaultdict(int)
    for e in events:
        if is_activity(e):
            active[start(e)].add(e.person_id)
        if e.name == "invite_sent":
            referrers[start(e)].add(e.person_id)
            invites[start(e)] += 1
    signups: dict[date, int] = defaultdict(int)
    referred: dict[date, int] = defaultdict(int)
    for person_id, _ in log.persons:
        own = [e for e in events if e.person_id == person_id and e.name == "signed_up"]
        if not own:
            continue
        first = min(own, key=lambda e: (e.at, e.event_id))
        signups[start(first)] += 1
        code = first.prop("invite_code")
        if code is not None and any(
            e.name == "invite_sent" and e.prop("invite_code") == code
            and e.person_id != person_id and e.at <= first.at for e in events
        ):
            referred[start(first)] += 1

    def ratio(a: int, b: int) -> float | None:
        return a / b if b else None

    rows = []
    for p in sorted(active):
        n_active, n_ref, n_inv = len(active[p]), len(referrers[p]), invites[p]
        rows.append({
            "period": p.isoformat(), "active_persons": n_active, "referrers": n_ref,
            "invites_sent": n_inv, "signups": signups[p], "referred_signups": referred[p],
            "referral_rate": ratio(n_ref, n_active),
            "invite_conversion_rate": ratio(referred[p], n_inv),
            "k_factor": ratio(referred[p], n_active),
            "referred_share": ratio(referred[p], signups[p]),
        })
    return rows


REFERRAL_NAMES = ("page_view", "signed_up", "signed_up", "invite_sent", "invite_sent",
                  "identify", "email_delivered")


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=logs(REFERRAL_NAMES))
def test_referral_matches_the_contract_reference(
    con: duckdb.DuckDBPyConnection, log: Log
) -> None:
    load(con, log)
    got = compute_referral(con, period=log.period, tz=log.tz, as_of=log.as_of)
    assert_rows(got, reference_referral(log), log)


# --- NPS ------------------------------------------------------------------------------------------


def reference_nps(log: Log, by_channel: bool) -> list[dict[str, Any]]:
    latest: dict[tuple[str, date], Event] = {}
    for e in until_as_of(log):
        if e.name != "nps_response":
            continue
        key = (e.person_id, period_start(e.at, log.tz, log.period))
        if key not in latest or (e.at, e.event_id) > (latest[key].at, latest[key].event_id):
            latest[key] = e
    channel_of = dict(log.persons)
    groups: dict[tuple[str, date], list[int]] = defaultdict(list)
    for (person_id, p), e in latest.items():
        groups["all", p].append(e.prop("score"))
        if by_channel:
            groups[channel_of[person_id], p].append(e.prop("score"))
    rows = []
    for group, p in sorted(groups, key=lambda k: (k[0] != "all", k[0], k[1])):
        scores = groups[group, p]
        promoters = sum(1 for s in scores if s >= 9)
        detractors = sum(1 for s in scores if s <= 6)
        rows.append({
            "group": group, "period": p.isoformat(), "respondents": len(scores),
            "promoters": promoters, "passives": sum(1 for s in scores if 7 <= s <= 8),
            "detractors": detractors, "nps": 100 * (promoters - detractors) / len(scores),
        })
    return rows


NPS_NAMES = ("nps_response", "nps_response", "nps_response", "page_view")


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=logs(NPS_NAMES), by_channel=st.booleans())
def test_nps_matches_the_contract_reference(
    con: duckdb.DuckDBPyConnection, log: Log, by_channel: bool
) -> None:
    load(con, log)
    got = compute_nps(con, period=log.period, tz=log.tz, as_of=log.as_of, by_channel=by_channel)
    assert_rows(got, reference_nps(log, by_channel), (log, by_channel))
