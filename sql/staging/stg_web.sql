-- stg_web: Segment Spec messages (raw_records.raw is one JSON line) -> staged canonical rows.
-- grain: one row per message. Parameters: $tz (zone of timestamps written without an offset).
-- Each layer is MATERIALIZED: macros repeat their arguments, so arguments must be plain columns
-- (not JSON extractions) to be computed once.
WITH extracted AS (
    -- one JSON parse per line: all paths in one call
    SELECT
        record_no,
        j,
        json_type(j) AS json_kind,
        json_extract_string(j, ['$.type', '$.messageId', '$.timestamp', '$.anonymousId',
                                '$.userId', '$.event', '$.traits.email',
                                '$.context.campaign.medium', '$.context.campaign.name',
                                '$.properties', '$.context.page.url', '$.properties.url',
                                '$.context.page.referrer', '$.properties.referrer',
                                '$.properties.score', '$.context.campaign.source']) AS v,
        -- fields the Segment spec does not define are kept, in properties
        json_merge_patch(j, '{"type": null, "messageId": null, "timestamp": null,
            "anonymousId": null, "userId": null, "event": null, "properties": null,
            "context": null, "traits": null, "integrations": null, "sentAt": null,
            "receivedAt": null, "originalTimestamp": null, "version": null, "channel": null,
            "name": null, "category": null, "writeKey": null, "_metadata": null,
            "projectId": null, "options": null}') AS unknown_fields
    FROM (SELECT record_no, TRY_CAST(raw AS JSON) AS j FROM raw_records)
),
parsed AS MATERIALIZED (
    SELECT
        record_no,
        j,
        json_kind,
        v[1] AS message_type,
        v[2] AS message_id,
        v[3] AS timestamp_text,
        v[4] AS anonymous_text,
        v[5] AS user_text,
        v[6] AS track_event,
        v[7] AS email_text,
        v[8] AS medium,
        v[9] AS campaign_name,
        CASE WHEN unknown_fields IS NULL OR unknown_fields::VARCHAR = '{}'
             THEN coalesce(v[10], '{}')
             ELSE json_merge_patch(unknown_fields, coalesce(v[10], '{}'))::VARCHAR
        END AS properties_text,
        coalesce(v[11], v[12]) AS page_url,
        coalesce(v[13], v[14]) AS referrer,
        v[15] AS score_text,
        v[16] AS source_text
    FROM extracted
),
fields AS MATERIALIZED (
    SELECT
        *,
        jm_parse_instant(timestamp_text, $tz) AS occurred_at,
        jm_url_host(page_url) AS page_host,
        jm_url_host(referrer) AS referrer_host,
        -- the inputs of the channel rules (CONTRACT §2), kept with the event
        jm_medium(medium) AS utm_medium,
        jm_redact(jm_blank_to_null(source_text)) AS utm_source,
        jm_redact(jm_blank_to_null(campaign_name)) AS campaign_kept
    FROM parsed
),
channel_inputs AS (  -- not materialized: measured as fast, less memory
    SELECT *, jm_referrer_class(referrer_host, page_host) AS referrer_class FROM fields
)
SELECT
    record_no,
    CASE
        WHEN j IS NULL THEN 'not valid JSON'
        WHEN json_kind <> 'OBJECT' THEN 'not a JSON object'
        WHEN message_type IS NULL THEN 'missing message type'
        WHEN message_type NOT IN ('page', 'track', 'identify')
            THEN 'unknown message type ' || jm_redact(message_type)
        WHEN message_type = 'track' AND jm_blank_to_null(track_event) IS NULL
            THEN 'track message without event'
        WHEN timestamp_text IS NOT NULL AND occurred_at IS NULL
            THEN 'unparseable timestamp ' || jm_redact(timestamp_text)
        WHEN message_type = 'track' AND jm_snake_case(track_event) = 'nps_response'
             AND score_text IS NOT NULL AND jm_nps_score(score_text) IS NULL
            THEN 'NPS score is not a whole number: ' || jm_redact(score_text)
    END AS reject_reason,
    true AS is_event,
    jm_pseudonymize(jm_blank_to_null(message_id)) AS event_id,
    CASE message_type
        WHEN 'page' THEN 'page_view'
        WHEN 'identify' THEN 'identify'
        ELSE jm_snake_case(track_event)
    END AS event_name,
    occurred_at,
    -- An id containing an email is replaced by its keyed hash: no raw address is stored.
    jm_pseudonymize(jm_blank_to_null(anonymous_text)) AS anonymous_id,
    jm_pseudonymize(jm_blank_to_null(user_text)) AS user_id,
    CASE WHEN message_type = 'identify' THEN jm_email_hash(email_text) END AS email_hash,
    NULL::VARCHAR AS crm_contact_id,
    jm_rules_channel(utm_medium, utm_source, campaign_kept, referrer_class) AS channel,
    campaign_kept AS campaign,
    TRY_CAST(json_extract_string(properties_text, '$.revenue') AS DOUBLE) AS revenue,
    jm_redact(properties_text)::JSON AS properties,
    -- a web survey answer (track "NPS Response") is checked like a CRM one
    CASE WHEN jm_snake_case(track_event) = 'nps_response' THEN jm_nps_score(score_text) END
        AS nps_score,
    utm_medium,
    utm_source,
    referrer_host,
    page_host,
    referrer_class
FROM channel_inputs
