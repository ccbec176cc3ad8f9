"""journey-metrics: raw customer events -> customer-journey metrics.

`journey_metrics.open("journey.duckdb")` gives every registered metric as a method returning a
polars DataFrame (see api.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from journey_metrics.api import Journey


def open(db: Any = "journey.duckdb") -> Journey:
    from journey_metrics.api import open as open_journey

    return open_journey(db)
