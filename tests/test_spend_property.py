"""Attribution's spend columns (CONTRACT §9: cost, cpa, roas) against a plain-Python reading of
the contract, on random spend files and random attribution rows.

The reference, from the contract text and decisions 56 and 114: a spend row counts for its
group (its channel; by campaign, its campaign or `(none)` when empty) when its day, starting at
midnight in the report's zone, starts inside [from, to) (not cut at as_of); `cost` is the sum;
`cpa` = cost / conversions, null only without conversions; `roas` = revenue / cost, null only
without cost; a group with a spend row but no credit still gets a row of 0 conversions under
each model.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journey_metrics.metrics.attribution import add_spend, read_spend, spend_by_group

CHANNELS = ("email", "paid_search", "social", "direct")
CAMPAIGNS = ("", "spring", "brand")
ZONES = ("UTC", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe")
FIRST_DAY = date(2024, 3, 5)  # the days cross New York's and Lord Howe's DST changes


@st.composite
def spend_rows(draw: st.DrawFn) -> list[tuple[date, str, str, float]]:
    return draw(st.lists(st.tuples(
        st.integers(0, 40).map(lambda n: FIRST_DAY + timedelta(days=n)),
        st.sampled_from(CHANNELS),
        st.sampled_from(CAMPAIGNS),
        st.sampled_from((0.0, 0.5, 1.25, 10.0, 333.33)),
    ), max_size=12))


@st.composite
def credit_rows(draw: st.DrawFn) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    models = draw(st.sampled_from((("last",), ("first", "linear"), ("participation",))))
    groups = draw(st.lists(st.sampled_from((*CHANNELS, *CAMPAIGNS[1:], "(none)")),
                           unique=True, max_size=4))
    rows = []
    for model in models:
        for group in groups:
            conversions = draw(st.sampled_from((0.0, 0.25, 1.0, 3.0)))
            revenue = draw(st.sampled_from((0.0, 19.99, 100.0)))
            rows.append({"model": model, "group": group, "conversions": conversions,
                         "revenue": revenue, "share": 0.5})
    return models, rows


def bound(draw: st.DrawFn, zone: ZoneInfo) -> datetime | None:
    day = draw(st.integers(-1, 42))
    if day < 0:
        return None
    hour = draw(st.sampled_from((0, 0, 1, 13, 23)))  # midnight most often: the boundary case
    local = datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, hour, tzinfo=zone)
    return (local + timedelta(days=day)).astimezone(UTC)


@st.composite
def windows(draw: st.DrawFn) -> tuple[str, datetime | None, datetime | None]:
    name = draw(st.sampled_from(ZONES))
    zone = ZoneInfo(name)
    return name, bound(draw, zone), bound(draw, zone)


def reference(spend: list[tuple[date, str, str, float]], models: tuple[str, ...],
              rows: list[dict[str, Any]], group_by: str, zone_name: str,
              from_at: datetime | None, to_at: datetime | None) -> dict[tuple[str, str], Any]:
    zone = ZoneInfo(zone_name)
    cost: dict[str, float] = {}
    for day, channel, campaign, amount in spend:
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
        if from_at is not None and midnight < from_at:
            continue
        if to_at is not None and midnight >= to_at:
            continue
        group = channel if group_by == "channel" else (campaign or "(none)")
        cost[group] = cost.get(group, 0.0) + amount
    want = {}
    for model in models:
        credited = {r["group"]: r for r in rows if r["model"] == model}
        for group in set(credited) | set(cost):
            conversions = credited[group]["conversions"] if group in credited else 0.0
            revenue = credited[group]["revenue"] if group in credited else 0.0
            spent = cost.get(group, 0.0)
            want[(model, group)] = (
                conversions, revenue, spent,
                None if conversions == 0 else spent / conversions,
                None if spent == 0 else revenue / spent,
            )
    return want


def same(a: float | None, b: float | None) -> bool:
    return a is b is None or (a is not None and b is not None and math.isclose(a, b))


@settings(max_examples=300, deadline=None)
@given(spend=spend_rows(), credit=credit_rows(), window=windows(),
       group_by=st.sampled_from(("channel", "campaign")))
def test_spend_matches_the_contract_reference(
    tmp_path_factory: pytest.TempPathFactory, spend: list[tuple[date, str, str, float]],
    credit: tuple[tuple[str, ...], list[dict[str, Any]]],
    window: tuple[str, datetime | None, datetime | None], group_by: str,
) -> None:
    models, rows = credit
    zone_name, from_at, to_at = window
    path = Path(tmp_path_factory.mktemp("spend")) / "spend.csv"
    path.write_text("date,channel,campaign,cost\n" + "".join(
        f"{day.isoformat()},{channel},{campaign},{amount}\n"
        for day, channel, campaign, amount in spend), encoding="utf-8")
    cost = spend_by_group(read_spend(path), group_by, ZoneInfo(zone_name), from_at, to_at)
    got = add_spend(rows, cost, models)
    want = reference(spend, models, rows, group_by, zone_name, from_at, to_at)
    assert {(r["model"], r["group"]) for r in got} == set(want)
    assert len(got) == len(want)
    for row in got:
        conversions, revenue, spent, cpa, roas = want[(row["model"], row["group"])]
        assert (row["conversions"], row["revenue"]) == (conversions, revenue)
        assert math.isclose(row["cost"], spent, abs_tol=1e-9), (row, spent)
        assert same(row["cpa"], cpa), (row, cpa)
        assert same(row["roas"], roas), (row, roas)
