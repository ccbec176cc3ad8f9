-- The lake's public datasets from the state (engines/spark_ingest.py), with the columns and
-- meaning of sql/marts/export_*.sql. Inputs: jm_all_events, jm_labels (stitched), jm_all_traits,
-- and the function jm_lake_channel (the current channel rules, channels.spark_function).

CREATE OR REPLACE TEMP VIEW jm_person_map AS
SELECT node, 'p_' || left(sha2(label, 256), 16) AS person_id FROM jm_labels;

-- A web event (it has a referrer class) gets the channel of the current rules (the state keeps
-- the built-in one), as sql/intermediate/int_refresh_channels.sql does in the warehouse.
CREATE OR REPLACE TEMP VIEW jm_events_now AS
SELECT event_id, source, event_name, occurred_at, person_key, revenue, properties, campaign,
       utm_medium, utm_source, referrer_host, page_host, referrer_class,
       CASE WHEN referrer_class IS NULL THEN channel
            ELSE jm_lake_channel(utm_medium, utm_source, campaign, referrer_class)
       END AS channel
FROM jm_all_events;

-- A person's channel is the channel of their earliest event that has one (CONTRACT §2);
-- first_seen_at is their earliest event of any kind. Persons without events have no row.
CREATE OR REPLACE TEMP VIEW jm_persons_base AS
SELECT
    m.person_id,
    coalesce(min_by(e.channel, struct(e.occurred_at, e.event_id, e.source))
                 FILTER (WHERE e.channel IS NOT NULL), '(none)') AS channel,
    min(e.occurred_at) AS first_seen_at
FROM jm_events_now AS e
JOIN jm_person_map AS m ON m.node = e.person_key
GROUP BY m.person_id;

-- person_no numbered by person_id (export renumbers the same way)
CREATE OR REPLACE TEMP VIEW jm_out_persons AS
SELECT person_id, channel, first_seen_at,
       CAST(row_number() OVER (ORDER BY person_id) AS BIGINT) AS person_no
FROM jm_persons_base;

CREATE OR REPLACE TEMP VIEW jm_out_events AS
SELECT e.event_id, e.source, e.event_name, e.occurred_at, m.person_id, e.channel, e.revenue,
       e.properties, n.person_no, e.campaign, e.utm_medium, e.utm_source, e.referrer_host,
       e.page_host, e.referrer_class
FROM jm_events_now AS e
JOIN jm_person_map AS m ON m.node = e.person_key
JOIN jm_out_persons AS n ON n.person_id = m.person_id;

CREATE OR REPLACE TEMP VIEW jm_out_traits AS
SELECT m.person_id, n.person_no, t.trait, t.value, t.set_at
FROM jm_all_traits AS t
JOIN jm_person_map AS m ON m.node = t.node
JOIN jm_out_persons AS n ON n.person_id = m.person_id;

CREATE OR REPLACE TEMP VIEW jm_out_identity AS
SELECT m.node, m.person_id, n.person_no
FROM jm_person_map AS m
JOIN jm_out_persons AS n ON n.person_id = m.person_id
