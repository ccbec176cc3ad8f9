-- Revenue per period and group (CONTRACT §10 revenue). grain: group x period.
-- A period has a row for a group when a person of the group was active in it or ordered in it.
-- The orders snippet: sql/intermediate/int_orders.sql (orders with their period and `included` flag).
-- Parameters: as_of, tz, period, currency. Groups and --where come from the TEMP view
-- `population`. Money is summed as DECIMAL so the sums do not depend on the order of addition.
WITH orders AS MATERIALIZED ([[orders]]),
person_orders AS (
    -- included orders per person and period, and the person's orders from the first one up to
    -- the end of the period (repeat buyers)
    SELECT
        person_id,
        period_start,
        count(*) AS orders,
        sum(revenue) AS revenue,
        sum(count(*)) OVER (PARTITION BY person_id ORDER BY period_start) AS orders_to_date
    FROM orders
    WHERE included
    GROUP BY person_id, period_start
),
person_excluded AS (
    SELECT person_id, period_start, count(*) AS excluded_orders
    FROM orders
    WHERE NOT included
    GROUP BY person_id, period_start
),
person_active AS (
    SELECT DISTINCT person_id, jm_period_start(occurred_at, $tz, $period) AS period_start
    FROM fct_events
    WHERE occurred_at <= $as_of AND jm_is_activity(event_name)
),
person_periods AS (
    SELECT
        person_id,
        period_start,
        a.person_id IS NOT NULL AS active,
        coalesce(o.orders, 0) AS orders,
        coalesce(o.revenue, 0) AS revenue,
        coalesce(o.orders_to_date, 0) AS orders_to_date,
        coalesce(x.excluded_orders, 0) AS excluded_orders
    FROM person_active AS a
    FULL JOIN person_orders AS o USING (person_id, period_start)
    FULL JOIN person_excluded AS x USING (person_id, period_start)
)
SELECT
    p.group_name,
    strftime(pp.period_start, '%Y-%m-%d') AS period,
    sum(pp.orders)::BIGINT AS orders,
    sum(pp.revenue)::DOUBLE AS revenue,
    count(*) FILTER (WHERE pp.orders > 0) AS buyers,
    count(*) FILTER (WHERE pp.active) AS active_persons,
    count(*) FILTER (WHERE pp.orders > 0 AND pp.orders_to_date >= 2) AS repeat_buyers,
    sum(pp.excluded_orders)::BIGINT AS excluded_orders
FROM person_periods AS pp
JOIN population AS p USING (person_id)
GROUP BY p.group_name, pp.period_start
ORDER BY p.group_name <> 'all', p.group_name, period
