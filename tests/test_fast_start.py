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


def test_the_row_checks_import_neither_pandas_nor_pyspark() -> None:
    """validate.py uses pandera's polars API only; pandera's own import would also load pandas
    and pyspark.pandas when installed (~1 s of every `run`). The checks still work."""
    script = (
        "import sys, json\n"
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
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    loaded, failed = json.loads(done.stdout)
    assert loaded == []
    assert [row["row_index"] for row in failed] == [1]


def test_pandera_is_imported_as_usual_when_it_needs_what_was_hidden() -> None:
    """Should a pandera version require pandas to import, the hiding is undone and pandera is
    imported the ordinary way (here: a pandera package whose import needs pandas)."""
    script = (
        "import sys, json, types\n"
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
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    needs, second_finder = json.loads(done.stdout)
    assert needs == "pandas"
    assert second_finder != "_NotInstalled"
