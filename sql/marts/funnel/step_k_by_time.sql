-- Step [[k]] by time (step_k.sql with disjoint stages: stage_events_by_time.sql): the first
-- stage-[[k]] event at or after step [[prev]]'s instant (in funnel order it comes after it).
-- Only persons whose level is at least [[k]] are looked up: every reader of the chain reads t_k
-- for k <= level only (the others' t_[[k]] is NULL), and the lookups of the rest cost ~15% of a
-- funnel's query. Materialized: the two branches read chain_[[prev]] (inlined, each step would
-- double the work of the steps before it).
chain_[[k]] AS MATERIALIZED (
    SELECT c.*, s.occurred_at AS t_[[k]]
    FROM (SELECT * FROM chain_[[prev]] WHERE level >= [[k]]) AS c
    ASOF LEFT JOIN (SELECT person_no, occurred_at FROM stage_events WHERE m[[k]]) AS s
        ON c.person_no = s.person_no AND c.t_[[prev]] <= s.occurred_at
    UNION ALL
    SELECT *, NULL::TIMESTAMPTZ FROM chain_[[prev]] WHERE level < [[k]]
)
