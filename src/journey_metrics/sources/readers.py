"""Format readers: file -> TEMP table `raw_records(record_no, raw, ...)`.

All parsing is done by DuckDB's readers (no per-row Python). `record_no` is the line number for
line-oriented files, the element number (from 1) for JSON arrays and the line number of the row
(header = line 1) for CSV. Blank lines are not records. A file that cannot be read at all raises
`FileReadError` with a one-line reason; the loader records it as a failed file.
"""

from __future__ import annotations

import codecs
import csv
import errno
import gzip
import io
import json
import os
import re
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from journey_metrics.config import FileKind
from journey_metrics.db import drop_temp
from journey_metrics.sql import quote_external_name, quote_identifier, quote_text
from journey_metrics.staging import empty_raw_records

# One JSON line may be large (a 10 MB line must load); DuckDB's default is 2 MB.
MAX_LINE_BYTES = 64 * 1024 * 1024
# The bytes a CSV header is looked for in (its first line).
HEADER_BYTES = 1024 * 1024
# DuckDB's CSV buffer defaults to 16 x max_line_size (1 GiB here), more than a 1 GB memory limit;
# two lines' worth is enough.
BUFFER_BYTES = 2 * MAX_LINE_BYTES


class FileReadError(Exception):
    """The whole file cannot be read; the message is the reason."""


CANNOT_READ = "cannot read file: "
# The reasons of a file the system would not let be read: CANNOT_READ and the system's words
# (`Permission denied`, `No such file or directory`). Unlike a file whose content fails (a
# broken gzip: it is skipped until it changes), such a file is read again by every run, changed
# or not: its fix (chmod, a mount) does not touch it (decision 227).
_SYSTEM_ERRORS = frozenset(os.strerror(code) for code in errno.errorcode)


def read_again(earlier_reason: str | None) -> bool:
    """Whether an unchanged file that failed with `earlier_reason` is read again."""
    return (earlier_reason is not None and earlier_reason.startswith(CANNOT_READ)
            and earlier_reason.removeprefix(CANNOT_READ) in _SYSTEM_ERRORS)


def system_error(exc: BaseException) -> str:
    """A file's failure reason for an error reading it: the system's words for an OSError
    (read_again knows them), else the error's own."""
    if isinstance(exc, OSError) and exc.errno is not None and exc.strerror:
        return f"{CANNOT_READ}{exc.strerror}"
    return f"{CANNOT_READ}{exc}"


def read_file(con: duckdb.DuckDBPyConnection, path: Path, kind: FileKind) -> None:
    """Create TEMP table (or view) `raw_records` from `path` according to the kind's reader."""
    drop_temp(con, "raw_records", "raw_lines")
    try:
        head = _head(path)  # what the file is, from its first bytes (decompressed)
        problem = content_problem(head, path.name)
        if problem:
            raise FileReadError(problem)
        if not head.strip():
            empty_raw_records(con, kind, "raw_records")
        elif _pretty_objects(head, kind) and _read_json_objects(con, path):
            pass
        elif _by_lines(head, kind) or kind.reader != "json":
            with _lone_crs_read_alike(path, kind) as readable:
                if _by_lines(head, kind):
                    _read_lines(con, readable)
                else:
                    _read_csv(con, readable, kind, lone_crs_marked=readable != path)
        else:
            _read_json_array(con, path)
    except duckdb.Error as exc:
        raise FileReadError(_first_line(exc)) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise FileReadError(system_error(exc)) from None


NOT_UTF8_FILE = "not UTF-8 text (binary or wrongly encoded file)"
# A line of a line-oriented file with bytes that are no UTF-8 (decision 146)
NOT_UTF8_LINE = "not UTF-8 text (a byte sequence that is no character)"


def _not_utf8(exc: BaseException) -> bool:
    return "not utf-8 encoded" in str(exc) or "Invalid unicode" in str(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = text[0] if text else type(exc).__name__
    if _not_utf8(exc):
        return NOT_UTF8_FILE
    return message[:300]


def _open(path: Path) -> gzip.GzipFile | object:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb")


def _head(path: Path, size: int = 4096) -> bytes:
    with _open(path) as handle:  # type: ignore[attr-defined]
        data: bytes = handle.read(size)
        return data


# Files the contract cannot read whose reason, read as UTF-8 text, would mislead, told from
# their first bytes (both engines). Windows tools offer "Unicode" (UTF-16) exports: read as UTF-8
# such a file gives a header of one garbled column, or no reason at all (ASCII text without a
# byte-order mark is valid UTF-8 with a NUL after every letter). A gzip file without the .gz
# suffix reads as binary junk.
UTF16_REASON = "UTF-16 text: save the file as UTF-8"


def content_problem(head: bytes, name: str) -> str | None:
    """Why a file named `name` whose first bytes (decompressed when the name ends in .gz) are
    `head` cannot be read, or None."""
    if head.startswith(b"\x1f\x8b") and not name.endswith(".gz"):
        return f"gzip data without the .gz suffix: name it {name}.gz"
    return UTF16_REASON if is_utf16(head) else None


def is_utf16(head: bytes) -> bool:
    """Whether a file's first bytes are UTF-16: its byte-order mark, or ASCII text with a NUL
    beside every letter (two characters at least)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    pairs = head[:4]
    return len(pairs) == 4 and (
        (pairs[1] == 0 == pairs[3] and 0 not in (pairs[0], pairs[2]))
        or (pairs[0] == 0 == pairs[2] and 0 not in (pairs[1], pairs[3]))
    )


def file_content_problem(path: Path) -> str | None:
    """`content_problem` of a file; None when it cannot be read (reading it gives the reason)."""
    try:
        return content_problem(_head(path, 4), path.name)
    except (OSError, EOFError, zlib.error):
        return None


# Each line as one VARCHAR. The column delimiter must never occur in a line: what follows it
# would be cut off unseen. A NUL delimiter lost the record after the NUL padding a writer that
# crashed mid-append leaves (`\0\0{...}` read as a blank line); four control bytes in a row
# occur in no text, and a NUL is then kept in the line, which is quarantined as not JSON.
_LINES_OPTIONS = (
    "columns = {'line': 'VARCHAR'}, delim = '\x01\x02\x03\x04', quote = '', escape = '',"
    " header = false,"
    " auto_detect = false, max_line_size = ?, buffer_size = ?, strict_mode = false"
)
# Blank lines are not records (a regex stops at the first character; trim copies).
_NOT_BLANK = "line IS NOT NULL AND NOT regexp_full_match(line, '\\s*')"


def reads_lines(path: Path, kind: FileKind) -> bool:
    """Whether `read_file` would read the file line by line (JSON lines, or a JSON file that is
    not an array), so it can be read together with others (`read_lines_together`). False when
    the file cannot even be looked at: `read_file` then gives the reason; and for a file read
    from a copy of its lines (`_lone_crs_read_alike`)."""
    try:
        head = _head(path)
        return (bool(head.strip()) and not content_problem(head, path.name)
                and _by_lines(head, kind) and not _pretty_objects(head, kind)
                and not _lone_cr_after_crlf(path))
    except (OSError, EOFError, zlib.error):
        return False


# DuckDB's line reader takes its line end from the file's first line. After a first line ending
# in CRLF, a CR that ends no CRLF is read as a line end and the character after it is dropped:
# `22,y\r333,z` gave the rows 22 and 33 (a deal took another's id), and a JSON line lost its
# `{` (decision 213). Such a file is read from a copy that reads as Spark's readers read it:
# JSON lines end at CR, LF or CRLF alike (all made LF), and in a CSV (Spark's reader takes the
# first line's CRLF as the only line end) a lone CR is text, held by a character no export
# writes (U+FFFF, a noncharacter) and given back as CR after the read. Only files whose first
# line ends in CRLF (Windows exports) are scanned, a megabyte at a time.
LONE_CR_MARK = "\uffff"
_LINE_END_BLOCK = 1 << 20  # bytes read at a time by the scan and the copy
_LONE_CR = re.compile(rb"\r(?!\n)")


def _lone_cr_after_crlf(path: Path) -> bool:
    """Whether a file whose first line ends in CRLF holds a CR that ends no CRLF."""
    with _open(path) as handle:  # type: ignore[attr-defined]
        first = handle.readline(MAX_LINE_BYTES)
        if not first.endswith(b"\r\n"):
            return False
        if first.count(b"\r") != first.count(b"\r\n"):  # (`a\rb\r\n`: in the first line)
            return True
        carry = b""
        while block := handle.read(_LINE_END_BLOCK):
            block = carry + block
            # a CR at the block's end: its LF, if any, starts the next block
            carry = b"\r" if block.endswith(b"\r") else b""
            if block.count(b"\r") - len(carry) != block.count(b"\r\n"):
                return True
        return bool(carry)


@contextmanager
def _lone_crs_read_alike(path: Path, kind: FileKind) -> Iterator[Path]:
    """The file itself, or for a file `_lone_cr_after_crlf` finds, its copy: every line end LF
    for JSON lines, each lone CR LONE_CR_MARK for a CSV."""
    if not _lone_cr_after_crlf(path):
        yield path
        return
    lines = kind.reader != "csv"
    with tempfile.TemporaryDirectory(prefix="jm-lines-") as folder:
        copy = Path(folder) / path.name.removesuffix(".gz")
        with _open(path) as raw, copy.open("wb") as out:  # type: ignore[attr-defined]
            carry = b""
            while chunk := raw.read(_LINE_END_BLOCK):
                block = carry + chunk
                carry = b"\r" if block.endswith(b"\r") else b""  # (as in the scan)
                out.write(_lone_crs_copied(block[:len(block) - len(carry)], lines))
            out.write(_lone_crs_copied(carry, lines))  # a CR that ends the file is lone
        yield copy


def _lone_crs_copied(block: bytes, lines: bool) -> bytes:
    if lines:
        return block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return _LONE_CR.sub(LONE_CR_MARK.encode(), block)


def _by_lines(head: bytes, kind: FileKind) -> bool:
    """JSON lines, or a JSON file (its first bytes: `head`) that is not an array (one object per
    line)."""
    return kind.reader == "jsonl" or (
        kind.reader == "json" and not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["))


def _pretty_objects(head: bytes, kind: FileKind) -> bool:
    """A JSON file (not an array) whose first line is not a whole JSON object: objects written
    across lines (`json.dumps(event, indent=2)`, one after another), not one per line."""
    if kind.reader != "json":
        return False
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    first, newline, _ = text.partition(b"\n")
    if not newline or not first.startswith(b"{"):
        return False
    try:  # (a byte that is no UTF-8 does not make a line of one object another layout)
        return not isinstance(json.loads(first.decode("utf-8", errors="replace")), dict)
    except ValueError:
        return True


def _read_json_objects(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """TEMP table `raw_records` of the objects of a file of JSON objects written across lines,
    numbered from 1 as an array's elements are. False when they do not parse (the caller then
    reads the file by lines: each line is a record, quarantined as not valid JSON)."""
    drop_temp(con, "raw_records")
    try:
        _read_elements(con, path, "unstructured")
    except duckdb.Error as exc:
        drop_temp(con, "raw_elements")
        return _not_utf8_text(exc) and _read_marked_copy(con, path, "unstructured")
    return True


def _read_lines(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    # With insertion order preserved, rowids follow the lines (offset by wherever this
    # transaction's local storage starts numbering).
    try:
        con.execute(
            f"CREATE TEMP TABLE raw_lines AS SELECT * FROM read_csv(?, {_LINES_OPTIONS})",
            [str(path), MAX_LINE_BYTES, BUFFER_BYTES],
        )
    except duckdb.Error as exc:
        if not _not_utf8(exc):
            raise
        _read_lines_with_bad_bytes(con, path)
        return
    # A view, not a copy: the loader copies the records once, into its chunk (a copy here cost
    # ~2.5% of a 10M run's CPU); it drops raw_lines with the view.
    con.execute(
        "CREATE TEMP VIEW raw_records AS SELECT rowid - (SELECT min(rowid) FROM raw_lines) + 1"
        f" AS record_no, line AS raw FROM raw_lines WHERE {_NOT_BLANK}"
    )


def _read_lines_with_bad_bytes(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """`raw_records(record_no, raw, read_problem)` of a line-oriented file in which some lines
    are not UTF-8: those lines are records whose read_problem (their quarantine reason) says so,
    the others read as usual. One bad byte must not cost the file's other records (CONTRACT §1).
    A file whose bad lines outnumber its good ones is binary or in another encoding: it fails
    whole, as before. Only files that failed the plain read come here (two more reads)."""
    drop_temp(con, "raw_lines", "jm_line_rejects", "jm_line_reject_scans")
    try:
        # DuckDB skips the bad lines and lists their numbers (lines of the file, blank ones
        # counted) in a TEMP table
        con.execute(
            f"CREATE TEMP TABLE raw_lines AS SELECT * FROM read_csv(?, {_LINES_OPTIONS},"
            " ignore_errors = true, store_rejects = true, rejects_table = 'jm_line_rejects',"
            " rejects_scan = 'jm_line_reject_scans')",
            [str(path), MAX_LINE_BYTES, BUFFER_BYTES],
        )
        other, bad, good = con.execute(
            "SELECT (SELECT min(error_message) FROM jm_line_rejects"
            "        WHERE error_type <> 'INVALID ENCODING'),"
            " (SELECT count(*) FROM jm_line_rejects),"
            f" (SELECT count(*) FROM raw_lines WHERE {_NOT_BLANK})").fetchone() or (None, 0, 0)
        if other is not None:  # another error the plain read would have stopped at
            raise FileReadError(str(other).strip().splitlines()[0][:300])
        if bad > good:
            raise FileReadError(NOT_UTF8_FILE)
        # the k-th line read is line k + (the bad lines j whose number r_j satisfies
        # r_j - j < k): r_j - j + 1 grows with j, so an ASOF join finds that count (a correlated
        # count took 36 s on a million lines with 1% bad). A bad line's text is read as
        # Latin-1, which any byte is (so an email in it is still found and redacted), here from
        # the file's bytes: DuckDB's Latin-1 reading refuses bytes 0x80-0x9F (Windows-1252's
        # quotes, dashes, euro sign), and one such line failed the whole file.
        bad_lines = [int(row[0]) for row in con.execute(
            "SELECT line FROM jm_line_rejects ORDER BY line").fetchall()]
        texts = pl.DataFrame(_latin1_lines(path, bad_lines), orient="row",
                             schema={"line_no": pl.Int64, "line": pl.String})
        con.register("jm_bad_line_texts", texts)
        try:
            con.execute("CREATE TEMP TABLE jm_bad_lines AS SELECT * FROM jm_bad_line_texts")
        finally:
            con.unregister("jm_bad_line_texts")
        # control bytes no text holds (tabs, line and page breaks aside) in a line that is not
        # UTF-8: the mark of a binary file (an image or archive under a .jsonl name)
        binary = con.execute("SELECT count(*) FROM jm_bad_lines"
                             " WHERE regexp_matches(line, '[\\x00-\\x08\\x0e-\\x1f]')").fetchone()
        if binary != (0,):
            raise FileReadError(NOT_UTF8_FILE)
        con.execute(
            "CREATE TEMP TABLE raw_records AS"
            " WITH bad AS (SELECT line AS line_no, row_number() OVER (ORDER BY line) AS j"
            "              FROM jm_line_rejects),"
            " skips AS (SELECT line_no - j + 1 AS from_k, max(j) AS before FROM bad GROUP BY 1),"
            " good AS (SELECT rowid - (SELECT min(rowid) FROM raw_lines) + 1 AS k, line"
            "          FROM raw_lines),"
            " SELECT record_no, line AS raw, NULL::VARCHAR AS read_problem FROM ("
            "   SELECT good.k + coalesce(skips.before, 0) AS record_no, good.line"
            "   FROM good ASOF LEFT JOIN skips ON good.k >= skips.from_k)"
            f" WHERE {_NOT_BLANK}"
            " UNION ALL"
            " SELECT line_no, line, ? FROM jm_bad_lines"
            " ORDER BY record_no",
            [NOT_UTF8_LINE],
        )
    finally:
        drop_temp(con, "raw_lines", "jm_bad_lines", "jm_line_rejects", "jm_line_reject_scans")


def _latin1_lines(path: Path, numbers: list[int]) -> list[tuple[int, str]]:
    """Lines `numbers` (from 1, blank ones counted) of a file, read as Latin-1. The file is
    split in one call (no loop over its lines); only files with lines that are not UTF-8, a
    rare failure, come here."""
    with _open(path) as handle:  # type: ignore[attr-defined]
        lines = handle.read().splitlines()
    return [(n, lines[n - 1].decode("latin-1")) for n in numbers if 0 < n <= len(lines)]


def read_lines_together(con: duckdb.DuckDBPyConnection, paths: list[Path]) -> bool:
    """TEMP view `raw_group_records(file_index, record_no, raw)`: the records of several files
    (`reads_lines`) read by one statement, as `_read_lines` gives them for one; file_index is
    the path's position in `paths`, from 1. The view reads TEMP table `raw_line_groups`.

    One file read alone fills one row group, so reading and copying it keeps one thread busy:
    at 10M events that took ~27 s of wall time at 1.1 cores. Files read together are read and
    copied in parallel. False when the read fails: the caller then reads each file alone, so
    the one that cannot be read fails alone, with its own reason."""
    names = [str(p) for p in paths]
    drop_temp(con, "raw_group_records", "raw_line_groups")
    try:
        # with insertion order preserved, rowids follow the files in list order, then the lines
        con.execute(
            "CREATE TEMP TABLE raw_line_groups AS"
            " SELECT list_position(?::VARCHAR[], filename) AS file_index, line"
            f" FROM read_csv(?, {_LINES_OPTIONS}, filename = true)",
            [names, names, MAX_LINE_BYTES, BUFFER_BYTES],
        )
    except duckdb.Error:
        drop_temp(con, "raw_line_groups")
        return False
    con.execute(
        "CREATE TEMP VIEW raw_group_records AS SELECT file_index, record_no, line AS raw FROM ("
        " SELECT file_index, line, rowid - min(rowid) OVER (PARTITION BY file_index) + 1"
        f" AS record_no FROM raw_line_groups) WHERE {_NOT_BLANK}"
    )
    return True


def _read_json_array(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    try:
        _read_elements(con, path, "array")
    except duckdb.Error as exc:
        if _read_arrays(con, path) or _read_array_by_lines(con, path):
            return
        # (its first error may be a broken element before any byte that is no UTF-8, whose
        # lines DuckDB then could not read: the copy is tried whatever the first error; a UTF-8
        # file's copy is the file, and fails so too)
        if not _read_marked_copy(con, path, "array"):
            raise FileReadError(_first_line(exc)) from None


def _read_arrays(con: duckdb.DuckDBPyConnection, path: Path,
                 problem: str | None = None) -> bool:
    """`raw_records` of a file of JSON arrays one after another: webhook bodies saved as they
    came, one per line (or each written across lines). Its records are the arrays' elements,
    numbered from 1 through the file (decision 226). False when the file is no such thing (a
    broken element, a value that is no array): the caller reads it another way. `problem`
    as in `_read_elements`."""
    drop_temp(con, "raw_elements", "raw_records")
    try:
        con.execute(
            "CREATE TEMP TABLE raw_elements AS SELECT json"
            " FROM read_json_objects(?, format = 'unstructured', maximum_object_size = ?)",
            [str(path), MAX_LINE_BYTES])
    except duckdb.Error:
        drop_temp(con, "raw_elements")
        return False
    arrays, values = con.execute(
        "SELECT count(*) FILTER (WHERE json_type(json) = 'ARRAY'), count(*) FROM raw_elements"
    ).fetchone() or (0, 0)
    if values < 2 or arrays < values:
        drop_temp(con, "raw_elements")
        return False
    con.execute(
        "CREATE TEMP TABLE raw_records AS"
        " SELECT row_number() OVER (ORDER BY value_no, element_no) AS record_no, raw FROM ("
        "   SELECT rowid AS value_no, unnest(json_extract(json, '$[*]'))::VARCHAR AS raw,"
        "          generate_subscripts(json_extract(json, '$[*]'), 1) AS element_no"
        "   FROM raw_elements)")
    drop_temp(con, "raw_elements")
    if problem:
        _mark_records(con, _MARKED_RECORD, problem)
    return True


# Decision 209: in a JSON file that is not UTF-8, the records holding a byte sequence that is no
# character, which the file's copy marks U+FFFD, are quarantined (Spark's parser reads them so
# too). Spark re-serialises a parsed record, which writes an escaped `\ufffd` as the mark itself:
# a parsed record holding either is marked; a line (read as text on both engines) only the mark.
_MARKED_RECORD = ("(contains(raw, chr(65533)) OR (contains(lower(raw), '\\ufffd')"
                  r" AND regexp_matches(raw, '(^|[^\\])(\\\\)*\\[uU][fF]{3}[dD]')))")
_MARKED_LINE = "contains(raw, chr(65533))"


def _read_elements(con: duckdb.DuckDBPyConnection, path: Path, layout: str,
                   problem: str | None = None) -> None:
    """`raw_records(record_no, raw)` of the JSON values of a file (`layout`: DuckDB's
    `read_json_objects` format: 'array' elements or 'unstructured' objects one after another);
    with `problem`, also `read_problem`: `problem` for the marked records (_MARKED_RECORD)."""
    drop_temp(con, "raw_elements")
    con.execute(
        "CREATE TEMP TABLE raw_elements AS"
        " SELECT json FROM read_json_objects(?, format = ?, maximum_object_size = ?)",
        [str(path), layout, MAX_LINE_BYTES],
    )
    con.execute(
        "CREATE TEMP TABLE raw_records AS"
        " SELECT rowid - (SELECT min(rowid) FROM raw_elements) + 1 AS record_no,"
        " json::VARCHAR AS raw FROM raw_elements"
    )
    con.execute("DROP TABLE raw_elements")
    if problem:
        _mark_records(con, _MARKED_RECORD, problem)


def _mark_records(con: duckdb.DuckDBPyConnection, marked: str, problem: str) -> None:
    """`raw_records` gains `read_problem`: `problem` where `marked` holds."""
    con.execute("ALTER TABLE raw_records ADD COLUMN read_problem VARCHAR")
    con.execute(f"UPDATE raw_records SET read_problem = ? WHERE {marked}", [problem])


def _fail_when_mostly_bad(con: duckdb.DuckDBPyConnection) -> None:
    """A file whose records are mostly not UTF-8 is binary or wholly in another encoding: it
    fails whole, as a line-oriented file does (_read_lines_with_bad_bytes)."""
    bad, good = con.execute("SELECT count(read_problem), count(*) - count(read_problem)"
                            " FROM raw_records").fetchone() or (0, 0)
    if bad > good:
        drop_temp(con, "raw_records")
        raise FileReadError(NOT_UTF8_FILE)


def _read_marked_copy(con: duckdb.DuckDBPyConnection, path: Path, layout: str) -> bool:
    """The records of a JSON file (`layout` as in `_read_elements`) holding bytes that are no
    UTF-8 (a stray Windows-1252 byte), read from a copy in which each such sequence is U+FFFD:
    the records holding one are quarantined as not UTF-8 text, as a JSON line is (decision
    209), as Spark reads them. An array whose copy does not parse is read by lines when it is
    written one element per line (its broken elements quarantined). False when the copy is
    read no way."""
    with _utf8_copy(path, errors="replace") as copy:
        try:
            _read_elements(con, copy, layout, NOT_UTF8_LINE)
        except duckdb.Error:
            drop_temp(con, "raw_elements")
            if layout != "array" or not (_read_arrays(con, copy, NOT_UTF8_LINE)
                                         or _read_array_by_lines(con, copy, NOT_UTF8_LINE)):
                return False
    _fail_when_mostly_bad(con)
    return True


# What surrounds an array's element on its line: the array's brackets, the separating comma,
# blanks (the same class on both engines: engines/spark_staging.py)
ARRAY_LINE_EDGES = "^[\\t\\n\\f\\r \\[]+|[\\t\\n\\f\\r ,\\]]+$"


def _read_array_by_lines(con: duckdb.DuckDBPyConnection, path: Path,
                         problem: str | None = None) -> bool:
    """A JSON array that does not parse because an element is broken (CONTRACT §1: one record
    that cannot be read never stops the others). SendGrid's batches are written one element per
    line, so when at least half of the lines, stripped of the brackets and commas around an
    element, are JSON objects, each such line is an element (its number counts the non-blank
    ones, as the array's would) and the broken one is quarantined on its own. Otherwise (an
    array written across lines) False: the file fails as a whole, as before."""
    drop_temp(con, "raw_lines", "raw_records")
    try:
        con.execute(f"CREATE TEMP TABLE raw_lines AS SELECT * FROM read_csv(?, {_LINES_OPTIONS})",
                    [str(path), MAX_LINE_BYTES, BUFFER_BYTES])
    except duckdb.Error:
        return False
    con.execute(
        "CREATE TEMP TABLE raw_records AS SELECT row_number() OVER (ORDER BY line_no) AS"
        " record_no, element AS raw FROM (SELECT rowid AS line_no,"
        " regexp_replace(line, ?, '', 'g') AS element FROM raw_lines) WHERE element <> ''",
        [ARRAY_LINE_EDGES])
    drop_temp(con, "raw_lines")
    objects, elements = con.execute(
        "SELECT count(*) FILTER (WHERE json_type(TRY_CAST(raw AS JSON)) = 'OBJECT'), count(*)"
        " FROM raw_records").fetchone() or (0, 0)
    if objects == 0 or 2 * objects < elements:
        drop_temp(con, "raw_records")
        return False
    if problem:  # read from a copy marking bytes that are no UTF-8
        _mark_records(con, _MARKED_LINE, problem)
    return True


# A row with more fields than its header (a comma in an unquoted company name) has its values
# shifted into the wrong columns: it is read with one column more than the header names, and a
# row that reaches it is quarantined, even when the surplus field is empty (a shifted row often
# ends in empty fields). So that a missing field (NULL) differs from an empty one (''), no text
# reads as NULL; empty fields of the header's columns are made NULL after the read. A row with
# fewer fields reads as one with empty fields.
SURPLUS_COLUMN = "jm_surplus_field"
SURPLUS_REASON = "row has more fields than the header ({}): a comma in an unquoted field?"
SHORT_COLUMN = "jm_short_row"  # the row ends before the header's last field (a missing one)
OPEN_QUOTE_REASON = ("a quote opened in this row is never closed: the rest of the file reads as"
                     " one field (rows after it included)")


def _latin1_for_undefined(error: UnicodeError) -> tuple[str, int]:
    """The five bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) read as
    Latin-1, in which every byte is a character."""
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start:error.end].decode("latin-1"), error.end


def _windows_1252_bytes(error: UnicodeError) -> tuple[str, int]:
    """Bytes that are no UTF-8 read as Windows-1252 (Latin-1 where it has no character)."""
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start:error.end].decode("cp1252", errors="jm_latin1"), error.end


codecs.register_error("jm_latin1", _latin1_for_undefined)
codecs.register_error("jm_windows_1252", _windows_1252_bytes)


@contextmanager
def _utf8_copy(path: Path, errors: str = "jm_windows_1252") -> Iterator[Path]:
    """A UTF-8 copy of a file that is not UTF-8: its UTF-8 text kept, and each byte that is no
    UTF-8 read by the error handler `errors`: for a CSV, as Windows-1252, what a spreadsheet on
    Windows saves (its quotes, dashes and euro sign are bytes 0x80-0x9F, which DuckDB's Latin-1
    reading refuses: one "smart quote" failed the whole file; and read as Latin-1 whole, a
    mostly UTF-8 file garbled every accented letter); for JSON, "replace" (U+FFFD marks the
    sequence, decision 209). Only a file that failed its UTF-8 read comes here; it is copied
    a megabyte of text at a time."""
    with tempfile.TemporaryDirectory(prefix="jm-utf8-") as folder:
        copy = Path(folder) / path.name.removesuffix(".gz")
        with _open(path) as raw:  # type: ignore[attr-defined]
            text = io.TextIOWrapper(raw, encoding="utf-8", errors=errors, newline="")
            reading = False
            try:
                with copy.open("w", encoding="utf-8", newline="") as out:
                    while True:
                        reading = True
                        chunk = text.read(1 << 20)
                        reading = False
                        if not chunk:
                            break
                        out.write(chunk)
            except OSError as exc:
                if reading:  # the input file's own error (a truncated gzip): its reason
                    raise
                raise FileReadError("cannot write a UTF-8 copy of the file in the temporary"
                                    f" folder: {exc.strerror or exc}") from None
        yield copy


def _not_utf8_text(exc: BaseException) -> bool:
    """Whether DuckDB's read failed on bytes that are no UTF-8 (its CSV and JSON readers word
    it differently)."""
    message = str(exc).lower()
    return "utf-8" in message or "unicode" in message


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, kind: FileKind,
              lone_crs_marked: bool = False) -> None:
    try:
        _read_utf8_csv(con, path, kind, lone_crs_marked)
    except duckdb.Error as exc:
        if not _not_utf8_text(exc):
            raise
        drop_temp(con, "raw_rows", "raw_records")
        with _utf8_copy(path) as copy:
            _read_utf8_csv(con, copy, kind, lone_crs_marked)


def _read_utf8_csv(con: duckdb.DuckDBPyConnection, path: Path, kind: FileKind,
                   lone_crs_marked: bool) -> None:
    options = (
        "header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"',"
        " strict_mode = false, null_padding = true, max_line_size = ?, buffer_size = ?"
    )
    header, unnamed = _csv_header(con, path, options)
    columns, extras = match_header(header, kind)
    extras = [(key, name) for key, name in extras if name not in unnamed]
    missing = [c for c in kind.required_columns if c not in columns]
    if missing:
        raise FileReadError(missing_columns_reason(kind, missing, header))
    declared = "{" + ", ".join(f"{quote_text(name)}: 'VARCHAR'"
                               for name in [*header, SURPLUS_COLUMN]) + "}"
    surplus = quote_identifier(SURPLUS_COLUMN)
    # Retried with what the failure asks for: a quoted field holding a line break (a comment
    # typed on several lines) defeats DuckDB's parallel reader with null_padding, and
    # spreadsheet tools still write Latin-1. Each is added once; any other error is the file's.
    extra, value = "", f"nullif(COLUMNS(* EXCLUDE ({surplus})), '')"
    if lone_crs_marked:  # (_lone_crs_read_alike)
        value = f"replace({value}, {quote_text(LONE_CR_MARK)}, chr(13))"
    while True:
        try:
            con.execute(
                f"CREATE TEMP TABLE raw_rows AS SELECT {value}, {surplus},"
                f" {quote_external_name(header[-1])} IS NULL AS {SHORT_COLUMN} FROM"
                f" read_csv(?, {options}, auto_detect = false, nullstr = chr(1),"
                f" columns = {declared}{extra})",
                [str(path), MAX_LINE_BYTES, BUFFER_BYTES],
            )
            break
        except duckdb.Error as exc:
            message = str(exc).lower()
            if "parallel=false" in message and "parallel" not in extra:
                extra += ", parallel = false"
                # a line break in a field is \n, as Spark's reader gives it (a Windows export
                # writes \r\n there too)
                value = f"replace({value}, chr(13) || chr(10), chr(10))"
            else:
                raise
    selected = ", ".join(_column_expression(c, columns, kind) for c in kind.columns)
    extra_json = (
        "json_object(" + ", ".join(f"?, {quote_external_name(h)}" for _, h in extras) + ")"
        if extras
        else "NULL::JSON"
    )
    row_json = "json_object(" + ", ".join(f"?, {quote_external_name(h)}" for h in header) + ")"
    unclosed = ("rowid = (SELECT max(rowid) FROM raw_rows)"
                if _last_row_unclosed(con, path, header) else "false")
    # a row of empty fields (`,,,,`: what a spreadsheet writes below its data) is no record,
    # as a blank line is not (decision 229); it keeps its number's place
    fields = ", ".join(quote_external_name(h) for h in header)
    blank = f"regexp_full_match(concat_ws('', {fields}), '[\\t ]*')"  # (one match per row)
    con.execute(
        "CREATE TEMP TABLE raw_records AS SELECT * FROM ("
        " SELECT rowid - (SELECT min(rowid) FROM raw_rows) + 2 AS record_no,"
        f" {row_json}::VARCHAR AS raw, {selected}, {extra_json} AS extra_fields,"
        f" CASE WHEN {unclosed} THEN ? WHEN {surplus} IS NOT NULL THEN ? END AS read_problem,"
        f" {blank} AS jm_blank_row FROM raw_rows)"
        " WHERE NOT jm_blank_row OR read_problem IS NOT NULL",
        [*header, *[key for key, _ in extras], OPEN_QUOTE_REASON,
         SURPLUS_REASON.format(len(header))],
    )
    con.execute("ALTER TABLE raw_records DROP COLUMN jm_blank_row")
    con.execute("DROP TABLE raw_rows")


def _csv_header(con: duckdb.DuckDBPyConnection, path: Path, options: str
                ) -> tuple[list[str], set[str]]:
    """The header's column names as DuckDB reads them (a blank or repeated name made unique),
    cut to the fields of its first line: DuckDB also names the surplus fields of rows it sniffs
    ("column6"), which are no columns of the file. And the names DuckDB gave blank fields of
    the header (a trailing comma): such a column is no property (Spark's reader gives it none)."""
    with _open(path) as handle:  # type: ignore[attr-defined]
        first = handle.readline(HEADER_BYTES)  # a file of \r line ends: its first HEADER_BYTES
    try:
        names = _described_names(con, str(path), options)
    except duckdb.Error as exc:
        if "sniffing" not in str(exc).lower():
            raise
        # the sniffer reads rows too, and gives up on a row it cannot parse (a quote opened
        # and never closed): the names come from the header line alone, read the same way
        with tempfile.NamedTemporaryFile(suffix=".csv") as header_only:
            header_only.write(first)
            header_only.flush()
            names = _described_names(con, header_only.name, options)
    text = first.decode("utf-8-sig", errors="replace")
    try:  # newline='': the csv module ends the line at \r, \n or \r\n, outside quotes
        fields = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error:  # (a NUL byte...) DuckDB's names, as they are
        fields = names
    names = names[:max(1, len(fields))]
    return names, {name for name, field in zip(names, fields, strict=False) if not field.strip()}


def _described_names(con: duckdb.DuckDBPyConnection, path: str, options: str) -> list[str]:
    # a file that is not UTF-8 fails here and is read again from a UTF-8 copy (_read_csv)
    described = con.execute(f"DESCRIBE SELECT * FROM read_csv(?, {options})",
                            [path, MAX_LINE_BYTES, BUFFER_BYTES]).fetchall()
    return [str(row[0]) for row in described]


def _last_row_unclosed(con: duckdb.DuckDBPyConnection, path: Path, header: list[str]) -> bool:
    """Whether the file's last row holds a quote opened and never closed: that field runs to the
    end of the file, rows after it included (every CSV reader reads it so), so the row is
    shorter than the header or one of its fields holds a line break, and the file holds an odd
    number of quotes. Counted only for such a last row: a stray quote inside an unquoted field
    (`27" monitor`) is read as text and costs nothing."""
    breaks = " OR ".join(f"contains({quote_external_name(h)}, chr(10))" for h in header)
    last = con.execute(f"SELECT {SHORT_COLUMN} OR coalesce({breaks}, false) FROM raw_rows"
                       " ORDER BY rowid DESC LIMIT 1").fetchall()
    return bool(last and last[0][0]) and _odd_quotes(path)


def _odd_quotes(path: Path) -> bool:
    """Whether the file holds an odd number of double quotes."""
    quotes = 0
    with _open(path) as handle:  # type: ignore[attr-defined]
        while block := handle.read(1 << 20):
            quotes += block.count(b'"')
    return quotes % 2 == 1


def match_header(
    header: list[str], kind: FileKind
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Match a CSV header to the kind's columns by internal name or label (any case, trimmed).

    Returns (column -> header name, [(key, header name)] of the other columns, kept in
    extra_fields: a labelled custom property under its internal name).
    An internal name wins over a label naming the same column.
    """
    by_lower: dict[str, str] = {}
    for name in header:
        by_lower.setdefault(name.strip().lower(), name)
    label_of = {label.strip().lower(): name for name, label in kind.labels.items()}
    columns: dict[str, str] = {}
    extras: list[tuple[str, str]] = []
    for lower, name in by_lower.items():
        internal = lower if lower in kind.columns else label_of.get(lower)
        if internal is None:
            extras.append((name, name))
        elif internal in columns:
            continue  # a second header for the same column: the first one is read
        elif internal != lower and internal in by_lower:
            continue  # the label of a column the file also writes under its internal name
        elif internal in kind.columns:
            columns[internal] = name
        else:
            extras.append((internal, name))
    return columns, extras


def missing_columns_reason(kind: FileKind, missing: list[str], header: list[str]) -> str:
    """Why a CSV file fails as a whole: the required columns of both header forms, and a hint
    when the header reads as one column holding another separator (a spreadsheet's ';' export)."""
    reason = f"missing required column(s): {', '.join(missing)}"
    if kind.labels:
        labels = ", ".join(kind.labels.get(c, c) for c in kind.required_columns)
        reason = (f"{reason}; expected the internal names {', '.join(kind.required_columns)}"
                  f" or the labels {labels}")
    separators = [s for s in (";", "\t", "|") if len(header) == 1 and s in header[0]]
    if separators:
        shown = "tab" if separators[0] == "\t" else repr(separators[0])
        reason += f" (the header reads as one column: separated by {shown}? save it with commas)"
    return reason


def _column_expression(
    column: str, columns: dict[str, str], kind: FileKind
) -> str:
    target = quote_identifier(column)
    if column not in columns:
        return f"NULL::VARCHAR AS {target}"
    source = quote_external_name(columns[column])
    if column in kind.display_values:
        # a display value ("Closed Won") -> the internal value (closedwon), under either header
        # form: a screen value in an export with internal names must not lose its meaning
        # (a won deal's revenue); an internal value is already lower-case without spaces
        return f"lower(regexp_replace({source}, '\\s+', '', 'g')) AS {target}"
    return f"{source} AS {target}"
