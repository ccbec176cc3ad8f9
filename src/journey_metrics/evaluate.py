"""Evaluate a registered metric on a warehouse: the one path the CLI and the Python API take.

Open the warehouse read-only, resolve `--tz` and `--as-of`, load the framework, make the segment's
population, call the metric's compute function, close. A notebook or a command holds the
warehouse only for this one call, so it never blocks the nightly run for longer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from journey_metrics.metrics.registry import Column, Context, Metric, Presentation, Rows


@dataclass
class Result:
    rows: Rows
    columns: tuple[Column, ...]
    presentation: Presentation


def evaluate(
    metric: Metric,
    db: Path,
    options: Mapping[str, Any],
    *,
    framework: str | None = None,
    by: str | None = None,
    where: tuple[str, ...] = (),
    as_of: str | None = None,
    tz: str = "UTC",
    announce: Callable[[str], None] = lambda _message: None,
    engine: str = "duckdb",
    events: str | None = None,
    spark_master: str | None = None,
    spark_remote: str | None = None,
) -> Result:
    from journey_metrics.config import load_framework
    from journey_metrics.errors import UsageError
    from journey_metrics.metrics.common import zone
    from journey_metrics.metrics.segments import parse_segment
    from journey_metrics.sql import sql_engine

    if metric.framework and metric.framework_required and not framework:
        raise UsageError(f"{metric.name}: --framework is required")
    spec = load_framework(framework, warn=announce) if metric.framework and framework else None
    if by is not None and not (metric.segments and metric.segment_by):
        raise UsageError(f"{metric.name} takes no --by segment"
                         + (" (its --by is its own option: group_by)" if metric.segments else ""))
    if where and not metric.segments:
        raise UsageError(f"{metric.name} takes no --where")
    segment = parse_segment(by, where)
    zone_info = zone(tz)
    tz = zone_info.key  # as the zone database spells it (`--tz utc` is UTC)
    values = {**metric.defaults(), **{k: v for k, v in options.items() if v is not None}}
    for option in metric.options:
        if option.required and values.get(option.name) in (None, ""):
            raise UsageError(f"{metric.name}: {option.cli_flag} is required")
    # --engine / --events (CONTRACT §12): the warehouse, or a lake on DuckDB or Spark; SQL files
    # with a variant for the engine (`x.spark.sql`) are read in their variant
    with sql_engine(engine):
        return _evaluate(metric, db, values, framework, spec, segment, by, as_of, tz, zone_info,
                         announce, engine, events, spark_master, spark_remote)


def _evaluate(
    metric: Metric, db: Path, values: dict[str, Any], framework: str | None, spec: Any,
    segment: Any, by: str | None, as_of: str | None, tz: str, zone_info: Any,
    announce: Callable[[str], None], engine: str, events: str | None,
    spark_master: str | None, spark_remote: str | None,
) -> Result:
    from journey_metrics.engines import open_engine
    from journey_metrics.metrics.common import as_of_label, resolve_as_of
    from journey_metrics.metrics.segments import prepare_population, shown_group

    con = open_engine(engine, db, events=events, spark_master=spark_master,
                      spark_remote=spark_remote, tz=tz)
    try:
        as_of_at = resolve_as_of(con, as_of, zone_info)
        ctx = Context(con=con, as_of=as_of_at, tz=tz, zone=zone_info, framework=spec,
                      segment=segment, announce=announce)
        rows = (_materialised(con, metric, framework, values, segment, as_of, tz)
                if engine == "duckdb" and events is None else None)
        if rows is None:
            prepare_population(con, segment, as_of_at)
            rows = metric.compute(ctx, **values)
        if not rows:
            note_unknown_events(con, metric, values, announce)
        if segment.where:
            note_unmatched_where(con, segment.where, announce)
        if segment.by_trait is not None:
            note_unknown_trait(con, segment.by_trait, announce)
        presentation = (metric.present(values, ctx, rows) if metric.present
                        else Presentation(title=metric.name))
        # every table says which moment it describes, in the command's --tz (decision 237)
        presentation = replace(
            presentation, title=f"{presentation.title}, {as_of_label(as_of_at, zone_info)}")
        if segment.grouped:  # after the captions, which find everybody's group by its name
            rows = [{**row, "group": shown_group(row["group"])} if "group" in row else row
                    for row in rows]
    finally:
        con.close()
    return Result(rows, metric.columns_for({**values, "by": by}), presentation)


def _materialised(
    con: Any, metric: Metric, framework: str | None, values: Mapping[str, Any],
    segment: Any, as_of: str | None, tz: str,
) -> Rows | None:
    """The rows `run` stored for exactly this invocation, if they are current."""
    from journey_metrics import marts

    if segment.by or segment.where or as_of is not None or tz != marts.REPORT_TZ:
        return None
    key = marts.metric_key(metric.name, framework, {**metric.defaults(), **values})
    if not any(marts.metric_key(*known) == key for known in marts.invocations(metric)):
        return None
    stored = marts.read(con, key)
    return stored if isinstance(stored, list) else None


def note_unknown_events(con: Any, metric: Metric, values: Mapping[str, Any],
                        announce: Callable[[str], None]) -> None:
    """A result without rows for an event name that no event has is most likely a typo: say so,
    with the closest names (a note on stderr; the rows and the exit status stay)."""
    import difflib

    asked = [(o.cli_flag, values[o.name]) for o in metric.options
             if isinstance(values.get(o.name), str) and values[o.name]
             and (o.names_event is True or (isinstance(o.names_event, tuple)
                                            and values.get(o.names_event[0]) == o.names_event[1]))]
    if not asked:
        return
    known = [str(row[0]) for row in con.execute(
        "SELECT DISTINCT event_name FROM events WHERE event_name IS NOT NULL").fetchall()]
    for flag, name in asked:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            announce(f"{flag}: no event is named {name!r}{hint}")


def note_unknown_trait(con: Any, trait: str, announce: Callable[[str], None]) -> None:
    """`--by trait:<name>` for a trait no person has ever had puts everybody in `(none)`, which
    reads as a real result (a misspelt name, most likely): say so, as for --where (a note)."""
    if con.execute("SELECT count(*) FROM (SELECT 1 FROM fct_traits WHERE trait = $trait"
                   " LIMIT 1) AS t", {"trait": trait}).fetchall()[0][0]:
        return
    announce(f"--by trait:{trait}: no person has a trait {trait!r}{_known_traits(con)}")


def _known_traits(con: Any) -> str:
    """The trait names there are (the first ten), for a note about one that is not."""
    known = [str(row[0]) for row in con.execute(
        "SELECT DISTINCT trait FROM fct_traits ORDER BY 1 LIMIT 11").fetchall()]
    listed = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
    return f" (traits: {listed})" if known else " (there are no traits)"


def note_unmatched_where(con: Any, where: tuple[tuple[str, str], ...],
                         announce: Callable[[str], None]) -> None:
    """A `--where trait:<name>=<value>` that no person has ever had leaves every count at zero,
    which reads as a real result: say so, with the names or values there are (a note)."""
    found: dict[str, set[str]] = {}
    for trait in sorted({name for name, _ in where}):  # (scalar parameters: both engines)
        rows = con.execute("SELECT DISTINCT value FROM fct_traits WHERE trait = $trait",
                           {"trait": trait}).fetchall()
        if rows:
            found[trait] = {str(row[0]) for row in rows}
    for name, value in where:
        if name not in found:
            announce(f"--where trait:{name}={value}: no person has a trait {name!r}"
                     + _known_traits(con))
        elif value not in found[name]:
            values = sorted(found[name])
            listed = ", ".join(values[:10]) + (", ..." if len(values) > 10 else "")
            announce(f"--where trait:{name}={value}: no person has {name} {value!r}"
                     f" (values: {listed})")
