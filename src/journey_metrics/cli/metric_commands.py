"""One command per registered metric (metrics/registry.py), made here from its declaration.

The options a metric declares become Typer options (choices, defaults, help); the options every
metric shares (--db, --framework, --by, --where, --as-of, --tz, --format) are added here once.
"""

from __future__ import annotations

import inspect
from enum import StrEnum
from typing import Annotated, Any

import typer

from journey_metrics.cli.app import DbOption, announce, app, stdout
from journey_metrics.errors import UsageError
from journey_metrics.metrics.registry import Metric, Option, built_in, metrics
from journey_metrics.output import OutputFormat, print_rows
from journey_metrics.resources import DEFAULT_DB

_SHARED = ("db", "framework", "by", "where", "as_of", "tz", "output_format", "engine", "events",
           "spark_master", "spark_remote")


class EngineChoice(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


def _choice_enum(name: str, choices: tuple[str, ...]) -> type[StrEnum]:
    return StrEnum(name, {c: c for c in choices})  # type: ignore[return-value]


def _parameter(option: Option, metric: Metric) -> inspect.Parameter:
    info = typer.Option(option.cli_flag, help=option.help)
    annotation: Any
    default = option.default
    if option.kind is bool:
        annotation, default = bool, bool(default)
    elif option.choices and option.cli_flag == "--by":
        # attribution's own --by: a list, so that a second one is refused as the segments'
        # --by is (`_single_by`), not silently kept
        enum = _choice_enum(f"{metric.name}_{option.name}", option.choices)
        annotation, default = list[enum] | None, None  # type: ignore[valid-type]
        info = typer.Option(option.cli_flag, help=f"{option.help} \\[default: {option.default}]")
    elif option.choices:
        enum = _choice_enum(f"{metric.name}_{option.name}", option.choices)
        annotation = enum if option.required or default is not None else enum | None
        default = enum(default) if default is not None else None
    elif option.multiple:
        annotation, default = list[option.kind] | None, None  # type: ignore[name-defined]
    else:
        annotation = option.kind if option.required else option.kind | None
    if option.required:
        return inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY,
                                 annotation=Annotated[annotation, info])
    return inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[annotation, info])


def _shared_parameters(metric: Metric) -> list[inspect.Parameter]:
    def keyword(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> Any:
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                 annotation=annotation)

    found = [keyword("db", DbOption, DEFAULT_DB)]
    if metric.framework:
        if metric.framework_required:
            found.insert(0, keyword("framework", Annotated[str, typer.Option(
                "--framework", help="Built-in name or YAML file.")]))
        else:
            found.insert(0, keyword("framework", Annotated[str | None, typer.Option(
                "--framework", help="Built-in name or YAML file (optional).")], None))
    if metric.segments and metric.segment_by:
        # a list, to refuse a second --by (one would silently win; §6 splits by one thing)
        found.append(keyword("by", Annotated[list[str] | None, typer.Option(
            "--by", help=f"Split into groups: {' | '.join(metric.by_choices)}.")], None))
    if metric.segments:
        found.append(keyword("where", Annotated[list[str] | None, typer.Option(
            "--where", help="Only persons with trait:<name>=<value> (repeatable).")], None))
    if metric.as_of:
        found.append(keyword("as_of", Annotated[str | None, typer.Option(
            "--as-of", help="ISO 8601 instant or date (midnight in --tz); default: the latest "
            "event.")], None))
    if metric.tz:
        found.append(keyword("tz", Annotated[str, typer.Option(
            "--tz", help="Time zone for dates and calendar periods.")], "UTC"))
    found.append(keyword("engine", Annotated[EngineChoice, typer.Option(
        "--engine", help="duckdb (default) or spark (needs --events).")], EngineChoice.duckdb))
    found.append(keyword("events", Annotated[str | None, typer.Option(
        "--events", help="A lake folder (written by `export`) to read instead of --db.")], None))
    found.append(keyword("spark_master", Annotated[str | None, typer.Option(
        "--spark-master", help="Spark master URL (default local[*]).")], None))
    found.append(keyword("spark_remote", Annotated[str | None, typer.Option(
        "--spark-remote", help="Spark Connect URL sc://HOST:PORT.")], None))
    found.append(keyword("output_format", Annotated[OutputFormat, typer.Option(
        "--format", help="table (default), json or csv")], OutputFormat.table))
    return found


def _single_by(given: list[Any] | None) -> Any:
    """The one --by given (None without one); two are refused: a split is by one thing (§6),
    and the last would silently win."""
    if given and len(given) > 1:
        shown = ", ".join(str(v.value if isinstance(v, StrEnum) else v) for v in given)
        raise UsageError(f"--by splits by one thing; got {shown} (give one --by)")
    return given[0] if given else None


def _command(metric: Metric) -> Any:
    def command(**kwargs: Any) -> None:
        from journey_metrics.evaluate import evaluate

        shared = {k: kwargs.pop(k, None) for k in _SHARED}
        by = _single_by(shared["by"])
        for option in metric.options:
            if option.cli_flag == "--by":
                kwargs[option.name] = _single_by(kwargs[option.name]) or option.default
        options = {k: (v.value if isinstance(v, StrEnum) else v) for k, v in kwargs.items()}
        options = {k: (tuple(v) if isinstance(v, list) else v) for k, v in options.items()}
        # Notes (events no source declares, an unused option, ...) wait for the outcome: bad
        # usage is one line alone (CONTRACT §5), so they are dropped then; a command that runs
        # or fails shows them first (decision 218).
        notes: list[str] = []
        try:
            result = evaluate(
                metric, shared["db"], options,
                framework=shared["framework"], by=by,
                where=tuple(shared["where"] or ()), as_of=shared["as_of"],
                tz="UTC" if shared["tz"] is None else shared["tz"], announce=notes.append,
                engine=str(shared["engine"] or "duckdb"), events=shared["events"],
                spark_master=shared["spark_master"], spark_remote=shared["spark_remote"],
            )
        except UsageError:
            raise
        except BaseException:
            for note in notes:
                announce(note)
            raise
        for note in notes:
            announce(note)
        p = result.presentation
        print_rows(stdout, result.rows, result.columns, shared["output_format"],
                   title=p.title, highlight=p.highlight, caption=p.caption)

    parameters = _shared_parameters(metric)
    # the metric's own options go after --framework/--db, before the shared tail
    head = 2 if metric.framework else 1
    own = [_parameter(o, metric) for o in metric.options]
    parameters = parameters[:head] + own + parameters[head:]
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__doc__ = metric.help
    command.__name__ = metric.name.replace("-", "_")
    return command


def add_metric_commands(only: str | None = None) -> None:
    """Register one Typer command per metric that has one (idempotent per metric). `only`: the
    command about to run; when a built-in metric has that name, only it is registered (Typer
    builds every registered command's options at each call)."""
    known = {c.name for c in app.registered_commands}
    wanted = built_in(only) if only else None
    for metric in [wanted] if wanted is not None and wanted.command else metrics():
        if metric.command and metric.name not in known:
            app.command(name=metric.name, help=metric.help)(_command(metric))
