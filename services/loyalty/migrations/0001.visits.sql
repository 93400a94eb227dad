-- One row per visit, filled from visit.paid and visit.status_* in whatever order they arrive:
-- client statistics are aggregates over these rows, so a late or repeated event counts once.
CREATE TABLE visits (
    chain_id    text          NOT NULL,
    visit_id    text          NOT NULL,
    location_id text          NOT NULL,
    client_id   text          NOT NULL,
    sold        numeric(14,2),
    paid        numeric(14,2),
    paid_at     timestamptz,
    status      text,          -- arrived or no_show, as last reported
    status_at   timestamptz,
    scheduled_at timestamptz,
    PRIMARY KEY (chain_id, visit_id)
);
CREATE INDEX visits_client ON visits (chain_id, client_id, location_id);
