-- Exact engine, step [[k]] of every attempt: the first event after the attempt's step [[prev]]
-- (in funnel order) matching stage [[k]]. It fills the step when it lies at most the window after
-- the start (inclusive) and, with `within` on the stage, at most that long after step [[prev]];
-- otherwise the attempt stops at [[prev]] (a later match would only be later still).
-- grain: attempt. Parameters: window_us, and within_[[k]]_us when the stage has one.
-- [[within]]: empty, or "AND jm_within(s.occurred_at, a.t_[[prev]], $within_[[k]]_us)".
attempt_[[k]] AS MATERIALIZED (
    SELECT a.*,
        CASE WHEN jm_within(s.occurred_at, a.start_at, $window_us) [[within]] THEN s.pos END AS pos_[[k]],
        CASE WHEN jm_within(s.occurred_at, a.start_at, $window_us) [[within]] THEN s.occurred_at END
            AS t_[[k]]
    FROM attempt_[[prev]] AS a
    ASOF LEFT JOIN (SELECT person_no, pos, occurred_at FROM stage_events WHERE m[[k]]) AS s
        ON a.person_no = s.person_no AND a.pos_[[prev]] < s.pos
)
