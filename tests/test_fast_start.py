"""`journey-metrics --help` and building the metric commands import nothing heavy: no DuckDB,
polars, pandera, pydantic, Altair or Prefect (issue 10: fast start)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import TEST_KEY

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"

HEAVY = ("duckdb", "polars", "pandera", "pydantic", "altair", "prefect", "vl_convert")


def _printed(script: str, env: dict[str, str] | None = None) -> Any:
    """What `script`, run by this Python in a fresh process, prints as JSON."""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, env=env)
    return json.loads(done.stdout)


def test_help_imports_nothing_heavy() -> None:
    script = (
        "import sys, json\n"
        "import journey_metrics.cli as cli\n"
        "cli.add_metric_commands()\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))\n"
    )
    assert _printed(script) == []


def test_json_output_imports_no_rich() -> None:
    """A metric command printing JSON (or CSV) writes to the stream itself: rich, a tenth of a
    short command's start-up, is imported only for a table (cli/app.py's lazy consoles)."""
    script = (
        "import sys, json, io\n"
        "import journey_metrics.cli as cli\n"
        "from journey_metrics.cli.app import stdout\n"
        "from journey_metrics.metrics.registry import Column, Kind\n"
        "from journey_metrics.output import OutputFormat, print_rows\n"
        "cli.add_metric_commands()\n"
        "sys.stdout = io.StringIO()\n"
        "print_rows(stdout, [{'persons': 3}], [Column('persons', Kind.count)],"
        " OutputFormat.json)\n"
        "printed, sys.stdout = sys.stdout.getvalue(), sys.__stdout__\n"
        "print(json.dumps(['rich' in sys.modules, json.loads(printed)]))\n"
    )
    assert _printed(script) == [False, [{"persons": 3}]]


def test_the_row_checks_import_neither_pandas_nor_pyspark() -> None:
    """validate.py uses pandera's polars API only; pandera's own import would also load pandas
    and pyspark.pandas when installed (~1 s of every `run`). In the command's process they are
    left out, and the checks still work."""
    script = (
        "import sys, json\n"
        "import journey_metrics\n"
        "journey_metrics.command_line_process = True\n"
        "import polars as pl\n"
        "from journey_metrics.validate import IDENTITY_SCHEMA, failing_rows\n"
        "df = pl.DataFrame({'anonymous_id': ['a', None], 'user_id': [None, None],"
        " 'email_hash': [None, None], 'crm_contact_id': [None, None]},"
        " schema={c: pl.Utf8 for c in ('anonymous_id', 'user_id', 'email_hash',"
        " 'crm_contact_id')})\n"
        "failed = failing_rows(df, IDENTITY_SCHEMA)\n"
        "print(json.dumps([[m for m in ('pandas', 'pyspark') if m in sys.modules],"
        " failed.to_dicts()]))\n"
    )
    loaded, failed = _printed(script)
    assert loaded == []
    assert [row["row_index"] for row in failed] == [1]


def test_pandera_is_imported_as_usual_when_it_needs_what_was_hidden() -> None:
    """Should a pandera version require pandas to import, the hiding is undone and pandera is
    imported the ordinary way (here: a pandera package whose import needs pandas)."""
    script = (
        "import sys, json, types\n"
        "import journey_metrics\n"
        "journey_metrics.command_line_process = True\n"
        "from journey_metrics import validate\n"
        "for name in [n for n in sys.modules if n.split('.')[0] in ('pandera', 'pandas')]:\n"
        "    del sys.modules[name]\n"
        "import importlib.abc, importlib.util\n"
        "class Needy(importlib.abc.MetaPathFinder, importlib.abc.Loader):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'pandera.polars':\n"
        "            return importlib.util.spec_from_loader(name, self)\n"
        "    def create_module(self, spec):\n"
        "        return None\n"
        "    def exec_module(self, module):\n"
        "        import pandas\n"
        "        module.needs = pandas.__name__\n"
        "sys.meta_path.insert(0, Needy())\n"
        "module = validate._pandera_polars()\n"
        "print(json.dumps([module.needs, sys.meta_path[1].__class__.__name__]))\n"
    )
    needs, second_finder = _printed(script)
    assert needs == "pandas"
    assert second_finder != "_NotInstalled"


def test_a_library_user_gets_pandera_whole() -> None:
    """Outside the command's process nothing is left out of pandera: with pandas installed (the
    spark extra installs it), its pandas API is there."""
    script = (
        "import sys, json\n"
        "import journey_metrics.validate\n"
        "import pandera\n"
        "print(json.dumps(['pandas' in sys.modules, hasattr(pandera, 'DataFrameSchema')]))\n"
    )
    pandas_loaded, pandas_api = _printed(script)
    assert pandas_api == pandas_loaded


def test_the_run_command_imports_neither_pandas_nor_pyspark(tmp_path: Path) -> None:
    """The whole `run` command, in its own process, on a small input."""
    script = (
        "import sys, json, runpy, io, contextlib\n"
        f"sys.argv = ['journey-metrics', 'run', '--input', {str(SAMPLE)!r}, '--db',"
        f" {str(tmp_path / 'j.duckdb')!r}, '--format', 'json']\n"
        "out = io.StringIO()\n"
        "try:\n"
        "    with contextlib.redirect_stdout(out):\n"
        "        runpy.run_module('journey_metrics', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "events = json.loads(out.getvalue())['events_total']\n"
        "print(json.dumps([[m for m in ('pandas', 'pyspark') if m in sys.modules], events]))\n"
    )
    loaded, events = _printed(script, env={**os.environ, "JOURNEY_METRICS_HASH_KEY": TEST_KEY})
    assert loaded == []
    assert events > 0


def test_a_metric_command_imports_no_pydantic_and_only_its_metric(tmp_path: Path) -> None:
    """A metric command's process (here one whose warehouse is missing, so it stops after
    loading its framework): the configuration is checked without pydantic (schema.py), Typer
    builds no pydantic adapters, and of the metric modules only the command's is imported
    (decision 102: together ~0.15 s of every command's start-up)."""
    script = (
        "import sys, json, runpy, io, contextlib\n"
        f"sys.argv = ['journey-metrics', 'funnel', '--framework', 'aarrr', '--db',"
        f" {str(tmp_path / 'none.duckdb')!r}, '--format', 'json']\n"
        "try:\n"
        "    with contextlib.redirect_stderr(io.StringIO()):\n"
        "        runpy.run_module('journey_metrics', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "metrics = sorted(m.split('.')[-1] for m in sys.modules"
        " if m.startswith('journey_metrics.metrics.'))\n"
        "print(json.dumps([code, 'pydantic' in sys.modules, 'journey_metrics.config' in"
        " sys.modules, metrics]))\n"
    )
    code, pydantic, config, metrics = _printed(script)
    assert code == 2  # no warehouse: bad usage (decision 148), after the framework was loaded
    assert (pydantic, config) == (False, True)
    assert "funnel" in metrics
    assert not {"retention", "referral", "nps", "paths", "attribution"} & set(metrics)
