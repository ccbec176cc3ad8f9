-- Each person's stage-matching events up to as_of, in funnel order:
-- (occurred_at, lowest stage index the event matches, event_id) -> pos 1, 2, ...
-- [[flags]] are the stage match expressions "AS m1, ..., AS mK".
SELECT
    person_id,
    event_id,
    occurred_at,
    [[flags]],
    row_number() OVER (
        PARTITION BY person_id ORDER BY occurred_at, [[lowest_stage]], event_id
    ) AS pos
FROM fct_events
WHERE occurred_at <= $as_of AND ([[any_stage]])
