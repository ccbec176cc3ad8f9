"""Three input rules of decision 206 against plain-Python readings of their written text, on
generated values: the SQL macros (sql/staging/macros.sql) and the reader's Python function are
each compared with a reference written from the rule, not from the code, so that a slip in
either (a pattern, a bound, a byte table) shows up as a disagreement.

* `jm_id_text`: a Segment id that names nobody is no id (NULL). The id is read trimmed of the
  blanks every model trims (space, tab, CR, LF, VT, FF: `jm_trim`, sql/macros.sql); blank is no
  id ("Empty strings count as missing everywhere"); a JavaScript placeholder (`undefined`,
  `null`, `nan`, `[object object]`, `true`, `false`) in ASCII letters of any case is no id; text
  whose first character is `{` and last `}`, or `[` and `]`, is no id; anything else, a number
  too, is the id as written (trimmed). Only ASCII letters fold: `undefİned` is an id.
* `jm_parse_unix_seconds` (SendGrid): numeric text (an optional minus, digits, an optional
  `.digits` fraction: the decimal form, blanks around it allowed) of absolute value below
  9.2e12 is that many seconds after 1970-01-01 UTC; beyond it, and any other text, no instant.
  `jm_parse_instant`'s epoch milliseconds (CRM): 10 or more digits, an optional minus, absolute
  value below 9.2e15, are that many milliseconds after 1970; beyond, no instant.
* `_utf8_copy` (src/journey_metrics/sources/readers.py), the UTF-8 copy of a CSV that is not
  UTF-8: every well-formed UTF-8 character is kept, every other byte is read alone as
  Windows-1252 (Latin-1 for the five bytes it leaves undefined: 0x81, 0x8D, 0x8F, 0x90, 0x9D).

Two edges where the rule's text and the SQL differ were found this way; the SQL's reading is
kept (decision 208: no data reaches them, and both give a quarantined record rather than a
wrong instant) and pinned by the two golden tests at the end; the generators stay out of
exactly those regions so that the properties check everything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from journey_metrics.sources.readers import _utf8_copy

# conftest's autouse fixture is function-scoped; it only sets environment variables
COMMON = settings(max_examples=100, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])
TRIMMED = " \t\r\n\x0b\x0c"  # what jm_trim strips (sql/macros.sql), the ids' blanks
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)


@pytest.fixture(scope="module")
def con(macros_con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    return macros_con  # conftest's: every macro, in UTC


def sql_map(con: duckdb.DuckDBPyConnection, select: str,
            texts: Sequence[str | None]) -> list[tuple[object, ...]]:
    """`select` (over a text column `x`) for every text, in order, in one query: one round trip
    per example rather than one per value keeps the file within its time budget."""
    return con.execute(
        f"SELECT {select} FROM (SELECT unnest($xs::VARCHAR[]) AS x,"
        " unnest(range(len($xs::VARCHAR[]))) AS i) ORDER BY i",
        {"xs": list(texts)}).fetchall()


# --- 1. ids that name nobody ------------------------------------------------------------------

PLACEHOLDERS = ("undefined", "null", "nan", "[object object]", "true", "false")
BRACKETS = (("{", "}"), ("[", "]"))


def ascii_lower(text: str) -> str:
    """Only A-Z fold: the rule names ASCII letters (engines lower-case other scripts apart)."""
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def reference_id(text: str | None) -> str | None:
    """The id as decision 206 and jm_id_text's comment write the rule, or None."""
    if text is None:
        return None
    trimmed = text.strip(TRIMMED)
    if trimmed == "" or ascii_lower(trimmed) in PLACEHOLDERS:
        return None
    if (trimmed[0], trimmed[-1]) in BRACKETS:  # a JSON object or list, or any text so written
        return None
    return trimmed


# The words as JavaScript writes them, and near misses that are ids. The generators keep their
# own lists and bounds, apart from the references', so that a slip in one is caught by the other.
JAVASCRIPT_WORDS = ("undefined", "null", "NaN", "[object Object]", "true", "false")
NEAR_MISSES = ("None", "nil", "Infinity", "void 0", "0", "[object Array]", "nulls", "nan1")
# Non-ASCII letters that lower-case to, or look like, a placeholder's letters: U+0130 (DuckDB's
# lower gives i), a dotless i, the Kelvin sign, a long s, a full-width n, Cyrillic a and ie.
LOOKALIKES = ("\u0130", "\u0131", "\u212a", "\u017f", "\uff4e", "\u0430", "\u0435", "\u00e9")
# Edges no rule trims: a no-break space, an em space, a BOM, a zero-width space, control bytes.
UNTRIMMED = ("\u00a0", "\u2003", "\ufeff", "\u200b", "\x1f", "\x01", "\x85")
blanks = st.text(alphabet=TRIMMED, max_size=3)
# mostly ours: an edge that no rule trims makes most texts an id, or no instant
edges = st.tuples(st.integers(0, 7), blanks, st.sampled_from(UNTRIMMED)).map(
    lambda drawn: drawn[2] if drawn[0] == 7 else drawn[1])


@st.composite
def placeholder_like(draw: st.DrawFn) -> str:
    """A placeholder or a near miss in random letter case, sometimes with one letter changed,
    dropped or doubled, or a blank inside (a near miss is an id)."""
    word = draw(st.sampled_from(JAVASCRIPT_WORDS * 2 + NEAR_MISSES))
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    text = "".join(c.upper() if flip else c for c, flip in zip(word, flips, strict=True))
    i = draw(st.integers(0, len(text) - 1))
    change = draw(st.sampled_from(["none"] * 4 + ["lookalike", "drop", "double", "blank"]))
    if change == "lookalike":
        text = text[:i] + draw(st.sampled_from(LOOKALIKES)) + text[i + 1:]
    elif change == "drop":
        text = text[:i] + text[i + 1:]
    elif change == "double":
        text = text[:i] + text[i] + text[i:]
    elif change == "blank":
        text = text[:i] + draw(st.sampled_from(TRIMMED + "\u00a0")) + text[i:]
    return text


@st.composite
def bracketed(draw: st.DrawFn) -> str:
    """Text between an opening and a closing brace or bracket, matched or not, or one alone."""
    opening = draw(st.sampled_from(["{", "[", "(", "", "\u00a0{"]))
    closing = draw(st.sampled_from(["}", "]", ")", "", "}\u00a0", "}\u0301"]))
    return opening + draw(st.text(max_size=8)) + closing


id_cores = st.one_of(
    placeholder_like(), bracketed(), st.integers().map(str), st.floats().map(str),
    st.text(max_size=12), st.sampled_from(["", "a1", "u:{}", "{}", "[]", "[object Object]"]))
id_texts = st.one_of(st.none(), st.builds(lambda a, core, b: a + core + b, edges, id_cores, edges))


@COMMON
@given(texts=st.lists(id_texts, min_size=20, max_size=60))
@example(texts=[" NaN ", " UNDEFINED ", "undef\u0130ned", "{'id': 42}", "[1,]", "{}x",
                "[1] [2]", "[abc]", "123", "false", "a1", "\t", None])
def test_ids_that_name_nobody(con: duckdb.DuckDBPyConnection, texts: list[str | None]) -> None:
    """Placeholders in any case, bracketed text, blanks, near misses and plain ids; the
    examples are tests/spark/staging_cases/web/j-placeholder-ids.jsonl's."""
    found = [row[0] for row in sql_map(con, "jm_id_text(x)", texts)]
    # pairs, so that a failure shows the text beside both readings
    assert list(zip(texts, found, strict=True)) == [(t, reference_id(t)) for t in texts]


# --- 2. instants beyond what a timestamp holds --------------------------------------------------

SECONDS_BOUND = 92 * 10**11  # 9.2e12 s
MILLIS_BOUND = 92 * 10**14  # 9.2e15 ms


def ascii_digits(text: str) -> bool:
    return text != "" and text.isascii() and text.isdigit()


def reference_unix_seconds(text: str | None) -> Fraction | None:
    """The instant as exact seconds after 1970 (a Fraction), or None."""
    if text is None:
        return None
    trimmed = text.strip(TRIMMED)
    whole, dot, fraction = trimmed.removeprefix("-").partition(".")
    if not ascii_digits(whole) or (dot and not ascii_digits(fraction)):
        return None
    seconds = Fraction(trimmed)
    return seconds if abs(seconds) < SECONDS_BOUND else None


def reference_epoch_millis(text: str | None) -> Fraction | None:
    """The instant as exact seconds after 1970, or None."""
    if text is None:
        return None
    trimmed = text.strip(TRIMMED)
    digits = trimmed.removeprefix("-")
    if not ascii_digits(digits) or len(digits) < 10:
        return None
    millis = int(trimmed)
    return Fraction(millis, 1000) if abs(millis) < MILLIS_BOUND else None


def as_datetime(seconds: Fraction) -> datetime | None:
    """The instant by datetime arithmetic, where a datetime holds it (years 1-9999)."""
    try:
        return EPOCH + timedelta(microseconds=round(seconds * 10**6))
    except OverflowError:
        return None


def allowed_error(seconds: Fraction, through_double: bool) -> Fraction:
    """Microseconds DuckDB's value may be off the exact one: half a microsecond of rounding,
    and through a double two roundings to 53 bits (the text's value, its product by 10^6: at
    most 2^-53 relative each). So SendGrid's real values (six digits, before 2041: below 2^51
    microseconds) come out exact."""
    micros = abs(seconds) * 10**6
    return Fraction(1, 2) + (micros * (Fraction(1, 2**52) + Fraction(1, 2**100))
                             if through_double else 0)


def assert_instants(found: list[tuple[object, ...]], texts: list[str | None],
                    expected: list[Fraction | None], through_double: bool) -> None:
    """DuckDB's epoch microseconds are the reference's exact value rounded (within the
    double's roundings where the macro computes in doubles), and where a datetime holds the
    instant, the TIMESTAMPTZ Python receives is the reference's datetime."""
    for text, (micros, at), seconds in zip(texts, found, expected, strict=True):
        if seconds is None:
            assert micros is None, text
            continue
        assert isinstance(micros, int), text
        allowed = allowed_error(seconds, through_double)
        assert abs(micros - seconds * 10**6) <= allowed, text
        reference_at = as_datetime(seconds)  # rounded half to even: half a microsecond more
        if reference_at is not None and at is not None:
            assert isinstance(at, datetime), text
            assert abs((at - reference_at) / ONE_MICROSECOND) <= allowed + Fraction(1, 2), text


INSTANT_COLUMNS = ("epoch_us({f}) AS micros, CASE WHEN epoch_us({f}) BETWEEN -62135596800000000"
                   " AND 253402300799999999 THEN {f} END AS at")  # years 1-9999: a datetime


@st.composite
def numeric_text(draw: st.DrawFn, bound: int, fraction: bool) -> str:
    """A number near zero, of today's size, anywhere, at the bound or far beyond; sometimes
    with a fraction, a minus, leading zeros, blanks around it, or one of the forms outside the
    decimal one (+, a bare dot, an exponent, a blank inside, other digits)."""
    magnitude = draw(st.one_of(
        st.integers(0, 10**4), st.integers(10**9, 2 * 10**12), st.integers(0, bound),
        st.integers(bound - 10**3, bound + 10**3), st.integers(bound, 10**25),
        st.just(2**63 - 1)))
    text = str(magnitude)
    if fraction and draw(st.booleans()):
        text += "." + draw(st.text(alphabet="0123456789", min_size=1, max_size=9))
    text = "0" * draw(st.sampled_from([0, 0, 0, 1, 3])) + text
    if draw(st.booleans()):
        text = "-" + text
    form = draw(st.sampled_from(["plain"] * 12 + ["+", ".", "e", "inner", "arabic", "dot."]))
    if form == "+":
        text = "+" + text
    elif form == ".":
        text = "." + text.lstrip("-")
    elif form == "e":
        text += "e" + draw(st.sampled_from(["0", "3", "-2"]))
    elif form == "inner":
        i = draw(st.integers(1, len(text)))
        text = text[:i] + " " + text[i:]
    elif form == "arabic":
        text = text.replace("1", "\u0661")
    elif form == "dot.":
        text += "."
    return draw(edges) + text + draw(edges)


def near_seconds_bound(text: str) -> bool:
    """Values just below 9.2e12 that a double rounds up to it (its spacing there is 2^-9 s):
    the macro reads them as beyond the bound, the rule as seconds
    (test_seconds_just_below_the_bound)."""
    try:
        seconds = abs(Fraction(text.strip(TRIMMED)))
    except ValueError:
        return False
    return 9_200_000_000_000 - Fraction(1, 256) < seconds < 9_200_000_000_000


def padded_millis(text: str) -> bool:
    """Zero-padded epoch milliseconds of more than 16 digits: the macro reads no instant, the
    rule an instant (test_zero_padded_epoch_milliseconds)."""
    digits = text.strip(TRIMMED).removeprefix("-")
    return len(digits) > 16 and digits.startswith("0")


seconds_texts = st.none() | numeric_text(9_200_000_000_000, fraction=True).filter(
    lambda t: not near_seconds_bound(t))
millis_texts = st.none() | numeric_text(9_200_000_000_000_000, fraction=False).filter(
    lambda t: not padded_millis(t))


@COMMON
@given(texts=st.lists(seconds_texts, min_size=20, max_size=60))
@example(texts=["1767616500", "99999999999999", "-99999999999999", "9223372036854775807",
                "9200000000000", "-9199999999999.998", " 1709287201.5\n", "1.7e9", "+5", ".5",
                "-0.0000015"])
def test_unix_seconds(con: duckdb.DuckDBPyConnection, texts: list[str | None]) -> None:
    """Around, inside and beyond ±9.2e12 s, with fractions; the examples include
    tests/test_source_email.py's."""
    found = sql_map(con, INSTANT_COLUMNS.format(f="jm_parse_unix_seconds(x)"), texts)
    assert_instants(found, texts, [reference_unix_seconds(t) for t in texts], through_double=True)


@COMMON
@given(texts=st.lists(millis_texts, min_size=20, max_size=60))
@example(texts=["9999999999999999", "1767616500000", "9199999999999999", "-9200000000000000",
                "0000000001", "123456789", " 1709280300000\t"])
def test_epoch_milliseconds(con: duckdb.DuckDBPyConnection, texts: list[str | None]) -> None:
    """Around, inside and beyond ±9.2e15 ms, and too few digits to be milliseconds."""
    found = sql_map(con, INSTANT_COLUMNS.format(f="jm_parse_instant(x, 'UTC')"), texts)
    assert_instants(found, texts, [reference_epoch_millis(t) for t in texts], through_double=False)


# --- 3. a CSV that is not UTF-8 ------------------------------------------------------------------

# Windows-1252's characters for bytes 0x80-0x9F (from its code chart; 0xA0-0xFF are Latin-1's);
# None where it has none, which the rule reads as Latin-1 (the C1 control of that number).
WINDOWS_1252_80_9F = (
    "\u20ac", None, "\u201a", "\u0192", "\u201e", "\u2026", "\u2020", "\u2021",
    "\u02c6", "\u2030", "\u0160", "\u2039", "\u0152", None, "\u017d", None,
    None, "\u2018", "\u2019", "\u201c", "\u201d", "\u2022", "\u2013", "\u2014",
    "\u02dc", "\u2122", "\u0161", "\u203a", "\u0153", None, "\u017e", "\u0178")


def utf8_length(data: bytes, i: int) -> int:
    """The length of the well-formed UTF-8 character at data[i] (Unicode's table 3-7: no
    overlong form, no surrogate, nothing above U+10FFFF), or 0 when none starts there."""
    lead = data[i]
    if lead < 0x80:
        return 1
    # the lead byte's length and the range its first continuation byte must be in
    if 0xC2 <= lead <= 0xDF:
        length, low, high = 2, 0x80, 0xBF
    elif lead == 0xE0:
        length, low, high = 3, 0xA0, 0xBF
    elif lead == 0xED:
        length, low, high = 3, 0x80, 0x9F
    elif 0xE1 <= lead <= 0xEF:
        length, low, high = 3, 0x80, 0xBF
    elif lead == 0xF0:
        length, low, high = 4, 0x90, 0xBF
    elif 0xF1 <= lead <= 0xF3:
        length, low, high = 4, 0x80, 0xBF
    elif lead == 0xF4:
        length, low, high = 4, 0x80, 0x8F
    else:
        return 0
    tail = data[i + 1:i + length]
    if len(tail) < length - 1 or not low <= tail[0] <= high:
        return 0
    return length if all(0x80 <= b <= 0xBF for b in tail[1:]) else 0


def utf8_character(sequence: bytes) -> str:
    """The code point of one well-formed sequence: the lead's low bits, then 6 per byte."""
    bits = {1: 0x7F, 2: 0x1F, 3: 0x0F, 4: 0x07}[len(sequence)]
    code = sequence[0] & bits
    for byte in sequence[1:]:
        code = code << 6 | byte & 0x3F
    return chr(code)


def windows_1252(byte: int) -> str:
    if 0x80 <= byte <= 0x9F:
        return WINDOWS_1252_80_9F[byte - 0x80] or chr(byte)
    return chr(byte)


def reference_decode(data: bytes) -> str:
    out = []
    i = 0
    while i < len(data):
        length = utf8_length(data, i)
        if length:
            out.append(utf8_character(data[i:i + length]))
            i += length
        else:  # a byte that starts no UTF-8 character: read alone, the next one tried afresh
            out.append(windows_1252(data[i]))
            i += 1
    return "".join(out)


VIETNAMESE = "Nguyễn Thị Ánh Tuyết, Đặng Quốc Bảo"
BROKEN = (
    b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf", b"\xf0\x80\x80\x80",
    b"\xf0\x8f\xbf\xbf",  # overlong forms
    b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xed\xa0\xbd\xed\xb8\x80",  # surrogates (CESU-8 too)
    b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80",  # beyond U+10FFFF
    "\u201cSale\u201d \u2013 \u20ac5 \u2122".encode("cp1252"),  # what a spreadsheet saves
    bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D]))  # the bytes Windows-1252 leaves undefined


@st.composite
def truncated(draw: st.DrawFn) -> bytes:
    """A multi-byte character cut short (the next chunk may continue it with anything)."""
    encoded = draw(st.characters(min_codepoint=0x80, exclude_categories=["Cs"])).encode()
    return encoded[:draw(st.integers(1, len(encoded) - 1))]


chunks = st.one_of(
    st.text(max_size=6).map(str.encode),
    st.text(alphabet=VIETNAMESE + "\U0001f600\u4e2d\u00e9,\"\n", max_size=6).map(str.encode),
    st.binary(max_size=3).map(lambda b: bytes(x | 0x80 for x in b)),  # stray high bytes
    truncated(), st.sampled_from(BROKEN), st.binary(max_size=4))


@pytest.fixture(scope="module")
def csv_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("not-utf8")


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(chunks, max_size=12))
@example(parts=["name\n\u201cSale\u201d".encode("cp1252"), b"\n", VIETNAMESE.encode(), b"\x93"])
@example(parts=[b"Nguy\xe1\xbb", b"\x85n"])  # a cut character whose next byte completes it
def test_windows_1252_copy_of_a_csv(csv_folder: Path, parts: list[bytes]) -> None:
    """UTF-8 text (Vietnamese, 4-byte characters) mixed with stray bytes, cut characters,
    overlong forms, surrogates and beyond-Unicode forms, as one file."""
    data = b"".join(parts)
    path = csv_folder / "contacts.csv"
    path.write_bytes(data)
    with _utf8_copy(path) as copy:
        written = copy.read_bytes()
    assert written.decode("utf-8") == reference_decode(data)


# --- where the rule's text and the SQL differ: the SQL's reading, kept (decision 208) -----------


def test_seconds_that_round_to_the_bound_are_no_instant(con: duckdb.DuckDBPyConnection) -> None:
    """The bound is on the value read as a double: 9199999999999.9999 rounds to 9.2e12, which
    is not below it (about 290,000 years from now: no instant, as beyond it)."""
    text = "9199999999999.9999"
    assert near_seconds_bound(text)
    assert sql_map(con, INSTANT_COLUMNS.format(f="jm_parse_unix_seconds(x)"), [text]) == [
        (None, None)]


def test_epoch_milliseconds_have_at_most_16_digits(con: duckdb.DuckDBPyConnection) -> None:
    """Epoch milliseconds are 10 to 16 digits: zero-padded to 17 they are no instant (the
    record is quarantined, "unparseable timestamp"), not 1970-01-01."""
    text = "0" * 17
    assert padded_millis(text)
    assert sql_map(con, INSTANT_COLUMNS.format(f="jm_parse_instant(x, 'UTC')"), [text]) == [
        (None, None)]
