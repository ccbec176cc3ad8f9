-- Journey map touchpoints per person: the events matching each stage, by source and channel.
-- grain: person x stage x source x channel. `run` keeps these rows for the dashboard
-- (person_rows.py, `_jm_journey_touchpoints`); fct_journey_map.sql adds them up.
-- Parameters: as_of and the stage rule values. Snippets (named without brackets): stage_list = a
-- list of the stage indexes an event matches; events = fct_events, or the events of some persons.
SELECT person_no, step, source, coalesce(channel, '(none)') AS channel, count(*) AS events
FROM (
    SELECT source, channel, person_no, unnest([[stage_list]]) AS step
    FROM [[events]]
    WHERE occurred_at <= $as_of
)
GROUP BY ALL
