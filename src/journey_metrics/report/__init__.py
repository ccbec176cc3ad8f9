"""The marketer's dashboard: mart rows -> Altair charts -> one self-contained HTML page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def build_report(
    db_path: Path, out_dir: Path, tz: str = "UTC", progress: Callable[[str], None] | None = None,
    *, spend: Path | None = None,
) -> Path:
    """Read the page data (materialised by `run`, else computed now) and write the dashboard;
    return index.html. `spend`: a spend CSV (cost, CPA, ROAS per channel)."""
    from journey_metrics.report.data import collect
    from journey_metrics.report.page import write_report

    return write_report(collect(db_path, tz, spend), out_dir, progress)
