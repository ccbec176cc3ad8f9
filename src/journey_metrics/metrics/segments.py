"""Segments (CONTRACT §6): `--by channel | campaign | trait:<name>` and `--where trait:k=v`.

A command makes the TEMP view `population(person_no, person_id, group_name)` once; every mart
joins it and groups by `group_name`, so grouping and filtering are written once, not in each
metric. Without --where, and with --by channel or none, it is a view of the warehouse's
`persons` table (sql/intermediate/int_population_persons.sql); otherwise, or when `persons` is
itself a view, a view of the TEMP table `population_rows` (sql/intermediate/int_population.sql),
so the name is always a view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from journey_metrics.errors import UsageError
from journey_metrics.sql import (
    _ENGINE,
    check_identifier,
    fill_snippets,
    load_sql,
    used_parameters,
)

if TYPE_CHECKING:
    import duckdb

TRAIT_PREFIX = "trait:"
# The group of the persons whose campaign or trait value is `all`, kept apart from everybody's
# group `all` (marts group by the name: one name would count them twice there); every output
# shows it as `all` again (`shown_group`). A control character: no value a source writes.
VALUE_ALL = "\x01all"


def shown_group(group: object) -> object:
    """A group's name as output shows it: the value `all` as written."""
    return "all" if group == VALUE_ALL else group


@dataclass(frozen=True)
class Segment:
    by: str | None = None  # "channel", "campaign" or "trait:<name>"
    where: tuple[tuple[str, str], ...] = ()  # (trait name, value), all must hold

    @property
    def grouped(self) -> bool:
        return self.by is not None

    @property
    def by_trait(self) -> str | None:
        return self.by[len(TRAIT_PREFIX):] if self.by and self.by.startswith(TRAIT_PREFIX) else None

    def key(self) -> str:
        """A stable text for this segment (part of a materialised mart's key)."""
        where = ";".join(f"{k}={v}" for k, v in self.where)
        return f"by={self.by or ''}|where={where}"


def parse_segment(by: str | None, where: tuple[str, ...] | list[str] = ()) -> Segment:
    """Check `--by` and `--where` and return the segment (UsageError names the option)."""
    if by is not None:
        by = by.strip()
        if by.startswith(TRAIT_PREFIX):
            check_identifier(by[len(TRAIT_PREFIX):], "--by trait name")
        elif by not in ("channel", "campaign"):
            raise UsageError(f"--by: {by!r} must be channel, campaign or trait:<name>")
    conditions = []
    for text in where:
        name, sep, value = text.partition("=")
        if not name.startswith(TRAIT_PREFIX) or not sep:
            raise UsageError(f"--where: {text!r} must look like trait:<name>=<value>")
        conditions.append((check_identifier(name[len(TRAIT_PREFIX):].strip(),
                                            "--where trait name"), value))
    return Segment(by, tuple(conditions))


def prepare_population(
    con: duckdb.DuckDBPyConnection, segment: Segment, as_of: datetime, *,
    traits_ready: bool = False,
) -> None:
    """(Re)create the TEMP view `population` for this segment and as_of. `traits_ready`: the
    TEMP table person_traits already holds every person's traits at this as_of (a caller that
    segments by several traits in a row computes them once)."""
    # The stored person channel is the one over all events; with events after as_of it is
    # computed at as_of instead (CONTRACT §4: events after as_of are ignored), as --by campaign is.
    channel_at_as_of = segment.by == "channel" and _events_after(con, as_of)
    if (not segment.where and segment.by in (None, "channel") and not channel_at_as_of
            and _persons_stored(con)):
        con.execute("CREATE OR REPLACE TEMP VIEW population AS " + fill_snippets(
            "intermediate/int_population_persons.sql",
            by_channel="true" if segment.by == "channel" else "false"))
        return
    traits_needed = segment.by_trait is not None or bool(segment.where)
    group_value = {"channel": "c.first_value" if channel_at_as_of else "p.channel",
                   "campaign": "c.first_value", None: "NULL"}.get(segment.by, "t.value")
    first_values = ("intermediate/int_first_campaigns.sql" if segment.by == "campaign"
                    else "intermediate/int_first_channels.sql" if channel_at_as_of else None)
    trait_join = ""
    if segment.by_trait is not None:
        trait_join = ("LEFT JOIN person_traits AS t"
                      " ON t.person_id = p.person_id AND t.trait = $by_trait")
    conditions = [
        f"EXISTS (SELECT 1 FROM person_traits AS w WHERE w.person_id = p.person_id"
        f" AND w.trait = $where_trait_{i} AND w.value = $where_value_{i})"
        for i in range(len(segment.where))
    ]
    params: dict[str, object] = {"as_of": as_of, "by_trait": segment.by_trait,
                                 "value_all": VALUE_ALL}
    for i, (name, value) in enumerate(segment.where):
        params[f"where_trait_{i}"], params[f"where_value_{i}"] = name, value
    if traits_needed and not traits_ready:
        traits_sql = load_sql("intermediate/int_person_traits.sql")
        con.execute(f"CREATE OR REPLACE TEMP TABLE person_traits AS {traits_sql}",
                    used_parameters(traits_sql, params))
    sql = fill_snippets(
        "intermediate/int_population.sql",
        group_value=group_value,
        first_values=load_sql(first_values) if first_values
        else "SELECT NULL::VARCHAR AS person_id, NULL::VARCHAR AS first_value WHERE false",
        trait_join=trait_join,
        where=" AND ".join(conditions) or "true",
        grouped="true" if segment.grouped else "false",
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE population_rows AS {sql}",
                used_parameters(sql, params))
    population_from(con, "population_rows")


def _events_after(con: duckdb.DuckDBPyConnection, as_of: datetime) -> bool:
    """Whether any event lies after as_of (then a stored person channel may be a later one)."""
    found = con.execute("SELECT count(*) FROM (SELECT 1 FROM fct_events WHERE occurred_at > $as_of"
                        " LIMIT 1) AS later", {"as_of": as_of})
    return int(found.fetchall()[0][0]) > 0


def _persons_stored(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `persons` is the warehouse's table, cheap to read in every query. A view (a lake's
    Parquet, channels re-derived under changed rules: channels.py) or a Spark session is read
    once into `population_rows` instead."""
    if _ENGINE.get() != "duckdb":
        return False
    found = con.execute("SELECT count(*) FROM duckdb_views() WHERE lower(view_name) = 'persons'")
    return int(found.fetchall()[0][0]) == 0


def population_from(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Point the TEMP view `population` at the rows of TEMP table `table` (a caller's own
    population, e.g. the dashboard's segments)."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW population AS SELECT * FROM {table}")
