"""Row checks on staged records (pandera, polars) and the reasons a record is quarantined.

Staging SQL already rejects what it cannot parse (invalid JSON, unknown message type, an
unparseable date) with a precise reason. The checks here are the schema every canonical event must
meet; a failing row becomes a quarantine reason instead of stopping the file.
"""

from __future__ import annotations

import importlib
import sys
import threading
from types import ModuleType
from typing import TYPE_CHECKING, Any


class _NotInstalled:
    """A meta-path finder that makes `pandas` and `pyspark` look not installed to the thread
    that created it, while it is on sys.meta_path (modules already imported are not affected;
    other threads, e.g. a flow's tasks, import them as usual)."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.split(".")[0] in ("pandas", "pyspark") and threading.get_ident() == self.thread:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def _pandera_polars() -> ModuleType:
    """pandera's polars API, imported without pandas and pyspark.

    When they are installed, `import pandera` also loads pandas (for its pandas API) and
    pyspark.pandas (to patch it), and its first validation loads pandas again: about 1 s of
    every `run` (1.8 -> 0.8 s measured), for APIs this module does not use. pandera supports
    installs without them, so they are hidden from that import. Should a pandera version need
    them anyway, it is imported the usual way. Only in the command's own process: a program
    using journey_metrics as a library may use pandera's pandas API, which this leaves out.
    """
    import journey_metrics

    if (not journey_metrics.command_line_process
            or any(m in sys.modules for m in ("pandera", "pandas"))):
        return importlib.import_module("pandera.polars")
    hider = _NotInstalled()
    sys.meta_path.insert(0, hider)
    try:
        module = importlib.import_module("pandera.polars")
        # the first validation would import pandas too (to ask whether a frame is a pandas
        # one); pandera remembers the answer, so it is asked here, while pandas is hidden
        registry = importlib.import_module("pandera.backends.register_checks")
        getattr(registry, "_load_get_backend_types_from_mro", lambda: None)()
        return module
    except ImportError:
        for name in [n for n in sys.modules if n == "pandera" or n.startswith("pandera.")]:
            del sys.modules[name]
    finally:
        sys.meta_path.remove(hider)
    return importlib.import_module("pandera.polars")


if TYPE_CHECKING:
    import pandera.polars as pa
else:
    pa = _pandera_polars()

import polars as pl  # noqa: E402
from pandera.api.polars.types import PolarsData  # noqa: E402
from pandera.errors import SchemaError, SchemaErrors  # noqa: E402

# snake_case in any script: lower-case (or caseless) letters and digits, then also marks and _
EVENT_NAME_PATTERN = r"^[\p{Ll}\p{Lo}\p{Lm}0-9][\p{Ll}\p{Lo}\p{Lm}\p{M}0-9_]*$"
IDENTIFIER_COLUMNS = ("anonymous_id", "user_id", "email_hash", "crm_contact_id")

# What a failed check means to a person reading the quarantine table.
_REASONS = {
    ("event_id", "not_nullable"): "missing event id",
    ("event_id", "str_length"): "missing event id",
    ("event_name", "not_nullable"): "missing event name",
    ("occurred_at", "not_nullable"): "missing timestamp",
    ("nps_score", "in_range"): "survey score outside 0-10",
    ("nps_score", "not_nullable"): "missing survey score",
}


def _has_identifier(data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        pl.any_horizontal(pl.col(c).is_not_null() for c in IDENTIFIER_COLUMNS)
    )


SURVEY_EVENTS = ("nps_response", "csat_response", "ces_response")


def _snake_case(data: PolarsData) -> pl.LazyFrame:
    # polars' regex knows Unicode classes (pandera's str_matches compiles Python's re, which
    # does not); a missing name fails the not-nullable check instead
    name = pl.col(data.key)
    return data.lazyframe.select(name.is_null() | name.str.contains(EVENT_NAME_PATTERN))


def _survey_has_score(data: PolarsData) -> pl.LazyFrame:
    # staging checks each survey's own range with a precise reason; this is the safety net
    return data.lazyframe.select(
        ~pl.col("event_name").is_in(SURVEY_EVENTS) | pl.col("nps_score").is_not_null()
    )


IDENTITY_SCHEMA = pa.DataFrameSchema(
    {c: pa.Column(pl.Utf8, nullable=True) for c in IDENTIFIER_COLUMNS},
    checks=[pa.Check(_has_identifier, name="has_identifier", element_wise=False)],
)

EVENT_SCHEMA = pa.DataFrameSchema(
    {
        "event_id": pa.Column(pl.Utf8, pa.Check.str_length(min_value=1), nullable=False),
        "event_name": pa.Column(pl.Utf8, pa.Check(_snake_case, name="event_name_snake_case")),
        "occurred_at": pa.Column(pl.Datetime("us", "UTC"), nullable=False),
        "nps_score": pa.Column(pl.Int64, pa.Check.in_range(0, 10), nullable=True),
    },
    checks=[
        pa.Check(_survey_has_score, name="survey_needs_score", element_wise=False)
    ],
)

_CHECK_REASONS = {
    "has_identifier": "no identifier (anonymous id, user id, email or CRM contact id)",
    "survey_needs_score": "missing survey score",
    "event_name_snake_case": "event name is not snake_case",
}


def failing_rows(df: pl.DataFrame, schema: pa.DataFrameSchema) -> pl.DataFrame:
    """Rows of `df` that fail `schema`, as (row_index, reason); one reason per row.

    Raises SchemaError for failures that are not about rows (a missing or mistyped column): those
    mean the staging model is wrong, not the data.
    """
    empty = pl.DataFrame(schema={"row_index": pl.Int64, "reason": pl.Utf8})
    if df.height == 0:
        return empty
    try:
        schema.validate(df, lazy=True)
    except SchemaErrors as errors:
        cases = errors.failure_cases
        row_cases = cases.filter(pl.col("index").is_not_null())
        if row_cases.height < cases.height:
            problems = str(cases.filter(pl.col("index").is_null()))
            raise SchemaError(schema, df, problems) from None  # type: ignore[no-untyped-call]
        failures: pl.DataFrame = (
            row_cases.with_columns(
                pl.struct("column", "check")
                .map_elements(_reason, return_dtype=pl.Utf8)
                .alias("reason"),
                pl.col("index").cast(pl.Int64).alias("row_index"),
            )
            .sort("row_index", "reason")
            .unique("row_index", keep="first", maintain_order=True)
            .select("row_index", "reason")
        )
        return failures
    return empty


def _reason(case: dict[str, str | None]) -> str:
    column = case.get("column") or ""
    check = str(case.get("check") or "")
    for name, text in _CHECK_REASONS.items():
        if name in check:
            return text
    for (col, check_name), text in _REASONS.items():
        if column == col and check_name in check:
            return text
    return f"{column}: failed {check}"
