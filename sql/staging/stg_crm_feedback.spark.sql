-- stg_crm_feedback on Spark: the same rows as stg_crm_feedback.sql (NPS, CSAT and CES answers),
-- in Spark SQL. Reads raw_records(record_no, raw, <columns>, extra_fields); :tz; jm_* functions
-- from functions.spark.sql.
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
        jm_pseudonymize(first_contact) AS contact_id,
        extra_fields
    FROM (
        -- "Associated Contact IDs" may list several (id1;id2): the first one. Computed apart:
        -- a SQL function whose body has a lambda cannot be an argument of another one
        SELECT *, jm_first_listed(associated_contact_id) AS first_contact FROM raw_records
    )
),
shaped AS (
    SELECT
        answers.*,
        -- DuckDB: json_merge_patch(extra_fields, json_object('score', .., 'survey_type', ..))
        to_json(map_concat(
            map_filter(coalesce(try_cast(try_parse_json(extra_fields)
                                         AS MAP<STRING, VARIANT>), map()),
                       (k, v) -> k NOT IN ('score', 'survey_type')),
            map_filter(map('score', CAST(score AS VARIANT),
                           'survey_type', CAST(survey_type AS VARIANT)),
                       (k, v) -> v IS NOT NULL))) AS properties
    FROM answers
)
SELECT
    record_no,
    CASE
        WHEN answer_id IS NULL THEN 'missing hs_object_id (Record ID)'
        WHEN jm_survey_problem(survey, score_text) IS NOT NULL
            THEN jm_survey_problem(survey, score_text)
        WHEN submitted_text IS NULL THEN 'missing hs_submission_timestamp (Submission Timestamp)'
        WHEN jm_parse_instant(submitted_text, :tz) IS NULL
            THEN concat('unparseable hs_submission_timestamp ', jm_redact(submitted_text))
    END AS reject_reason,
    true AS is_event,
    concat('feedback:', answer_id) AS event_id,
    jm_survey_event(survey) AS event_name,
    jm_parse_instant(submitted_text, :tz) AS occurred_at,
    CAST(NULL AS STRING) AS anonymous_id,
    CAST(NULL AS STRING) AS user_id,
    email_hash,
    contact_id AS crm_contact_id,
    CAST(NULL AS STRING) AS channel,
    CAST(NULL AS STRING) AS campaign,
    CAST(NULL AS DOUBLE) AS revenue,
    jm_redact(properties) AS properties,
    score AS nps_score,
    CAST(NULL AS STRING) AS utm_medium,
    CAST(NULL AS STRING) AS utm_source,
    CAST(NULL AS STRING) AS referrer_host,
    CAST(NULL AS STRING) AS page_host,
    CAST(NULL AS STRING) AS referrer_class
FROM shaped
