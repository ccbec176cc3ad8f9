"""A framework's `where` on the canonical event's `revenue` and `campaign` (CONTRACT §1, §3;
decision 194): a deal's revenue is its amount, which its properties hold as `amount`; a page's
campaign is its UTM campaign, not a property. Each command that reads stages takes such a rule,
on the warehouse and on an exported lake, with the same rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import write_csv, write_jsonl

FRAMEWORK = """
name: big_orders
window: 7d
stages:
  - name: start
    match: [{event: [page_view, lifecycle_lead]}]
  - name: big
    match: [{event: [order_completed, deal_won], where: {revenue: {gte: 20}}}]
"""
CAMPAIGN = """
name: launch
window: 7d
stages:
  - name: launched
    match: [{where: {campaign: {eq: launch}}}]
  - name: bought
    match: [{event: order_completed}]
"""


def cli(*args: str) -> Any:
    done = subprocess.run([sys.executable, "-m", "journey_metrics", *args],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if "--format" in args else None


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("where_fields")
    page = {"type": "page", "properties": {"url": "https://shop.io/"}}
    order = {"type": "track", "event": "Order Completed"}
    write_jsonl(root / "in" / "web" / "a.jsonl", [
        {**page, "messageId": "p1", "anonymousId": "a1", "timestamp": "2024-03-01T10:00:00Z"},
        {**order, "messageId": "o1", "anonymousId": "a1", "timestamp": "2024-03-01T11:00:00Z",
         "properties": {"revenue": 50, "currency": "USD"}},
        {**page, "messageId": "p2", "anonymousId": "a2", "timestamp": "2024-03-01T10:00:00Z"},
        {**order, "messageId": "o2", "anonymousId": "a2", "timestamp": "2024-03-01T11:00:00Z",
         "properties": {"revenue": 5, "currency": "USD"}},
        {**page, "messageId": "p4", "anonymousId": "a4", "timestamp": "2024-03-01T10:00:00Z",
         "context": {"campaign": {"name": "launch", "medium": "email", "source": "news"}}},
        {**order, "messageId": "o4", "anonymousId": "a4", "timestamp": "2024-03-01T12:00:00Z",
         "properties": {"revenue": 9, "currency": "USD"}},
    ])
    write_jsonl(root / "in" / "email" / "e.jsonl", [
        {"email": "mail.reader@example.com", "timestamp": 1709287200, "event": "open",
         "sg_event_id": "m1", "campaign": "launch"}])
    write_csv(root / "in" / "crm" / "contacts.csv",
              ["hs_object_id", "email", "createdate", "lifecyclestage",
               "hs_lifecyclestage_lead_date"],
              [["101", "deal.person@example.com", "2024-03-01 09:00", "lead",
                "2024-03-01 09:00"]])
    write_csv(root / "in" / "crm" / "deals.csv",
              ["hs_object_id", "dealname", "dealstage", "amount", "closedate",
               "associated_contact_id"],
              [["d1", "Big one", "closedwon", "1000", "2024-03-02 09:00", "101"]])
    (root / "big.yaml").write_text(FRAMEWORK)
    (root / "launch.yaml").write_text(CAMPAIGN)
    db = root / "w.duckdb"
    cli("run", "--input", str(root / "in"), "--db", str(db))
    cli("export", "--db", str(db), "--out", str(root / "lake"))
    return {"db": db, "lake": root / "lake", "big": root / "big.yaml",
            "launch": root / "launch.yaml"}


def persons(rows: list[dict[str, Any]]) -> list[int]:
    return [r["persons"] for r in rows if r["group"] == "all"]


@pytest.mark.parametrize("where", ["db", "lake"])
def test_a_deals_revenue_and_a_pages_campaign_match(warehouse: dict[str, Path],
                                                     where: str) -> None:
    read = (["--db", str(warehouse["db"])] if where == "db"
            else ["--events", str(warehouse["lake"])])
    big = cli("funnel", *read, "--framework", str(warehouse["big"]), "--format", "json")
    # a1 (order 50) and the CRM contact (deal 1000) reach `big`; a2's order of 5 does not
    assert persons(big) == [4, 2]
    launch = cli("funnel", *read, "--framework", str(warehouse["launch"]), "--format", "json")
    # a4's page carries the UTM campaign, then its order; the email's campaign is SendGrid's
    assert persons(launch) == [2, 1]
    # every command that reads stages takes the rules; their rows equal on both readings
    for args in (["funnel", "--trend", "week"], ["funnel", "--times"],
                 ["funnel", "--order", "unordered"], ["funnel", "--exits"],
                 ["retention", "--start", "start", "--return", "big"],
                 ["attribution", "--stage", "big"], ["ltv", "--start", "big"],
                 ["paths", "--item", "stage"], ["paths", "--item", "stage", "--scope", "session"],
                 ["funnel", "--correlate"]):
        rows = cli(*args, *read, "--framework", str(warehouse["big"]), "--format", "json")
        assert rows or args == ["funnel", "--correlate"], args  # too few entrants to correlate
    trend = cli("funnel", "--trend", "week", *read, "--framework", str(warehouse["big"]),
                "--format", "json")
    assert [r["persons"] for r in trend if r["group"] == "all"] == [4, 2]
    attributed = cli("attribution", "--stage", "big", *read, "--framework",
                     str(warehouse["big"]), "--format", "json")
    assert sum(r["conversions"] for r in attributed if r["model"] == "last") == 2


@pytest.mark.parametrize(("condition", "reached"), [
    ("{eq: 1000}", 1),  # the deal's amount, numerically
    ("{in: [50, 1000.0]}", 2),  # a1's order and the deal
    ("{lte: 9}", 2),  # a2's and a4's orders
    ("{ne: 1000}", 3),  # every order but not the deal
    ('{eq: "1000"}', 0),  # a text compares with a property's text only: the deal has none
    ('{eq: "50"}', 1),  # a1's order sent 50
])
def test_revenue_is_a_number(warehouse: dict[str, Path], tmp_path: Path, condition: str,
                             reached: int) -> None:
    framework = tmp_path / "f.yaml"
    framework.write_text(FRAMEWORK.replace("{revenue: {gte: 20}}", f"{{revenue: {condition}}}"))
    rows = cli("funnel", "--db", str(warehouse["db"]), "--framework", str(framework),
               "--format", "json")
    assert persons(rows) == [4, reached]
