-- Level [[k]]. An event matching stage [[k]] continues the latest-starting attempt that reached
-- stage [[prev]] at an earlier event (strictly before it: one event fills one step), if it lies
-- within that attempt's window (inclusive). The latest start leaves the most window, so a person
-- reaches stage [[k]] exactly when one of their events does: this is the greedy chain of
-- CONTRACT §4, one ASOF join per level.
-- Why the nearest earlier row is the latest start: level 1 starts are the events' own times,
-- which grow with pos; each level inherits the start of its nearest earlier predecessor, so by
-- induction start_at (and start_pos) never decrease along a person's rows at any level, and the
-- nearest earlier row carries the running maximum.
level_[[k]] AS MATERIALIZED (
    SELECT e.person_no, e.pos, b.start_pos, b.start_at
    FROM (SELECT person_no, pos, occurred_at FROM stage_events WHERE m[[k]]) AS e
    ASOF JOIN level_[[prev]] AS b ON e.person_no = b.person_no AND e.pos > b.pos
    WHERE jm_within(e.occurred_at, b.start_at, $window_us)
)
