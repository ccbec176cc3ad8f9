"""Everything the dashboard shows, as plain rows computed in DuckDB (aggregated first).

The page data is a header (as_of, sources, data quality, settings) plus, for every dashboard
section a registered metric declares, that section's rows under its id. `run` keeps it
materialised (marts.py), so `report` normally only reads it and draws; it is saved next to the
page as `data.json`, so charts can be rebuilt without the warehouse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from journey_metrics.config import Framework, ReportSettings

if TYPE_CHECKING:
    import duckdb


@dataclass
class ReportContext:
    """What a section's `collect` gets: the warehouse, as_of, the zone and the dashboard choices."""

    con: duckdb.DuckDBPyConnection
    as_of: datetime
    tz: str
    first_event_at: datetime | None
    settings: ReportSettings
    frameworks: list[Framework]
    # the default funnels may read the per-person chains `run` keeps (person_rows.py)
    stored_chains: bool = False
    spend: Path | None = None  # report --spend, else config/report.yaml spend:
    last_event_at: datetime | None = None  # the latest event (the trend's recent weeks)

    def framework(self, name: str) -> Framework:
        from journey_metrics.config import load_framework

        found = next((f for f in self.frameworks if f.name == name), None)
        return found or load_framework(name)

    def chains_stored(self, framework: Framework) -> bool:
        """Whether `framework`'s default funnel may read the stored chains: `run` keeps those
        of the built-in frameworks (marts.refresh), which are `frameworks`."""
        return self.stored_chains and any(f is framework for f in self.frameworks)


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def collect(db_path: Path, tz: str = "UTC", spend: Path | None = None) -> dict[str, Any]:
    """The page data: the materialised rows when they are current (and no spend file is given
    on the command line), else computed now."""
    from journey_metrics import marts
    from journey_metrics.metrics.common import zone
    from journey_metrics.warehouse import open_for_reading

    tz = zone(tz).key  # as the zone database spells it (`--tz utc` is UTC)
    con = open_for_reading(db_path)
    try:
        stored = marts.read(con, marts.report_key(tz)) if spend is None else None
        return stored if stored is not None else compute(con, tz, spend)
    finally:
        con.close()


def compute(
    con: duckdb.DuckDBPyConnection, tz: str, spend: Path | None = None, *,
    stored_chains: bool = False,
) -> dict[str, Any]:
    """Header and every registered section's rows, computed from the warehouse (`stored_chains`:
    the default funnels aggregate the chains person_rows.py keeps, fresh after a refresh)."""
    from journey_metrics.channels import rules_source
    from journey_metrics.config import built_in_frameworks, load_framework, load_report_settings
    from journey_metrics.hashing import without_emails
    from journey_metrics.metrics._money import currency_summary
    from journey_metrics.metrics.common import query_rows, resolve_as_of, zone
    from journey_metrics.metrics.registry import sections
    from journey_metrics.sql import load_sql

    settings = load_report_settings()
    as_of = resolve_as_of(con, None, zone(tz))
    sources = query_rows(con, load_sql("marts/fct_report_header.sql"), {})
    first_at = min((s["first_at"] for s in sources if s["first_at"]), default=None)
    last_at = max((s["last_at"] for s in sources if s["last_at"]), default=None)
    for source in sources:
        source["first_at"], source["last_at"] = iso(source["first_at"]), iso(source["last_at"])
    persons = query_rows(con, "SELECT count(*) AS n FROM persons", {})[0]["n"]
    frameworks = [load_framework(name) for name in built_in_frameworks()]
    if spend is None and settings.spend:
        spend = Path(settings.spend)
    ctx = ReportContext(con, as_of, tz, first_at, settings, frameworks, stored_chains, spend,
                        last_at)
    retention = settings.retention
    page: dict[str, Any] = {
        "as_of": iso(as_of) or "",
        "first_event_at": iso(first_at),
        "persons": int(persons),
        "sources": sources,
        "failed_files": query_rows(con, load_sql("marts/fct_failed_files.sql"), {}),
        "currency": currency_summary(con, as_of),
        "frameworks": [{"name": f.name, "title": f.label, "titles": f.titles(),
                        "window": f.window,
                        "stages": [{"name": st.name, "titles": st.titles()} for st in f.stages]}
                       for f in frameworks],
        "settings": {
            "journey_framework": settings.journey_framework,
            "journey_window": ctx.framework(settings.journey_framework).window,
            "retention": f"{retention.framework}: {retention.period}ly cohorts from "
                         f"{retention.start}",
            "retention_cohorts": retention.cohorts,
            "tz": tz,
            "channel_rules": rules_source(con),
            "conversion_stage": settings.conversion_stage,
            "persona_traits": list(settings.persona_traits),
            "spend": without_emails(str(spend)) if spend else None,
            "lang": settings.lang,
        },
    }
    for _metric, section in sections():
        page[section.id] = section.collect(ctx)
    exact: dict[str, Any] = json.loads(json.dumps(page, default=str))  # as data.json holds it
    return exact


def save(page: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(page, indent=1, default=str), encoding="utf-8")
