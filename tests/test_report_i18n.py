"""The dashboard's languages: catalogue completeness, locale formats, framework titles and the
PNG font (Vietnamese diacritics are drawn, not tofu)."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from journey_metrics.report.i18n import LANGUAGES, catalogue, language_for, title_in

SOURCE = Path(__file__).resolve().parents[1] / "src" / "journey_metrics"


def _static_keys() -> set[str]:
    """Every t("...") key written in the source."""
    keys = set()
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "t"
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                keys.add(node.args[0].value)
    return keys


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogues_have_the_same_keys_and_placeholders() -> None:
    en, vi = catalogue("en"), catalogue("vi")
    assert set(en) == set(vi)
    for key in en:
        assert _fields(en[key]) == _fields(key.removeprefix("col:")) or key.startswith("col:")
        assert _fields(vi[key]) == _fields(en[key]), key


def test_every_key_in_the_code_is_in_both_catalogues() -> None:
    keys = _static_keys()
    assert len(keys) > 150
    for lang in LANGUAGES:
        missing = sorted(keys - set(catalogue(lang)))
        assert missing == [], (lang, missing)


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", ("1,234,567", "12.5%", "2026-03-31", "2026-03", "0.50", "-", "30 days", "1 person",
            "1,234 persons", "0 persons")),
    ("vi", ("1.234.567", "12,5%", "31/03/2026", "03/2026", "0,50", "-", "30 ngày", "1 người",
            "1.234 người", "0 người")),
])
def test_locale_formats(lang: str, expected: tuple[str, ...]) -> None:
    language = language_for(lang, {})
    assert (language.number(1234567), language.percent(0.125), language.day("2026-03-31"),
            language.month("2026-03-01"), language.number(0.5, 2), language.number(None),
            language.window("30d"), language.persons(1), language.persons(1234),
            language.persons(0)) == expected


def test_unknown_language_is_refused() -> None:
    from journey_metrics.errors import UsageError

    with pytest.raises(UsageError, match="--lang"):
        catalogue("fr")


def test_framework_and_stage_titles_in_both_languages() -> None:
    from journey_metrics.config import load_framework

    journey = load_framework("awareness_to_advocacy")
    assert [title_in(s.title, "vi", s.name) for s in journey.stages] == [
        "Nhận thức", "Cân nhắc", "Mua hàng", "Quay lại", "Ủng hộ"]
    assert [s.label for s in journey.stages] == [
        "Awareness", "Consideration", "Purchase", "Retention", "Advocacy"]
    assert journey.label == "Awareness to Advocacy"
    page = {"frameworks": [{"name": journey.name, "title": journey.label,
                            "titles": journey.titles(),
                            "stages": [{"name": s.name, "titles": s.titles()}
                                       for s in journey.stages]}]}
    vi = language_for("vi", page)
    assert vi.stage_title("advocacy") == "Ủng hộ"
    assert vi.framework_title(journey.name) == "Từ Nhận thức đến Ủng hộ"
    assert language_for("en", page).stage_title("purchase") == "Purchase"
    assert title_in("Plain", "vi", "x") == "Plain"


def test_png_draws_vietnamese_glyphs_not_tofu() -> None:
    import vl_convert

    from journey_metrics.report.page import FONT

    def png(text: str) -> bytes:
        spec = {"data": {"values": [{"t": text}]}, "mark": {"type": "text", "fontSize": 40},
                "encoding": {"text": {"field": "t"}}, "width": 120, "height": 60,
                "config": {"font": FONT}}
        return bytes(vl_convert.vegalite_to_png(spec))

    tofu = png("\U0010fffd")  # a code point no font has: the missing-glyph box
    for letter in ("Ủ", "ộ", "ậ"):
        assert png(letter) != tofu, letter
    assert png("ộ") != png("o")  # the diacritics are drawn
    assert png("Ủng hộ") != png("\U0010fffd" * 6)



def test_report_refuses_an_unknown_language_on_the_command_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "journey_metrics", "report", "--out", str(tmp_path / "out"),
         "--db", str(tmp_path / "none.duckdb"), "--lang", "fr"],
        capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "--lang: 'fr' must be one of en, vi" in done.stderr


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", ("1 answer", "2 answers", "0 records", "1 failed file", "1,234 orders")),
    ("vi", ("1 câu trả lời", "2 câu trả lời", "0 bản ghi", "1 tệp lỗi", "1.234 đơn hàng")),
])
def test_counts_agree_with_their_number(lang: str, expected: tuple[str, ...]) -> None:
    """'1 answers', '1 records quarantined' were printed after 1 (a dashboard audit)."""
    language = language_for(lang, {})
    assert (language.count(1, "{n} answer", "{n} answers"),
            language.count(2, "{n} answer", "{n} answers"),
            language.count(0, "{n} record", "{n} records"),
            language.count(1, "{n} failed file", "{n} failed files"),
            language.count(1234, "{n} order", "{n} orders")) == expected
