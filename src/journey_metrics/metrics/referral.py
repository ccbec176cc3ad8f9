"""Referral per period (CONTRACT §4 Referral)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from journey_metrics.metrics.common import ratio
from journey_metrics.sql import load_sql, used_parameters

REFERRAL_COLUMNS = (
    "period", "active_persons", "referrers", "invites_sent", "signups", "referred_signups",
    "referral_rate", "invite_conversion_rate", "k_factor", "referred_share",
)


def compute_referral(
    con: duckdb.DuckDBPyConnection, *, period: str, tz: str, as_of: datetime
) -> list[dict[str, Any]]:
    sql = load_sql("marts/fct_referral.sql")
    params = {"as_of": as_of, "tz": tz, "period": period}
    result = con.execute(sql, used_parameters(sql, params))
    columns = [d[0] for d in result.description]
    rows = [dict(zip(columns, row, strict=True)) for row in result.fetchall()]
    for row in rows:
        row["referral_rate"] = ratio(row["referrers"], row["active_persons"])
        row["invite_conversion_rate"] = ratio(row["referred_signups"], row["invites_sent"])
        row["k_factor"] = ratio(row["referred_signups"], row["active_persons"])
        row["referred_share"] = ratio(row["referred_signups"], row["signups"])
    return rows
