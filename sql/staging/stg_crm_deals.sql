-- stg_crm_deals: HubSpot deal export rows -> one deal event at `closedate`:
-- closedwon -> deal_won, closedlost -> deal_lost, any other stage -> deal_<dealstage>.
-- The deal belongs to its associated contact; id `deal:<hs_object_id>:<dealstage>`.
WITH deals AS (
    SELECT
        record_no,
        jm_pseudonymize(jm_blank_to_null(hs_object_id)) AS deal_id,
        lower(jm_blank_to_null(dealstage)) AS deal_stage,
        jm_blank_to_null(amount) AS amount_text,
        jm_amount(amount) AS amount_value,  -- (read once: the checks and the revenue use it)
        jm_blank_to_null(closedate) AS close_text,
        -- "Associated Contact IDs" may list several (id1;id2): the first one (docs/decisions.md)
        jm_pseudonymize(jm_first_listed(associated_contact_id)) AS contact_id,
        json_merge_patch(
            coalesce(extra_fields, '{}'::JSON),
            json_object('dealname', jm_blank_to_null(dealname), 'dealstage', jm_blank_to_null(dealstage),
                        'amount', jm_blank_to_null(amount))
        ) AS properties
    FROM raw_records
)
SELECT
    record_no,
    CASE
        -- the stage names the event (its id and name): a row without it is no deal event
        -- the columns a deal event needs, named (not "missing event id": decision 234)
        WHEN deal_id IS NULL THEN 'missing hs_object_id (Record ID)'
        WHEN deal_stage IS NULL THEN 'missing dealstage'
        WHEN close_text IS NULL THEN 'missing closedate (Close Date)'
        WHEN close_text IS NOT NULL AND jm_parse_instant(close_text, $tz) IS NULL
            THEN 'unparseable closedate ' || jm_redact(close_text)
        WHEN amount_text IS NOT NULL AND amount_value IS NULL
            THEN 'amount is not a number: ' || jm_redact(amount_text)
        WHEN amount_text IS NOT NULL AND jm_money(amount_value) IS NULL
            THEN 'amount out of range (1e15 or more, either sign): ' || jm_redact(amount_text)
    END AS reject_reason,
    true AS is_event,
    -- a stage that holds an email address: its keyed hash in the id, redacted in the name
    'deal:' || deal_id || ':' || jm_pseudonymize(deal_stage) AS event_id,
    CASE deal_stage
        WHEN 'closedwon' THEN 'deal_won'
        WHEN 'closedlost' THEN 'deal_lost'
        ELSE 'deal_' || jm_snake_case(jm_redact(deal_stage))
    END AS event_name,
    jm_parse_instant(close_text, $tz) AS occurred_at,
    NULL::VARCHAR AS anonymous_id,
    NULL::VARCHAR AS user_id,
    NULL::VARCHAR AS email_hash,
    contact_id AS crm_contact_id,
    NULL::VARCHAR AS channel,
    NULL::VARCHAR AS campaign,
    amount_value AS revenue,
    jm_redact(properties::VARCHAR)::JSON AS properties,
    NULL::BIGINT AS nps_score,
    NULL::VARCHAR AS utm_medium,
    NULL::VARCHAR AS utm_source,
    NULL::VARCHAR AS referrer_host,
    NULL::VARCHAR AS page_host,
    NULL::VARCHAR AS referrer_class
FROM deals
