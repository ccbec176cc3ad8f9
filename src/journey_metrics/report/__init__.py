"""The marketer's dashboard: mart rows -> Altair charts -> one self-contained HTML page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def build_report(
    db_path: Path, out_dir: Path, tz: str = "UTC", progress: Callable[[str], None] | None = None,
    *, spend: Path | None = None, lang: str | None = None,
) -> Path:
    """Read the page data (materialised by `run`, else computed now) and write the dashboard;
    return index.html. `spend`: a spend CSV (cost, CPA, ROAS per channel); `lang`: en or vi
    (default config/report.yaml `lang`)."""
    from journey_metrics.report.data import collect
    from journey_metrics.report.i18n import catalogue
    from journey_metrics.report.page import write_report

    if lang is not None:
        catalogue(lang)  # an unknown language is refused before any work
    return write_report(collect(db_path, tz, spend), out_dir, progress, lang)
