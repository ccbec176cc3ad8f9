"""Shared fixtures: an isolated hashing key, Prefect home, and helpers to build input folders."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

TEST_KEY = "test-key-0123456789abcdef"

# Prefect must see these before it is imported anywhere (its analytics writer locks sqlite).
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("JOURNEY_METRICS_HASH_KEY", TEST_KEY)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path_factory.getbasetemp() / "prefect"))


def write_jsonl(path: Path, records: list[Any]) -> Path:
    """Write records one per line; strings are written as they are (for malformed lines)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_json_array(path: Path, records: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join([",".join(header), *(",".join(r) for r in rows)]) + "\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


@pytest.fixture
def input_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "input"
    folder.mkdir()
    return folder


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


def query(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Read the warehouse (read-only, UTC) and return all rows."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture
def run_pipeline() -> Any:
    """Call the `run` use case directly (what the CLI and the flow call), without the step that
    stores the marts: these tests read the loaded tables, and a metric read afterwards computes
    the same rows on the fly (tests/test_marts_materialised.py checks that the two agree, with
    `refresh=True`). The refresh is most of a small run's time."""
    from journey_metrics import pipeline

    def _run(input_dir: Path, db: Path, *, refresh: bool = False) -> dict[str, Any]:
        return pipeline.run(input_dir, db, refresh=refresh).as_dict()

    return _run


@pytest.fixture(scope="session")
def sample_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """data/sample/ loaded by the `run` command and exported as a lake, once per test process:
    (warehouse, lake). Shared: only read it (metric commands open the warehouse read-only); a
    test that writes loads its own."""
    from engine_cases import export_sample

    return export_sample(tmp_path_factory.mktemp("sample_export"))


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection with the package's macros, for tests that build mart inputs by hand."""
    from journey_metrics.db import connect

    connection = connect(tmp_path / "w.duckdb")
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def macros_con() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory connection in UTC with every macro, the staging ones too (one per module:
    for tests of the macros themselves)."""
    from journey_metrics.db import install_macros

    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    install_macros(connection, loading=True)
    yield connection
    connection.close()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)
