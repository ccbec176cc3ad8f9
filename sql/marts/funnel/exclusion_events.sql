-- Exact engine: each person's events up to as_of that match an exclusion rule of the framework.
-- grain: event. Parameters: as_of and the rules' values.
-- [[flags]]: "... AS x1, ..., ... AS xR" (one match expression per exclusion rule);
-- [[any_rule]]: "x1 OR ... OR xR".
exclusion_events AS MATERIALIZED (
    SELECT person_no, occurred_at, * EXCLUDE (person_no, occurred_at)
    FROM (
        SELECT person_no, occurred_at, [[flags]]
        FROM fct_events
        WHERE occurred_at <= $as_of
    )
    WHERE [[any_rule]]
)
