-- stg_web: Segment Spec messages (raw_records.raw is one JSON line) -> staged canonical rows.
-- grain: one row per message. Parameters: $tz (zone of timestamps written without an offset).
WITH parsed AS (
    SELECT record_no, TRY_CAST(raw AS JSON) AS j
    FROM raw_records
),
fields AS (
    SELECT
        record_no,
        j,
        json_type(j) AS json_kind,
        j ->> '$.type' AS message_type,
        j ->> '$.timestamp' AS timestamp_text,
        jm_parse_instant(j ->> '$.timestamp', $tz) AS occurred_at,
        coalesce(j -> '$.properties', '{}'::JSON) AS properties,
        j ->> '$.event' AS track_event,
        coalesce(j ->> '$.context.page.url', j ->> '$.properties.url') AS page_url,
        coalesce(j ->> '$.context.page.referrer', j ->> '$.properties.referrer') AS referrer
    FROM parsed
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
    END AS reject_reason,
    true AS is_event,
    jm_pseudonymize(jm_blank_to_null(j ->> '$.messageId')) AS event_id,
    CASE message_type
        WHEN 'page' THEN 'page_view'
        WHEN 'identify' THEN 'identify'
        ELSE jm_snake_case(track_event)
    END AS event_name,
    occurred_at,
    -- An id containing an email is replaced by its keyed hash: no raw address is stored.
    jm_pseudonymize(jm_blank_to_null(j ->> '$.anonymousId')) AS anonymous_id,
    jm_pseudonymize(jm_blank_to_null(j ->> '$.userId')) AS user_id,
    CASE WHEN message_type = 'identify' THEN jm_email_hash(j ->> '$.traits.email') END AS email_hash,
    NULL::VARCHAR AS crm_contact_id,
    jm_web_channel(j ->> '$.context.campaign.medium', referrer, page_url) AS channel,
    jm_redact(jm_blank_to_null(j ->> '$.context.campaign.name')) AS campaign,
    TRY_CAST(properties ->> '$.revenue' AS DOUBLE) AS revenue,
    jm_redact(properties::VARCHAR)::JSON AS properties,
    NULL::BIGINT AS nps_score
FROM fields
