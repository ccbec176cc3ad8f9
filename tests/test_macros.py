"""The SQL macros whose fast paths skip work (sql/macros.sql, sql/staging/macros.sql; decision 98)
agree with plain-Python references on generated values: windows and hours in integer
microseconds, trimming, the canonical instant form, period starts in UTC and in zones with DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journey_metrics.metrics.common import micros
from test_marts_property import period_start  # the marts' plain-Python period reference

TRIMMED = " \t\r\n\x0b\x0c"
instants = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2037, 12, 31),
                        timezones=st.just(UTC))
windows = st.builds(timedelta, minutes=st.integers(0, 60 * 24 * 400))
COMMON = settings(max_examples=300, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def con(macros_con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    return macros_con  # conftest's: every macro, in UTC


def one(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> object:
    row = con.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


@COMMON
@given(t=instants, start=instants, window=windows)
def test_within_is_at_most_the_window_after_start(con: duckdb.DuckDBPyConnection, t: datetime,
                                                  start: datetime, window: timedelta) -> None:
    found = one(con, "SELECT jm_within($t, $s, $w)", {"t": t, "s": start, "w": micros(window)})
    assert found == (t <= start + window)
    # the window's end itself is inside it
    assert one(con, "SELECT jm_within($t, $s, $w)",
               {"t": start + window, "s": start, "w": micros(window)}) is True


@COMMON
@given(t0=instants, t1=instants)
def test_hours_between(con: duckdb.DuckDBPyConnection, t0: datetime, t1: datetime) -> None:
    found = one(con, "SELECT jm_hours_between($a, $b)", {"a": t0, "b": t1})
    expected = (t1 - t0) / timedelta(hours=1)
    assert found == pytest.approx(expected, rel=1e-12, abs=1e-12)


@COMMON
@given(core=st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
       left=st.text(alphabet=TRIMMED, max_size=3), right=st.text(alphabet=TRIMMED, max_size=3))
def test_trim_strips_blanks_and_control_spacing(con: duckdb.DuckDBPyConnection, core: str,
                                                left: str, right: str) -> None:
    text = left + core + right
    if "\x00" in text:
        return  # DuckDB strings cannot hold NUL
    assert one(con, "SELECT jm_trim($t)", {"t": text}) == text.strip(TRIMMED)


def test_trim_of_null_and_empty(con: duckdb.DuckDBPyConnection) -> None:
    assert one(con, "SELECT jm_trim(NULL)", {}) is None
    assert one(con, "SELECT jm_trim($t)", {"t": ""}) == ""
    assert one(con, "SELECT jm_trim($t)", {"t": "\u00a0x\u00a0"}) == "\u00a0x\u00a0"  # not ours


@COMMON
@given(at=instants, digits=st.integers(0, 6))
def test_canonical_instant(con: duckdb.DuckDBPyConnection, at: datetime, digits: int) -> None:
    fraction = f".{at.microsecond:06d}"[: digits + 1] if digits else ""
    text = at.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"
    expected = at.replace(microsecond=int((fraction[1:] or "0").ljust(6, "0")))
    for zone in ("UTC", "Asia/Tokyo"):  # an offset (Z) wins over the source's zone
        assert one(con, "SELECT jm_parse_instant($t, $z)", {"t": text, "z": zone}) == expected


@pytest.mark.parametrize("text", ["2024-02-30T10:00:00Z", "2024-03-10T24:00:00Z",
                                  "2024-03-10T10:00:00.1234567Z", " 2024-03-10T10:00:00Z",
                                  "2024-03-10t10:00:00z", "2024-03-10T10:00:00,5Z"])
def test_canonical_lookalikes_parse_as_before(con: duckdb.DuckDBPyConnection, text: str) -> None:
    """Forms beside the fast path's pattern, or invalid inside it, give what the general
    branches give (the spelled-out cast of the offset branch)."""
    general = one(con, "SELECT TRY_CAST(replace(upper(jm_trim($t)), ',', '.') AS TIMESTAMPTZ)",
                  {"t": text})
    assert one(con, "SELECT jm_parse_instant($t, 'UTC')", {"t": text}) == general


@COMMON
@given(at=instants, zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
       period=st.sampled_from(["day", "week", "month"]))
def test_period_start(con: duckdb.DuckDBPyConnection, at: datetime, zone: str,
                      period: str) -> None:
    found = one(con, "SELECT jm_period_start($a, $z, $p)", {"a": at, "z": zone, "p": period})
    assert found == period_start(at, zone, period)


def test_trim_gives_text_whatever_it_is_given(con: duckdb.DuckDBPyConnection) -> None:
    assert one(con, "SELECT typeof(jm_trim('{\"a\": 1}'::JSON))", {}) == "VARCHAR"
    assert one(con, "SELECT jm_blank_to_null('{\"a\": 1}'::JSON)", {}) == '{"a": 1}'


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-03-01T10:00:00+18:00", datetime(2024, 2, 29, 16, 0, tzinfo=UTC)),
    ("2024-03-01T10:00:00-1759", datetime(2024, 3, 2, 3, 59, tzinfo=UTC)),
    ("2024-03-01T10:00:00+14", datetime(2024, 2, 29, 20, 0, tzinfo=UTC)),
    ("2024-03-01T10:00:00+18:01", None), ("2024-03-01T10:00:00-23:59", None),
    ("2024-03-01T10:00:00+25:00", None),
    ("2024-03-01T10:00:00-99", None), ("2024-03-01T10:00:00+05:60", None),
])
def test_an_offset_is_at_most_18_hours(con: duckdb.DuckDBPyConnection, text: str,
                                    expected: datetime | None) -> None:
    assert one(con, "SELECT jm_parse_instant($t, 'UTC')", {"t": text}) == expected


def test_iso_only_reads_no_number(con: duckdb.DuckDBPyConnection) -> None:
    """Epoch milliseconds are an instant for the CRM (CONTRACT §1), not for Segment's ISO
    timestamp (`epoch_ms := false`), where 1709280300 is more likely seconds than 1970."""
    sql = "SELECT jm_parse_instant($t, 'UTC'), jm_parse_instant($t, 'UTC', epoch_ms := false)"
    assert con.execute(sql, {"t": "1709280300000"}).fetchone() == (
        datetime(2024, 3, 1, 8, 5, tzinfo=UTC), None)
    assert con.execute(sql, {"t": "2024-03-01T08:05:00Z"}).fetchone() == (
        datetime(2024, 3, 1, 8, 5, tzinfo=UTC),) * 2


@pytest.mark.parametrize("word", ["infinity", "-infinity", "epoch", " Infinity", "allballs"])
def test_words_are_no_instants(con: duckdb.DuckDBPyConnection, word: str) -> None:
    assert one(con, "SELECT jm_parse_instant($t, 'UTC')", {"t": word}) is None


def _reference_amount(units: int, cents: int | None, style: str,
                      sign: str = "") -> tuple[str, float | None]:
    """An amount written in `style` and what a reader of that locale means by it (decision
    149), built from the digits, not from a pattern: (text, value or None when ambiguous).
    `sign`: a currency sign written before (`$1,500`) or, with a leading space, after
    (`1.500 €`) the amount."""
    digits = str(units)
    groups = [digits[max(0, i - 3):i] for i in range(len(digits), 0, -3)][::-1]
    point, group = {"plain": (".", ""), "us": (".", ","), "eu": (",", ".")}[style]
    text = group.join(groups) + (f"{point}{cents:02d}" if cents is not None else "")
    value = units + (cents or 0) / 100
    separators = len(groups) - 1 if group else 0
    if sign:
        text = f"{text} {sign.strip()}" if sign.startswith(" ") else f"{sign}{text}"
    if separators == 1 and cents is None:  # `1,500` or `1.500`: one group, no decimal part
        if sign:  # beside a currency sign it is thousands: no such currency has 3 decimals
            return text, float(units)
        return text, None if style == "us" else units / 1000
    # a decimal comma with two decimals is read alone too (`12,50`: decision 229)
    return text, value


@COMMON
@given(units=st.integers(0, 10**10), cents=st.one_of(st.none(), st.integers(0, 99)),
       style=st.sampled_from(["plain", "us", "eu"]),
       sign=st.sampled_from(["", "$", "€", " €", " ₫", "-$"]))
def test_amount_matches_the_reference(con: duckdb.DuckDBPyConnection, units: int,
                                      cents: int | None, style: str, sign: str) -> None:
    negative = sign == "-$"
    text, value = _reference_amount(units, cents, style, "$" if negative else sign)
    if negative:
        text, value = f"-{text}", (None if value is None else -value)
    got = one(con, "SELECT jm_amount($t)", {"t": text})
    assert got == value or (value is not None and got is not None and abs(got - value) < 1e-6), \
        (text, got, value)


def test_numbers_scores_currencies_and_urls_read_alike_on_both_engines(
        con: duckdb.DuckDBPyConnection) -> None:
    """What the engines' casts, upper() and trim() read differently is read by rule (decision
    224); tests/spark/test_translate.py checks Spark gives these same values."""
    assert [one(con, "SELECT jm_plain_number($t)", {"t": t}) for t in MACRO_TEXTS] == [
        9.0, 9.0, -2.5, 10.0, 0.5, 9.0, None, None, None, None, None, None]
    assert [one(con, "SELECT jm_whole_number($t)", {"t": t}) for t in MACRO_TEXTS] == [
        9, 9, None, None, None, 9, None, None, None, None, None, None]
    assert [one(con, "SELECT jm_upper_ascii($t)", {"t": t}) for t in ("eur", "ﬁm", "straße")] == [
        "EUR", "ﬁM", "STRAßE"]
    assert one(con, "SELECT jm_page_path($p)",
               {"p": '{"url": "\\u00a0https://x.io/c"}'}) is None  # a no-break space is no blank


MACRO_TEXTS = ("9", "9.0", "-2.5", "1e1", ".5", " 9 ", "9d", "1_0", "0x1p3", "nan", "inf", "")
