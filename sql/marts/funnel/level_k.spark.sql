-- level_k, the Spark variant (CONTRACT §12; meaning, snippets and parameters as level_k.sql): the
-- ASOF join "each stage-[[k]] event with the latest level-[[prev]] row before it" in its portable
-- window form. Level rows and stage-[[k]] events in one position order (at an equal position the
-- event first: the join is strict), the latest level position among the preceding rows, then an
-- equi-join to that level row (one per person and position).
level_[[k]] AS MATERIALIZED (
    SELECT e.person_no, e.pos, b.start_pos, b.start_at
    FROM (
        SELECT person_no, pos, occurred_at, is_event,
               max(CASE WHEN NOT is_event THEN pos END) OVER (
                   PARTITION BY person_no ORDER BY pos, is_event DESC
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS level_pos
        FROM (
            SELECT person_no, pos, occurred_at, true AS is_event
            FROM stage_events WHERE m[[k]]
            UNION ALL
            SELECT person_no, pos, NULL AS occurred_at, false AS is_event
            FROM level_[[prev]]
        ) AS both_kinds
    ) AS e
    JOIN level_[[prev]] AS b ON b.person_no = e.person_no AND b.pos = e.level_pos
    WHERE e.is_event AND e.occurred_at <= b.start_at + $window
)
