-- Desk sales (inventory.sale_recorded): a client's sales at the desk, counted with the visits in the
-- client's sold and paid at the location (never as visits). One row per operation: a redelivered or
-- re-sent event counts once.
CREATE TABLE desk_sales (
    chain_id     text          NOT NULL,
    operation_id uuid          NOT NULL,
    location_id  text          NOT NULL,
    client_id    text          NOT NULL,
    sold         numeric(14,2) NOT NULL,
    paid         numeric(14,2) NOT NULL,
    sold_at      timestamptz   NOT NULL,
    PRIMARY KEY (chain_id, operation_id)
);
CREATE INDEX desk_sales_client ON desk_sales (chain_id, client_id, location_id);
CREATE INDEX desk_sales_location_client ON desk_sales (chain_id, location_id, client_id);

-- The loyalty transactions report (GET /reports/loyalty-transactions): a chain's transactions by time.
CREATE INDEX card_transactions_report ON card_transactions (chain_id, at, id);
