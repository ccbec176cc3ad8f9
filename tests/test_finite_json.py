"""`jm_finite_json` (decision 212): a JSON text's non-finite numbers (NaN, Infinity, -Infinity,
as Python's json writes a float NaN) are written null, as JavaScript's JSON.stringify writes
them; every string keeps its text. Golden cases for the edges, and a property against Python's
own reading of the same text (`json.loads` with each such constant read as None), which is the
rule written independently of the SQL's cutting at quotes."""

from __future__ import annotations

import json
import math
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@pytest.fixture(scope="module")
def con(macros_con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    return macros_con  # conftest's: every macro, in UTC


def finite(con: duckdb.DuckDBPyConnection, texts: list[str]) -> list[str]:
    rows = con.execute(
        "SELECT jm_finite_json(x) FROM (SELECT unnest($xs::VARCHAR[]) AS x,"
        " unnest(range(len($xs::VARCHAR[]))) AS i) ORDER BY i", {"xs": texts}).fetchall()
    return [row[0] for row in rows]


def strict(text: str) -> Any:
    """The text read as JSON by a reader that refuses NaN and Infinity (JSON.parse's rule)."""
    def refuse(constant: str) -> Any:
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(("text", "expected"), [
    ('{"revenue":NaN}', '{"revenue":null}'),
    ('{"a":Infinity,"b":-Infinity}', '{"a":null,"b":null}'),
    ('{"a": [NaN, 1, "NaN"]}', '{"a": [null, 1, "NaN"]}'),
    # a key or a value naming NaN, an escaped quote or backslash before it, stay as written
    ('{"NaN":"x \\" NaN \\\\","y":NaN}', '{"NaN":"x \\" NaN \\\\","y":null}'),
    ('{"s":"ends in a backslash \\\\","z":-Infinity}',
     '{"s":"ends in a backslash \\\\","z":null}'),
    ('{"t":"\\u0022 Infinity"}', '{"t":"\\u0022 Infinity"}'),
    # the spellings DuckDB's reader also takes (any case, `inf`): read in a text that names
    # NaN or Infinity; alone they are not looked for (no writer spells them so, decision 212)
    ('{"a":NaN,"b":-inf,"c":INFINITY}', '{"a":null,"b":null,"c":null}'),
    ('{"a":nan,"b":-inf}', '{"a":nan,"b":-inf}'),
    # no JSON at all: rewritten alike, still no JSON; a text without the words is not cut
    ("NaN and more", "null and more"),
    # a raw control character (the cut's own marks): no JSON, left as it is (a review found
    # `"a\x01b\x02c"` loaded as `a\\b\"c`)
    ('{"revenue":NaN,"note":"a\x01b\x02c"}', '{"revenue":NaN,"note":"a\x01b\x02c"}'),
    ('{"a":1e999,"b":"inf"}', '{"a":1e999,"b":"inf"}'),
])
def test_non_finite_numbers_are_null(con: duckdb.DuckDBPyConnection, text: str,
                                     expected: str) -> None:
    assert finite(con, [text]) == [expected]


_STRINGS = st.lists(st.sampled_from(
    ['a', '"', '\\', 'NaN', 'Infinity', '-', 'nan', ' ', ':', ',', '[', '{', '\u00e9', '\u4f1a',
     '\x01', '\n', '/']), max_size=8).map("".join)
_NUMBERS = st.one_of(st.integers(-10**6, 10**6),
                     st.floats(allow_nan=True, allow_infinity=True, width=32))
_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), _NUMBERS, _STRINGS),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(_STRINGS, inner, max_size=4)),
    max_leaves=12)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.dictionaries(_STRINGS, _VALUES, max_size=5), st.booleans(),
                          st.booleans()), min_size=1, max_size=20))
def test_finite_json_reads_as_python_does(con: duckdb.DuckDBPyConnection,
                                          objects: list[tuple[dict[str, Any], bool, bool]]) -> None:
    """Whatever Python's json wrote (escaped or not, compact or spaced), the text made finite
    is strict JSON and holds what Python reads from the original with each non-finite number
    as None."""
    texts = [json.dumps(value, ensure_ascii=ascii_only,
                        separators=(",", ":") if compact else (", ", ": "))
             for value, ascii_only, compact in objects]
    for text, made in zip(texts, finite(con, texts), strict=True):
        assert strict(made) == json.loads(text, parse_constant=lambda constant: None)
        if not any(word in text for word in ("NaN", "Infinity")):
            assert made == text  # only texts naming them are cut


def test_a_reference_that_keeps_nan_fails() -> None:
    """The property above can fail: NaN kept is no strict JSON (the reference's own check)."""
    with pytest.raises(ValueError, match="not JSON: NaN"):
        strict(json.dumps({"revenue": math.nan}))
