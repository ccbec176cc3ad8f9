-- Step [[k]] of each person's chosen attempt: the first event after step [[prev]] (in funnel order)
-- matching stage [[k]]; for persons whose level is at least [[k]] it lies within the window.
chain_[[k]] AS (
    SELECT c.*, s.pos AS pos_[[k]], s.occurred_at AS t_[[k]]
    FROM chain_[[prev]] AS c
    ASOF LEFT JOIN (SELECT person_no, pos, occurred_at FROM stage_events WHERE m[[k]]) AS s
        ON c.person_no = s.person_no AND c.pos_[[prev]] < s.pos
)
