-- persons.parquet (CONTRACT §5, §12): one row per person; person_no after the contract's columns.
SELECT person_id, channel, first_seen_at, person_no
FROM persons
ORDER BY person_id
