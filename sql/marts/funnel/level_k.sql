-- Level [[k]]. For the attempts that reached stage [[prev]], keep a running maximum of their start
-- over each person's events in funnel order (the latest start leaves the most window). An event
-- matching stage [[k]] continues the latest attempt that reached stage [[prev]] strictly before it
-- (one event fills one step), if it lies within that attempt's window (inclusive). A person
-- reaches stage [[k]] exactly when one of their events does: this is the greedy chain of
-- CONTRACT §4, computed with one small window and one ASOF join per level.
level_[[prev]]_best AS (
    SELECT
        person_no,
        pos,
        max(start_pos) OVER earlier AS best_pos,
        max(start_at) OVER earlier AS best_at
    FROM level_[[prev]]
    WINDOW earlier AS (PARTITION BY person_no ORDER BY pos ROWS UNBOUNDED PRECEDING)
),
level_[[k]] AS MATERIALIZED (
    SELECT e.person_no, e.pos, b.best_pos AS start_pos, b.best_at AS start_at
    FROM (SELECT person_no, pos, occurred_at FROM stage_events WHERE m[[k]]) AS e
    ASOF JOIN level_[[prev]]_best AS b ON e.person_no = b.person_no AND e.pos > b.pos
    WHERE e.occurred_at <= b.best_at + $window
)
