-- Scalar helpers every model uses. Created as TEMP macros on each connection (db.install_macros),
-- so the warehouse file never depends on them. The ones only loading needs are in
-- sql/staging/macros.sql, created on loading connections only.

-- trim() strips only spaces; exports also pad with tabs and line breaks. Every character trimmed
-- is at most U+0020, so text whose first and last characters lie above it is returned as it is:
-- trim() with a character list costs about 5x that test (1M values: 0.26 s against 0.05 s).
CREATE OR REPLACE TEMP MACRO jm_trim(txt) AS (
    CASE WHEN ascii(txt) > 32 AND ascii(right(txt, 1)) > 32 THEN txt::VARCHAR
         ELSE trim(txt, e' \t\r\n\x0b\x0c') END
);

-- A property's text as a number when it is written as a plain decimal number (`9`, `-2.5`,
-- `1e3`), else NULL. The engines' casts read more than that, and not alike (DuckDB `1_000`;
-- Spark `9d`, `9f`, `0x1p3`), so a framework's numeric `where` matched other events on each
-- (decision 224).
CREATE OR REPLACE TEMP MACRO jm_plain_number(txt) AS (
    CASE WHEN regexp_matches(jm_trim(txt), '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$')
         THEN TRY_CAST(jm_trim(txt) AS DOUBLE) END
);

-- A survey score: a whole number, also written `9.0` (a lake written by another tool), else
-- NULL. A cast to INTEGER rounds `9.5` to 10 on DuckDB and reads `9.0` as nothing on Spark.
-- (TRY_CAST: Java's `$` also matches before a final U+2028, which the cast then refuses.)
CREATE OR REPLACE TEMP MACRO jm_whole_number(txt) AS (
    CASE WHEN regexp_matches(jm_trim(txt), '^[+-]?[0-9]{1,9}([.]0*)?$')
         THEN TRY_CAST(TRY_CAST(jm_trim(txt) AS DOUBLE) AS INTEGER) END
);

-- Upper case of ASCII letters only: a currency code is ASCII, and the engines' upper() map
-- other letters differently (Spark `ß` -> `SS`, `ﬁ` -> `FI`; DuckDB keeps them or maps one to
-- one), so "ﬁm" was FIM's revenue on Spark only.
CREATE OR REPLACE TEMP MACRO jm_upper_ascii(txt) AS (
    translate(txt, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')
);

-- Money the sums can hold: less than 1e15 in absolute value (no order is worth a quadrillion in
-- any currency), else NULL. The marts sum money as DECIMAL(38, 12) for exact, order-free sums,
-- which holds 26 integer digits: one order of 6e25 stopped every later run and money command
-- (decision 190). Loading applies it, and the marts again (a warehouse loaded before, a lake
-- written by another tool).
CREATE OR REPLACE TEMP MACRO jm_money(x) AS (
    CASE WHEN abs(x) < 1e15 THEN x END
);

-- Empty strings count as missing everywhere.
CREATE OR REPLACE TEMP MACRO jm_blank_to_null(txt) AS (nullif(jm_trim(txt), ''));

-- CONTRACT §2: a UTM medium as the channel rules read it: trimmed, lower-cased; empty and the
-- analytics placeholders `(none)`, `(not set)`, `none` count as no medium (NULL).
CREATE OR REPLACE TEMP MACRO jm_medium(medium) AS (
    CASE WHEN lower(jm_trim(medium)) NOT IN ('', '(none)', '(not set)', 'none')
         THEN lower(jm_trim(medium)) END
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

-- The current channel rules (built-in until channels.py replaces it with the configured ones).
CREATE OR REPLACE TEMP MACRO jm_rules_channel(medium, utm_source, campaign, referrer_class) AS (
    jm_builtin_channel(medium, referrer_class)
);

-- CONTRACT §4: the signals of leaving. They are not activity, and an unsubscribe never counts
-- as a return in retention, also with `--return STAGE` whose stage matches it (decision 162).
CREATE OR REPLACE TEMP MACRO jm_is_leaving(event_name) AS (
    event_name IN ('email_unsubscribe', 'email_group_unsubscribe', 'email_spamreport')
);

-- CONTRACT §4 Activity: any event except identify, the email events a person does not do, and
-- the signals of leaving.
CREATE OR REPLACE TEMP MACRO jm_is_activity(event_name) AS (
    event_name NOT IN ('identify', 'email_processed', 'email_dropped', 'email_delivered',
                       'email_deferred', 'email_bounce')
    AND NOT jm_is_leaving(event_name)
);

-- CONTRACT §8 `--item page` (and the touchpoints that name a page): properties.path, else the
-- path of an absolute properties.url, where a URL without one (`https://x.io`, `https://x.io?q=1`)
-- is `/`, as a browser shows it; NULL when the event names neither. Blanks around the URL are
-- no part of it (a URL of spaces alone is no URL, decision 124): those jm_trim strips, which
-- both engines strip alike (trim() strips a no-break space on DuckDB only, decision 224).
CREATE OR REPLACE TEMP MACRO jm_page_path(properties) AS (
    coalesce(
        nullif(json_extract_string(properties, '$.path'), ''),
        CASE WHEN regexp_matches(jm_trim(json_extract_string(properties, '$.url')),
                                 '^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//')
             THEN coalesce(nullif(regexp_extract(jm_trim(json_extract_string(properties, '$.url')),
                                                 '^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//[^/?#]*([^?#]*)',
                                                 1), ''), '/')
        END)
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
