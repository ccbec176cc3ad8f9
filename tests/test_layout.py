"""The layout the docs describe is the layout there is: every repository path named in README and
docs/ exists, and the core package never imports the orchestration (`pipelines/`)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
TOP = ("src/", "sql/", "config/", "docs/", "tests/", "bench/", "pipelines/", "data/", ".ci/")
# Files the docs tell a user to write (examples), or that a command makes: they need not exist.
USER_FILES = {
    "config/channels.yaml", "config/sources/40-shop.yaml", "sql/staging/stg_shop_orders.sql",
    "src/journey_metrics/metrics/visits.py", "config/frameworks/NAME.yaml", "bench/cache/",
}
# `a/b.py`, `sql/marts/`, [text](docs/x.md): backticked or linked relative paths
PATH = re.compile(r"`([A-Za-z0-9_./-]+)`|\]\(([A-Za-z0-9_./-]+)\)")


def _named_paths(text: str) -> set[str]:
    found = set()
    for match in PATH.finditer(text):
        path = (match.group(1) or match.group(2)).rstrip(".,")
        if path.startswith(TOP) and "<" not in path and "*" not in path:
            found.add(path)
    return found


def test_every_path_named_in_the_docs_exists() -> None:
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    missing = {
        f"{doc.relative_to(ROOT)}: {path}"
        for doc in documents
        for path in _named_paths(doc.read_text(encoding="utf-8"))
        if not (ROOT / path).exists() and path not in USER_FILES
    }
    assert not missing, sorted(missing)


def test_the_core_package_does_not_import_pipelines() -> None:
    importing = [
        str(p.relative_to(ROOT)) for p in (ROOT / "src").rglob("*.py")
        if re.search(r"^\s*(from|import) pipelines\b", p.read_text(encoding="utf-8"), re.M)
    ]
    assert importing == []
