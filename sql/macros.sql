-- Scalar helpers every model uses. Created as TEMP macros on each connection (db.connect), so the
-- warehouse file never depends on them.

-- trim() strips only spaces; exports also pad with tabs and line breaks.
CREATE OR REPLACE TEMP MACRO jm_trim(txt) AS (trim(txt, e' \t\r\n\x0b\x0c'));

-- An instant from text: ISO 8601 with an offset or Z, naive ISO in `tz`, or Unix epoch milliseconds.
-- Epoch milliseconds need 10+ digits (2001 onwards... and 1973-2001 with 12), so a compact date
-- like 20240310 is not mistaken for one. Lower-case t/z and a decimal comma are valid ISO 8601.
CREATE OR REPLACE TEMP MACRO jm_parse_instant(txt, tz) AS (
    CASE
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

-- CONTRACT §2: the channel of a web event from its UTM medium and the hosts of its referrer and
-- page (computed once by the caller: host extraction is the expensive part).
CREATE OR REPLACE TEMP MACRO jm_channel_from_hosts(medium, referrer_host, page_host) AS (
    CASE
        WHEN nullif(lower(jm_trim(medium)), '') IS NOT NULL THEN
            CASE
                WHEN lower(jm_trim(medium)) IN ('cpc', 'ppc', 'paidsearch') THEN 'paid_search'
                WHEN lower(jm_trim(medium)) = 'email' THEN 'email'
                WHEN lower(jm_trim(medium)) IN ('social', 'paid_social', 'social-media') THEN 'social'
                WHEN lower(jm_trim(medium)) IN ('display', 'banner', 'cpm') THEN 'display'
                WHEN lower(jm_trim(medium)) IN ('referral', 'affiliate') THEN 'referral'
                ELSE 'other'
            END
        WHEN referrer_host IS NULL THEN 'direct'
        WHEN referrer_host = page_host THEN 'direct'
        -- the site's name followed only by a (country) top-level domain: google.co.uk,
        -- search.yahoo.com; not notgoogle.com, google.example.org or bing.com.evil.net
        WHEN regexp_matches(referrer_host,
                            '(^|\.)(google|bing|duckduckgo|yahoo|baidu|yandex)(\.[a-z]{2,3}){1,2}$')
            THEN 'organic_search'
        WHEN regexp_matches(referrer_host,
                            '(^|\.)(facebook|instagram|linkedin|twitter|youtube|tiktok|reddit)(\.[a-z]{2,3}){1,2}$|(^|\.)(t\.co|x\.com)$')
            THEN 'social'
        ELSE 'referral'
    END
);

CREATE OR REPLACE TEMP MACRO jm_web_channel(medium, referrer, page_url) AS (
    jm_channel_from_hosts(medium, jm_url_host(referrer), jm_url_host(page_url))
);

-- An NPS score: a whole number ("7" or "7.0"; "7.5" is not a score, a cast would round it).
CREATE OR REPLACE TEMP MACRO jm_nps_score(txt) AS (
    CASE WHEN regexp_full_match(jm_trim(txt), '-?[0-9]+(\.0+)?')
         THEN TRY_CAST(TRY_CAST(jm_trim(txt) AS DOUBLE) AS BIGINT) END
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
-- the signals of leaving (an unsubscribe or spam report is not a return).
CREATE OR REPLACE TEMP MACRO jm_is_activity(event_name) AS (
    event_name NOT IN ('identify', 'email_processed', 'email_dropped', 'email_delivered',
                       'email_deferred', 'email_bounce',
                       'email_unsubscribe', 'email_group_unsubscribe', 'email_spamreport')
);

-- The calendar period (day, week starting Monday, month) containing an instant, in zone `tz`.
-- Local calendar dates make daylight-saving days 23 or 25 hours long, as they should be.
CREATE OR REPLACE TEMP MACRO jm_period_start(ts, tz, period) AS (
    date_trunc(period, timezone(tz, ts))::DATE
);

-- Whole periods from one period start to another.
CREATE OR REPLACE TEMP MACRO jm_periods_between(from_start, to_start, period) AS (
    CASE period
        WHEN 'day' THEN date_diff('day', from_start, to_start)
        WHEN 'week' THEN date_diff('day', from_start, to_start) // 7
        ELSE date_diff('month', from_start, to_start)
    END
);
