-- The gateway's schema holds, for now, only the shared messaging tables (applied before this file): an
-- accepted event's id in `inbox` (key `event:<event_id>`, its digest, when it was accepted), its message
-- in `outbox`. This file marks the schema as the gateway's own.
COMMENT ON SCHEMA gateway IS 'Perkstream gateway: booking systems'' events taken over HTTP';
