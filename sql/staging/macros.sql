-- The macros only loading needs: parsing instants and scores, redacting and hashing personal
-- data, channels of web events, surveys, traits and identity keys. Created after sql/macros.sql
-- (they use its helpers) on connections that load (db.connect without read_only, the staging
-- check); read-only connections skip them: DuckDB binds every macro body when it is created,
-- and these took ~50 of the ~65 ms a read-only command spent creating macros.

-- A wall-clock time in zone `tz` as an instant. In the hour a clock is set back a wall-clock time
-- happens twice: it is the earlier instant, as Python's zoneinfo (fold=0) and Java, so Spark's
-- to_utc_timestamp, read it (decision 140); DuckDB's timezone() gives the later one. The reading
-- with the offset of a day before is that earlier one when it names the same wall clock. A time
-- in the hour a clock skips is read with the offset before the change, on every engine.
CREATE OR REPLACE TEMP MACRO jm_local_instant(ts, tz) AS (
    CASE WHEN timezone(tz, timezone(tz, ts - INTERVAL 24 HOURS) + INTERVAL 24 HOURS) = ts
         THEN least(timezone(tz, ts), timezone(tz, ts - INTERVAL 24 HOURS) + INTERVAL 24 HOURS)
         ELSE timezone(tz, ts) END
);

-- An instant from text: ISO 8601 with an offset or Z, naive ISO in `tz`, or Unix epoch milliseconds.
-- Epoch milliseconds need 10+ digits (2001 onwards... and 1973-2001 with 12), so a compact date
-- like 20240310 is not mistaken for one. Lower-case t/z and a decimal comma are valid ISO 8601.
-- `epoch_ms := false` reads ISO 8601 only (Segment's timestamp): a number is then no instant, not
-- Unix seconds misread as milliseconds (1970). An offset is at most ±18:00, the most Java (so
-- Spark) reads; real ones are -12:00 to +14:00, and DuckDB's cast would take +25:00.
CREATE OR REPLACE TEMP MACRO jm_parse_instant(txt, tz, epoch_ms := true) AS (
    CASE
        -- the form almost every export writes (Segment's own), which the offset branch below
        -- would parse the same: one match instead of its trims and two patterns (~3x faster)
        WHEN regexp_full_match(txt, '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z')
            THEN TRY_CAST(txt AS TIMESTAMPTZ)
        WHEN jm_trim(txt) IS NULL OR jm_trim(txt) = '' THEN NULL
        -- no digit, no instant: DuckDB's casts would read 'infinity' and 'epoch' as instants
        WHEN NOT regexp_matches(txt, '[0-9]') THEN NULL
        -- beyond ±9.2e15 ms no timestamp holds it (microseconds in 64 bits): no instant, the
        -- record is quarantined (the conversion's error failed the whole file)
        WHEN epoch_ms AND regexp_full_match(jm_trim(txt), '-?[0-9]{10,16}')
            THEN CASE WHEN abs(TRY_CAST(jm_trim(txt) AS BIGINT)) < 9200000000000000
                      THEN timezone('UTC', epoch_ms(TRY_CAST(jm_trim(txt) AS BIGINT))) END
        -- a date first, with a four-digit year (DuckDB's casts would also read '12026-01-05'
        -- and other orders; Spark's function has the same test)
        WHEN NOT regexp_matches(upper(jm_trim(txt)), '^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([T\t\n\f\r ]|$)')
            THEN NULL
        WHEN regexp_matches(upper(jm_trim(txt)), '[0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?\s*(Z|[+-]((0[0-9]|1[0-7])(:?[0-5][0-9])?|18(:?00)?))$')
            THEN TRY_CAST(replace(upper(jm_trim(txt)), ',', '.') AS TIMESTAMPTZ)
        -- without an offset: only a date and a time (DuckDB's TIMESTAMP cast would drop a zone
        -- name such as 'PST' and read the time as UTC; a name is not ISO 8601: unparseable)
        WHEN regexp_full_match(upper(jm_trim(txt)), '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?)?')
            THEN jm_local_instant(TRY_CAST(replace(upper(jm_trim(txt)), ',', '.') AS TIMESTAMP), tz)
    END
);

-- A Segment id as text, or NULL when it names nobody: blank, a JavaScript placeholder
-- (`undefined`, `null`, `NaN`, `[object Object]`, `true`, `false` in ASCII letters of any case:
-- a tracking call made before the id was known) or a JSON object or list (text in braces or
-- brackets). Each of these was one id shared by strangers, who became one person ("userId": {}
-- on every event of a broken page: one "u:{}"). The record keeps its other ids; with none left
-- it is quarantined ("no identifier"). Written by the text alone, so that Spark's twin gives the
-- same answer (their JSON parsers and lower-casing differ); the length test first keeps it
-- cheap on every web event.
CREATE OR REPLACE TEMP MACRO jm_id_text(txt) AS (
    CASE WHEN strlen(jm_trim(txt)) <= 15
              AND lower(jm_trim(txt)) IN ('undefined', 'null', 'nan', '[object object]', 'true',
                                          'false')
              AND strlen(jm_trim(txt)) = length(jm_trim(txt))
              OR (left(jm_trim(txt), 1) = '{' AND right(jm_trim(txt), 1) = '}')
              OR (left(jm_trim(txt), 1) = '[' AND right(jm_trim(txt), 1) = ']')
        THEN NULL
        ELSE jm_blank_to_null(txt) END
);

-- An instant from Unix seconds (SendGrid), given as a number or numeric text; beyond ±9.2e12 s
-- no timestamp holds it: no instant (to_timestamp's error failed the whole file).
CREATE OR REPLACE TEMP MACRO jm_parse_unix_seconds(txt) AS (
    CASE WHEN regexp_full_match(jm_trim(txt), '-?[0-9]+(\.[0-9]+)?')
              AND abs(TRY_CAST(jm_trim(txt) AS DOUBLE)) < 9.2e12
        THEN to_timestamp(TRY_CAST(jm_trim(txt) AS DOUBLE)) END
);

-- An email address anywhere in a text, any script; its @ as written, URL-encoded (%40, or
-- encoded again as a redirect's parameter carries it: %2540, %252540), or
-- JSON-escaped as in a raw line we keep (`ann\u0040x.io`), where any other letter of the address
-- may be JSON-escaped too (`jos\u00e9\u0040x.io`: without the escapes in the name's class,
-- `jos\` was left in front of the marker), or an HTML character reference (`ann&#64;x.io`,
-- `&#x40;`, `&commat;`, `&#64` without its `;`, `&amp;#64;` escaped again, `\u0026#64;` with a
-- JSON-escaped `&` as Go and .NET write it: pasted from a page or a mail's HTML). A quoted
-- name (`"john doe"@x.io`, its quotes JSON-escaped in a raw line) and an address literal
-- (`ann@[192.168.0.1]`) are addresses too; a dotless domain (`order@home`) is not. A byte that
-- was no UTF-8 inside an address, as a quarantined record keeps it (U+0080-U+00FF where a line
-- is read as Latin-1, `é` then being `Ã©`; U+FFFD where a JSON file's copy marks it), is part
-- of it (decision 209: `ann@co\x96rp.example` and `josÃ©@x.io` were kept whole), but the
-- no-break space, which joins words. Also an `@` typed full-width or small (＠, ﹫), and
-- full-width or ideographic dots (．。｡) only in an address of Latin letters and digits (half-
-- or full-width) before a Latin top-level domain, the pattern's second branch (in Chinese and
-- Japanese text `。` ends a sentence and `＠` reads "at"), and a dot encoded %2E (decision
-- 210); that branch's @ and dots JSON-escaped (`\uff20`), and the invisible U+200B-U+200D,
-- U+2060 and U+FEFF inside an address (decision 211). A name reads JSON escapes (`\n`, `\\`)
-- and the backslashes right before it: a match never begins inside an escape, which left a
-- lone backslash and broke the JSON of the properties (decision 217). Runs are
-- written `(letter|escape)+` here; Spark's copy (functions.spark.sql) writes them unrolled
-- (`unit letter* (escape letter*)*`), because Java's regex recursed once per letter and
-- overflowed its stack on a 5,000-letter token. The two forms match the same text (a letter is
-- never a backslash, so an escape cannot be read two ways), and RE2 compiles this one in half
-- the time: DuckDB compiles the pattern for every use in a statement and every thread, which
-- was most of the planning of a web chunk (decision 208).
CREATE OR REPLACE TEMP MACRO jm_email_pattern() AS (
    '\\*(\x22[^\x22\\@:,{}\[\]]+\x22|\\\x22[^\x22\\@:,{}\[\]]+\\\x22|(?:[\p{L}\p{N}\x{80}-\x{9F}\x{A1}-\x{FF}\x{FFFD}\x{FF0E}\x{FF0B}\x{FF0D}\x{FF3F}._%+''\x{200B}-\x{200D}\x{2060}\x{FEFF}-]|\\u[0-9A-Fa-f]{4}|\\[bfnrt/\\])+)(@|\x{FF20}|\x{FE6B}|%(25)*40|\\u0040|(&|\\u0026)(amp;)?(#0*64;?|#[xX]0*40;?|commat;))((?:[\p{L}\p{N}\x{80}-\x{9F}\x{A1}-\x{FF}\x{FFFD}\x{FF0D}\x{200B}-\x{200D}\x{2060}\x{FEFF}-]|\\u[0-9A-Fa-f]{4}|\\[bfnrt/\\])+((\.|%(25)*2[eE])(?:[\p{L}\p{N}\x{80}-\x{9F}\x{A1}-\x{FF}\x{FFFD}\x{FF0D}\x{200B}-\x{200D}\x{2060}\x{FEFF}-]|\\u[0-9A-Fa-f]{4}|\\[bfnrt/\\])+)*(\.|%(25)*2[eE])[\p{L}\x{80}-\x{9F}\x{A1}-\x{FF}\x{FFFD}\x{200B}-\x{200D}\x{2060}\x{FEFF}]{2,}|\[(IPv6:[0-9A-Fa-f:.]+|[0-9]{1,3}(\.[0-9]{1,3}){3})\])|\\*[A-Za-z0-9\x{FF10}-\x{FF19}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{AD}\x{FF0E}\x{FF0B}\x{FF0D}\x{FF3F}._%+''\x{200B}-\x{200D}\x{2060}\x{FEFF}-]+(@|\x{FF20}|\x{FE6B}|\\u(ff20|FF20|fe6b|FE6B)|%(25)*40|\\u0040|(&|\\u0026)(amp;)?(#0*64;?|#[xX]0*40;?|commat;))[A-Za-z0-9\x{FF10}-\x{FF19}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{AD}\x{FF0D}\x{200B}-\x{200D}\x{2060}\x{FEFF}-]+((\.|\x{FF0E}|\x{3002}|\x{FF61}|\\u(ff0e|FF0E|3002|ff61|FF61)|%(25)*2[eE])[A-Za-z0-9\x{FF10}-\x{FF19}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{AD}\x{FF0D}\x{200B}-\x{200D}\x{2060}\x{FEFF}-]+)*(\.|\x{FF0E}|\x{3002}|\x{FF61}|\\u(ff0e|FF0E|3002|ff61|FF61)|%(25)*2[eE])[A-Za-z\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{200B}-\x{200D}\x{2060}\x{FEFF}]{2,}'
);

-- Email addresses (any @ form of jm_email_pattern) replaced by a marker: used on every raw text
-- we keep.
-- Whether a text holds some form of @ (jm_email_pattern's): the pattern runs only on those
-- texts (on a `#` alone, common in a URL's fragment, it cost 0.56 s per 1M texts).
CREATE OR REPLACE TEMP MACRO jm_may_hold_email(txt) AS (
    -- as few uses of txt as may be: DuckDB evaluates a macro's argument again for each (an
    -- argument may be an expression, jm_redact(jm_medium(medium))), and six more searches for
    -- the escaped full-width forms cost stg_web 1.25x its time; `\u` covers every JSON escape
    -- (decoded in the values we keep: only a raw line holds one)
    contains(txt, '@') OR contains(txt, '%40') OR contains(txt, '2540')
    OR contains(txt, '\u') OR contains(txt, chr(65312)) OR contains(txt, chr(65131))
    OR contains(txt, 'commat;') OR (contains(txt, '#') AND (contains(txt, '#64')
        OR contains(txt, '#0') OR contains(txt, '#x') OR contains(txt, '#X')))
);

CREATE OR REPLACE TEMP MACRO jm_redact(txt) AS (
    CASE WHEN jm_may_hold_email(txt)
         THEN regexp_replace(txt, jm_email_pattern(), '<redacted-email>', 'g') ELSE txt END
);

CREATE OR REPLACE TEMP MACRO jm_contains_email(txt) AS (
    jm_may_hold_email(txt) AND regexp_matches(txt, jm_email_pattern())
);

-- Emails are matched after trimming and lower-casing (CONTRACT §1 Identity): jm_normalize_email
-- is created with jm_email_hash (hashing.install_hash_macro), from the one list of what trimming
-- strips on every engine.

-- "Order Completed" -> order_completed, "orderCompleted" -> order_completed.
-- An acronym ends before its last capital when lower-case letters follow: "APIKeyCreated" ->
-- api_key_created, "getHTTPResponse" -> get_http_response; a plural's lone s stays with it
-- ("IDsLoaded" -> ids_loaded, "URLs Found" -> urls_found).
-- Letters of every script are kept (lower-cased where they have case): "Đặt hàng" is
-- `đặt_hàng`, not `t_h_ng`; digits are 0-9. Spark's function is the same.
CREATE OR REPLACE TEMP MACRO jm_snake_case(txt) AS (
    trim(regexp_replace(lower(regexp_replace(regexp_replace(trim(txt),
        '(\p{Lu})(\p{Lu}(\p{Ll}\p{Ll}|[a-rt-z]))', '\1_\2', 'g'), '([\p{Ll}0-9])(\p{Lu})', '\1_\2', 'g')),
        '[^\p{L}\p{M}0-9]+', '_', 'g'), '_')
);

CREATE OR REPLACE TEMP MACRO jm_any_url_host(url) AS (
    -- a fully qualified name's final dot (`www.google.com.`) names the same host
    nullif(regexp_replace(regexp_replace(lower(
        CASE WHEN contains(url, '//')
             THEN regexp_extract(url, '^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//(?:[^/?#@]*@)?([^/:?#]+)', 1)
             ELSE regexp_extract(url, '^([^/:?#\s]+\.[^/:?#\s]+)', 1) END
    ), '\.+$', ''), '^www\.', ''), '')
);

CREATE OR REPLACE TEMP MACRO jm_host_without_email(host) AS (
    CASE WHEN NOT jm_contains_email(host) THEN host END
);

-- Host of a URL, lower-cased, without a leading "www."; NULL when there is none, and NULL when it
-- holds an email address (a referrer or page URL written as `ann@x.io` or `ann%40x.io`: no host,
-- and no raw address stored as one). Blanks around the URL are ignored.
CREATE OR REPLACE TEMP MACRO jm_url_host(url) AS (
    jm_host_without_email(jm_any_url_host(jm_trim(url)))
);

-- CONTRACT §2: the class of a web event's referrer: none, own (the page's own host), search,
-- social or external. Stored with the event, so channel rules can be re-applied without reloading.
CREATE OR REPLACE TEMP MACRO jm_referrer_class(referrer_host, page_host) AS (
    CASE
        WHEN referrer_host IS NULL THEN 'none'
        WHEN referrer_host = page_host THEN 'own'
        -- a search engine's web mail is no search: a link clicked in an email read there is a
        -- referral, as Google Analytics counts it
        WHEN regexp_matches(referrer_host, '(^|\.)mail\.(google|yahoo|yandex)\.') THEN 'external'
        -- the Google app on Android (an `android-app://` referrer names the app's package)
        WHEN referrer_host = 'com.google.android.googlequicksearchbox' THEN 'search'
        -- the site's name followed only by a (country) top-level domain, maybe after a
        -- country's generic second level: google.co.uk, google.com.vn, search.yahoo.com; not
        -- notgoogle.com, google.example.org, google.foo.com or bing.com.evil.net
        WHEN regexp_matches(referrer_host,
                            '(^|\.)(google|bing|duckduckgo|yahoo|baidu|yandex)(\.(com|co|net|org|ac|edu|gov|or|ne|go|gob|nic))?\.[a-z]{2,3}$')
            THEN 'search'
        WHEN regexp_matches(referrer_host,
                            '(^|\.)(facebook|instagram|linkedin|twitter|youtube|tiktok|reddit)(\.(com|co|net|org|ac|edu|gov|or|ne|go|gob|nic))?\.[a-z]{2,3}$|(^|\.)(t\.co|x\.com)$')
            THEN 'social'
        -- the listed sites' short-link hosts and Android apps
        WHEN regexp_matches(referrer_host,
                            '^(youtu\.be|lnkd\.in|fb\.me|fb\.watch|instagr\.am|redd\.it)$|^com\.(facebook\.(katana|orca|lite)|instagram\.android|linkedin\.android|twitter\.android|google\.android\.youtube|zhiliaoapp\.musically|ss\.android\.ugc\.trill|reddit\.frontpage)$')
            THEN 'social'
        ELSE 'external'
    END
);

-- The first id of a list written `id1;id2;...` (HubSpot's "Associated Contact IDs"; a
-- spreadsheet's edit may separate them with commas: ids hold neither).
CREATE OR REPLACE TEMP MACRO jm_first_listed(txt) AS (
    list_filter(list_transform(string_split_regex(txt, '[;,]'), lambda x: jm_blank_to_null(x)),
                lambda x: x IS NOT NULL)[1]
);

-- A JSON text with its non-finite numbers written null, as JavaScript's JSON.stringify writes
-- them. Python's json writes a float NaN (a pandas revenue left empty) as NaN, Infinity or
-- -Infinity, which are no JSON: DuckDB's reader took them and kept them in properties, where a
-- strict reader of an export fails, and Spark's refused the line (decision 212). Strings keep
-- their text: the text is cut at its quotes once escaped backslashes and quotes are set aside
-- (chr(1), chr(2): a JSON string holds no raw control character, and a text holding one is
-- no JSON, left as it is to be quarantined), and only the pieces between strings (odd pieces)
-- are rewritten. Only texts naming NaN or Infinity are cut.
CREATE OR REPLACE TEMP MACRO jm_finite_json(txt) AS (
    CASE WHEN (contains(txt, 'NaN') OR contains(txt, 'Infinity'))
              AND NOT contains(txt, chr(1)) AND NOT contains(txt, chr(2))
    THEN replace(replace(array_to_string(list_transform(
            string_split(replace(replace(txt, '\\', chr(1)), '\"', chr(2)), '"'),
            lambda piece, i: CASE WHEN i % 2 = 1
                THEN regexp_replace(piece, '[-+]?(?i:nan|inf(inity)?)', 'null', 'g')
                ELSE piece END), '"'), chr(2), '\"'), chr(1), '\\')
    ELSE txt END
);

-- A money amount: a finite number, else NULL. NaN and Infinity (JSON literals, "1e999") parse as
-- doubles but would poison every sum (and stop the run at the first cast to DECIMAL).
-- Only a plain decimal number is one: DuckDB's cast also reads `1_000`, Spark's `12d` and `12f`.
CREATE OR REPLACE TEMP MACRO jm_finite_number(txt) AS (
    CASE WHEN regexp_full_match(jm_trim(txt), '[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?')
              AND isfinite(TRY_CAST(jm_trim(txt) AS DOUBLE))
         THEN TRY_CAST(jm_trim(txt) AS DOUBLE) END
);

-- An amount's text without its currency sign, before or after it (`$1,000.00`, `-$5`,
-- `1.000,00 €`, `₫ 250000`: what a spreadsheet's currency format writes, decision 229);
-- NULL when it has none. One sign: `$5€` keeps its euro sign (no number). Blanks around the
-- sign may be no-break spaces (U+00A0, U+202F: JavaScript's Intl and de/fr formats write them).
CREATE OR REPLACE TEMP MACRO jm_unsigned_amount(txt) AS (
    list_transform([jm_trim(txt)], lambda t: CASE
        WHEN regexp_matches(t, '^[+-]?[\s\x{00A0}\x{202F}]*[$€£¥₫₹₩]')
            THEN regexp_replace(t, '^([+-]?)[\s\x{00A0}\x{202F}]*[$€£¥₫₹₩][\s\x{00A0}\x{202F}]*', '\1')
        WHEN regexp_matches(t, '[$€£¥₫₹₩]$')
            THEN regexp_replace(t, '[\s\x{00A0}\x{202F}]*[$€£¥₫₹₩]$', '')
    END)[1]
);

-- An amount (a CRM deal's, a web order's revenue): a finite number, also written with a
-- currency sign (jm_unsigned_amount) and with thousands separators where they cannot be read
-- otherwise: `1,500.00` and `1,500,000` (comma groups), `1.500,00` and `1.500.000` (dot
-- groups), `1 234,50` (blank groups), `25,50` (a decimal comma). `1,500` alone could be
-- either (1.5 or 1500): not a number, so a deal is quarantined; `1.500` is the plain decimal
-- 1.5, as before (decision 149). With a currency sign one group of three is thousands
-- (`$1,500`, `250.000 ₫`): no currency of these signs has three decimals.
-- Each piece is a lambda's parameter, computed once per row: as a macro's repeated argument it
-- was computed in every branch, and the expression's size cost the staging's planning (a
-- 1M-event run took 1.14x the CPU).
CREATE OR REPLACE TEMP MACRO jm_amount(txt) AS (
    list_transform([jm_unsigned_amount(txt)], lambda unsigned: list_transform(
        [coalesce(unsigned, jm_trim(txt))], lambda u: CASE
            WHEN regexp_full_match(u, '[+-]?[0-9]{1,3}((,[0-9]{3})+\.[0-9]+|(,[0-9]{3}){2,})')
                THEN jm_finite_number(replace(u, ',', ''))
            WHEN regexp_full_match(u, '[+-]?[0-9]{1,3}((\.[0-9]{3})+,[0-9]+|(\.[0-9]{3}){2,})')
                THEN jm_finite_number(replace(replace(u, '.', ''), ',', '.'))
            WHEN regexp_full_match(u, '[+-]?[0-9]{1,3}([\s\x{00A0}\x{202F}][0-9]{3})+([.,][0-9]+)?')
                THEN jm_finite_number(replace(regexp_replace(u, '[\s\x{00A0}\x{202F}]', '', 'g'),
                                              ',', '.'))
            WHEN unsigned IS NOT NULL AND regexp_full_match(u, '[+-]?[0-9]{1,3}[.,][0-9]{3}')
                THEN jm_finite_number(regexp_replace(u, '[.,]', '', 'g'))
            -- a decimal comma with one or two decimals (`25,50`): no thousands separator
            WHEN regexp_full_match(u, '[+-]?[0-9]+,[0-9]{1,2}')
                THEN jm_finite_number(replace(u, ',', '.'))
            ELSE jm_finite_number(u)
        END)[1])[1]
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
-- {trait, value}; empty for anything but an object. The names are filtered before the values
-- are read: most keys of an identify (email, name, ...) are not kept, and the values' redaction
-- was most of the cost (22,876 messages of the 1M bench input: 0.55 -> 0.30 s). The values are
-- redacted last, in a lambda of their own: inside the nested lambdas the redaction cost 3x the
-- whole macro (8,506 identify messages: 0.22 s against 0.07 s, DuckDB 2.0); a redacted value is
-- never empty, so the non-empty ones are the same before and after.
CREATE OR REPLACE TEMP MACRO jm_traits(obj, prefix, allowed) AS (
    list_transform(coalesce(list_filter(
        list_transform(
            list_filter(
                list_transform(
                    map_entries(json_transform(CASE WHEN json_type(obj) = 'OBJECT' THEN obj END,
                                               '"MAP(VARCHAR, JSON)"')),
                    lambda e: {'trait': prefix || jm_snake_case(e.key), 'raw': e.value}),
                lambda t: list_contains(allowed, t.trait)),
            lambda t: {'trait': t.trait,
                       'value': jm_blank_to_null(
                           CASE json_type(t.raw)
                               WHEN 'VARCHAR' THEN json_extract_string(t.raw, '$')
                               WHEN 'NULL' THEN NULL
                               ELSE t.raw::VARCHAR
                           END)}),
        lambda t: t.value IS NOT NULL
    ), []), lambda t: {'trait': t.trait, 'value': jm_redact(t.value)})
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
