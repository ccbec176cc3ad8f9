"""The staging contract: the one declaration of the columns every staging model returns.

A staging model (`sql/staging/<model>.sql`) reads the TEMP table `raw_records` (`record_no`, `raw`,
and for CSV the configured columns plus `extra_fields` and `read_problem`, which the loader makes
the record's quarantine reason whatever the model says) and returns one row per canonical event or
identity record, with exactly these columns and types. `check_models` checks every configured
model against it before any input file is read: a model that lacks a column, returns one of
another type or one the contract does not know, or does not run at all, is a configuration error
(exit 2, one line naming the model and the column).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Collection
from functools import cache
from pathlib import Path
from typing import NamedTuple

import duckdb

from journey_metrics.channels import BUILT_IN, install
from journey_metrics.config import FileKind, SourceConfig
from journey_metrics.db import duckdb_header, install_macros
from journey_metrics.errors import UsageError
from journey_metrics.hashing import HashKey, install_hash_macro
from journey_metrics.resources import resource_dir
from journey_metrics.sql import (
    load_sql,
    quote_identifier,
    quote_text,
    sql_path,
    used_parameters,
)

# The years an event may happen in (CONTRACT §1 Bad input: others are quarantined, both engines).
# Not 1-9999, which the engines could hold: 0001-01-01 and 9999-12-31 are exporters' placeholders
# for "no date" (.NET's DateTime.MinValue, a far-future sentinel), not events, and one of them
# stretched every period grid over millennia (a weekly churn ran out of memory; decision 193).
EVENT_YEARS = (1900, 2199)
EVENT_YEARS_REASON = f"timestamp outside the years {EVENT_YEARS[0]}-{EVENT_YEARS[1]}"


class StagingColumn(NamedTuple):
    name: str
    type: str  # as DuckDB's DESCRIBE names it
    meaning: str
    optional: bool = False  # a model may leave it out (the loader inserts by name: NULL)
    guard: str = ""  # what the loader makes sure of, whatever the model did: a key of GUARDS


# CONTRACT §1 Privacy holds whatever a model does: the loader passes the personal columns of
# every row a source's own model stages through these on the way in (both engines), so a new
# source's model that forgot `jm_email_hash` or `jm_redact` still stores no address (an audit
# that added a source found them raw in `events`). Each is a no-op on a model that did its part
# (an id without an address, a hash, redacted text). The shipped models do theirs where it is
# cheapest (tests/test_privacy.py holds them to it), so they are not guarded again: the guards
# cost 0.7 s per million rows, 3% of a load.
SHIPPED_MODELS = frozenset({"stg_web", "stg_email", "stg_crm_contacts", "stg_crm_deals",
                            "stg_crm_feedback"})
GUARDS: dict[str, dict[str, str]] = {
    "id": {"duckdb": "jm_pseudonymize({c})", "spark": "jm_pseudonymize({c})"},
    # an address itself where its hash belongs: hashed (so it also stitches); a hash is hex,
    # which no address pattern matches
    "email_hash": {
        "duckdb": "CASE WHEN jm_contains_email({c}) THEN jm_email_hash({c}) ELSE {c} END",
        "spark": "CASE WHEN jm_contains_email({c}) THEN jm_email_hash({c}) ELSE {c} END"},
    "text": {"duckdb": "jm_redact({c})", "spark": "jm_redact({c})"},
    # (cast back to JSON only when it may have changed: the cast parses the whole text)
    "json": {"duckdb": "CASE WHEN jm_may_hold_email({c}::VARCHAR)"
                       " THEN jm_redact({c}::VARCHAR)::JSON ELSE {c} END",
             "spark": "jm_redact({c})"},
    # only the traits the source's YAML names (CONTRACT §6: "personal data stays out by
    # default"), their values redacted; {traits} is that list
    "traits": {
        "duckdb": "list_transform(list_filter({c}, lambda t: list_contains({traits}, t.trait)),"
                  " lambda t: {{'trait': t.trait, 'value': jm_redact(t.value)}})",
        # (Spark refuses a SQL function inside a lambda: the list's JSON text is redacted,
        # which keeps it JSON, decision 217)
        # (no lambda around it either: its filter takes the redacted list)
        "spark": "filter(from_json(jm_redact(to_json({c})),"
                 " 'ARRAY<STRUCT<trait: STRING, value: STRING>>'),"
                 " t -> array_contains({traits}, t.trait))"},
}


def guarded(column: StagingColumn, engine: str, expression: str, model: str,
            traits: tuple[str, ...] | list[str] = ()) -> str:
    """`expression` (the column's staged value) through the column's guard on `engine`, for a
    row that `model` staged; `traits`: the trait names its source keeps."""
    if not column.guard or model in SHIPPED_MODELS:
        return expression
    names = ""
    if column.guard == "traits":  # as text literals (hex on Spark, whose parser reads escapes)
        names = (f"[{', '.join(quote_text(n) for n in traits)}]::VARCHAR[]" if engine == "duckdb"
                 else "CAST(array(" + ", ".join(f"decode(unhex('{n.encode().hex()}'), 'UTF-8')"
                                             for n in traits) + ") AS ARRAY<STRING>)")
    return GUARDS[column.guard][engine].format(c=expression, traits=names)


STAGING_COLUMNS: tuple[StagingColumn, ...] = (
    StagingColumn("record_no", "BIGINT", "the raw record (line, element or CSV row) it comes from"),
    StagingColumn("reject_reason", "VARCHAR", "why the record is quarantined; NULL if it is fine"),
    StagingColumn("is_event", "BOOLEAN", "false for identity-only rows (e.g. a CRM contact)"),
    StagingColumn("event_id", "VARCHAR", "the source's event id (unique per source)",
                  guard="id"),
    StagingColumn("event_name", "VARCHAR", "canonical event name", guard="text"),
    StagingColumn("occurred_at", "TIMESTAMP WITH TIME ZONE", "when it happened"),
    StagingColumn("anonymous_id", "VARCHAR", "person key: device id", guard="id"),
    StagingColumn("user_id", "VARCHAR", "person key: the product's user id", guard="id"),
    StagingColumn("email_hash", "VARCHAR", "person key: jm_email_hash(email), never the email",
                  guard="email_hash"),
    StagingColumn("crm_contact_id", "VARCHAR", "person key: CRM contact id", guard="id"),
    StagingColumn("channel", "VARCHAR", "fixed channel, or jm_rules_channel(...) for web events",
                  guard="text"),
    StagingColumn("campaign", "VARCHAR", "campaign name", guard="text"),
    StagingColumn("revenue", "DOUBLE", "money the event brought"),
    StagingColumn("properties", "JSON", "everything else worth keeping (emails redacted)",
                  guard="json"),
    StagingColumn("nps_score", "BIGINT", "survey score, checked by validation"),
    StagingColumn("utm_medium", "VARCHAR", "web: jm_medium(UTM medium); NULL otherwise",
                  guard="text"),
    StagingColumn("utm_source", "VARCHAR", "web: UTM source; NULL otherwise", guard="text"),
    StagingColumn("referrer_host", "VARCHAR", "web: jm_url_host(referrer); NULL otherwise",
                  guard="text"),
    StagingColumn("page_host", "VARCHAR", "web: jm_url_host(page url); NULL otherwise",
                  guard="text"),
    StagingColumn("referrer_class", "VARCHAR",
                  "web: jm_referrer_class(...); NULL for events whose channel is fixed",
                  guard="text"),
    StagingColumn("previous_id", "VARCHAR", "alias: the id linked to user_id", optional=True,
                  guard="id"),
    StagingColumn("traits", "STRUCT(trait VARCHAR, \"value\" VARCHAR)[]",
                  "traits the record sets (only those the source's YAML names)", optional=True,
                  guard="traits"),
    StagingColumn("traits_at", "TIMESTAMP WITH TIME ZONE", "when those traits were set",
                  optional=True),
)


def batch_accepted_ddl() -> str:
    """The loader's TEMP table of accepted staged rows: file position + the contract's columns."""
    columns = ", ".join(
        f"{quote_identifier(c.name)} {c.type}" for c in STAGING_COLUMNS
        if c.name != "reject_reason"
    )
    return (
        "CREATE OR REPLACE TEMP TABLE batch_accepted"
        f" (file_path VARCHAR, file_order INTEGER, {columns})"
    )


def empty_raw_records(con: duckdb.DuckDBPyConnection, kind: FileKind, name: str) -> None:
    """A TEMP table shaped like the raw records a reader gives the kind's model, with no rows."""
    columns = "".join(f", NULL::VARCHAR AS {quote_identifier(c)}" for c in kind.columns)
    extra = (", NULL::JSON AS extra_fields, NULL::VARCHAR AS read_problem"
             if kind.reader == "csv" else "")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {quote_identifier(name)} AS "
        f"SELECT NULL::BIGINT AS record_no, NULL::VARCHAR AS raw{columns}{extra} LIMIT 0"
    )


def model_problem(
    con: duckdb.DuckDBPyConnection, source: SourceConfig, kind: FileKind
) -> str | None:
    """Run the kind's model over empty raw records; the first difference from the contract."""
    empty_raw_records(con, kind, "raw_records")
    try:
        sql = load_sql(f"staging/{kind.model}.sql")
    except UsageError as exc:
        return str(exc)
    path = sql_path(f"staging/{kind.model}.sql")  # a team's own source's: where it is
    shown = f"sql/staging/{kind.model}.sql" if path.is_relative_to(resource_dir("sql")) else path
    where = f"staging model {kind.model} ({shown})"
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE jm_staging_probe AS SELECT * FROM ({sql}) LIMIT 0",
            used_parameters(sql, {"tz": source.timezone, "traits": source.traits}),
        )
        described = con.execute("DESCRIBE jm_staging_probe").fetchall()
    except duckdb.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        return f"{where} does not run: {first}"
    finally:
        con.execute("DROP TABLE IF EXISTS raw_records")
        con.execute("DROP TABLE IF EXISTS jm_staging_probe")
    actual = {str(row[0]): str(row[1]) for row in described}
    for column in STAGING_COLUMNS:
        if column.name not in actual:
            if column.optional:
                continue
            return f"{where}: column {column.name} ({column.type}) is missing"
        if actual[column.name] != column.type:
            return (f"{where}: column {column.name} is {actual[column.name]}, "
                    f"the staging contract says {column.type}")
    known = {c.name for c in STAGING_COLUMNS}
    extra = next((name for name in actual if name not in known), None)
    if extra:
        return (f"{where}: column {extra} is not in the staging contract"
                " (journey_metrics/staging.py)")
    return None


# Models already found to meet the contract, by the digest of everything the check depends on
# (`_check_key`). Binding the five built-in models costs about 0.8 s of DuckDB planning (their
# regular expressions are compiled per use): a long-lived process (`serve`, the test suite) pays
# it once, and a warehouse keeps the digests of its last run's models (`stored_checks`), so a
# nightly `run` with unchanged models and macros pays it only when something changed.
_CONFORMING: set[str] = set()
# The rows of `_jm_meta` holding those digests
CHECK_PREFIX = "staging_check:"


def _check_key(source: SourceConfig, kind: FileKind) -> str | None:
    """The digest of what the check of `kind`'s model depends on: the model's text, its reader
    and columns, the source's zone and traits, the macros' text (the SQL files and the code
    that writes the others), the contract, the check itself, and the versions of DuckDB and
    journey-metrics; None when the model cannot be read (model_problem reports it)."""
    try:
        sql = load_sql(f"staging/{kind.model}.sql")
    except UsageError:
        return None
    text = json.dumps([sql, kind.reader, list(kind.columns), source.timezone,
                       list(source.traits), load_sql("macros.sql"),
                       load_sql("staging/macros.sql"), _code_digest()])
    return hashlib.sha256(text.encode()).hexdigest()


@cache
def _code_digest() -> str:
    """The code the check depends on beyond the SQL files: the modules that write macros
    (hashing, channel rules), connect, load SQL and check (this one, with the contract), and
    the versions: an upgrade that changes any of them checks every model again."""
    from journey_metrics import __version__, channels, db, hashing, sql

    digest = hashlib.sha256(f"{__version__} {duckdb.__version__}".encode())
    for module in (sys.modules[__name__], channels, db, hashing, sql):
        source = getattr(module, "__file__", None)
        try:
            digest.update(Path(source).read_bytes() if source else b"")
        except OSError:
            source = None
        if not source:  # no source file (a frozen or zipped install): always check
            return os.urandom(16).hex()
    return digest.hexdigest()


def check_keys(sources: list[SourceConfig]) -> list[str]:
    """The digests of every configured model (those `check_models` passed, for `store_checks`)."""
    keys = (_check_key(source, kind) for source in sources for kind in source.files)
    return sorted({key for key in keys if key is not None})


def check_models(sources: list[SourceConfig], known: Collection[str] = ()) -> None:
    """Check every configured staging model against the contract (UsageError on the first
    problem), but those whose digest is `known` (`stored_checks`) or passed in this process.
    Uses an in-memory connection with the same macros as a real load."""
    keyed = ((source, kind, _check_key(source, kind))
             for source in sources for kind in source.files)
    pending = [(s, k, key) for s, k, key in keyed
               if key is None or (key not in _CONFORMING and key not in known)]
    if not pending:
        return
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        install_macros(con, loading=True)
        # the macros need a hashing key; only the types of their results matter here
        install_hash_macro(con, HashKey(b"staging-contract-check", "the staging check"))
        install(con, BUILT_IN)
        seen: set[tuple[str, str, tuple[str, ...]]] = set()
        for source, kind, key in pending:
            seen_key = (kind.model, kind.reader, tuple(kind.columns))
            if seen_key in seen:
                continue
            seen.add(seen_key)
            problem = model_problem(con, source, kind)
            if problem:
                raise UsageError(f"{source.name}: {problem}")
            if key is not None:
                _CONFORMING.add(key)
    finally:
        con.close()


def stored_checks(db_path: Path) -> set[str]:
    """The digests of the models the warehouse's last run loaded with (none when it cannot be
    read now: no file yet, another process writing it; the models are then checked)."""
    try:
        if not db_path.is_file() or not duckdb_header(db_path):
            return set()  # no warehouse yet, or another kind of file (`run` refuses it)
        # a file named by mistake must not make DuckDB fetch an extension to read it
        con = duckdb.connect(str(db_path), read_only=True, config={
            "autoload_known_extensions": False, "autoinstall_known_extensions": False})
    except (OSError, duckdb.Error):
        return set()
    try:
        return stored_checks_on(con)
    except duckdb.Error:
        return set()
    finally:
        con.close()


def stored_checks_on(con: duckdb.DuckDBPyConnection) -> set[str]:
    """`stored_checks` of an open warehouse: the digests of its last run's models."""
    rows = con.execute("SELECT key FROM _jm_meta WHERE starts_with(key, ?)",
                       [CHECK_PREFIX]).fetchall()
    return {str(row[0]).removeprefix(CHECK_PREFIX) for row in rows}


def changed_models(con: duckdb.DuckDBPyConnection, source: SourceConfig) -> set[str]:
    """The models of `source` that changed since the warehouse's last run (their text, their
    macros, their reader, the source's zone or traits, or this tool): files that failed before
    are read again with them (a model that failed on a file is fixed, not the file)."""
    stored = stored_checks_on(con)
    return {kind.model for kind in source.files if _check_key(source, kind) not in stored}


def store_checks(con: duckdb.DuckDBPyConnection, keys: list[str]) -> None:
    """Keep the digests of the models a run loaded with (they passed `check_models`)."""
    con.execute("DELETE FROM _jm_meta WHERE starts_with(key, ?)", [CHECK_PREFIX])
    if keys:
        con.execute("INSERT INTO _jm_meta SELECT ? || k, '' FROM unnest(?::VARCHAR[]) AS t(k)",
                    [CHECK_PREFIX, keys])
