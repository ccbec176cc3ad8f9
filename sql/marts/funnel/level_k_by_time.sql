-- Level [[k]] by time (level_k.sql with disjoint stages: stage_events_by_time.sql). A stage-[[k]]
-- event continues the latest-starting attempt that reached stage [[prev]] at an event at or
-- before its instant (at the same instant the stage-[[prev]] event comes first in funnel order,
-- and is a different event), if it lies within that attempt's window (inclusive). Rows of level
-- [[prev]] at one instant carry the same start, so which of them the join finds does not matter.
level_[[k]] AS MATERIALIZED (
    SELECT e.person_no, e.occurred_at, b.start_at
    FROM (SELECT person_no, occurred_at FROM stage_events WHERE m[[k]]) AS e
    ASOF JOIN level_[[prev]] AS b ON e.person_no = b.person_no AND e.occurred_at >= b.occurred_at
    WHERE jm_within(e.occurred_at, b.start_at, $window_us)
)
