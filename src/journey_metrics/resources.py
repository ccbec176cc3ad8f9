"""Where the shipped `sql/` and `config/` folders live.

In a wheel they are package data under `journey_metrics/`; in an editable checkout they are the
top-level folders of the repository. One function decides, so nothing else guesses paths.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def resource_dir(name: str) -> Path:
    """Return the folder `sql` or `config`, installed or from the source tree."""
    for candidate in (_PACKAGE_DIR / name, _PACKAGE_DIR.parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"journey-metrics resource folder {name!r} is missing")


# The warehouse every command uses unless --db says otherwise (here, not in db.py, so the CLI
# can name it without importing DuckDB).
DEFAULT_DB = Path("journey.duckdb")
