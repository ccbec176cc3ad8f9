"""Funnel golden cases, computed by hand (CONTRACT §4 Funnel)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import write_jsonl
from engine_cases import invoke

FRAMEWORK = """
name: shop
title: Shop
window: 1d
stages:
  - name: visit
    match: [{event: page_view}]
  - name: signup
    match: [{event: signed_up}]
  - name: order
    match: [{event: order_completed}]
"""


def msg(kind: str, mid: str, ts: str, who: str, event: str | None = None, **extra: Any) -> dict:
    record = {"type": kind, "messageId": mid, "timestamp": ts, "anonymousId": who, **extra}
    if event:
        record["event"] = event
    return record


def page(mid: str, ts: str, who: str, **extra: Any) -> dict:
    return msg("page", mid, ts, who, **extra)


def track(mid: str, ts: str, who: str, event: str, **extra: Any) -> dict:
    return msg("track", mid, ts, who, event, **extra)


def funnel(input_dir: Path, tmp_path: Path, *args: str, framework: str = FRAMEWORK) -> list[dict]:
    """`run` then `funnel --format json`, through the CLI's entry point in this process (a child
    process per command would add a second of imports and start-up to every case)."""
    db = tmp_path / "w.duckdb"
    fw = tmp_path / "framework.yaml"
    fw.write_text(framework)
    invoke(["run", "--input", str(input_dir), "--db", str(db)])
    rows: list[dict] = json.loads(invoke(
        ["funnel", "--db", str(db), "--framework", str(fw), "--format", "json", *args]))
    return rows


def persons(rows: list[dict], group: str = "all") -> list[int]:
    return [r["persons"] for r in rows if r["group"] == group]


def test_best_vs_first_entry_with_repeated_step_one(input_dir: Path, tmp_path: Path) -> None:
    # Visit on day 1 leads nowhere within 1d; a second visit on day 5 converts.
    write_jsonl(input_dir / "web" / "a.jsonl", [
        page("v1", "2024-03-01T10:00:00Z", "p"),
        page("v2", "2024-03-05T10:00:00Z", "p"),
        track("s1", "2024-03-05T11:00:00Z", "p", "Signed Up"),
        track("o1", "2024-03-05T12:30:00Z", "p", "Order Completed"),
    ])
    best = funnel(input_dir, tmp_path, "--as-of", "2024-03-20T00:00:00Z")
    assert persons(best) == [1, 1, 1]
    assert [r["median_hours_from_previous"] for r in best] == [None, 1.0, 1.5]
    first = funnel(input_dir, tmp_path, "--entry", "first", "--as-of", "2024-03-20T00:00:00Z")
    assert persons(first) == [1, 0, 0]
    assert first[1]["drop_off"] == 1
    assert first[1]["in_progress"] == 0  # the first attempt's window ended long before as_of


def test_window_edge_is_inclusive(input_dir: Path, tmp_path: Path) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        page("v1", "2024-03-01T10:00:00Z", "on-edge"),
        track("s1", "2024-03-02T10:00:00Z", "on-edge", "Signed Up"),      # exactly 1d later
        page("v2", "2024-03-01T10:00:00Z", "past-edge"),
        track("s2", "2024-03-02T10:00:01Z", "past-edge", "Signed Up"),    # 1d + 1s later
    ])
    rows = funnel(input_dir, tmp_path)
    assert persons(rows) == [2, 1, 0]
    assert rows[1]["conversion_from_previous"] == 0.5
    assert rows[1]["median_hours_from_previous"] == 24.0


def test_same_instant_in_different_offsets(input_dir: Path, tmp_path: Path) -> None:
    # 12:00+02:00 and 10:00Z are the same instant: ties order by the lowest stage index, so the
    # visit comes first and the signup counts, whichever file line comes first.
    write_jsonl(input_dir / "web" / "a.jsonl", [
        track("s1", "2024-03-01T12:00:00+02:00", "p", "Signed Up"),
        page("v1", "2024-03-01T10:00:00Z", "p"),
    ])
    rows = funnel(input_dir, tmp_path)
    assert persons(rows) == [1, 1, 0]
    assert rows[1]["median_hours_from_previous"] == 0.0


def test_one_event_matching_two_stages_fills_one_step(input_dir: Path, tmp_path: Path) -> None:
    framework = FRAMEWORK.replace("[{event: signed_up}]", "[{event: [signed_up, page_view]}]")
    write_jsonl(input_dir / "web" / "a.jsonl", [
        page("v1", "2024-03-01T10:00:00Z", "single"),              # visit only: level 1
        page("w1", "2024-03-01T10:00:00Z", "double"),
        page("w2", "2024-03-01T10:05:00Z", "double"),              # second visit = signup step
    ])
    rows = funnel(input_dir, tmp_path, framework=framework)
    assert persons(rows) == [2, 1, 0]


def test_revisiting_an_earlier_step_after_completing(input_dir: Path, tmp_path: Path) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        page("v1", "2024-03-01T10:00:00Z", "p"),
        track("s1", "2024-03-01T10:10:00Z", "p", "Signed Up"),
        track("o1", "2024-03-01T10:20:00Z", "p", "Order Completed"),
        page("v2", "2024-03-01T11:00:00Z", "p"),                   # back to the start: new attempt
        track("s2", "2024-03-01T11:30:00Z", "p", "Signed Up"),
    ])
    rows = funnel(input_dir, tmp_path, "--as-of", "2024-03-01T12:00:00Z")
    assert persons(rows) == [1, 1, 1]
    # timings come from the latest-starting attempt of maximal level (v1 -> s1 -> o1)
    assert [r["median_hours_from_previous"] for r in rows] == [None, pytest.approx(1 / 6),
                                                              pytest.approx(1 / 6)]
    assert [r["in_progress"] for r in rows] == [None, 0, 0]


def test_out_of_order_files_and_lines(input_dir: Path, tmp_path: Path) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        track("o1", "2024-03-01T12:00:00Z", "p", "Order Completed"),
    ])
    write_jsonl(input_dir / "web" / "b.jsonl", [
        track("s1", "2024-03-01T11:00:00Z", "p", "Signed Up"),
        page("v1", "2024-03-01T10:00:00Z", "p"),
    ])
    rows = funnel(input_dir, tmp_path)
    assert persons(rows) == [1, 1, 1]


def test_anonymous_events_join_the_person_after_identify(input_dir: Path, tmp_path: Path) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        page("v1", "2024-03-01T10:00:00Z", "laptop"),
        track("s1", "2024-03-01T10:30:00Z", "phone", "Signed Up", userId="u1"),
        msg("identify", "i1", "2024-03-01T10:31:00Z", "laptop", userId="u1"),
    ])
    rows = funnel(input_dir, tmp_path)
    assert persons(rows) == [1, 1, 0]


def test_channel_breakdown_adds_up(input_dir: Path, tmp_path: Path) -> None:
    google = {"context": {"page": {"referrer": "https://www.google.com/"}}}
    paid = {"context": {"campaign": {"medium": "cpc"}}}
    write_jsonl(input_dir / "web" / "a.jsonl", [
        page("v1", "2024-03-01T10:00:00Z", "a", **google),
        track("s1", "2024-03-01T10:10:00Z", "a", "Signed Up"),
        page("v2", "2024-03-01T10:00:00Z", "b", **paid),
        page("v3", "2024-03-01T10:00:00Z", "c", **paid),
        track("s3", "2024-03-01T11:00:00Z", "c", "Signed Up"),
        track("o3", "2024-03-01T12:00:00Z", "c", "Order Completed"),
        page("v4", "2024-03-01T10:00:00Z", "d"),
    ])
    rows = funnel(input_dir, tmp_path, "--by", "channel")
    assert [r["group"] for r in rows[::3]] == ["all", "direct", "organic_search", "paid_search"]
    assert persons(rows) == [4, 2, 1]
    assert persons(rows, "direct") == [1, 0, 0]
    assert persons(rows, "organic_search") == [1, 1, 0]
    assert persons(rows, "paid_search") == [2, 1, 1]
    for step in (1, 2, 3):
        total = sum(r["persons"] for r in rows if r["step"] == step and r["group"] != "all")
        assert total == persons(rows)[step - 1]


def test_in_progress_near_as_of(input_dir: Path, tmp_path: Path) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        page("v1", "2024-03-01T10:00:00Z", "old"),                 # window ended before as_of
        page("v2", "2024-03-10T09:00:00Z", "fresh"),               # window still open at as_of
        page("v3", "2024-03-10T09:30:00Z", "converted"),
        track("s3", "2024-03-10T10:00:00Z", "converted", "Signed Up"),
    ])
    rows = funnel(input_dir, tmp_path, "--as-of", "2024-03-10T10:00:00Z")
    assert persons(rows) == [3, 1, 0]
    assert rows[1]["drop_off"] == 2
    assert rows[1]["in_progress"] == 1
    assert rows[2]["in_progress"] == 1  # "converted" may still order within its window
    # events after as_of are ignored
    later = funnel(input_dir, tmp_path, "--as-of", "2024-03-10T09:45:00Z")
    assert persons(later) == [3, 0, 0]


def test_from_to_restrict_entries_only(input_dir: Path, tmp_path: Path) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        page("v1", "2024-03-01T23:30:00Z", "p"),
        track("s1", "2024-03-02T00:30:00Z", "p", "Signed Up"),
        page("v2", "2024-03-02T10:00:00Z", "q"),
    ])
    rows = funnel(input_dir, tmp_path, "--from", "2024-03-01", "--to", "2024-03-02")
    assert persons(rows) == [1, 1, 0]  # the signup after --to still counts for p's attempt
    # dates are midnight in --tz: in Los Angeles, 2024-03-01 23:30Z is still March 1st
    la = funnel(input_dir, tmp_path, "--from", "2024-03-02", "--tz", "America/Los_Angeles")
    assert persons(la) == [1, 0, 0]


def test_unordered_ignores_order_not_the_window(input_dir: Path, tmp_path: Path) -> None:
    # CONTRACT §4 (changed, issue 13): the window still holds in unordered funnels. Within 1d
    # each event is alone (3 attempts of one stage each); within 8d the first attempt (order at
    # day 1) sees all three stages.
    write_jsonl(input_dir / "web" / "a.jsonl", [
        track("o1", "2024-03-01T10:00:00Z", "p", "Order Completed"),
        track("s1", "2024-03-05T10:00:00Z", "p", "Signed Up"),
        page("v1", "2024-03-09T10:00:00Z", "p"),
    ])
    assert persons(funnel(input_dir, tmp_path)) == [1, 0, 0]
    unordered = funnel(input_dir, tmp_path, "--order", "unordered")
    assert persons(unordered) == [1, 0, 0]
    unordered = funnel(input_dir, tmp_path, "--order", "unordered", "--window", "8d")
    assert persons(unordered) == [1, 1, 1]
    assert unordered[1]["in_progress"] is None
    assert unordered[1]["median_hours_from_previous"] is None


def test_wilson_interval_values(input_dir: Path, tmp_path: Path) -> None:
    records = []
    for i in range(10):
        records.append(page(f"v{i}", "2024-03-01T10:00:00Z", f"p{i}"))
        if i < 3:
            records.append(track(f"s{i}", "2024-03-01T11:00:00Z", f"p{i}", "Signed Up"))
    write_jsonl(input_dir / "web" / "a.jsonl", records)
    rows = funnel(input_dir, tmp_path)
    # Wilson 95% for 3/10: (0.1077913, 0.6032212)
    assert rows[1]["ci_low"] == pytest.approx(0.1077913, abs=1e-6)
    assert rows[1]["ci_high"] == pytest.approx(0.6032212, abs=1e-6)
    assert rows[1]["drop_off_rate"] == pytest.approx(0.7)


def test_wilson_bounds_at_none_and_all_are_exact() -> None:
    """0 of n converting: the lower bound is 0, not float noise (0 of 3 gave 5.6e-17); n of n:
    the upper bound is 1."""
    from journey_metrics.metrics.common import wilson_interval

    for trials in range(1, 40):
        assert wilson_interval(0, trials)[0] == 0.0
        assert wilson_interval(trials, trials)[1] == 1.0
    high = wilson_interval(0, 3)[1]  # z^2 / (3 + z^2), z = 1.959964: 0.5614970
    assert high == pytest.approx(0.5614970, abs=1e-6)
    assert wilson_interval(0, 0) == (None, None)


def test_channel_breakdown_at_as_of_ignores_later_events(input_dir: Path, tmp_path: Path) -> None:
    # d becomes a CRM lead (no channel) on day 1 and visits from Google on day 5; e becomes a
    # lead and visits from Google on day 1; a visits directly on day 1, then by a paid ad.
    lead_then_visit = """
name: leads
title: Leads
window: 30d
stages:
  - name: lead
    match: [{event: lifecycle_lead}]
  - name: visit
    match: [{event: page_view}]
"""
    paid = {"context": {"campaign": {"medium": "cpc"}}}
    google = {"context": {"page": {"referrer": "https://www.google.com/"}}}
    write_jsonl(input_dir / "web" / "a.jsonl", [
        page("a1", "2024-03-01T10:00:00Z", "a"),
        page("a2", "2024-03-05T10:00:00Z", "a", **paid),
        page("d1", "2024-03-05T10:00:00Z", "d", **google),
        msg("identify", "di", "2024-03-05T10:01:00Z", "d", userId="u-d",
            traits={"email": "d@example.com"}),
        page("e1", "2024-03-01T11:00:00Z", "e", **google),
        msg("identify", "ei", "2024-03-01T11:01:00Z", "e", userId="u-e",
            traits={"email": "e@example.com"}),
    ])
    (input_dir / "crm").mkdir()
    (input_dir / "crm" / "contacts.csv").write_text(
        "hs_object_id,email,createdate,lifecyclestage,hs_lifecyclestage_lead_date\n"
        "1,d@example.com,2024-03-01T09:00:00Z,lead,2024-03-01T09:00:00Z\n"
        "2,e@example.com,2024-03-01T09:00:00Z,lead,2024-03-01T09:00:00Z\n")
    # over all events d's channel is organic_search (their first event that has one)
    whole = funnel(input_dir, tmp_path, "--by", "channel", framework=lead_then_visit)
    assert persons(whole, "organic_search") == [2, 2]
    assert "(none)" not in {r["group"] for r in whole}
    # at as_of day 2, d's only event is the lead (no channel): group (none), not the
    # organic_search of a visit that had not happened yet; the groups still add up
    early = funnel(input_dir, tmp_path, "--by", "channel", "--as-of", "2024-03-02T00:00:00Z",
                   framework=lead_then_visit)
    assert persons(early) == [2, 1]
    assert persons(early, "(none)") == [1, 0]
    assert persons(early, "organic_search") == [1, 1]
    assert "direct" not in {r["group"] for r in early}  # a never became a lead
