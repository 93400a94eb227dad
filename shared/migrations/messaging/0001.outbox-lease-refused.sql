-- The outbox relay's leadership and the rows Kafka refused (shared/lease.py, shared/outbox.py).

-- One row: the relay that publishes this schema's outbox, until its lease expires (renewed every second).
CREATE TABLE outbox_lease (
    id         boolean     PRIMARY KEY DEFAULT true CHECK (id),
    holder     text        NOT NULL,
    expires_at timestamptz NOT NULL
);
INSERT INTO outbox_lease (holder, expires_at) VALUES ('', '-infinity');

-- Rows the broker or the producer refused for good, moved out of the outbox with the reason, so the rows
-- after them go on; an operator re-queues them after a fix, or drops them (python -m shared.admin).
CREATE TABLE outbox_refused (
    id            bigint      PRIMARY KEY,  -- the row's id in the outbox
    topic         text        NOT NULL,
    key           text,
    value         bytea       NOT NULL,
    header_names  text[]      NOT NULL,
    header_values bytea[]     NOT NULL,
    created_at    timestamptz NOT NULL,
    refused_at    timestamptz NOT NULL DEFAULT now(),
    reason        text        NOT NULL
);
