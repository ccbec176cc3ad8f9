"""Segment `screen`, `alias` and `group` messages (CONTRACT §1 web, Identity, §6): golden rows,
quarantine reasons with record numbers, run-summary reconciliation, retroactive alias stitching."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conftest import query, write_jsonl
from journey_metrics.config import Framework
from journey_metrics.metrics.funnel import FunnelQuery, compute_funnel
from journey_metrics.warehouse import open_for_reading


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def msg(kind: str, message_id: str, ts: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "messageId": message_id, "timestamp": ts, **fields}


SCREEN = msg(
    "screen", "s1", "2024-03-01T10:00:00Z", anonymousId="phone-1", name="Product Detail",
    properties={"product_id": "P1"},
    context={"campaign": {"medium": "cpc", "source": "google", "name": "app-install"}},
)


def test_screen_becomes_screen_view_with_its_name(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        SCREEN,
        # no campaign, no referrer: direct, like a page; a screen without a name has no `screen`
        msg("screen", "s2", "2024-03-01T10:01:00Z", anonymousId="phone-1"),
    ])
    summary = run_pipeline(input_dir, db_path)
    rows = query(
        db_path,
        "SELECT event_id, event_name, occurred_at, anonymous_id, channel, campaign,"
        " properties::VARCHAR, record_no FROM events ORDER BY event_id",
    )
    assert rows == [
        ("s1", "screen_view", utc(2024, 3, 1, 10), "phone-1", "paid_search", "app-install",
         '{"product_id":"P1","screen":"Product Detail"}', 1),
        ("s2", "screen_view", utc(2024, 3, 1, 10, 1), "phone-1", "direct", None, "{}", 2),
    ]
    web = summary["sources"][0]
    assert (web["records"], web["events"], web["quarantined"], web["identity_records"]) == (
        2, 2, 0, 0)


def test_alias_and_group_are_records_but_no_events(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        msg("page", "p1", "2024-03-01T10:00:00Z", anonymousId="dev-a"),           # 1 event
        msg("alias", "al1", "2024-03-01T10:05:00Z", previousId="dev-a", userId="u-1"),  # 2
        msg("group", "g1", "2024-03-01T10:06:00Z", userId="u-1", groupId="acme",  # 3
            traits={"plan": "enterprise", "industry": "retail", "employees": 120}),
        msg("alias", "al2", "2024-03-01T10:07:00Z", userId="u-1"),                # 4
        msg("alias", "al3", "2024-03-01T10:07:00Z", previousId="dev-b"),          # 5
        msg("group", "g2", "2024-03-01T10:08:00Z", userId="u-1", traits={"plan": "x"}),  # 6
        msg("alias", "al1", "2024-03-01T10:05:00Z", previousId="dev-a", userId="u-1"),  # 7
    ])
    summary = run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT event_id FROM events") == [("p1",)]
    assert query(db_path, "SELECT record_no, reason FROM _jm_quarantine ORDER BY 1") == [
        (4, "alias message without previousId"),
        (5, "alias message without userId"),
        (6, "group message without groupId"),
    ]
    web = summary["sources"][0]
    # every record read is an event (new or duplicate), quarantined, or an identity record
    assert (web["records"], web["events"], web["duplicates"], web["quarantined"],
            web["identity_records"]) == (7, 1, 0, 3, 3)
    assert web["records"] == (web["events"] + web["duplicates"] + web["quarantined"]
                              + web["identity_records"])
    # the alias linked the anonymous device to the user: one person
    assert summary["persons"] == 1
    links = query(db_path, "SELECT node_a, node_b FROM _jm_identity_links ORDER BY 1, 2")
    assert ("u:u-1", "a:dev-a") in links
    assert ("u:u-1", "u:dev-a") in links  # previousId may also be an earlier userId
    # group traits: group_id and group_<trait>, only the configured ones (not employees)
    traits = query(db_path, "SELECT node, trait, value, set_at, source, file_path, record_no"
                            " FROM _jm_traits ORDER BY trait")
    assert traits == [
        ("u:u-1", "group_id", "acme", utc(2024, 3, 1, 10, 6), "web", "web/a.jsonl", 3),
        ("u:u-1", "group_industry", "retail", utc(2024, 3, 1, 10, 6), "web", "web/a.jsonl", 3),
        ("u:u-1", "group_plan", "enterprise", utc(2024, 3, 1, 10, 6), "web", "web/a.jsonl", 3),
    ]


FRAMEWORK = Framework.model_validate({
    "name": "shop", "window": "1d",
    "stages": [
        {"name": "visit", "match": [{"event": ["page_view", "screen_view"]}]},
        {"name": "signup", "match": [{"event": "signed_up"}]},
        {"name": "order", "match": [{"event": "order_completed"}]},
    ],
})


def funnel_persons(db: Path) -> list[int]:
    con = open_for_reading(db)
    try:
        rows = compute_funnel(con, FunnelQuery(
            framework=FRAMEWORK, window=FRAMEWORK.window_delta, as_of=utc(2024, 4, 1)))
    finally:
        con.close()
    return [r["persons"] for r in rows if r["group"] == "all"]


def test_alias_merges_two_persons_retroactively(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        msg("screen", "v1", "2024-03-01T10:00:00Z", anonymousId="dev-a", name="Home"),
        msg("track", "s1", "2024-03-01T11:00:00Z", userId="u-1", event="Signed Up"),
        msg("track", "o1", "2024-03-01T12:00:00Z", userId="u-1", event="Order Completed"),
        msg("page", "v2", "2024-03-01T09:00:00Z", anonymousId="dev-z"),
    ])
    first = run_pipeline(input_dir, db_path)
    # dev-a visited; u-1 signed up and ordered without a visit; dev-z only visited
    assert first["persons"] == 3
    assert funnel_persons(db_path) == [2, 0, 0]
    # a day later an alias says dev-a was u-1: the earlier visit becomes u-1's
    write_jsonl(input_dir / "web" / "b.jsonl", [
        msg("alias", "al1", "2024-03-02T10:00:00Z", previousId="dev-a", userId="u-1"),
    ])
    second = run_pipeline(input_dir, db_path)
    web = second["sources"][0]
    assert (web["records"], web["events"], web["identity_records"]) == (1, 0, 1)
    assert second["persons"] == 2
    assert funnel_persons(db_path) == [2, 1, 1]
    people = dict(query(db_path, "SELECT event_id, person_id FROM fct_events"))
    assert people["v1"] == people["s1"] == people["o1"] != people["v2"]
