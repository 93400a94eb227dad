-- A client's discount, level and categories set by hand in the client card (null: not set, the program's
-- value applies); discount_percent, level and categories stay what the client has (the manual value
-- where set, else the derived one).
ALTER TABLE client_loyalty
    ADD COLUMN manual_discount_percent numeric(5,2),
    ADD COLUMN manual_level            text,
    ADD COLUMN manual_categories       text[];

-- The discount-expiration warnings sent (loyalty.discount_expiring): one per client, location and lapse
-- moment, so a job run again, or two runs at once, never warns twice.
CREATE TABLE discount_warnings (
    chain_id    text        NOT NULL,
    location_id text        NOT NULL,
    client_id   text        NOT NULL,
    expires_at  timestamptz NOT NULL,
    warned_at   timestamptz NOT NULL,
    PRIMARY KEY (chain_id, location_id, client_id, expires_at)
);
