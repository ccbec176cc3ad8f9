-- Each person's stage-matching events from --from up to as_of (as stage_events.sql), for
-- frameworks whose stages are disjoint (no event can match two stages: funnel.stages_disjoint).
-- The funnel order (occurred_at, lowest stage, event_id) then never needs its tie-breaks to
-- decide a step: an event of stage k and one of stage k-1 at the same instant are ordered by
-- their stages, and events of one stage at the same instant are interchangeable. So the steps
-- are found by time alone (level_k_by_time.sql, step_k_by_time.sql) and no per-person numbering
-- (a sort of every stage event) is needed.
-- [[flags]]: the stage match expressions "... AS m1, ..., ... AS mK"; [[events]]: fct_events.
SELECT person_no, occurred_at, [[stage_columns]]
FROM (
    SELECT person_no, occurred_at, [[flags]]
    FROM [[events]]
    WHERE occurred_at <= $as_of AND occurred_at >= $from_at
)
WHERE [[any_stage]]
