-- One charge per visit (README, "Memberships: the rules"). What this service knows of a visit: paid, or
-- the client arrived (either one means no automatic charge, whichever order the statuses come in), and
-- whether an automatic charge was ever made (only then does a payment or an arrival look for one to give
-- back). Every event of a visit upserts its row first: the row lock serializes two events of one visit.
CREATE TABLE visits (
    chain_id text    NOT NULL,
    visit_id text    NOT NULL,
    paid     boolean NOT NULL DEFAULT false,
    arrived  boolean NOT NULL DEFAULT false,
    charged  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (chain_id, visit_id)
);

-- The automatic deductions made before this table existed can be given back too.
INSERT INTO visits (chain_id, visit_id, charged)
SELECT DISTINCT chain_id, visit_id, true FROM membership_history
WHERE kind = 'deduction' AND visit_id IS NOT NULL AND detail->>'cause' IN ('no_show', 'late_cancel');

-- A visit's charges (deductions and their reversals) across memberships.
CREATE INDEX membership_history_visit ON membership_history (chain_id, visit_id) WHERE visit_id IS NOT NULL;
