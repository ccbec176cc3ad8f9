-- Journey map emotion line: NPS answers by the stage the person had reached when answering
-- (the highest stage matched by any of their events strictly before the answer). grain: stage.
-- [[highest_stage]] is the highest stage index an event matches (NULL for none).
WITH stage_events AS (
    SELECT person_no, occurred_at, highest
    FROM (SELECT person_no, occurred_at, [[highest_stage]] AS highest
          FROM fct_events WHERE occurred_at <= $as_of)
    WHERE highest IS NOT NULL
),
answers AS MATERIALIZED (
    SELECT row_number() OVER () AS answer_no, person_no, occurred_at,
           TRY_CAST(json_extract_string(properties, '$.score') AS INTEGER) AS score
    FROM fct_events
    WHERE event_name = 'nps_response' AND occurred_at <= $as_of
),
reached AS (
    -- per answer, the highest stage matched by any of the person's events strictly before it
    -- (answers before any stage event have no row). Answers are few: each is joined to its own
    -- person's stage events only, not a running maximum over every event.
    SELECT a.answer_no, max(s.highest) AS reached
    FROM answers AS a
    JOIN stage_events AS s ON s.person_no = a.person_no AND s.occurred_at < a.occurred_at
    GROUP BY a.answer_no
)
SELECT
    p.reached AS step,
    count(*) AS respondents,
    avg(a.score) AS mean_score,
    count(*) FILTER (WHERE a.score >= 9) AS promoters,
    count(*) FILTER (WHERE a.score <= 6) AS detractors
FROM answers AS a
JOIN reached AS p USING (answer_no)
GROUP BY p.reached
ORDER BY step
