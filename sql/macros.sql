-- Scalar helpers every model uses. Created as TEMP macros on each connection (db.connect), so the
-- warehouse file never depends on them.

-- An instant from text: ISO 8601 with an offset or Z, naive ISO in `tz`, or Unix epoch milliseconds.
CREATE OR REPLACE TEMP MACRO jm_parse_instant(txt, tz) AS (
    CASE
        WHEN txt IS NULL OR trim(txt) = '' THEN NULL
        WHEN regexp_full_match(trim(txt), '-?[0-9]{1,16}')
            THEN timezone('UTC', epoch_ms(TRY_CAST(trim(txt) AS BIGINT)))
        WHEN regexp_matches(trim(txt), '[0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?\s*([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$')
            THEN TRY_CAST(trim(txt) AS TIMESTAMPTZ)
        ELSE timezone(tz, TRY_CAST(trim(txt) AS TIMESTAMP))
    END
);

-- An instant from Unix seconds (SendGrid), given as a number or numeric text.
CREATE OR REPLACE TEMP MACRO jm_parse_unix_seconds(txt) AS (
    CASE WHEN regexp_full_match(trim(txt), '-?[0-9]+(\.[0-9]+)?')
        THEN to_timestamp(TRY_CAST(trim(txt) AS DOUBLE)) END
);

-- Email addresses (plain or URL-encoded @) replaced by a marker: used on every raw text we keep.
CREATE OR REPLACE TEMP MACRO jm_redact(txt) AS (
    regexp_replace(txt, '[A-Za-z0-9._%+''-]+(@|%40)[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}',
                   '<redacted-email>', 'g')
);

CREATE OR REPLACE TEMP MACRO jm_looks_like_email(txt) AS (
    regexp_full_match(trim(txt), '[^@\s]+@[^@\s]+\.[^@\s]+')
);

-- Emails are matched after trimming and lower-casing (CONTRACT §1 Identity).
CREATE OR REPLACE TEMP MACRO jm_normalize_email(txt) AS (nullif(lower(trim(txt)), ''));

-- Empty strings count as missing everywhere.
CREATE OR REPLACE TEMP MACRO jm_blank_to_null(txt) AS (nullif(trim(txt), ''));

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
             ELSE regexp_extract(trim(url), '^([^/:?#\s]+\.[^/:?#\s]+)', 1) END
    ), '^www\.', ''), '')
);

-- CONTRACT §2: the channel of a web event from its UTM medium, referrer and page URL.
CREATE OR REPLACE TEMP MACRO jm_web_channel(medium, referrer, page_url) AS (
    CASE
        WHEN nullif(lower(trim(medium)), '') IS NOT NULL THEN
            CASE
                WHEN lower(trim(medium)) IN ('cpc', 'ppc', 'paidsearch') THEN 'paid_search'
                WHEN lower(trim(medium)) = 'email' THEN 'email'
                WHEN lower(trim(medium)) IN ('social', 'paid_social', 'social-media') THEN 'social'
                WHEN lower(trim(medium)) IN ('display', 'banner', 'cpm') THEN 'display'
                WHEN lower(trim(medium)) IN ('referral', 'affiliate') THEN 'referral'
                ELSE 'other'
            END
        WHEN jm_url_host(referrer) IS NULL THEN 'direct'
        WHEN jm_url_host(referrer) = jm_url_host(page_url) THEN 'direct'
        WHEN list_has_any(string_split(jm_url_host(referrer), '.'),
                          ['google', 'bing', 'duckduckgo', 'yahoo', 'baidu', 'yandex'])
            THEN 'organic_search'
        WHEN list_has_any(string_split(jm_url_host(referrer), '.'),
                          ['facebook', 'instagram', 'linkedin', 'twitter', 'youtube', 'tiktok',
                           'reddit'])
             OR jm_url_host(referrer) IN ('t.co', 'x.com')
             OR suffix(jm_url_host(referrer), '.t.co') OR suffix(jm_url_host(referrer), '.x.com')
            THEN 'social'
        ELSE 'referral'
    END
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
