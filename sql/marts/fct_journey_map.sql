-- Journey map touchpoints: events matching each stage, by source and channel. grain: stage x
-- source x channel. [[person_touchpoints]]: the rows of journey_person_touchpoints.sql (one per
-- person, stage, source and channel), or those `run` keeps; a person counts once in each.
SELECT step, source, channel, sum(events)::BIGINT AS events, count(*) AS persons
FROM ([[person_touchpoints]])
GROUP BY ALL
ORDER BY step, events DESC, source, channel
