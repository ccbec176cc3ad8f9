-- --order unordered: level k = the person has events for each of stages 1..k in [from, to)
-- (order and window ignored).
SELECT person_id, [[level_case]] AS level
FROM (
    SELECT person_id, [[has_stage]]
    FROM stage_events
    WHERE occurred_at >= $from_at AND occurred_at < $to_at
    GROUP BY person_id
)
WHERE h1
