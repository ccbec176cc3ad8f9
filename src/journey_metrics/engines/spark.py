"""The Spark engine (CONTRACT §12): not yet available in this build."""

from __future__ import annotations

from typing import Any

from journey_metrics.errors import UsageError


def open_spark_lake(events: str, *, master: str | None, remote: str | None) -> Any:
    raise UsageError("--engine spark is not available yet")
