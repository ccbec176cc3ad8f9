"""Materialised marts: the rows the dashboard and the default metric commands show, kept in the
warehouse table `_jm_marts` and refreshed by `run` (the `refresh_marts` step).

Each stored row set carries the warehouse state it was computed from: a fingerprint of what was
loaded (events, identity links, files, quarantine) and of the code and configuration that define
the metrics (sql/, config/, the package version). A reader uses stored rows only while the
fingerprint still matches, so a stale mart is never shown: it is recomputed on the fly instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

    from journey_metrics.metrics.registry import Metric
    from journey_metrics.person_rows import Kept

REPORT_TZ = "UTC"
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)


@cache
def definitions_fingerprint() -> str:
    """The code and configuration that decide every number (hashed once per process)."""
    from journey_metrics import __version__
    from journey_metrics.resources import resource_dir

    digest = hashlib.sha256(__version__.encode())
    for folder in ("sql", "config"):
        root = resource_dir(folder)
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def state(con: duckdb.DuckDBPyConnection) -> str:
    """Fingerprint of the loaded data, the channel rules and the metric definitions."""
    loaded = con.execute(
        "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM _jm_identity_links),"
        " (SELECT count(*) FROM _jm_files), (SELECT count(*) FROM _jm_quarantine),"
        " (SELECT count(*) FROM persons), (SELECT count(*) FROM _jm_pending_nodes),"
        # the channel rules this connection derives channels with (channels.py)
        " getvariable('jm_channel_rules_fingerprint')"
    ).fetchall()[0]
    return definitions_fingerprint() + _spend_fingerprint() + ":" + ",".join(
        str(v) for v in loaded)


def _spend_fingerprint() -> str:
    """The dashboard's configured spend file (config/report.yaml `spend:`) is an input too."""
    from pathlib import Path

    from journey_metrics.config import load_report_settings

    spend = load_report_settings().spend
    if not spend or not Path(spend).is_file():
        return ""
    return "+" + hashlib.sha256(Path(spend).read_bytes()).hexdigest()[:8]


def report_key(tz: str) -> str:
    return f"report:{tz}"


def metric_key(metric: str, framework: str | None, options: Mapping[str, Any]) -> str:
    return "metric:" + json.dumps([metric, framework, dict(sorted(options.items()))],
                                  default=str)


def read(con: duckdb.DuckDBPyConnection, key: str) -> Any | None:
    """The stored rows for `key` if they are current, else None."""
    try:
        found = con.execute(
            "SELECT rows FROM _jm_marts WHERE key = ? AND state = ?", [key, state(con)]
        ).fetchall()
    except Exception:  # a warehouse from before the marts table: nothing stored
        return None
    return json.loads(found[0][0]) if found else None


def _up_to_date(con: duckdb.DuckDBPyConnection) -> bool:
    """Every stored row set is current and no identity node waits for the chains."""
    current = state(con)
    stale = con.execute(
        "SELECT count(*) FILTER (WHERE state <> ?), count(*) FROM _jm_marts", [current]
    ).fetchall()[0]
    waiting = con.execute("SELECT count(*) FROM _jm_touched_nodes").fetchall()[0][0]
    expected = 1 + len(invocations())
    return bool(stale[0] == 0 and stale[1] == expected and waiting == 0)


def invocations(only: Metric | None = None) -> list[tuple[str, str | None, dict[str, Any]]]:
    """(metric, framework, options) of every materialised default invocation, or of `only`'s
    (a command asks about its own metric without importing the others)."""
    from journey_metrics.config import built_in_frameworks
    from journey_metrics.metrics.registry import metrics

    found = []
    for metric in [only] if only is not None else metrics():
        for declared in metric.materialize:
            options = {k: v for k, v in declared.items() if k != "framework"}
            framework = declared.get("framework")
            names = built_in_frameworks() if framework == "*" else [framework]
            for name in names:
                found.append((metric.name, name, {**metric.defaults(), **options}))
    return found


def _kept(con: duckdb.DuckDBPyConnection) -> list[Kept]:
    """The rows `run` keeps per person (person_rows.py): the funnel chains of every built-in
    framework whose default funnel can be stored; when the dashboard's journey framework is one
    of them, its trend's rows (from the trend section's own bound, metrics/funnel.py), the
    journey map's exits and its touchpoint per stage reached; the journey map's touchpoints and
    the dashboard flows' path items."""
    from journey_metrics.config import built_in_frameworks, load_framework, load_report_settings
    from journey_metrics.metrics.exits import kept_exits
    from journey_metrics.metrics.funnel import (
        FunnelQuery,
        first_shown_week,
        kept_chains,
        kept_trend,
        trend_since,
    )
    from journey_metrics.metrics.journey_map import kept_stage_touches, kept_touchpoints
    from journey_metrics.metrics.paths import kept_flows
    from journey_metrics.zones import zone

    storable = [f for f in (load_framework(n) for n in built_in_frameworks())
                if FunnelQuery(f, f.window_delta, FAR_FUTURE).chains_storable]
    kept = [kept_chains(f) for f in storable]
    settings = load_report_settings()
    chained = next((f for f in storable if f.name == settings.journey_framework), None)
    if chained is not None:
        latest = con.execute("SELECT max(occurred_at) FROM events").fetchall()[0][0]
        local = zone(REPORT_TZ)
        first_week = first_shown_week(latest, settings.trend_weeks, local) if latest else None
        if first_week is not None:
            kept.append(kept_trend(chained, trend_since(first_week, local)))
        # from its kept chains (refreshed before)
        kept += [kept_exits(chained), kept_stage_touches(chained)]
    journey = chained or load_framework(settings.journey_framework)
    kept.append(kept_touchpoints(journey))
    kept.append(kept_flows(journey, settings.conversion_stage))
    return kept


def refresh(
    con: duckdb.DuckDBPyConnection, progress: Callable[[str], None] | None = None
) -> int:
    """Recompute and store every materialised row set; return how many were stored."""
    from journey_metrics.config import load_framework
    from journey_metrics.metrics.common import resolve_as_of, zone
    from journey_metrics.metrics.registry import Context, get
    from journey_metrics.metrics.segments import Segment, prepare_population
    from journey_metrics.report.data import compute

    has_events = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    if not has_events:
        return 0
    if _up_to_date(con):
        return 0  # nothing loaded or changed since the last refresh (a re-run): keep them
    from journey_metrics import person_rows

    if progress:
        progress("rows kept per person")
    person_rows.refresh(con, _kept(con), definitions_fingerprint())
    stored: list[tuple[str, Any]] = []
    if progress:
        progress("dashboard")
    page = compute(con, REPORT_TZ, stored_chains=True)
    stored.append((report_key(REPORT_TZ), page))
    # the dashboard's funnels are each framework's `--by channel` funnel: its `all` rows are the
    # default funnel, byte for byte (every person is in `all`)
    all_rows = {f["name"]: [r for r in f["rows"] if r["group"] == "all"]
                for f in page.get("funnels", [])}
    as_of = resolve_as_of(con, None, zone(REPORT_TZ))
    prepare_population(con, Segment(), as_of)
    for name, framework, options in invocations():
        key = metric_key(name, framework, options)
        if name == "funnel" and framework in all_rows and options == get(name).defaults():
            stored.append((key, all_rows[framework]))
            continue
        if progress:
            progress(f"{name} {framework or ''}".strip())
        metric = get(name)
        ctx = Context(con=con, as_of=as_of, tz=REPORT_TZ, zone=zone(REPORT_TZ),
                      framework=load_framework(framework) if framework else None,
                      segment=Segment())
        rows = json.loads(json.dumps(metric.compute(ctx, **options), default=str))
        stored.append((key, rows))
    current = state(con)
    con.execute("DELETE FROM _jm_marts")
    con.executemany("INSERT INTO _jm_marts VALUES (?, ?, ?)",
                    [[key, current, json.dumps(rows)] for key, rows in stored])
    return len(stored)
