"""NPS per period and group (CONTRACT §4 NPS)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from journey_metrics.sql import fill_snippets, used_parameters

NPS_COLUMNS = ("group", "period", "respondents", "promoters", "passives", "detractors", "nps")


def compute_nps(
    con: duckdb.DuckDBPyConnection, *, period: str, tz: str, as_of: datetime, by_channel: bool
) -> list[dict[str, Any]]:
    sql = fill_snippets(
        "marts/fct_nps.sql",
        group_name="CASE WHEN grouping(p.channel) = 1 THEN 'all' ELSE p.channel END"
        if by_channel else "'all'",
        grouping="GROUPING SETS ((a.period_start), (p.channel, a.period_start))"
        if by_channel else "a.period_start",
    )
    params = {"as_of": as_of, "tz": tz, "period": period}
    result = con.execute(sql, used_parameters(sql, params))
    columns = [d[0] for d in result.description]
    rows = []
    for values in result.fetchall():
        row = dict(zip(columns, values, strict=True))
        row["group"] = row.pop("group_name")
        respondents = row["respondents"]
        row["nps"] = 100.0 * (row["promoters"] - row["detractors"]) / respondents
        rows.append({c: row[c] for c in NPS_COLUMNS})
    return rows
