"""The lake layout both engines read and write (CONTRACT §5, §12).

A lake is a folder (or, for Spark, any URL it can read) with one Parquet dataset per table:
`events.parquet` and `persons.parquet` (CONTRACT §5's columns first, then what the metrics need),
`traits.parquet`, `identity.parquet`, `quarantine.parquet`, `files.parquet`. A dataset is a file or
a folder of part files of that name (what Spark writes). `export` writes it from the warehouse.

Reading a lake defines the relations the marts read, under the warehouse's names (`events`,
`fct_events`, `persons`, `fct_traits`, `sessions`), with SQL written once in DuckDB's dialect:
DuckDB runs it as it is, Spark after translation (engines/spark.py). Columns a lake lacks (a
folder of the contract's columns only, e.g. written by another tool) get defaults: no campaign,
no channel inputs, person_no numbered from person_id (once, over events and persons), no
traits.
"""

from __future__ import annotations

from collections.abc import Mapping

from journey_metrics.errors import UsageError
from journey_metrics.sql import load_sql, quote_identifier, split_statements

# table -> the columns its relation has, each with the DuckDB type and the expression used when
# the lake lacks the column (None: required)
LAKE_COLUMNS: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "events": (
        ("event_id", "VARCHAR", None), ("source", "VARCHAR", None),
        ("event_name", "VARCHAR", None), ("occurred_at", "TIMESTAMPTZ", None),
        # CONTRACT §5's columns are required: a lake without `revenue` would read as one
        # without orders, silently
        ("person_id", "VARCHAR", None), ("channel", "VARCHAR", None),
        ("revenue", "DOUBLE", None), ("properties", "VARCHAR", None),
        ("person_no", "BIGINT", None),  # (numbered from person_id when absent: below)
        ("campaign", "VARCHAR", "NULL"), ("utm_medium", "VARCHAR", "NULL"),
        ("utm_source", "VARCHAR", "NULL"), ("referrer_host", "VARCHAR", "NULL"),
        ("page_host", "VARCHAR", "NULL"), ("referrer_class", "VARCHAR", "NULL"),
    ),
    "persons": (
        ("person_id", "VARCHAR", None), ("channel", "VARCHAR", None),
        ("first_seen_at", "TIMESTAMPTZ", None),
        ("person_no", "BIGINT", None),
    ),
    "traits": (
        ("person_id", "VARCHAR", None), ("person_no", "BIGINT", None), ("trait", "VARCHAR", None),
        ("value", "VARCHAR", None), ("set_at", "TIMESTAMPTZ", None),
    ),
}
# A lake whose events or persons have no person_no (another tool's) numbers its persons once,
# over the person_ids of both datasets, and every dataset takes its number from there: numbered
# in each dataset alone, a persons table with one more person (or one less) than the events
# shifted every number after it, and the metrics joined events to other persons' channels,
# without a word (an audit; decision 235).
PERSON_NUMBERS = "lake_person_numbers"
_NUMBERED = ("events", "persons", "traits")
_NUMBER_OF = (f"(SELECT max(n.person_no) FROM {PERSON_NUMBERS} AS n"
              " WHERE n.person_id = CAST(r.person_id AS VARCHAR))")

# The datasets `export` writes, each from its SQL file under sql/marts/.
EXPORTED = ("events", "persons", "traits", "identity", "quarantine", "files")
REQUIRED = ("events", "persons")


def dataset_name(table: str) -> str:
    return f"{table}.parquet"


def raw_name(table: str) -> str:
    """The relation a lake dataset is registered under before the views."""
    return f"lake_raw_{table}"


def view_statements(present: Mapping[str, set[str] | None]) -> list[str]:
    """The statements that define the marts' relations over the registered raw datasets.

    `present` maps each table to the columns its dataset has (None: no dataset). Written in
    DuckDB's dialect; every identifier is allow-listed and quoted (sql.quote_identifier).
    """
    statements = []
    renumber = any(present.get(t) is not None and "person_no" not in (present.get(t) or set())
                   for t in REQUIRED)
    if renumber:
        ids = " UNION ".join(f"SELECT CAST(person_id AS VARCHAR) AS person_id"
                             f" FROM {quote_identifier(raw_name(t))}" for t in REQUIRED
                             if present.get(t) is not None)
        statements.append(f"CREATE OR REPLACE TEMP VIEW {PERSON_NUMBERS} AS SELECT person_id,"
                          f" row_number() OVER (ORDER BY person_id) AS person_no FROM ({ids})"
                          " AS ids")
    for table, columns in LAKE_COLUMNS.items():
        have = present.get(table)
        items = []
        for name, type_, default in columns:
            quoted = quote_identifier(name)
            if name == "person_no" and renumber and table in _NUMBERED and have is not None:
                items.append(f"CAST({_NUMBER_OF} AS {type_}) AS {quoted}")
            elif have is not None and name in have:
                items.append(f"CAST({quoted} AS {type_}) AS {quoted}")
            elif default is None and have is not None:
                raise UsageError(f"--events: {dataset_name(table)} has no column {name!r}")
            else:
                value = default if default is not None and have is not None else "NULL"
                items.append(f"CAST({value} AS {type_}) AS {quoted}")
        source = (f"FROM {quote_identifier(raw_name(table))} AS r" if have is not None
                  else "WHERE false")  # an absent optional dataset: no rows
        statements.append(f"CREATE OR REPLACE TEMP VIEW {quote_identifier('lake_' + table)} AS "
                          f"SELECT {', '.join(items)} {source}")
    statements.extend(split_statements(load_sql("lake/views.sql")))
    statements.append(sessions_view())
    return statements


def sessions_view() -> str:
    """The warehouse's `sessions` view (sql/warehouse.sql), defined once, reused over a lake."""
    for statement in split_statements(load_sql("warehouse.sql")):
        if statement.startswith("CREATE OR REPLACE VIEW sessions AS"):
            return statement.replace("CREATE OR REPLACE VIEW", "CREATE OR REPLACE TEMP VIEW", 1)
    raise RuntimeError("sql/warehouse.sql defines no sessions view")  # pragma: no cover
