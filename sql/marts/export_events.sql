-- events.parquet (CONTRACT §5): one row per event with its stitched person.
SELECT
    event_id,
    source,
    event_name,
    occurred_at,
    person_id,
    channel,
    revenue,
    properties::VARCHAR AS properties
FROM fct_events
ORDER BY occurred_at, source, event_id
