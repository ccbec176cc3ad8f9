-- stg_web: Segment Spec messages (raw_records.raw is one JSON line) -> staged canonical rows.
-- grain: one row per message. Parameters: $tz (zone of timestamps written without an offset),
-- $traits (the trait names kept, CONTRACT §6). `alias` and `group` messages are no events
-- (is_event false): an alias links previousId to userId, a group sets group_* traits.
-- Each layer is MATERIALIZED: macros repeat their arguments, so arguments must be plain columns
-- (not JSON extractions) to be computed once.
WITH extracted AS (
    -- one JSON parse per line: all paths in one call
    SELECT
        record_no,
        j IS NULL AS invalid_json,
        json_type(j) AS json_kind,
        json_extract_string(j, ['$.type', '$.messageId', '$.timestamp', '$.anonymousId',
                                '$.userId', '$.event', '$.traits.email',
                                '$.context.campaign.medium', '$.context.campaign.name',
                                '$.properties', '$.context.page.url', '$.properties.url',
                                '$.context.page.referrer', '$.properties.referrer',
                                '$.properties.score', '$.context.campaign.source',
                                '$.properties.survey', '$.previousId', '$.groupId', '$.name',
                                '$.traits', '$.properties.invite_code', '$.invite_code']) AS v,
        j,
        -- fields the Segment spec does not define are kept, in properties; most messages have
        -- only known keys, and listing the keys is cheaper than patching: patch only the others
        -- (a filter of the keys, not list_has_all: half the cost, measured in DuckDB 2.0)
        CASE WHEN len(list_filter(json_keys(j), lambda k: NOT list_contains(
                ['type', 'messageId', 'timestamp', 'anonymousId', 'userId', 'event',
                 'properties', 'context', 'traits', 'integrations', 'sentAt', 'receivedAt',
                 'originalTimestamp', 'version', 'channel', 'name', 'category', 'writeKey',
                 '_metadata', 'projectId', 'options'], k))) > 0
        THEN json_merge_patch(j, '{"type": null, "messageId": null, "timestamp": null,
            "anonymousId": null, "userId": null, "event": null, "properties": null,
            "context": null, "traits": null, "integrations": null, "sentAt": null,
            "receivedAt": null, "originalTimestamp": null, "version": null, "channel": null,
            "name": null, "category": null, "writeKey": null, "_metadata": null,
            "projectId": null, "options": null}') END AS unknown_fields
    -- NaN and Infinity, which Python's json writes, read as null (decision 212)
    FROM (SELECT record_no, TRY_CAST(jm_finite_json(raw) AS JSON) AS j FROM raw_records)
),
parsed AS MATERIALIZED (
    SELECT
        record_no,
        invalid_json,
        json_kind,
        v[1] AS message_type,
        v[2] AS message_id,
        v[3] AS timestamp_text,
        -- an id that names nobody is no id (jm_id_text), read once here: inlined into the
        -- pseudonymising macro below, which names its value several times, it cost 2 s per
        -- million messages
        jm_id_text(v[4]) AS anonymous_text,
        jm_id_text(v[5]) AS user_text,
        v[6] AS track_event,
        -- an email in an event name ('Emailed ann@x.io') is redacted before it is snake_cased
        CASE WHEN v[1] = 'track' THEN jm_snake_case(jm_redact(v[6])) END AS track_name,
        v[7] AS email_text,
        v[8] AS medium,
        v[9] AS campaign_name,
        -- `properties` must be an object (CONTRACT §1): its text then starts with '{' (a JSON
        -- string, number or list is extracted as its own text); others are quarantined
        v[10] IS NOT NULL AND NOT starts_with(v[10], '{') AS properties_not_object,
        CASE WHEN v[10] IS NOT NULL AND NOT starts_with(v[10], '{') THEN '{}'
             WHEN unknown_fields IS NULL OR unknown_fields::VARCHAR = '{}'
             THEN coalesce(v[10], '{}')
             ELSE json_merge_patch(unknown_fields, coalesce(v[10], '{}'))::VARCHAR
        END AS properties_text,
        -- properties.{url,referrer} describe the page only in a page call (CONTRACT §1): a
        -- track's `url` or `referrer` property is whatever the event is about (decision 143).
        -- A blank context.page field is missing: the page call's property is read then
        coalesce(jm_blank_to_null(v[11]), CASE WHEN v[1] = 'page' THEN v[12] END) AS page_url,
        coalesce(jm_blank_to_null(v[13]), CASE WHEN v[1] = 'page' THEN v[14] END) AS referrer,
        v[15] AS score_text,
        v[16] AS source_text,
        v[17] AS survey_text,
        jm_id_text(v[18]) AS previous_text,
        v[19] AS group_text,
        v[20] AS screen_name,
        v[21] AS traits_text,
        -- an invite code, in properties or sent at the top level (merged into properties, as
        -- fct_referral reads it)
        coalesce(v[22], v[23]) AS invite_code_text,
        -- a page whose properties name neither its path nor its URL takes context.page's path,
        -- else its URL (CONTRACT §1 reads both): paths and touchpoints read them in properties.
        -- Looked up only for pages without properties.url (a second parse of those lines)
        CASE WHEN jm_blank_to_null(v[12]) IS NULL AND v[1] = 'page'
             THEN json_extract_string(j, ['$.properties.path', '$.context.page.path',
                                          '$.context.page.url'])
        END AS page_paths
    FROM extracted
),
hosts AS MATERIALIZED (
    -- the host of each distinct URL, once (URLs repeat: pages, referrers), joined back
    SELECT url, jm_url_host(url) AS host
    FROM (SELECT page_url AS url FROM parsed UNION SELECT referrer FROM parsed)
    WHERE url IS NOT NULL
),
fields AS MATERIALIZED (
    SELECT
        parsed.*,
        jm_parse_instant(timestamp_text, $tz, epoch_ms := false) AS occurred_at,
        CASE WHEN jm_blank_to_null(page_paths[1]) IS NULL THEN CASE
            WHEN jm_blank_to_null(page_paths[2]) IS NOT NULL THEN json_object('path', page_paths[2])
            WHEN jm_blank_to_null(page_paths[3]) IS NOT NULL THEN json_object('url', page_paths[3])
        END END AS context_page,
        page.host AS page_host,
        ref.host AS referrer_host,
        -- the inputs of the channel rules (CONTRACT §2), kept with the event
        -- a medium, source or campaign that is an email address is stored redacted
        jm_redact(jm_medium(medium)) AS utm_medium,
        jm_redact(jm_blank_to_null(source_text)) AS utm_source,
        jm_redact(jm_blank_to_null(campaign_name)) AS campaign_kept,
        -- an invite code holding an address, keyed-hashed (kept_properties below). Computed
        -- here, apart: macros repeat their arguments, and jm_pseudonymize inside jm_redact's
        -- argument made an expression so large that planning it cost 1.5x stg_web's time
        CASE WHEN jm_contains_email(invite_code_text) THEN jm_pseudonymize(invite_code_text)
        END AS invite_code_hashed,
        -- read once: the amount macro names its value many times (each a JSON read)
        json_extract_string(properties_text, '$.revenue') AS revenue_text,
        -- a survey answer (CONTRACT §1): track "Survey Answered" names its survey; a track
        -- "NPS Response" / "CSAT Response" / "CES Response" is an answer to that survey
        CASE
            WHEN message_type <> 'track' THEN NULL
            WHEN track_name = 'survey_answered' THEN coalesce(survey_text, '')
            WHEN track_name IN ('nps_response', 'csat_response', 'ces_response')
                THEN split_part(track_name, '_', 1)
        END AS survey
    FROM parsed
    LEFT JOIN hosts AS page ON page.url = parsed.page_url
    LEFT JOIN hosts AS ref ON ref.url = parsed.referrer
),
trait_messages AS MATERIALIZED (
    -- the few identify and group messages, copied out (sorted: a plain filtered scan of
    -- `parsed` made jm_traits' list lambdas ~10x slower, measured on 1M records in DuckDB 2.0)
    SELECT record_no, message_type, traits_text, group_text
    FROM parsed
    WHERE message_type IN ('identify', 'group')
    ORDER BY record_no
),
trait_rows AS (
    -- CONTRACT §6: identify traits, and group traits as group_<key> plus group_id
    SELECT
        record_no,
        CASE message_type
            WHEN 'identify'
                THEN jm_traits(TRY_CAST(traits_text AS JSON), '', $traits::VARCHAR[])
            WHEN 'group' THEN jm_traits(
                json_merge_patch(
                    CASE WHEN json_type(TRY_CAST(traits_text AS JSON)) = 'OBJECT'
                         THEN TRY_CAST(traits_text AS JSON) ELSE '{}'::JSON END,
                    json_object('id', jm_blank_to_null(group_text))),
                'group_', $traits::VARCHAR[])
        END AS traits
    FROM trait_messages
),
amounts AS MATERIALIZED (
    -- each distinct revenue text read once: most messages have none, and the amount macro
    -- (currency signs, separators) costs per row it sees, NULL or not (0.8 s a million rows)
    SELECT revenue_text, jm_money(jm_amount(revenue_text)) AS revenue_value
    FROM (SELECT DISTINCT revenue_text FROM fields WHERE revenue_text IS NOT NULL)
),
channel_inputs AS (  -- not materialized: measured as fast, less memory
    SELECT
        fields.*,
        amounts.revenue_value,
        jm_referrer_class(referrer_host, page_host) AS referrer_class,
        -- the properties as kept: addresses redacted, but an invite code holding one is
        -- keyed-hashed as an id is (referrals match codes as exact text, CONTRACT §4: two
        -- codes redacted alike matched a signup to an invite nobody sent, decision 214). The
        -- code is replaced before the text is redacted: redacted, two keys may read alike.
        CASE WHEN invite_code_hashed IS NOT NULL
             THEN jm_redact(json_merge_patch(properties_text::JSON,
                      json_object('invite_code', invite_code_hashed))::VARCHAR)::JSON
             ELSE jm_redact(properties_text)::JSON
        END AS kept_properties
    FROM fields
    LEFT JOIN amounts USING (revenue_text)
)
SELECT
    record_no,
    CASE
        WHEN invalid_json THEN 'not valid JSON'
        WHEN json_kind <> 'OBJECT' THEN 'not a JSON object'
        -- a Segment HTTP batch ({"batch": [messages]}) saved as one line: its reason names it
        -- (its unknown key is in properties_text; looked at only for messages without a type)
        WHEN message_type IS NULL THEN CASE
            WHEN json_type(properties_text, '$.batch') = 'ARRAY'
                THEN 'a batch of messages ("batch"): one message per line expected'
            ELSE 'missing message type' END
        WHEN message_type NOT IN ('page', 'screen', 'track', 'identify', 'alias', 'group')
            THEN 'unknown message type ' || jm_redact(message_type)
        WHEN properties_not_object THEN 'properties is not a JSON object'
        WHEN message_type = 'track' AND jm_blank_to_null(track_event) IS NULL
            THEN 'track message without event'
        WHEN message_type = 'alias' AND jm_blank_to_null(previous_text) IS NULL
            THEN 'alias message without previousId'
        WHEN message_type = 'alias' AND jm_blank_to_null(user_text) IS NULL
            THEN 'alias message without userId'
        WHEN message_type = 'group' AND jm_blank_to_null(group_text) IS NULL
            THEN 'group message without groupId'
        -- Segment's timestamp is ISO 8601 (CONTRACT §1): a number may be seconds or
        -- milliseconds, and guessing would put an event in the wrong decade (decision 144)
        WHEN timestamp_text IS NOT NULL AND occurred_at IS NULL
            THEN CASE WHEN regexp_full_match(jm_trim(timestamp_text),
                                            '-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?')
                      THEN 'timestamp is a number: ISO 8601 expected'
                      ELSE 'unparseable timestamp ' || jm_redact(timestamp_text) END
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
    -- An id containing an email is replaced by its keyed hash: no raw address is stored.
    jm_pseudonymize(anonymous_text) AS anonymous_id,
    jm_pseudonymize(user_text) AS user_id,
    CASE WHEN message_type = 'identify' THEN jm_email_hash(email_text) END AS email_hash,
    NULL::VARCHAR AS crm_contact_id,
    jm_rules_channel(utm_medium, utm_source, campaign_kept, referrer_class) AS channel,
    campaign_kept AS campaign,
    revenue_value AS revenue,
    CASE
        -- a screen's name is its property `screen`
        WHEN message_type = 'screen' AND jm_blank_to_null(screen_name) IS NOT NULL
            THEN json_merge_patch(kept_properties,
                                  json_object('screen', jm_redact(screen_name)))
        -- a survey answer's score is stored as the whole number it was checked to be
        WHEN survey IS NOT NULL
            THEN json_merge_patch(kept_properties,
                                  json_object('score', jm_nps_score(score_text)))
        -- a page's path (or URL) from context.page where its properties name neither
        WHEN context_page IS NOT NULL
            THEN json_merge_patch(kept_properties,
                                  jm_redact(context_page::VARCHAR)::JSON)
        ELSE kept_properties
    END AS properties,
    -- a web survey answer is checked like a CRM one
    CASE WHEN survey IS NOT NULL THEN jm_nps_score(score_text) END AS nps_score,
    jm_pseudonymize(previous_text) AS previous_id,
    trait_rows.traits,
    occurred_at AS traits_at,
    utm_medium,
    utm_source,
    referrer_host,
    page_host,
    referrer_class
FROM channel_inputs
LEFT JOIN trait_rows USING (record_no)
