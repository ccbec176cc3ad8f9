-- Journey map feelings and its emotion line (issue 11 item 6, issue 14): NPS, CSAT and CES
-- answers by the stage the person had reached when answering (the highest stage matched by any
-- of their events strictly before the answer; answers given before any stage do not count).
-- Every answer counts (not only the latest), each survey on its own scale; out-of-range scores
-- do not count (staging quarantines them: CONTRACT §1). grain: stage.
-- [[highest_stage]] is the highest stage index an event matches.
-- Parameters: as_of and the stage rule values.
WITH stage_events AS (
    SELECT person_no, occurred_at, highest
    FROM (SELECT person_no, occurred_at, [[highest_stage]] AS highest
          FROM fct_events WHERE occurred_at <= $as_of)
    WHERE highest IS NOT NULL
),
answers AS MATERIALIZED (
    SELECT row_number() OVER () AS answer_no, person_no, occurred_at, event_name,
           TRY_CAST(json_extract_string(properties, '$.score') AS INTEGER) AS score
    FROM fct_events
    WHERE event_name IN ('nps_response', 'csat_response', 'ces_response')
      AND occurred_at <= $as_of
),
valid AS (
    SELECT *
    FROM answers
    WHERE (event_name = 'nps_response' AND score BETWEEN 0 AND 10)
       OR (event_name = 'csat_response' AND score BETWEEN 1 AND 5)
       OR (event_name = 'ces_response' AND score BETWEEN 1 AND 7)
),
reached AS (
    -- per answer, the highest stage matched by any of the person's events strictly before it
    -- (answers before any stage event have no row). Answers are few: each is joined to its own
    -- person's stage events only, not a running maximum over every event.
    SELECT a.answer_no, max(s.highest) AS reached
    FROM valid AS a
    JOIN stage_events AS s ON s.person_no = a.person_no AND s.occurred_at < a.occurred_at
    GROUP BY a.answer_no
)
SELECT
    p.reached AS step,
    count(*) FILTER (WHERE a.event_name = 'nps_response') AS nps_respondents,
    count(*) FILTER (WHERE a.event_name = 'nps_response' AND a.score >= 9) AS nps_promoters,
    count(*) FILTER (WHERE a.event_name = 'nps_response' AND a.score <= 6) AS nps_detractors,
    count(*) FILTER (WHERE a.event_name = 'csat_response') AS csat_respondents,
    count(*) FILTER (WHERE a.event_name = 'csat_response' AND a.score >= 4) AS csat_satisfied,
    count(*) FILTER (WHERE a.event_name = 'ces_response') AS ces_respondents,
    coalesce(sum(a.score) FILTER (WHERE a.event_name = 'nps_response'), 0)::BIGINT AS nps_total,
    coalesce(sum(a.score) FILTER (WHERE a.event_name = 'ces_response'), 0)::BIGINT AS ces_total
FROM valid AS a
JOIN reached AS p USING (answer_no)
GROUP BY p.reached
ORDER BY step
