-- Before recomputing a kept row set for the touched persons (person_rows.py): forget their rows,
-- and the rows of persons that no longer exist (merged into another person). Parameter:
-- kept_name. [[table]], [[column]]: the table and the column naming its row sets.
DELETE FROM [[table]]
WHERE [[column]] = $kept_name
  AND (person_no IN (SELECT person_no FROM jm_touched_persons)
       OR person_no NOT IN (SELECT person_no FROM persons))
