"""The CSV reader against Python's csv module (decision 129), on random files: quoted fields
holding commas, quotes and line breaks, empty fields, short rows and rows with more fields than
the header.

The reference reads the file with `csv.reader`: a record per non-blank row, numbered from 2 (the
header is 1) among the non-blank rows, except rows of empty (or space and tab) fields, which are
no records; a row with more fields than the header has the surplus
reason; every other row's value of a column is its field, or none when the field is empty or
missing; a field of a display-value column (`dealstage`) lower-cased without whitespace, in either
header form (decision 178).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journey_metrics.config import load_sources
from journey_metrics.sources.readers import SURPLUS_REASON, read_file

HEADER = ["hs_object_id", "dealname", "dealstage", "amount", "closedate", "associated_contact_id"]
KIND = next(s for s in load_sources() if s.name == "crm").file_kind("deals.csv")

texts = st.text(alphabet="ab ,\"\n1", max_size=6)


def _field(value: str, quoted: bool) -> str:
    if quoted or any(c in value for c in ',"\n') or value.strip() != value:
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def files(draw: st.DrawFn) -> list[list[tuple[str, bool]]]:
    rows = []
    for _ in range(draw(st.integers(1, 12))):
        width = draw(st.integers(1, len(HEADER) + 2))
        row = [(draw(texts), draw(st.booleans())) for _ in range(width)]
        if width == 1 and not row[0][0]:
            row = [("x", False)]  # a lone empty field is a blank line, or a quoted nothing
        rows.append(row)
    return rows


def reference(text: str) -> list[tuple[int, str | None, tuple[Any, ...]]]:
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    header, body = parsed[0], [r for r in parsed[1:] if r]
    found = []
    for number, row in enumerate(body, start=2):
        if len(row) > len(header):
            found.append((number, SURPLUS_REASON.format(len(header)), ()))
        elif all(re.fullmatch(r"[\t ]*", field) for field in row):
            continue  # a row of empty fields is no record (decision 229); its number stays
        else:
            found.append((number, None, tuple(_value(header[i], row[i])
                                              if i < len(row) and row[i] else None
                                              for i in range(len(header)))))
    return found


def _value(column: str, field: str) -> str:
    if column in KIND.display_values:  # "Closed Won" -> "closedwon"
        return re.sub(r"[\t\n\f\r ]+", "", field).lower()
    return field


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=files())
def test_rows_are_read_as_pythons_csv_module_reads_them(rows: list[list[tuple[str, bool]]],
                                                        tmp_path: Path) -> None:
    text = ",".join(HEADER) + "\n" + "".join(
        ",".join(_field(v, q) for v, q in row) + "\n" for row in rows)
    path = tmp_path / "deals.csv"
    path.write_text(text)
    con = duckdb.connect()
    try:
        read_file(con, path, KIND)
        columns = ", ".join(HEADER)
        got = [(number, problem, () if problem else tuple(values))
               for number, problem, *values in con.execute(
                   f"SELECT record_no, read_problem, {columns} FROM raw_records ORDER BY 1"
               ).fetchall()]
    finally:
        con.close()
    assert got == reference(text)
