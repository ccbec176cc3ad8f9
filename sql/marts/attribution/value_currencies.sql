-- The currencies of the conversions' revenue (CONTRACT §9 counts each revenue as written): a
-- conversion carrying revenue and naming `properties.currency` (upper-cased), one row per
-- currency, the most common first (ties: by name). metrics/attribution.py notes when there are
-- several. Parameters: as_of, from_at, to_at. Snippets: conversion_match, population_filter
-- (as fct_attribution.sql).
SELECT jm_upper_ascii(jm_trim(json_extract_string(properties, '$.currency'))) AS currency
FROM fct_events
WHERE ([[ conversion_match ]])
  AND occurred_at >= $from_at AND occurred_at < $to_at AND occurred_at <= $as_of
  [[ population_filter ]]
  AND coalesce(revenue, 0) <> 0
  AND nullif(jm_trim(json_extract_string(properties, '$.currency')), '') IS NOT NULL
GROUP BY ALL
ORDER BY count(*) DESC, currency
