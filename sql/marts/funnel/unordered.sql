-- --order unordered (PostHog's unordered funnel, CONTRACT §4): an attempt starts at every
-- stage-matching event with time in [from, to). grain: attempt (person_no, start_pos).
-- Parameters: from_at, to_at.
unordered_0 AS MATERIALIZED (
    SELECT person_no, pos AS start_pos, occurred_at AS start_at
    FROM stage_events
    WHERE occurred_at >= $from_at AND occurred_at < $to_at
)
