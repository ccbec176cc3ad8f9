"""Issue 12 item 5: revenue is summed in one currency; orders in another are counted and said,
in the run summary and in the dashboard header, never silently mixed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import write_jsonl
from journey_metrics.report.data import collect


def _order(i: int, currency: str) -> dict[str, Any]:
    return {"type": "track", "event": "Order Completed", "messageId": f"o{i}",
            "timestamp": f"2024-05-0{i}T10:00:00Z", "userId": f"u{i}",
            "properties": {"revenue": 10, "currency": currency}}


def test_run_summary_and_header_say_which_orders_are_left_out(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl",
                [_order(1, "EUR"), _order(2, "EUR"), _order(3, "USD")])
    summary = run_pipeline(input_dir, db_path)
    assert summary["currency"] == {"reporting": "EUR", "excluded_orders": 1}
    assert collect(db_path)["currency"] == {"reporting": "EUR", "excluded_orders": 1}


def test_one_currency_leaves_nothing_out(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [_order(1, "VND"), _order(2, "VND")])
    assert run_pipeline(input_dir, db_path)["currency"] == {"reporting": "VND",
                                                            "excluded_orders": 0}
