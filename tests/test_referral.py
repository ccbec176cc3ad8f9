"""Referral golden cases, computed by hand (CONTRACT §4 "All times...", "Activity", "Referral")."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from conftest import at
from journey_metrics.metrics.referral import compute_referral

# (event_id, person_id, event_name, ISO 8601 instant, invite_code or None)
Event = tuple[str, str, str, str, str | None]


def referral(con: duckdb.DuckDBPyConnection, events: list[Event], *, as_of: str,
             period: str = "month", tz: str = "UTC") -> list[dict[str, Any]]:
    con.execute("""
        CREATE OR REPLACE TABLE fct_events (
            person_id VARCHAR, person_no BIGINT, event_id VARCHAR, source VARCHAR,
            event_name VARCHAR, occurred_at TIMESTAMPTZ, channel VARCHAR, properties JSON)
    """)
    con.execute("CREATE OR REPLACE TABLE persons "
                "(person_id VARCHAR, person_no BIGINT, channel VARCHAR, first_seen_at TIMESTAMPTZ)")
    numbers = {p: n for n, p in enumerate(sorted({e[1] for e in events}), start=1)}
    con.executemany(
        "INSERT INTO fct_events VALUES (?, ?, ?, 'web', ?, ?, 'direct', ?)",
        [[p, numbers[p], i, n, at(t), json.dumps({} if code is None else {"invite_code": code})]
         for i, p, n, t, code in events],
    )
    con.execute("INSERT INTO persons SELECT person_id, person_no, 'direct', min(occurred_at) "
                "FROM fct_events GROUP BY person_id, person_no")
    return compute_referral(con, period=period, tz=tz, as_of=at(as_of))


def row(period: str, active: int, referrers: int, invites: int, signups: int,
        referred: int) -> dict[str, Any]:
    """An expected row; the rates are the contract's ratios (null when the denominator is 0)."""
    return {
        "period": period, "active_persons": active, "referrers": referrers,
        "invites_sent": invites, "signups": signups, "referred_signups": referred,
        "referral_rate": referrers / active if active else None,
        "invite_conversion_rate": referred / invites if invites else None,
        "k_factor": referred / active if active else None,
        "referred_share": referred / signups if signups else None,
    }


def test_one_month_of_referrals(con: duckdb.DuckDBPyConnection) -> None:
    rows = referral(con, [
        ("1", "a", "invite_sent", "2024-03-01T10:00:00Z", "A"),
        ("2", "a", "invite_sent", "2024-03-02T10:00:00Z", "A"),  # a second invite, same referrer
        ("3", "b", "signed_up", "2024-03-05T10:00:00Z", "A"),  # referred by a
        ("4", "c", "invite_sent", "2024-03-03T10:00:00Z", "C"),
        ("5", "c", "signed_up", "2024-03-04T10:00:00Z", "C"),  # self-invite: not referred
        ("6", "d", "signed_up", "2024-03-06T10:00:00Z", "UNKNOWN"),  # nobody sent it
        ("7", "e", "signed_up", "2024-03-07T10:00:00Z", None),  # first signup, no code
        ("8", "e", "signed_up", "2024-03-08T10:00:00Z", "A"),  # second signup: ignored
        ("9", "f", "signed_up", "2024-03-09T10:00:00Z", "F"),
        ("10", "g", "invite_sent", "2024-03-10T10:00:00Z", "F"),  # after f's signup: no
        ("11", "h", "signed_up", "2024-03-11T10:00:00Z", "H"),
        ("12", "i", "invite_sent", "2024-03-11T10:00:00Z", "H"),  # at the same instant: yes
        ("13", "j", "identify", "2024-03-12T10:00:00Z", None),  # not activity
        ("14", "j", "email_delivered", "2024-03-12T10:00:00Z", None),  # not activity
        ("15", "k", "email_open", "2024-03-12T10:00:00Z", None),  # activity
    ], as_of="2024-03-31T00:00:00Z")
    # active: a b c d e f g h i k (not j); referrers a c g i; invites 5;
    # signups b c d e f h; referred b h
    assert rows == [row("2024-03-01", 10, 4, 5, 6, 2)]
    assert rows[0]["referral_rate"] == 0.4
    assert rows[0]["invite_conversion_rate"] == 0.4
    assert rows[0]["k_factor"] == 0.2
    assert rows[0]["referred_share"] == 2 / 6


def test_only_the_first_signup_counts(con: duckdb.DuckDBPyConnection) -> None:
    # e's second signup (April) carries a valid code sent before it, but it is not e's signup.
    rows = referral(con, [
        ("1", "a", "invite_sent", "2024-03-01T10:00:00Z", "A"),
        ("2", "e", "signed_up", "2024-03-07T10:00:00Z", None),
        ("3", "e", "signed_up", "2024-04-02T10:00:00Z", "A"),
    ], as_of="2024-04-30T00:00:00Z")
    assert rows == [row("2024-03-01", 2, 1, 1, 1, 0), row("2024-04-01", 1, 0, 0, 0, 0)]


def test_first_signup_referred_even_if_a_later_one_is_not(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rows = referral(con, [
        ("1", "a", "invite_sent", "2024-03-01T10:00:00Z", "A"),
        ("2", "e", "signed_up", "2024-03-07T10:00:00Z", "A"),
        ("3", "e", "signed_up", "2024-03-08T10:00:00Z", None),
    ], as_of="2024-03-31T00:00:00Z")
    assert rows == [row("2024-03-01", 2, 1, 1, 1, 1)]


def test_periods_without_activity_have_no_row(con: duckdb.DuckDBPyConnection) -> None:
    # February has only events a person does not do (identify, email_delivered): no row.
    # January has activity but no invites nor signups: the rates over them are null.
    rows = referral(con, [
        ("1", "a", "page_view", "2024-01-10T10:00:00Z", None),
        ("2", "a", "identify", "2024-02-10T10:00:00Z", None),
        ("3", "b", "email_delivered", "2024-02-11T10:00:00Z", None),
        ("4", "b", "signed_up", "2024-03-05T10:00:00Z", None),
        ("5", "c", "page_view", "2024-05-05T10:00:00Z", None),  # after as_of: ignored
    ], as_of="2024-04-15T00:00:00Z")
    assert rows == [row("2024-01-01", 1, 0, 0, 0, 0), row("2024-03-01", 1, 0, 0, 1, 0)]
    assert rows[0]["invite_conversion_rate"] is None
    assert rows[0]["referred_share"] is None
    assert rows[0]["referral_rate"] == 0.0
    assert rows[1]["referred_share"] == 0.0


def test_invite_and_signup_in_different_periods(con: duckdb.DuckDBPyConnection) -> None:
    # A signup counts in its own local week (weeks start Monday), not the invite's; Berlin is
    # on CET (UTC+1) on 2024-03-10.
    rows = referral(con, [
        ("1", "a", "invite_sent", "2024-03-08T10:00:00Z", "A"),
        ("2", "b", "signed_up", "2024-03-10T22:30:00Z", "A"),  # Sun 23:30 CET: week 03-04
        ("3", "c", "signed_up", "2024-03-10T23:30:00Z", "A"),  # Mon 00:30 CET: week 03-11
    ], as_of="2024-03-20T00:00:00Z", period="week", tz="Europe/Berlin")
    assert rows == [row("2024-03-04", 2, 1, 1, 1, 1), row("2024-03-11", 1, 0, 0, 1, 1)]
    # in UTC both signups are on Sunday 2024-03-10
    rows = referral(con, [
        ("1", "a", "invite_sent", "2024-03-08T10:00:00Z", "A"),
        ("2", "b", "signed_up", "2024-03-10T22:30:00Z", "A"),
        ("3", "c", "signed_up", "2024-03-10T23:30:00Z", "A"),
    ], as_of="2024-03-20T00:00:00Z", period="week")
    assert rows == [row("2024-03-04", 3, 1, 1, 2, 2)]


def test_no_events_no_rows(con: duckdb.DuckDBPyConnection) -> None:
    assert referral(con, [("1", "a", "identify", "2024-03-01T10:00:00Z", None)],
                    as_of="2024-03-31T00:00:00Z") == []


def test_blank_invite_code_is_no_code(con: duckdb.DuckDBPyConnection) -> None:
    rows = referral(con, [
        ("1", "a", "invite_sent", "2024-03-01T10:00:00Z", ""),
        ("2", "b", "signed_up", "2024-03-02T10:00:00Z", ""),
    ], as_of="2024-03-31T00:00:00Z")
    assert rows == [row("2024-03-01", 2, 1, 1, 1, 0)]


def test_a_month_with_only_an_unsubscribe_is_not_active(con: duckdb.DuckDBPyConnection) -> None:
    # CONTRACT §4 Activity: leaving (unsubscribe, group unsubscribe, spam report) is not activity.
    # u is active in March (a page view); in April u only unsubscribes: April has no row at all,
    # and v, whose only events are leaving signals, is never active.
    rows = referral(con, [
        ("1", "u", "page_view", "2024-03-01T10:00:00Z", None),
        ("2", "u", "email_unsubscribe", "2024-04-02T10:00:00Z", None),
        ("3", "v", "email_group_unsubscribe", "2024-03-03T10:00:00Z", None),
        ("4", "v", "email_spamreport", "2024-03-04T10:00:00Z", None),
    ], as_of="2024-04-30T00:00:00Z")
    assert rows == [row("2024-03-01", 1, 0, 0, 0, 0)]
