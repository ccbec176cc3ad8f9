-- attempt_k, the Spark variant (CONTRACT §12; meaning and snippets as attempt_k.sql, but the
-- window as $window, an interval, where attempt_k.sql takes $window_us): the ASOF join "first stage-[[k]] event after the attempt's step [[prev]]" in its
-- portable window form (the next stage-[[k]] position after each stage event, then equi-joins).
-- The later rows are the preceding ones in descending order: Spark recomputes a frame that ends
-- at UNBOUNDED FOLLOWING for every row, and grows one that starts at UNBOUNDED PRECEDING.
attempt_[[k]] AS MATERIALIZED (
    SELECT a.*,
        CASE WHEN s.occurred_at <= a.start_at + $window [[within]] THEN s.pos END AS pos_[[k]],
        CASE WHEN s.occurred_at <= a.start_at + $window [[within]] THEN s.occurred_at END
            AS t_[[k]]
    FROM attempt_[[prev]] AS a
    LEFT JOIN (
        SELECT person_no, pos,
               min(CASE WHEN m[[k]] THEN pos END) OVER (
                   PARTITION BY person_no ORDER BY pos DESC
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS next_pos
        FROM stage_events
    ) AS here ON here.person_no = a.person_no AND here.pos = a.pos_[[prev]]
    LEFT JOIN stage_events AS s ON s.person_no = a.person_no AND s.pos = here.next_pos
)
