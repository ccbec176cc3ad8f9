"""CONTRACT §2: channels of web, email and CRM events, of sessions and of persons.

The web rules are one table, checked twice: through the staging macros on a fresh connection
(`jm_web_channel` below: the built-in channel of a medium and the hosts of referrer and page, as
stg_web composes them), and end to end (Segment page calls through the pipeline, reading
`events.channel`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from conftest import TEST_KEY, query, write_csv, write_json_array, write_jsonl

PAGE = "https://shop.example.com/products/42?ref=x"


# (medium, referrer, page_url, expected channel); None = field absent.
CHANNEL_CASES = [
    # 1. medium, in any case and with surrounding spaces; the medium wins over the referrer
    pytest.param("cpc", None, PAGE, "paid_search", id="cpc"),
    pytest.param("CPC", None, PAGE, "paid_search", id="CPC"),
    pytest.param(" Ppc ", None, PAGE, "paid_search", id="ppc-padded"),
    pytest.param("PaidSearch", "https://www.facebook.com/", PAGE, "paid_search", id="paidsearch"),
    pytest.param("email", None, PAGE, "email", id="email"),
    pytest.param("  EMAIL", "https://www.google.com/", PAGE, "email", id="EMAIL-padded"),
    pytest.param("social", None, PAGE, "social", id="social"),
    pytest.param("Paid_Social", None, PAGE, "social", id="paid_social"),
    pytest.param("SOCIAL-MEDIA ", None, PAGE, "social", id="social-media"),
    pytest.param("display", None, PAGE, "display", id="display"),
    pytest.param("Banner", "https://blog.example.org/", PAGE, "display", id="banner"),
    pytest.param(" cpm", None, PAGE, "display", id="cpm"),
    pytest.param("referral", None, PAGE, "referral", id="referral"),
    pytest.param("AFFILIATE", "https://www.google.com/", PAGE, "referral", id="affiliate"),
    pytest.param("\tcpc\n", None, PAGE, "paid_search", id="cpc-tab-newline"),
    # any other non-empty medium
    pytest.param("newsletter", None, PAGE, "other", id="other-newsletter"),
    # the medium organic (analytics tools) is organic search, in any case
    pytest.param("organic", "https://www.google.com/", PAGE, "organic_search", id="organic"),
    pytest.param(" Organic ", None, PAGE, "organic_search", id="organic-no-referrer"),
    pytest.param("organic", "https://www.facebook.com/", PAGE, "organic_search",
                 id="organic-wins-over-referrer"),
    # analytics placeholders count as no medium (any case): the referrer decides
    pytest.param("(none)", None, PAGE, "direct", id="placeholder-none-direct"),
    pytest.param("(None)", "https://www.google.com/", PAGE, "organic_search",
                 id="placeholder-none-google"),
    pytest.param("(not set)", "https://www.facebook.com/", PAGE, "social", id="not-set-social"),
    pytest.param("(NOT SET)", "https://blog.example.org/", PAGE, "referral", id="NOT-SET-ref"),
    pytest.param("none", "https://shop.example.com/a", PAGE, "direct", id="none-own-host"),
    pytest.param(" NONE ", None, PAGE, "direct", id="NONE-padded"),
    pytest.param("nonet", None, PAGE, "other", id="not-a-placeholder"),
    pytest.param("(none) ", "https://t.co/x", PAGE, "social", id="placeholder-padded"),
    pytest.param("cpc-retargeting", None, PAGE, "other", id="other-cpc-prefix"),
    # 2. no medium (absent, empty or blank): the referrer host decides
    pytest.param("", "https://www.google.com/", PAGE, "organic_search", id="empty-medium"),
    pytest.param("   ", "https://www.google.com/", PAGE, "organic_search", id="blank-medium"),
    # search engines, with www. and country domains
    pytest.param(None, "https://google.com/", PAGE, "organic_search", id="google"),
    pytest.param(None, "https://www.google.com/search?q=1", PAGE, "organic_search", id="www-goog"),
    pytest.param(None, "https://www.google.co.uk/", PAGE, "organic_search", id="google-co-uk"),
    pytest.param(None, "https://www.Google.COM./", PAGE, "organic_search",
                 id="google-fully-qualified"),
    pytest.param(None, "https://google.de/url?q=1", PAGE, "organic_search", id="google-de"),
    pytest.param(None, "https://www.bing.com/search?q=x", PAGE, "organic_search", id="bing"),
    pytest.param(None, "https://duckduckgo.com/", PAGE, "organic_search", id="duckduckgo"),
    pytest.param(None, "https://search.yahoo.com/search", PAGE, "organic_search", id="yahoo"),
    pytest.param(None, "https://uk.search.yahoo.com/", PAGE, "organic_search", id="yahoo-uk"),
    pytest.param(None, "https://www.baidu.com/s?wd=x", PAGE, "organic_search", id="baidu"),
    pytest.param(None, "https://yandex.ru/search/", PAGE, "organic_search", id="yandex-ru"),
    pytest.param(None, "https://yandex.com.tr/", PAGE, "organic_search", id="yandex-com-tr"),
    pytest.param(None, "https://www.google.com.vn/", PAGE, "organic_search", id="google-com-vn"),
    pytest.param(None, "https://search.yahoo.co.jp/", PAGE, "organic_search", id="yahoo-co-jp"),
    # social sites, including t.co, x.com and mobile subdomains
    pytest.param(None, "https://www.facebook.com/", PAGE, "social", id="facebook"),
    pytest.param(None, "https://m.facebook.com/story", PAGE, "social", id="m-facebook"),
    pytest.param(None, "https://l.facebook.com/l.php?u=x", PAGE, "social", id="l-facebook"),
    pytest.param(None, "https://www.instagram.com/", PAGE, "social", id="instagram"),
    pytest.param(None, "https://www.linkedin.com/feed/", PAGE, "social", id="linkedin"),
    pytest.param(None, "https://twitter.com/someone", PAGE, "social", id="twitter"),
    pytest.param(None, "https://mobile.twitter.com/", PAGE, "social", id="mobile-twitter"),
    pytest.param(None, "https://t.co/AbC123", PAGE, "social", id="t.co"),
    pytest.param(None, "https://x.com/someone/status/1", PAGE, "social", id="x.com"),
    pytest.param(None, "https://www.youtube.com/watch?v=1", PAGE, "social", id="youtube"),
    pytest.param(None, "https://m.youtube.com/", PAGE, "social", id="m-youtube"),
    pytest.param(None, "https://www.tiktok.com/@someone", PAGE, "social", id="tiktok"),
    pytest.param(None, "https://www.reddit.com/r/x", PAGE, "social", id="reddit"),
    pytest.param(None, "https://old.reddit.com/", PAGE, "social", id="old-reddit"),
    # the listed sites' short links and Android apps (decision 225)
    pytest.param(None, "https://youtu.be/dQw4w9WgXcQ", PAGE, "social", id="youtu.be"),
    pytest.param(None, "https://lnkd.in/eXy1", PAGE, "social", id="lnkd.in"),
    pytest.param(None, "https://fb.me/abc", PAGE, "social", id="fb.me"),
    pytest.param(None, "android-app://com.facebook.katana/", PAGE, "social", id="app-facebook"),
    pytest.param(None, "android-app://com.linkedin.android", PAGE, "social", id="app-linkedin"),
    pytest.param(None, "android-app://com.google.android.googlequicksearchbox/https/www.google.com",
                 PAGE, "organic_search", id="app-google"),
    pytest.param(None, "android-app://com.google.android.gm/", PAGE, "referral", id="app-gmail"),
    pytest.param(None, "https://notyoutu.be/x", PAGE, "referral", id="notyoutu.be"),
    # a search engine's web mail is no search engine
    pytest.param(None, "https://mail.google.com/mail/u/0/", PAGE, "referral", id="gmail-web"),
    pytest.param(None, "https://mail.yahoo.com/d/folders/1", PAGE, "referral", id="yahoo-mail"),
    pytest.param(None, "https://us-mg6.mail.yahoo.com/", PAGE, "referral", id="yahoo-mail-sub"),
    # any other external host
    pytest.param(None, "https://blog.example.org/post/1", PAGE, "referral", id="blog"),
    pytest.param(None, "https://news.ycombinator.com/", PAGE, "referral", id="hn"),
    pytest.param(None, "https://notgoogle.com/", PAGE, "referral", id="notgoogle"),
    pytest.param(None, "https://google.foo.com/", PAGE, "referral", id="google-dot-other-site"),
    pytest.param(None, "https://facebook.fan.net/", PAGE, "referral", id="facebook-dot-other"),
    pytest.param(None, "https://www.youtube.co.uk/", PAGE, "social", id="youtube-co-uk"),
    pytest.param(None, "https://x.company.com/", PAGE, "referral", id="x-subdomain"),
    pytest.param(None, "https://mytwitter.net/", PAGE, "referral", id="mytwitter"),
    pytest.param(None, "https://example.com/", PAGE, "referral", id="parent-domain"),
    pytest.param(None, "https://blog.shop.example.com/", PAGE, "referral", id="sub-domain"),
    # no referrer, or the page's own host
    pytest.param(None, None, PAGE, "direct", id="no-referrer"),
    pytest.param(None, "", PAGE, "direct", id="empty-referrer"),
    pytest.param(None, " https://www.google.com/ ", PAGE, "organic_search",
                 id="referrer-in-blanks"),
    # an email address is no host (and is not stored as one)
    pytest.param(None, "zoe@mail.example.org", PAGE, "direct", id="referrer-is-an-email"),
    pytest.param(None, "https://zoe%40mail.example.org/x", PAGE, "direct",
                 id="referrer-host-is-an-email"),
    pytest.param(None, "https://zoe@mail.example.org/x", PAGE, "referral",
                 id="referrer-with-user-info"),
    pytest.param(None, "https://shop.example.com/cart", PAGE, "direct", id="own-host"),
    pytest.param(None, "https://www.shop.example.com/", PAGE, "direct", id="own-host-www"),
    pytest.param(None, "http://SHOP.Example.com:8080/a", PAGE, "direct", id="own-host-case-port"),
    pytest.param(
        None, "https://shop.example.com/", "https://www.shop.example.com/", "direct",
        id="own-host-page-www",
    ),
]


def _case_values(param: Any) -> tuple[str | None, str | None, str, str]:
    medium, referrer, page_url, expected = param.values
    return medium, referrer, page_url, expected


# ---------------------------------------------------------------------------------------------
# The SQL macro


# The composition stg_web makes of the staging macros, as one macro for these cases. Test-only:
# created on every loading connection, its binding (two URL hosts, each with the email pattern)
# cost 0.16 s per connection, twice per run.
WEB_CHANNEL_MACRO = (
    "CREATE OR REPLACE TEMP MACRO jm_web_channel(medium, referrer, page_url) AS ("
    " jm_builtin_channel(jm_medium(medium),"
    " jm_referrer_class(jm_url_host(referrer), jm_url_host(page_url))))"
)


@pytest.fixture(scope="module")
def macro_con() -> Iterator[Any]:
    from journey_metrics.db import connect

    con = connect(":memory:")
    con.execute(WEB_CHANNEL_MACRO)
    yield con
    con.close()


@pytest.mark.parametrize(("medium", "referrer", "page_url", "expected"), CHANNEL_CASES)
def test_web_channel_macro(
    macro_con: Any, medium: str | None, referrer: str | None, page_url: str, expected: str
) -> None:
    row = macro_con.execute(
        "SELECT jm_web_channel(?::VARCHAR, ?::VARCHAR, ?::VARCHAR)", [medium, referrer, page_url]
    ).fetchone()
    assert row == (expected,)


def test_web_channel_macro_on_temp_file_db(tmp_path: Path) -> None:
    """The macros are TEMP: created on every connection to a file warehouse too."""
    from journey_metrics.db import connect

    con = connect(tmp_path / "w.duckdb")
    try:
        con.execute(WEB_CHANNEL_MACRO)
        rows = con.execute(
            "SELECT jm_web_channel(m, r, p) FROM (VALUES ('cpc', NULL, NULL),"
            " (NULL, 'https://t.co/x', 'https://a.example/'), (NULL, NULL, 'https://a.example/'))"
            " AS t(m, r, p)"
        ).fetchall()
        assert rows == [("paid_search",), ("social",), ("direct",)]
        assert con.execute(
            "SELECT DISTINCT database_name FROM duckdb_functions()"
            " WHERE function_name = 'jm_referrer_class'"
        ).fetchall() == [("temp",)]
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------
# End to end: every table row as one Segment page call


T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _page_message(
    message_id: str,
    anonymous_id: str,
    at: datetime,
    *,
    medium: str | None = None,
    referrer: str | None = None,
    page_url: str | None = PAGE,
    in_properties: bool = False,
) -> dict[str, Any]:
    """A Segment page call; location fields in context.page, or in properties if asked."""
    page: dict[str, Any] = {}
    if page_url is not None:
        page["url"] = page_url
    if referrer is not None:
        page["referrer"] = referrer
    message: dict[str, Any] = {
        "type": "page",
        "messageId": message_id,
        "anonymousId": anonymous_id,
        "timestamp": _iso(at),
        "properties": dict(page) if in_properties else {},
        "context": {} if in_properties else {"page": page},
    }
    if medium is not None:
        message["context"]["campaign"] = {"source": "src", "medium": medium, "name": "spring"}
    return message


@pytest.fixture(scope="module")
def end_to_end_channels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    """Load every table row as a page call (one person each) in one run: event_id -> channel."""
    from journey_metrics import pipeline

    base = tmp_path_factory.mktemp("channels")
    messages = []
    for number, param in enumerate(CHANNEL_CASES):
        medium, referrer, page_url, _ = _case_values(param)
        messages.append(
            _page_message(
                param.id, f"anon-{number}", T0 + timedelta(minutes=number),
                medium=medium, referrer=referrer, page_url=page_url,
            )
        )
    write_jsonl(base / "input" / "web" / "pages.jsonl", messages)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JOURNEY_METRICS_HASH_KEY", TEST_KEY)
        mp.setenv("XDG_CONFIG_HOME", str(base / "config"))
        summary = pipeline.run(base / "input", base / "w.duckdb").as_dict()
    assert summary["sources"][0]["events"] == len(CHANNEL_CASES)
    assert summary["sources"][0]["quarantined"] == 0
    return dict(query(base / "w.duckdb", "SELECT event_id, channel FROM events"))


@pytest.mark.parametrize(("medium", "referrer", "page_url", "expected"), CHANNEL_CASES)
def test_web_channel_end_to_end(
    request: pytest.FixtureRequest,
    end_to_end_channels: dict[str, str | None],
    medium: str | None,
    referrer: str | None,
    page_url: str,
    expected: str,
) -> None:
    case_id = request.node.callspec.id
    assert end_to_end_channels[case_id] == expected


def test_page_call_location_in_properties(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    """Page calls may carry url/referrer in `properties` instead of `context.page`."""
    write_jsonl(
        input_dir / "web" / "p.jsonl",
        [
            _page_message("p-search", "a1", T0, referrer="https://www.bing.com/",
                          in_properties=True),
            _page_message("p-own", "a2", T0, referrer="https://shop.example.com/x",
                          in_properties=True),
            _page_message("p-ext", "a3", T0, referrer="https://blog.example.org/",
                          in_properties=True),
            _page_message("p-none", "a4", T0, in_properties=True),
        ],
    )
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT event_id, channel FROM events ORDER BY event_id") == [
        ("p-ext", "referral"),
        ("p-none", "direct"),
        ("p-own", "direct"),
        ("p-search", "organic_search"),
    ]


def test_blank_context_page_fields_are_missing(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    """A blank `context.page.referrer` or `url` is no value: a page call's `properties` then
    locate the page, as when context.page leaves the field out."""
    def page(message_id: str, anonymous_id: str, context_page: dict[str, str],
             properties: dict[str, str]) -> dict[str, Any]:
        return {"type": "page", "messageId": message_id, "anonymousId": anonymous_id,
                "timestamp": T0.isoformat(), "context": {"page": context_page},
                "properties": properties}

    write_jsonl(input_dir / "web" / "b.jsonl", [
        page("b-referrer", "a1", {"url": "https://shop.example.com/", "referrer": " "},
             {"url": "https://shop.example.com/", "referrer": "https://www.google.com/"}),
        page("b-url", "a2", {"url": "", "referrer": "https://shop.example.com/x"},
             {"url": "https://shop.example.com/"}),
    ])
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT event_id, page_host, referrer_host, channel FROM events"
                          " ORDER BY event_id") == [
        ("b-referrer", "shop.example.com", "google.com", "organic_search"),
        ("b-url", "shop.example.com", "shop.example.com", "direct"),
    ]


def test_track_properties_do_not_locate_the_page(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    """`properties.{url,referrer}` locate the page only in a page call (CONTRACT §1): a track's
    `referrer` property is what the event is about (say, who referred a sign-up), not where the
    visitor came from. context.page still counts for a track."""
    def track(message_id: str, anonymous_id: str, **fields: Any) -> dict[str, Any]:
        return {"type": "track", "messageId": message_id, "anonymousId": anonymous_id,
                "event": "Signed Up", "timestamp": T0.isoformat(), **fields}

    write_jsonl(input_dir / "web" / "t.jsonl", [
        track("t-props", "a1", properties={"referrer": "https://www.bing.com/"}),
        track("t-url", "a4", properties={"url": "https://blog.example.org/post"},
              context={"page": {"referrer": "https://blog.example.org/"}}),
        track("t-context", "a2", context={"page": {"referrer": "https://www.bing.com/",
                                                   "url": "https://shop.example.com/"}}),
        track("t-both", "a3", properties={"referrer": "https://www.bing.com/"},
              context={"page": {"referrer": "https://blog.example.org/",
                                "url": "https://shop.example.com/"}}),
    ])
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT event_id, channel FROM events ORDER BY event_id") == [
        ("t-both", "referral"),
        ("t-context", "organic_search"),
        ("t-props", "direct"),
        ("t-url", "referral"),
    ]


# ---------------------------------------------------------------------------------------------
# Email and CRM events

CONTACT_HEADER = ["hs_object_id", "email", "createdate", "lifecyclestage",
                  "hs_lifecyclestage_lead_date", "hs_lifecyclestage_customer_date"]
DEAL_HEADER = ["hs_object_id", "dealname", "dealstage", "amount", "closedate",
               "associated_contact_id"]
FEEDBACK_HEADER = ["hs_object_id", "hs_survey_type", "hs_response_value",
                   "hs_submission_timestamp", "contact_email", "associated_contact_id"]


def _sendgrid(event_id: str, email: str, event: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {"email": email, "timestamp": int(at.timestamp()), "event": event,
            "sg_event_id": event_id, "sg_message_id": f"msg-{event_id}", **extra}


def test_email_events_are_email_and_crm_events_have_no_channel(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    write_json_array(
        input_dir / "email" / "sg.json",
        [
            _sendgrid("sg-delivered", "ann@example.com", "delivered", T0),
            _sendgrid("sg-open", "ann@example.com", "open", T0 + timedelta(minutes=5)),
            # a click whose URL carries UTM parameters is still an email event
            _sendgrid("sg-click", "ann@example.com", "click", T0 + timedelta(minutes=6),
                      url="https://shop.example.com/?utm_medium=cpc&utm_source=google"),
            _sendgrid("sg-unsub", "ann@example.com", "unsubscribe", T0 + timedelta(minutes=7)),
        ],
    )
    write_csv(input_dir / "crm" / "contacts.csv", CONTACT_HEADER,
              [["101", "ann@example.com", "2024-01-01", "customer", "2024-01-02", "2024-02-01"]])
    write_csv(input_dir / "crm" / "deals.csv", DEAL_HEADER,
              [["d1", "Big deal", "closedwon", "100", "2024-02-01", "101"],
               ["d2", "Other", "appointmentscheduled", "", "2024-02-02", "101"]])
    write_csv(input_dir / "crm" / "feedback.csv", FEEDBACK_HEADER,
              [["f1", "NPS", "9", "2024-03-01", "ann@example.com", ""]])
    run_pipeline(input_dir, db_path)
    rows = query(
        db_path, "SELECT source, event_name, channel FROM events ORDER BY source, event_name"
    )
    assert rows == [
        ("crm", "deal_appointmentscheduled", None),
        ("crm", "deal_won", None),
        ("crm", "lifecycle_customer", None),
        ("crm", "lifecycle_lead", None),
        ("crm", "nps_response", None),
        ("email", "email_click", "email"),
        ("email", "email_delivered", "email"),
        ("email", "email_open", "email"),
        ("email", "email_unsubscribe", "email"),
    ]


# ---------------------------------------------------------------------------------------------
# Sessions


def test_sessions_split_after_more_than_30_minutes(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    t = T0
    write_jsonl(
        input_dir / "web" / "a.jsonl",
        [
            # session 1 of `u1`: google landing, then facebook 30 min later (same session)
            _page_message("w1", "anon-u1", t, referrer="https://www.google.com/"),
            {"type": "identify", "messageId": "w2", "anonymousId": "anon-u1", "userId": "u1",
             "timestamp": _iso(t + timedelta(minutes=10)), "traits": {"email": "u1@example.com"}},
            _page_message("w3", "anon-u1", t + timedelta(minutes=30),
                          referrer="https://www.facebook.com/"),
            # another person in the gap must not bridge u1's sessions
            _page_message("w4", "anon-other", t + timedelta(minutes=45)),
            # 30 min + 1 s after w3: a new session, its channel is its first event's
            _page_message("w5", "anon-u1", t + timedelta(minutes=60, seconds=1), medium="cpc"),
            # exactly 30 min later: same session
            _page_message("w6", "anon-u1", t + timedelta(minutes=90, seconds=1),
                          referrer="https://t.co/x"),
            # exactly 30 min later again: still the same session
            {"type": "track", "messageId": "w7", "userId": "u1", "event": "Order Completed",
             "timestamp": _iso(t + timedelta(minutes=120, seconds=1)),
             "properties": {"revenue": 10}},
        ],
    )
    # An email event in the gap (linked to u1 through the identify email) is not a web event:
    # it does not join the two sessions.
    write_json_array(input_dir / "email" / "e.json",
                     [_sendgrid("e1", "U1@example.com ", "open", t + timedelta(minutes=45))])
    run_pipeline(input_dir, db_path)

    def person(event_id: str) -> str:
        rows = query(db_path, "SELECT person_id FROM fct_events WHERE event_id = ?", [event_id])
        return str(rows[0][0])

    u1, other = person("w1"), person("w4")
    assert {person(e) for e in ("w2", "w3", "w5", "w6", "w7", "e1")} == {u1}
    sessions = query(
        db_path,
        "SELECT person_id, session_no, started_at, ended_at, channel, events FROM sessions"
        " ORDER BY person_id = ? DESC, session_no",
        [u1],
    )
    assert sessions == [
        (u1, 1, t, t + timedelta(minutes=30), "organic_search", 3),
        (u1, 2, t + timedelta(minutes=60, seconds=1), t + timedelta(minutes=120, seconds=1),
         "paid_search", 3),
        (other, 1, t + timedelta(minutes=45), t + timedelta(minutes=45), "direct", 1),
    ]


def test_session_boundary_exactly_30_minutes_and_one_second(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    write_jsonl(
        input_dir / "web" / "a.jsonl",
        [
            _page_message("a1", "same", T0, medium="email"),
            _page_message("a2", "same", T0 + timedelta(minutes=30), medium="display"),
            _page_message("b1", "split", T0, medium="email"),
            _page_message("b2", "split", T0 + timedelta(minutes=30, seconds=1), medium="display"),
        ],
    )
    run_pipeline(input_dir, db_path)
    rows = query(
        db_path,
        "SELECT f.anonymous_id, s.session_no, s.started_at, s.channel, s.events"
        " FROM sessions AS s JOIN (SELECT DISTINCT person_id, anonymous_id FROM fct_events) AS f"
        " USING (person_id) ORDER BY f.anonymous_id, s.session_no",
    )
    assert rows == [
        ("same", 1, T0, "email", 2),
        ("split", 1, T0, "email", 1),
        ("split", 2, T0 + timedelta(minutes=30, seconds=1), "display", 1),
    ]


# ---------------------------------------------------------------------------------------------
# Person channel


def test_person_channel_is_first_event_with_a_channel(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    jan, feb, mar = (datetime(2024, m, 1, 12, tzinfo=UTC) for m in (1, 2, 3))
    write_jsonl(
        input_dir / "web" / "site.jsonl",
        [
            # p1: CRM lead in January (no channel), first web visit from facebook in February
            _page_message("p1-page", "anon-p1", feb, referrer="https://m.facebook.com/"),
            {"type": "identify", "messageId": "p1-id", "anonymousId": "anon-p1", "userId": "p1",
             "timestamp": _iso(feb + timedelta(minutes=1)), "traits": {"email": "P1@Example.com"}},
            _page_message("p1-later", "anon-p1", mar, medium="cpc"),
            # p2: an email open in January comes before the google visit in February
            _page_message("p2-page", "anon-p2", feb, referrer="https://www.google.com/"),
            {"type": "identify", "messageId": "p2-id", "anonymousId": "anon-p2", "userId": "p2",
             "timestamp": _iso(feb + timedelta(minutes=1)), "traits": {"email": "p2@example.com"}},
            # p4: web only, paid search first, then social
            _page_message("p4-first", "anon-p4", jan, medium="CPC"),
            _page_message("p4-second", "anon-p4", jan + timedelta(hours=1), medium="social"),
        ],
    )
    write_json_array(input_dir / "email" / "sg.json",
                     [_sendgrid("p2-open", "p2@example.com", "open", jan)])
    write_csv(
        input_dir / "crm" / "contacts.csv",
        CONTACT_HEADER,
        [
            ["1", " p1@example.com ", "2024-01-01", "lead", "2024-01-01T12:00:00Z", ""],
            # p3: CRM only
            ["3", "p3@example.com", "2024-01-01", "customer", "2024-01-05", "2024-02-05"],
        ],
    )
    write_csv(input_dir / "crm" / "feedback.csv", FEEDBACK_HEADER,
              [["f3", "NPS", "10", "2024-03-01", "", "3"]])
    summary = run_pipeline(input_dir, db_path)
    assert summary["persons"] == 4

    rows = query(
        db_path,
        "SELECT DISTINCT f.event_id, p.channel, p.first_seen_at FROM persons AS p"
        " JOIN fct_events AS f USING (person_id)"
        " WHERE f.event_id IN ('p1-page', 'p2-page', '3:customer', 'p4-first') ORDER BY 1",
    )
    assert rows == [
        ("3:customer", "(none)", datetime(2024, 1, 5, tzinfo=UTC)),
        ("p1-page", "social", jan),
        ("p2-page", "email", jan),
        ("p4-first", "paid_search", jan),
    ]
    # p1's CRM event is part of the person (so first_seen_at is January) but has no channel
    assert query(
        db_path,
        "SELECT count(DISTINCT person_id) FROM fct_events"
        " WHERE event_id IN ('p1-page', 'p1-id', 'p1-later', '1:lead')",
    ) == [(1,)]


def test_every_engine_lower_cases_as_duckdb() -> None:
    """DuckDB lower-cases letter by letter; Python and Java (Spark) also apply Unicode's special
    casing to İ and a final Σ. The Python reference, Spark's jm_lower and the channel rules'
    mediums map those first (decision 193): a rule's `ΤΥΠΟΣ` matched no event's medium."""
    from journey_metrics.channels import parse_rules
    from journey_metrics.hashing import lower_as_duckdb, spark_lower

    functions = (Path(__file__).parents[1] / "sql" / "staging" / "functions.spark.sql").read_text()
    assert f"jm_lower(txt STRING) RETURNS STRING\nRETURN {spark_lower('txt')};" in functions
    con = duckdb.connect()
    for text in ("\u0130nci", "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u0391\u03a3", "\u01c4",
                 "\u1e9e", "ABC", "\u03c2"):
        assert lower_as_duckdb(text) == con.execute("SELECT lower(?)", [text]).fetchall()[0][0]
    rules = parse_rules([{"channel": "Typos", "medium": ["\u03a4\u03a5\u03a0\u039f\u03a3"]}], "t")
    assert rules.rules[0].medium == (con.execute(
        "SELECT lower(?)", ["\u03a4\u03a5\u03a0\u039f\u03a3"]).fetchall()[0][0],)
