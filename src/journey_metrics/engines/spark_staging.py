"""Staging on Spark (issue 16, "Ingest on Spark"): the same staged rows and quarantine reasons as
the DuckDB loader (loader.py), from Spark's own readers and Spark SQL.

`stage_files(session, source, files, key)` reads the files of one source and returns two Spark
DataFrames:

- accepted: the columns of DuckDB's TEMP table `batch_accepted` (`staging.batch_accepted_ddl()`:
  file_path, file_order, then the staging contract's columns without reject_reason), emails
  already hashed with the keyed HMAC (`hashing.spark_hmac_sql`);
- rejected: what the DuckDB loader writes to `_jm_quarantine` for them (file_path, record_no,
  reason, raw redacted like the warehouse's, raw_hash = md5 of the raw record as read).

Records are numbered as on DuckDB: the line number for line-oriented files (blank lines are no
records but count), the element number (from 1) of a JSON array, and for CSV the data row's
number + 1 (header = line 1). Each staging model has a Spark SQL form beside it
(`sql/staging/<model>.spark.sql`, native Spark SQL run as it is) calling the temporary SQL
functions of `sql/staging/functions.spark.sql`; the pandera checks of validate.py are the Spark
SQL conditions of `_VALIDATION`, giving the same reason strings. No Python runs per row.

A file that cannot be read at all (a JSON array that does not parse, a CSV file without a required
column) gives no rows; when a `failures` dict is passed, its reason is put there under the file's
`relative` path (the loader records such a file as failed).
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import posixpath
from dataclasses import dataclass
from typing import Any

from journey_metrics.config import FileKind, SourceConfig
from journey_metrics.engines.spark import cut_lineage, spark_functions, spark_window, union_all
from journey_metrics.errors import UsageError
from journey_metrics.hashing import LOWER_FIRST, HashKey, spark_hmac_sql
from journey_metrics.sources.readers import (
    ARRAY_LINE_EDGES,
    CANNOT_READ,
    NOT_UTF8_FILE,
    NOT_UTF8_LINE,
    OPEN_QUOTE_REASON,
    SURPLUS_REASON,
    match_header,
    missing_columns_reason,
)
from journey_metrics.sql import load_sql_exact, split_statements
from journey_metrics.staging import EVENT_YEARS, EVENT_YEARS_REASON, STAGING_COLUMNS, guarded

# A batch-unique record key, as the DuckDB loader's: file_order * KEY_SPAN + record number.
KEY_SPAN = 10_000_000_000

_SPARK_TYPES = {
    "BIGINT": "BIGINT",
    "VARCHAR": "STRING",
    "BOOLEAN": "BOOLEAN",
    "DOUBLE": "DOUBLE",
    "JSON": "STRING",  # JSON text
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",  # an instant (the session's zone is UTC)
    'STRUCT(trait VARCHAR, "value" VARCHAR)[]': "ARRAY<STRUCT<trait: STRING, value: STRING>>",
}

# validate.py's pandera checks as Spark SQL: per staged row, the least failing reason (pandera
# reports every failed check of a row and the loader keeps the smallest reason); a NULL value
# fails only the not-nullable checks, as in pandera.
# numbers each staged group's views (`_stage`), which the ingest drops once it has copied the
# staged rows (spark_ingest._drop_views)
_GROUPS = itertools.count(1)
STAGE_VIEWS: list[str] = []

_VALIDATION = r"""
coalesce(
-- an instant outside EVENT_YEARS is checked first, as the loader does (before pandera)
CASE WHEN is_event AND (occurred_at < TIMESTAMP '{first}-01-01 00:00:00'
                        OR occurred_at >= TIMESTAMP '{end}-01-01 00:00:00')
     THEN '{reason}' END,
least(
    CASE WHEN coalesce(anonymous_id, user_id, email_hash, crm_contact_id) IS NULL
         THEN 'no identifier (anonymous id, user id, email or CRM contact id)' END,
    CASE WHEN is_event AND (event_id IS NULL OR length(event_id) < 1)
         THEN 'missing event id' END,
    CASE WHEN is_event AND event_name IS NULL THEN 'missing event name' END,
    CASE WHEN is_event
              AND NOT event_name RLIKE r"^[\p{Ll}\p{Lo}\p{Lm}0-9][\p{Ll}\p{Lo}\p{Lm}\p{M}0-9_]*\z"
         THEN 'event name is not snake_case' END,
    CASE WHEN is_event AND occurred_at IS NULL THEN 'missing timestamp' END,
    CASE WHEN is_event AND (nps_score < 0 OR nps_score > 10)
         THEN 'survey score outside 0-10' END,
    CASE WHEN is_event AND event_name IN ('nps_response', 'csat_response', 'ces_response')
              AND nps_score IS NULL
         THEN 'missing survey score' END
))
"""
_VALIDATION = (_VALIDATION.replace("{first}", str(EVENT_YEARS[0]))
               .replace("{end}", str(EVENT_YEARS[1] + 1)).replace("{reason}", EVENT_YEARS_REASON))

_BLANK = "^[\\t\\n\\f\\r ]*$"  # RE2's \s (DuckDB's blank-line test); no line break in a line


@dataclass(frozen=True)
class SparkInputFile:
    """One input file for Spark: where Spark reads it and how the warehouse names it."""

    location: str  # a local path or any URL Spark reads (s3a://, abfss://, hdfs://, file:)
    relative: str  # the path as the warehouse records it (loader.InputFile.relative)
    file_order: int  # position in the source's batch (the loader's `order`)
    kind: FileKind  # which reader and staging model


def accepted_columns() -> list[tuple[str, str]]:
    """(name, Spark type) of the accepted DataFrame, in batch_accepted's order."""
    columns = [("file_path", "STRING"), ("file_order", "INT")]
    columns += [(c.name, _SPARK_TYPES[c.type]) for c in STAGING_COLUMNS
                if c.name != "reject_reason"]
    return columns


REJECTED_COLUMNS = (("file_path", "STRING"), ("record_no", "BIGINT"), ("reason", "STRING"),
                    ("raw", "STRING"), ("raw_hash", "STRING"))


_FUNCTIONS_CONF = "journey_metrics.staging.functions"
_ZONES_CONF = "journey_metrics.staging.zones"


def install_functions(session: Any, key: HashKey) -> None:
    """Create the staging models' temporary SQL functions on the session (the hashing ones
    carry the key's padded blocks as hex literals: nothing else of the key enters SQL)."""
    statements = split_statements(load_sql_exact("staging/functions.spark.sql"))
    marker = hashlib.sha256("\n".join([key.fingerprint, str(key.exact_ids), *statements])
                            .encode()).hexdigest()
    if session.conf.get(_FUNCTIONS_CONF, None) == marker:
        return  # already created on this session, for this key (each costs a query plan)
    for statement in statements:
        session.sql(statement)
    session.sql(
        "CREATE OR REPLACE TEMPORARY FUNCTION jm_email_hash(email STRING) RETURNS STRING"
        f" RETURN {spark_hmac_sql(key, 'email')}"
    )
    session.sql(
        "CREATE OR REPLACE TEMPORARY FUNCTION jm_pseudonymize(value STRING) RETURNS STRING"
        " RETURN CASE WHEN jm_contains_email(value) THEN concat('h:',"
        f" {spark_hmac_sql(key, 'value', exact=True) if key.exact_ids else 'jm_email_hash(value)'})"
        " ELSE value END"
    )
    session.conf.set(_FUNCTIONS_CONF, marker)
    session.conf.set(_ZONES_CONF, "")  # the file's jm_utc_instant knows no zone


def install_zone(session: Any, zone: str) -> None:
    """Give `jm_utc_instant` the offsets of `zone` (a source's configured zone) where Java's
    rules differ from the tzdata package's, as well as the zones it has: the function only
    grows, so a plan that resolves it later (Spark Connect resolves when the plan runs) reads
    every zone right."""
    from journey_metrics.engines.spark import zone_rules
    from journey_metrics.zones import spark_utc_instant_function

    known = [z for z in (session.conf.get(_ZONES_CONF, "") or "").split(",") if z]
    if zone == "UTC" or zone in known:
        return
    session.sql(spark_utc_instant_function(zone_rules(session, [*known, zone])))
    session.conf.set(_ZONES_CONF, ",".join([*known, zone]))


def stage_files(
    session: Any,
    source: SourceConfig,
    files: list[SparkInputFile],
    key: HashKey,
    failures: dict[str, str] | None = None,
) -> tuple[Any, Any]:
    """Stage and validate `files` of `source`: (accepted, rejected) DataFrames."""
    install_functions(session, key)
    install_zone(session, source.timezone)
    accepted: list[Any] = []
    rejected: list[Any] = []
    # files of one model and reader are staged together (one plan), as the loader's chunks
    groups: dict[tuple[str, str, tuple[str, ...]], list[SparkInputFile]] = {}
    for item in files:
        kind = item.kind
        groups.setdefault((kind.model, str(kind.reader), tuple(kind.columns)), []).append(item)
    for (model, _reader, _columns), group in groups.items():
        try:
            staged = _stage_group(session, source, model, group, failures)
        except UsageError:
            raise
        except Exception:
            # a file Spark cannot read (a truncated gzip...): find it with one cheap read per
            # file, then stage the others together; only that file fails, as in the loader
            readable = []
            for item in group:
                try:
                    session.read.text(item.location).count()
                    readable.append(item)
                except Exception as exc:
                    if failures is not None:
                        failures[item.relative] = f"{CANNOT_READ}{_first_line(exc)}"
            staged = _stage_group(session, source, model, readable, failures) if readable else []
        for good, bad in staged:
            accepted.append(good)
            rejected.append(bad)
    return union_all(session, accepted, accepted_columns()), union_all(session, rejected,
                                                                       REJECTED_COLUMNS)


def _stage_group(session: Any, source: SourceConfig, model: str, group: list[SparkInputFile],
                 failures: dict[str, str] | None) -> list[tuple[Any, Any]]:
    """Read and stage files of one model and reader: [] or [(accepted, rejected)]."""
    reader = group[0].kind.reader
    if reader == "csv":
        headers = _csv_headers(session, group)
        odd = _odd_quotes(session, group)
        parts = [_read_csv(session, item, headers.get(item.file_order), failures,
                           item.file_order in odd) for item in group]
        raws = [p for p in parts if p is not None]
        if not raws:
            return []
        raw = raws[0]
        for other in raws[1:]:
            raw = raw.unionByName(other)
    elif reader == "jsonl":
        raw = _read_lines(session, group)
    else:
        raw = _read_json(session, group, failures)
    return [_stage(session, source, model, raw, group, failures)]


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]


# --- readers: file -> (file_order, record_no, raw[, csv columns, extra_fields]) ----------------

def _small(frame: Any) -> Any:
    """A frame of a row per input file, marked for broadcast: Spark cannot size a frame made
    from Python rows and would otherwise shuffle every record to join it."""
    return spark_functions(frame.sparkSession).broadcast(frame)


def _names(session: Any, files: list[SparkInputFile]) -> Any:
    """(file_name, file_order) of the files: Spark's `_metadata.file_name` names a file."""
    rows = [(posixpath.basename(f.location.rstrip("/")), f.file_order) for f in files]
    if len({name for name, _ in rows}) != len(rows):
        raise UsageError("spark staging: two input files of one source share a file name")
    return _small(session.createDataFrame(rows, "file_name STRING, file_order INT"))


def _read_lines(session: Any, files: list[SparkInputFile]) -> Any:
    """Lines of JSON-lines files, numbered as in the file. Spark splits a big file into blocks
    read in parallel; a line's number is the lines of the file's earlier blocks plus its
    position in its block (monotonically_increasing_id is consecutive inside a partition).

    A line that is not UTF-8 is a quarantined record with its text read as Latin-1, as on
    DuckDB (decision 146): Spark's text reader keeps a line's bytes as they are (only turning
    it into a Java string would replace the bad ones with U+FFFD), so `is_valid_utf8` sees
    them and a cast to binary gets them back."""
    F = spark_functions(session)

    lines = session.read.text([f.location for f in files]).select(
        F.col("value").alias("raw"),
        F.col("_metadata.file_name").alias("file_name"),
        F.col("_metadata.file_block_start").alias("block"),
        F.monotonically_increasing_id().alias("mid"),
    )
    lines.createOrReplaceTempView("jm_stage_lines")
    _names(session, files).createOrReplaceTempView("jm_stage_names")
    return session.sql(f"""
        WITH blocks AS (
            SELECT file_name, block, min(mid) AS first_mid, count(*) AS n
            FROM jm_stage_lines GROUP BY file_name, block
        ),
        offsets AS (
            SELECT file_name, block, first_mid,
                   coalesce(sum(n) OVER (PARTITION BY file_name ORDER BY block
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS lines_before
            FROM blocks
        ),
        numbered AS (
            -- a row per file block: broadcast, so the lines stream through without a shuffle
            SELECT /*+ BROADCAST(o) */
                   f.file_order, o.lines_before + (l.mid - o.first_mid) + 1 AS line_no, l.raw
            FROM jm_stage_lines AS l
            JOIN offsets AS o ON o.file_name = l.file_name AND o.block = l.block
            JOIN jm_stage_names AS f ON f.file_name = l.file_name
        )
        SELECT file_order, record_no,
               CASE WHEN NOT utf8 THEN decode(CAST(raw AS BINARY), 'ISO-8859-1')
                    WHEN record_no = 1 THEN regexp_replace(raw, '^\\uFEFF', '')
                    ELSE raw END AS raw,
               CASE WHEN NOT utf8 THEN '{NOT_UTF8_LINE}' END AS read_problem
        FROM (
            SELECT file_order, line_no AS record_no, raw, is_valid_utf8(raw) AS utf8
            FROM numbered
            WHERE NOT raw RLIKE '{_BLANK}'
        )
    """)


# Where one JSON array ends and the next begins in a file of arrays one after another
_ARRAYS_BOUNDARY = "\\][ \\t\\r\\n]*\\["

# A SendGrid file that is no array and no objects written across lines: objects one per line
_BY_LINES = "NOT is_array AND NOT (is_pretty AND elements IS NOT NULL)"


def _read_json(session: Any, files: list[SparkInputFile],
               failures: dict[str, str] | None) -> Any:
    """SendGrid files: a JSON array (records are its elements) or one object per line. Each
    file is read whole (one row per file: a file must fit an executor's memory)."""
    F = spark_functions(session)

    whole = session.read.text([f.location for f in files], wholetext=True).select(
        F.regexp_replace(F.col("value"), "^\\uFEFF", "").alias("content"),
        # looked at before any function makes a Java string of the text (which reads each
        # sequence that is no UTF-8 as U+FFFD)
        F.expr("is_valid_utf8(value)").alias("utf8"),
        F.col("_metadata.file_name").alias("file_name"),
    )
    whole.createOrReplaceTempView("jm_stage_whole")
    _names(session, files).createOrReplaceTempView("jm_stage_names")
    # objects written across lines (readers._pretty_objects: the first line is no whole object)
    # are read as an array's elements: a top-level object ends where a `}` is followed by
    # blanks and a `{` (no comma: inside a value that is no JSON), so a comma there makes the
    # objects an array, as DuckDB's read_json_objects reads them. (A string holding `} {`
    # breaks that array: the file is then read by lines, each quarantined.)
    session.sql("""
        SELECT f.file_order, w.content, w.utf8,
               ltrim(w.content) LIKE '[%' AS is_array,
               regexp_extract(w.content, '^[ \\t\\r\\n]*([^\\n]*)', 1) AS first_line,
               regexp_extract(w.content, '^[ \\t\\r\\n]*[^\\n]*(\\n)', 1) = '\\n'
                   AS has_line_break
        FROM jm_stage_whole AS w JOIN jm_stage_names AS f ON f.file_name = w.file_name
    """).createOrReplaceTempView("jm_stage_first_lines")
    classified = session.sql("""
        SELECT file_order, content, utf8, is_array,
               -- as many objects as boundaries + 1: objects separated by commas (an array
               -- without its brackets) are no objects one after another, which DuckDB refuses
               is_pretty AND size(from_json(listed, 'ARRAY<STRING>'))
                   = size(split(content, '[}][ \\t\\r\\n]*[{]')) AS is_pretty,
               CASE WHEN NOT is_array OR single THEN from_json(listed, 'ARRAY<STRING>')
                    WHEN arrays_whole THEN flatten(transform(
                        from_json(arrays, 'ARRAY<STRING>'),
                        a -> from_json(a, 'ARRAY<STRING>'))) END AS elements,
               -- the elements' JSON types: Spark gives a string element unquoted
               CASE WHEN NOT is_array OR single THEN from_json(listed, 'ARRAY<VARIANT>')
                    WHEN arrays_whole THEN flatten(transform(
                        from_json(arrays, 'ARRAY<STRING>'),
                        a -> from_json(a, 'ARRAY<VARIANT>'))) END AS variants
        FROM (SELECT *,
                     -- the arrays are the values: every `]`-blanks-`[` was between two of
                     -- them (none inside a string), and each is an array
                     coalesce(json_array_length(arrays) = size(split(content, :boundary))
                              AND jm_one_json_value(arrays)
                              AND forall(from_json(arrays, 'ARRAY<STRING>'),
                                         a -> ltrim(a) LIKE '[%'), false) AS arrays_whole
              FROM (SELECT *,
                           -- arrays one after another (webhook bodies saved as they came,
                           -- readers._read_arrays) are read as one array of them
                           CASE WHEN is_array AND NOT single AND content RLIKE :boundary
                                THEN concat('[', regexp_replace(content, :boundary, '],['), ']')
                           END AS arrays
                    -- Spark's parser reads a file's first value and ignores what follows it:
                    -- an array file is read as one only when it is one value (`[...]` holds
                    -- one); otherwise as arrays one after another, or as a broken array
                    FROM (SELECT *, is_array AND jm_one_json_value(content) AS single
                    FROM (SELECT *, CASE WHEN is_array THEN content
                             WHEN is_pretty THEN concat('[', regexp_replace(
                                 content, '[}][ \\t\\r\\n]*[{]', '},\\n{'), ']')
                        END AS listed
              -- the first line is a whole object when it is one value, inside brackets too
              -- (Spark's parser stops after the first value: json.loads does not)
              FROM (SELECT *, NOT is_array AND has_line_break AND first_line LIKE '{%'
                                  AND NOT coalesce(jm_one_json_value(first_line)
                                                   AND schema_of_variant(try_parse_json(
                                                   first_line)) LIKE 'OBJECT%', false)
                                  AS is_pretty
                    FROM jm_stage_first_lines)))))
    """, args={"boundary": _ARRAYS_BOUNDARY})
    classified.createOrReplaceTempView("jm_stage_classified")
    # an array that does not parse, written one element per line: its lines are its elements
    # when at least half of them are JSON objects (readers._read_array_by_lines). Looked at
    # only when a file is broken: the views re-read the files' content
    # (and the files of objects one per line that are not UTF-8, read by lines below)
    odd = session.sql(f"""
        SELECT file_order, is_array AND elements IS NULL AS broken
        FROM jm_stage_classified
        WHERE (is_array AND elements IS NULL) OR (NOT utf8 AND {_BY_LINES})""").collect()
    broken = [row.file_order for row in odd if row.broken]
    not_utf8_lines = [row.file_order for row in odd if not row.broken]
    by_lines: list[int] = []
    if broken:
        session.sql(f"""
            SELECT file_order,
                   row_number() OVER (PARTITION BY file_order ORDER BY pos) AS record_no,
                   element AS raw, utf8
            FROM (SELECT file_order, pos, utf8, regexp_replace(line, :edges, '') AS element
                  FROM jm_stage_classified
                  LATERAL VIEW posexplode(split(content, '\\r\\n|\\r|\\n')) l AS pos, line
                  WHERE file_order IN ({", ".join(map(str, broken))}))
            WHERE element <> ''
        """, args={"edges": ARRAY_LINE_EDGES}).createOrReplaceTempView("jm_stage_array_lines")
        by_lines = [row.file_order for row in session.sql("""
            SELECT file_order FROM jm_stage_array_lines GROUP BY file_order
            HAVING count_if(jm_one_json_value(raw)
                            AND schema_of_variant(try_parse_json(raw)) LIKE 'OBJECT%') > 0
               AND 2 * count_if(jm_one_json_value(raw)
                                AND schema_of_variant(try_parse_json(raw)) LIKE 'OBJECT%')
                   >= count(*)
        """).collect()]
    if failures is not None:
        by_order = {f.file_order: f.relative for f in files}
        for order in broken:
            if order not in by_lines:
                failures[by_order[order]] = "not a valid JSON array"
    lines_branch = (f"""
        UNION ALL
        SELECT file_order, record_no, raw,
               CASE WHEN NOT utf8 AND contains(raw, '\\uFFFD') THEN '{NOT_UTF8_LINE}' END
        FROM jm_stage_array_lines
        WHERE file_order IN ({", ".join(map(str, by_lines))})""" if by_lines else "")
    # Bytes that are no UTF-8 (decision 209): the text read each such sequence as U+FFFD, so in
    # a file that is not UTF-8 an element (or an array's line) holding one is quarantined, as
    # DuckDB reads it (readers._read_marked_copy); a file of objects one per line is
    # read by `_read_lines`, which keeps a line's bytes (its bad lines quarantined as Latin-1).
    by_text = ""
    if not_utf8_lines:
        by_text = f" AND file_order NOT IN ({', '.join(map(str, not_utf8_lines))})"
    read = session.sql(f"""
        SELECT file_order, pos + 1 AS record_no,
               CASE WHEN element IS NULL THEN 'null'
                    WHEN schema_of_variant(try_element_at(variants, pos + 1)) = 'STRING'
                        THEN to_json(try_element_at(variants, pos + 1))
                    ELSE element END AS raw,
               CASE WHEN NOT utf8 AND contains(element, '\\uFFFD')
                    THEN '{NOT_UTF8_LINE}' END AS read_problem
        FROM jm_stage_classified
        LATERAL VIEW posexplode(elements) e AS pos, element
        WHERE is_array OR (is_pretty AND elements IS NOT NULL)
        UNION ALL
        SELECT file_order, pos + 1 AS record_no, line AS raw, CAST(NULL AS STRING)
        FROM jm_stage_classified
        LATERAL VIEW posexplode(split(content, '\\r\\n|\\r|\\n')) l AS pos, line
        WHERE {_BY_LINES}{by_text}
            AND NOT line RLIKE '{_BLANK}'{lines_branch}
    """)
    if not not_utf8_lines:
        return read
    return read.unionByName(
        _read_lines(session, [f for f in files if f.file_order in not_utf8_lines]))



def _csv_headers(session: Any, files: list[SparkInputFile]) -> dict[int, list[str]]:
    """The header (first line) of each CSV file, read in one Spark job; file_order -> names.
    Only the header line is parsed here, by Python's csv module (the rows stay in Spark)."""
    F = spark_functions(session)

    lines = session.read.text([f.location for f in files]).select(
        F.col("value"), F.col("_metadata.file_name").alias("file_name"),
        F.col("_metadata.file_block_start").alias("block"),
        F.monotonically_increasing_id().alias("mid"),
    ).where("block = 0")
    firsts = (lines.groupBy("file_name").agg(F.min_by("value", "mid").alias("header"))
              .join(_names(session, files), "file_name").collect())
    headers = {}
    for row in firsts:
        text = (row.header or "").lstrip("\ufeff")
        headers[row.file_order] = next(csv.reader([text]), [])
    return headers


_CORRUPT = "jm_malformed_row"


def _odd_quotes(session: Any, files: list[SparkInputFile]) -> set[int]:
    """The CSV files holding an odd number of double quotes (one job for all): only their last
    row can hold a quote never closed (readers._last_row_unclosed)."""
    F = spark_functions(session)

    quotes = session.read.text([f.location for f in files]).select(
        F.col("_metadata.file_name").alias("file_name"),
        (F.length("value") - F.length(F.regexp_replace("value", '"', ""))).alias("quotes"))
    rows = (quotes.groupBy("file_name").agg(F.sum("quotes").alias("quotes"))
            .join(_names(session, files), "file_name").collect())
    return {row.file_order for row in rows if (row.quotes or 0) % 2 == 1}


def _read_csv(session: Any, item: SparkInputFile, header: list[str] | None,
              failures: dict[str, str] | None, odd_quotes: bool = False) -> Any:
    """One CSV file (its own header: internal names or HubSpot's labels, loader.match_header)."""
    F = spark_functions(session)

    header = header or []
    if not header:  # an empty file: no records
        return None
    # names we chose. A row with another number of fields than the header is malformed to
    # Spark: it keeps the row's text in the corrupt-record column (and drops a surplus field,
    # keeping the shifted values); the loader quarantines a row with more fields
    # (readers.SURPLUS_REASON), counted here outside quoted fields, and reads a short one.
    schema = ", ".join([*(f"c{i} STRING" for i in range(len(header))), f"{_CORRUPT} STRING"])
    frame = (session.read.schema(schema).option("header", True).option("multiLine", True)
             .option("quote", '"').option("escape", '"').option("mode", "PERMISSIVE")
             .option("columnNameOfCorruptRecord", _CORRUPT)
             .option("encoding", "UTF-8").csv(item.location))
    frame = frame.withColumn("mid", F.monotonically_increasing_id())
    # a quote never closed (a file of an odd number of quotes whose last row is short or holds a
    # line break: readers._last_row_unclosed): that row holds the rest of the file and is
    # quarantined as such (readers.OPEN_QUOTE_REASON); DuckDB's reader ends that field before
    # the file's last line break, and so does this
    if odd_quotes:
        Window = spark_window(session)
        last_row = F.col("mid") == F.max("mid").over(Window.partitionBy())
        short = F.col(_CORRUPT).isNotNull() & F.col(f"c{len(header) - 1}").isNull()
        breaks = F.lit(False)
        for i in range(len(header)):
            breaks = breaks | F.coalesce(F.col(f"c{i}").contains("\n"), F.lit(False))
        frame = frame.withColumn("jm_last", last_row & (short | breaks))
        frame = frame.select("mid", "jm_last", _CORRUPT, *(
            F.when(F.col("jm_last"), F.regexp_replace(f"c{i}", "(\r\n|\n|\r)$", ""))
            .otherwise(F.col(f"c{i}")).alias(f"c{i}") for i in range(len(header))))
    by_name = {name: f"c{i}" for i, name in reversed(list(enumerate(header)))}
    columns, extras = match_header(header, item.kind)
    extras = [(key, name) for key, name in extras if name.strip()]  # (as readers._csv_header)
    missing = [c for c in item.kind.required_columns if c not in columns]
    if missing:
        if failures is not None:
            failures[item.relative] = missing_columns_reason(item.kind, missing, header)
        return None
    selected = []
    for column in item.kind.columns:
        if column not in columns:
            selected.append(F.lit(None).cast("string").alias(column))
        elif column in item.kind.display_values:  # (readers._column_expression)
            # (lowered as DuckDB lowers: hashing.LOWER_FIRST)
            selected.append(F.lower(F.translate(F.regexp_replace(
                F.col(by_name[columns[column]]), "[\\t\\n\\f\\r ]+", ""),
                "".join(a for a, _ in LOWER_FIRST), "".join(b for _, b in LOWER_FIRST))
            ).alias(column))
        else:
            selected.append(F.col(by_name[columns[column]]).alias(column))
    no_nulls = {"ignoreNullFields": "false"}
    extra = (F.to_json(F.struct(*[F.col(by_name[h]).alias(k) for k, h in extras]), no_nulls)
             if extras else F.lit(None).cast("string"))
    raw = F.to_json(F.struct(*[F.col(f"c{i}").alias(h) for i, h in enumerate(header)]), no_nulls)
    fields = F.size(F.split(F.regexp_replace(F.col(_CORRUPT), '"([^"]|"")*"', ""), ",", -1))
    # (Spark refuses a scan that reads the corrupt-record column alone, as a query of just the
    # reasons would: the reason also reads the first column, to no effect)
    surplus = F.when(F.col(_CORRUPT).isNotNull() & (fields > len(header)), F.concat(
        F.lit(SURPLUS_REASON.format(len(header))), F.expr("left(coalesce(c0, ''), 0)")))
    if odd_quotes:
        surplus = F.when(F.col("jm_last"), F.lit(OPEN_QUOTE_REASON)).otherwise(surplus)
    # a row of empty fields is no record (readers._read_utf8_csv), numbered before it goes
    blank = F.concat_ws("", *(F.col(f"c{i}") for i in range(len(header)))).rlike("^[\\t ]*\\z")
    numbered = frame.select("mid", raw.alias("raw"), *selected, extra.alias("extra_fields"),
                            surplus.alias("read_problem"), blank.alias("jm_blank_row"))
    Window = spark_window(session)
    return numbered.select(
        F.lit(item.file_order).cast("int").alias("file_order"),
        (F.row_number().over(Window.orderBy("mid")) + 1).cast("bigint").alias("record_no"),
        "raw", *item.kind.columns, "extra_fields", "read_problem", "jm_blank_row",
    ).where(~F.col("jm_blank_row") | F.col("read_problem").isNotNull()).drop("jm_blank_row")


# --- staging and validation ---------------------------------------------------------------------

def _stage(session: Any, source: SourceConfig, model: str, raw: Any,
           files: list[SparkInputFile], failures: dict[str, str] | None) -> tuple[Any, Any]:
    try:
        model_sql = load_sql_exact(f"staging/{model}.spark.sql")
    except UsageError:
        raise UsageError(f"{source.name}: staging model {model} has no Spark form"
                         f" (sql/staging/{model}.spark.sql)") from None
    F = spark_functions(session)

    keyed = raw.withColumn("record_no", F.col("file_order").cast("bigint") * KEY_SPAN
                           + F.col("record_no")).drop("file_order")
    keyed.createOrReplaceTempView("raw_records")
    # The outputs are lazy and name their views: a Connect session resolves a name when the
    # plan runs, after the next group has taken it (a classic one binds it now), so each
    # group's views have names of their own.
    tag = next(_GROUPS)
    files_view, staged_view = f"jm_stage_files_{tag}", f"jm_stage_staged_{tag}"
    raw_view, rejected_view = f"jm_stage_raw_{tag}", f"jm_stage_rejected_{tag}"
    STAGE_VIEWS.extend((files_view, staged_view, raw_view, rejected_view))  # dropped by ingest
    _small(session.createDataFrame(
        [(f.file_order, f.relative) for f in files], "file_order INT, file_path STRING"
    )).createOrReplaceTempView(files_view)
    args = {"tz": source.timezone, "traits": list(source.traits)}
    staged = session.sql(model_sql, args={k: v for k, v in args.items() if f":{k}" in model_sql})
    staged.createOrReplaceTempView("jm_stage_model")
    # each row's own reasons are computed on the way into the copy, so the records to quarantine
    # come from a filtered scan of it (a record fails as a whole: the least staging reason of
    # its rows, else the least validation reason)
    staged = cut_lineage(session.sql(f"SELECT *, {_VALIDATION} AS check_reason"
                                     " FROM jm_stage_model"), f"staged-{model}")
    staged.createOrReplaceTempView(staged_view)
    keyed.createOrReplaceTempView(raw_view)
    # copied too: both outputs read it, and a small copy's size lets Spark broadcast it into
    # their joins instead of shuffling every staged row or raw record
    # (a CSV row the reader found broken, its values shifted, fails for that whatever the
    # model made of it: the loader's rule)
    read_problems = (f"""
        UNION ALL
        SELECT record_no, read_problem, NULL, NULL FROM {raw_view}
        WHERE read_problem IS NOT NULL""" if "read_problem" in keyed.columns else "")
    rejected_keys = cut_lineage(session.sql(f"""
        SELECT record_no, coalesce(min(read_problem), min(reject_reason), min(check_reason))
               AS reason
        FROM (
            SELECT record_no, CAST(NULL AS STRING) AS read_problem, reject_reason, check_reason
            FROM {staged_view}
            WHERE reject_reason IS NOT NULL OR check_reason IS NOT NULL{read_problems}
        )
        GROUP BY record_no
    """), f"rejected-{model}")
    rejected_keys.createOrReplaceTempView(rejected_view)
    failed = (_mostly_not_utf8(session, files, failures, staged_view, rejected_view)
              if files[0].kind.reader in ("jsonl", "json") else [])
    # the rows of files that fail whole are left out of both outputs
    kept = f"WHERE f.file_order NOT IN ({', '.join(map(str, failed))})" if failed else ""
    present = set(staged.columns)
    contract = {c.name: c for c in STAGING_COLUMNS}
    parts = []
    for name, spark_type in accepted_columns()[2:]:
        if name == "record_no":
            parts.append(f"CAST(s.record_no % {KEY_SPAN} AS BIGINT) AS record_no")
        elif name in present:  # through its privacy guard, as the loader's (staging.GUARDS)
            value = guarded(contract[name], "spark", f"CAST(s.{name} AS {spark_type})", model,
                            source.traits)
            parts.append(f"{value} AS {name}")
        else:
            parts.append(f"CAST(NULL AS {spark_type}) AS {name}")
    accepted = session.sql(f"""
        SELECT f.file_path, f.file_order, {", ".join(parts)}
        FROM {staged_view} AS s
        LEFT ANTI JOIN {rejected_view} AS r ON r.record_no = s.record_no
        JOIN {files_view} AS f ON f.file_order = CAST(s.record_no DIV {KEY_SPAN} AS INT)
        {kept}
    """)
    rejected = session.sql(f"""
        SELECT f.file_path, CAST(r.record_no % {KEY_SPAN} AS BIGINT) AS record_no,
               jm_redact(r.reason) AS reason,
               jm_redact(k.raw) AS raw, md5(k.raw) AS raw_hash
        FROM {rejected_view} AS r
        JOIN {raw_view} AS k ON k.record_no = r.record_no
        JOIN {files_view} AS f ON f.file_order = CAST(r.record_no DIV {KEY_SPAN} AS INT)
        {kept}
    """)
    # (a DataFrame keeps the plans its views named when it was made: the next group may reuse
    # the names)
    return accepted, rejected


def _mostly_not_utf8(session: Any, files: list[SparkInputFile], failures: dict[str, str] | None,
                     staged_view: str, rejected_view: str) -> list[int]:
    """The orders of the files whose lines that are not UTF-8 outnumber the others: binary or
    wholly in another encoding, they fail whole, as on DuckDB (readers.NOT_UTF8_FILE). Counted
    from the (small) quarantine; the staged rows (a row per line) are counted only for a file
    that has such lines."""
    if failures is None:
        return []
    bad = dict(session.sql(f"""
        SELECT CAST(record_no DIV {KEY_SPAN} AS INT) AS file_order, count(*) AS bad
        FROM {rejected_view} WHERE reason = '{NOT_UTF8_LINE}' GROUP BY 1
    """).collect())
    if not bad:
        return []
    lines = dict(session.sql(f"""
        SELECT CAST(record_no DIV {KEY_SPAN} AS INT) AS file_order, count(DISTINCT record_no)
        FROM {staged_view}
        WHERE CAST(record_no DIV {KEY_SPAN} AS INT) IN ({", ".join(map(str, bad))})
        GROUP BY 1
    """).collect())
    failed = sorted(order for order, n in bad.items() if n > lines.get(order, n) - n)
    by_order = {f.file_order: f.relative for f in files}
    for order in failed:
        failures[by_order[order]] = NOT_UTF8_FILE
    return failed
