-- Spark SQL forms of the sql/macros.sql and sql/staging/macros.sql helpers the staging models use (temporary SQL functions:
-- Spark inlines their bodies, no Python runs per row). Same names, parameters and meaning as the
-- DuckDB macros; engines/spark_staging.py creates them on the session before staging, together
-- with jm_email_hash and jm_pseudonymize (they need the hashing key: hashing.spark_hmac_sql).
-- Differences of dialect kept in mind here:
--   * RE2 (DuckDB) `$` is the end of the text, Java's also matches before a final line break: `\z`;
--     RE2 `\s` is [\t\n\f\r ], Java's adds \x0B: the class is spelled out;
--   * Spark's regexp_replace replaces every match (DuckDB's only with 'g'): the anchored patterns
--     DuckDB replaces once can only match once anyway;
--   * a SQL function cannot be called inside a lambda: list helpers inline what they need.

-- lower() as DuckDB's: letter by letter. Java's also applies Unicode's special casing (İ to i
-- and a combining dot, a word-final Σ to ς): those two letters are mapped first
-- (hashing.LOWER_FIRST, which the email hash uses too).
CREATE OR REPLACE TEMPORARY FUNCTION jm_lower(txt STRING) RETURNS STRING
RETURN lower(replace(replace(txt, '\u0130', '\u0069'), '\u03A3', '\u03C3'));

-- Whether a text is one JSON value and nothing else, as DuckDB's JSON cast reads it. Spark's
-- parser stops after the first value (`"a": 1,` and `{} x` parse), so the text is read inside
-- brackets: `[text]` must be one value long, and `[text,0]` two, which a text that closes the
-- brackets itself (`{} ] x`, `1,2] x`: read as `[{}]` and `[1,2]`) is not.
CREATE OR REPLACE TEMPORARY FUNCTION jm_one_json_value(txt STRING) RETURNS BOOLEAN
RETURN coalesce(json_array_length(concat('[', txt, ']')) = 1
                AND json_array_length(concat('[', txt, ',0]')) = 2, false);

CREATE OR REPLACE TEMPORARY FUNCTION jm_trim(txt STRING) RETURNS STRING
RETURN trim(BOTH ' \t\r\n\u000B\u000C' FROM txt);

CREATE OR REPLACE TEMPORARY FUNCTION jm_blank_to_null(txt STRING) RETURNS STRING
RETURN nullif(jm_trim(txt), '');

-- Whether a text holds some form of @ (as macros.sql): the pattern runs only on those.
CREATE OR REPLACE TEMPORARY FUNCTION jm_may_hold_email(txt STRING) RETURNS BOOLEAN
RETURN contains(txt, '@') OR contains(txt, '%40') OR contains(txt, '2540')
    OR contains(txt, r'\u') OR contains(txt, '\uFF20') OR contains(txt, '\uFE6B')
    OR contains(txt, 'commat;') OR (contains(txt, '#') AND (contains(txt, '#64')
        OR contains(txt, '#0') OR contains(txt, '#x') OR contains(txt, '#X')));

-- jm_email_pattern of macros.sql in another form that matches the same text: its runs unrolled
-- (Java's regex recursed once per letter of `(letter|escape)+` and overflowed its stack on a
-- 5,000-letter token); tests/test_privacy.py compares the two (decision 208).
CREATE OR REPLACE TEMPORARY FUNCTION jm_redact(txt STRING) RETURNS STRING
RETURN CASE WHEN jm_may_hold_email(txt)
    THEN regexp_replace(txt,
        r"\\*(\x22[^\x22\\@:,{}\[\]]+\x22|\\\x22[^\x22\\@:,{}\[\]]+\\\x22|(?:[\p{L}\p{N}\x{80}-\x{9F}\x{A1}-\x{FF}\x{FFFD}\x{FF0E}\x{FF0B}\x{FF0D}\x{FF3F}._%+'\x{200B}-\x{200D}\x{2060}\x{FEFF}-]|\\u[0-9A-Fa-f]{4}|\\[bfnrt/\\])[\p{L}\p{N}\x{80}-\x{9F}\x{A1}-\x{FF}\x{FFFD}\x{FF0E}\x{FF0B}\x{FF0D}\x{FF3F}._%+'\x{200B}-\x{200D}\x{2060}\x{FEFF}-]*(?:(?:\\u[0-9A-Fa-f]{4}|\\[bfnrt/\\])[\p{L}\p{N}\x{80}-\x{9F}\x{A1}-\x{FF}\x{FFFD}\x{FF0E}\x{FF0B}\x{FF0D}\x{FF3F}._%+'\x{200B}-\x{200D}\x{2060}\x{FEFF}-]*)*)(@|\x{FF20}|\x{FE6B}|%(25)*40|\\u0040|(&|\\u0026)(amp;)?(#0*64;?|#[xX]0*40;?|commat;))((?:[\p{L}\p{N}\x{80}-\x{9F}\x{A1}-\x{FF}\x{FFFD}\x{FF0D}\x{200B}-\x{200D}\x{2060}\x{FEFF}-]|\\u[0-9A-Fa-f]{4}|\\[bfnrt/\\])[\p{L}\p{N}\x{80}-\x{9F}\x{A1}-\x{FF}\x{FFFD}\x{FF0D}\x{200B}-\x{200D}\x{2060}\x{FEFF}-]*(?:(?:\\u[0-9A-Fa-f]{4}|\\[bfnrt/\\])[\p{L}\p{N}\x{80}-\x{9F}\x{A1}-\x{FF}\x{FFFD}\x{FF0D}\x{200B}-\x{200D}\x{2060}\x{FEFF}-]*)*((\.|%(25)*2[eE])(?:[\p{L}\p{N}\x{80}-\x{9F}\x{A1}-\x{FF}\x{FFFD}\x{FF0D}\x{200B}-\x{200D}\x{2060}\x{FEFF}-]|\\u[0-9A-Fa-f]{4}|\\[bfnrt/\\])[\p{L}\p{N}\x{80}-\x{9F}\x{A1}-\x{FF}\x{FFFD}\x{FF0D}\x{200B}-\x{200D}\x{2060}\x{FEFF}-]*(?:(?:\\u[0-9A-Fa-f]{4}|\\[bfnrt/\\])[\p{L}\p{N}\x{80}-\x{9F}\x{A1}-\x{FF}\x{FFFD}\x{FF0D}\x{200B}-\x{200D}\x{2060}\x{FEFF}-]*)*)*(\.|%(25)*2[eE])[\p{L}\x{80}-\x{9F}\x{A1}-\x{FF}\x{FFFD}\x{200B}-\x{200D}\x{2060}\x{FEFF}]{2,}|\[(IPv6:[0-9A-Fa-f:.]+|[0-9]{1,3}(\.[0-9]{1,3}){3})\])|\\*[A-Za-z0-9\x{FF10}-\x{FF19}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{AD}\x{FF0E}\x{FF0B}\x{FF0D}\x{FF3F}._%+'\x{200B}-\x{200D}\x{2060}\x{FEFF}-]+(@|\x{FF20}|\x{FE6B}|\\u(ff20|FF20|fe6b|FE6B)|%(25)*40|\\u0040|(&|\\u0026)(amp;)?(#0*64;?|#[xX]0*40;?|commat;))[A-Za-z0-9\x{FF10}-\x{FF19}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{AD}\x{FF0D}\x{200B}-\x{200D}\x{2060}\x{FEFF}-]+((\.|\x{FF0E}|\x{3002}|\x{FF61}|\\u(ff0e|FF0E|3002|ff61|FF61)|%(25)*2[eE])[A-Za-z0-9\x{FF10}-\x{FF19}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{AD}\x{FF0D}\x{200B}-\x{200D}\x{2060}\x{FEFF}-]+)*(\.|\x{FF0E}|\x{3002}|\x{FF61}|\\u(ff0e|FF0E|3002|ff61|FF61)|%(25)*2[eE])[A-Za-z\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{200B}-\x{200D}\x{2060}\x{FEFF}]{2,}",
        '<redacted-email>')
    ELSE txt END;

-- whether jm_redact finds an address: its one copy of the pattern (the marker it writes holds
-- no @ form, so a text it changes held an address)
CREATE OR REPLACE TEMPORARY FUNCTION jm_contains_email(txt STRING) RETURNS BOOLEAN
RETURN jm_may_hold_email(txt) AND jm_redact(txt) <> txt;

CREATE OR REPLACE TEMPORARY FUNCTION jm_snake_case(txt STRING) RETURNS STRING
RETURN trim(BOTH '_' FROM regexp_replace(
    jm_lower(regexp_replace(regexp_replace(trim(txt), r"(\p{Lu})(\p{Lu}(\p{Ll}\p{Ll}|[a-rt-z]))", '$1_$2'),
                         r"([\p{Ll}0-9])(\p{Lu})", '$1_$2')), r"[^\p{L}\p{M}0-9]+",
    '_'));

CREATE OR REPLACE TEMPORARY FUNCTION jm_any_url_host(url STRING) RETURNS STRING
RETURN nullif(regexp_replace(regexp_replace(jm_lower(
    CASE WHEN contains(url, '//')
         THEN regexp_extract(url, r"^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//(?:[^/?#@]*@)?([^/:?#]+)", 1)
         ELSE regexp_extract(url, r"^([^/:?#\t\n\f\r ]+\.[^/:?#\t\n\f\r ]+)", 1) END
), r"\.+$", ''), r"^www\.", ''), '');

CREATE OR REPLACE TEMPORARY FUNCTION jm_host_without_email(host STRING) RETURNS STRING
RETURN CASE WHEN NOT jm_contains_email(host) THEN host END;

-- as sql/staging/macros.sql: no host that holds an email address; blanks around the URL ignored
CREATE OR REPLACE TEMPORARY FUNCTION jm_url_host(url STRING) RETURNS STRING
RETURN jm_host_without_email(jm_any_url_host(jm_trim(url)));

CREATE OR REPLACE TEMPORARY FUNCTION jm_medium(medium STRING) RETURNS STRING
RETURN CASE WHEN jm_lower(jm_trim(medium)) NOT IN ('', '(none)', '(not set)', 'none')
            THEN jm_lower(jm_trim(medium)) END;

CREATE OR REPLACE TEMPORARY FUNCTION jm_referrer_class(referrer_host STRING, page_host STRING)
RETURNS STRING
RETURN CASE
    WHEN referrer_host IS NULL THEN 'none'
    WHEN referrer_host = page_host THEN 'own'
    WHEN referrer_host RLIKE r"(^|\.)mail\.(google|yahoo|yandex)\." THEN 'external'
    WHEN referrer_host = 'com.google.android.googlequicksearchbox' THEN 'search'
    WHEN referrer_host RLIKE r"(^|\.)(google|bing|duckduckgo|yahoo|baidu|yandex)(\.(com|co|net|org|ac|edu|gov|or|ne|go|gob|nic))?\.[a-z]{2,3}\z"
        THEN 'search'
    WHEN referrer_host RLIKE r"(^|\.)(facebook|instagram|linkedin|twitter|youtube|tiktok|reddit)(\.(com|co|net|org|ac|edu|gov|or|ne|go|gob|nic))?\.[a-z]{2,3}\z|(^|\.)(t\.co|x\.com)\z"
        THEN 'social'
    WHEN referrer_host RLIKE r"^(youtu\.be|lnkd\.in|fb\.me|fb\.watch|instagr\.am|redd\.it)\z|^com\.(facebook\.(katana|orca|lite)|instagram\.android|linkedin\.android|twitter\.android|google\.android\.youtube|zhiliaoapp\.musically|ss\.android\.ugc\.trill|reddit\.frontpage)\z"
        THEN 'social'
    ELSE 'external'
END;

CREATE OR REPLACE TEMPORARY FUNCTION jm_builtin_channel(medium STRING, referrer_class STRING)
RETURNS STRING
RETURN CASE
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
END;

-- The channel a web event is stored with: the built-in rules (CONTRACT §2). Custom channel
-- rules are applied when the marts read the stored inputs (utm_medium, referrer_class, ...).
CREATE OR REPLACE TEMPORARY FUNCTION jm_rules_channel(
    medium STRING, utm_source STRING, campaign STRING, referrer_class STRING) RETURNS STRING
RETURN jm_builtin_channel(medium, referrer_class);

-- ISO 8601 text as Spark's casts read it: upper case, a decimal comma as a point, seconds added
-- to a time written to the minute (`10:00Z`: Spark's cast wants seconds before a zone, DuckDB's
-- does not), and 24:00 (the end of the day, which DuckDB reads as the next midnight) as 00:00:00
-- of the same day: jm_iso_day_after then says to add the day.
CREATE OR REPLACE TEMPORARY FUNCTION jm_iso_text(txt STRING) RETURNS STRING
RETURN regexp_replace(regexp_replace(replace(upper(jm_trim(txt)), ',', '.'),
    r"([T ])24:00(:00(\.0+)?)?(?![0-9:.])", '$100:00:00'),
    r"([T ][0-9]{1,2}:[0-9]{2})(?![0-9:])", '$1:00');

CREATE OR REPLACE TEMPORARY FUNCTION jm_iso_day_after(txt STRING) RETURNS INT
RETURN CASE WHEN replace(upper(jm_trim(txt)), ',', '.') RLIKE r"([T ])24:00(:00(\.0+)?)?(?![0-9:.])"
            THEN 1 ELSE 0 END;

-- A wall-clock time in `tz` as a UTC instant, the earlier of two (decision 140). Java's rules
-- here; spark_staging.py replaces it with the offsets of DuckDB's zone database for the sources'
-- zones (zones.py, decision 240), which Java 17's rules miss where they changed recently.
CREATE OR REPLACE TEMPORARY FUNCTION jm_utc_instant(ts TIMESTAMP, tz STRING) RETURNS TIMESTAMP
RETURN to_utc_timestamp(ts, tz);

-- An instant from text: ISO 8601 with an offset or Z, naive ISO in `tz`, or epoch milliseconds.
-- Spark's casts also read a bare year ("2026") or year-month: DuckDB does not, so a date must
-- start with year-month-day. `epoch_ms` false: ISO 8601 only, an offset at most ±18:00 (as
-- macros.sql).
CREATE OR REPLACE TEMPORARY FUNCTION jm_parse_instant(
    txt STRING, tz STRING, epoch_ms BOOLEAN DEFAULT true) RETURNS TIMESTAMP
RETURN CASE
    WHEN jm_trim(txt) IS NULL OR jm_trim(txt) = '' THEN NULL
    WHEN epoch_ms AND jm_trim(txt) RLIKE r"^-?[0-9]{10,16}\z"
        THEN CASE WHEN abs(try_cast(jm_trim(txt) AS BIGINT)) < 9200000000000000
                  THEN timestamp_millis(try_cast(jm_trim(txt) AS BIGINT)) END
    WHEN NOT upper(jm_trim(txt)) RLIKE r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([T\t\n\f\r ]|\z)" THEN NULL
    WHEN upper(jm_trim(txt)) RLIKE r"[0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?[\t\n\f\r ]*(Z|[+-]((0[0-9]|1[0-7])(:?[0-5][0-9])?|18(:?00)?))\z"
        -- DuckDB's TIMESTAMPTZ cast refuses a space before the zone; Spark's accepts it
        THEN CASE WHEN NOT upper(jm_trim(txt)) RLIKE r"[\t\n\f\r ](Z|[+-]((0[0-9]|1[0-7])(:?[0-5][0-9])?|18(:?00)?))\z"
                  THEN timestampadd(DAY, jm_iso_day_after(txt),
                                    try_cast(jm_iso_text(txt) AS TIMESTAMP)) END
    -- without an offset: only a date and a time (a zone name is not ISO 8601), as DuckDB's
    WHEN upper(jm_trim(txt)) RLIKE r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?)?\z"
        THEN jm_utc_instant(
            CAST(timestampadd(DAY, jm_iso_day_after(txt),
                              try_cast(jm_iso_text(txt) AS TIMESTAMP_NTZ)) AS TIMESTAMP),
            tz)
END;

-- A Segment id as text, or NULL when it names nobody (as macros.sql's jm_id_text): blank, a
-- JavaScript placeholder in ASCII letters, or text in braces or brackets.
CREATE OR REPLACE TEMPORARY FUNCTION jm_id_text(txt STRING) RETURNS STRING
RETURN CASE WHEN octet_length(jm_trim(txt)) <= 15
                 AND lower(jm_trim(txt)) IN ('undefined', 'null', 'nan', '[object object]',
                                             'true', 'false')
                 AND octet_length(jm_trim(txt)) = char_length(jm_trim(txt))
                 OR (left(jm_trim(txt), 1) = '{' AND right(jm_trim(txt), 1) = '}')
                 OR (left(jm_trim(txt), 1) = '[' AND right(jm_trim(txt), 1) = ']')
            THEN NULL
            ELSE jm_blank_to_null(txt) END;

-- An instant from Unix seconds (SendGrid), given as a number or numeric text; microseconds are
-- rounded, as DuckDB's to_timestamp does. Spark re-serialises the elements of a JSON array, a
-- long decimal as a double ("1.709287201E9"): the exponent form is read too.
CREATE OR REPLACE TEMPORARY FUNCTION jm_parse_unix_seconds(txt STRING) RETURNS TIMESTAMP
RETURN CASE WHEN jm_trim(txt) RLIKE r"^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?\z"
              AND abs(try_cast(jm_trim(txt) AS DOUBLE)) < 9.2e12
    THEN timestamp_micros(try_cast(round(try_cast(jm_trim(txt) AS DOUBLE) * 1000000) AS BIGINT))
    END;

-- A money amount: a finite number, else NULL (as macros.sql).
-- as sql/staging/macros.sql: NaN and Infinity outside a JSON text's strings written null
-- (`transform` numbers its pieces from 0: the pieces between strings are the even ones)
CREATE OR REPLACE TEMPORARY FUNCTION jm_finite_json(txt STRING) RETURNS STRING
RETURN CASE WHEN (contains(txt, 'NaN') OR contains(txt, 'Infinity'))
              AND NOT contains(txt, '\u0001') AND NOT contains(txt, '\u0002')
    THEN replace(replace(array_join(transform(
            split(replace(replace(txt, r'\\', '\u0001'), r'\"', '\u0002'), '"', -1),
            (piece, i) -> CASE WHEN i % 2 = 0
                THEN regexp_replace(piece, r'(?i)[-+]?(nan|inf(inity)?)', 'null')
                ELSE piece END), '"'), '\u0002', r'\"'), '\u0001', r'\\')
    ELSE txt END;

CREATE OR REPLACE TEMPORARY FUNCTION jm_finite_number(txt STRING) RETURNS DOUBLE
RETURN CASE WHEN NOT jm_trim(txt) RLIKE r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\z"
                 OR abs(try_cast(jm_trim(txt) AS DOUBLE)) = double('Infinity') THEN NULL
            ELSE try_cast(jm_trim(txt) AS DOUBLE) END;

-- Money the sums can hold: below 1e15 in absolute value, else NULL (as macros.sql).
CREATE OR REPLACE TEMPORARY FUNCTION jm_money(x DOUBLE) RETURNS DOUBLE
RETURN CASE WHEN abs(x) < 1e15 THEN x END;

-- An amount's text without its currency sign, before or after it; NULL when it has none
-- (as macros.sql).
CREATE OR REPLACE TEMPORARY FUNCTION jm_unsigned_amount(txt STRING) RETURNS STRING
RETURN CASE
    WHEN jm_trim(txt) RLIKE r"^[+-]?[\s\x{00A0}\x{202F}]*[$€£¥₫₹₩]"
        THEN regexp_replace(jm_trim(txt),
                            r"^([+-]?)[\s\x{00A0}\x{202F}]*[$€£¥₫₹₩][\s\x{00A0}\x{202F}]*", '$1')
    WHEN jm_trim(txt) RLIKE r"[$€£¥₫₹₩]\z"
        THEN regexp_replace(jm_trim(txt), r"[\s\x{00A0}\x{202F}]*[$€£¥₫₹₩]\z", '')
END;

-- An amount, a currency sign and thousands separators read where unambiguous (as macros.sql).
CREATE OR REPLACE TEMPORARY FUNCTION jm_amount_text(txt STRING) RETURNS STRING
RETURN coalesce(jm_unsigned_amount(txt), jm_trim(txt));

CREATE OR REPLACE TEMPORARY FUNCTION jm_amount(txt STRING) RETURNS DOUBLE
RETURN CASE
    WHEN jm_amount_text(txt) RLIKE r"^[+-]?[0-9]{1,3}((,[0-9]{3})+\.[0-9]+|(,[0-9]{3}){2,})\z"
        THEN jm_finite_number(replace(jm_amount_text(txt), ',', ''))
    WHEN jm_amount_text(txt) RLIKE r"^[+-]?[0-9]{1,3}((\.[0-9]{3})+,[0-9]+|(\.[0-9]{3}){2,})\z"
        THEN jm_finite_number(replace(replace(jm_amount_text(txt), '.', ''), ',', '.'))
    WHEN jm_amount_text(txt) RLIKE r"^[+-]?[0-9]{1,3}([\s\x{00A0}\x{202F}][0-9]{3})+([.,][0-9]+)?\z"
        THEN jm_finite_number(replace(regexp_replace(jm_amount_text(txt),
                                                     r"[\s\x{00A0}\x{202F}]", ''), ',', '.'))
    WHEN jm_unsigned_amount(txt) IS NOT NULL
         AND jm_amount_text(txt) RLIKE r"^[+-]?[0-9]{1,3}[.,][0-9]{3}\z"
        THEN jm_finite_number(regexp_replace(jm_amount_text(txt), r"[.,]", ''))
    WHEN jm_amount_text(txt) RLIKE r"^[+-]?[0-9]+,[0-9]{1,2}\z"
        THEN jm_finite_number(replace(jm_amount_text(txt), ',', '.'))
    ELSE jm_finite_number(jm_amount_text(txt))
END;

-- An NPS score: a whole number ("7" or "7.0"; "7.5" is not a score).
CREATE OR REPLACE TEMPORARY FUNCTION jm_nps_score(txt STRING) RETURNS BIGINT
RETURN CASE WHEN jm_trim(txt) RLIKE r"^-?[0-9]+(\.0+)?\z"
    THEN try_cast(try_cast(jm_trim(txt) AS DOUBLE) AS BIGINT) END;

CREATE OR REPLACE TEMPORARY FUNCTION jm_survey_event(survey STRING) RETURNS STRING
RETURN CASE jm_lower(jm_trim(survey))
    WHEN 'nps' THEN 'nps_response'
    WHEN 'csat' THEN 'csat_response'
    WHEN 'ces' THEN 'ces_response'
END;

CREATE OR REPLACE TEMPORARY FUNCTION jm_survey_low(survey STRING) RETURNS BIGINT
RETURN CASE jm_lower(jm_trim(survey)) WHEN 'nps' THEN 0 ELSE 1 END;

CREATE OR REPLACE TEMPORARY FUNCTION jm_survey_high(survey STRING) RETURNS BIGINT
RETURN CASE jm_lower(jm_trim(survey)) WHEN 'nps' THEN 10 WHEN 'csat' THEN 5 WHEN 'ces' THEN 7 END;

CREATE OR REPLACE TEMPORARY FUNCTION jm_survey_problem(survey STRING, score_text STRING)
RETURNS STRING
RETURN CASE
    WHEN jm_survey_event(survey) IS NULL
        THEN concat('unknown survey type ', coalesce(jm_redact(jm_blank_to_null(survey)), '(none)'))
    WHEN jm_blank_to_null(score_text) IS NULL
        THEN concat('missing ', upper(jm_trim(survey)), ' score')
    WHEN jm_nps_score(score_text) IS NULL
        THEN concat(upper(jm_trim(survey)), ' score is not a whole number: ', jm_redact(score_text))
    WHEN jm_nps_score(score_text) NOT BETWEEN jm_survey_low(survey) AND jm_survey_high(survey)
        THEN concat(upper(jm_trim(survey)), ' score outside ',
                    CAST(jm_survey_low(survey) AS STRING), '-',
                    CAST(jm_survey_high(survey) AS STRING), ': ', jm_trim(score_text))
END;

-- The first id of a list written `id1;id2;...` (HubSpot's "Associated Contact IDs", or with
-- commas); the trim of jm_blank_to_null is inlined (no SQL function inside a lambda).
CREATE OR REPLACE TEMPORARY FUNCTION jm_first_listed(txt STRING) RETURNS STRING
RETURN try_element_at(filter(
    transform(split(txt, '[;,]'), x -> nullif(trim(BOTH ' \t\r\n\u000B\u000C' FROM x), '')),
    x -> x IS NOT NULL), 1);
