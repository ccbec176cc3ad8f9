"""`journey-metrics --help` and building the metric commands import nothing heavy: no DuckDB,
polars, pandera, pydantic, Altair or Prefect (issue 10: fast start)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("duckdb", "polars", "pandera", "pydantic", "altair", "prefect", "vl_convert")


def test_help_imports_nothing_heavy() -> None:
    script = (
        "import sys, json\n"
        "import journey_metrics.cli as cli\n"
        "cli.add_metric_commands()\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout) == []
