-- stg_crm_deals on Spark: the same rows as stg_crm_deals.sql (one deal event at `closedate`), in
-- Spark SQL. Reads raw_records(record_no, raw, <columns>, extra_fields); :tz; jm_* functions
-- from functions.spark.sql.
WITH deals AS (
    SELECT
        record_no,
        jm_pseudonymize(jm_blank_to_null(hs_object_id)) AS deal_id,
        jm_lower(jm_blank_to_null(dealstage)) AS deal_stage,
        jm_blank_to_null(amount) AS amount_text,
        jm_blank_to_null(closedate) AS close_text,
        jm_pseudonymize(first_contact) AS contact_id,
        -- DuckDB: json_merge_patch(extra_fields, json_object(...)): the named columns' non-null
        -- values over the extra fields (whose own nulls stay)
        to_json(map_concat(
            map_filter(coalesce(from_json(extra_fields, 'MAP<STRING, STRING>'), map()),
                       (k, v) -> k NOT IN ('dealname', 'dealstage', 'amount')),
            map_filter(map('dealname', jm_blank_to_null(dealname),
                           'dealstage', jm_blank_to_null(dealstage),
                           'amount', jm_blank_to_null(amount)),
                       (k, v) -> v IS NOT NULL))) AS properties
    FROM (
        -- "Associated Contact IDs" may list several (id1;id2): the first one. Computed apart:
        -- a SQL function whose body has a lambda cannot be an argument of another one
        SELECT *, jm_first_listed(associated_contact_id) AS first_contact FROM raw_records
    )
)
SELECT
    record_no,
    CASE
        -- the stage names the event (its id and name): a row without it is no deal event
        -- the columns a deal event needs, named (not "missing event id": decision 234)
        WHEN deal_id IS NULL THEN 'missing hs_object_id (Record ID)'
        WHEN deal_stage IS NULL THEN 'missing dealstage'
        WHEN close_text IS NULL THEN 'missing closedate (Close Date)'
        WHEN close_text IS NOT NULL AND jm_parse_instant(close_text, :tz) IS NULL
            THEN concat('unparseable closedate ', jm_redact(close_text))
        WHEN amount_text IS NOT NULL AND jm_amount(amount_text) IS NULL
            THEN concat('amount is not a number: ', jm_redact(amount_text))
        WHEN amount_text IS NOT NULL AND jm_money(jm_amount(amount_text)) IS NULL
            THEN concat('amount out of range (1e15 or more, either sign): ', jm_redact(amount_text))
    END AS reject_reason,
    true AS is_event,
    concat('deal:', deal_id, ':', jm_pseudonymize(deal_stage)) AS event_id,
    CASE deal_stage
        WHEN 'closedwon' THEN 'deal_won'
        WHEN 'closedlost' THEN 'deal_lost'
        ELSE concat('deal_', jm_snake_case(jm_redact(deal_stage)))
    END AS event_name,
    jm_parse_instant(close_text, :tz) AS occurred_at,
    CAST(NULL AS STRING) AS anonymous_id,
    CAST(NULL AS STRING) AS user_id,
    CAST(NULL AS STRING) AS email_hash,
    contact_id AS crm_contact_id,
    CAST(NULL AS STRING) AS channel,
    CAST(NULL AS STRING) AS campaign,
    jm_amount(amount_text) AS revenue,
    jm_redact(properties) AS properties,
    CAST(NULL AS BIGINT) AS nps_score,
    CAST(NULL AS STRING) AS utm_medium,
    CAST(NULL AS STRING) AS utm_source,
    CAST(NULL AS STRING) AS referrer_host,
    CAST(NULL AS STRING) AS page_host,
    CAST(NULL AS STRING) AS referrer_class
FROM deals
