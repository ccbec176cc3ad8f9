-- Journey map emotion line: NPS answers by the stage the person had reached when answering
-- (the highest stage matched by any of their events strictly before the answer). grain: stage.
-- [[highest_stage]] is the highest stage index an event matches (NULL for none).
WITH stage_events AS (
    SELECT person_id, occurred_at, max([[highest_stage]]) AS highest
    FROM fct_events
    WHERE occurred_at <= $as_of AND [[highest_stage]] IS NOT NULL
    GROUP BY person_id, occurred_at
),
progress AS (
    -- one row per person and instant: the highest stage reached up to then
    SELECT person_id, occurred_at,
           max(highest) OVER (PARTITION BY person_id ORDER BY occurred_at) AS reached
    FROM stage_events
),
answers AS (
    SELECT person_id, occurred_at,
           TRY_CAST(json_extract_string(properties, '$.score') AS INTEGER) AS score
    FROM fct_events
    WHERE event_name = 'nps_response' AND occurred_at <= $as_of
)
SELECT
    p.reached AS step,
    count(*) AS respondents,
    avg(a.score) AS mean_score,
    count(*) FILTER (WHERE a.score >= 9) AS promoters,
    count(*) FILTER (WHERE a.score <= 6) AS detractors
FROM answers AS a
ASOF JOIN progress AS p
    ON a.person_id = p.person_id AND a.occurred_at > p.occurred_at
GROUP BY p.reached
ORDER BY step
