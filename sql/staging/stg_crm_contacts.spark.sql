-- stg_crm_contacts on Spark: the same rows as stg_crm_contacts.sql (HubSpot contact rows -> one
-- identity row per contact with its traits, plus one `lifecycle_<stage>` event per non-empty
-- stage date), in Spark SQL. Reads raw_records(record_no, raw, <columns>, extra_fields); :tz,
-- :traits; the jm_* functions come from functions.spark.sql.
WITH contacts AS (
    SELECT
        record_no,
        jm_pseudonymize(jm_blank_to_null(hs_object_id)) AS contact_id,
        jm_email_hash(email) AS email_hash,
        -- DuckDB: json_merge_patch('{}', json_object(...)) drops the null members
        to_json(map_filter(map('lifecyclestage', jm_blank_to_null(lifecyclestage),
                               'hs_analytics_source', jm_blank_to_null(hs_analytics_source)),
                           (k, v) -> v IS NOT NULL)) AS properties,
        -- the merge patch of the named columns over the extra fields, as one map in key order
        map_concat(
            map_filter(coalesce(from_json(extra_fields, 'MAP<STRING, STRING>'), map()),
                       (k, v) -> k NOT IN ('lifecyclestage', 'hs_analytics_source')),
            map_filter(map('lifecyclestage', jm_blank_to_null(lifecyclestage),
                           'hs_analytics_source', jm_blank_to_null(hs_analytics_source)),
                       (k, v) -> v IS NOT NULL)) AS trait_map,
        greatest(
            jm_parse_instant(createdate, :tz),
            jm_parse_instant(hs_lifecyclestage_subscriber_date, :tz),
            jm_parse_instant(hs_lifecyclestage_lead_date, :tz),
            jm_parse_instant(hs_lifecyclestage_marketingqualifiedlead_date, :tz),
            jm_parse_instant(hs_lifecyclestage_salesqualifiedlead_date, :tz),
            jm_parse_instant(hs_lifecyclestage_opportunity_date, :tz),
            jm_parse_instant(hs_lifecyclestage_customer_date, :tz),
            jm_parse_instant(hs_lifecyclestage_evangelist_date, :tz)) AS traits_at,
        jm_blank_to_null(hs_lifecyclestage_subscriber_date) AS subscriber,
        jm_blank_to_null(hs_lifecyclestage_lead_date) AS lead,
        jm_blank_to_null(hs_lifecyclestage_marketingqualifiedlead_date) AS marketingqualifiedlead,
        jm_blank_to_null(hs_lifecyclestage_salesqualifiedlead_date) AS salesqualifiedlead,
        jm_blank_to_null(hs_lifecyclestage_opportunity_date) AS opportunity,
        jm_blank_to_null(hs_lifecyclestage_customer_date) AS customer,
        jm_blank_to_null(hs_lifecyclestage_evangelist_date) AS evangelist
    FROM raw_records
),
trait_rows AS (
    -- CONTRACT §6 traits: one row per key (no SQL function inside a lambda), back in key order
    SELECT
        record_no,
        transform(array_sort(collect_list(named_struct('pos', pos, 'trait', trait,
                                                       'value', value))),
                  t -> named_struct('trait', t.trait, 'value', t.value)) AS traits
    FROM (
        SELECT c.record_no, e.pos, jm_snake_case(e.entry.key) AS trait,
               jm_redact(jm_blank_to_null(e.entry.value)) AS value
        FROM contacts AS c
        LATERAL VIEW posexplode(map_entries(c.trait_map)) e AS pos, entry
    )
    WHERE value IS NOT NULL AND array_contains(:traits, trait)
    GROUP BY record_no
),
stage_dates AS (
    -- each date parsed once, here: used twice on the rows of UNPIVOT (an Expand), the parse
    -- is a common subexpression that Spark 4's generated code cannot pass to its helper
    -- method (a Janino compile error logged on every run, then slower interpreted code)
    SELECT *, jm_parse_instant(date_text, :tz) AS date_at
    FROM (
        SELECT * FROM contacts
        UNPIVOT EXCLUDE NULLS (date_text FOR stage IN (
            subscriber, lead, marketingqualifiedlead, salesqualifiedlead, opportunity,
            customer, evangelist))
    )
)
SELECT
    c.record_no,
    CAST(NULL AS STRING) AS reject_reason,
    false AS is_event,
    CAST(NULL AS STRING) AS event_id,
    CAST(NULL AS STRING) AS event_name,
    CAST(NULL AS TIMESTAMP) AS occurred_at,
    CAST(NULL AS STRING) AS anonymous_id,
    CAST(NULL AS STRING) AS user_id,
    c.email_hash,
    c.contact_id AS crm_contact_id,
    CAST(NULL AS STRING) AS channel,
    CAST(NULL AS STRING) AS campaign,
    CAST(NULL AS DOUBLE) AS revenue,
    CAST(NULL AS STRING) AS properties,
    CAST(NULL AS BIGINT) AS nps_score,
    CAST(NULL AS STRING) AS utm_medium,
    CAST(NULL AS STRING) AS utm_source,
    CAST(NULL AS STRING) AS referrer_host,
    CAST(NULL AS STRING) AS page_host,
    CAST(NULL AS STRING) AS referrer_class,
    coalesce(t.traits, CAST(array() AS ARRAY<STRUCT<trait: STRING, value: STRING>>)) AS traits,
    c.traits_at
FROM contacts AS c
LEFT JOIN trait_rows AS t ON t.record_no = c.record_no
UNION ALL
SELECT
    record_no,
    CASE WHEN contact_id IS NULL THEN 'missing hs_object_id (Record ID)'
         WHEN date_at IS NULL
         THEN concat('unparseable date in hs_lifecyclestage_', stage, '_date: ',
                     jm_redact(date_text))
    END AS reject_reason,
    true AS is_event,
    concat(contact_id, ':', stage) AS event_id,
    concat('lifecycle_', stage) AS event_name,
    date_at AS occurred_at,
    CAST(NULL AS STRING) AS anonymous_id,
    CAST(NULL AS STRING) AS user_id,
    email_hash,
    contact_id AS crm_contact_id,
    CAST(NULL AS STRING) AS channel,
    CAST(NULL AS STRING) AS campaign,
    CAST(NULL AS DOUBLE) AS revenue,
    jm_redact(properties) AS properties,
    CAST(NULL AS BIGINT) AS nps_score,
    CAST(NULL AS STRING) AS utm_medium,
    CAST(NULL AS STRING) AS utm_source,
    CAST(NULL AS STRING) AS referrer_host,
    CAST(NULL AS STRING) AS page_host,
    CAST(NULL AS STRING) AS referrer_class,
    CAST(NULL AS ARRAY<STRUCT<trait: STRING, value: STRING>>) AS traits,
    CAST(NULL AS TIMESTAMP) AS traits_at
FROM stage_dates
