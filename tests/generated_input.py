"""Generated input (journey_metrics_synth) cut by day: the files of the days before a date.

The generator files web and email events by the day they arrive and CRM rows by month, with the
days starting on 2026-01-05: the files before a month's first day hold the events before it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

_DAY = re.compile(r"(\d{4}-\d{2})(-\d{2})?")


def before(name: str, day: str) -> bool:
    """Whether a generated file (named by its day, or by its month for CRM) ends before `day`
    (YYYY-MM-DD)."""
    found = _DAY.search(name)
    assert found, f"generated file without a date in its name: {name}"
    month, of_month = found.groups()
    return f"{month}{of_month}" < day if of_month else f"{month}-31" < day


def copy_before(source: Path, target: Path, day: str) -> Path:
    """Copy the files of `source` (an input folder) that end before `day` into `target`."""
    for path in source.rglob("*"):
        if path.is_file() and before(path.name, day):
            copied = target / path.relative_to(source)
            copied.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, copied)
    return target
