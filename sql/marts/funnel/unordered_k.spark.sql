-- unordered_k, the Spark variant (CONTRACT §12; meaning, snippets and parameters as
-- unordered_k.sql): the ASOF join "first stage-[[k]] event at or after the attempt's start" in its
-- portable window form. Starts and stage-[[k]] events in one time order, latest first (at an
-- equal time the event first: the join includes equal times), the earliest event time among the
-- rows up to this one (the later ones: a frame from UNBOUNDED PRECEDING grows, where Spark
-- recomputes one that ends at UNBOUNDED FOLLOWING for every row), then an equi-join back on
-- (person, start).
unordered_[[k]] AS MATERIALIZED (
    SELECT a.*, coalesce(n.next_at <= a.start_at + $window, false) AS h[[k]]
    FROM unordered_[[prev]] AS a
    LEFT JOIN (
        SELECT person_no, moment AS start_at, next_at
        FROM (
            SELECT person_no, moment, is_event,
                   min(CASE WHEN is_event THEN moment END) OVER (
                       PARTITION BY person_no ORDER BY moment DESC, is_event DESC
                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS next_at
            FROM (
                SELECT DISTINCT person_no, start_at AS moment, false AS is_event
                FROM unordered_[[prev]]
                UNION ALL
                SELECT person_no, occurred_at AS moment, true AS is_event
                FROM stage_events WHERE m[[k]]
            ) AS both_kinds
        ) AS ordered_kinds
        WHERE NOT is_event
    ) AS n ON n.person_no = a.person_no AND n.start_at = a.start_at
)
