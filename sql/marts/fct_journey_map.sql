-- Journey map touchpoints: events matching each stage, by source and channel. grain: stage x
-- source x channel. [[stage_list]] is a list of the stage indexes an event matches.
SELECT
    step,
    source,
    coalesce(channel, '(none)') AS channel,
    count(*) AS events,
    count(DISTINCT person_id) AS persons
FROM (
    SELECT source, channel, person_id, unnest([[stage_list]]) AS step
    FROM fct_events
    WHERE occurred_at <= $as_of
)
GROUP BY ALL
ORDER BY step, events DESC, source, channel
