-- Before recomputing a framework's chains for the touched persons: forget their chains, and the
-- chains of persons that no longer exist (merged into another person). Parameter: framework_name.
DELETE FROM _jm_funnel_chains
WHERE framework = $framework_name
  AND (person_no IN (SELECT person_no FROM jm_touched_persons)
       OR person_no NOT IN (SELECT person_no FROM persons))
