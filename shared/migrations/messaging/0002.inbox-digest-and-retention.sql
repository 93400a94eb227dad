-- The inbox remembers what an event id was claimed for, and forgets keys past its replay window.

-- SHA-256 of the topic and the validated event's canonical JSON, on `event:<event_id>` rows: the same
-- event id again with another payload is a reused id (dead-lettered), not a redelivery. NULL on the rows
-- from before (and on business keys): such a repeat counts as a redelivery.
ALTER TABLE inbox ADD COLUMN digest bytea;

-- The pruner deletes by age (shared/consumer/inbox.py).
CREATE INDEX inbox_received_at ON inbox (received_at);
