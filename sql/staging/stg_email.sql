-- stg_email: SendGrid Event Webhook events (raw_records.raw is one JSON object) -> staged rows.
-- grain: one row per webhook event. The mapped fields come from one call with all their paths.
WITH extracted AS (
    SELECT
        record_no,
        j,
        json_type(j) AS json_kind,
        json_extract_string(j, ['$.event', '$.timestamp', '$.sg_event_id', '$.email',
                                '$.campaign', '$.marketing_campaign_name',
                                '$.singlesend_name']) AS v,
        -- everything but the fields mapped to columns is kept in properties (sg_message_id,
        -- url, category, and any custom argument or field SendGrid adds)
        json_merge_patch(j, '{"email": null, "timestamp": null, "event": null,
            "sg_event_id": null, "campaign": null}') AS other_fields
    FROM (SELECT record_no, TRY_CAST(raw AS JSON) AS j FROM raw_records)
),
fields AS MATERIALIZED (
    SELECT
        record_no,
        j,
        json_kind,
        lower(jm_trim(v[1])) AS sendgrid_event,
        v[2] AS timestamp_text,
        jm_parse_unix_seconds(v[2]) AS occurred_at,
        v[3] AS sg_event_id,
        v[4] AS email,
        -- the custom `campaign` argument (CONTRACT §1), else the name SendGrid's Marketing
        -- Campaigns give their events (decision 233)
        coalesce(jm_blank_to_null(v[5]), jm_blank_to_null(v[6]), jm_blank_to_null(v[7]))
            AS campaign,
        other_fields
    FROM extracted
)
SELECT
    record_no,
    CASE
        WHEN j IS NULL THEN 'not valid JSON'
        WHEN json_kind <> 'OBJECT' THEN 'not a JSON object'
        WHEN sendgrid_event IS NULL THEN 'missing event type'
        WHEN sendgrid_event NOT IN ('processed', 'dropped', 'delivered', 'deferred', 'bounce',
                                    'open', 'click', 'spamreport', 'unsubscribe',
                                    'group_unsubscribe', 'group_resubscribe')
            THEN 'unknown SendGrid event ' || jm_redact(sendgrid_event)
        WHEN timestamp_text IS NOT NULL AND occurred_at IS NULL
            THEN 'unparseable timestamp ' || jm_redact(timestamp_text)
    END AS reject_reason,
    true AS is_event,
    jm_pseudonymize(jm_blank_to_null(sg_event_id)) AS event_id,
    'email_' || sendgrid_event AS event_name,
    occurred_at,
    NULL::VARCHAR AS anonymous_id,
    NULL::VARCHAR AS user_id,
    jm_email_hash(email) AS email_hash,
    NULL::VARCHAR AS crm_contact_id,
    'email' AS channel,
    jm_redact(jm_blank_to_null(campaign)) AS campaign,
    NULL::DOUBLE AS revenue,
    jm_redact(other_fields::VARCHAR)::JSON AS properties,
    NULL::BIGINT AS nps_score,
    NULL::VARCHAR AS utm_medium,
    NULL::VARCHAR AS utm_source,
    NULL::VARCHAR AS referrer_host,
    NULL::VARCHAR AS page_host,
    NULL::VARCHAR AS referrer_class
FROM fields
