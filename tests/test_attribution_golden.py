"""Attribution golden cases, computed by hand (CONTRACT §9).

Paths are built from web sessions (one page_view each, hours apart, so each is its own session)
and email clicks; the conversion is an `order_completed` worth 100 at T unless said otherwise.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from attribution_data import T, attribute, click, credits, order, web
from journey_metrics.errors import UsageError

D = timedelta(days=1)
H = timedelta(hours=1)
S = timedelta(seconds=1)
ADDITIVE = ("first", "last", "last_non_direct", "linear", "position", "time_decay")


def approx(got: dict[str, Any], want: dict[str, float]) -> None:
    assert set(got) == set(want), (got, want)
    for group, value in want.items():
        assert math.isclose(got[group], value, rel_tol=1e-9, abs_tol=1e-9), (group, got, want)


def test_one_touch_path_gets_everything(con: duckdb.DuckDBPyConnection) -> None:
    rows = attribute(con, [web("w1", "p", T - D, "paid_search"), order("o1", "p", T)])
    for model in (*ADDITIVE, "participation"):
        assert [r for r in rows if r["model"] == model] == [
            {"model": model, "group": "paid_search", "conversions": 1.0, "revenue": 100.0,
             "share": 1.0}]


def test_two_touch_path(con: duckdb.DuckDBPyConnection) -> None:
    rows = attribute(con, [web("w1", "p", T - 2 * D, "organic_search"),
                           click("c1", "p", T - D), order("o1", "p", T)],
                     half_life=D)
    approx(credits(rows, "first"), {"organic_search": 1, "email": 0})
    approx(credits(rows, "last"), {"email": 1, "organic_search": 0})
    approx(credits(rows, "last_non_direct"), {"email": 1, "organic_search": 0})
    approx(credits(rows, "linear"), {"organic_search": 0.5, "email": 0.5})
    approx(credits(rows, "position"), {"organic_search": 0.5, "email": 0.5})
    # weights 2^-2 and 2^-1 -> 1/3 and 2/3
    approx(credits(rows, "time_decay"), {"organic_search": 1 / 3, "email": 2 / 3})
    approx(credits(rows, "participation"), {"organic_search": 1, "email": 1})


def test_revenue_of_a_third_is_exact_to_1e_9(con: duckdb.DuckDBPyConnection) -> None:
    # three touches share 100 linearly: 33.333333333 each (printed to 9 places, as credits)
    rows = attribute(con, [web("w1", "p", T - 3 * D, "social"), web("w2", "p", T - 2 * D,
                           "paid_search"), click("c1", "p", T - D), order("o1", "p", T)])
    revenue = {r["group"]: r["revenue"] for r in rows if r["model"] == "linear"}
    approx(revenue, {"social": 100 / 3, "paid_search": 100 / 3, "email": 100 / 3})
    assert all(abs(v - 100 / 3) < 1e-9 for v in revenue.values())


def test_printed_thirds_add_up_to_the_totals(con: duckdb.DuckDBPyConnection) -> None:
    # 3 x 0.333333333 misses 1 by a billionth: it goes to the group rounding cut most, the
    # three tie, so to the first by name (largest remainder; CONTRACT §9 "add up")
    rows = attribute(con, [web("w1", "p", T - 3 * D, "social"), web("w2", "p", T - 2 * D,
                           "paid_search"), click("c1", "p", T - D), order("o1", "p", T)])
    linear = [r for r in rows if r["model"] == "linear"]
    assert [(r["group"], r["conversions"], r["revenue"]) for r in linear] == [
        ("email", 0.333333334, 33.333333334), ("paid_search", 0.333333333, 33.333333333),
        ("social", 0.333333333, 33.333333333)]
    assert linear[0]["share"] == 0.333333334


def test_printed_credits_that_overshoot_give_back_a_billionth(
        con: duckdb.DuckDBPyConnection) -> None:
    # position over 5 touches: 0.4, 0.2/3 x 3, 0.4; a third of 0.2 prints 0.066666667, three of
    # them overshoot by a billionth, which the first of the tied middle groups by name gives back
    rows = attribute(con, [web("w1", "p", T - 5 * D, "paid_search"),
                           web("w2", "p", T - 4 * D, "social"),
                           web("w3", "p", T - 3 * D, "referral"),
                           web("w4", "p", T - 2 * D, "organic_search"),
                           click("c1", "p", T - D), order("o1", "p", T)])
    position = {r["group"]: (r["conversions"], r["revenue"]) for r in rows
                if r["model"] == "position"}
    assert position == {"paid_search": (0.4, 40.0), "email": (0.4, 40.0),
                        "organic_search": (0.066666666, 6.666666666),
                        "referral": (0.066666667, 6.666666667),
                        "social": (0.066666667, 6.666666667)}


def test_the_unit_goes_by_the_twelfth_place_of_the_cut(con: duckdb.DuckDBPyConnection) -> None:
    # linear: an order on one email touch, then one on email, email, paid, email, email, social;
    # sixths sum to 12 places: email 1.666666666668, paid_search and social 0.166666666667 each;
    # printed 1.666666667 + 0.166666667 x 2 overshoots 2 by a billionth, given back by the group
    # rounding raised most: paid and social (0.333e-9) rather than email (0.332e-9), paid by name
    at = [T - 5 * D + n * D for n in range(6)]
    channels = ("email", "email", "paid_search", "email", "email", "social")
    events = [web(f"w{n}", "p", t, c) for n, (t, c) in enumerate(zip(at, channels, strict=True))]
    rows = attribute(con, [*events, order("o1", "p", at[0] + H), order("o2", "p", at[5] + H)],
                     models=("linear",))
    assert [(r["group"], r["conversions"], r["revenue"]) for r in rows] == [
        ("email", 1.666666667, 166.666666667), ("social", 0.166666667, 16.666666667),
        ("paid_search", 0.166666666, 16.666666666)]


def test_a_drift_larger_than_the_groups_is_spread(con: duckdb.DuckDBPyConnection) -> None:
    # 3,000 conversions, each a third to social and two thirds (two touches) to email: credits
    # are summed to 12 places, so social sums to 999.999999999 and email to 1999.999999998;
    # the 3 billionths they miss go one to each group and the third to the first by name
    events = []
    for n in range(3000):
        events += [web(f"w{n}", f"p{n}", T - 3 * D, "social"), click(f"a{n}", f"p{n}", T - 2 * D),
                   click(f"b{n}", f"p{n}", T - D), order(f"o{n}", f"p{n}", T, revenue=3.0)]
    rows = attribute(con, events, models=("linear",))
    assert [(r["group"], r["conversions"], r["revenue"]) for r in rows] == [
        ("email", 2000.0, 6000.0), ("social", 1000.0, 3000.0)]


def test_a_drift_is_spread_in_proportion(con: duckdb.DuckDBPyConnection) -> None:
    # as above, plus one conversion on 500 touches, one of them referral (1/500): the drift of
    # 3 billionths is spread over 3 groups in proportion to their sums, so referral, whose
    # share is 2 in 3 million, takes none and keeps its exact 0.002 (spread evenly, it would
    # print 0.002000001)
    events = []
    for n in range(3000):
        events += [web(f"w{n}", f"p{n}", T - 3 * D, "social"), click(f"a{n}", f"p{n}", T - 2 * D),
                   click(f"b{n}", f"p{n}", T - D), order(f"o{n}", f"p{n}", T, revenue=3.0)]
    events += [web(f"x{n}", "q", T - D + n * timedelta(minutes=31),
                   "referral" if n == 0 else "social") for n in range(500)]
    events.append(order("oq", "q", T + 10 * D, revenue=500.0))
    rows = attribute(con, events, models=("linear",), as_of=T + 11 * D)
    got = {r["group"]: (r["conversions"], r["revenue"]) for r in rows}
    assert got["referral"] == (0.002, 1.0)
    assert got["email"][0] + got["social"][0] == pytest.approx(3000.998, abs=1e-9)
    assert sum(Decimal(repr(v)) for v, _ in got.values()) == 3001
    assert sum(Decimal(repr(v)) for _, v in got.values()) == 9500


FOUR = [web("w1", "p", T - 10 * D, "direct"), web("w2", "p", T - 5 * D, "social"),
        click("c1", "p", T - 3 * D), web("w3", "p", T - H, "direct"), order("o1", "p", T)]


def test_four_touch_path(con: duckdb.DuckDBPyConnection) -> None:
    rows = attribute(con, FOUR)
    approx(credits(rows, "first"), {"direct": 1, "social": 0, "email": 0})
    approx(credits(rows, "last"), {"direct": 1, "social": 0, "email": 0})
    approx(credits(rows, "last_non_direct"), {"email": 1, "direct": 0, "social": 0})
    approx(credits(rows, "linear"), {"direct": 0.5, "social": 0.25, "email": 0.25})
    # 0.4 first + 0.4 last (both direct), 0.2/2 to each of the two between
    approx(credits(rows, "position"), {"direct": 0.8, "social": 0.1, "email": 0.1})
    revenue = {r["group"]: r["revenue"] for r in rows if r["model"] == "position"}
    approx(revenue, {"direct": 80, "social": 10, "email": 10})
    # rows of a model: conversions desc, then group
    assert [r["group"] for r in rows if r["model"] == "linear"] == ["direct", "email", "social"]
    assert [r["model"] for r in rows][::3] == [
        "first", "last", "last_non_direct", "linear", "position", "time_decay", "participation"]


def test_participation_is_not_additive(con: duckdb.DuckDBPyConnection) -> None:
    rows = attribute(con, FOUR, models=("participation",))
    assert rows == [
        {"model": "participation", "group": g, "conversions": 1.0, "revenue": 100.0,
         "share": 1.0} for g in ("direct", "email", "social")]
    assert sum(r["conversions"] for r in rows) == 3  # one conversion, three groups credited


def test_time_decay_weights_one_half_quarter(con: duckdb.DuckDBPyConnection) -> None:
    # half-life 7d: touches 14d, 7d and 0d before the conversion weigh 1/4, 1/2, 1 -> /7
    rows = attribute(con, [web("w1", "p", T - 14 * D, "social"),
                           web("w2", "p", T - 7 * D, "referral"),
                           web("w3", "p", T, "paid_search"), order("o1", "p", T)],
                     models=("time_decay",), half_life=7 * D)
    approx(credits(rows, "time_decay"), {"social": 1 / 7, "referral": 2 / 7,
                                         "paid_search": 4 / 7})


def test_time_decay_far_touches_do_not_underflow(con: duckdb.DuckDBPyConnection) -> None:
    # with a 1-minute half-life every weight is below 2^-1000 relative to the conversion
    rows = attribute(con, [web("w1", "p", T - 20 * D, "social"),
                           web("w2", "p", T - 20 * D + timedelta(minutes=31), "referral"),
                           order("o1", "p", T)],
                     models=("time_decay",), half_life=timedelta(minutes=1))
    credit = credits(rows, "time_decay")
    assert math.isclose(sum(credit.values()), 1)  # type: ignore[arg-type]
    assert credit["referral"] > 0.999


def test_lookback_boundary_is_inclusive(con: duckdb.DuckDBPyConnection) -> None:
    at_boundary = attribute(con, [web("w1", "p", T - 30 * D, "social"), order("o1", "p", T)])
    assert credits(at_boundary, "last") == {"social": 1.0}
    outside = attribute(con, [web("w1", "p", T - 30 * D - S, "social"), order("o1", "p", T)])
    assert credits(outside, "last") == {"(none)": 1.0}
    short = attribute(con, [web("w1", "p", T - 2 * H, "social"), order("o1", "p", T)],
                      lookback=2 * H)
    assert credits(short, "first") == {"social": 1.0}


def test_touch_at_conversion_counts_later_touch_does_not(
        con: duckdb.DuckDBPyConnection) -> None:
    rows = attribute(con, [web("w1", "p", T, "social"), click("c1", "p", T + S),
                           order("o1", "p", T)], models=("last",))
    assert credits(rows, "last") == {"social": 1.0}


def test_last_non_direct_with_all_direct_path(con: duckdb.DuckDBPyConnection) -> None:
    rows = attribute(con, [web("w1", "p", T - 3 * D, "direct"),
                           web("w2", "p", T - D, "direct"), order("o1", "p", T)],
                     models=("last_non_direct",))
    assert rows == [{"model": "last_non_direct", "group": "direct", "conversions": 1.0,
                     "revenue": 100.0, "share": 1.0}]


def test_no_touch_is_credited_to_none(con: duckdb.DuckDBPyConnection) -> None:
    rows = attribute(con, [web("w1", "q", T - D, "social"), order("o1", "p", T, revenue=None),
                           order("o2", "q", T, revenue=40.0)])
    for model in (*ADDITIVE, "participation"):
        got = {r["group"]: (r["conversions"], r["revenue"], r["share"])
               for r in rows if r["model"] == model}
        # p's order has no touch (and no revenue: value 0); q's has one social session
        assert got == {"(none)": (1.0, 0.0, 0.5), "social": (1.0, 40.0, 0.5)}, model


def test_conversion_window_and_as_of(con: duckdb.DuckDBPyConnection) -> None:
    events = [web("w1", "p", T - D, "social"), order("o1", "p", T),
              order("o2", "p", T + D), order("o3", "p", T + 2 * D)]
    rows = attribute(con, events, models=("last",), as_of=T + D)  # o3 is after as_of
    assert credits(rows, "last") == {"social": 2.0}
    rows = attribute(con, events, models=("last",), as_of=T + 3 * D,
                     from_at=T, to_at=T + D)  # [from, to): o1 only
    assert rows[0]["conversions"] == 1.0


def test_sessions_are_touches_once(con: duckdb.DuckDBPyConnection) -> None:
    # two page views 10 minutes apart are one session (the first event's channel and campaign)
    rows = attribute(con, [web("w1", "p", T - 2 * H, "social", "spring"),
                           web("w2", "p", T - 2 * H + 10 * timedelta(minutes=1), "direct"),
                           order("o1", "p", T)],
                     models=("linear",), group_by="campaign")
    assert rows == [{"model": "linear", "group": "spring", "conversions": 1.0,
                     "revenue": 100.0, "share": 1.0}]


def test_by_campaign_uses_the_touch_campaign(con: duckdb.DuckDBPyConnection) -> None:
    rows = attribute(con, [web("w1", "p", T - 2 * D, "social", "spring"),
                           click("c1", "p", T - D, "newsletter"),
                           web("w2", "p", T - H, "direct"), order("o1", "p", T)],
                     models=("linear", "last"), group_by="campaign")
    approx(credits(rows, "linear"), {"spring": 1 / 3, "newsletter": 1 / 3, "(none)": 1 / 3})
    approx(credits(rows, "last"), {"(none)": 1, "spring": 0, "newsletter": 0})
    assert [r["model"] for r in rows] == ["linear"] * 3 + ["last"] * 3  # the order given


DOO = [web("w1", "p", T - 3 * D, "direct"), web("w2", "p", T - 2 * D, "organic_search"),
       web("w3", "p", T - D, "organic_search"), order("o1", "p", T)]


def test_exposure_transform_merges_consecutive_groups(con: duckdb.DuckDBPyConnection) -> None:
    plain = attribute(con, DOO, models=("linear",))
    approx(credits(plain, "linear"), {"direct": 1 / 3, "organic_search": 2 / 3})
    exposed = attribute(con, DOO, models=("linear", "last"), path_transform="exposure")
    approx(credits(exposed, "linear"), {"direct": 0.5, "organic_search": 0.5})
    approx(credits(exposed, "last"), {"organic_search": 1, "direct": 0})


def test_exposure_merges_only_neighbours(con: duckdb.DuckDBPyConnection) -> None:
    # O, D, O stays three touches; with --by campaign the channels are irrelevant
    path = [web("w1", "p", T - 3 * D, "organic_search", "a"),
            web("w2", "p", T - 2 * D, "direct", "a"),
            web("w3", "p", T - D, "organic_search"), order("o1", "p", T)]
    by_channel = attribute(con, path, models=("linear",), path_transform="exposure")
    approx(credits(by_channel, "linear"), {"organic_search": 2 / 3, "direct": 1 / 3})
    by_campaign = attribute(con, path, models=("linear", "first"), group_by="campaign",
                            path_transform="exposure")
    approx(credits(by_campaign, "linear"), {"a": 0.5, "(none)": 0.5})


def test_stage_as_conversion(con: duckdb.DuckDBPyConnection) -> None:
    from journey_metrics.config import load_framework

    rows = attribute(con, [web("w1", "p", T - D, "social"), order("o1", "p", T)],
                     conversion_event=None, framework=load_framework("aarrr"), stage="revenue",
                     models=("last",))
    assert credits(rows, "last") == {"social": 1.0}
    with pytest.raises(UsageError, match="stage"):
        attribute(con, [], conversion_event=None, framework=load_framework("aarrr"),
                  stage="nope")
    with pytest.raises(UsageError, match="either"):
        attribute(con, [], conversion_event=None)


def test_no_conversions_no_rows(con: duckdb.DuckDBPyConnection) -> None:
    assert attribute(con, [web("w1", "p", T - D, "social")]) == []


# --- spend ------------------------------------------------------------------------------------

def test_spend_cost_cpa_roas(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    from journey_metrics.metrics.attribution import add_spend, read_spend, spend_by_group
    from journey_metrics.metrics.common import zone

    rows = attribute(con, [web("w1", "p", T - D, "paid_search"), order("o1", "p", T),
                           click("c1", "q", T - D), order("o2", "q", T, 30.0),
                           click("c2", "r", T - D), order("o3", "r", T, 50.0)],
                     models=("last",))
    spend = tmp_path / "spend.csv"
    spend.write_text("date,channel,campaign,cost\n"
                     "2024-03-01,email,newsletter,10\n"
                     "2024-03-02,email,,30.5\n"
                     "2024-03-01,paid_search,brand,0\n"
                     "2024-03-03,display,banner,25\n"
                     "2024-02-29,email,,1000\n", encoding="utf-8")
    cost = spend_by_group(read_spend(spend), "channel", zone("UTC"),
                          from_at=T.replace(day=1, hour=0), to_at=None)
    assert cost == {"email": 40.5, "paid_search": 0.0, "display": 25.0}
    got = add_spend(rows, cost, ("last",))
    assert got == [
        {"model": "last", "group": "email", "conversions": 2.0, "revenue": 80.0,
         "share": 2 / 3, "cost": 40.5, "cpa": 20.25, "roas": 80.0 / 40.5},
        # zero cost: CPA is 0 / 1 = 0, ROAS (100 / 0) is undefined
        {"model": "last", "group": "paid_search", "conversions": 1.0, "revenue": 100.0,
         "share": 1 / 3, "cost": 0.0, "cpa": 0.0, "roas": None},
        # spend without a conversion: a row with 0 conversions, no CPA, ROAS 0
        {"model": "last", "group": "display", "conversions": 0.0, "revenue": 0.0,
         "share": 0.0, "cost": 25.0, "cpa": None, "roas": 0.0},
    ]
    by_campaign = spend_by_group(read_spend(spend), "campaign", zone("UTC"), None, None)
    assert by_campaign == {"newsletter": 10.0, "(none)": 1030.5, "brand": 0.0, "banner": 25.0}



def test_spend_only_groups_take_their_place_in_the_order() -> None:
    # rows go by conversions descending, then group (docs/metrics.md): a group with spend and
    # no path sorts among the groups of 0 conversions, not after them (found by an audit)
    from journey_metrics.metrics.attribution import add_spend

    rows = [{"model": "last", "group": "email", "conversions": 1.0, "revenue": 5.0, "share": 1.0},
            {"model": "last", "group": "social", "conversions": 0.0, "revenue": 0.0,
             "share": 0.0}]
    got = add_spend(rows, {"display": 2.0, "affiliate": 1.0}, ("last",))
    assert [r["group"] for r in got] == ["email", "affiliate", "display", "social"]

def test_spend_dates_are_local_days(tmp_path: Path) -> None:
    from journey_metrics.metrics.attribution import read_spend, spend_by_group
    from journey_metrics.metrics.common import parse_instant, zone

    spend = tmp_path / "spend.csv"
    spend.write_text("date,channel,cost\n2024-03-01,email,1\n2024-03-02,email,2\n",
                     encoding="utf-8")
    tokyo = zone("Asia/Tokyo")
    # --from 2024-03-02 in Tokyo is 2024-03-01T15:00Z: only the 2nd counts
    cost = spend_by_group(read_spend(spend), "channel", tokyo,
                          parse_instant("2024-03-02", tokyo, "--from"), None)
    assert cost == {"email": 2.0}


@pytest.mark.parametrize(("text", "line", "reason"), [
    ("date,channel,campaign,cost\n2024-03-01,email,,x\n", 2, "cost 'x' is not a number"),
    ("date,channel,campaign,cost\n2024-03-01,email,,1\n03/02/2024,email,,1\n", 3,
     "is not YYYY-MM-DD"),
    ("date,channel,campaign,cost\n2024-03-01,email,,-5\n", 2, "negative"),
    ("date,channel,campaign,cost,clicks\n", 1, "unknown column"),
    ("date,campaign,cost\n", 1, "must name date, channel, cost"),
    ("date,channel,campaign,cost\n2024-03-01,email,1\n", 2, "3 fields"),
    ("date,channel,campaign,cost\n2024-03-01,email,,nan\n", 2, "not a number"),
    ("", 1, "empty file"),
])
def test_bad_spend_file_names_file_and_line(tmp_path: Path, text: str, line: int,
                                            reason: str) -> None:
    from journey_metrics.metrics.attribution import read_spend

    spend = tmp_path / "spend.csv"
    spend.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=f"{spend}:{line}: .*{reason}"):
        read_spend(spend)


# --- through the command line -----------------------------------------------------------------

def cli(args: list[str]) -> Any:
    from typer.testing import CliRunner

    from journey_metrics.cli import app
    from journey_metrics.cli.metric_commands import add_metric_commands

    add_metric_commands()
    return CliRunner().invoke(app, args)


def _page(message_id: str, at: datetime, referrer: str = "") -> dict[str, Any]:
    page = {"url": "https://shop.example/", "path": "/", "referrer": referrer}
    return {"type": "page", "messageId": message_id, "anonymousId": "a1",
            "timestamp": at.isoformat(), "context": {"page": page}, "properties": page}


@pytest.fixture
def warehouse(tmp_path: Path, run_pipeline: Any) -> Path:
    """A real warehouse (sessions cut by the loader's view) holding the FOUR path: direct,
    social, an email click, direct, then an order 10 minutes into the last session."""
    from conftest import write_json_array, write_jsonl

    folder = tmp_path / "input"
    write_jsonl(folder / "web" / "events.jsonl", [
        _page("m1", T - 10 * D),
        {"type": "identify", "messageId": "m2", "anonymousId": "a1", "userId": "u1",
         "timestamp": (T - 10 * D + S).isoformat(), "traits": {"email": "x@example.com"}},
        _page("m3", T - 5 * D, "https://www.facebook.com/"),
        _page("m4", T - H),
        {"type": "track", "messageId": "m5", "anonymousId": "a1", "event": "Order Completed",
         "timestamp": (T - H + 10 * timedelta(minutes=1)).isoformat(),
         "properties": {"revenue": 100}},
    ])
    write_json_array(folder / "email" / "sendgrid.json", [
        {"email": "x@example.com", "timestamp": int((T - 3 * D).timestamp()), "event": "click",
         "sg_event_id": "e1", "sg_message_id": "s1", "url": "https://shop.example/"}])
    db = tmp_path / "a.duckdb"
    run_pipeline(folder, db)
    return db


def test_cli_json(warehouse: Path, tmp_path: Path) -> None:
    spend = tmp_path / "spend.csv"
    spend.write_text("date,channel,campaign,cost\n2024-03-10,email,,20\n", encoding="utf-8")
    result = cli(["attribution", "--db", str(warehouse), "--conversion", "order_completed",
                  "--model", "linear", "--model", "first", "--spend", str(spend),
                  "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert list(rows[0]) == ["model", "group", "conversions", "revenue", "share", "cost", "cpa",
                             "roas"]
    assert rows[0] == {"model": "linear", "group": "direct", "conversions": 0.5,
                       "revenue": 50.0, "share": 0.5, "cost": 0.0, "cpa": 0.0, "roas": None}
    assert rows[1] == {"model": "linear", "group": "email", "conversions": 0.25,
                       "revenue": 25.0, "share": 0.25, "cost": 20.0, "cpa": 80.0,
                       "roas": 1.25}
    assert [r["model"] for r in rows] == ["linear"] * 3 + ["first"] * 3


def test_cli_spend_is_not_cut_at_as_of(warehouse: Path, tmp_path: Path) -> None:
    """CONTRACT §9: cost is the group's spend in [from, to), the conversions are also cut at
    as_of: a spend day after the latest event (the default as_of) still counts."""
    spend = tmp_path / "spend.csv"
    spend.write_text("date,channel,campaign,cost\n2024-03-10,email,,20\n2024-04-20,email,,10\n"
                     "2024-05-02,email,,5\n", encoding="utf-8")
    result = cli(["attribution", "--db", str(warehouse), "--conversion", "order_completed",
                  "--model", "linear", "--spend", str(spend), "--to", "2024-05-01",
                  "--format", "json"])
    assert result.exit_code == 0, result.output
    email = next(r for r in json.loads(result.output) if r["group"] == "email")
    assert (email["cost"], email["cpa"], email["roas"]) == (30.0, 120.0, 25.0 / 30.0)


def test_cli_table_and_exposure(warehouse: Path) -> None:
    result = cli(["attribution", "--db", str(warehouse), "--conversion", "order_completed",
                  "--by", "channel", "--path-transform", "exposure", "--lookback", "7d"])
    assert result.exit_code == 0, result.output
    assert "participation" in result.output
    assert "time_decay" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--model", "nope"], "--model"),
    (["--lookback", "30x"], "--lookback"),
    (["--spend", "MISSING"], "--spend"),
    (["--stage", "revenue"], "--stage needs --framework"),
])
def test_cli_usage_errors(warehouse: Path, tmp_path: Path, args: list[str],
                          message: str) -> None:
    args = [str(tmp_path / "missing.csv") if a == "MISSING" else a for a in args]
    result = cli(["attribution", "--db", str(warehouse), "--conversion", "order_completed",
                  *args])
    # main() turns a UsageError into one line and exit status 2
    assert isinstance(result.exception, UsageError), result.output
    assert message in str(result.exception)


def test_cli_bad_spend_row_exits_2(warehouse: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    spend = tmp_path / "spend.csv"
    spend.write_text("date,channel,campaign,cost\n2024-03-10,email,,-1\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "journey_metrics", "attribution", "--db", str(warehouse),
         "--conversion", "order_completed", "--spend", str(spend)],
        capture_output=True, text=True, env=os.environ.copy(), check=False)
    assert done.returncode == 2, done.stderr
    assert f"{spend}:2: cost '-1' is negative" in " ".join(done.stderr.split())


def test_python_api(warehouse: Path) -> None:
    import journey_metrics

    frame = journey_metrics.open(warehouse).attribution(
        conversion="order_completed", model=("first", "last_non_direct"), group_by="channel")
    assert frame.columns == ["model", "group", "conversions", "revenue", "share"]
    assert frame.filter(frame["conversions"] > 0).rows() == [
        ("first", "direct", 1.0, 100.0, 1.0), ("last_non_direct", "email", 1.0, 100.0, 1.0)]
    by_campaign = journey_metrics.open(warehouse).attribution(
        conversion="order_completed", model="linear", group_by="campaign")
    assert by_campaign.rows() == [("linear", "(none)", 1.0, 100.0, 1.0)]


def test_where_keeps_the_conversions_of_matching_persons_only(tmp_path: Path) -> None:
    """CONTRACT §6: `--where trait:plan=pro` counts only pro persons' conversions (their touches
    and credit); the shares are of those conversions."""
    from conftest import write_jsonl
    from journey_metrics import pipeline
    from journey_metrics.evaluate import evaluate
    from journey_metrics.metrics.registry import get

    def msg(i: int, **fields: object) -> dict[str, object]:
        return {"messageId": f"m{i}", "timestamp": f"2024-05-01T10:0{i}:00Z", **fields}

    write_jsonl(tmp_path / "in" / "web" / "a.jsonl", [
        msg(0, type="page", userId="pro1",
            context={"campaign": {"medium": "cpc"}}, properties={"url": "https://s/"}),
        msg(1, type="identify", userId="pro1", traits={"plan": "pro"}),
        msg(2, type="track", userId="pro1", event="Order Completed", properties={"revenue": 10}),
        msg(3, type="identify", userId="free1", traits={"plan": "free"}),
        msg(4, type="page", userId="free1", properties={"url": "https://s/"}),
        msg(5, type="track", userId="free1", event="Order Completed", properties={"revenue": 7}),
    ])
    db = tmp_path / "w.duckdb"
    pipeline.run(tmp_path / "in", db)
    rows = evaluate(get("attribution"), db, {"conversion": "order_completed", "model": ("last",)},
                    where=("trait:plan=pro",)).rows
    assert [(r["group"], r["conversions"], r["revenue"]) for r in rows if r["conversions"]] == [
        ("paid_search", 1.0, 10.0)]
    everyone = evaluate(get("attribution"), db,
                        {"conversion": "order_completed", "model": ("last",)}).rows
    assert sum(r["conversions"] for r in everyone) == 2
    with pytest.raises(UsageError, match="no --by segment"):
        evaluate(get("attribution"), db, {"conversion": "order_completed"}, by="channel")


def test_currency_keeps_one_currencys_revenue(input_dir: Path, db_path: Path,
                                              run_pipeline: Any) -> None:
    """§9 counts each conversion's revenue as written, so orders in EUR and USD were added up;
    the dashboard's header says orders in other currencies are left out, and its attribution
    chart still added them (a contract audit). `--currency` keeps one currency's revenue (a
    conversion without a currency counts in it, as in `revenue`); without it a note names the
    currencies mixed. The dashboard uses the reporting currency, as its revenue does."""
    import subprocess
    import sys

    from conftest import write_jsonl
    from journey_metrics.report.data import collect

    def event(i: int, kind: str, **extra: Any) -> dict[str, Any]:
        return {"type": kind, "messageId": f"m{i}", "timestamp": f"2024-03-0{i}T10:00:00Z",
                "anonymousId": f"a{i}", **extra}

    def order(i: int, properties: dict[str, Any]) -> dict[str, Any]:
        return {**event(i, "track"), "messageId": f"o{i}", "timestamp": f"2024-03-0{i}T10:05:00Z",
                "event": "Order Completed", "properties": properties}

    write_jsonl(input_dir / "web" / "a.jsonl", [
        event(1, "page"), order(1, {"revenue": 100, "currency": "EUR"}),
        event(2, "page"), order(2, {"revenue": 50, "currency": "usd"}),
        event(3, "page"), order(3, {"revenue": 20, "currency": "eur "}),
        event(4, "page"), order(4, {"revenue": 7})])
    run_pipeline(input_dir, db_path)

    def attribution(*options: str) -> tuple[float, float, str]:
        done = subprocess.run(
            [sys.executable, "-m", "journey_metrics", "attribution", "--db", str(db_path),
             "--conversion", "order_completed", "--model", "last", "--format", "json",
             *options], capture_output=True, text=True, check=True)
        rows = json.loads(done.stdout)
        return (sum(r["conversions"] for r in rows), sum(r["revenue"] for r in rows),
                done.stderr)

    assert attribution() == (4.0, 177.0, "note: attribution: revenue adds conversions in 2 "
                             "currencies (EUR, USD) as written; --currency EUR keeps only that "
                             "one's revenue\n")
    assert attribution("--currency", "eur") == (4.0, 127.0, "")
    assert attribution("--currency", "USD") == (4.0, 57.0, "")
    page = collect(db_path)
    assert page["attribution"]["currency"] == "EUR"
    assert sum(r["revenue"] for r in page["attribution"]["rows"] if r["model"] == "last") == 127
