-- persons.parquet (CONTRACT §5): one row per person.
SELECT person_id, channel, first_seen_at
FROM persons
ORDER BY person_id
