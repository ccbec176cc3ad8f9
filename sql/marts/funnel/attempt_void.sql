-- Exact engine, exclusion rule [[r]] (between steps [[i]] and [[j]]): the first event matching the
-- rule strictly after the attempt's step-[[i]] event voids the attempt when it is strictly before
-- the step-[[j]] event, or, for an attempt that never reached step [[j]], at or before the end
-- of its window (start + window). Attempts that never reached step [[i]] are not affected.
-- grain: attempt. Parameters: window_us.
void_[[r]] AS MATERIALIZED (
    SELECT a.*,
        coalesce(CASE WHEN a.t_[[j]] IS NOT NULL THEN x.occurred_at < a.t_[[j]]
                      ELSE jm_within(x.occurred_at, a.start_at, $window_us) END, false) AS void_[[r]]
    FROM [[previous]] AS a
    ASOF LEFT JOIN (SELECT person_no, occurred_at FROM exclusion_events WHERE x[[r]]) AS x
        ON a.person_no = x.person_no AND a.t_[[i]] < x.occurred_at
)
