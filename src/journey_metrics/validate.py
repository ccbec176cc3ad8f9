"""Row checks on staged records (pandera, polars) and the reasons a record is quarantined.

Staging SQL already rejects what it cannot parse (invalid JSON, unknown message type, an
unparseable date) with a precise reason. The checks here are the schema every canonical event must
meet; a failing row becomes a quarantine reason instead of stopping the file.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData
from pandera.errors import SchemaError, SchemaErrors

EVENT_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
IDENTIFIER_COLUMNS = ("anonymous_id", "user_id", "email_hash", "crm_contact_id")

# What a failed check means to a person reading the quarantine table.
_REASONS = {
    ("event_id", "not_nullable"): "missing event id",
    ("event_id", "str_length"): "missing event id",
    ("event_name", "not_nullable"): "missing event name",
    ("event_name", "str_matches"): "event name is not of the form ^[a-z][a-z0-9_]*$",
    ("occurred_at", "not_nullable"): "missing timestamp",
    ("nps_score", "in_range"): "survey score outside 0-10",
    ("nps_score", "not_nullable"): "missing survey score",
}


def _has_identifier(data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        pl.any_horizontal(pl.col(c).is_not_null() for c in IDENTIFIER_COLUMNS)
    )


SURVEY_EVENTS = ("nps_response", "csat_response", "ces_response")


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
        "event_name": pa.Column(pl.Utf8, pa.Check.str_matches(EVENT_NAME_PATTERN)),
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
