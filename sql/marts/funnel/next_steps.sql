-- For every stage event: the position of the next event (strictly after it) matching each
-- stage k >= 2. Used to replay the greedy chain of one chosen attempt per person.
SELECT
    person_id,
    pos,
    occurred_at,
    [[next_columns]]
FROM stage_events
WINDOW following_events AS (
    PARTITION BY person_id ORDER BY pos ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING
)
