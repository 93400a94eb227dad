-- One charge per visit (README, "Memberships: the rules"). What this service knows of a visit: paid, or
-- the client arrived (either one means no automatic charge, whichever order the statuses come in), and
-- whether it may have been charged (only then are its charges read: a payment or an arrival looks for
-- automatic ones to give back, a no-show for one standing, a payment redelivered past the inbox's
-- window for its own). Every event of a visit upserts its row first: the row lock serializes them.
CREATE TABLE visits (
    chain_id text    NOT NULL,
    visit_id text    NOT NULL,
    paid     boolean NOT NULL DEFAULT false,
    arrived  boolean NOT NULL DEFAULT false,
    charged  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (chain_id, visit_id)
);

-- The visits charged before this table existed.
INSERT INTO visits (chain_id, visit_id, paid, charged)
SELECT chain_id, visit_id, bool_or(detail->>'cause' IS NULL OR detail->>'cause' = 'paid'), true
FROM membership_history WHERE kind = 'deduction' AND visit_id IS NOT NULL
GROUP BY chain_id, visit_id;

-- A visit's charges (deductions and their reversals) across memberships.
CREATE INDEX membership_history_visit ON membership_history (chain_id, visit_id) WHERE visit_id IS NOT NULL;
