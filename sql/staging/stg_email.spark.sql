-- stg_email on Spark: the same rows as stg_email.sql (SendGrid Event Webhook events, one JSON
-- object per record), in Spark SQL. Reads the view raw_records(record_no, raw); the jm_*
-- functions come from functions.spark.sql. Properties are Spark's serialisation of the same JSON.
WITH extracted AS (
    SELECT
        r.record_no,
        r.raw,
        -- (Spark's parser stops after the first value: jm_one_json_value)
        NOT jm_one_json_value(r.raw)
            OR try_parse_json(concat('[', r.raw, ']')) IS NULL AS invalid_json,
        json_object_keys(r.raw) IS NOT NULL AS is_object,
        v.*
    FROM raw_records AS r
    LATERAL VIEW json_tuple(r.raw, 'event', 'timestamp', 'sg_event_id', 'email', 'campaign',
                            'marketing_campaign_name', 'singlesend_name') v
        AS event_text, timestamp_text, sg_event_id, email, custom_campaign,
           marketing_campaign_name, singlesend_name
),
fields AS (
    SELECT
        record_no,
        raw,
        invalid_json,
        is_object,
        jm_lower(jm_trim(event_text)) AS sendgrid_event,
        timestamp_text,
        jm_parse_unix_seconds(timestamp_text) AS occurred_at,
        sg_event_id,
        email,
        -- (as stg_email.sql: the custom argument, else Marketing Campaigns' name)
        coalesce(jm_blank_to_null(custom_campaign), jm_blank_to_null(marketing_campaign_name),
                 jm_blank_to_null(singlesend_name)) AS campaign,
        -- everything but the fields mapped to columns (DuckDB: a merge patch nulling them)
        CASE WHEN is_object AND NOT invalid_json THEN to_json(map_filter(
            try_cast(try_parse_json(raw) AS MAP<STRING, VARIANT>),
            (k, v) -> k NOT IN ('email', 'timestamp', 'event', 'sg_event_id', 'campaign')))
        END AS other_fields
    FROM extracted
)
SELECT
    record_no,
    CASE
        WHEN invalid_json THEN 'not valid JSON'
        WHEN NOT is_object THEN 'not a JSON object'
        WHEN sendgrid_event IS NULL THEN 'missing event type'
        WHEN sendgrid_event NOT IN ('processed', 'dropped', 'delivered', 'deferred', 'bounce',
                                    'open', 'click', 'spamreport', 'unsubscribe',
                                    'group_unsubscribe', 'group_resubscribe')
            THEN concat('unknown SendGrid event ', jm_redact(sendgrid_event))
        WHEN timestamp_text IS NOT NULL AND occurred_at IS NULL
            THEN concat('unparseable timestamp ', jm_redact(timestamp_text))
    END AS reject_reason,
    true AS is_event,
    jm_pseudonymize(jm_blank_to_null(sg_event_id)) AS event_id,
    concat('email_', sendgrid_event) AS event_name,
    occurred_at,
    CAST(NULL AS STRING) AS anonymous_id,
    CAST(NULL AS STRING) AS user_id,
    jm_email_hash(email) AS email_hash,
    CAST(NULL AS STRING) AS crm_contact_id,
    'email' AS channel,
    jm_redact(jm_blank_to_null(campaign)) AS campaign,
    CAST(NULL AS DOUBLE) AS revenue,
    jm_redact(other_fields) AS properties,
    CAST(NULL AS BIGINT) AS nps_score,
    CAST(NULL AS STRING) AS utm_medium,
    CAST(NULL AS STRING) AS utm_source,
    CAST(NULL AS STRING) AS referrer_host,
    CAST(NULL AS STRING) AS page_host,
    CAST(NULL AS STRING) AS referrer_class
FROM fields
