-- Before recomputing a framework's stored rows for the touched persons: forget their rows, and
-- the rows of persons that no longer exist (merged into another person). Parameter:
-- framework_name. [[table]]: _jm_funnel_chains or _jm_funnel_trend (funnel_chains.py).
DELETE FROM [[table]]
WHERE framework = $framework_name
  AND (person_no IN (SELECT person_no FROM jm_touched_persons)
       OR person_no NOT IN (SELECT person_no FROM persons))
