-- stg_crm_contacts: HubSpot contact export rows -> one identity row per contact (links the
-- contact id to the email) plus one `lifecycle_<stage>` event per non-empty stage date,
-- id `<hs_object_id>:<stage>` so a re-export yields the same events (CONTRACT §1).
-- The identity row also carries the contact's traits (CONTRACT §6: the columns named in $traits,
-- snake_case) set at the row's latest date among createdate and the stage dates. Contact
-- columns are person attributes, not event properties: other extra columns are not kept.
WITH contacts AS (
    SELECT
        record_no,
        jm_pseudonymize(jm_blank_to_null(hs_object_id)) AS contact_id,
        jm_email_hash(email) AS email_hash,
        json_merge_patch('{}', json_object(  -- (the merge drops null members)
            'lifecyclestage', jm_blank_to_null(lifecyclestage),
            'hs_analytics_source', jm_blank_to_null(hs_analytics_source))) AS properties,
        jm_traits(
            json_merge_patch(
                coalesce(extra_fields, '{}'::JSON),
                json_object('lifecyclestage', jm_blank_to_null(lifecyclestage),
                            'hs_analytics_source', jm_blank_to_null(hs_analytics_source))),
            '', $traits::VARCHAR[]) AS traits,
        greatest(
            jm_parse_instant(createdate, $tz),
            jm_parse_instant(hs_lifecyclestage_subscriber_date, $tz),
            jm_parse_instant(hs_lifecyclestage_lead_date, $tz),
            jm_parse_instant(hs_lifecyclestage_marketingqualifiedlead_date, $tz),
            jm_parse_instant(hs_lifecyclestage_salesqualifiedlead_date, $tz),
            jm_parse_instant(hs_lifecyclestage_opportunity_date, $tz),
            jm_parse_instant(hs_lifecyclestage_customer_date, $tz),
            jm_parse_instant(hs_lifecyclestage_evangelist_date, $tz)) AS traits_at,
        jm_blank_to_null(hs_lifecyclestage_subscriber_date) AS subscriber,
        jm_blank_to_null(hs_lifecyclestage_lead_date) AS lead,
        jm_blank_to_null(hs_lifecyclestage_marketingqualifiedlead_date) AS marketingqualifiedlead,
        jm_blank_to_null(hs_lifecyclestage_salesqualifiedlead_date) AS salesqualifiedlead,
        jm_blank_to_null(hs_lifecyclestage_opportunity_date) AS opportunity,
        jm_blank_to_null(hs_lifecyclestage_customer_date) AS customer,
        jm_blank_to_null(hs_lifecyclestage_evangelist_date) AS evangelist
    FROM raw_records
),
stage_dates AS (
    UNPIVOT contacts
    ON subscriber, lead, marketingqualifiedlead, salesqualifiedlead, opportunity, customer,
       evangelist
    INTO NAME stage VALUE date_text
)
SELECT
    record_no,
    NULL::VARCHAR AS reject_reason,
    false AS is_event,
    NULL::VARCHAR AS event_id,
    NULL::VARCHAR AS event_name,
    NULL::TIMESTAMPTZ AS occurred_at,
    NULL::VARCHAR AS anonymous_id,
    NULL::VARCHAR AS user_id,
    email_hash,
    contact_id AS crm_contact_id,
    NULL::VARCHAR AS channel,
    NULL::VARCHAR AS campaign,
    NULL::DOUBLE AS revenue,
    NULL::JSON AS properties,
    NULL::BIGINT AS nps_score,
    NULL::VARCHAR AS utm_medium,
    NULL::VARCHAR AS utm_source,
    NULL::VARCHAR AS referrer_host,
    NULL::VARCHAR AS page_host,
    NULL::VARCHAR AS referrer_class,
    traits,
    traits_at
FROM contacts
UNION ALL
SELECT
    record_no,
    CASE WHEN contact_id IS NULL THEN 'missing hs_object_id (Record ID)'
         WHEN jm_parse_instant(date_text, $tz) IS NULL
         THEN 'unparseable date in hs_lifecyclestage_' || stage || '_date: ' || jm_redact(date_text)
    END AS reject_reason,
    true AS is_event,
    contact_id || ':' || stage AS event_id,
    'lifecycle_' || stage AS event_name,
    jm_parse_instant(date_text, $tz) AS occurred_at,
    NULL::VARCHAR AS anonymous_id,
    NULL::VARCHAR AS user_id,
    email_hash,
    contact_id AS crm_contact_id,
    NULL::VARCHAR AS channel,
    NULL::VARCHAR AS campaign,
    NULL::DOUBLE AS revenue,
    jm_redact(properties::VARCHAR)::JSON AS properties,
    NULL::BIGINT AS nps_score,
    NULL::VARCHAR AS utm_medium,
    NULL::VARCHAR AS utm_source,
    NULL::VARCHAR AS referrer_host,
    NULL::VARCHAR AS page_host,
    NULL::VARCHAR AS referrer_class,
    NULL AS traits,
    NULL::TIMESTAMPTZ AS traits_at
FROM stage_dates
