-- stg_crm_feedback: HubSpot survey export rows (NPS 0-10, CSAT 1-5, CES 1-7) -> `nps_response`,
-- `csat_response` or `ces_response` with property `score`, belonging to the contact (by id)
-- and/or the email; id `feedback:<hs_object_id>`. A row without a survey type is an NPS answer
-- (exports of NPS surveys alone have no such column).
WITH answers AS (
    SELECT
        record_no,
        jm_pseudonymize(jm_blank_to_null(hs_object_id)) AS answer_id,
        jm_blank_to_null(hs_survey_type) AS survey_type,
        coalesce(jm_blank_to_null(hs_survey_type), 'NPS') AS survey,
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
        WHEN answer_id IS NULL THEN 'missing hs_object_id (Record ID)'
        WHEN jm_survey_problem(survey, score_text) IS NOT NULL
            THEN jm_survey_problem(survey, score_text)
        WHEN submitted_text IS NULL THEN 'missing hs_submission_timestamp (Submission Timestamp)'
        WHEN jm_parse_instant(submitted_text, $tz) IS NULL
            THEN 'unparseable hs_submission_timestamp ' || jm_redact(submitted_text)
    END AS reject_reason,
    true AS is_event,
    'feedback:' || answer_id AS event_id,
    jm_survey_event(survey) AS event_name,
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
