"""CONTRACT §2 custom channel groups: a rules file (config/channels.yaml or `run --channels`),
validated at start-up, applied first-match-wins before the built-in rules, and re-applied from
the next command on when it changes, without reloading anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from conftest import query, write_jsonl
from journey_metrics.channels import BUILT_IN, ChannelRules, install, parse_rules
from journey_metrics.errors import UsageError

PAGE = "https://shop.example.com/p"

RULES = [
    # 1: every condition must hold: medium AND source regex
    {"channel": "Paid Social", "medium": ["cpc", "PPC"], "source": "facebook|^ig$"},
    # 2: campaign regex anywhere, case-insensitive
    {"channel": "Brand", "campaign": "brand"},
    # 3: medium alone (after rule 1: cpc from facebook is Paid Social, other cpc lands here)
    {"channel": "Paid Search", "medium": "cpc"},
    # 4-8: each referrer class
    {"channel": "Search", "referrer": "search"},
    {"channel": "Social Referral", "referrer": "social"},
    {"channel": "Partners", "referrer": "external", "source": "partner"},
    {"channel": "Own Site", "referrer": "own"},
    {"channel": "Typed", "referrer": "none", "medium": ["newsletter"]},
]

# (medium, source, campaign, referrer, expected)
RULE_CASES = [
    pytest.param("cpc", "facebook.com", None, None, "Paid Social", id="all-conditions-hold"),
    pytest.param("CPC", "m.FaceBook.com", None, None, "Paid Social", id="case-insensitive"),
    pytest.param(" ppc ", "ig", None, None, "Paid Social", id="medium-list-and-anchors"),
    pytest.param("cpc", "pig", None, None, "Paid Search", id="regex-anchored-no-match"),
    pytest.param("cpc", "google", None, None, "Paid Search", id="one-condition-fails"),
    pytest.param("cpc", None, None, None, "Paid Search", id="no-source-regex-fails"),
    pytest.param("cpc", "facebook", "Spring BRAND push", None, "Paid Social",
                 id="first-match-wins"),
    pytest.param("email", None, "our-brand-2024", None, "Brand", id="campaign-anywhere"),
    pytest.param(None, None, None, "https://www.google.com/", "Search", id="referrer-search"),
    pytest.param(None, None, None, "https://t.co/x", "Social Referral", id="referrer-social"),
    pytest.param(None, "Partner-A", None, "https://blog.example.org/", "Partners",
                 id="referrer-external-and-source"),
    pytest.param(None, None, None, "https://blog.example.org/", "referral",
                 id="external-without-source-falls-back"),
    pytest.param(None, None, None, "https://shop.example.com/x", "Own Site", id="referrer-own"),
    pytest.param("newsletter", None, None, None, "Typed", id="referrer-none-with-medium"),
    pytest.param(None, None, None, None, "direct", id="referrer-none-no-medium-falls-back"),
    pytest.param("newsletter", None, None, "https://www.bing.com/", "Search",
                 id="referrer-class-ignores-medium"),
    pytest.param("display", None, None, None, "display", id="builtin-fallback"),
    pytest.param("organic", None, None, None, "organic_search", id="builtin-organic"),
    pytest.param("(not set)", None, None, None, "direct", id="placeholder-no-medium"),
]


@pytest.fixture(scope="module")
def rules_con() -> Iterator[duckdb.DuckDBPyConnection]:
    from journey_metrics.db import connect

    con = connect(":memory:")
    install(con, parse_rules(RULES, "rules.yaml", con))
    yield con
    con.close()


@pytest.mark.parametrize(("medium", "source", "campaign", "referrer", "expected"), RULE_CASES)
def test_rules_table(
    rules_con: duckdb.DuckDBPyConnection, medium: str | None, source: str | None,
    campaign: str | None, referrer: str | None, expected: str,
) -> None:
    row = rules_con.execute(
        "SELECT jm_rules_channel(jm_medium($m), $s, $c,"
        " jm_referrer_class(jm_url_host($r), jm_url_host($p)))",
        {"m": medium, "s": source, "c": campaign, "r": referrer, "p": PAGE},
    ).fetchall()
    assert row == [(expected,)]


def test_no_rules_means_built_in(rules_con: duckdb.DuckDBPyConnection) -> None:
    from journey_metrics.db import connect

    con = connect(":memory:")
    install(con, BUILT_IN)
    assert con.execute("SELECT jm_rules_channel('cpc', 'facebook', NULL, 'none')").fetchall() == [
        ("paid_search",)]
    from journey_metrics.channels import rules_source

    assert rules_source(con) == "built-in"
    assert rules_source(rules_con) == "rules.yaml"
    con.close()


@pytest.mark.parametrize(("rules", "message"), [
    ([{"channel": "A", "medium": ["cpc"], "colour": "red"}],
     "rules.yaml: rule 1: unknown key 'colour' (known: channel, medium, source, campaign,"
     " referrer)"),
    ([{"channel": "A"}, {"channel": "B", "source": "face(book"}],
     "rules.yaml: rule 2: bad source regular expression 'face(book': "),
    ([{"channel": "A", "campaign": "[z-a]"}], "rules.yaml: rule 1: bad campaign regular"),
    ([{"channel": "A"}, {"channel": "B"}, {"channel": "C", "referrer": "internal"}],
     "rules.yaml: rule 3: unknown referrer class 'internal' (known:"
     " search|social|external|own|none)"),
    ([{"channel": "(none)"}], "rules.yaml: rule 1: bad channel name '(none)'"),
    ([{"channel": ""}], "rules.yaml: rule 1: bad channel name ''"),
    ([{"channel": "a\nb"}], "rules.yaml: rule 1: bad channel name"),
    ([{"channel": 5}], "rules.yaml: rule 1: bad channel name 5"),
    ([{"channel": "Paid\u200bSearch"}], "rules.yaml: rule 1: bad channel name"),
    ([{"channel": "x" * 65}], "rules.yaml: rule 1: bad channel name"),
    ([{"channel": "A", "referrer": 3}], "rules.yaml: rule 1: unknown referrer class 3"),
    ([{"channel": "All"}], "rules.yaml: rule 1: channel name 'All' is reserved"),
    ([{"medium": ["cpc"]}], "rules.yaml: rule 1: bad channel name None"),
    ([{"channel": "A", "medium": []}], "rules.yaml: rule 1: medium must be a non-empty list"),
    ([{"channel": "A", "medium": ["(not set)"]}],
     "rules.yaml: rule 1: medium '(not set)' counts as no medium"),
    (["cpc"], "rules.yaml: rule 1: expected a mapping"),
    ({"channel": "A"}, "rules.yaml: expected a list of rules"),
])
def test_validation_one_line(rules: Any, message: str) -> None:
    with pytest.raises(UsageError) as error:
        parse_rules(rules, "rules.yaml")
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_names_as_marketers_write_them_and_classes_in_any_case() -> None:
    """Channel groups are named as in an analytics tool ("Paid Search (Brand)", Vietnamese
    names); a referrer class reads in any case, as every other condition (CONTRACT §2)."""
    names = ["Paid Search (Brand)", "Social: Paid", "Partners'", "Email | Newsletter",
             "Tìm kiếm trả phí", "3rd-party, resellers"]
    rules = parse_rules([{"channel": name} for name in names]
                        + [{"channel": "S", "referrer": " Social "}], "rules.yaml")
    assert [r.channel for r in rules.rules] == [*names, "S"]
    assert rules.rules[-1].referrer == "social"


def test_fingerprint_ignores_origin_and_follows_rules() -> None:
    a = parse_rules([{"channel": "A", "medium": "CPC"}], "a.yaml")
    b = parse_rules([{"channel": "A", "medium": ["cpc"]}], "b.yaml")
    c = parse_rules([{"channel": "B", "medium": ["cpc"]}], "a.yaml")
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert ChannelRules((), "x").fingerprint == BUILT_IN.fingerprint


# ---------------------------------------------------------------------------------------------
# End to end: the rules change between two commands; nothing is reloaded.

T0 = datetime(2024, 3, 1, 10, tzinfo=UTC)


def _page(message_id: str, anon: str, at: datetime, **campaign: str) -> dict[str, Any]:
    context: dict[str, Any] = {"page": {"url": PAGE, "referrer": campaign.pop("referrer", "")}}
    if campaign:
        context["campaign"] = campaign
    return {"type": "page", "messageId": message_id, "anonymousId": anon,
            "timestamp": (at).isoformat().replace("+00:00", "Z"), "context": context}


def _signup(message_id: str, anon: str, at: datetime) -> dict[str, Any]:
    return {"type": "track", "event": "Signed Up", "messageId": message_id, "anonymousId": anon,
            "timestamp": at.isoformat().replace("+00:00", "Z")}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A working directory with an input folder (3 persons) and an empty config/ folder."""
    folder = tmp_path / "project"
    (folder / "config").mkdir(parents=True)
    write_jsonl(folder / "input" / "web" / "site.jsonl", [
        # a: facebook ads (cpc), then signs up
        _page("a1", "anon-a", T0, medium="cpc", source="facebook"),
        _signup("a2", "anon-a", T0 + timedelta(minutes=5)),
        # b: google search; a second session two hours later from a newsletter
        _page("b1", "anon-b", T0, referrer="https://www.google.com/"),
        _page("b2", "anon-b", T0 + timedelta(hours=2), medium="newsletter"),
        _signup("b3", "anon-b", T0 + timedelta(hours=2, minutes=1)),
        # c: (none) placeholder and no referrer: direct
        _page("c1", "anon-c", T0, medium="(none)", source="(direct)"),
    ])
    return folder


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "journey_metrics", *args], cwd=cwd, capture_output=True,
        text=True, env=dict(os.environ), timeout=120,
    )


def _funnel_groups(cwd: Path) -> dict[str, int]:
    result = cli(cwd, "funnel", "--db", "w.duckdb", "--framework", "aarrr", "--by", "channel",
                 "--format", "json")
    assert result.returncode == 0, result.stderr
    return {r["group"]: r["persons"] for r in json.loads(result.stdout) if r["step"] == 1}


def _read(cwd: Path, sql: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Through the product's own read-only connection (current rules installed)."""
    from journey_metrics.db import connect

    monkeypatch.chdir(cwd)
    con = connect(cwd / "w.duckdb", read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


PERSONS = ("SELECT f.anonymous_id, p.channel FROM persons AS p JOIN"
           " (SELECT DISTINCT person_id, anonymous_id FROM fct_events) AS f USING (person_id)"
           " ORDER BY 1")
SESSIONS = ("SELECT f.anonymous_id, s.session_no, s.channel FROM sessions AS s JOIN"
            " (SELECT DISTINCT person_id, anonymous_id FROM fct_events) AS f USING (person_id)"
            " ORDER BY 1, 2")


def test_changing_rules_file_changes_channels_without_reload(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = cli(project, "run", "--input", "input", "--db", "w.duckdb", "--format", "json")
    assert loaded.returncode == 0, loaded.stderr
    db = project / "w.duckdb"
    runs = query(db, "SELECT count(*) FROM _jm_runs")
    # built-in rules
    assert _read(project, PERSONS, monkeypatch) == [
        ("anon-a", "paid_search"), ("anon-b", "organic_search"), ("anon-c", "direct")]
    assert _funnel_groups(project) == {"all": 3, "direct": 1, "organic_search": 1,
                                       "paid_search": 1}

    # the rules file appears: the next commands use it
    (project / "config" / "channels.yaml").write_text(
        "- {channel: Paid Social, medium: [cpc], source: facebook}\n"
        "- {channel: Newsletter, medium: [newsletter]}\n", encoding="utf-8")
    assert _read(project, PERSONS, monkeypatch) == [
        ("anon-a", "Paid Social"), ("anon-b", "organic_search"), ("anon-c", "direct")]
    assert _read(project, SESSIONS, monkeypatch) == [
        ("anon-a", 1, "Paid Social"), ("anon-b", 1, "organic_search"),
        ("anon-b", 2, "Newsletter"), ("anon-c", 1, "direct")]
    assert _funnel_groups(project) == {"all": 3, "Paid Social": 1, "direct": 1,
                                       "organic_search": 1}

    # it changes again: referrer classes
    (project / "config" / "channels.yaml").write_text(
        "- {channel: SEO, referrer: search}\n- {channel: Typed, referrer: none}\n",
        encoding="utf-8")
    assert _funnel_groups(project) == {"all": 3, "SEO": 1, "Typed": 2}
    # nothing was reloaded: no run, the stored channels are the built-in ones still
    assert query(db, "SELECT count(*) FROM _jm_runs") == runs
    assert query(db, "SELECT event_id, channel FROM events WHERE event_id IN ('a1', 'b1')"
                     " ORDER BY 1") == [("a1", "paid_search"), ("b1", "organic_search")]

    # the next run stores the channels of the current rules (no event loaded again)
    again = cli(project, "run", "--input", "input", "--db", "w.duckdb", "--format", "json")
    assert again.returncode == 0, again.stderr
    assert sum(s["events"] for s in json.loads(again.stdout)["sources"]) == 0
    assert query(db, "SELECT event_id, channel FROM events WHERE event_id IN ('a1', 'b1')"
                     " ORDER BY 1") == [("a1", "Typed"), ("b1", "SEO")]
    assert query(db, "SELECT channel, count(*) FROM persons GROUP BY 1 ORDER BY 1") == [
        ("SEO", 1), ("Typed", 2)]
    assert _funnel_groups(project) == {"all": 3, "SEO": 1, "Typed": 2}
    # stored channels are current: the warehouse's own views, no shadowing view
    assert _read(project, "SELECT count(*) FROM duckdb_views() WHERE temporary"
                 " AND view_name IN ('fct_events', 'persons')",
                 monkeypatch) == [(0,)]

    # the file goes away: back to the built-in rules, again without a reload
    (project / "config" / "channels.yaml").unlink()
    assert _funnel_groups(project) == {"all": 3, "direct": 1, "organic_search": 1,
                                       "paid_search": 1}


def test_run_channels_file_is_kept_by_the_warehouse(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = project / "my-rules.yaml"
    rules.write_text("- {channel: Facebook Ads, source: face}\n", encoding="utf-8")
    loaded = cli(project, "run", "--input", "input", "--db", "w.duckdb", "--channels",
                 str(rules))
    assert loaded.returncode == 0, loaded.stderr
    # editing the file changes every channel from the next command on (decision 150)
    rules.write_text("- {channel: Typed, referrer: none}\n", encoding="utf-8")
    assert _funnel_groups(project) == {"all": 3, "Typed": 2, "organic_search": 1}
    rules.write_text("- {channel: Facebook Ads, source: face}\n", encoding="utf-8")
    rules.unlink()  # the warehouse holds a copy
    assert _funnel_groups(project) == {"all": 3, "Facebook Ads": 1, "direct": 1,
                                       "organic_search": 1}
    from journey_metrics.channels import rules_source
    from journey_metrics.db import connect

    monkeypatch.chdir(project)
    con = connect(project / "w.duckdb", read_only=True)
    try:
        assert rules_source(con) == str(rules)
    finally:
        con.close()
    # a plain run keeps the warehouse's rules
    plain = cli(project, "run", "--input", "input", "--db", "w.duckdb")
    assert plain.returncode == 0, plain.stderr
    assert _funnel_groups(project) == {"all": 3, "Facebook Ads": 1, "direct": 1,
                                       "organic_search": 1}
    # the file is back, edited: a plain run (from another folder) keeps the new copy, which
    # holds once the file is gone again
    rules.write_text("- {channel: Typed, referrer: none}\n", encoding="utf-8")
    elsewhere = project / "elsewhere"
    elsewhere.mkdir()
    plain = cli(elsewhere, "run", "--input", "../input", "--db", "../w.duckdb")
    assert plain.returncode == 0, plain.stderr
    rules.unlink()
    assert _funnel_groups(project) == {"all": 3, "Typed": 2, "organic_search": 1}
    assert query(project / "w.duckdb", "SELECT channel, count(*) FROM persons GROUP BY 1"
                 " ORDER BY 1") == [("Typed", 2), ("organic_search", 1)]
    # config/channels.yaml, when present, is what every later command uses
    (project / "config" / "channels.yaml").write_text("[]\n", encoding="utf-8")
    assert _funnel_groups(project) == {"all": 3, "direct": 1, "organic_search": 1,
                                       "paid_search": 1}


@pytest.mark.parametrize(("text", "message"), [
    ("- {channel: A, medium: [cpc], colour: red}\n",
     "rule 1: unknown key 'colour'"),
    ("- {channel: A}\n- {channel: B, source: 'a(b'}\n", "rule 2: bad source regular expression"),
    ("- {channel: A, referrer: intranet}\n", "rule 1: unknown referrer class 'intranet'"),
    ("- {channel: '(none)'}\n", "rule 1: bad channel name '(none)'"),
])
def test_bad_rules_exit_2_with_one_line(project: Path, text: str, message: str) -> None:
    rules = project / "bad.yaml"
    rules.write_text(text, encoding="utf-8")
    # run --channels FILE: refused before anything is read or created
    result = cli(project, "run", "--input", "input", "--db", "w.duckdb", "--channels", str(rules))
    assert result.returncode == 2
    assert result.stderr.strip() == result.stderr.strip().splitlines()[0]
    assert f"{rules}: {message}" in result.stderr
    assert not (project / "w.duckdb").exists()
    # serve --channels FILE: refused before serving, not at the first scheduled run
    served = cli(project, "serve", "--input", "input", "--report", "report", "--channels",
                 str(rules))
    assert served.returncode == 2
    assert f"{rules}: {message}" in served.stderr
    # config/channels.yaml: every command checks it at start-up
    good = cli(project, "run", "--input", "input", "--db", "w.duckdb")
    assert good.returncode == 0, good.stderr
    (project / "config" / "channels.yaml").write_text(text, encoding="utf-8")
    for args in (("run", "--input", "input", "--db", "w.duckdb"),
                 ("funnel", "--db", "w.duckdb", "--framework", "aarrr")):
        result = cli(project, *args)
        assert result.returncode == 2, result.stderr
        assert f"config/channels.yaml: {message}" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_shipped_example_rules_are_valid() -> None:
    from journey_metrics.channels import load_rules_file
    from journey_metrics.resources import resource_dir

    rules = load_rules_file(resource_dir("config") / "channels.example.yaml")
    assert [r.channel for r in rules.rules] == [
        "Paid Social", "Brand Search", "Partners", "Newsletter", "Direct"]
    # no config/channels.yaml is shipped: the built-in rules are the default
    assert not (resource_dir("config") / "channels.yaml").exists()
