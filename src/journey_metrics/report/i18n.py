"""The dashboard's language: message catalogues (one YAML per language in messages/), stage and
framework titles from the framework YAML, and numbers, percentages and dates in the locale's
format (en: 1,234,567 · 12.5% · 2026-03-31; vi: 1.234.567 · 12,5% · 31/03/2026).

Chart builders call `t(key, **values)`, `number`, `percent`, `day` and `stage_title`; the page
sets the language for the time it draws (`use(lang, page)`). Keys missing from a catalogue are an
error in tests (tests/test_report_i18n.py), and fall back to English at run time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "vi")
REQUESTED: set[str] = set()  # every key looked up (tests: the catalogues cover them)
MISSING: set[tuple[str, str]] = set()  # (lang, key) looked up but not in the catalogue
MESSAGES_DIR = Path(__file__).resolve().parent / "messages"


@dataclass(frozen=True)
class Locale:
    decimal: str
    thousands: str

    def vega_format(self) -> dict[str, Any]:
        """d3-format locale for vega-embed / vl-convert."""
        return {"decimal": self.decimal, "thousands": self.thousands, "grouping": [3],
                "currency": ["", ""], "percent": "%"}


LOCALES = {"en": Locale(".", ","), "vi": Locale(",", ".")}


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The messages of a language (flat keys -> text with {placeholders})."""
    from journey_metrics.yaml_files import load_yaml

    if lang not in LANGUAGES:
        from journey_metrics.errors import UsageError

        raise UsageError(f"--lang: {lang!r} must be one of {', '.join(LANGUAGES)}")
    loaded = load_yaml(MESSAGES_DIR / f"{lang}.yaml")
    return {str(k): str(v) for k, v in (loaded or {}).items()}


def default_stage_title(name: str) -> str:
    """A stage without a title, titled from its name: `_` as spaces, the first letter upper-case,
    the rest as written (`paidPlan` stays `PaidPlan`, `Sign-Up` stays `Sign-Up`)."""
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


@dataclass
class Language:
    lang: str = "en"
    stages: dict[str, str] = field(default_factory=dict)  # stage name -> title
    frameworks: dict[str, str] = field(default_factory=dict)  # framework name -> title

    def t(self, key: str, **values: Any) -> str:
        REQUESTED.add(key)
        text = catalogue(self.lang).get(key)
        if text is None:
            MISSING.add((self.lang, key))
            text = catalogue("en").get(key, key.removeprefix("col:"))
        return text.format(**values) if values else text

    @property
    def locale(self) -> Locale:
        return LOCALES[self.lang]

    def number(self, value: float | None, digits: int = 0) -> str:
        if value is None:
            return "-"
        text = f"{value:,.{digits}f}"
        loc = self.locale
        return text.replace(",", "\0").replace(".", loc.decimal).replace("\0", loc.thousands)

    def persons(self, value: int) -> str:
        """A count of persons in words: '1 person', '1,234 persons' ('1 người', '1.234 người')."""
        key = "{n} person" if value == 1 else "{n} persons"
        return self.t(key, n=self.number(value))

    def count(self, value: int, one: str, many: str) -> str:
        """A count with its noun, `one` ('{n} answer') for 1, else `many` ('{n} answers'): the
        catalogue's words (Vietnamese has no plural: both are '{n} câu trả lời')."""
        return self.t(one if value == 1 else many, n=self.number(value))

    def percent(self, value: float | None, digits: int = 1) -> str:
        if value is None:
            return "-"
        return self.number(100 * value, digits) + "%"

    def day(self, iso: str | None) -> str:
        """'2026-03-31...' -> '2026-03-31' (en) or '31/03/2026' (vi)."""
        if not iso:
            return "-"
        y, m, d = iso[:4], iso[5:7], iso[8:10]
        return f"{d}/{m}/{y}" if self.lang == "vi" else f"{y}-{m}-{d}"

    def month(self, iso: str | None) -> str:
        """'2026-03-01' -> '2026-03' (en) or '03/2026' (vi)."""
        if not iso:
            return "-"
        return f"{iso[5:7]}/{iso[:4]}" if self.lang == "vi" else iso[:7]

    def window(self, text: str) -> str:
        """A window such as '30d' or '12h' in words ('30 days', '30 ngày')."""
        unit = {"d": "{n} days", "h": "{n} hours", "w": "{n} weeks", "m": "{n} minutes",
                "s": "{n} seconds"}.get(text[-1:])
        return self.t(unit, n=text[:-1]) if unit and text[:-1].isdigit() else text

    def date_label_expr(self) -> str | None:
        """A Vega expression showing an ISO date axis value in the locale's format."""
        if self.lang != "vi":
            return None
        return ("slice(datum.value, 8, 10) + '/' + slice(datum.value, 5, 7) + '/' + "
                "slice(datum.value, 0, 4)")

    def stage_title(self, name: str) -> str:
        return self.stages.get(name) or default_stage_title(name)

    def framework_title(self, name: str, fallback: str | None = None) -> str:
        return self.frameworks.get(name) or fallback or name


_current = Language()


def current() -> Language:
    return _current


def t(key: str, **values: Any) -> str:
    return _current.t(key, **values)


def title_in(title: str | Mapping[str, str] | None, lang: str, fallback: str) -> str:
    """A YAML title that may be a mapping {en: ..., vi: ...}: the language's, else English."""
    if title is None:
        return fallback
    if isinstance(title, str):
        return title
    return title.get(lang) or title.get("en") or next(iter(title.values()), fallback)


def language_for(lang: str, page: Mapping[str, Any]) -> Language:
    """The language with the page's stage and framework titles (page['frameworks'] carries each
    framework's `titles` and its stages' `titles` as {lang: title})."""
    catalogue(lang)  # refuses an unknown language
    stages: dict[str, str] = {}
    frameworks: dict[str, str] = {}
    for f in page.get("frameworks", []):
        frameworks[f["name"]] = title_in(f.get("titles"), lang, f.get("title") or f["name"])
        for s in f.get("stages", []):
            # the journey framework's titles win for a stage name several frameworks share
            if s["name"] not in stages or f["name"] == page.get("settings", {}).get(
                    "journey_framework"):
                stages[s["name"]] = title_in(s.get("titles"), lang,
                                             default_stage_title(s["name"]))
    return Language(lang, stages, frameworks)


@contextmanager
def use(lang: str, page: Mapping[str, Any] | None = None) -> Iterator[Language]:
    """Draw in this language (and the page's titles) inside the block."""
    global _current
    previous = _current
    _current = language_for(lang, page or {})
    try:
        yield _current
    finally:
        _current = previous
