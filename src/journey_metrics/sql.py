"""The only place SQL text is composed.

SQL lives in files under `sql/`. Identifiers that come from configuration (table, column, source,
stage names) are checked against one allow-list pattern and double-quoted here; every value goes in
as a bound parameter (`$name` or `?`), never as text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from journey_metrics.errors import UsageError
from journey_metrics.resources import resource_dir

IDENTIFIER_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
# An event property's name in a framework's `where` (events keep names as sent: `planType`,
# `Order-ID`): written unquoted into a JSON path, which DuckDB's json_extract_string and Spark's
# get_json_object both read as one key up to the next `.` or `[` (sqlglot keeps the literal as
# it is), so the pattern leaves out every sign that would end, index or quote the key.
PROPERTY_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")


def check_identifier(name: str, what: str = "name") -> str:
    """Return `name` if it is a safe identifier, else raise a one-line UsageError."""
    if not isinstance(name, str) or not IDENTIFIER_PATTERN.fullmatch(name):
        raise UsageError(f"invalid {what} {name!r}: must match ^[a-z][a-z0-9_]*$")
    return name


def quote_identifier(name: str, what: str = "name") -> str:
    """Quote a checked identifier for use in SQL text."""
    return '"' + check_identifier(name, what) + '"'


# The engine the SQL is loaded for (CONTRACT §12): on Spark, `x.spark.sql` beside `x.sql` is
# used instead where a mart has no portable form (written in the same DuckDB-dialect subset and
# translated like every other file: engines/spark.py).
_ENGINE: ContextVar[str] = ContextVar("journey_metrics_sql_engine", default="duckdb")


@contextmanager
def sql_engine(engine: str) -> Iterator[None]:
    """Load the engine's variants of SQL files inside this block."""
    token = _ENGINE.set(engine)
    try:
        yield
    finally:
        _ENGINE.reset(token)


def load_sql(relative_path: str) -> str:
    """The text of `sql/<relative_path>` (e.g. `staging/stg_web.sql`), or of its variant for the
    current engine (`sql_engine`) when there is one."""
    engine = _ENGINE.get()
    if engine != "duckdb" and relative_path.endswith(".sql"):
        variant = f"{relative_path[:-4]}.{engine}.sql"
        if sql_path(variant).is_file():
            return load_sql_exact(variant)
    return load_sql_exact(relative_path)


@cache
def load_sql_exact(relative_path: str) -> str:
    """The text of exactly `sql/<relative_path>`, whatever the engine."""
    path = sql_path(relative_path)
    if not path.is_file():
        raise UsageError(f"SQL model {relative_path!r} not found in {path.parent}")
    return path.read_text(encoding="utf-8")


def sql_path(relative_path: str) -> Path:
    """Where `sql/<relative_path>` is: the package's file, else, for a staging model the package
    does not have, the one in a folder of JOURNEY_METRICS_SOURCES. A team's file never shadows
    the package's (a copy of `stg_web.sql`, or a `macros.sql` of its own helpers, would replace
    what the privacy of every source rests on): its models have names of their own."""
    packaged = resource_dir("sql") / relative_path
    if packaged.is_file() or not relative_path.startswith("staging/"):
        return packaged
    for folder in extra_source_folders():
        candidate = folder / relative_path.removeprefix("staging/")
        if candidate.is_file():
            return candidate
    return packaged


SOURCES_ENV = "JOURNEY_METRICS_SOURCES"


def extra_source_folders() -> list[Path]:
    """The folders of a team's own sources (JOURNEY_METRICS_SOURCES, separated as PATH is):
    each holds source YAML files and their staging models (`<model>.sql`, `<model>.spark.sql`),
    read beside the shipped ones, so an installed package is never edited."""
    value = os.environ.get(SOURCES_ENV, "")
    return [Path(part) for part in value.split(os.pathsep) if part.strip()]


def split_statements(text: str) -> list[str]:
    """Statements of a SQL file (split on `;` at line ends), without whole-line comments."""
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [p.strip() for p in re.split(r";\s*(?:\n|$)", code) if p.strip()]


def quote_external_name(name: str) -> str:
    """Quote a name we did not choose (a CSV header) so it can only ever be a column name."""
    return '"' + name.replace('"', '""') + '"'


def quote_text(value: str) -> str:
    """A string literal (for the places DuckDB takes no parameter, e.g. read_csv's columns)."""
    return "'" + value.replace("'", "''") + "'"


def used_parameters(statement: str, params: Mapping[str, object]) -> dict[str, object]:
    """The named parameters a statement actually uses (DuckDB refuses unused ones)."""
    return {k: v for k, v in params.items() if re.search(rf"\${k}\b", statement)}


def json_text_path(prop: str) -> str:
    """A SQL literal JSON path to a top-level property (the name is allow-listed first):
    `'$.planType'`, `'$.Order-ID'`, the same text on both engines."""
    if not isinstance(prop, str) or not PROPERTY_NAME_PATTERN.fullmatch(prop):
        raise UsageError(
            f"invalid property name {prop!r}: must match {PROPERTY_NAME_PATTERN.pattern}"
        )
    return "'$." + prop + "'"


_SNIPPET = re.compile(r"\[\[\s*([a-z_][a-z0-9_]*)\s*\]\]")


def fill_snippets(relative_path: str, **snippets: str | int) -> str:
    """Load a SQL file and fill its `[[ name ]]` placeholders.

    Snippets are SQL built by this package from allow-listed identifiers, integers and `$name`
    parameter references (never from values), e.g. the per-stage columns of a funnel.
    """
    # Whole-line comments go first: a snippet named in a comment must not be filled with
    # multi-line SQL (it would end the comment), nor a `$name` there count as a used parameter.
    text = "\n".join(line for line in load_sql(relative_path).splitlines()
                     if not line.lstrip().startswith("--"))

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in snippets:
            raise KeyError(f"{relative_path}: no value for snippet [[ {key} ]]")
        return str(snippets[key])

    return _SNIPPET.sub(substitute, text)
