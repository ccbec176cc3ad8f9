-- int_orders: orders (CONTRACT §10: order_completed and deal_won events) at or before as_of.
-- grain: one order event. `revenue` is 0 when missing; `included` is false for an order whose
-- `properties.currency` names another currency than the reporting one (such orders are counted as
-- excluded, never summed). An order without a currency (a CRM deal) counts in the reporting
-- currency. Parameters: as_of, tz, period, currency (the reporting currency, NULL: no currency
-- named anywhere, so everything is included).
SELECT
    person_id,
    event_id,
    occurred_at,
    jm_period_start(occurred_at, $tz, $period) AS period_start,
    -- to 12 places (a satoshi is 1e-8) through the double's shortest text (`4096.02`): a double
    -- cast straight to DECIMAL(38, 12) can land one digit off (4096.020000000001); jm_money
    -- keeps every order under 1e15, so the sums fit 38 digits
    coalesce(jm_money(revenue), 0)::VARCHAR::DECIMAL(38, 12) AS revenue,
    coalesce(
        nullif(jm_upper_ascii(jm_trim(json_extract_string(properties, '$.currency'))), '') = $currency,
        true
    ) AS included
FROM fct_events
WHERE event_name IN ('order_completed', 'deal_won') AND occurred_at <= $as_of
