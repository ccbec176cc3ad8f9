-- --order unordered: level k = the person has events for each of stages 1..k in [from, to)
-- (order and window ignored).
SELECT person_no, [[level_case]] AS level
FROM (
    SELECT person_no, [[has_stage]]
    FROM stage_events
    WHERE occurred_at >= $from_at AND occurred_at < $to_at
    GROUP BY person_no
)
WHERE h1
