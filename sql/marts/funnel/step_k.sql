-- Step [[k]] of each person's chosen attempt: the first event after step [[prev]] (in funnel order)
-- matching stage [[k]]; for persons whose level is at least [[k]] it lies within the window.
-- Only those persons are looked up: every reader of the chain reads t_k for k <= level only
-- (the others' pos_[[k]] and t_[[k]] are NULL). Materialized: the two branches read
-- chain_[[prev]] (inlined, each step would double the work of the steps before it).
chain_[[k]] AS MATERIALIZED (
    SELECT c.*, s.pos AS pos_[[k]], s.occurred_at AS t_[[k]]
    FROM (SELECT * FROM chain_[[prev]] WHERE level >= [[k]]) AS c
    ASOF LEFT JOIN (SELECT person_no, pos, occurred_at FROM stage_events WHERE m[[k]]) AS s
        ON c.person_no = s.person_no AND c.pos_[[prev]] < s.pos
    UNION ALL
    SELECT *, NULL::BIGINT, NULL::TIMESTAMPTZ FROM chain_[[prev]] WHERE level < [[k]]
)
