"""The dashboard's trend section computes only its recent weeks when it can, and shows the same
rows as `funnel --trend week` over the whole history (its last `trend_weeks` entry weeks)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import write_jsonl

MONDAY = datetime.fromisoformat("2026-01-05T00:00:00+00:00")


def _page(message_id: str, anon: str, at: datetime) -> dict[str, Any]:
    page = {"url": "https://shop.example/", "path": "/"}
    return {"type": "page", "messageId": message_id, "anonymousId": anon,
            "timestamp": at.isoformat(), "context": {"page": page}, "properties": page}


def _track(message_id: str, anon: str, event: str, at: datetime) -> dict[str, Any]:
    return {"type": "track", "messageId": message_id, "anonymousId": anon, "event": event,
            "timestamp": at.isoformat(), "properties": {}}


def _history(weeks: list[int], tz_edge: bool = False) -> list[dict[str, Any]]:
    """Entrants in each listed week (0 = the week of 2026-01-05) and no other; some convert in
    later weeks (but not after the last listed week, whose entrants convert within it);
    `tz_edge`: visits around Monday 00:00 in New York (04:30 and 05:00 UTC), which fall in one
    week there and in another in UTC."""
    records: list[dict[str, Any]] = []
    for w in weeks:
        start = MONDAY + timedelta(weeks=w)
        later = timedelta(days=1) if w == weeks[-1] else timedelta(days=9)
        for k in range(3):
            anon = f"w{w}p{k}"
            at = start + timedelta(days=k, hours=10)
            if tz_edge:
                at = start + timedelta(days=k, hours=5, minutes=-30 * (k % 2))
            records.append(_page(f"{anon}-1", anon, at))
            if k:
                records.append(_track(f"{anon}-2", anon, "Product Viewed", at + timedelta(hours=k)))
            if k == 2:
                records.append(_track(f"{anon}-3", anon, "Order Completed", at + later))
                records.append(_track(f"{anon}-4", anon, "Signed In",
                                      at + later + timedelta(hours=1)))
    return records


def _sections(db: Path, tz: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], list[Any],
                                                                              list[Any]]:
    """(the section's rows, the expected rows, the from_at of each trend computation)."""
    import journey_metrics.metrics.funnel as funnel
    from journey_metrics.config import built_in_frameworks, load_framework, load_report_settings
    from journey_metrics.metrics.common import resolve_as_of, zone
    from journey_metrics.metrics.segments import Segment, prepare_population
    from journey_metrics.report.data import ReportContext
    from journey_metrics.warehouse import open_for_reading

    calls: list[Any] = []
    real = funnel.trend_rows

    def spy(con: Any, q: Any) -> Any:
        calls.append(q.from_at)
        return real(con, q)

    con = open_for_reading(db)
    try:
        settings = load_report_settings()
        as_of = resolve_as_of(con, None, zone(tz))
        first, last = con.execute(
            "SELECT min(occurred_at), max(occurred_at) FROM events").fetchone()
        frameworks = [load_framework(n) for n in built_in_frameworks()]
        ctx = ReportContext(con, as_of, tz, first, settings, frameworks, last_event_at=last)
        monkeypatch.setattr(funnel, "trend_rows", spy)
        shown = funnel._collect_trend(ctx)
        monkeypatch.setattr(funnel, "trend_rows", real)
        framework = ctx.framework(settings.journey_framework)
        prepare_population(con, Segment(), as_of)
        every = [r for r in real(con, funnel.FunnelQuery(framework, framework.window_delta,
                                                         as_of, tz=tz, trend="week"))
                 if r["group"] == "all"]
        weeks = sorted({r["period"] for r in every})[-settings.trend_weeks:]
        expected = [r for r in every if r["period"] in weeks]
    finally:
        con.close()
    return shown, expected, calls


@pytest.mark.parametrize(("weeks", "tz", "limited"), [
    (list(range(20)), "UTC", True),  # a long history: only the last 12 weeks are computed
    (list(range(20)), "America/New_York", True),  # weeks of the report's zone
    ([*range(10), *range(11, 20)], "UTC", False),  # a recent week without entrants: all weeks
    (list(range(8)), "UTC", False),  # a history shorter than the weeks shown
])
def test_trend_section_equals_the_whole_history(
    weeks: list[int], tz: str, limited: bool, input_dir: Path, db_path: Path, run_pipeline: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_jsonl(input_dir / "web" / "events.jsonl", _history(weeks, tz_edge=tz != "UTC"))
    run_pipeline(input_dir, db_path)
    shown, expected, calls = _sections(db_path, tz, monkeypatch)
    assert shown == expected
    assert len({r["period"] for r in shown}) == min(12, len(weeks))
    # limited: one computation from a bound; otherwise that one found a missing week (or there
    # was no bound) and the whole history was computed
    assert (len(calls) == 1 and calls[0] is not None) == limited
    assert calls[-1] is None or limited
