"""Property test: a framework's match rules (CONTRACT §3, §1 canonical event) compiled to SQL
against a plain-Python reading of docs/adding-a-framework.md.

The reference, written from the docs (not from stages.py):

* a rule matches when every field it gives matches: `event`, `source`, `channel` (any of the
  list), and each `where` condition; an event matches a stage when any of its rules matches;
* a condition reads the top-level property's JSON text (a string as itself, a number as written,
  `true`/`false`); `revenue` and `campaign` fall back to the event's own column when the
  properties have no such key (decision 194): `campaign` as a text, `revenue` only where a number
  is compared (its text is the property's alone), and also when the property is no number;
* `eq`/`ne` with a number compare numerically (`9` matches 9, 9.0 and "9"), with a text as
  text; `ne` holds for an event without the property; `in` is `eq` per element; `prefix` is a
  text's start; `gte`/`lte` hold only for a value read as a number.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journey_metrics.config import Framework
from journey_metrics.stages import compile_stages

EVENTS = ("page_view", "order_completed", "deal_won")
SOURCES = ("web", "crm", "email")
CHANNELS = ("direct", "email", "paid_search")
PROPERTIES = ("plan", "revenue", "campaign")
# Property values as the JSON of an event carries them: texts that read as numbers and texts
# that do not, integers, floats whose JSON text differs from the integer's, booleans
VALUES: tuple[Any, ...] = ("9", "9.0", "20", "launch", "launch-2", "", 9, 9.0, 20, 20.5, 0,
                           -1, True, False,
                           # what one engine's cast reads and the other's not (decision 224)
                           "9d", "1_0", "0x1p3", " 9 ", "1e1", ".5", "nan", "inf")
OPERANDS: tuple[Any, ...] = ("9", "launch", "laun", "", "true", 9, 9.0, 20, 0.5, 20.5, True)
NUMBERS = (0, 9, 9.0, 20, 20.5, -1)


@dataclass(frozen=True)
class Event:
    name: str
    source: str
    channel: str
    properties: dict[str, Any]
    revenue: float | None
    campaign: str | None


def text_of(value: Any) -> str:
    """A property's JSON text."""
    return json.dumps(value) if not isinstance(value, str) else value


PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def number_of(text: str | None) -> float | None:
    """A text as a number when it is a plain decimal number, blanks around it aside."""
    core = None if text is None else text.strip(" \t\r\n\x0b\x0c")
    return float(core) if core is not None and PLAIN_NUMBER.fullmatch(core) else None


def read(event: Event, prop: str) -> tuple[str | None, float | None]:
    """The (text, number) a condition on `prop` compares."""
    value = event.properties.get(prop)
    text = None if value is None else text_of(value)
    if prop == "campaign" and text is None:
        text = event.campaign
    number = number_of(text)
    if prop == "revenue" and number is None:  # no key, or a text that is no number
        number = event.revenue
    return text, number


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def holds(op: str, operand: Any, text: str | None, number: float | None) -> bool:
    if op == "gte":
        return number is not None and number >= operand
    if op == "lte":
        return number is not None and number <= operand
    if op == "prefix":
        return text is not None and text.startswith(operand)
    if op == "in":
        return any(holds("eq", element, text, number) for element in operand)
    if is_number(operand):
        same = number is not None and number == float(operand)
    else:
        same = text is not None and text == (text_of(operand) if isinstance(operand, bool)
                                             else str(operand))
    return same if op == "eq" else not same


def rule_matches(rule: dict[str, Any], event: Event) -> bool:
    for field in ("event", "source", "channel"):
        wanted = rule.get(field)
        actual = {"event": event.name, "source": event.source, "channel": event.channel}[field]
        if wanted is not None and actual not in wanted:
            return False
    for prop, conditions in rule.get("where", {}).items():
        text, number = read(event, prop)
        if not all(holds(op, operand, text, number) for op, operand in conditions.items()):
            return False
    return True


# --- random rules and events ---------------------------------------------------------------------


def operand_for(op: str) -> st.SearchStrategy[Any]:
    if op in ("gte", "lte"):
        return st.sampled_from(NUMBERS)
    if op == "prefix":
        return st.sampled_from(("9", "launch", "laun", "", "2"))
    if op == "in":
        return st.lists(st.sampled_from(OPERANDS), min_size=1, max_size=3)
    return st.sampled_from(OPERANDS)


conditions = st.dictionaries(
    st.sampled_from(("eq", "ne", "in", "prefix", "gte", "lte")), st.none(),
    min_size=1, max_size=2,
).flatmap(lambda ops: st.fixed_dictionaries({op: operand_for(op) for op in ops}))

rules = st.fixed_dictionaries({}, optional={
    "event": st.lists(st.sampled_from(EVENTS), min_size=1, max_size=2, unique=True),
    "source": st.lists(st.sampled_from(SOURCES), min_size=1, max_size=2, unique=True),
    "channel": st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=2, unique=True),
    "where": st.dictionaries(st.sampled_from(PROPERTIES), conditions, min_size=1, max_size=2),
}).filter(bool)

events = st.builds(
    Event,
    name=st.sampled_from(EVENTS),
    source=st.sampled_from(SOURCES),
    channel=st.sampled_from(CHANNELS),
    properties=st.dictionaries(st.sampled_from(PROPERTIES), st.sampled_from(VALUES), max_size=2),
    revenue=st.sampled_from((None, 0.0, 9.0, 20.0, 20.5, 1000.0)),
    campaign=st.sampled_from((None, "launch", "launch-2", "9", "")),
)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    from journey_metrics.db import install_macros

    connection = duckdb.connect()
    install_macros(connection, loading=False)  # jm_plain_number
    connection.execute("""
        CREATE TABLE fct_events (
            n INTEGER, event_name VARCHAR, source VARCHAR, channel VARCHAR, properties JSON,
            revenue DOUBLE, campaign VARCHAR)
    """)
    return connection


def engine_matches(con: duckdb.DuckDBPyConnection, stages: list[list[dict[str, Any]]],
                   sample: list[Event]) -> list[list[bool]]:
    """Per event, whether each stage's compiled expression is true for it."""
    framework = Framework.model_validate({
        "name": "prop", "window": "1d",
        "stages": [{"name": f"s{k}", "match": match} for k, match in enumerate(stages, 1)],
    })
    compiled = compile_stages(framework)
    con.execute("DELETE FROM fct_events")
    con.executemany("INSERT INTO fct_events VALUES (?, ?, ?, ?, ?, ?, ?)", [
        [n, e.name, e.source, e.channel, json.dumps(e.properties), e.revenue, e.campaign]
        for n, e in enumerate(sample)])
    flags = ", ".join(f"({expression}) IS TRUE" for expression in compiled.expressions)
    rows = con.execute(f"SELECT {flags} FROM fct_events ORDER BY n", compiled.params).fetchall()
    return [list(row) for row in rows]


@settings(max_examples=300, deadline=None)
@given(stages=st.lists(st.lists(rules, min_size=1, max_size=2), min_size=2, max_size=3),
       sample=st.lists(events, min_size=1, max_size=8))
def test_rules_match_as_the_docs_read(con: duckdb.DuckDBPyConnection,
                                      stages: list[list[dict[str, Any]]],
                                      sample: list[Event]) -> None:
    expected = [[any(rule_matches(rule, event) for rule in match) for match in stages]
                for event in sample]
    assert engine_matches(con, stages, sample) == expected


@pytest.mark.parametrize(("where", "event", "matched"), [
    # the reference's readings, one example each (a mistake in the reference fails here first)
    ({"revenue": {"gte": 20}}, Event("deal_won", "crm", "direct", {"amount": 1000}, 1000, None),
     True),
    ({"revenue": {"eq": "1000"}}, Event("deal_won", "crm", "direct", {}, 1000, None), False),
    ({"revenue": {"lte": 9}}, Event("order_completed", "web", "direct", {"revenue": "n/a"},
                                    5, None), True),
    ({"campaign": {"eq": "launch"}}, Event("page_view", "web", "email", {}, None, "launch"),
     True),
    ({"campaign": {"eq": "launch"}}, Event("page_view", "web", "email",
                                           {"campaign": "other"}, None, "launch"), False),
    ({"plan": {"ne": "pro"}}, Event("page_view", "web", "direct", {}, None, None), True),
    ({"plan": {"in": [9]}}, Event("page_view", "web", "direct", {"plan": "9.0"}, None, None),
     True),
    ({"plan": {"in": ["9"]}}, Event("page_view", "web", "direct", {"plan": 9.0}, None, None),
     False),
    ({"plan": {"eq": True}}, Event("page_view", "web", "direct", {"plan": True}, None, None),
     True),
])
def test_worked_readings(con: duckdb.DuckDBPyConnection, where: dict[str, Any], event: Event,
                         matched: bool) -> None:
    stages = [[{"where": where}], [{"event": ["page_view"]}]]
    assert rule_matches({"where": where}, event) is matched
    assert engine_matches(con, stages, [event])[0][0] is matched
