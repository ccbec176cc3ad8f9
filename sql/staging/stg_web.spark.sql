-- stg_web on Spark: the same rows as stg_web.sql (Segment Spec messages, one JSON line each),
-- written in Spark SQL (DuckDB's JSON and list functions have no faithful sqlglot translation).
-- Reads the view raw_records(record_no, raw); parameters :tz and :traits; the jm_* functions
-- come from functions.spark.sql. Differences of form, not of rows: JSON is re-serialised by
-- Spark (compare properties as parsed JSON), traits keep DuckDB's key order.
WITH extracted AS (
    SELECT
        r.record_no,
        r.raw,
        -- DuckDB's TRY_CAST(raw AS JSON) is strict; Spark's variant parser is (get_json_object
        -- would accept single quotes)
        -- (Spark's parser stops after the first value: jm_one_json_value)
        NOT jm_one_json_value(r.raw)
            OR try_parse_json(concat('[', r.raw, ']')) IS NULL AS invalid_json,
        json_object_keys(r.raw) AS json_keys,
        m.*
    -- NaN and Infinity, which Python's json writes, read as null (decision 212)
    FROM (SELECT record_no, jm_finite_json(raw) AS raw FROM raw_records) AS r
    LATERAL VIEW json_tuple(r.raw, 'type', 'messageId', 'timestamp', 'anonymousId', 'userId',
        'event', 'properties', 'context', 'traits', 'previousId', 'groupId', 'name',
        'invite_code') m
        AS message_type, message_id, timestamp_text, anonymous_text, user_text, track_event,
           properties_raw, context_text, traits_text, previous_text, group_text, screen_name,
           top_invite_code
),
nested AS (
    SELECT e.*, c.campaign_text, c.page_text, p.prop_url, p.prop_referrer, p.prop_path,
           p.score_text, p.survey_text,
           -- (a top-level invite_code is merged into properties, as stg_web.sql reads it)
           coalesce(p.invite_code_text, e.top_invite_code) AS invite_code_text, t.email_text
    FROM extracted AS e
    LATERAL VIEW json_tuple(e.context_text, 'campaign', 'page') c AS campaign_text, page_text
    LATERAL VIEW json_tuple(e.properties_raw, 'url', 'referrer', 'score', 'survey', 'path',
        'invite_code') p
        AS prop_url, prop_referrer, score_text, survey_text, prop_path, invite_code_text
    LATERAL VIEW json_tuple(e.traits_text, 'email') t AS email_text
),
parsed AS (
    SELECT
        n.record_no,
        n.invalid_json,
        CASE WHEN n.invalid_json THEN NULL WHEN n.json_keys IS NOT NULL THEN 'OBJECT'
             ELSE 'OTHER' END AS json_kind,
        n.message_type,
        n.message_id,
        n.timestamp_text,
        jm_id_text(n.anonymous_text) AS anonymous_text,  -- once (as stg_web.sql)
        jm_id_text(n.user_text) AS user_text,
        n.track_event,
        -- an email in an event name is redacted before it is snake_cased (as stg_web.sql)
        CASE WHEN n.message_type = 'track' THEN jm_snake_case(jm_redact(n.track_event))
        END AS track_name,
        n.email_text,
        cp.medium,
        cp.campaign_name,
        cp.source_text,
        -- fields the Segment spec does not define are kept in properties (DuckDB: a JSON merge
        -- patch of the properties over the unknown fields: top-level keys here)
        -- `properties` must be an object (as stg_web.sql)
        n.properties_raw IS NOT NULL AND NOT startswith(n.properties_raw, '{')
            AS properties_not_object,
        CASE
            WHEN n.properties_raw IS NOT NULL AND NOT startswith(n.properties_raw, '{')
            THEN '{}'
            WHEN n.invalid_json OR n.json_keys IS NULL OR size(array_except(n.json_keys, array(
                'type', 'messageId', 'timestamp', 'anonymousId', 'userId', 'event',
                'properties', 'context', 'traits', 'integrations', 'sentAt', 'receivedAt',
                'originalTimestamp', 'version', 'channel', 'name', 'category', 'writeKey',
                '_metadata', 'projectId', 'options'))) = 0
            THEN coalesce(n.properties_raw, '{}')
            ELSE to_json(map_concat(
                map_filter(CAST(parse_json(n.raw) AS MAP<STRING, VARIANT>), (k, v) -> k NOT IN (
                    'type', 'messageId', 'timestamp', 'anonymousId', 'userId', 'event',
                    'properties', 'context', 'traits', 'integrations', 'sentAt', 'receivedAt',
                    'originalTimestamp', 'version', 'channel', 'name', 'category', 'writeKey',
                    '_metadata', 'projectId', 'options')
                    AND NOT array_contains(coalesce(json_object_keys(n.properties_raw),
                                                    array()), k)),
                map_filter(coalesce(try_cast(try_parse_json(n.properties_raw)
                                             AS MAP<STRING, VARIANT>), map()),
                           (k, v) -> NOT is_variant_null(v))))
        END AS properties_text,
        -- properties.{url,referrer} describe the page only in a page call (as stg_web.sql)
        coalesce(jm_blank_to_null(pg.page_url),
                 CASE WHEN n.message_type = 'page' THEN n.prop_url END) AS page_url,
        coalesce(jm_blank_to_null(pg.page_referrer),
                 CASE WHEN n.message_type = 'page' THEN n.prop_referrer END) AS referrer,
        n.score_text,
        n.invite_code_text,
        n.survey_text,
        jm_id_text(n.previous_text) AS previous_text,
        n.group_text,
        n.screen_name,
        n.traits_text,
        -- a page whose properties name neither its path nor its URL takes context.page's path,
        -- else its URL (as stg_web.sql); redacted here (a SQL function cannot run in a lambda)
        CASE WHEN n.message_type = 'page' AND jm_blank_to_null(n.prop_path) IS NULL
                  AND jm_blank_to_null(n.prop_url) IS NULL
             THEN CASE WHEN jm_blank_to_null(pg.page_path) IS NOT NULL
                       THEN map('path', jm_redact(pg.page_path))
                       WHEN jm_blank_to_null(pg.page_url) IS NOT NULL
                       THEN map('url', jm_redact(pg.page_url))
                  END
        END AS context_page
    FROM nested AS n
    LATERAL VIEW json_tuple(n.campaign_text, 'medium', 'name', 'source') cp
        AS medium, campaign_name, source_text
    LATERAL VIEW json_tuple(n.page_text, 'url', 'referrer', 'path') pg
        AS page_url, page_referrer, page_path
),
fields AS (
    SELECT
        parsed.*,
        jm_parse_instant(timestamp_text, :tz, false) AS occurred_at,
        jm_url_host(page_url) AS page_host,
        jm_url_host(referrer) AS referrer_host,
        jm_redact(jm_medium(medium)) AS utm_medium,
        jm_redact(jm_blank_to_null(source_text)) AS utm_source,
        jm_redact(jm_blank_to_null(campaign_name)) AS campaign_kept,
        -- an invite code holding an address, keyed-hashed (as stg_web.sql)
        CASE WHEN jm_contains_email(invite_code_text) THEN jm_pseudonymize(invite_code_text)
        END AS invite_code_hashed,
        CASE
            WHEN message_type <> 'track' THEN NULL
            WHEN track_name = 'survey_answered' THEN coalesce(survey_text, '')
            WHEN track_name IN ('nps_response', 'csat_response', 'ces_response')
                THEN split_part(track_name, '_', 1)
        END AS survey
    FROM parsed
),
trait_entries AS (
    -- CONTRACT §6: identify traits, and group traits as group_<key> plus group_id; one row per
    -- key (a SQL function cannot run inside a lambda), gathered back in key order below
    SELECT record_no, prefix, e.pos, e.entry.key AS trait_key, e.entry.value AS trait_value
    FROM (
        SELECT
            record_no,
            CASE message_type WHEN 'identify' THEN '' ELSE 'group_' END AS prefix,
            CASE message_type
                WHEN 'identify' THEN from_json(traits_text, 'MAP<STRING, STRING>')
                ELSE map_concat(
                    map_filter(coalesce(from_json(traits_text, 'MAP<STRING, STRING>'), map()),
                               (k, v) -> k <> 'id'),
                    map('id', jm_blank_to_null(group_text)))
            END AS trait_map
        FROM parsed
        WHERE message_type IN ('identify', 'group') AND NOT invalid_json
    ) AS m
    LATERAL VIEW posexplode(map_entries(m.trait_map)) e AS pos, entry
),
trait_rows AS (
    SELECT
        record_no,
        transform(array_sort(collect_list(named_struct('pos', pos, 'trait', trait,
                                                       'value', value))),
                  t -> named_struct('trait', t.trait, 'value', t.value)) AS traits
    FROM (
        SELECT record_no, pos, concat(prefix, jm_snake_case(trait_key)) AS trait,
               jm_redact(jm_blank_to_null(trait_value)) AS value
        FROM trait_entries
    )
    WHERE value IS NOT NULL AND array_contains(:traits, trait)
    GROUP BY record_no
),
channel_inputs AS (
    SELECT
        *,
        jm_referrer_class(referrer_host, page_host) AS referrer_class,
        -- an invite code holding an address keyed-hashed, not redacted, before the text is
        -- redacted (as stg_web.sql: redacted keys may read alike, which parse_json refuses)
        CASE WHEN invite_code_hashed IS NOT NULL
             THEN to_json(map_concat(
                 map_filter(CAST(try_parse_json(properties_text) AS MAP<STRING, VARIANT>),
                            (k, v) -> k <> 'invite_code'),
                 map('invite_code', CAST(invite_code_hashed AS VARIANT))))
        END AS invite_patched
    FROM fields
),
kept AS (
    -- (a step of its own: Spark refuses a SQL function over an argument holding a lambda)
    SELECT *, jm_redact(coalesce(invite_patched, properties_text)) AS kept_properties
    FROM channel_inputs
)
SELECT
    c.record_no,
    CASE
        WHEN invalid_json THEN 'not valid JSON'
        WHEN json_kind <> 'OBJECT' THEN 'not a JSON object'
        -- a Segment HTTP batch saved as one line (as stg_web.sql)
        WHEN message_type IS NULL THEN CASE
            WHEN startswith(ltrim(get_json_object(properties_text, '$.batch')), '[')
                THEN 'a batch of messages ("batch"): one message per line expected'
            ELSE 'missing message type' END
        WHEN message_type NOT IN ('page', 'screen', 'track', 'identify', 'alias', 'group')
            THEN concat('unknown message type ', jm_redact(message_type))
        WHEN properties_not_object THEN 'properties is not a JSON object'
        WHEN message_type = 'track' AND jm_blank_to_null(track_event) IS NULL
            THEN 'track message without event'
        WHEN message_type = 'alias' AND jm_blank_to_null(previous_text) IS NULL
            THEN 'alias message without previousId'
        WHEN message_type = 'alias' AND jm_blank_to_null(user_text) IS NULL
            THEN 'alias message without userId'
        WHEN message_type = 'group' AND jm_blank_to_null(group_text) IS NULL
            THEN 'group message without groupId'
        WHEN timestamp_text IS NOT NULL AND occurred_at IS NULL
            -- (Spark writes a JSON decimal in exponent form: the number is not repeated)
            THEN CASE WHEN jm_trim(timestamp_text) RLIKE r"^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?\z"
                      THEN 'timestamp is a number: ISO 8601 expected'
                      ELSE concat('unparseable timestamp ', jm_redact(timestamp_text)) END
        WHEN survey IS NOT NULL AND jm_survey_problem(survey, score_text) IS NOT NULL
            THEN jm_survey_problem(survey, score_text)
    END AS reject_reason,
    message_type NOT IN ('alias', 'group') AS is_event,
    jm_pseudonymize(jm_blank_to_null(message_id)) AS event_id,
    CASE
        WHEN message_type = 'page' THEN 'page_view'
        WHEN message_type = 'screen' THEN 'screen_view'
        WHEN message_type = 'identify' THEN 'identify'
        WHEN survey IS NOT NULL THEN jm_survey_event(survey)
        ELSE track_name
    END AS event_name,
    occurred_at,
    jm_pseudonymize(anonymous_text) AS anonymous_id,
    jm_pseudonymize(user_text) AS user_id,
    CASE WHEN message_type = 'identify' THEN jm_email_hash(email_text) END AS email_hash,
    CAST(NULL AS STRING) AS crm_contact_id,
    jm_rules_channel(utm_medium, utm_source, campaign_kept, referrer_class) AS channel,
    campaign_kept AS campaign,
    jm_money(jm_amount(get_json_object(properties_text, '$.revenue'))) AS revenue,
    -- (try_parse_json: properties are computed for every row, the quarantined ones too, and
    -- parse_json stopped the whole staging on one holding a key twice, a review found)
    CASE
        WHEN message_type = 'screen' AND jm_blank_to_null(screen_name) IS NOT NULL
            THEN to_json(map_concat(
                map_filter(CAST(try_parse_json(kept_properties) AS MAP<STRING, VARIANT>),
                           (k, v) -> k <> 'screen'),
                map('screen', CAST(jm_redact(screen_name) AS VARIANT))))
        WHEN survey IS NOT NULL
            THEN to_json(map_concat(
                map_filter(CAST(try_parse_json(kept_properties) AS MAP<STRING, VARIANT>),
                           (k, v) -> k <> 'score'),
                map('score', CAST(jm_nps_score(score_text) AS VARIANT))))
        WHEN context_page IS NOT NULL
            THEN to_json(map_concat(
                map_filter(CAST(try_parse_json(kept_properties) AS MAP<STRING, VARIANT>),
                           (k, v) -> NOT map_contains_key(context_page, k)),
                transform_values(context_page, (k, v) -> CAST(v AS VARIANT))))
        ELSE kept_properties
    END AS properties,
    CASE WHEN survey IS NOT NULL THEN jm_nps_score(score_text) END AS nps_score,
    jm_pseudonymize(previous_text) AS previous_id,
    -- identify and group messages set a list of traits (empty when none is kept), others none
    CASE WHEN message_type IN ('identify', 'group')
         THEN coalesce(t.traits, CAST(array() AS ARRAY<STRUCT<trait: STRING, value: STRING>>))
    END AS traits,
    occurred_at AS traits_at,
    utm_medium,
    utm_source,
    referrer_host,
    page_host,
    referrer_class
FROM kept AS c
LEFT JOIN trait_rows AS t ON t.record_no = c.record_no
