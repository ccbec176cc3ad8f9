-- step_k, the Spark variant (CONTRACT §12; meaning, snippets and parameters as step_k.sql): the
-- ASOF join "first stage-[[k]] event after pos_[[prev]]" in its portable window form. For every
-- stage event, the position of the next event matching stage [[k]] (a window over the following
-- rows); then equi-joins: the row at pos_[[prev]], and the event at its next position.
chain_[[k]] AS (
    SELECT c.*, s.pos AS pos_[[k]], s.occurred_at AS t_[[k]]
    FROM chain_[[prev]] AS c
    LEFT JOIN (
        SELECT person_no, pos,
               min(CASE WHEN m[[k]] THEN pos END) OVER (
                   PARTITION BY person_no ORDER BY pos
                   ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_pos
        FROM stage_events
    ) AS here ON here.person_no = c.person_no AND here.pos = c.pos_[[prev]]
    LEFT JOIN stage_events AS s ON s.person_no = c.person_no AND s.pos = here.next_pos
)
