"""Configuration models: event sources (config/sources/*.yaml) and their validation.

Names that end up in SQL (source names, columns) are checked against the one identifier pattern of
`sql.py`; a bad file is reported as one line with its place (yaml_files.py: the file, the line and
column, the field) and what is wrong.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from journey_metrics.errors import UsageError
from journey_metrics.resources import resource_dir
from journey_metrics.schema import Loc, Model, SchemaError
from journey_metrics.sql import IDENTIFIER_PATTERN, PROPERTY_NAME_PATTERN
from journey_metrics.yaml_files import (
    PlacedError,
    format_error,
    load_mapping,
    located,
)

ReaderKind = Literal["jsonl", "json", "csv"]


def _identifier(value: str) -> str:
    if not IDENTIFIER_PATTERN.fullmatch(value):
        raise ValueError(f"{value!r} must match ^[a-z][a-z0-9_]*$")
    return value


# Stage names are values, never SQL identifiers (stages.py numbers the stage expressions): bound
# parameters, output rows (`stage`), the report's data and the --start/--return/--end options, so
# capitals and `-` are safe (docs/adding-a-framework.md).
STAGE_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def _stage_name(value: str) -> str:
    if not STAGE_NAME_PATTERN.fullmatch(value):
        raise ValueError(
            f"{value!r} must match {STAGE_NAME_PATTERN.pattern} (a letter, then letters,"
            " digits, _ or -)"
        )
    return value


def _identifiers(values: list[str]) -> list[str]:
    return [_identifier(v) for v in values]


def _check_labels(value: dict[str, str]) -> dict[str, str]:
    seen: dict[str, str] = {}
    for name, label in value.items():
        _identifier(name)
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"label of {name} must be a non-empty text")
        key = label.strip().lower()
        if key in seen:
            raise ValueError(f"label {label!r} is given to both {seen[key]} and {name}")
        seen[key] = name
    return value


def check_timezone(name: str) -> str:
    """The IANA time zone `name` names, as the zone database spells it: `utc` and
    `asia/ho_chi_minh` are UTC and Asia/Ho_Chi_Minh (a user types the name, the database's
    case is no meaning); unknown names are refused."""
    from journey_metrics.zones import names

    # the tzdata package's list holds zones only: not the files of a machine's database that
    # are none (`localtime`, `posixrules`, `posix/...`, `right/...`; decision 215)
    if name in names():
        return name
    matches = [zone for zone in names() if zone.lower() == name.lower()]
    if len(matches) != 1:
        raise ValueError(f"unknown time zone {name!r}")
    return matches[0]


# Trait names that hold personal data are never kept, whatever a source file says (CONTRACT §6:
# never `email`; names, phone numbers, addresses and the like neither).
_PII_WORDS = frozenset({
    "email", "mail", "phone", "mobile", "mobilephone", "fax", "name", "firstname", "lastname",
    "fullname", "surname", "address", "street", "zip", "zipcode", "postcode", "postal", "birthday",
    "birthdate", "dob", "ssn", "password", "ip", "iban", "passport",
})
_PII_PARTS = ("email", "phone", "address", "firstname", "lastname", "fullname", "birth",
              "password")


def is_pii_trait(name: str) -> bool:
    """Whether a (snake_case) trait name looks like personal data."""
    return bool(_PII_WORDS & set(name.split("_"))) or any(
        part in name.replace("_", "") for part in _PII_PARTS
    )


def check_trait_name(name: str) -> str:
    if is_pii_trait(name):
        raise ValueError(
            f"trait {name!r} looks like personal data (emails, names, phone numbers and addresses"
            " are never kept)"
        )
    return name


class FileKind(Model):
    """One kind of file inside a source folder and how it becomes canonical events."""

    pattern: str  # glob on the file name, without a trailing .gz
    reader: ReaderKind
    model: str  # staging SQL model: sql/staging/<model>.sql
    columns: list[str] = []  # csv: the columns the model reads (missing optional ones are NULL)
    required_columns: list[str] = []  # csv: a file without one of these fails as a whole
    # csv: the label a screen export writes for a column (internal name -> label, e.g.
    # hs_object_id: Record ID); a header matches its internal name or its label (any case).
    # Labels of columns not in `columns` (custom properties) name their key in extra_fields.
    labels: dict[str, str] = {}
    # csv: columns whose display values (e.g. "Closed Won") map to the internal value by
    # lower-casing and removing spaces, when the file writes the column under its label
    display_values: list[str] = []

    _after = {
        "model": _identifier,
        "columns": _identifiers,
        "required_columns": _identifiers,
        "display_values": _identifiers,
        "labels": _check_labels,
    }

    def _check(self) -> None:
        unknown = [c for c in self.display_values if c not in self.columns]
        if unknown:
            raise PlacedError(("display_values", self.display_values.index(unknown[0])),
                              f"{unknown[0]} is not one of the columns")

    def matches(self, file_name: str) -> bool:
        # in any case (a Windows export writes Contacts.CSV); the compression suffix only as
        # .gz, which is how both engines' readers recognise gzip
        base = file_name[:-3] if file_name.endswith(".gz") else file_name
        return fnmatch.fnmatchcase(base.lower(), self.pattern.lower())


class SourceConfig(Model):
    """An event source: a folder of the input directory and the kinds of files in it."""

    name: str
    title: str
    folder: str
    timezone: str = "UTC"  # for timestamps written without an offset
    files: list[FileKind]
    # Canonical events this source produces (framework files are checked against them);
    # `open_events` means it may produce others too (web track events are free-form).
    events: list[str] = []
    open_events: bool = False
    # CONTRACT §6: the person traits kept from this source (snake_case names); nothing else is.
    traits: list[str] = []

    _after = {
        "name": _identifier,
        "folder": _identifier,
        "timezone": check_timezone,
        "traits": lambda v: [check_trait_name(_identifier(t)) for t in v],
    }

    def file_kind(self, file_name: str) -> FileKind | None:
        return next((kind for kind in self.files if kind.matches(file_name)), None)


M = TypeVar("M", bound=Model)


def _validated(model: type[M], path: Path) -> tuple[M, yaml.Node | None]:
    """The file's document checked against `model`; a problem is one line with its place."""
    data, root = load_mapping(path)
    try:
        return model.model_validate(data), root
    except SchemaError as exc:
        raise UsageError(format_error(path, exc, root)) from None


def load_source(path: Path) -> SourceConfig:
    return _validated(SourceConfig, path)[0]


def load_sources(folder: Path | None = None) -> list[SourceConfig]:
    """All source definitions, in the order of their `order` prefix / file name: the shipped
    ones (or `folder`'s) and a team's own (JOURNEY_METRICS_SOURCES, `sql.extra_source_folders`)."""
    from journey_metrics.sql import SOURCES_ENV, extra_source_folders

    folder = folder or resource_dir("config") / "sources"
    paths = list(folder.glob("*.yaml"))
    for extra in extra_source_folders():
        if not extra.is_dir():
            raise UsageError(f"{SOURCES_ENV}: {extra} is not a folder")
        paths += extra.glob("*.yaml")
    paths.sort(key=lambda p: (p.name, str(p)))
    sources = [load_source(p) for p in paths]
    names = [s.name for s in sources]
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice:
        where = " and ".join(str(p) for p, s in zip(paths, sources, strict=True) if s.name == twice)
        raise UsageError(f"source {twice!r} is defined twice: in {where}")
    return sources


# --- stage frameworks (CONTRACT §3) -------------------------------------------------------------

OPERATORS = ("eq", "ne", "in", "prefix", "gte", "lte")
_WINDOW = re.compile(r"^([0-9]+)(m|h|d)$")
_WINDOW_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
# A window is added to and taken from event times: 1000 years keeps every such time inside
# both engines' ranges (Spark's timestamps end at year 9999; DuckDB's ICU arithmetic failed
# at ~300,000 years, exit 1, below timedelta's own limit of ~2.7 million)
MAX_WINDOW = timedelta(days=365_250)


def parse_window(text: str, *, zero: bool = True) -> timedelta:
    """`30d`, `12h`, `90m` -> timedelta. `0d` is a window (CONTRACT §3/§7 say `<int>`: a funnel
    step at the same instant, a lookback of the conversion's instant) unless `zero` is False
    (a half-life divides)."""
    match = _WINDOW.fullmatch(str(text).strip())
    if not match:
        raise ValueError(f"window {text!r} must look like <int>(m|h|d), e.g. 30d")
    try:
        window: timedelta | None = timedelta(**{_WINDOW_UNITS[match.group(2)]:
                                                int(match.group(1))})
    except OverflowError:  # past timedelta's ~2.7 million years
        window = None
    if window is None or window > MAX_WINDOW:
        raise ValueError(f"window {text!r} is too long (at most 1000 years: 365250d)")
    if not zero and window == timedelta(0):
        raise ValueError(f"{text!r} must be positive")
    return window


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _some_values(what: str) -> Callable[[list[str] | None], list[str] | None]:
    """A rule's `event`/`source`/`channel` list: left out means any; empty matches nothing."""
    def check(value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError(
                f"an empty list matches no {what}, so the rule never matches (leave {what} out"
                f" to match any {what})"
            )
        return value
    return check


class MatchRule(Model):
    """An event matches the rule if every given field matches (lists mean any of)."""

    event: list[str] | None = None
    source: list[str] | None = None
    channel: list[str] | None = None
    where: dict[str, dict[str, Any]] = {}

    _before = {"event": _as_list, "source": _as_list, "channel": _as_list}
    _after = {
        "event": _some_values("event"),
        "source": lambda v: None if _some_values("source")(v) is None else _identifiers(v),
        "channel": _some_values("channel"),
        "where": lambda v: _check_where(v),
    }

    def _check(self) -> None:
        if self.event is None and self.source is None and self.channel is None and not self.where:
            raise ValueError("a match rule needs at least one of event, source, channel, where")


def _property_name(prop: str) -> None:
    if not PROPERTY_NAME_PATTERN.fullmatch(prop):
        raise PlacedError((prop,), (
            f"property name {prop!r} must match {PROPERTY_NAME_PATTERN.pattern} (it is read as"
            " a JSON path, $.name: . [ ] quotes and spaces would change the path)"
        ))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finite(value: float) -> bool:
    """A number a rule can compare: NaN and infinity compare with nothing sensibly, and an
    integer beyond a double's range (400 digits) is compared as a double."""
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _check_where(value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each condition's place is where.<property>.<operator> (PlacedError)."""
    for prop, conditions in value.items():
        _property_name(prop)
        if not isinstance(conditions, dict) or not conditions:
            raise PlacedError((prop,), "must map operators to values, e.g. {eq: 9}")
        for op, operand in conditions.items():
            here = (prop, op)
            if op not in OPERATORS:
                raise PlacedError(here, f"unknown operator {op!r} (known: {', '.join(OPERATORS)})")
            odd_numbers = [v for v in (operand if isinstance(operand, list) else [operand])
                           if _is_number(v) and not _finite(v)]
            if odd_numbers:  # `lte: .nan` matched every answer, `gte: .nan` none
                raise PlacedError(here, f"{op} on {prop} needs a finite number, got "
                                  f"{odd_numbers[0]!r}")
            if op in ("gte", "lte") and not _is_number(operand):
                raise PlacedError(here, f"{op} on {prop} needs a number, got {operand!r}")
            if op == "in":
                if not isinstance(operand, list):
                    raise PlacedError(here, f"in on {prop} needs a list, got {operand!r}")
                if not operand:
                    raise PlacedError(here, f"in on {prop}: an empty list matches nothing")
                odd = [v for v in operand if not isinstance(v, str | int | float)]
                if odd:
                    raise PlacedError(here, f"in on {prop} takes texts and numbers, got {odd[0]!r}")
            if op in ("eq", "ne") and (operand is None or isinstance(operand, list | dict)):
                # compared as its text ('None', '[9]'): eq never matched and ne always did (an
                # unquoted YAML date is its ISO text, as before)
                raise PlacedError(here, f"{op} on {prop} takes a text or a number, got {operand!r}")
            if op == "prefix" and not isinstance(operand, str):
                raise PlacedError(here, f"prefix on {prop} needs a string, got {operand!r}")
    return value


def _window_text(value: Any) -> str:
    parse_window(str(value))
    return str(value)


def _some_rules(what: str) -> Callable[[list[MatchRule]], list[MatchRule]]:
    def check(value: list[MatchRule]) -> list[MatchRule]:
        if not value:
            raise ValueError(f"{what} needs at least one match rule")
        return value
    return check


class Stage(Model):
    name: str
    title: str | dict[str, str] | None = None  # or {en: ..., vi: ...} (the dashboard's --lang)
    match: list[MatchRule]
    within: str | None = None  # CONTRACT §7: at most this long after the previous step's event

    _before = {"within": lambda v: None if v is None else _window_text(v)}
    _after = {"name": _stage_name, "match": _some_rules("a stage")}

    @property
    def within_delta(self) -> timedelta | None:
        return parse_window(self.within) if self.within is not None else None

    @property
    def label(self) -> str:
        return _title_in(self.title, "en") or self.name.replace("_", " ").capitalize()

    def titles(self) -> dict[str, str]:
        """{lang: title} of the titles given (a plain title is English)."""
        return _titles(self.title)


def _stage_pair(value: Any) -> Any:
    if (not isinstance(value, list | tuple) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise ValueError(f"between must be two stage numbers [i, j], got {value!r}")
    if not 1 <= value[0] < value[1]:
        raise ValueError(f"between {list(value)}: need 1 <= i < j")
    return value


class ExcludeRule(Model):
    """CONTRACT §7: an attempt is void when an event matching `match` lies between its step-i and
    step-j events (`between: [i, j]`, stages numbered from 1)."""

    match: list[MatchRule]
    between: tuple[int, int]

    _before = {"between": _stage_pair}
    _after = {"match": _some_rules("an exclusion")}


def _check_stages(value: list[Stage]) -> list[Stage]:
    if len(value) < 2:
        raise ValueError("a framework needs at least two stages")
    names = [s.name for s in value]
    again = next((i for i, n in enumerate(names) if n in names[:i]), None)
    if again is not None:
        raise PlacedError((again, "name"), f"stage names must be unique: {names[again]} repeats"
                          f" (stage {names.index(names[again]) + 1} has it)")
    if value[0].within is not None:
        raise PlacedError((0, "within"),
                          "within on the first stage has no previous step to measure from")
    return value


class Framework(Model):
    name: str
    title: str | dict[str, str] | None = None  # or {en: ..., vi: ...} (the dashboard's --lang)
    window: str = "30d"
    stages: list[Stage]
    exclude: list[ExcludeRule] = []

    _before = {"window": _window_text}
    _after = {"name": _identifier, "stages": _check_stages}

    def _check(self) -> None:
        for r, rule in enumerate(self.exclude):
            if rule.between[1] > len(self.stages):
                raise PlacedError(
                    ("exclude", r, "between"),
                    f"stage {rule.between[1]} does not exist"
                    f" (the framework has {len(self.stages)} stages)",
                )

    @property
    def exact_rules(self) -> bool:
        """True when the framework uses per-step windows or exclusions (CONTRACT §7)."""
        return bool(self.exclude) or any(s.within is not None for s in self.stages)

    @property
    def window_delta(self) -> timedelta:
        return parse_window(self.window)

    @property
    def label(self) -> str:
        return _title_in(self.title, "en") or self.name

    def titles(self) -> dict[str, str]:
        """{lang: title} of the titles given (a plain title is English)."""
        return _titles(self.title)


def _titles(title: str | dict[str, str] | None) -> dict[str, str]:
    if title is None:
        return {}
    return {"en": title} if isinstance(title, str) else {str(k): str(v) for k, v in title.items()}


def _title_in(title: str | dict[str, str] | None, lang: str) -> str | None:
    found = _titles(title)
    return found.get(lang) or found.get("en") or next(iter(found.values()), None)


def built_in_frameworks() -> tuple[str, ...]:
    """The frameworks shipped in config/frameworks/ (found by globbing: a new YAML is picked up),
    in the dashboard's order (config/report.yaml `framework_order`, then by name)."""
    names = sorted(p.stem for p in (resource_dir("config") / "frameworks").glob("*.yaml"))
    order = load_report_settings().framework_order
    return tuple(sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n)))


class RetentionView(Model):
    framework: str = "aarrr"
    start: str = "activation"
    period: Literal["day", "week", "month"] = "week"
    # the dashboard draws the latest N cohorts (a year of weekly cohorts is 52 rows of up to 52
    # cells, unreadable on a page); `journey-metrics retention` prints them all
    cohorts: int = 12

    def _check(self) -> None:
        if self.cohorts < 1:
            raise PlacedError(("cohorts",), "must be at least 1")


class ReportSettings(Model):
    """Dashboard choices (config/report.yaml)."""

    journey_framework: str = "awareness_to_advocacy"
    retention: RetentionView = RetentionView()
    framework_order: list[str] = []
    trend_weeks: int = 12
    conversion_stage: str = "purchase"  # of journey_framework: paths --end, attribution, LTV
    persona_traits: list[str] = []  # traits whose top values the segment selector offers
    segment_values: int = 5  # top values per persona trait
    spend: str | None = None  # spend CSV (date, channel, campaign, cost); relative to the cwd
    lang: str = "en"


def load_report_settings(path: Path | None = None) -> ReportSettings:
    path = path or resource_dir("config") / "report.yaml"
    if not path.is_file():
        return ReportSettings()
    return _validated(ReportSettings, path)[0]


BUILT_IN_FRAMEWORKS = built_in_frameworks()


def framework_path(name_or_path: str) -> Path:
    """A built-in framework's file, or the given path."""
    if IDENTIFIER_PATTERN.fullmatch(name_or_path):
        built_in = resource_dir("config") / "frameworks" / f"{name_or_path}.yaml"
        if built_in.is_file():
            return built_in
    path = Path(name_or_path)
    if not path.is_file():
        known = ", ".join(BUILT_IN_FRAMEWORKS)
        raise UsageError(f"framework {name_or_path!r} is neither a built-in ({known}) nor a file")
    return path


def load_framework(
    name_or_path: str, warn: Callable[[str], None] | None = None
) -> Framework:
    """Load and validate a framework; warn about events no configured source produces."""
    path = framework_path(name_or_path)
    framework, root = _validated(Framework, path)
    sources = load_sources()
    source_names = {s.name for s in sources}
    places: list[tuple[Loc, list[MatchRule]]] = [
        (("stages", i), stage.match) for i, stage in enumerate(framework.stages)]
    places += [(("exclude", i), rule.match) for i, rule in enumerate(framework.exclude)]
    for loc, rules in places:
        for j, rule in enumerate(rules):
            for source in rule.source or []:
                if source not in source_names:
                    raise UsageError(located(
                        path, root, (*loc, "match", j, "source"),
                        f"unknown source {source!r} (known: {', '.join(sorted(source_names))})",
                    ))
            # the sources the rule names (else all): what they declare, and which of them
            # may produce other events too (`open_events`: web's track events are free-form)
            named = [s for s in sources if not rule.source or s.name in rule.source]
            declared = {e for s in named for e in s.events}
            open_ones = [s.name for s in named if s.open_events]
            for event in rule.event or []:
                if event not in declared and warn:
                    scope = (f"source {', '.join(rule.source)}" if rule.source
                             else "no source")
                    verb = "does not declare" if rule.source else "declares"
                    hint = (f" ({' or '.join(open_ones)} may still produce it:"
                            " their events are open)" if open_ones else "")
                    warn(located(path, root, (*loc, "match", j, "event"),
                                 f"{scope} {verb} event {event!r}{hint}"))
    return framework
