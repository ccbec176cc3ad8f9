-- Scalar helpers every model uses. Created as TEMP macros on each connection (db.connect), so the
-- warehouse file never depends on them.

-- trim() strips only spaces; exports also pad with tabs and line breaks. Every character trimmed
-- is at most U+0020, so text whose first and last characters lie above it is returned as it is:
-- trim() with a character list costs about 5x that test (1M values: 0.26 s against 0.05 s).
CREATE OR REPLACE TEMP MACRO jm_trim(txt) AS (
    CASE WHEN ascii(txt) > 32 AND ascii(right(txt, 1)) > 32 THEN txt
         ELSE trim(txt, e' \t\r\n\x0b\x0c') END
);

-- An instant from text: ISO 8601 with an offset or Z, naive ISO in `tz`, or Unix epoch milliseconds.
-- Epoch milliseconds need 10+ digits (2001 onwards... and 1973-2001 with 12), so a compact date
-- like 20240310 is not mistaken for one. Lower-case t/z and a decimal comma are valid ISO 8601.
CREATE OR REPLACE TEMP MACRO jm_parse_instant(txt, tz) AS (
    CASE
        -- the form almost every export writes (Segment's own), which the offset branch below
        -- would parse the same: one match instead of its trims and two patterns (~3x faster)
        WHEN regexp_full_match(txt, '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z')
            THEN TRY_CAST(txt AS TIMESTAMPTZ)
        WHEN jm_trim(txt) IS NULL OR jm_trim(txt) = '' THEN NULL
        WHEN regexp_full_match(jm_trim(txt), '-?[0-9]{10,16}')
            THEN timezone('UTC', epoch_ms(TRY_CAST(jm_trim(txt) AS BIGINT)))
        WHEN regexp_matches(upper(jm_trim(txt)), '[0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?\s*(Z|[+-][0-9]{2}(:?[0-9]{2})?)$')
            THEN TRY_CAST(replace(upper(jm_trim(txt)), ',', '.') AS TIMESTAMPTZ)
        ELSE timezone(tz, TRY_CAST(replace(upper(jm_trim(txt)), ',', '.') AS TIMESTAMP))
    END
);

-- An instant from Unix seconds (SendGrid), given as a number or numeric text.
CREATE OR REPLACE TEMP MACRO jm_parse_unix_seconds(txt) AS (
    CASE WHEN regexp_full_match(jm_trim(txt), '-?[0-9]+(\.[0-9]+)?')
        THEN to_timestamp(TRY_CAST(jm_trim(txt) AS DOUBLE)) END
);

-- An email address anywhere in a text (plain or URL-encoded @, any script).
CREATE OR REPLACE TEMP MACRO jm_email_pattern() AS (
    '[\p{L}\p{N}._%+''-]+(@|%40)[\p{L}\p{N}-]+(\.[\p{L}\p{N}-]+)*\.[\p{L}]{2,}'
);

-- Email addresses (plain or URL-encoded @) replaced by a marker: used on every raw text we keep.
CREATE OR REPLACE TEMP MACRO jm_redact(txt) AS (
    CASE WHEN contains(txt, '@') OR contains(txt, '%40')
         THEN regexp_replace(txt, jm_email_pattern(), '<redacted-email>', 'g') ELSE txt END
);

CREATE OR REPLACE TEMP MACRO jm_contains_email(txt) AS (
    (contains(txt, '@') OR contains(txt, '%40')) AND regexp_matches(txt, jm_email_pattern())
);

-- Emails are matched after trimming and lower-casing (CONTRACT §1 Identity).
CREATE OR REPLACE TEMP MACRO jm_normalize_email(txt) AS (nullif(lower(jm_trim(txt)), ''));

-- Empty strings count as missing everywhere.
CREATE OR REPLACE TEMP MACRO jm_blank_to_null(txt) AS (nullif(jm_trim(txt), ''));

-- "Order Completed" -> order_completed, "orderCompleted" -> order_completed.
CREATE OR REPLACE TEMP MACRO jm_snake_case(txt) AS (
    trim(regexp_replace(lower(regexp_replace(trim(txt), '([a-z0-9])([A-Z])', '\1_\2', 'g')),
                        '[^a-z0-9]+', '_', 'g'), '_')
);

-- Host of a URL, lower-cased, without a leading "www."; NULL when there is none.
CREATE OR REPLACE TEMP MACRO jm_url_host(url) AS (
    nullif(regexp_replace(lower(
        CASE WHEN contains(url, '//')
             THEN regexp_extract(url, '^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//(?:[^/?#@]*@)?([^/:?#]+)', 1)
             ELSE regexp_extract(jm_trim(url), '^([^/:?#\s]+\.[^/:?#\s]+)', 1) END
    ), '^www\.', ''), '')
);

-- CONTRACT §2: a UTM medium as the channel rules read it: trimmed, lower-cased; empty and the
-- analytics placeholders `(none)`, `(not set)`, `none` count as no medium (NULL).
CREATE OR REPLACE TEMP MACRO jm_medium(medium) AS (
    CASE WHEN lower(jm_trim(medium)) NOT IN ('', '(none)', '(not set)', 'none')
         THEN lower(jm_trim(medium)) END
);

-- CONTRACT §2: the class of a web event's referrer: none, own (the page's own host), search,
-- social or external. Stored with the event, so channel rules can be re-applied without reloading.
CREATE OR REPLACE TEMP MACRO jm_referrer_class(referrer_host, page_host) AS (
    CASE
        WHEN referrer_host IS NULL THEN 'none'
        WHEN referrer_host = page_host THEN 'own'
        -- the site's name followed only by a (country) top-level domain: google.co.uk,
        -- search.yahoo.com; not notgoogle.com, google.example.org or bing.com.evil.net
        WHEN regexp_matches(referrer_host,
                            '(^|\.)(google|bing|duckduckgo|yahoo|baidu|yandex)(\.[a-z]{2,3}){1,2}$')
            THEN 'search'
        WHEN regexp_matches(referrer_host,
                            '(^|\.)(facebook|instagram|linkedin|twitter|youtube|tiktok|reddit)(\.[a-z]{2,3}){1,2}$|(^|\.)(t\.co|x\.com)$')
            THEN 'social'
        ELSE 'external'
    END
);

-- CONTRACT §2 built-in rules: the channel from the medium (jm_medium: NULL = no medium) and the
-- referrer class. Custom rules (channels.py) fall back to this.
CREATE OR REPLACE TEMP MACRO jm_builtin_channel(medium, referrer_class) AS (
    CASE
        WHEN medium IS NOT NULL THEN
            CASE
                WHEN medium IN ('cpc', 'ppc', 'paidsearch') THEN 'paid_search'
                WHEN medium = 'organic' THEN 'organic_search'
                WHEN medium = 'email' THEN 'email'
                WHEN medium IN ('social', 'paid_social', 'social-media') THEN 'social'
                WHEN medium IN ('display', 'banner', 'cpm') THEN 'display'
                WHEN medium IN ('referral', 'affiliate') THEN 'referral'
                ELSE 'other'
            END
        WHEN referrer_class = 'search' THEN 'organic_search'
        WHEN referrer_class = 'social' THEN 'social'
        WHEN referrer_class = 'external' THEN 'referral'
        ELSE 'direct'
    END
);

-- The built-in channel from a raw medium and the hosts of referrer and page.
CREATE OR REPLACE TEMP MACRO jm_channel_from_hosts(medium, referrer_host, page_host) AS (
    jm_builtin_channel(jm_medium(medium), jm_referrer_class(referrer_host, page_host))
);

-- The current channel rules (built-in until channels.py replaces it with the configured ones).
CREATE OR REPLACE TEMP MACRO jm_rules_channel(medium, utm_source, campaign, referrer_class) AS (
    jm_builtin_channel(medium, referrer_class)
);

-- The first id of a list written `id1;id2;...` (HubSpot's "Associated Contact IDs").
CREATE OR REPLACE TEMP MACRO jm_first_listed(txt) AS (
    list_filter(list_transform(string_split(txt, ';'), lambda x: jm_blank_to_null(x)),
                lambda x: x IS NOT NULL)[1]
);

CREATE OR REPLACE TEMP MACRO jm_web_channel(medium, referrer, page_url) AS (
    jm_channel_from_hosts(medium, jm_url_host(referrer), jm_url_host(page_url))
);

-- An NPS score: a whole number ("7" or "7.0"; "7.5" is not a score, a cast would round it).
CREATE OR REPLACE TEMP MACRO jm_nps_score(txt) AS (
    CASE WHEN regexp_full_match(jm_trim(txt), '-?[0-9]+(\.0+)?')
         THEN TRY_CAST(TRY_CAST(jm_trim(txt) AS DOUBLE) AS BIGINT) END
);

-- CONTRACT §1 surveys: the event a survey answer becomes (survey type nps, csat or ces, any case).
CREATE OR REPLACE TEMP MACRO jm_survey_event(survey) AS (
    CASE lower(jm_trim(survey))
        WHEN 'nps' THEN 'nps_response'
        WHEN 'csat' THEN 'csat_response'
        WHEN 'ces' THEN 'ces_response'
    END
);

-- The score range of a survey: NPS 0-10, CSAT 1-5, CES 1-7.
CREATE OR REPLACE TEMP MACRO jm_survey_low(survey) AS (
    CASE lower(jm_trim(survey)) WHEN 'nps' THEN 0 ELSE 1 END
);
CREATE OR REPLACE TEMP MACRO jm_survey_high(survey) AS (
    CASE lower(jm_trim(survey)) WHEN 'nps' THEN 10 WHEN 'csat' THEN 5 WHEN 'ces' THEN 7 END
);

-- Why a survey answer cannot be read, naming the survey and the value (NULL when it can): the
-- score must be a whole number in the survey's range.
CREATE OR REPLACE TEMP MACRO jm_survey_problem(survey, score_text) AS (
    CASE
        WHEN jm_survey_event(survey) IS NULL
            THEN 'unknown survey type ' || coalesce(jm_redact(jm_blank_to_null(survey)), '(none)')
        WHEN jm_blank_to_null(score_text) IS NULL
            THEN 'missing ' || upper(jm_trim(survey)) || ' score'
        WHEN jm_nps_score(score_text) IS NULL
            THEN upper(jm_trim(survey)) || ' score is not a whole number: ' || jm_redact(score_text)
        WHEN jm_nps_score(score_text) NOT BETWEEN jm_survey_low(survey) AND jm_survey_high(survey)
            THEN upper(jm_trim(survey)) || ' score outside ' || jm_survey_low(survey) || '-'
                 || jm_survey_high(survey) || ': ' || jm_trim(score_text)
    END
);

-- CONTRACT §6 traits of a JSON object: its keys in snake_case (after `prefix`), values as text
-- (emails redacted), only non-empty values of the names in `allowed`. A list of
-- {trait, value}; empty for anything but an object.
CREATE OR REPLACE TEMP MACRO jm_traits(obj, prefix, allowed) AS (
    coalesce(list_filter(
        list_transform(
            map_entries(json_transform(CASE WHEN json_type(obj) = 'OBJECT' THEN obj END,
                                       '"MAP(VARCHAR, JSON)"')),
            lambda e: {'trait': prefix || jm_snake_case(e.key),
                       'value': jm_redact(jm_blank_to_null(
                           CASE json_type(e.value)
                               WHEN 'VARCHAR' THEN json_extract_string(e.value, '$')
                               WHEN 'NULL' THEN NULL
                               ELSE e.value::VARCHAR
                           END))}),
        lambda t: t.value IS NOT NULL AND list_contains(allowed, t.trait)
    ), [])
);

-- The identity node an event is stitched through: its most specific identifier.
CREATE OR REPLACE TEMP MACRO jm_person_key(user_id, anonymous_id, email_hash, crm_contact_id) AS (
    coalesce('u:' || user_id, 'a:' || anonymous_id, 'e:' || email_hash, 'c:' || crm_contact_id)
);

-- Every identity node a record carries (they are linked: CONTRACT §1 Identity).
CREATE OR REPLACE TEMP MACRO jm_identity_nodes(user_id, anonymous_id, email_hash, crm_contact_id) AS (
    list_filter(['u:' || user_id, 'a:' || anonymous_id, 'e:' || email_hash, 'c:' || crm_contact_id],
                lambda x: x IS NOT NULL)
);

-- CONTRACT §4 Activity: any event except identify, the email events a person does not do, and
-- the signals of leaving (an unsubscribe never counts as a return).
CREATE OR REPLACE TEMP MACRO jm_is_activity(event_name) AS (
    event_name NOT IN ('identify', 'email_processed', 'email_dropped', 'email_delivered',
                       'email_deferred', 'email_bounce', 'email_unsubscribe',
                       'email_group_unsubscribe', 'email_spamreport')
);

-- Durations between instants in integer microseconds (the session zone is UTC and windows are
-- whole minutes, hours or days, so this is exact). Why not `t <= start + window` or
-- `epoch(t1 - t0)`: DuckDB computes TIMESTAMPTZ + a days interval and TIMESTAMPTZ - TIMESTAMPTZ
-- with ICU calendar arithmetic, 20 to 100 times the cost of integer arithmetic per row
-- (docs/benchmarks.md, decision 98).
-- `t` lies at most `window_us` microseconds after `start` (the window's end is inclusive).
CREATE OR REPLACE TEMP MACRO jm_within(t, start, window_us) AS (
    epoch_us(t) <= epoch_us(start) + window_us
);

-- Hours from `t0` to `t1` (negative when t1 is earlier), microseconds exact until the division.
CREATE OR REPLACE TEMP MACRO jm_hours_between(t0, t1) AS (
    CAST(epoch_us(t1) - epoch_us(t0) AS DOUBLE) / 3600e6
);

-- The calendar period (day, week starting Monday, month) containing an instant, in zone `tz`.
-- Local calendar dates make daylight-saving days 23 or 25 hours long, as they should be.
-- In UTC the wall clock is the instant's own microseconds (make_timestamp), which skips ICU's
-- zone conversion (2M instants: 0.035 s against 0.19 s); other zones convert.
CREATE OR REPLACE TEMP MACRO jm_period_start(ts, tz, period) AS (
    date_trunc(period, CASE WHEN tz = 'UTC' THEN make_timestamp(epoch_us(ts))
                            ELSE timezone(tz, ts) END)::DATE
);

-- Whole periods from one period start to another.
CREATE OR REPLACE TEMP MACRO jm_periods_between(from_start, to_start, period) AS (
    CASE period
        WHEN 'day' THEN date_diff('day', from_start, to_start)
        WHEN 'week' THEN date_diff('day', from_start, to_start) // 7
        ELSE date_diff('month', from_start, to_start)
    END
);
