-- NPS per period and group (CONTRACT §4 NPS). grain: group x period.
-- Each person's latest nps_response in the period counts once (ties: the larger event id).
-- Parameters: $as_of, $tz, $period. [[group_name]] / [[grouping]] add channel groups.
WITH answers AS (
    SELECT
        e.person_id,
        jm_period_start(e.occurred_at, $tz, $period) AS period_start,
        TRY_CAST(json_extract_string(e.properties, '$.score') AS INTEGER) AS score
    FROM fct_events AS e
    WHERE e.event_name = 'nps_response' AND e.occurred_at <= $as_of
    QUALIFY row_number() OVER (
        PARTITION BY e.person_id, jm_period_start(e.occurred_at, $tz, $period)
        ORDER BY e.occurred_at DESC, e.event_id DESC
    ) = 1
)
SELECT
    [[group_name]] AS group_name,
    strftime(a.period_start, '%Y-%m-%d') AS period,
    count(*) AS respondents,
    count(*) FILTER (WHERE a.score >= 9) AS promoters,
    count(*) FILTER (WHERE a.score BETWEEN 7 AND 8) AS passives,
    count(*) FILTER (WHERE a.score <= 6) AS detractors
FROM answers AS a
JOIN persons AS p USING (person_id)
WHERE a.score BETWEEN 0 AND 10
GROUP BY [[grouping]]
ORDER BY group_name <> 'all', group_name, period
