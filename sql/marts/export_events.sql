-- events.parquet (CONTRACT §5, §12): one row per event with its stitched person.
-- The contract's columns first (event_id .. properties as JSON text), then what the metrics need
-- beside them in the lake (CONTRACT §12): person_no (the integer person id the funnel joins on),
-- campaign, and the channel inputs of web events (so channels can be derived again).
WITH numbers AS (
    -- person_no renumbered by person_id: the warehouse's numbers follow the load history, and
    -- the same events must give the same bytes however they were loaded
    SELECT person_id, row_number() OVER (ORDER BY person_id) AS person_no FROM persons
)
SELECT
    event_id,
    source,
    event_name,
    occurred_at,
    person_id,
    channel,
    revenue,
    properties::VARCHAR AS properties,
    n.person_no,
    campaign,
    utm_medium,
    utm_source,
    referrer_host,
    page_host,
    referrer_class
FROM fct_events
JOIN numbers AS n USING (person_id)
ORDER BY occurred_at, source, event_id
