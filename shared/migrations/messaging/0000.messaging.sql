-- The messaging tables every service schema has (applied into the service's schema).

-- Inbox: one row per idempotency key of a consumed message (`event:<event_id>`, and for some topics
-- a business key such as `visit.paid:<visit_id>`). A message whose key is already here changes nothing.
CREATE TABLE inbox (
    chain_id    text        NOT NULL,
    key         text        NOT NULL,
    topic       text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, key)
);

-- Outbox: messages written in the same transaction as the change that caused them; the relay
-- publishes them to Kafka in id order and deletes them. DLQ entries go through here too.
CREATE TABLE outbox (
    id            bigserial   PRIMARY KEY,
    topic         text        NOT NULL,
    key           text,
    value         bytea       NOT NULL,
    header_names  text[]      NOT NULL DEFAULT '{}',
    header_values bytea[]     NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Wakes the relay at once instead of making it poll; one notification per inserting statement.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox_' || TG_TABLE_SCHEMA, '');
    RETURN NULL;
END $$;

CREATE TRIGGER outbox_inserted AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
