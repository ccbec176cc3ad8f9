-- stg_crm_feedback: HubSpot survey export rows (NPS) -> `nps_response` with property `score`,
-- belonging to the contact (by id) and/or the email; id `feedback:<hs_object_id>`.
WITH answers AS (
    SELECT
        record_no,
        jm_pseudonymize(jm_blank_to_null(hs_object_id)) AS answer_id,
        jm_blank_to_null(hs_survey_type) AS survey_type,
        jm_blank_to_null(hs_response_value) AS score_text,
        jm_nps_score(hs_response_value) AS score,
        jm_blank_to_null(hs_submission_timestamp) AS submitted_text,
        jm_email_hash(contact_email) AS email_hash,
        -- "Associated Contact IDs" may list several (id1;id2): the first one (docs/decisions.md)
        jm_pseudonymize(jm_first_listed(associated_contact_id)) AS contact_id,
        extra_fields
    FROM raw_records
)
SELECT
    record_no,
    CASE
        WHEN survey_type IS NOT NULL AND upper(survey_type) <> 'NPS'
            THEN 'survey type ' || jm_redact(survey_type) || ' is not NPS'
        WHEN score_text IS NOT NULL AND score IS NULL
            THEN 'NPS score is not a whole number: ' || jm_redact(score_text)
        WHEN submitted_text IS NOT NULL AND jm_parse_instant(submitted_text, $tz) IS NULL
            THEN 'unparseable hs_submission_timestamp ' || jm_redact(submitted_text)
    END AS reject_reason,
    true AS is_event,
    'feedback:' || answer_id AS event_id,
    'nps_response' AS event_name,
    jm_parse_instant(submitted_text, $tz) AS occurred_at,
    NULL::VARCHAR AS anonymous_id,
    NULL::VARCHAR AS user_id,
    email_hash,
    contact_id AS crm_contact_id,
    NULL::VARCHAR AS channel,
    NULL::VARCHAR AS campaign,
    NULL::DOUBLE AS revenue,
    jm_redact(json_merge_patch(coalesce(extra_fields, '{}'::JSON),
        json_object('score', score, 'survey_type', survey_type))::VARCHAR
    )::JSON AS properties,
    score AS nps_score,
    NULL::VARCHAR AS utm_medium,
    NULL::VARCHAR AS utm_source,
    NULL::VARCHAR AS referrer_host,
    NULL::VARCHAR AS page_host,
    NULL::VARCHAR AS referrer_class
FROM answers
