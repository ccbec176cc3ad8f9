-- Each person's stage-matching events from --from up to as_of, in funnel order (an event before
-- --from is never a step: attempts start in [from, to) and every step comes after the start):
-- (occurred_at, lowest stage index the event matches, event_id) -> pos 1, 2, ...
-- [[flags]]: the stage match expressions "... AS m1, ..., ... AS mK". person_no is the person's
-- dense integer id (cheap to sort and join on). [[events]]: fct_events, or the events of the
-- persons whose stored chains are being refreshed (marts: funnel_chains.py).
SELECT
    person_no,
    occurred_at,
    [[stage_columns]],
    row_number() OVER (
        PARTITION BY person_no ORDER BY occurred_at, [[lowest_stage]], event_id, source
    ) AS pos
FROM (
    SELECT person_no, event_id, source, occurred_at, [[flags]]
    FROM [[events]]
    WHERE occurred_at <= $as_of AND occurred_at >= $from_at
)
WHERE [[any_stage]]
