"""Materialised marts (marts.py) equal the same rows computed on the fly, after random sequences of
loads: late data, identity merges and re-sent events included. And a stale mart is never read."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import write_jsonl
from journey_metrics import marts
from journey_metrics.config import load_framework
from journey_metrics.db import connect
from journey_metrics.metrics.common import resolve_as_of, zone
from journey_metrics.metrics.registry import Context, get
from journey_metrics.metrics.segments import Segment, prepare_population
from journey_metrics.report.data import compute

T0 = datetime(2024, 3, 1, tzinfo=UTC)
EVENTS = ("Product Viewed", "Signed Up", "Signed In", "Order Completed", "Invite Sent",
          "Product Added")


def _batch(rng: random.Random, n: int, sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Web messages: page views and tracks of a few anonymous ids and users, identifies that
    merge them, late events (days before the others) and some re-sent messages."""
    records = []
    for i in range(n):
        anon, user = f"a{rng.randrange(12)}", f"u{rng.randrange(6)}"
        at = T0 + timedelta(days=rng.randrange(40), minutes=rng.randrange(600))
        if rng.random() < 0.15:
            at -= timedelta(days=30)  # late data
        kind = rng.random()
        base = {"messageId": f"m{rng.randrange(10**9)}-{i}",
                "timestamp": at.isoformat().replace("+00:00", "Z"), "anonymousId": anon}
        if kind < 0.35:
            record = {**base, "type": "page", "properties": {"path": "/p", "url": "https://s/p"},
                      "context": {"campaign": {"medium": rng.choice(["cpc", "email", ""])}}}
        elif kind < 0.5:
            record = {**base, "type": "identify", "userId": user}
        else:
            event = rng.choice(EVENTS)
            record = {**base, "type": "track", "event": event, "userId": user,
                      "properties": {"revenue": 20, "invite_code": "c1"}}
            if rng.random() < 0.2:
                record["properties"] = {"survey": "nps", "score": rng.randrange(11)}
                record["event"] = "Survey Answered"
        records.append(record)
    records += rng.sample(sent, min(len(sent), 3))  # re-sent messages: loaded once
    sent += records
    return records


def _fresh(con: Any) -> dict[str, Any]:
    as_of = resolve_as_of(con, None, zone("UTC"))
    rows: dict[str, Any] = {}
    for name, framework, options in marts.invocations():
        prepare_population(con, Segment(), as_of)
        ctx = Context(con=con, as_of=as_of, tz="UTC", zone=zone("UTC"),
                      framework=load_framework(framework) if framework else None,
                      segment=Segment())
        rows[marts.metric_key(name, framework, options)] = json.loads(
            json.dumps(get(name).compute(ctx, **options), default=str))
    rows[marts.report_key("UTC")] = compute(con, "UTC")
    return rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_materialised_marts_equal_on_the_fly_rows(
    seed: int, input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    rng = random.Random(seed)
    sent: list[dict[str, Any]] = []
    for load in range(3):
        write_jsonl(input_dir / "web" / f"{load:02d}.jsonl", _batch(rng, 40, sent))
        run_pipeline(input_dir, db_path, refresh=True)
        con = connect(db_path, read_only=True)
        try:
            fresh = _fresh(con)
            for key, rows in fresh.items():
                assert marts.read(con, key) == rows, (seed, load, key)
        finally:
            con.close()


def test_a_stale_mart_is_not_read(input_dir: Path, db_path: Path, run_pipeline: Any) -> None:
    rng = random.Random(7)
    sent: list[dict[str, Any]] = []
    write_jsonl(input_dir / "web" / "00.jsonl", _batch(rng, 30, sent))
    run_pipeline(input_dir, db_path, refresh=True)
    key = marts.metric_key("referral", None, get("referral").defaults())
    def stored() -> Any:
        con = connect(db_path, read_only=True)
        try:
            return marts.read(con, key)
        finally:
            con.close()

    assert stored() is not None
    # data changes without a refresh (as a load that died before the refresh step would)
    con = connect(db_path)
    try:
        con.execute("DELETE FROM events WHERE event_id IN (SELECT event_id FROM events LIMIT 1)")
    finally:
        con.close()
    assert stored() is None


def test_default_commands_read_the_stored_rows(
    input_dir: Path, db_path: Path, run_pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A default `funnel`/`referral`/`nps` reads what `run` stored (its compute is not called),
    with the options exactly as the CLI passes them (flags False, not None)."""
    from journey_metrics.evaluate import evaluate

    rng = random.Random(5)
    write_jsonl(input_dir / "web" / "00.jsonl", _batch(rng, 30, []))
    run_pipeline(input_dir, db_path, refresh=True)
    cli_options = {"window": None, "entry": "best", "order": "ordered", "from_": None,
                   "to": None, "trend": None, "times": False, "correlate": False, "exits": False}
    expected = evaluate(get("funnel"), db_path, cli_options, framework="aarrr").rows
    monkeypatch.setattr("journey_metrics.metrics.funnel.funnel_rows",
                        lambda *_a, **_k: pytest.fail("computed instead of read"))
    assert evaluate(get("funnel"), db_path, cli_options, framework="aarrr").rows == expected


def _weekly_batch(rng: random.Random, first_day: int, days: int, sent: list[dict[str, Any]],
                  ) -> list[dict[str, Any]]:
    """Web messages of `days` days from T0 + first_day: a visit (page view, product views and
    orders of some) by a few of 120 anonymous ids every day, tracks of some that name a user
    shared by three of them (so persons merge as loads go on), late events and re-sent
    messages."""
    records = []
    end = T0 + timedelta(days=first_day + days, minutes=-1)  # the latest week has entrants
    for day in range(first_day, first_day + days):
        for i in range(rng.randrange(1, 4)):
            who = rng.randrange(120)
            anon = f"a{who}"
            at = T0 + timedelta(days=day, minutes=rng.randrange(1440))
            if rng.random() < 0.1:
                at -= timedelta(days=rng.randrange(1, 50))  # late data
            base = {"messageId": f"m{day}-{i}-{rng.randrange(10**9)}", "anonymousId": anon,
                    "timestamp": at.isoformat().replace("+00:00", "Z")}
            records.append({**base, "type": "page",
                            "properties": {"path": "/p", "url": "https://s/p"}})
            for event in rng.sample(EVENTS, rng.randrange(3)):
                later = min(at + timedelta(hours=rng.randrange(1, 200)), end)
                track = {**base, "messageId": base["messageId"] + event, "type": "track",
                         "event": event, "timestamp": later.isoformat().replace("+00:00", "Z"),
                         "properties": {"revenue": 20}}
                if rng.random() < 0.3:
                    track["userId"] = f"u{who // 3}"
                records.append(track)
    records += rng.sample(sent, min(len(sent), 5))  # re-sent messages: loaded once
    sent += records
    return records


@pytest.mark.parametrize("seed", [1, 2])
def test_the_kept_trend_and_flows_follow_the_loads(
    seed: int, input_dir: Path, db_path: Path, run_pipeline: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The dashboard trend, flows and journey map read from the rows `run` keeps per person
    (person_rows.py) equal those computed on the fly, as loads move the weeks shown forward (the
    kept trend's start bound with them), merge persons and bring late and re-sent events."""
    import journey_metrics.metrics.funnel as funnel
    import journey_metrics.metrics.paths as paths

    read_stored: list[bool] = []
    read_flows: list[str | None] = []
    trend_rows, paths_rows = funnel.trend_rows, paths.paths_rows

    def spy(con: Any, q: Any) -> Any:
        read_stored.append(q.stored_chain)
        return trend_rows(con, q)

    def spy_paths(con: Any, q: Any, runs: Any = None, kept: Any = None) -> Any:
        read_flows.append(kept)
        return paths_rows(con, q, runs, kept)

    monkeypatch.setattr(funnel, "trend_rows", spy)
    monkeypatch.setattr(paths, "paths_rows", spy_paths)
    rng = random.Random(seed)
    sent: list[dict[str, Any]] = []
    for load, (first_day, days) in enumerate([(0, 100), (100, 9), (109, 20)]):
        write_jsonl(input_dir / "web" / f"{load:02d}.jsonl", _weekly_batch(rng, first_day,
                                                                             days, sent))
        read_stored.clear()
        read_flows.clear()
        run_pipeline(input_dir, db_path, refresh=True)
        assert read_stored == [True], (seed, load)  # 12 weeks with entrants: the kept rows
        assert read_flows == ["from_start", "to_conversion"], (seed, load)
        con = connect(db_path, read_only=True)
        try:
            stored = marts.read(con, marts.report_key("UTC"))
            assert stored is not None
            assert len(stored["trend"]) == 12 * 5
            fresh = compute(con, "UTC")
            assert stored["trend"] == fresh["trend"], (seed, load)
            assert stored["paths"]["to_conversion"], (seed, load)
            assert stored["paths"] == fresh["paths"], (seed, load)
            assert stored["journey"]["exits"], (seed, load)
            assert stored["journey"] == fresh["journey"], (seed, load)
            assert stored == fresh, (seed, load)
        finally:
            con.close()
