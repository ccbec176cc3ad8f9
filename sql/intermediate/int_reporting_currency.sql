-- int_reporting_currency: the currency revenue is reported in (CONTRACT §10, issue 12 item 5).
-- grain: one row. The given currency (upper-cased), else the most common `properties.currency`
-- among all orders (order_completed, deal_won) at or before as_of (ties: the first by name);
-- NULL when no order names a currency. Counted over the whole warehouse, so every group and
-- every --where reports in the same currency.
-- Parameters: as_of, currency (NULL: choose the most common).
SELECT coalesce(
    nullif(jm_upper_ascii(jm_trim($currency)), ''),
    (
        SELECT jm_upper_ascii(jm_trim(json_extract_string(properties, '$.currency'))) AS currency
        FROM fct_events
        WHERE event_name IN ('order_completed', 'deal_won') AND occurred_at <= $as_of
          AND nullif(jm_trim(json_extract_string(properties, '$.currency')), '') IS NOT NULL
        GROUP BY ALL
        ORDER BY count(*) DESC, currency
        LIMIT 1
    )
) AS currency
