"""CONTRACT §6: "after the `all` group, one group per value ... Person counts of the groups add
up to the `all` group's", also when a value is spelled `all` (a campaign named `all`, a plan
`all`): that group is printed as `all` after everybody's, and nobody is counted twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import write_jsonl
from engine_cases import invoke

T = "2024-01-01T12:{:02d}:00Z"


def _input(root: Path) -> Path:
    write_jsonl(root / "web" / "a.jsonl", [
        # r1: campaign `all`, plan `all`; r2: no campaign, no plan, signs up
        {"type": "page", "messageId": "n1", "timestamp": T.format(0), "userId": "r1",
         "context": {"campaign": {"name": "all", "medium": "email"},
                     "page": {"url": "https://shop.example.com/"}}},
        {"type": "identify", "messageId": "n2", "timestamp": T.format(0), "userId": "r1",
         "traits": {"plan": "all"}},
        {"type": "page", "messageId": "n3", "timestamp": T.format(0), "userId": "r2",
         "context": {"page": {"url": "https://shop.example.com/"}}},
        {"type": "track", "messageId": "n4", "timestamp": T.format(10), "userId": "r2",
         "event": "Signed Up", "properties": {}},
    ])
    return root


def _steps(db: Path, *args: str) -> list[tuple[Any, ...]]:
    rows = json.loads(invoke(["funnel", "--db", str(db), "--framework", "aarrr", *args,
                              "--format", "json"]))
    return [(r["group"], r["step"], r["persons"]) for r in rows if r["step"] <= 2]


def test_a_value_named_all_is_its_own_group(input_dir: Path, db_path: Path,
                                            run_pipeline: Any) -> None:
    run_pipeline(_input(input_dir), db_path)
    expected = [("all", 1, 2), ("all", 2, 1),  # everybody: r1 and r2, r2 activated
                ("all", 1, 1), ("all", 2, 0),  # the value `all`: r1
                ("(none)", 1, 1), ("(none)", 2, 1)]  # r2
    assert _steps(db_path, "--by", "campaign") == expected
    assert _steps(db_path, "--by", "trait:plan") == expected
    # --where selects the value as written; its group is printed as written too
    assert _steps(db_path, "--where", "trait:plan=all", "--by", "trait:plan") == [
        ("all", 1, 1), ("all", 2, 0), ("all", 1, 1), ("all", 2, 0)]
    referral_rows = json.loads(invoke(["referral", "--db", str(db_path), "--by", "campaign",
                                  "--format", "json"]))
    assert [(r["group"], r["active_persons"]) for r in referral_rows] == [
        ("all", 2), ("all", 1), ("(none)", 1)]
