"""Compare a metric command's rows on Spark with DuckDB's (CONTRACT §12): counts and text equal,
other numbers equal to 1e-9 (relative, or absolute near zero). And the skips of the Spark suites,
saying what is missing (`make test` installs the `spark` extra and CI Debian's Java 17, so CI runs
them all)."""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import socket
from typing import Any

import pytest

TOLERANCE = 1e-9


def _missing(*needs: str) -> list[str]:
    found = []
    for module in needs:
        if module == "java":
            if not shutil.which("java"):
                found.append("java is missing (apt-get install openjdk-17-jre-headless)")
        elif importlib.util.find_spec(module) is None:
            found.append(f"{module} is not installed (pip install -e '.[spark]')")
    return found


# translating needs sqlglot only; running needs pyspark and Java too
NEEDS_SQLGLOT = pytest.mark.skipif(bool(_missing("sqlglot")),
                                   reason="; ".join(_missing("sqlglot")))
NEEDS_SPARK = pytest.mark.skipif(bool(_missing("sqlglot", "pyspark", "java")),
                                 reason="; ".join(_missing("sqlglot", "pyspark", "java")))


def same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or a is None:
        return bool(a == b)
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def first_difference(spark_text: str, duckdb_text: str) -> str | None:
    spark_rows, duckdb_rows = json.loads(spark_text), json.loads(duckdb_text)
    if len(spark_rows) != len(duckdb_rows):
        return f"{len(spark_rows)} rows on Spark, {len(duckdb_rows)} on DuckDB"
    for n, (x, y) in enumerate(zip(spark_rows, duckdb_rows, strict=True)):
        if not same(x, y):
            return f"row {n}: spark {x} != duckdb {y}"
    return None


def free_port() -> int:
    """A TCP port nothing listens on now (for a Spark Connect server of a test or the bench)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    """Whether something accepts connections on the local port (a server that has started)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True
