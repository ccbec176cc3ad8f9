-- Exact engine (CONTRACT §7), step 1: one attempt per stage-1 event with time in [from, to).
-- grain: attempt (person_no, start_pos). Parameters: from_at, to_at.
attempt_1 AS MATERIALIZED (
    SELECT person_no, pos AS start_pos, occurred_at AS start_at, pos AS pos_1, occurred_at AS t_1
    FROM stage_events
    WHERE m1 AND occurred_at >= $from_at AND occurred_at < $to_at
)
