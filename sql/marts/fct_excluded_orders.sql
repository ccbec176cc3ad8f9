-- Orders left out of revenue because of their currency (issue 12 item 5). grain: one row.
-- The orders snippet: sql/intermediate/int_orders.sql. Parameters: as_of, tz, period, currency.
WITH orders AS ([[orders]])
SELECT count(*) FILTER (WHERE NOT included) AS excluded_orders FROM orders
