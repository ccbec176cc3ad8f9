"""journey-metrics: raw customer events -> customer-journey metrics.

`journey_metrics.open("journey.duckdb")` gives every registered metric as a method returning a
polars DataFrame (see api.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# True in the `journey-metrics` command's own process (set by cli.main): it imports what it uses
# and nothing else, so optional parts of libraries it never uses may be left out (validate.py).
# A program that imports journey_metrics as a library gets those libraries whole.
command_line_process = False

if TYPE_CHECKING:
    from journey_metrics.api import Journey


def open(db: Any = "journey.duckdb") -> Journey:
    from journey_metrics.api import open as open_journey

    return open_journey(db)
