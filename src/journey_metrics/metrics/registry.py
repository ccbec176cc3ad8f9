"""The metric registry: every metric is declared once, here-shaped, in its own module.

A `Metric` names its command, its options (they become the CLI options, with choices and
defaults), its output columns with a `Kind` (table/CSV/JSON formatting derives from it), the
compute function, its dashboard sections and example invocations. The CLI, the output formats,
the report, the nightly artifact, the Python API, `bench/run.py` and the determinism / time-zone
/ crash suites iterate `metrics()`; nothing else lists metrics.

Built-in metrics are the modules of `journey_metrics.metrics` that call `register()` when
imported; they are found by listing the package (adding a metric adds a module, no list to edit).
This module imports nothing heavy: declarations must stay cheap so `--help` starts fast.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    import duckdb

    from journey_metrics.config import Framework
    from journey_metrics.metrics.segments import Segment


class Kind(StrEnum):
    """What a column holds; decides how it is printed (JSON keeps the raw value)."""

    count = "count"  # type: ignore[assignment]  # integer: 1,234 (shadows str.count)
    ratio = "ratio"  # share in [0, 1]: 12.5%
    score = "score"  # a score on its own scale (NPS -100..100, CES 1..7): 12.5
    hours = "hours"  # 12.5
    money = "money"  # 1,234.50
    number = "number"  # any other number: 0.123
    text = "text"
    date = "date"  # YYYY-MM-DD
    flag = "flag"  # true / false


NUMBERS = frozenset({Kind.count, Kind.ratio, Kind.score, Kind.hours, Kind.money, Kind.number})


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    help: str = ""
    # table alignment of a text, date or flag column; default: text and dates left. Numbers
    # (counts such as retention's period included) are always right-aligned, so digits line up.
    left: bool | None = None

    @property
    def align_left(self) -> bool:
        if self.kind in NUMBERS:
            return False
        return self.left if self.left is not None else self.kind in (Kind.text, Kind.date)


@dataclass(frozen=True)
class Option:
    """A metric's own option. `name` is the keyword the compute function receives; the flag is
    `--name` with underscores as dashes unless `flag` says otherwise."""

    name: str
    help: str
    default: Any = None
    choices: tuple[str, ...] | None = None
    kind: type = str  # str, int or bool (bool: a flag without a value)
    required: bool = False
    multiple: bool = False  # repeatable; the function receives a tuple
    flag: str | None = None
    # the value names an event (always, or while option NAME has VALUE: (NAME, VALUE)): a result
    # without rows for a name no event has gets a note (a typo, most likely;
    # evaluate.note_unknown_events)
    names_event: bool | tuple[str, str] = False

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")


@dataclass
class Context:
    """What every compute function gets besides its options."""

    con: duckdb.DuckDBPyConnection
    as_of: datetime
    tz: str
    zone: ZoneInfo
    framework: Framework | None
    segment: Segment
    announce: Callable[[str], None] = print


Rows = list[dict[str, Any]]
Compute = Callable[..., Rows]  # compute(ctx, **options) -> rows with the declared columns


@dataclass(frozen=True)
class Presentation:
    """How the readable table shows the rows: a title, a caption, rows to highlight."""

    title: str
    caption: str | None = None
    highlight: Callable[[dict[str, Any]], bool] | None = None


@dataclass(frozen=True)
class Block:
    """One chart on the page: its element id (and PNG name), heading, reading help, chart."""

    id: str
    heading: str
    how_to_read: str
    chart: Any
    notes: tuple[str, ...] = ()  # sentences shown under the chart (e.g. the pain points)
    # the rows of "the numbers behind this chart" when the chart's largest data set is not
    # them (a flow diagram's data is its ribbons' outline points): the command's own rows
    table: tuple[dict[str, Any], ...] | None = None


@dataclass(frozen=True)
class Section:
    """A part of the dashboard. `collect(report_context)` returns JSON-able rows from the
    warehouse (kept as a materialised mart and in data.json under `id`); `draw(rows, page)`
    returns the section's blocks, where `page` is the whole data.json (header and every section).
    `draw` is a dotted path `module:function`, so Altair is imported only when drawing."""

    id: str
    collect: Callable[[Any], Any]
    draw: str
    order: int = 100


@dataclass(frozen=True)
class Metric:
    name: str  # the command: journey-metrics <name>
    help: str
    columns: tuple[Column, ...] | Callable[[Mapping[str, Any]], tuple[Column, ...]]
    compute: Compute
    options: tuple[Option, ...] = ()
    framework: bool = False  # takes --framework NAME|FILE (required)
    framework_required: bool = True  # False: --framework may be left out (ctx.framework None)
    as_of: bool = True  # takes --as-of
    tz: bool = True  # takes --tz
    segments: bool = True  # takes --by and --where (CONTRACT §6)
    segment_by: bool = True  # False: --where only (the metric has a --by of its own)
    by_choices: tuple[str, ...] = ("channel", "campaign", "trait:<name>")
    present: Callable[[Mapping[str, Any], Context, Rows], Presentation] | None = None
    sections: tuple[Section, ...] = ()
    examples: tuple[str, ...] = ()
    command: bool = True  # False: report-only (no CLI command)
    # Invocations `run` keeps materialised (options; `framework` may be "*": every framework);
    # a command with exactly these options reads the stored rows while they are current.
    materialize: tuple[Mapping[str, Any], ...] = ()

    def columns_for(self, options: Mapping[str, Any]) -> tuple[Column, ...]:
        """The output columns for these options (some metrics add columns, e.g. --spend)."""
        return self.columns(options) if callable(self.columns) else self.columns

    def defaults(self) -> dict[str, Any]:
        """Each option's default as the CLI passes it (a flag is False, a repeatable one ())."""
        def default(o: Option) -> Any:
            if o.kind is bool:
                return bool(o.default)
            return () if o.multiple and o.default is None else o.default

        return {o.name: default(o) for o in self.options}


_REGISTRY: dict[str, Metric] = {}
_LOADED = False


def register(metric: Metric) -> Metric:
    """Add a metric (a module calls this at import; tests may register their own)."""
    if metric.name in _REGISTRY and _REGISTRY[metric.name] is not metric:
        raise ValueError(f"metric {metric.name!r} is registered twice")
    _REGISTRY[metric.name] = metric
    return metric


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


# Extra metric modules to import (comma-separated), e.g. a team's own metrics package.
PLUGINS_ENV = "JOURNEY_METRICS_METRICS"


def _load_builtins() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    import journey_metrics.metrics as package

    for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not module.name.startswith("_") and module.name not in _NOT_METRICS:
            importlib.import_module(f"{package.__name__}.{module.name}")
    for name in filter(None, (n.strip() for n in os.environ.get(PLUGINS_ENV, "").split(","))):
        importlib.import_module(name)


# Modules of the metrics package that declare no metric (shared helpers).
_NOT_METRICS = frozenset({"registry", "common", "segments", "api"})


def built_in(name: str) -> Metric | None:
    """The metric `name` if the built-in module of that name declares it, importing only that
    module (a command line runs one metric: importing the other dozen is ~0.02 s of start-up);
    None otherwise, or when plug-in modules are named (they load with everything else)."""
    module = name.replace("-", "_")
    if (os.environ.get(PLUGINS_ENV) or module in _NOT_METRICS or not module.isidentifier()
            or importlib.util.find_spec(f"journey_metrics.metrics.{module}") is None):
        return None
    importlib.import_module(f"journey_metrics.metrics.{module}")
    return _REGISTRY.get(name)


def metrics() -> list[Metric]:
    """Every registered metric, built-ins first in name order, then the rest as registered."""
    _load_builtins()
    return list(_REGISTRY.values())


def get(name: str) -> Metric:
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no metric {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def sections() -> list[tuple[Metric, Section]]:
    """Every dashboard section of every metric, in page order."""
    found = [(m, s) for m in metrics() for s in m.sections]
    return sorted(found, key=lambda pair: pair[1].order)


def example_commands() -> dict[str, list[str]]:
    """Every metric's example invocations as CLI arguments (without `journey-metrics`), named
    `<metric>_example_<n>`: the determinism, time-zone and crash suites run them all."""
    found = {}
    for metric in metrics():
        for n, example in enumerate(metric.examples, start=1):
            args = shlex.split(example)
            if args[:1] == ["journey-metrics"]:
                args = args[1:]
            found[f"{metric.name}_example_{n}"] = args
    return found


def column_names(columns: Sequence[Column]) -> tuple[str, ...]:
    return tuple(c.name for c in columns)


@dataclass
class Invocation:
    """A metric with options, as the CLI, the API and the suites call it."""

    metric: Metric
    options: dict[str, Any] = field(default_factory=dict)
