-- Notices: exactly one per (source event, channel), enforced by the unique key.
CREATE TABLE notices (
    id              uuid        PRIMARY KEY,
    chain_id        text        NOT NULL,
    location_id     text,
    client_id       text        NOT NULL,
    channel         text        NOT NULL,   -- sms or chatbot
    type            text        NOT NULL,   -- the domain event's topic, e.g. membership.deducted
    recipient       text,
    text            text        NOT NULL,
    locale          text        NOT NULL,
    encoding        text,
    segments        integer,
    source_event_id text        NOT NULL,
    status          text        NOT NULL,   -- queued, sent, delivered, failed, skipped
    reason          text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (chain_id, source_event_id, channel)
);
CREATE INDEX notices_client ON notices (chain_id, client_id, created_at DESC);
