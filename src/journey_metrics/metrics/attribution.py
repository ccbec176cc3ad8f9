"""Attribution (CONTRACT §9): which channels and campaigns earn the conversions.

Conversions are the events of `--conversion EVENT` or of a framework stage (`--framework F
--stage S`); touches are web sessions and email clicks within `--lookback` before a conversion.
All models are computed in one pass (sql/marts/attribution/fct_attribution.sql); this module
checks the options, verifies that every additive model adds up to the totals (a mismatch is a
bug, never a result), and joins the optional spend file (cost, CPA, ROAS).
"""

from __future__ import annotations

import csv
import math
import string
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from journey_metrics.errors import RunError, UsageError
from journey_metrics.metrics.registry import (
    Column,
    Context,
    Kind,
    Metric,
    Option,
    Presentation,
    Rows,
    Section,
    register,
)
from journey_metrics.sql import fill_snippets, used_parameters

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    import duckdb

    from journey_metrics.config import Framework
    from journey_metrics.report.data import ReportContext

MODELS = ("first", "last", "last_non_direct", "linear", "position", "time_decay",
          "participation")
ADDITIVE_MODELS = frozenset(MODELS) - {"participation"}
GROUPS = ("channel", "campaign")
PATH_TRANSFORMS = ("none", "exposure")
NONE_GROUP = "(none)"
FAR_PAST = datetime(1, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)
SPEND_COLUMNS = ("date", "channel", "campaign", "cost")
ATTRIBUTION_COLUMNS = ("model", "group", "conversions", "revenue", "share")
SPEND_RESULT_COLUMNS = ("cost", "cpa", "roas")

_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


@dataclass(frozen=True)
class AttributionQuery:
    as_of: datetime
    conversion_event: str | None = None  # either an event name ...
    framework: Framework | None = None  # ... or a framework and one of its stages
    stage: str | None = None
    models: tuple[str, ...] = MODELS
    lookback: timedelta = timedelta(days=30)
    half_life: timedelta = timedelta(days=7)
    group_by: str = "channel"
    path_transform: str = "none"
    from_at: datetime | None = None
    to_at: datetime | None = None
    only_population: bool = False  # --where: conversions of the TEMP view `population` only
    # --currency: only conversions in it (or naming none) carry their revenue; None: every
    # conversion's revenue as written (CONTRACT §9), whatever its currency
    currency: str | None = None


def parse_models(values: tuple[str, ...] | list[str] | str | None) -> tuple[str, ...]:
    """`--model` values (repeatable; `all` = every model in canonical order), deduplicated in
    the order given; none given = all."""
    if isinstance(values, str):
        values = (values,)
    chosen: list[str] = []
    for value in values or ("all",):
        for name in (MODELS if value.strip() == "all" else (value.strip(),)):
            if name not in MODELS:
                raise UsageError(f"--model: {name!r} must be one of {', '.join(MODELS)} or all")
            if name not in chosen:
                chosen.append(name)
    return tuple(chosen)


def _conversion_sql(q: AttributionQuery) -> tuple[str, dict[str, Any]]:
    if (q.conversion_event is None) == (q.framework is None):
        raise UsageError("attribution: give either --conversion EVENT or --framework F --stage S")
    if q.framework is None:
        return "event_name = $conversion_event", {"conversion_event": q.conversion_event}
    from journey_metrics.metrics.retention import stage_index
    from journey_metrics.stages import compile_stages

    if not q.stage:
        raise UsageError("attribution: --framework needs --stage S (the conversion stage)")
    stages = compile_stages(q.framework)
    return stages.expressions[stage_index(q.framework, q.stage, "--stage")], stages.params


def _population_filter(q: AttributionQuery) -> str:
    """With --where: only the conversions of the persons in the TEMP view `population`."""
    return ("AND person_id IN (SELECT person_id FROM population)" if q.only_population
            else "")


def attribution_rows(con: duckdb.DuckDBPyConnection, q: AttributionQuery) -> Rows:
    """Rows (model, group, conversions, revenue, share), checked for additivity."""
    if q.group_by not in GROUPS:
        raise UsageError(f"--by: {q.group_by!r} must be channel or campaign")
    if q.path_transform not in PATH_TRANSFORMS:
        raise UsageError(f"--path-transform: {q.path_transform!r} must be none or exposure")
    match, params = _conversion_sql(q)
    sql = fill_snippets("marts/attribution/fct_attribution.sql",
                        conversion_match=match, group_column=q.group_by,
                        population_filter=_population_filter(q))
    params = {
        **params, "as_of": q.as_of, "from_at": q.from_at or FAR_PAST,
        "to_at": q.to_at or FAR_FUTURE, "lookback": q.lookback,
        "half_life_seconds": q.half_life.total_seconds(),
        "exposure": q.path_transform == "exposure", "models": list(q.models),
        # upper case of ASCII letters only, as the SQL's jm_upper_ascii (decision 224)
        "currency": q.currency.strip().translate(_ASCII_UPPER) if q.currency else None,
    }
    result = con.execute(sql, used_parameters(sql, params))
    rows: Rows = []
    totals = (0, 0.0)
    for model, group, conversions, revenue, total_conversions, total_revenue in result.fetchall():
        totals = (total_conversions, total_revenue)
        rows.append({"model": model, "group": group, "conversions": conversions,
                     "revenue": revenue, "share": conversions / total_conversions})
    check_additive(rows, *totals)
    return rows


def check_additive(rows: Rows, total_conversions: int, total_revenue: float) -> None:
    """Every additive model's credits add up to the conversions and the revenue (the data test
    of CONTRACT §9, run on every command): a mismatch is a bug in the engine, so it fails."""
    by_model: dict[str, list[float]] = {}
    for row in rows:
        if row["model"] in ADDITIVE_MODELS:
            sums = by_model.setdefault(row["model"], [0.0, 0.0])
            sums[0] += row["conversions"]
            sums[1] += row["revenue"]
    for model, (conversions, revenue) in by_model.items():
        slack = 1e-6 * (1 + len(rows))
        if (not math.isclose(conversions, total_conversions, rel_tol=1e-9, abs_tol=slack)
                or not math.isclose(revenue, total_revenue, rel_tol=1e-9, abs_tol=slack)):
            raise RunError(
                f"attribution: model {model} credits {conversions} conversions and {revenue} "
                f"revenue, but there are {total_conversions} conversions worth {total_revenue} "
                "(a bug: please report it)")


# --- spend (cost, CPA, ROAS) ------------------------------------------------------------------


@dataclass(frozen=True)
class SpendRow:
    day: date
    channel: str
    campaign: str | None
    cost: float


def read_spend(path: Path) -> list[SpendRow]:
    """The spend CSV (`date,channel,campaign,cost`; campaign may be empty or absent). A bad row
    is a UsageError naming the file and line: nothing is half read."""
    def bad(line: int, reason: str) -> UsageError:
        return UsageError(f"--spend: {path}:{line}: {reason}")

    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise UsageError(f"--spend: cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise bad(1, "empty file: expected the header date,channel,campaign,cost") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise bad(1, f"unreadable: {exc}") from None
        unknown = [h for h in header if h not in SPEND_COLUMNS]
        if unknown:
            raise bad(1, f"unknown column(s) {', '.join(map(repr, unknown))}: "
                      "expected date,channel,campaign,cost")
        missing = [c for c in ("date", "channel", "cost") if c not in header]
        if missing or len(set(header)) != len(header):
            raise bad(1, "the header must name date, channel, cost (and campaign) once each")
        rows: list[SpendRow] = []
        try:
            for record in reader:
                line = reader.line_num
                if not any(field.strip() for field in record):
                    continue
                if len(record) != len(header):
                    raise bad(line, f"{len(record)} fields, the header has {len(header)}")
                values = {k: v.strip() for k, v in zip(header, record, strict=True)}
                try:
                    day = date.fromisoformat(values["date"])
                except ValueError:
                    raise bad(line, f"date {values['date']!r} is not YYYY-MM-DD") from None
                try:
                    cost = float(values["cost"])
                except ValueError:
                    raise bad(line, f"cost {values['cost']!r} is not a number") from None
                if not math.isfinite(cost):
                    raise bad(line, f"cost {values['cost']!r} is not a number")
                if cost < 0:
                    raise bad(line, f"cost {values['cost']!r} is negative")
                if not values["channel"]:
                    raise bad(line, "channel is empty")
                rows.append(SpendRow(day, values["channel"], values.get("campaign") or None,
                                     cost))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise bad(reader.line_num, f"unreadable: {exc}") from None
    return rows


def spend_by_group(spend: list[SpendRow], group_by: str, zone: ZoneInfo,
                   from_at: datetime | None, to_at: datetime | None) -> dict[str, float]:
    """Cost per group of the spend days whose start (midnight in `zone`) lies in [from, to)
    (CONTRACT §9: unlike the conversions, cost is not cut at as_of)."""
    cost: dict[str, float] = {}
    for row in spend:
        start = datetime.combine(row.day, time(0), zone).astimezone(UTC)
        if start < (from_at or FAR_PAST) or start >= (to_at or FAR_FUTURE):
            continue
        group = row.channel if group_by == "channel" else (row.campaign or NONE_GROUP)
        cost[group] = cost.get(group, 0.0) + row.cost
    return cost


def add_spend(rows: Rows, cost: Mapping[str, float], models: tuple[str, ...]) -> Rows:
    """cost, cpa, roas on every row; a group with spend but no credit gets a row of 0
    conversions under each model (money spent on nothing is what a marketer looks for)."""
    out: Rows = []
    for model in models:
        of_model = [dict(r) for r in rows if r["model"] == model]
        seen = {r["group"] for r in of_model}
        of_model += [{"model": model, "group": g, "conversions": 0.0, "revenue": 0.0,
                      "share": 0.0 if rows else None}
                     for g in cost if g not in seen]
        # in the rows' order (conversions descending, then group), those of spend alone too
        of_model.sort(key=lambda r: (-r["conversions"], r["group"]))
        for row in of_model:
            spent = cost.get(row["group"], 0.0)
            row["cost"] = spent
            # null only where the division is undefined (CONTRACT §9): no conversions for cpa,
            # no cost for roas; a group that cost nothing has cpa 0
            row["cpa"] = spent / row["conversions"] if row["conversions"] else None
            row["roas"] = row["revenue"] / spent if spent else None
        out += of_model
    return out


# --- the declaration (metrics/registry.py) -------------------------------------------------------


def attribution_query(ctx: Context, **options: Any) -> AttributionQuery:
    """The AttributionQuery of a command's options (a bad value is a UsageError)."""
    from journey_metrics.config import parse_window
    from journey_metrics.metrics.common import parse_range

    if ctx.segment.grouped:
        raise UsageError("attribution: groups are the touches' channel or campaign "
                         "(--by channel|campaign, group_by= in Python)")
    durations = {}
    for name, flag, default in (("lookback", "--lookback", "30d"),
                                ("half_life", "--half-life", "7d")):
        try:
            durations[name] = parse_window(options.get(name) or default,
                                           zero=name == "lookback")
        except ValueError as exc:
            raise UsageError(f"{flag}: {exc}") from None
    span = parse_range(options.get("from_"), options.get("to"), ctx.zone)
    if options.get("stage") and ctx.framework is None:
        raise UsageError("attribution: --stage needs --framework F")
    return AttributionQuery(
        as_of=ctx.as_of,
        conversion_event=options.get("conversion") or None,
        framework=ctx.framework,
        stage=options.get("stage"),
        models=parse_models(options.get("model")),
        lookback=durations["lookback"],
        half_life=durations["half_life"],
        group_by=options.get("group_by") or "channel",
        path_transform=options.get("path_transform") or "none",
        from_at=span[0],
        to_at=span[1],
        currency=options.get("currency") or None,
    )


def value_currencies(con: duckdb.DuckDBPyConnection, q: AttributionQuery) -> list[str]:
    """The currencies the conversions' revenue is in (`properties.currency`, upper-cased), for a
    note when they are several and no --currency picks one: the sum would mix them."""
    match, params = _conversion_sql(q)
    sql = fill_snippets("marts/attribution/value_currencies.sql", conversion_match=match,
                        population_filter=_population_filter(q))
    params = {**params, "as_of": q.as_of, "from_at": q.from_at or FAR_PAST,
              "to_at": q.to_at or FAR_FUTURE}
    return [row[0] for row in con.execute(sql, used_parameters(sql, params)).fetchall()]


def _compute(ctx: Context, **options: Any) -> Rows:
    q = replace(attribution_query(ctx, **options), only_population=bool(ctx.segment.where))
    spend = read_spend(Path(options["spend"])) if options.get("spend") else None
    rows = attribution_rows(ctx.con, q)
    if q.currency is None:
        currencies = value_currencies(ctx.con, q)
        if len(currencies) > 1:
            ctx.announce(f"attribution: revenue adds conversions in {len(currencies)} currencies"
                         f" ({', '.join(currencies)}) as written; --currency "
                         f"{currencies[0]} keeps only that one's revenue")
    if spend is None:
        return rows
    cost = spend_by_group(spend, q.group_by, ctx.zone, q.from_at, q.to_at)
    return add_spend(rows, cost, q.models)


def _columns(options: Mapping[str, Any]) -> tuple[Column, ...]:
    spend = (Column("cost", Kind.money), Column("cpa", Kind.money, "cost per conversion"),
             Column("roas", Kind.number, "revenue / cost")) if options.get("spend") else ()
    return (Column("model", Kind.text), Column("group", Kind.text),
            Column("conversions", Kind.number, "sum of credit"),
            Column("revenue", Kind.money, "sum of credit x value"),
            Column("share", Kind.ratio, "conversions / all conversions"), *spend)


def _present(options: Mapping[str, Any], ctx: Context, rows: Rows) -> Presentation:
    what = (f"{ctx.framework.label} stage {options.get('stage')}" if ctx.framework
            else str(options.get("conversion")))
    transform = options.get("path_transform") or "none"
    return Presentation(
        title=f"Attribution of {what} by {options.get('group_by') or 'channel'}, lookback "
        f"{options.get('lookback') or '30d'}"
        + (", exposure paths" if transform == "exposure" else ""),
        caption="participation credits every group on the path: its shares add up to more "
        "than 100%" if any(r["model"] == "participation" for r in rows) else None,
    )


def _collect(ctx: ReportContext) -> dict[str, Any]:
    """Dashboard: credit per channel under every model for the journey framework's conversion
    stage; cost, CPA and ROAS when a spend file is configured (report --spend / spend:)."""
    from journey_metrics.metrics._money import reporting_currency
    from journey_metrics.metrics.common import zone

    journey = ctx.framework(ctx.settings.journey_framework)
    names = [s.name for s in journey.stages]
    stage = ctx.settings.conversion_stage
    if stage not in names:
        stage = names[min(2, len(names) - 1)]
    # the page's money is in one currency (its header names it; revenue and LTV keep it too)
    currency = reporting_currency(ctx.con, None, ctx.as_of)
    q = AttributionQuery(as_of=ctx.as_of, framework=journey, stage=stage, currency=currency)
    rows = attribution_rows(ctx.con, q)
    spend_file = ctx.spend
    if spend_file is not None:
        cost = spend_by_group(read_spend(spend_file), "channel", zone(ctx.tz), None, None)
        rows = add_spend(rows, cost, q.models)
    return {"framework": journey.name, "stage": stage, "spend": spend_file is not None,
            "currency": currency, "rows": rows}


ATTRIBUTION = register(Metric(
    name="attribution",
    help="Credit for conversions per channel or campaign under attribution models, with cost, "
    "CPA and ROAS from a spend file (CONTRACT §9).",
    columns=_columns,
    compute=_compute,
    framework=True,
    framework_required=False,
    segment_by=False,  # its own --by: the touch's channel or campaign; --where still applies
    options=(
        Option("conversion", "Conversion event name (or --framework F --stage S).",
               names_event=True),
        Option("stage", "The framework stage whose events are the conversions."),
        Option("model", f"Model (repeatable): {', '.join(MODELS)} or all (default all).",
               multiple=True),
        Option("lookback", "Touches this long before a conversion count, e.g. 30d.", "30d"),
        Option("half_life", "Half-life of the time_decay model, e.g. 7d.", "7d"),
        Option("group_by", "Credit channels or campaigns.", "channel", choices=GROUPS,
               flag="--by"),
        Option("path_transform", "exposure: merge consecutive touches of one group first.",
               "none", choices=PATH_TRANSFORMS),
        Option("spend", "CSV date,channel,campaign,cost: adds cost, cpa, roas."),
        Option("currency", "Only conversions in this currency (or naming none) carry their "
               "revenue; the others count with value 0. Default: every revenue as written."),
        Option("from_", "Conversions from this date or instant.", flag="--from"),
        Option("to", "Conversions before this date or instant."),
    ),
    present=_present,
    sections=(Section("attribution", _collect,
                      "journey_metrics.charts.attribution:attribution_blocks", order=21),),
    examples=(
        "journey-metrics attribution --conversion order_completed",
        "journey-metrics attribution --framework aarrr --stage revenue --model last "
        "--model linear --by campaign",
        "journey-metrics attribution --conversion order_completed --model linear --currency EUR",
    ),
))
