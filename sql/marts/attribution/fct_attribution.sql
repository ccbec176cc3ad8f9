-- Attribution (CONTRACT §9): every conversion's credit spread over the touches on its path, under
-- every model in one pass.
-- Grain: one row per (model, group). `conversions` is the sum of credit, `revenue` the sum of
-- credit x value; both are summed as exact decimals (credit and money to 12 places) so that the
-- result, and the order of the rows, does not depend on the order DuckDB adds doubles in; the
-- output has 9 places (no 0.30000000000000004 in JSON), rounded so that they add up.
-- A group gets a row under every model as soon as it is on any path (0 credit included), so the
-- models compare side by side. `total_conversions` / `total_revenue` repeat the totals on every
-- row (the caller checks that additive models add up to them).
-- Parameters: as_of, from_at, to_at (the conversion's time must lie in [from_at, to_at) and at or
-- before as_of), lookback (INTERVAL), half_life_seconds (DOUBLE), exposure (BOOLEAN: merge
-- consecutive touches of one group), models (the requested model names, in output order),
-- currency (NULL: every conversion's revenue as written; else only conversions in that currency
-- or naming none carry their revenue, the others count with value 0, as int_orders.sql reads it).
-- Snippets: conversion_match (a boolean over fct_events), group_column (channel | campaign),
-- population_filter (with --where: only the conversions of persons in the TEMP view population).
-- Touches: web sessions (start, channel, id and campaign of the session's first event) and
-- email_click events (channel email). A path is ordered by (time, id, kind).
WITH conversions AS MATERIALIZED (
    SELECT
        row_number() OVER (ORDER BY occurred_at, source, event_id) AS conversion_no,
        person_id,
        occurred_at AS converted_at,
        CASE WHEN $currency IS NULL OR coalesce(nullif(jm_upper_ascii(jm_trim(json_extract_string(
                      properties, '$.currency'))), '') = $currency, true)
             THEN coalesce(jm_money(revenue), 0) ELSE 0 END::DOUBLE AS value
    FROM fct_events
    WHERE ([[ conversion_match ]])
      AND occurred_at >= $from_at AND occurred_at < $to_at AND occurred_at <= $as_of
      [[ population_filter ]]
),
converters AS (
    SELECT DISTINCT person_id FROM conversions
),
-- Sessions as the sessions view cuts them (CONTRACT §2: gaps of at most 30 minutes, in
-- (occurred_at, event_id) order), but only their first events, for the converters only: a
-- session's touch is its first event (start, id, channel, campaign). Reading the view and
-- joining its first events back costs three times as much; tests check both agree.
web_events AS (
    SELECT
        person_id, event_id, occurred_at, channel, campaign,
        lag(occurred_at) OVER (PARTITION BY person_id ORDER BY occurred_at, event_id)
            AS previous_at
    FROM fct_events
    WHERE source = 'web' AND person_id IN (SELECT person_id FROM converters)
),
session_touches AS (
    SELECT person_id, occurred_at AS touched_at, event_id AS touch_id, 0 AS kind,
           coalesce(channel, '(none)') AS channel, campaign
    FROM web_events
    WHERE previous_at IS NULL OR occurred_at > previous_at + INTERVAL 30 MINUTE
),
email_touches AS (
    SELECT person_id, occurred_at AS touched_at, event_id AS touch_id, 1 AS kind,
           'email' AS channel, campaign
    FROM fct_events
    WHERE event_name = 'email_click' AND person_id IN (SELECT person_id FROM converters)
),
touches AS (
    SELECT * FROM session_touches
    UNION ALL
    SELECT * FROM email_touches
),
paths AS (
    SELECT
        c.conversion_no, c.value, t.touched_at, t.touch_id, t.kind, t.channel,
        coalesce(t.[[ group_column ]], '(none)') AS group_name
    FROM conversions AS c
    JOIN touches AS t
      ON t.person_id = c.person_id
     AND t.touched_at >= c.converted_at - $lookback
     AND t.touched_at <= c.converted_at
),
-- exposure: a touch whose previous touch on the path has the same group merges into it
exposed AS (
    SELECT *
    FROM paths
    QUALIFY NOT $exposure
         OR group_name IS DISTINCT FROM lag(group_name) OVER (
                PARTITION BY conversion_no ORDER BY touched_at, touch_id, kind)
),
numbered AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY conversion_no ORDER BY touched_at, touch_id, kind) AS pos,
        count(*) OVER (PARTITION BY conversion_no) AS n,
        max(touched_at) OVER (PARTITION BY conversion_no) AS last_touched_at
    FROM exposed
),
weighted AS (
    SELECT
        *,
        max(CASE WHEN channel <> 'direct' THEN pos END)
            OVER (PARTITION BY conversion_no) AS last_non_direct_pos,
        -- 2^(-(conversion - touch)/half-life) up to a factor common to the path: measured from
        -- the path's latest touch, so the largest weight is 1 and none underflows to 0 alone
        pow(2.0, -epoch(last_touched_at - touched_at) / $half_life_seconds) AS decay_weight
    FROM numbered
),
credits AS (
    SELECT
        conversion_no,
        value,
        group_name,
        CASE WHEN pos = 1 THEN 1.0 ELSE 0.0 END AS c_first,
        CASE WHEN pos = n THEN 1.0 ELSE 0.0 END AS c_last,
        CASE WHEN pos = coalesce(last_non_direct_pos, n) THEN 1.0 ELSE 0.0 END
            AS c_last_non_direct,
        1.0 / n AS c_linear,
        CASE
            WHEN n = 1 THEN 1.0
            WHEN n = 2 THEN 0.5
            WHEN pos = 1 OR pos = n THEN 0.4
            ELSE 0.2 / (n - 2)
        END AS c_position,
        decay_weight / sum(decay_weight) OVER (PARTITION BY conversion_no) AS c_time_decay
    FROM weighted
    UNION ALL
    -- a conversion without a touch: all credit to (none)
    SELECT conversion_no, value, '(none)', 1.0, 1.0, 1.0, 1.0, 1.0, 1.0
    FROM conversions
    WHERE conversion_no NOT IN (SELECT conversion_no FROM paths)
),
-- one row per model: a join with the model names (portable; Spark, CONTRACT §12, has no
-- parallel unnest of two lists in one SELECT)
additive AS (
    SELECT
        c.conversion_no,
        c.value,
        c.group_name,
        m.model,
        CASE m.model
            WHEN 'first' THEN c.c_first
            WHEN 'last' THEN c.c_last
            WHEN 'last_non_direct' THEN c.c_last_non_direct
            WHEN 'linear' THEN c.c_linear
            WHEN 'position' THEN c.c_position
            ELSE c.c_time_decay
        END AS credit
    FROM credits AS c
    CROSS JOIN (VALUES ('first'), ('last'), ('last_non_direct'), ('linear'), ('position'),
                       ('time_decay')) AS m(model)
),
-- participation: 1 to each distinct group on the path (not additive)
participation AS (
    SELECT DISTINCT conversion_no, value, group_name, 'participation' AS model, 1.0 AS credit
    FROM credits
),
credited AS (
    SELECT * FROM additive
    UNION ALL
    SELECT * FROM participation
),
totals AS (
    SELECT count(*) AS total_conversions,
           coalesce(sum(value::VARCHAR::DECIMAL(38, 12)), 0) AS total_revenue
    FROM conversions
),
grouped AS (
    SELECT
        model,
        group_name,
        sum(credit::DECIMAL(38, 12)) AS conversions,
        sum((credit * value)::VARCHAR::DECIMAL(38, 12)) AS revenue
    FROM credited
    WHERE list_contains($models, model)
    GROUP BY model, group_name
),
-- Printed numbers have 9 places, and an additive model's must add up to its totals (CONTRACT
-- §9). Per model and measure (conversions, revenue): each group's sum is rounded, and the
-- billionths the rounded sums miss of the total (the shortfall; negative when they
-- overshoot) go one each to the groups that rounding cut most (raised most), ties by group:
-- largest remainder. Exact sums of many doubles drift by about a billionth per 2,000 credits,
-- so a shortfall of at least as many units as there are groups is first spread in proportion
-- to the groups' sums. A group whose sum is 0 never takes a unit.
measures AS (
    SELECT g.model, g.group_name, 'conversions' AS measure, g.conversions AS exact,
           t.total_conversions AS total
    FROM grouped AS g CROSS JOIN totals AS t
    UNION ALL
    SELECT g.model, g.group_name, 'revenue', g.revenue, round(t.total_revenue, 9)
    FROM grouped AS g CROSS JOIN totals AS t
),
rounded AS (
    SELECT
        *,
        -- DECIMAL(36, 9) and (36, 12): where Spark keeps every place of a sum of two
        CAST(round(exact, 9) AS DECIMAL(36, 9)) AS rounded,
        CAST(exact AS DECIMAL(36, 12)) - CAST(round(exact, 9) AS DECIMAL(36, 12)) AS cut,
        CASE WHEN exact <> 0 THEN 1 ELSE 0 END AS takes
    FROM measures
),
short AS (
    SELECT
        *,
        sum(takes) OVER (PARTITION BY model, measure) AS groups,
        CAST(abs(exact) AS DOUBLE) / nullif(CAST(sum(abs(exact))
            OVER (PARTITION BY model, measure) AS DOUBLE), 0) AS weight,
        CASE WHEN model = 'participation' THEN 0
             ELSE CAST((CAST(total AS DECIMAL(36, 9)) - CAST(sum(rounded)
                        OVER (PARTITION BY model, measure) AS DECIMAL(36, 9))) * 1000000000
                       AS BIGINT)
        END AS shortfall
    FROM rounded
),
spread AS (
    SELECT
        *,
        CASE WHEN takes = 0 OR abs(shortfall) < groups THEN 0
             ELSE CAST(floor(abs(shortfall) * weight) AS BIGINT) END AS spread_units
    FROM short
),
ranked AS (
    SELECT
        *,
        abs(shortfall) - sum(spread_units) OVER (PARTITION BY model, measure) AS rest,
        row_number() OVER (
            PARTITION BY model, measure
            ORDER BY takes DESC, CASE WHEN shortfall < 0 THEN -cut ELSE cut END DESC,
                     group_name) AS rank
    FROM spread
),
adjusted AS (
    SELECT
        model,
        group_name,
        measure,
        rounded + 0.000000001 * CAST(
            (CASE WHEN shortfall < 0 THEN -1 ELSE 1 END)
            * (spread_units + CASE WHEN takes = 1 AND rank <= rest THEN 1 ELSE 0 END)
            AS BIGINT) AS printed
    FROM ranked
),
printed AS (
    SELECT
        model,
        group_name,
        max(CASE WHEN measure = 'conversions' THEN printed END) AS conversions,
        max(CASE WHEN measure = 'revenue' THEN printed END) AS revenue
    FROM adjusted
    GROUP BY model, group_name
)
SELECT
    p.model,
    p.group_name,
    p.conversions::DOUBLE AS conversions,
    p.revenue::DOUBLE AS revenue,
    t.total_conversions,
    t.total_revenue::DOUBLE AS total_revenue
FROM printed AS p
CROSS JOIN totals AS t
-- order on the printed credit: equal printed numbers go by group
ORDER BY list_position($models, p.model), p.conversions DESC, p.group_name
