-- Spark only (CONTRACT §12; step_tail_k.spark.sql): the chosen attempt's steps 2..n, read at
-- its first step (pos_1, a stage-1 event) from tail_2, in one join where DuckDB makes one per
-- step (step_k.sql).
chain_[[last]] AS (
    SELECT c.*, [[steps]]
    FROM chain_1 AS c
    LEFT JOIN (SELECT * FROM tail_2 WHERE m1) AS t ON t.person_no = c.person_no AND t.pos = c.pos_1
)
