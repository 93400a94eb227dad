-- Altegio / YCLIENTS webhooks (services/gateway/domain/webhooks.py).
-- A connection: one chain's account at a booking system. Its URL's secret is kept only as a hash; the
-- tokens of the booking system's REST API are kept as given (the gateway calls it with them).
CREATE TABLE connections (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    chain_id        text        NOT NULL,
    system          text        NOT NULL CHECK (system IN ('altegio', 'yclients')),
    name            text        NOT NULL,
    secret_hash     text        NOT NULL,
    api_base_url    text        NOT NULL,
    partner_token   text        NOT NULL,
    user_token      text        NOT NULL,
    -- their abonement type id (text) -> our membership type id
    membership_types jsonb      NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connections_chain ON connections (chain_id, created_at, id);

-- Their locations (company_id) -> ours, each with its time zone (their times come as wall clock).
CREATE TABLE connection_locations (
    connection_id uuid   NOT NULL REFERENCES connections ON DELETE CASCADE,
    company_id    bigint NOT NULL,
    location_id   text   NOT NULL,
    time_zone     text   NOT NULL,
    PRIMARY KEY (connection_id, company_id)
);

-- Every delivery, stored raw as it came, before the 200; applied afterwards by the worker. Duplicates
-- (the same bytes' meaning: `digest` of the canonical JSON) are stored once.
CREATE TABLE deliveries (
    id              bigserial   PRIMARY KEY,
    connection_id   uuid        NOT NULL REFERENCES connections ON DELETE CASCADE,
    chain_id        text        NOT NULL,
    digest          bytea       NOT NULL,
    body            bytea       NOT NULL,
    company_id      bigint,
    resource        text,
    resource_id     bigint,
    status          text,
    received_at     timestamptz NOT NULL DEFAULT now(),
    -- pending: to apply; waiting: the booking system's API failed, tried again at next_attempt_at;
    -- applied: its events are published; ignored: nothing to do (a resource we do not map, a stale
    -- snapshot); kept: cannot be applied as it is (unknown company, unmapped type...), see `reason`,
    -- replayable once fixed.
    state           text        NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'waiting', 'applied', 'ignored', 'kept')),
    reason          text,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    done_at         timestamptz,
    UNIQUE (connection_id, digest)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state IN ('pending', 'waiting');
CREATE INDEX deliveries_by_state ON deliveries (chain_id, connection_id, state, id);

-- Per booking record: the newest snapshot applied and the events sent for it (each at most once).
CREATE TABLE records (
    chain_id    text        NOT NULL,
    system      text        NOT NULL,
    company_id  bigint      NOT NULL,
    record_id   bigint      NOT NULL,
    changed_at  timestamptz,
    attendance  integer     NOT NULL,
    paid        boolean     NOT NULL,
    deleted     boolean     NOT NULL,
    sent        text[]      NOT NULL DEFAULT '{}',
    PRIMARY KEY (chain_id, system, company_id, record_id)
);

-- What the booking system's catalogue says (a service's category, a product's membership type), kept
-- for a day so one visit's lines cost no call each.
CREATE TABLE catalogue (
    connection_id uuid        NOT NULL REFERENCES connections ON DELETE CASCADE,
    company_id    bigint      NOT NULL,
    kind          text        NOT NULL,
    item_id       bigint      NOT NULL,
    data          jsonb       NOT NULL,
    fetched_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, company_id, kind, item_id)
);
