-- Step [[k]] by time (step_k.sql with disjoint stages: stage_events_by_time.sql): the first
-- stage-[[k]] event at or after step [[prev]]'s instant (in funnel order it comes after it).
chain_[[k]] AS (
    SELECT c.*, s.occurred_at AS t_[[k]]
    FROM chain_[[prev]] AS c
    ASOF LEFT JOIN (SELECT person_no, occurred_at FROM stage_events WHERE m[[k]]) AS s
        ON c.person_no = s.person_no AND c.t_[[prev]] <= s.occurred_at
)
