"""The Spark suites (CONTRACT §12): skipped, saying why, where pyspark/sqlglot or Java is missing.

`make test` installs the `spark` extra and CI installs Debian's Java 17, so CI runs them.
"""

from __future__ import annotations

import shutil

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    missing: dict[str, str] = {}
    for module in ("pyspark", "sqlglot"):
        try:
            __import__(module)
        except ImportError:
            missing[module] = f"{module} is not installed (pip install -e '.[spark]')"
    if not shutil.which("java"):
        missing["java"] = "java is missing (apt-get install openjdk-17-jre-headless)"
    for item in items:
        if "tests/spark/" not in item.nodeid.replace("\\", "/"):
            continue
        # translating needs sqlglot only; running needs pyspark and Java too
        needs = ("sqlglot",) if "test_translate" in item.nodeid else ("sqlglot", "pyspark", "java")
        reasons = [missing[n] for n in needs if n in missing]
        if reasons:
            item.add_marker(pytest.mark.skip(reason="; ".join(reasons)))
