-- --trend by time (disjoint stages: stage_events_by_time.sql), step 1: one attempt per stage-1
-- event with time in [from, to). t_last: the time of the attempt's last step; level: its steps.
-- grain: attempt. Parameters: from_at, to_at.
attempt_1 AS MATERIALIZED (
    SELECT person_no, occurred_at AS start_at, occurred_at AS t_last, 1 AS level
    FROM stage_events
    WHERE m1 AND occurred_at >= $from_at AND occurred_at < $to_at
)
