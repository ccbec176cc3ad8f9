"""The Spark suites (CONTRACT §12): skipped, saying why, where pyspark/sqlglot or Java is missing.

`make test` installs the `spark` extra and CI installs Debian's Java 17, so CI runs them.
"""

from __future__ import annotations

import shutil

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reasons = []
    for module in ("pyspark", "sqlglot"):
        try:
            __import__(module)
        except ImportError:
            reasons.append(f"{module} is not installed (pip install -e '.[spark]')")
    needs_java = [] if shutil.which("java") else ["java is missing (apt-get install "
                                                   "openjdk-17-jre-headless)"]
    for item in items:
        if "tests/spark/" not in item.nodeid.replace("\\", "/"):
            continue
        # translating needs no Java; running does
        missing = reasons + ([] if "test_translate" in item.nodeid else needs_java)
        if missing:
            item.add_marker(pytest.mark.skip(reason="; ".join(missing)))
