"""Channel rules (CONTRACT §2): the built-in rules and custom channel groups.

A web event's channel is derived from inputs the warehouse keeps with the event (UTM medium and
source, campaign, referrer class). `events.channel` and `persons.channel` hold the channel computed
with the rules whose fingerprint `_jm_meta` records (`channel_rules_fingerprint`). Every connection
gets the TEMP macro `jm_rules_channel` for the *current* rules; when they differ from the stored
fingerprint, a read-only connection shadows `fct_events` and `persons` with TEMP views that derive
the channel on the fly (so `sessions`, person channels and `--by channel` follow the new rules from
the next command on, nothing reloaded), and a write connection (`run`) re-stores the channels.

Which rules are current (docs/decisions.md): `run --channels FILE` (stored in the warehouse as its
rules); else `config/channels.yaml` (in the working directory, then the shipped config folder);
else the warehouse's stored rules; else the built-in rules.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from journey_metrics.db import rollback
from journey_metrics.errors import UsageError
from journey_metrics.hashing import lower_as_duckdb, without_emails
from journey_metrics.resources import resource_dir
from journey_metrics.sql import fill_snippets, load_sql, quote_external_name, split_statements
from journey_metrics.yaml_files import read_yaml

REFERRER_CLASSES = ("search", "social", "external", "own", "none")
RULE_KEYS = ("channel", "medium", "source", "campaign", "referrer")
PLACEHOLDER_MEDIUMS = ("(none)", "(not set)", "none")
# Part of every fingerprint: bump it when the built-in rules in sql/macros.sql change, so stored
# channels are derived again.
BUILTIN_VERSION = "builtin-2"
BUILT_IN_ORIGIN = "built-in"
RULES_FILE = Path("config") / "channels.yaml"
# A channel name is shown as a group name: at most 64 characters, starting with a letter or
# digit (so never `(none)`, `(other)` or `…`), none of them a control or format character (a line
# break, a zero-width or direction mark, which would hide in a table); `all` is the name of the
# all-persons group. Names are always bound as values, never written into SQL.
_CHANNEL_NAME = re.compile(r"^[^\W_].{0,63}$", re.DOTALL)
_HIDDEN_CATEGORIES = ("Cc", "Cf", "Zl", "Zp")

_META_RULES = "channel_rules"
_META_ORIGIN = "channel_rules_origin"
_META_FINGERPRINT = "channel_rules_fingerprint"


@dataclass(frozen=True)
class ChannelRule:
    """One custom rule: every condition it gives must hold (None = not given)."""

    channel: str
    medium: tuple[str, ...] | None = None  # lower-cased
    source: str | None = None  # regex on the UTM source, case-insensitive, anywhere
    campaign: str | None = None  # regex on the campaign name, case-insensitive, anywhere
    referrer: str | None = None  # one of REFERRER_CLASSES

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"channel": self.channel}
        if self.medium is not None:
            data["medium"] = list(self.medium)
        for key in ("source", "campaign", "referrer"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass(frozen=True)
class ChannelRules:
    """An ordered list of rules (empty: the built-in rules only) and where it comes from."""

    rules: tuple[ChannelRule, ...]
    origin: str

    @property
    def fingerprint(self) -> str:
        text = BUILTIN_VERSION + json.dumps([r.as_dict() for r in self.rules], sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def to_json(self) -> str:
        return json.dumps([r.as_dict() for r in self.rules], sort_keys=True)


BUILT_IN = ChannelRules((), BUILT_IN_ORIGIN)


# --- reading and validating ----------------------------------------------------------------------


def _check_regex(pattern: str, con: duckdb.DuckDBPyConnection | None) -> str | None:
    """None if DuckDB (RE2) accepts the pattern, else the reason."""
    own = con is None
    con = con or duckdb.connect(":memory:")
    try:
        con.execute("SELECT regexp_matches('', $p, 'i')", {"p": pattern}).fetchall()
        return None
    except duckdb.Error as exc:
        return str(exc).strip().splitlines()[0].removeprefix("Invalid Input Error: ")
    finally:
        if own:
            con.close()


def _parse_rule(
    raw: Any, where: str, con: duckdb.DuckDBPyConnection | None
) -> ChannelRule:
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: expected a mapping like {{channel: NAME, medium: [..]}}")
    unknown = sorted(str(k) for k in raw if k not in RULE_KEYS)
    if unknown:
        raise UsageError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(RULE_KEYS)})"
        )
    channel = raw.get("channel")
    if (not isinstance(channel, str) or not _CHANNEL_NAME.fullmatch(channel)
            or any(unicodedata.category(c) in _HIDDEN_CATEGORIES for c in channel)):
        raise UsageError(
            f"{where}: bad channel name {channel!r}: 1-64 characters starting with a letter or"
            " digit, no control characters"
        )
    if channel.lower() == "all":
        raise UsageError(f"{where}: channel name {channel!r} is reserved for the all-persons group")
    medium: tuple[str, ...] | None = None
    if "medium" in raw:
        values = raw["medium"]
        values = [values] if isinstance(values, str) else values
        if (not isinstance(values, list) or not values
                or not all(isinstance(v, str) and v.strip() for v in values)):
            raise UsageError(f"{where}: medium must be a non-empty list of mediums")
        # lower-cased as jm_medium lowers the events' mediums (hashing.LOWER_FIRST)
        medium = tuple(dict.fromkeys(lower_as_duckdb(v.strip()) for v in values))
        placeholder = next((v for v in medium if v in PLACEHOLDER_MEDIUMS), None)
        if placeholder:
            raise UsageError(
                f"{where}: medium {placeholder!r} counts as no medium and never matches;"
                " use referrer: none|own|search|social|external for events without a medium"
            )
    patterns: dict[str, str | None] = {}
    for key in ("source", "campaign"):
        value = raw.get(key)
        if value is not None:
            if not isinstance(value, str) or not value:
                raise UsageError(f"{where}: {key} must be a regular expression (text)")
            problem = _check_regex(value, con)
            if problem:
                raise UsageError(f"{where}: bad {key} regular expression {value!r}: {problem}")
        patterns[key] = value
    referrer = raw.get("referrer")
    if isinstance(referrer, str):  # conditions are case-insensitive (CONTRACT §2), the class too
        referrer = referrer.strip().lower()
    if referrer is not None and referrer not in REFERRER_CLASSES:
        raise UsageError(
            f"{where}: unknown referrer class {referrer!r} (known: {'|'.join(REFERRER_CLASSES)})"
        )
    return ChannelRule(channel, medium, patterns["source"], patterns["campaign"], referrer)


def parse_rules(
    data: Any, origin: str, con: duckdb.DuckDBPyConnection | None = None
) -> ChannelRules:
    """Validate a list of rules; a problem is one UsageError line naming origin and rule number."""
    if data is None:
        return ChannelRules((), origin)
    if not isinstance(data, list):
        raise UsageError(f"{origin}: expected a list of rules (- {{channel: NAME, ...}})")
    return ChannelRules(
        tuple(_parse_rule(raw, f"{origin}: rule {n}", con) for n, raw in enumerate(data, 1)),
        origin,
    )


def load_rules_file(
    path: Path, con: duckdb.DuckDBPyConnection | None = None, origin: str | None = None
) -> ChannelRules:
    """Read and validate a rules file (an empty file or list means the built-in rules)."""
    return parse_rules(read_yaml(path), origin or str(path), con)


def configured_rules_file() -> Path | None:
    """`config/channels.yaml` in the working directory, else in the shipped config folder."""
    for candidate in (RULES_FILE, resource_dir("config") / "channels.yaml"):
        if candidate.is_file():
            return candidate
    return None


def configured_rules(con: duckdb.DuckDBPyConnection | None = None) -> ChannelRules | None:
    path = configured_rules_file()
    if path is None:
        return None
    origin = str(RULES_FILE) if path == RULES_FILE else str(path)
    return load_rules_file(path, con, origin)


# --- the warehouse's rules -----------------------------------------------------------------------


def _meta(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute(
        "SELECT key, value FROM _jm_meta WHERE key IN (?, ?, ?)",
        [_META_RULES, _META_ORIGIN, _META_FINGERPRINT],
    ).fetchall())


def kept_rules(copy: str | None, origin: str | None,
               con: duckdb.DuckDBPyConnection | None = None) -> ChannelRules | None:
    """The rules a `run --channels FILE` left (its copy, a JSON list, and the file's absolute
    path): FILE as it is now while it exists, so editing it changes every channel from the next
    command on (CONTRACT §2, decision 150); the copy once the file is gone."""
    if copy is None:
        return None
    if origin and Path(origin).is_absolute() and Path(origin).is_file():
        return load_rules_file(Path(origin), con, origin)
    return parse_rules(json.loads(copy), origin or "the warehouse", con)


def kept_origin(rules: ChannelRules) -> str:
    """Where kept rules come from: a file as an absolute path (later commands may run in another
    folder), any other origin as it is; an address in it redacted (a path holding one is then
    not found again, and the kept copy is used)."""
    path = Path(rules.origin)
    return without_emails(str(path.resolve()) if path.is_file() else rules.origin)


def _stored_rules(meta: dict[str, str], con: duckdb.DuckDBPyConnection) -> ChannelRules | None:
    return kept_rules(meta.get(_META_RULES), meta.get(_META_ORIGIN), con)


def _has_channel_inputs(con: duckdb.DuckDBPyConnection) -> bool:
    # binding a query of the column, not a look in information_schema (~5 ms of every command)
    try:
        con.execute("SELECT referrer_class FROM main.events LIMIT 0")
    except (duckdb.CatalogException, duckdb.BinderException):  # no table, or an older one
        return False
    return True


# --- per-connection installation -----------------------------------------------------------------


def _conditions(rule: ChannelRule) -> list[tuple[str, str, Any]]:
    """A rule's conditions as (kind, column, value): `in` (a medium list), `regex` (matching
    anywhere, case-insensitive) or `equals`; each engine writes them in its own SQL."""
    found: list[tuple[str, str, Any]] = []
    if rule.medium is not None:
        found.append(("in", "medium", list(rule.medium)))
    if rule.source is not None:
        found.append(("regex", "utm_source", rule.source))
    if rule.campaign is not None:
        found.append(("regex", "campaign", rule.campaign))
    if rule.referrer is not None:
        found.append(("equals", "referrer_class", rule.referrer))
    return found


def _case(rules: ChannelRules, condition: Any, channel: Any) -> str:
    """The rules as one SQL CASE over (medium, utm_source, campaign, referrer_class): the first
    rule whose every condition holds (a NULL input fails a condition), else the built-in rules."""
    branches = []
    for n, rule in enumerate(rules.rules, 1):
        conditions = [f"coalesce({condition(n, kind, column, value)}, false)"
                      for kind, column, value in _conditions(rule)]
        when = " AND ".join(conditions) or "true"
        branches.append(f"WHEN {when} THEN {channel(n, rule.channel)}")
    builtin = "jm_builtin_channel(medium, referrer_class)"
    return f"CASE {' '.join(branches)} ELSE {builtin} END" if branches else builtin


def install(con: duckdb.DuckDBPyConnection, rules: ChannelRules) -> None:
    """Create TEMP macro `jm_rules_channel(medium, utm_source, campaign, referrer_class)` for
    `rules` (values as variables bound by parameters; constant-folded, so regexes compile once)
    and remember the rules' origin (`rules_source`)."""

    def variable(name: str, value: Any) -> str:
        con.execute(f"SET VARIABLE {name} = $v", {"v": value})
        return f"getvariable('{name}')"

    def condition(n: int, kind: str, column: str, value: Any) -> str:
        bound = variable(f"jm_channel_rule_{n}_{column}", value)
        return {"in": f"list_contains({bound}, {column})",
                "regex": f"regexp_matches({column}, {bound}, 'i')",
                "equals": f"{column} = {bound}"}[kind]

    body = _case(rules, condition,
                 lambda n, name: variable(f"jm_channel_rule_{n}_channel", name))
    con.execute(
        "CREATE OR REPLACE TEMP MACRO jm_rules_channel(medium, utm_source, campaign,"
        f" referrer_class) AS ({body})"
    )
    con.execute("SET VARIABLE jm_channel_rules_source = $v", {"v": rules.origin})
    con.execute("SET VARIABLE jm_channel_rules_fingerprint = $v", {"v": rules.fingerprint})


_TURKIC_I, _OTHER_I = "\u0130\u0131", "\u0197\u0250"  # İ, dotless i -> Ɨ, ɐ (Lu, Ll)


def spark_function(rules: ChannelRules, name: str) -> str:
    """The rules as a Spark SQL temporary function `name(medium, utm_source, campaign,
    referrer_class)` (needs `jm_builtin_channel` of sql/staging/functions.spark.sql). Values are
    UTF-8 hex literals, so no quoting rule of Spark's parser can change them. Regexes run on
    Java's engine with (?iu): the same matches as RE2's case-insensitive ones for the syntax the
    two share (docs/decisions.md), İ and the dotless i apart (below; decision 193)."""

    def text(value: str) -> str:
        return f"decode(unhex('{value.encode('utf-8').hex()}'), 'UTF-8')"

    def condition(n: int, kind: str, column: str, value: Any) -> str:
        if kind == "in":
            return f"array_contains(array({', '.join(text(v) for v in value)}), {column})"
        if kind == "regex":
            pattern = text("(?iu)" + value)
            if set(value) & set(_TURKIC_I):  # (a pattern naming them: Java's folding, kept)
                return f"{column} RLIKE {pattern}"
            # Java's (?iu) also matches i and I with İ and the dotless i (U+0131), whose upper
            # or lower case is I or i; RE2's case folding does not. In the text they become
            # letters of the same categories that no pattern's i reaches (Ɨ, ɐ), so \p{L},
            # \p{Lu} and [a-z] still read them as RE2 does
            return (f"translate({column}, {text(_TURKIC_I)}, {text(_OTHER_I)})"
                    f" RLIKE {pattern}")
        return f"{column} = {text(value)}"

    body = _case(rules, condition, lambda n, channel: text(channel))
    return (f"CREATE OR REPLACE TEMPORARY FUNCTION {name}(medium STRING, utm_source STRING,"
            f" campaign STRING, referrer_class STRING) RETURNS STRING RETURN {body}")


def rules_source(con: duckdb.DuckDBPyConnection) -> str:
    """The name of the channel rules this connection uses: a file path or `built-in` (for the
    dashboard header)."""
    row = con.execute("SELECT getvariable('jm_channel_rules_source')").fetchall()
    return without_emails(str(row[0][0])) if row and row[0][0] is not None else BUILT_IN_ORIGIN


def install_for_reading(con: duckdb.DuckDBPyConnection) -> None:
    """A read-only connection: install the current rules; when the stored channels were computed
    with other rules, shadow `fct_events` and `persons` with views deriving them."""
    configured = configured_rules(con)
    try:
        meta = _meta(con)
        derive = _has_channel_inputs(con)
    except duckdb.Error:  # a warehouse from an older version: open_for_reading refuses it
        meta, derive = {}, False
    rules = configured or _stored_rules(meta, con) or BUILT_IN
    install(con, rules)
    if derive and meta.get(_META_FINGERPRINT) != rules.fingerprint:
        catalog = con.execute("SELECT current_database()").fetchall()[0][0]
        sql = fill_snippets("channels_now.sql", catalog=quote_external_name(str(catalog)))
        for statement in split_statements(sql):
            con.execute(statement)


def prepare_for_writing(
    con: duckdb.DuckDBPyConnection, explicit: ChannelRules | None = None
) -> ChannelRules:
    """A write connection (schema in place): install the current rules, store `explicit` ones as
    the warehouse's rules, and re-derive stored channels when the rules changed."""
    meta = _meta(con)
    stored = None
    rules = explicit or configured_rules(con)
    if rules is None:
        stored = _stored_rules(meta, con)
        rules = stored or BUILT_IN
    install(con, rules)
    if explicit is not None:
        _set_meta(con, _META_RULES, explicit.to_json())
        _set_meta(con, _META_ORIGIN, kept_origin(explicit))
    elif stored is not None and stored.to_json() != meta.get(_META_RULES):
        _set_meta(con, _META_RULES, stored.to_json())  # the kept file was edited: the new copy
    if meta.get(_META_FINGERPRINT) != rules.fingerprint:
        con.execute("BEGIN TRANSACTION")
        try:
            for statement in split_statements(load_sql("intermediate/int_refresh_channels.sql")):
                con.execute(statement)
            _set_meta(con, _META_FINGERPRINT, rules.fingerprint)
            con.execute("COMMIT")
        except BaseException:
            rollback(con)
            raise
    return rules


def _set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("DELETE FROM _jm_meta WHERE key = ?", [key])
    con.execute("INSERT INTO _jm_meta VALUES (?, ?)", [key, value])
