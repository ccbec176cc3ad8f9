-- --trend by time, step [[k]] of every attempt (attempt_k.sql with disjoint stages): the first
-- stage-[[k]] event at or after the attempt's step [[prev]] (in funnel order it comes after it)
-- fills the step when it lies at most the window after the start (inclusive); otherwise the
-- attempt stops at [[prev]] (t_last becomes NULL, so no later step matches). Only the attempts
-- still going are carried (at 1M, 163k, 44k and 18k of 239k at steps 3-5); a stopped one keeps
-- its level in attempt_[[prev]], which `chosen` reads too (funnel.py). The filter shrinks
-- DuckDB's row estimate of the join's left side; with its default asof_loop_join_threshold
-- (64) it would then plan the join as a nested loop, so every connection sets it to 0 (db.py).
-- grain: attempt. Parameters: window_us.
attempt_[[k]] AS MATERIALIZED (
    SELECT a.person_no, a.period, a.start_at,
        CASE WHEN jm_within(s.occurred_at, a.start_at, $window_us) THEN s.occurred_at END AS t_last,
        a.level + CASE WHEN jm_within(s.occurred_at, a.start_at, $window_us) THEN 1 ELSE 0 END AS level
    FROM (SELECT * FROM attempt_[[prev]] WHERE t_last IS NOT NULL) AS a
    ASOF LEFT JOIN (SELECT person_no, occurred_at FROM stage_events WHERE m[[k]]) AS s
        ON a.person_no = s.person_no AND a.t_last <= s.occurred_at
)
