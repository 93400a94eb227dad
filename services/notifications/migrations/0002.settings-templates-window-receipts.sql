-- Who a notice is for, when it is due (send window), when it went onto its topic, its trace, receipts.
ALTER TABLE notices
    ADD COLUMN audience            text        NOT NULL DEFAULT 'client',  -- client or administrator
    ADD COLUMN occurred_at         timestamptz,                            -- of the source event
    ADD COLUMN due_at              timestamptz,                            -- held until then (send window)
    ADD COLUMN published_at        timestamptz,                            -- written to the outbox
    ADD COLUMN traceparent         bytea,
    ADD COLUMN provider_message_id text,
    ADD COLUMN status_at           timestamptz;                            -- of the last receipt
ALTER TABLE notices ALTER COLUMN client_id DROP NOT NULL;                  -- stock-low notices have none
UPDATE notices SET published_at = created_at WHERE status <> 'skipped' AND published_at IS NULL;
CREATE INDEX notices_held ON notices (due_at) WHERE status = 'queued' AND published_at IS NULL;
CREATE INDEX notices_status ON notices (chain_id, status, created_at DESC);

-- Settings of a location; location_id '' is the chain's default for locations without their own.
-- `doc` is the body of PUT .../notification-settings as validated (time zone, window, types, contact).
CREATE TABLE notification_settings (
    chain_id    text        NOT NULL,
    location_id text        NOT NULL,
    doc         jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, location_id)
);

-- A chain's own text for a notice type in a locale (the shipped English defaults live in the code).
CREATE TABLE templates (
    chain_id   text        NOT NULL,
    type       text        NOT NULL,
    locale     text        NOT NULL,
    text       text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, type, locale)
);

-- A client who asked not to be texted (chain-wide), per channel.
CREATE TABLE opt_outs (
    chain_id   text        NOT NULL,
    client_id  text        NOT NULL,
    sms        boolean     NOT NULL,
    chatbot    boolean     NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, client_id)
);
