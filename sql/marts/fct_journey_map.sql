-- Journey map touchpoints: events matching each stage, by source and channel. grain: stage x
-- source x channel. [[stage_list]] is a list of the stage indexes an event matches. Persons are
-- counted by their integer number (one per person id): 10M events, 3.2 -> 2.5 s.
SELECT
    step,
    source,
    coalesce(channel, '(none)') AS channel,
    count(*) AS events,
    count(DISTINCT person_no) AS persons
FROM (
    SELECT source, channel, person_no, unnest([[stage_list]]) AS step
    FROM fct_events
    WHERE occurred_at <= $as_of
)
GROUP BY ALL
ORDER BY step, events DESC, source, channel
