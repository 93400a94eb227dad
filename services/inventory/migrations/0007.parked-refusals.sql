-- A rejection of a visit's unit (`membership.issue_rejected` / `gift_card.issue_rejected` naming an
-- `inventory:visit:` sale) may come before inventory has recorded that visit's sale: the issuing service
-- reads `visit.paid` itself and may be ahead. It waits here (the first per unit; the event as it came) and
-- is applied by the transaction that records the sale.
CREATE TABLE parked_refusals (
    chain_id text NOT NULL,
    kind text NOT NULL,
    sale_id text NOT NULL,
    event jsonb NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, kind, sale_id)
);
