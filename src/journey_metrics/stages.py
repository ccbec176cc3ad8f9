"""Framework rules -> SQL boolean expressions over `fct_events`, one per stage.

Property names are allow-listed by the config models (sql.PROPERTY_NAME_PATTERN) and become
JSON path literals; stage names never enter SQL text; every value (event names, property values,
thresholds) becomes a named bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from journey_metrics.sql import json_text_path

if TYPE_CHECKING:
    from journey_metrics.config import Framework, MatchRule


# Fields of the canonical event (CONTRACT §1) a `where` may name besides properties: read from
# the event's column when its properties have no such key. A deal's revenue is its amount and
# its properties hold `amount`; an email's campaign is SendGrid's `campaign` field and a page's
# its UTM campaign, neither kept as a property (decision 194). Revenue is a number: only the
# numeric comparisons read its column (a double's text differs by engine: 1.0E7 on Spark);
# campaign is a text, compared as the property's text would be.
NUMBER_FIELDS = frozenset({"revenue"})  # each is the event column of that name
TEXT_FIELDS = frozenset({"campaign"})


@dataclass
class StageMatchSql:
    """One SQL expression per stage, and the parameters they bind."""

    expressions: list[str]
    params: dict[str, Any] = field(default_factory=dict)


def compile_stages(framework: Framework) -> StageMatchSql:
    result = StageMatchSql([])
    for s, stage in enumerate(framework.stages, start=1):
        result.expressions.append(_compile_any(stage.match, f"s{s}", result.params))
    return result


def compile_exclusions(framework: Framework) -> StageMatchSql:
    """One SQL expression per exclusion rule of the framework (CONTRACT §7)."""
    result = StageMatchSql([])
    for x, rule in enumerate(framework.exclude, start=1):
        result.expressions.append(_compile_any(rule.match, f"x{x}", result.params))
    return result


def named_events(framework: Framework) -> set[str]:
    """Every event name a rule of the framework names (stages and exclusions)."""
    rules = [r for stage in framework.stages for r in stage.match]
    rules += [r for rule in framework.exclude for r in rule.match]
    return {name for rule in rules for name in rule.event or []}


def _compile_any(rules: list[MatchRule], prefix: str, params: dict[str, Any]) -> str:
    """The event matches if ANY rule matches."""
    parts = [_compile_rule(rule, f"{prefix}r{r}", params) for r, rule in enumerate(rules)]
    return "(" + " OR ".join(f"({p})" for p in parts) + ")"


def _compile_rule(rule: MatchRule, prefix: str, params: dict[str, Any]) -> str:
    columns: list[str] = []
    for column, values in (("event_name", rule.event), ("source", rule.source),
                           ("channel", rule.channel)):
        if values is not None:
            name = f"{prefix}_{column}"
            params[name] = [str(v) for v in values]
            columns.append(f"list_contains(${name}, {column})")
    properties: list[str] = []
    for p, (prop, conditions) in enumerate(sorted(rule.where.items())):
        text_sql = f"json_extract_string(properties, {json_text_path(prop)})"
        if prop in TEXT_FIELDS:
            text_sql = f"coalesce({text_sql}, {prop})"
        number_sql = f"jm_plain_number({text_sql})"  # as alike on both engines (decision 224)
        if prop in NUMBER_FIELDS:
            number_sql = f"coalesce({number_sql}, {prop})"
        for op, operand in sorted(conditions.items()):
            name = f"{prefix}_w{p}_{op}"
            properties.append(_condition(op, text_sql, number_sql, name, operand, params))
    if columns and properties:
        # the properties' JSON is read only for the events the columns admit: DuckDB evaluates
        # both sides of an AND for every row of a projection (stage flags are projected), and
        # a JSON extraction over 10M events costs ~0.6 s (an nps_response score rule: 1.1-1.5
        # s as an AND, 0.6-0.7 s as this CASE). A rule that does not hold is false, not NULL.
        return (f"CASE WHEN {' AND '.join(columns)} THEN {' AND '.join(properties)}"
                " ELSE false END")
    return " AND ".join(columns + properties) or "true"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _condition(op: str, value_sql: str, number_sql: str, name: str, operand: Any,
               params: dict[str, Any]) -> str:
    """One condition on a property: `value_sql` its JSON text, `number_sql` it as a number."""
    numeric = _is_number(operand)
    if op in ("gte", "lte"):
        params[name] = float(operand)
        return f"{number_sql} {'>=' if op == 'gte' else '<='} ${name}"
    if op == "in":
        # like eq: a number in the list matches numerically (9 = 9.0 = "9.0"), a text as text;
        # two set lookups, each part only when the list has such elements
        parts = []
        numbers = [float(v) for v in operand if _is_number(v)]
        texts = [_as_text(v) for v in operand if not _is_number(v)]
        if numbers:
            params[f"{name}_number"] = numbers
            parts.append(f"list_contains(${name}_number, {number_sql})")
        if texts:
            params[f"{name}_text"] = texts
            parts.append(f"list_contains(${name}_text, {value_sql})")
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
    if op == "prefix":
        params[name] = str(operand)
        return f"starts_with({value_sql}, ${name})"
    if numeric:  # eq / ne on numbers compare numerically: 9 = 9.0
        params[name] = float(operand)
        compare = "=" if op == "eq" else "IS DISTINCT FROM"
        return f"{number_sql} {compare} ${name}"
    params[name] = _as_text(operand)
    return f"{value_sql} {'=' if op == 'eq' else 'IS DISTINCT FROM'} ${name}"


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
