-- exclusion_events, the Spark variant (CONTRACT §12; meaning, snippets and parameters as
-- exclusion_events.sql): the same columns in the same order, without `* EXCLUDE`.
exclusion_events AS MATERIALIZED (
    SELECT *
    FROM (
        SELECT person_no, occurred_at, [[flags]]
        FROM fct_events
        WHERE occurred_at <= $as_of
    ) AS flagged
    WHERE [[any_rule]]
)
