-- Step [[k]] by time on Spark: step_k_by_time.sql for every person (Spark computes each
-- MATERIALIZED CTE as a job of its own, which costs more there than the persons it saves).
chain_[[k]] AS (
    SELECT c.*, s.occurred_at AS t_[[k]]
    FROM chain_[[prev]] AS c
    ASOF LEFT JOIN (SELECT person_no, occurred_at FROM stage_events WHERE m[[k]]) AS s
        ON c.person_no = s.person_no AND c.t_[[prev]] <= s.occurred_at
)
