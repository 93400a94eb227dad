-- Inventory operations (arrival, sale, write-off, relocation): a numbered document with lines.
CREATE TABLE operations (
    id          uuid        PRIMARY KEY,
    chain_id    text        NOT NULL,
    number      bigserial,
    type        text        NOT NULL,
    location_id text,
    storage_id  text,
    source      text        NOT NULL,   -- "visit:<visit_id>" or the API user
    lines       jsonb       NOT NULL,
    occurred_at timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX operations_chain ON operations (chain_id, type, occurred_at);
