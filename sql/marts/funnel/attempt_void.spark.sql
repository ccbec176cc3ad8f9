-- attempt_void, the Spark variant (CONTRACT §12; meaning, snippets and parameters as
-- attempt_void.sql): the ASOF join "first rule-[[r]] exclusion event strictly after step [[i]]" in
-- its portable window form. Step-[[i]] times and exclusion events in one time order, latest
-- first (at an equal time the step first: the join is strict), the earliest event time among the
-- rows up to this one (the later ones: a frame from UNBOUNDED PRECEDING grows, where Spark
-- recomputes one that ends at UNBOUNDED FOLLOWING for every row), then an equi-join back on
-- (person, step-[[i]] time).
void_[[r]] AS MATERIALIZED (
    SELECT a.*,
        coalesce(CASE WHEN a.t_[[j]] IS NOT NULL THEN x.next_at < a.t_[[j]]
                      ELSE x.next_at <= a.start_at + $window END, false) AS void_[[r]]
    FROM [[previous]] AS a
    LEFT JOIN (
        SELECT person_no, moment AS t_i, next_at
        FROM (
            SELECT person_no, moment, is_step,
                   min(CASE WHEN NOT is_step THEN moment END) OVER (
                       PARTITION BY person_no ORDER BY moment DESC, is_step DESC
                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS next_at
            FROM (
                SELECT DISTINCT person_no, t_[[i]] AS moment, true AS is_step
                FROM [[previous]] WHERE t_[[i]] IS NOT NULL
                UNION ALL
                SELECT person_no, occurred_at AS moment, false AS is_step
                FROM exclusion_events WHERE x[[r]]
            ) AS both_kinds
        ) AS ordered_kinds
        WHERE is_step
    ) AS x ON x.person_no = a.person_no AND x.t_i = a.t_[[i]]
)
